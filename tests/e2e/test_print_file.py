"""End to end: the print PDF as a printer receives it, read back with pikepdf and PyMuPDF.

The sample book is built once as one document (``--jobs 1``) and once in chunks
(``--jobs 2``); both files must be PDF/X-4 in black ink with one program per font. A small
book asks for crop marks and a page multiple of 16, and the marks are measured against the
page boxes of the file itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pymupdf
import pytest

from dreambook.preflight import preflight
from tests.conftest import SAMPLE_MANUSCRIPT, WriteBook, chapter
from tests.e2e.test_cli import run

pytestmark = pytest.mark.slow

SLUG = "what-the-night-rehearses"
RGB_OPERATORS = {"rg", "RG"}


@dataclass(frozen=True)
class PrintBuild:
    path: Path
    stderr: str


def _build(output: Path, jobs: str) -> PrintBuild:
    result = run(
        "build", SAMPLE_MANUSCRIPT, "-o", output, "--format", "pdf", "--variant", "all",
        "--jobs", jobs,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return PrintBuild(output / f"{SLUG}-print.pdf", result.stderr)


@pytest.fixture(scope="module", params=["1", "2"], ids=["whole", "chunked"])
def printed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PrintBuild:
    """The sample book's print PDF laid out as one document, and in chunks on two workers."""
    return _build(tmp_path_factory.mktemp("print"), str(request.param))


def drawings(pdf: pikepdf.Pdf) -> Iterator[tuple[str, pikepdf.Object]]:
    """(where, content) of every page and every form XObject they draw, each form once."""
    seen: set[tuple[int, int]] = set()

    def forms(resources: pikepdf.Object | None, where: str) -> Iterator[tuple[str, pikepdf.Object]]:
        if resources is None or "/XObject" not in resources:
            return
        for name, item in resources.XObject.items():
            if item.objgen in seen:
                continue
            seen.add(item.objgen)
            if item.get("/Subtype") == "/Form":
                yield f"{where} {name}", item
                yield from forms(item.get("/Resources"), f"{where} {name}")

    for number, page in enumerate(pdf.pages, start=1):
        yield f"page {number}", page.obj
        yield from forms(page.obj.get("/Resources"), f"page {number}")


def images(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Object]:
    for item in pdf.objects:
        if isinstance(item, pikepdf.Stream) and item.get("/Subtype") == "/Image":
            yield item


def test_no_rgb_colour_anywhere_in_the_print_file(printed: PrintBuild) -> None:
    with pikepdf.open(printed.path) as pdf:
        cmyk = 0
        for where, content in drawings(pdf):
            for instruction in pikepdf.parse_content_stream(content):
                operator = str(instruction.operator)
                assert operator not in RGB_OPERATORS, f"{where}: {instruction}"
                if operator in ("cs", "CS"):
                    assert str(instruction.operands[0]) != "/DeviceRGB", where
                    cmyk += str(instruction.operands[0]) == "/DeviceCMYK"
            resources = content.get("/Resources") or pikepdf.Dictionary()
            for space in (resources.get("/ColorSpace") or pikepdf.Dictionary()).values():
                assert "RGB" not in repr(space), where
            group = content.get("/Group")
            if group is not None and "/CS" in group:
                assert group.CS != "/DeviceRGB", where
                if isinstance(group.CS, pikepdf.Array):
                    assert int(group.CS[1].N) != 3, where
        assert cmyk > 100  # the text is there, and it is drawn in CMYK
        for item in images(pdf):
            assert "RGB" not in repr(item.get("/ColorSpace")), item


def test_text_is_black_ink_alone(printed: PrintBuild) -> None:
    """Every colour set is a tint of black: cyan, magenta and yellow are 0."""
    with pikepdf.open(printed.path) as pdf:
        for where, content in drawings(pdf):
            for instruction in pikepdf.parse_content_stream(content):
                if str(instruction.operator) in ("scn", "SCN", "k", "K"):
                    c, m, y, _k = (float(v) for v in instruction.operands)
                    assert (c, m, y) == (0, 0, 0), f"{where}: {instruction}"


def test_the_file_is_pdfx4_with_a_cmyk_output_intent(printed: PrintBuild) -> None:
    with pikepdf.open(printed.path) as pdf:
        intents = pdf.Root.OutputIntents
        assert len(intents) == 1
        intent = intents[0]
        assert intent.S == "/GTS_PDFX"
        profile = intent.DestOutputProfile.read_bytes()
        assert int(intent.DestOutputProfile.N) == 4
        assert profile[16:20] == b"CMYK"
        assert profile[36:40] == b"acsp"
        xmp = pdf.Root.Metadata.read_bytes()
        assert b"<pdfxid:GTS_PDFXVersion>PDF/X-4</pdfxid:GTS_PDFXVersion>" in xmp
        assert pdf.trailer.Info.Trapped == "/False"
        # One copy of the profile, however many chunks embedded it.
        profiles = [
            item
            for item in pdf.objects
            if isinstance(item, pikepdf.Stream)
            and "/N" in item.stream_dict
            and "/Type" not in item.stream_dict
        ]
        assert len(profiles) == 1


