"""End to end: the print cover wrap and the ebook cover, read back from the files written.

The wrap's size is measured against the page count of the interior built beside it, for the
sample book (92 pages, no spine text) and for a longer book made here (over 100 pages, an
ISBN and a price code), and for two page counts handed to the cover directly. The barcode is
decoded from the bars drawn in the PDF by a reader written here, with its own tables, and,
when zbar is installed, by zbar from a 300 dpi rendering.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pymupdf
import pytest
from PIL import Image

from dreambook.config import PAPERS
from dreambook.export.cover.geometry import SAFETY
from dreambook.export.cover.writer import write_cover
from dreambook.export.writer import BuildContext
from dreambook.identity import book_identity
from dreambook.pipeline import check_manuscript
from dreambook.preflight import preflight
from dreambook.render import render_book
from dreambook.styles import book_styles
from tests.conftest import SAMPLE_MANUSCRIPT, WriteBook, chapter
from tests.e2e.test_cli import run
from tests.e2e.test_epub import epubcheck_problems
from tests.e2e.test_print_file import drawings

pytestmark = pytest.mark.slow

SLUG = "what-the-night-rehearses"
INCH = 72.0
TRIM_WIDTH, TRIM_HEIGHT, BLEED = 6.0, 9.0, 0.125
ISBN = "978-0-306-40615-7"
PRICE = "51995"

# --- an EAN-13 and EAN-5 reader, with its own tables ---------------------------------------------

# The odd-parity ("L") patterns of the digits; "R" is their complement, "G" R reversed.
L_CODES = ["0001101", "0011001", "0010011", "0111101", "0100011",
           "0110001", "0101111", "0111011", "0110111", "0001011"]  # fmt: skip
R_CODES = ["".join("1" if c == "0" else "0" for c in code) for code in L_CODES]
G_CODES = [code[::-1] for code in R_CODES]
# The parity of the six left digits names the first digit of an EAN-13.
FIRST_DIGIT = ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG",
               "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"]  # fmt: skip
# The parity of an EAN-5's digits names its checksum.
ADDON_PARITY = ["GGLLL", "GLGLL", "GLLGL", "GLLLG", "LGGLL",
                "LLGGL", "LLLGG", "LGLGL", "LGLLG", "LLGLG"]  # fmt: skip


def modules_of(bars: list[pymupdf.Rect]) -> str:
    """The module string ('1' dark, '0' light) of bars drawn side by side; the narrowest bar
    is one module."""
    bars = sorted(bars, key=lambda r: r.x0)
    module = min(r.width for r in bars)
    text = ""
    for index, bar in enumerate(bars):
        if index:
            text += "0" * round((bar.x0 - bars[index - 1].x1) / module)
        text += "1" * round(bar.width / module)
    return text


def decode_ean13(modules: str) -> str:
    assert len(modules) == 95, f"an EAN-13 has 95 modules, these bars make {len(modules)}"
    assert modules[:3] == "101"
    assert modules[45:50] == "01010"
    assert modules[92:] == "101"
    digits, parity = [], ""
    for index in range(6):
        digit, side = _left_digit(modules[3 + 7 * index : 10 + 7 * index])
        digits.append(digit)
        parity += side
    for index in range(6):
        code = modules[50 + 7 * index : 57 + 7 * index]
        digits.append(R_CODES.index(code))
    number = str(FIRST_DIGIT.index(parity)) + "".join(map(str, digits))
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(number[:12]))
    assert (10 - total % 10) % 10 == int(number[12]), "the symbol's check digit is wrong"
    return number


def _left_digit(code: str) -> tuple[int, str]:
    """A digit of the left half (or of the add-on) and its parity set, "L" or "G"."""
    if code in L_CODES:
        return L_CODES.index(code), "L"
    return G_CODES.index(code), "G"


def decode_ean5(modules: str) -> str:
    assert modules[:4] == "1011"
    assert len(modules) == 47
    digits, parity = [], ""
    for index in range(5):
        start = 4 + 9 * index
        code = modules[start : start + 7]
        if index < 4:
            assert modules[start + 7 : start + 9] == "01"
        digit, side = _left_digit(code)
        digits.append(digit)
        parity += side
    checksum = (3 * (digits[0] + digits[2] + digits[4]) + 9 * (digits[1] + digits[3])) % 10
    assert ADDON_PARITY.index(parity) == checksum, "the add-on's parity is not its checksum"
    return "".join(map(str, digits))


@dataclass(frozen=True)
class DrawnBarcode:
    box: pymupdf.Rect  # the white box, in PyMuPDF's page space (top left of the MediaBox)
    symbol: list[pymupdf.Rect]
    addon: list[pymupdf.Rect]


def drawn_barcode(page: pymupdf.Page) -> DrawnBarcode:
    """The white box and the dark bars inside it, split into the symbol and the add-on (whose
    bars start lower, under their digits)."""
    paths = page.get_drawings()
    boxes = [p["rect"] for p in paths if p.get("fill") == (1.0, 1.0, 1.0)]
    assert len(boxes) == 1, "one white barcode box"
    box = boxes[0]
    bars = [
        p["rect"]
        for p in paths
        if p.get("fill") is not None
        and sum(p["fill"]) < 1.0
        and box.contains(p["rect"])
        and p["rect"].height > 30
    ]
    top = min(bar.y0 for bar in bars)
    symbol = [bar for bar in bars if abs(bar.y0 - top) < 0.5]
    return DrawnBarcode(box, symbol, [bar for bar in bars if bar.y0 > top + 0.5])


# --- builds ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    output: Path
    stderr: str
    cover: Path
    interior: Path


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The sample book as the issue's "done when" builds it: every edition, PDF and EPUB."""
    output = tmp_path_factory.mktemp("sample")
    result = run(
        "build", SAMPLE_MANUSCRIPT, "-o", output, "--variant", "all",
        "--format", "pdf", "--format", "epub", "--jobs", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return Built(output, result.stderr, output / f"{SLUG}-cover.pdf", output / f"{SLUG}-print.pdf")


LONG_TOML = f"""\
[book]
title = "A Long Night"
author = "Test Author"
language = "en"
identifier = "{ISBN}"
start = "c01"

[print]
paper = "cream"

[cover]
back_text = "A book long enough for its spine to carry its title."
price_code = "{PRICE}"
"""


@pytest.fixture(scope="module")
def long_book(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A book of well over 100 print pages, with an ISBN and a price code, on cream paper."""
    root = tmp_path_factory.mktemp("long")
    manuscript = root / "manuscript"
    manuscript.mkdir()
    (manuscript / "book.toml").write_text(LONG_TOML, encoding="utf-8")
    paragraph = "The night goes on and the dream goes round again, the same road twice. " * 12
    last = 30
    for number in range(1, last + 1):
        following = (
            f"\n\n## Next Stages\n\n- [Chapter {number + 1}](c{number + 1:02d}.md) — onwards.\n"
            if number < last
            else ""
        )
        body = "\n\n".join([paragraph] * 7) + following
        extra = {"ending": "true"} if number == last else {}
        (manuscript / f"c{number:02d}.md").write_text(
            chapter(f"Chapter {number}", body, **extra), encoding="utf-8"
        )
    output = root / "build"
    result = run(
        "build", manuscript, "-o", output, "--format", "pdf", "--variant", "print", "--jobs", "1"
    )
    assert result.returncode == 0, result.stderr
    return Built(
        output, result.stderr, output / "a-long-night-cover.pdf", output / "a-long-night-print.pdf"
    )


def page_count(path: Path) -> int:
    with pikepdf.open(path) as pdf:
        return len(pdf.pages)


def boxes(path: Path) -> dict[str, list[float]]:
    with pikepdf.open(path) as pdf:
        assert len(pdf.pages) == 1
        page = pdf.pages[0].obj
        return {
            name: [float(v) for v in page[f"/{name}"]]
            for name in ("MediaBox", "TrimBox", "BleedBox")
        }


def expected_width(pages: int, ppi: float) -> float:
    """The wrap's width in inches with its bleed: 2 × (trim width + bleed) + spine."""
    return 2 * (TRIM_WIDTH + BLEED) + pages / ppi


def spine_words(path: Path, spine_left: float, spine_right: float) -> str:
    """The text inside the spine (x in points from the trim's left edge)."""
    with pymupdf.open(path) as document:
        page = document[0]
        # PyMuPDF's page space starts at the MediaBox's top left: the bleed is before the trim.
        clip = pymupdf.Rect(
            BLEED * INCH + spine_left, 0, BLEED * INCH + spine_right, page.rect.height
        )
        return page.get_text("text", clip=clip).strip()


# --- the sample book: 92 pages, no spine text -----------------------------------------------------


def test_the_sample_wrap_is_as_wide_as_its_interior_is_thick(sample: Built) -> None:
    pages = page_count(sample.interior)
    media = boxes(sample.cover)["MediaBox"]
    width, height = (media[2] - media[0]) / INCH, (media[3] - media[1]) / INCH
    assert width == pytest.approx(expected_width(pages, PAPERS["white"]), abs=0.01)
    assert height == pytest.approx(TRIM_HEIGHT + 2 * BLEED, abs=0.01)
    assert f"{pages} pages at 444 pages per inch" in sample.stderr


def test_the_sample_wrap_has_a_trim_box_inside_a_bleed_box(sample: Built) -> None:
    found = boxes(sample.cover)
    trim, bleed = found["TrimBox"], found["BleedBox"]
    assert [b - t for b, t in zip(bleed[:2], trim[:2], strict=True)] == pytest.approx([-9, -9])
    assert [b - t for b, t in zip(bleed[2:], trim[2:], strict=True)] == pytest.approx([9, 9])
    spine = page_count(sample.interior) / PAPERS["white"] * INCH
    assert trim[2] - trim[0] == pytest.approx(2 * TRIM_WIDTH * INCH + spine, abs=0.01)


def test_the_sample_spine_is_blank_below_100_pages_and_the_build_says_so(sample: Built) -> None:
    pages = page_count(sample.interior)
    assert pages < 100
    assert f"no spine text: {pages} pages is below 100" in sample.stderr
    spine = pages / PAPERS["white"] * INCH
    assert spine_words(sample.cover, TRIM_WIDTH * INCH, TRIM_WIDTH * INCH + spine) == ""
    # The front is set from the title and author (the test reads what it means to find).
    front = spine_words(sample.cover, TRIM_WIDTH * INCH + spine, 2 * TRIM_WIDTH * INCH + spine)
    assert "What the Night" in front
    assert "MARA ELLISON" in front.upper()


def test_the_sample_wrap_is_pdfx_in_ink_and_passes_preflight(sample: Built) -> None:
    report = preflight(sample.cover, BLEED * INCH)
    assert report.findings == []
    assert report.pdfx == "PDF/X-4"
    assert report.colour_spaces == {"DeviceCMYK"}
    inks = []
    with pikepdf.open(sample.cover) as pdf:
        for where, content in drawings(pdf):
            instructions = pikepdf.parse_content_stream(content)
            operators = {str(op.operator) for op in instructions}
            assert not operators & {"rg", "RG"}, where
            inks += [sum(float(v) for v in op.operands) for op in instructions
                     if str(op.operator) in {"k", "K", "sc", "scn", "SC", "SCN"}
                     and len(op.operands) == 4]  # fmt: skip
    # Every colour within the total ink a print-on-demand cover may carry (240%).
    assert inks
    assert max(inks) <= 2.4 + 0.005
    assert f"preflight {SLUG}-cover.pdf: PDF/X-4; 1 page" in sample.stderr


def test_the_sample_epub_declares_a_cover_image_of_at_least_1600_by_2560(sample: Built) -> None:
    epub = sample.output / f"{SLUG}.epub"
    with zipfile.ZipFile(epub) as archive:
        opf_name = next(n for n in archive.namelist() if n.endswith(".opf"))
        opf = archive.read(opf_name).decode()
        assert 'properties="cover-image"' in opf
        item = next(line for line in opf.splitlines() if 'properties="cover-image"' in line)
        href = item.split('href="')[1].split('"')[0]
        folder = opf_name.rsplit("/", 1)[0]
        with Image.open(archive.open(f"{folder}/{href}")) as picture:
            assert picture.size[0] >= 1600
            assert picture.size[1] >= 2560
        # The cover page is the first document of the spine.
        spine = opf.split("<spine")[1]
        assert spine.split('idref="')[1].split('"')[0] == "cover"
    assert epubcheck_problems(epub) == []


# --- a longer book: spine text, barcode -----------------------------------------------------------


def test_a_long_wrap_measures_its_interior_on_cream_paper(long_book: Built) -> None:
    pages = page_count(long_book.interior)
    assert pages >= 100
    media = boxes(long_book.cover)["MediaBox"]
    assert (media[2] - media[0]) / INCH == pytest.approx(
        expected_width(pages, PAPERS["cream"]), abs=0.01
    )
    assert "no spine text" not in long_book.stderr


def test_a_long_spine_carries_the_title_and_author_turned_to_read_down(long_book: Built) -> None:
    pages = page_count(long_book.interior)
    spine = pages / PAPERS["cream"] * INCH
    left = TRIM_WIDTH * INCH
    words = spine_words(long_book.cover, left, left + spine)
    assert "A Long Night" in words
    assert "Test Author" in words
    with pymupdf.open(long_book.cover) as document:
        lines = [
            line
            for block in document[0].get_text("dict")["blocks"]
            for line in block.get("lines", [])
            if "Long Night" in "".join(span["text"] for span in line["spans"])
        ]
    spine_lines = [line for line in lines if abs(line["dir"][0]) < 0.01]
    assert spine_lines, "the spine's line runs vertically"
    # Top to bottom: the writing direction points down the page (PyMuPDF's y grows down).
    assert spine_lines[0]["dir"][1] == pytest.approx(1.0)
    box = pymupdf.Rect(spine_lines[0]["bbox"])
    assert box.x0 >= BLEED * INCH + left + 4.5 - 0.5
    assert box.x1 <= BLEED * INCH + left + spine - 4.5 + 0.5


def test_the_barcode_decodes_to_the_isbn_and_its_price(long_book: Built) -> None:
    with pymupdf.open(long_book.cover) as document:
        found = drawn_barcode(document[0])
    assert decode_ean13(modules_of(found.symbol)) == ISBN.replace("-", "")
    assert decode_ean5(modules_of(found.addon)) == PRICE
    # The nominal size: 0.33 mm modules.
    module = min(bar.width for bar in found.symbol)
    assert module == pytest.approx(0.33 / 25.4 * INCH, abs=0.01)


def test_the_barcode_box_keeps_its_quiet_zones_and_the_back_panels_safety(long_book: Built) -> None:
    with pymupdf.open(long_book.cover) as document:
        page = document[0]
        found = drawn_barcode(page)
        words = page.get_text("text", clip=found.box)
    module = min(bar.width for bar in found.symbol)
    left_quiet = (min(b.x0 for b in found.symbol) - found.box.x0) / module
    right_quiet = (found.box.x1 - max(b.x1 for b in found.addon)) / module
    assert left_quiet >= 11 - 0.01
    assert right_quiet >= 5 - 0.01
    gap = (min(b.x0 for b in found.addon) - max(b.x1 for b in found.symbol)) / module
    assert 7 - 0.01 <= gap <= 12 + 0.01
    assert f"ISBN {ISBN}" in words
    # The back panel, trimmed, less its safety margin (PyMuPDF's space starts at the bleed).
    back = pymupdf.Rect(
        BLEED * INCH, BLEED * INCH, (BLEED + TRIM_WIDTH) * INCH, (BLEED + TRIM_HEIGHT) * INCH
    )
    safe = pymupdf.Rect(back.x0 + SAFETY, back.y0 + SAFETY, back.x1 - SAFETY, back.y1 - SAFETY)
    assert safe.contains(found.box)


def test_zbar_reads_the_barcode_from_a_300_dpi_rendering(long_book: Built, tmp_path: Path) -> None:
    if shutil.which("zbarimg") is None:
        pytest.skip("zbar is not installed (Debian: apt-get install zbar-tools)")
    with pymupdf.open(long_book.cover) as document:
        page = document[0]
        found = drawn_barcode(page)
        symbol = pymupdf.Rect(
            found.box.x0, found.box.y0, max(b.x1 for b in found.symbol) + 20, found.box.y1
        )
        page.get_pixmap(dpi=300, clip=symbol).save(tmp_path / "symbol.png")
    completed = subprocess.run(
        ["zbarimg", "--raw", "-q", str(tmp_path / "symbol.png")],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert completed.stdout.strip() == ISBN.replace("-", "")


def test_a_long_wrap_passes_preflight(long_book: Built) -> None:
    report = preflight(long_book.cover, BLEED * INCH)
    assert report.findings == []
    assert report.colour_spaces == {"DeviceCMYK"}


# --- two page counts handed to the cover ----------------------------------------------------------


def cover_context(manuscript: Path, output: Path) -> BuildContext:
    """What the cover writer is given for ``manuscript`` in a build into ``output``."""
    checked = check_manuscript(manuscript)
    config = checked.book.config
    return BuildContext(
        book=render_book(checked.book, checked.graph, checked.reading_order),
        styles=book_styles(manuscript, config),
        manuscript=manuscript,
        output=output,
        identity=book_identity(manuscript, config),
    )


@pytest.mark.parametrize(("pages", "lettered"), [(64, False), (400, True)])
def test_the_wrap_of_a_given_page_count(
    write_book: WriteBook, tmp_path: Path, pages: int, lettered: bool
) -> None:
    manuscript = write_book({"one.md": chapter("One")})
    context = cover_context(manuscript, tmp_path)
    destination = tmp_path / "cover.pdf"
    wrap, _ = write_cover(context, pages, destination)
    media = boxes(destination)["MediaBox"]
    assert (media[2] - media[0]) / INCH == pytest.approx(
        expected_width(pages, PAPERS["white"]), abs=0.01
    )
    spine = pages / PAPERS["white"] * INCH
    words = spine_words(destination, TRIM_WIDTH * INCH, TRIM_WIDTH * INCH + spine)
    assert ("A Small Book" in words) is lettered
    assert wrap.spine.width == pytest.approx(spine)


def test_a_german_spine_reads_bottom_to_top(write_book: WriteBook, tmp_path: Path) -> None:
    toml = '[book]\ntitle = "Nachtstücke"\nauthor = "A. Autorin"\nlanguage = "de"\nstart = "one"\n'
    manuscript = write_book({"one.md": chapter("Eins")}, book_toml=toml)
    context = cover_context(manuscript, tmp_path)
    destination = tmp_path / "cover.pdf"
    write_cover(context, 300, destination)
    with pymupdf.open(destination) as document:
        (line,) = [
            line
            for block in document[0].get_text("dict")["blocks"]
            for line in block.get("lines", [])
            if "Nachtstücke" in "".join(span["text"] for span in line["spans"])
            and abs(line["dir"][0]) < 0.01
        ]
    assert line["dir"][1] == pytest.approx(-1.0)  # the writing runs up the page


# --- the cover alone, and check -------------------------------------------------------------------


def test_format_cover_alone_lays_out_the_interior_to_count_its_pages(
    write_book: WriteBook, tmp_path: Path
) -> None:
    manuscript = write_book({"one.md": chapter("One"), "two.md": chapter("Two")})
    alone, with_pdf = tmp_path / "alone", tmp_path / "with-pdf"
    result = run("build", manuscript, "-o", alone, "--format", "cover", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in alone.iterdir() if not p.name.startswith(".")) == [
        "a-small-book-cover.pdf"
    ]
    result = run(
        "build", manuscript, "-o", with_pdf, "--format", "pdf", "--variant", "print", "--jobs", "1"
    )
    assert result.returncode == 0, result.stderr
    assert boxes(alone / "a-small-book-cover.pdf") == boxes(with_pdf / "a-small-book-cover.pdf")


def test_a_wrong_isbn_check_digit_fails_check_at_its_line(write_book: WriteBook) -> None:
    toml = '[book]\ntitle = "T"\nauthor = "A"\nidentifier = "978-0-306-40615-8"\nstart = "one"\n'
    manuscript = write_book({"one.md": chapter("One")}, book_toml=toml)
    result = run("check", manuscript)
    assert result.returncode == 1
    assert "book.toml:4: DB100 error:" in result.stderr
    assert "should be 7" in result.stderr


def test_the_html_edition_names_the_cover_as_its_social_preview_image(
    write_book: WriteBook, tmp_path: Path
) -> None:
    manuscript = write_book({"one.md": chapter("One")})
    output = tmp_path / "out"
    result = run("build", manuscript, "-o", output, "--format", "html", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    site = output / "a-small-book-site"
    for page in ("index.html", "one.html"):
        assert '<meta property="og:image" content="cover.jpg">' in (site / page).read_text()
    with Image.open(site / "cover.jpg") as picture:
        assert picture.size[0] >= 1600
        assert picture.size[1] >= 2560
    # Drawn once: the next build takes it from the cache.
    cached = list((output / ".cache" / "cover").glob("*.jpg"))
    assert len(cached) == 1
    assert cached[0].read_bytes() == (site / "cover.jpg").read_bytes()


@pytest.mark.parametrize(
    ("paragraphs", "fits"),
    [(2, True), (6, False), (30, False)],
    ids=["fits", "a few lines over", "far over the page"],
)
def test_a_blurb_the_back_panel_cannot_hold_fails_the_build_at_its_setting(
    write_book: WriteBook, tmp_path: Path, paragraphs: int, fits: bool
) -> None:
    """A blurb past the back panel's foot was cut off (or set over the barcode) without a
    word; a blurb the page had no room for at all was not even laid out."""
    sentence = "The night rehearses what the day will ask of you, one scene at a time. "
    blurb = "\n\n".join([sentence * 5] * paragraphs)
    manuscript = write_book({"one.md": chapter("One"), "two.md": chapter("Two")})
    (manuscript / "_back.md").write_text(blurb, "utf-8")
    with (manuscript / "book.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[cover]\nback_text = "_back.md"\n')
    line = len((manuscript / "book.toml").read_text("utf-8").splitlines())
    output = tmp_path / "out"
    result = run("build", manuscript, "-o", output, "--format", "cover", "--jobs", "1")
    if fits:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 1, result.stderr
    assert f"book.toml:{line}: DB106 error" in result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists() or not any(output.glob("*.pdf"))
    # The lines over are counted, those set past the foot and those not set at all.
    over = int(result.stderr.split("some ")[1].split(" line")[0])
    assert over >= (1 if paragraphs == 6 else 60), result.stderr
