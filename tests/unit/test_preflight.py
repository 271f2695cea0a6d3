"""Preflight on PDFs made here with pikepdf: each fault gives its coded finding, at its page.

The files are small and written by the test, so each one holds exactly the fault it is
about (and a clean one holds none): what preflight reports is read from the PDF, not from
how it was made.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import pikepdf
import pytest

from dreambook.cli import main
from dreambook.preflight import preflight

# A 6in x 9in trim with an eighth of an inch of bleed, in points.
TRIM = (0.0, 0.0, 432.0, 648.0)
BLEED = (-9.0, -9.0, 441.0, 657.0)


def image(pdf: pikepdf.Pdf, pixels: int, space: str) -> pikepdf.Stream:
    """A flat ``pixels`` × ``pixels`` image in the device space ``space`` (Gray, RGB, CMYK)."""
    components = {"DeviceGray": 1, "DeviceRGB": 3, "DeviceCMYK": 4}[space]
    data = zlib.compress(bytes([128]) * (pixels * pixels * components))
    stream = pdf.make_stream(data)
    stream.Type, stream.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    stream.Width = stream.Height = pixels
    stream.ColorSpace = pikepdf.Name(f"/{space}")
    stream.BitsPerComponent = 8
    stream.Filter = pikepdf.Name.FlateDecode
    return stream


def page(
    pdf: pikepdf.Pdf,
    content: bytes = b"",
    *,
    trim: tuple[float, ...] | None = TRIM,
    bleed: tuple[float, ...] | None = BLEED,
    images: dict[str, pikepdf.Stream] | None = None,
) -> None:
    """Add a page drawing ``content``; ``None`` leaves the box out."""
    media = bleed or trim or TRIM
    entries = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=pikepdf.Array(media),
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(images or {})),
        Contents=pdf.make_stream(content),
    )
    if trim is not None:
        entries.TrimBox = pikepdf.Array(trim)
    if bleed is not None:
        entries.BleedBox = pikepdf.Array(bleed)
    pdf.pages.append(pikepdf.Page(pdf.make_indirect(entries)))


def save(pdf: pikepdf.Pdf, path: Path) -> Path:
    pdf.save(path)
    return path


def codes(path: Path, bleed: float = 9.0) -> set[tuple[str, int | None, str]]:
    """(code, page, severity) of every finding for ``path``."""
    return {(d.code, d.line, d.severity.value) for d in preflight(path, bleed).findings}


def clean_pages(pdf: pikepdf.Pdf, count: int = 2) -> None:
    """Pages in black ink with a 0.5 pt rule: nothing for preflight to say about them."""
    for _ in range(count):
        page(pdf, b"0 0 0 1 K 0.5 w 72 72 m 360 72 l S")


def test_an_rgb_image_is_reported_at_its_page(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    clean_pages(pdf, 1)
    # 600 px over 1 in: sharp enough, so RGB is the only fault.
    page(pdf, b"q 72 0 0 72 100 100 cm /Im0 Do Q", images={"/Im0": image(pdf, 600, "DeviceRGB")})
    found = codes(save(pdf, tmp_path / "rgb.pdf"))
    assert ("PF030", 2, "warning") in found  # not PDF/X: a warning
    assert not any(code == "PF030" and where == 1 for code, where, _ in found)
    assert not any(code.startswith("PF04") for code, _, _ in found)


def test_rgb_drawing_is_an_error_in_a_file_that_declares_pdfx(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    page(pdf, b"0.1 0.1 0.1 rg 0 0 10 10 re f")
    page(pdf, b"0 0 0 1 k 0 0 10 10 re f")
    pdf.docinfo[pikepdf.Name.GTS_PDFXVersion] = "PDF/X-3:2003"
    found = codes(save(pdf, tmp_path / "x.pdf"))
    assert ("PF030", 1, "error") in found
    assert ("PF061", None, "error") in found  # PDF/X without an output intent
    assert not any(code == "PF060" for code, _, _ in found)


@pytest.mark.parametrize(
    ("pixels", "code", "severity"),
    [(72, "PF041", "error"), (200, "PF040", "warning"), (300, None, None)],
)
def test_image_resolution_is_measured_at_the_placed_size(
    tmp_path: Path, pixels: int, code: str | None, severity: str | None
) -> None:
    pdf = pikepdf.new()
    clean_pages(pdf, 1)
    # Placed 2 in wide by a form's matrix and the page's transformation together.
    form = pdf.make_stream(b"/Im0 Do")
    form.Type, form.Subtype = pikepdf.Name.XObject, pikepdf.Name.Form
    form.BBox = [0, 0, 1, 1]
    form.Matrix = [2, 0, 0, 2, 0, 0]
    form.Resources = pikepdf.Dictionary(
        XObject=pikepdf.Dictionary(Im0=image(pdf, pixels * 2, "DeviceGray"))
    )
    page(pdf, b"q 72 0 0 72 50 50 cm /Fm0 Do Q", images={"/Fm0": form})
    report = preflight(save(pdf, tmp_path / "image.pdf"))
    assert report.lowest_ppi == pytest.approx(pixels)
    resolution = {(d.code, d.line, d.severity.value) for d in report.findings}
    resolution = {item for item in resolution if item[0].startswith("PF04")}
    assert resolution == ({(code, 2, severity)} if code else set())


def test_a_missing_or_narrow_bleed_and_a_missing_trim_box_are_reported(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    page(pdf)  # fine
    page(pdf, bleed=None)  # no BleedBox
    page(pdf, bleed=(-3.0, -3.0, 435.0, 651.0))  # 3 pt of bleed
    page(pdf, trim=None, bleed=None)  # no boxes at all
    found = codes(save(pdf, tmp_path / "bleed.pdf"))
    assert ("PF011", 2, "error") in found
    assert ("PF012", 3, "error") in found
    assert ("PF010", 4, "error") in found
    assert not any(where == 1 for _, where, _ in found)
    # Asked for 3 pt, the third page is enough.
    assert not any(code == "PF012" for code, _, _ in codes(tmp_path / "bleed.pdf", bleed=3.0))


def test_thin_rules_odd_page_counts_and_no_pdfx_are_reported(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    page(pdf, b"0 0 0 1 K 0.1 w 0 0 m 100 0 l S")
    page(pdf, b"0 0 0 1 K 0.5 w 0 0 m 100 0 l S")
    # 1 pt scaled to a tenth: thin as drawn.
    page(pdf, b"q 0.1 0 0 0.1 0 0 cm 1 w 0 0 m 1000 0 l S Q")
    report = preflight(save(pdf, tmp_path / "thin.pdf"))
    found = {(d.code, d.line, d.severity.value) for d in report.findings}
    assert ("PF050", 1, "warning") in found
    assert ("PF050", 3, "warning") in found
    assert not any(code == "PF050" and where == 2 for code, where, _ in found)
    assert ("PF070", None, "warning") in found
    assert ("PF060", None, "warning") in found
    assert report.thinnest_rule == pytest.approx(0.1)


def test_a_clean_file_has_no_error_and_the_command_exits_0_and_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf = pikepdf.new()
    clean_pages(pdf)
    clean = save(pdf, tmp_path / "clean.pdf")
    assert preflight(clean).errors == 0
    assert main(["preflight", str(clean)]) == 0
    assert "preflight clean.pdf:" in capsys.readouterr().err

    faulty = pikepdf.new()
    page(faulty, bleed=None)
    page(faulty)
    path = save(faulty, tmp_path / "faulty.pdf")
    assert main(["preflight", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:1: PF011 error:" in err
    assert "    hint: " in err
    # A warning fails only with --strict.
    assert main(["preflight", str(clean), "--strict"]) == 1  # not PDF/X: PF060, PF061
    assert main(["preflight", str(tmp_path / "missing.pdf")]) == 2
    assert main(["preflight", str(clean), "--bleed", "nonsense"]) == 2


def test_an_unreadable_file_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "not.pdf"
    path.write_bytes(b"this is no PDF")
    assert {d.code for d in preflight(path).findings} == {"PF001"}


def test_fonts_are_counted_by_program(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    programs = [pdf.make_stream(b"program one"), pdf.make_stream(b"program two")]
    fonts = {}
    for index, (subset, program) in enumerate(zip(("AAAAAA", "BBBBBB"), programs, strict=True)):
        descriptor = pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor,
            FontName=pikepdf.Name(f"/{subset}+Book"),
            FontFile2=program,
        )
        fonts[f"/F{index}"] = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Font,
                Subtype=pikepdf.Name.TrueType,
                BaseFont=pikepdf.Name(f"/{subset}+Book"),
                FontDescriptor=pdf.make_indirect(descriptor),
            )
        )
    fonts["/F2"] = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.TrueType, BaseFont=pikepdf.Name("/Bare")
        )
    )
    clean_pages(pdf)
    pdf.pages[0].obj.Resources.Font = pikepdf.Dictionary(fonts)
    report = preflight(save(pdf, tmp_path / "fonts.pdf"))
    assert report.fonts == {"Book": 2}
    found = {(d.code, d.severity.value) for d in report.findings}
    assert ("PF021", "warning") in found
    assert ("PF020", "error") in found