def test_every_page_has_trim_and_bleed_boxes_and_no_marks_by_default(printed: PrintBuild) -> None:
    with pikepdf.open(printed.path) as pdf:
        for page in pdf.pages:
            trim = [float(v) for v in page.obj.TrimBox]
            bleed = [float(v) for v in page.obj.BleedBox]
            media = [float(v) for v in page.obj.MediaBox]
            assert [trim[0] - bleed[0], trim[1] - bleed[1]] == pytest.approx([9, 9])
            assert [bleed[2] - trim[2], bleed[3] - trim[3]] == pytest.approx([9, 9])
            # With marks = "none" the sheet is the bleed: nothing can be drawn beyond it.
            assert media == pytest.approx(bleed)
            assert "/Annots" not in page.obj


def test_the_page_count_is_even_and_padded_with_blank_pages(printed: PrintBuild) -> None:
    digital = pymupdf.open(printed.path.with_name(f"{SLUG}.pdf"))
    document = pymupdf.open(printed.path)
    assert document.page_count % 2 == 0
    assert document.page_count - digital.page_count == digital.page_count % 2
    for number in range(digital.page_count, document.page_count):
        assert document[number].get_text().strip() == ""
        assert not document[number].get_drawings()


def test_each_font_is_embedded_as_one_program(printed: PrintBuild) -> None:
    with pikepdf.open(printed.path) as pdf:
        programs: dict[str, set[tuple[int, int]]] = defaultdict(set)
        for item in pdf.objects:
            if isinstance(item, pikepdf.Dictionary) and item.get("/Type") == "/FontDescriptor":
                for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                    if key in item:
                        programs[str(item.FontName).split("+")[-1]].add(item[key].objgen)
        assert {"Vollkorn", "Vollkorn-Italic", "Vollkorn-Bold"} <= set(programs)
        assert {name: len(found) for name, found in programs.items()} == dict.fromkeys(programs, 1)
        # And one font dictionary per face: what a preflight (or pdffonts) lists.
        dictionaries: dict[str, set[tuple[int, int]]] = defaultdict(set)
        for page in pdf.pages:
            for font in page.obj.Resources.get("/Font", pikepdf.Dictionary()).values():
                dictionaries[str(font.BaseFont).split("+")[-1]].add(font.objgen)
        assert {name: len(found) for name, found in dictionaries.items()} == dict.fromkeys(
            programs, 1
        )


def test_preflight_of_the_sample_print_file_finds_no_error(printed: PrintBuild) -> None:
    report = preflight(printed.path)
    assert [d for d in report.findings if d.is_error] == []
    assert report.pdfx == "PDF/X-4"
    assert report.colour_spaces <= {"DeviceCMYK", "ICCBased CMYK", "DeviceGray"}
    # The build printed the same check's summary as one line (the cover's has its own).
    lines = [
        line
        for line in printed.stderr.splitlines()
        if line.startswith(f"preflight {printed.path.name}:")
    ]
    assert lines == [report.summary()]


def test_the_digital_edition_keeps_its_links_and_colours(printed: PrintBuild) -> None:
    """Black ink is for paper only: the digital edition still has coloured, working links."""
    build = printed
    digital = pymupdf.open(build.path.with_name(f"{SLUG}.pdf"))
    assert sum(len(page.get_links()) for page in digital) > 50
    with pikepdf.open(build.path.with_name(f"{SLUG}.pdf")) as pdf:
        assert "/OutputIntents" not in pdf.Root
        operators = {
            str(i.operator) for _, c in drawings(pdf) for i in pikepdf.parse_content_stream(c)
        }
        assert "rg" in operators


def test_crop_marks_when_asked_lie_outside_the_bleed_and_pages_pad_to_16(
    write_book: WriteBook,
) -> None:
    toml = (
        '[book]\ntitle = "Marked"\nstart = "one"\n\n'
        '[print]\nbleed = "3mm"\nmarks = "crop"\npage_multiple = 16\n'
    )
    root = write_book({"one.md": chapter("One", "Plain text.\n")}, toml)
    output = root.parent / "out"
    result = run("build", root, "-o", output, "--format", "pdf", "--variant", "print")
    assert result.returncode == 0, result.stderr
    path = output / "marked-print.pdf"
    with pikepdf.open(path) as pdf:
        assert len(pdf.pages) % 16 == 0
        boxes = [
            tuple(
                [float(v) for v in page.obj[name]]
                for name in ("/MediaBox", "/BleedBox", "/TrimBox")
            )
            for page in pdf.pages
        ]
    document = pymupdf.open(path)
    for page, (media, bleed, trim) in zip(document, boxes, strict=True):
        # PyMuPDF measures from the sheet's top left, y downwards: turn the boxes round.
        left, right = bleed[0] - media[0], bleed[2] - media[0]
        top, bottom = media[3] - bleed[3], media[3] - bleed[1]
        trim_x = {round(trim[0] - media[0], 2), round(trim[2] - media[0], 2)}
        trim_y = {round(media[3] - trim[3], 2), round(media[3] - trim[1], 2)}
        assert left > 0
        assert top > 0
        outside = []
        for drawing in page.get_drawings():
            rect = drawing["rect"]
            beyond = rect.x1 < left or rect.x0 > right or rect.y1 < top or rect.y0 > bottom
            if beyond:
                outside.append(rect)
            else:
                # Anything reaching into the bleed belongs to the page, not to the marks.
                assert left - 0.01 <= rect.x0 <= rect.x1 <= right + 0.01, rect
                assert top - 0.01 <= rect.y0 <= rect.y1 <= bottom + 0.01, rect
        assert len(outside) == 8, outside  # two at each corner
        for rect in outside:
            # Each mark is a line on the extension of a trim edge.
            vertical = rect.width < 0.01 and round(rect.x0, 2) in trim_x
            horizontal = rect.height < 0.01 and round(rect.y0, 2) in trim_y
            assert vertical or horizontal, rect
    report = preflight(path, 3 * 72 / 25.4)
    assert report.errors == 0


def test_preflight_findings_of_a_print_build_are_warnings_in_its_output(
    write_book: WriteBook,
) -> None:
    """A book whose own ink stylesheet restates nothing prints its text in RGB: the build
    still succeeds, and says so with PF030 warnings at the pages and the summary line."""
    toml = '[book]\ntitle = "Inkless"\nstart = "one"\nstyles = "house"\n'
    root = write_book(
        {"one.md": chapter("One", "Plain text.\n"), "house/print-ink.css": "/* no inks */\n"},
        toml,
    )
    output = root.parent / "out"
    result = run("build", root, "-o", output, "--format", "pdf", "--variant", "print")
    assert result.returncode == 0, result.stderr
    assert "inkless-print.pdf:1: PF030 warning: drawing uses the RGB colour space DeviceRGB" in (
        result.stderr
    )
    summary = [
        line
        for line in result.stderr.splitlines()
        if line.startswith("preflight inkless-print.pdf:")
    ]
    assert len(summary) == 1
    assert "PDF/X-4" in summary[0]
    assert " errors," in summary[0] or " error," in summary[0]


def test_rgb_images_are_separated_into_cmyk_in_the_print_file_only(
    write_book: WriteBook, tmp_path: Path
) -> None:
    from PIL import Image

    picture = Image.new("RGB", (300, 200), (200, 40, 40))
    for x in range(300):
        picture.putpixel((x, 100), (20, 20, 200))
    png, jpeg = tmp_path / "photo.png", tmp_path / "photo.jpg"
    picture.save(png)
    picture.save(jpeg, quality=90)
    palette = tmp_path / "palette.png"
    picture.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(palette)
    body = "![A red photo](photo.png)\n\n![As a JPEG](photo.jpg)\n\n![As PNG-8](palette.png)\n"
    root = write_book(
        {
            "one.md": chapter("One", body),
            "photo.png": png.read_bytes(),
            "photo.jpg": jpeg.read_bytes(),
            "palette.png": palette.read_bytes(),
        },
        '[book]\ntitle = "Pictures"\nstart = "one"\n',
    )
    output = root.parent / "out"
    result = run("build", root, "-o", output, "--format", "pdf", "--variant", "all")
    assert result.returncode == 0, result.stderr
    with pikepdf.open(output / "pictures-print.pdf") as pdf:
        placed = list(images(pdf))
        assert len(placed) == 3
        for item in placed:
            assert item.ColorSpace == "/DeviceCMYK"
            cmyk = pikepdf.PdfImage(item).as_pil_image()
            assert cmyk.size == (300, 200)
            # Red is magenta and yellow ink with little cyan; the blue line has much more cyan.
            c, m, y, _k = cmyk.getpixel((10, 10))
            assert m > 150, (c, m, y)
            assert y > 100, (c, m, y)
            assert c < 80, (c, m, y)
            assert cmyk.getpixel((10, 100))[0] > c + 60
    assert not any(d.code == "PF030" for d in preflight(output / "pictures-print.pdf").findings)
    with pikepdf.open(output / "pictures.pdf") as pdf:
        assert all("RGB" in repr(item.ColorSpace) for item in images(pdf))
