"""End to end: the words of the printed book as a book designer reads them (issue 14, part
"text"): centred display lines, the contents, cross-references, chapter titles and
"Reached from" lines, the copyright page, the dedication and the map.

Each check builds nothing of its own: it reads the sample book's digital PDF, built once,
with PyMuPDF (text positions), and compares positions with the page's text block.
"""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass
from typing import Any

import pymupdf
import pytest

from dreambook.export.pdf.pages import _margins
from dreambook.pipeline import check_manuscript
from dreambook.render import RenderedBook, render_book
from tests.conftest import SAMPLE_MANUSCRIPT
from tests.e2e.test_cli import run

pytestmark = pytest.mark.slow

POINTS_PER_INCH = 72.0


@dataclass(frozen=True)
class Sample:
    document: pymupdf.Document
    book: RenderedBook


@dataclass(frozen=True)
class Line:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """The sample book's digital PDF, built once with the installed command."""
    output = tmp_path_factory.mktemp("build")
    result = run("build", SAMPLE_MANUSCRIPT, "-o", output, "--format", "pdf", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    checked = check_manuscript(SAMPLE_MANUSCRIPT)
    book = render_book(checked.book, checked.graph, checked.reading_order)
    return Sample(pymupdf.open(output / f"{book.slug}.pdf"), book)


def lines_of(page: pymupdf.Page) -> list[Line]:
    """Every non-empty text line of ``page`` with its box and (largest) font size."""
    found = []
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", []):
            text = "".join(span["text"] for span in line["spans"])
            if text.strip():
                size = max(span["size"] for span in line["spans"])
                found.append(Line(text, *line["bbox"], size))
    return found


def text_block(sample: Sample, page: pymupdf.Page) -> tuple[float, float, float]:
    """The text block's left and right edges and its bottom on ``page``: mirrored margins,
    the wider (inner) one on the left of a right-hand page (even page index)."""
    margins = {
        k: float(v.removesuffix("in")) * POINTS_PER_INCH
        for k, v in _margins(sample.book.config).items()
    }
    right_hand = page.number % 2 == 0  # type: ignore[operator]
    left = margins["inner"] if right_hand else margins["outer"]
    right = page.rect.width - (margins["outer"] if right_hand else margins["inner"])
    return left, right, page.rect.height - margins["bottom"]


def page_starting(sample: Sample, words: str) -> pymupdf.Page:
    for page in sample.document:
        if " ".join(page.get_text().split()).startswith(words):
            return page
    raise AssertionError(f"no page starts with {words!r}")


def folded(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").split())


# --- finding 3: display lines centred on the text block -------------------------------------------


def test_title_pages_and_dedication_are_centred_on_the_text_block(sample: Sample) -> None:
    config = sample.book.config
    half_title = sample.document[0]
    title_page = page_starting(sample, f"{config.title} {config.subtitle}")
    dedication = page_starting(sample, (config.dedication or "").split()[0])
    checked = 0
    for page in (half_title, title_page, dedication):
        left, right, _ = text_block(sample, page)
        for line in lines_of(page):
            assert abs(line.centre - (left + right) / 2) <= 2, (page.number, line)
            checked += 1
    assert checked >= 6  # title, subtitle, author, publisher, half title, dedication


# --- finding 4: the contents ---------------------------------------------------------------------


def contents_rows(sample: Sample) -> tuple[pymupdf.Page, dict[float, list[dict[str, object]]]]:
    """The contents page and its characters grouped by baseline (one row per entry)."""
    page = page_starting(sample, "Contents")
    rows: dict[float, list[dict[str, object]]] = {}
    for block in page.get_text("rawdict")["blocks"]:
        for line in block.get("lines", []):
            for span in line["spans"]:
                if abs(span["size"] - 10.5) > 0.2:
                    continue  # the heading and the folio
                for char in span["chars"]:
                    rows.setdefault(round(span["origin"][1], 1), []).append(char)
    return page, rows


def test_contents_numbers_share_one_right_edge_and_leaders_keep_clear(sample: Sample) -> None:
    page, rows = contents_rows(sample)
    _, right, _ = text_block(sample, page)
    assert len(rows) == len(sample.book.chapters) + 1  # every chapter and the map
    number_edges, last_dots = [], []
    for chars in rows.values():
        chars.sort(key=lambda c: c["bbox"][0])  # type: ignore[index]
        text = "".join(str(c["c"]) for c in chars)
        folio = re.search(r"([0-9ivxlcdm]+)$", text.rstrip())
        assert folio, text
        number = chars[len(text.rstrip()) - len(folio.group(1))]
        dots = [c for c in chars if c["c"] == "." and c["bbox"][0] < number["bbox"][0]]  # type: ignore[index,operator]
        title_end = max(
            c["bbox"][2]  # type: ignore[index]
            for c in chars
            if c["c"] not in (" ", ".") and c["bbox"][0] < dots[0]["bbox"][0]  # type: ignore[index,operator]
        )
        number_edges.append(chars[len(text.rstrip()) - 1]["bbox"][2])  # type: ignore[index]
        last_dots.append(dots[-1]["bbox"][2])  # type: ignore[index]
        # A gap after the title before the first dot: "Being Trapped." must not read as a
        # sentence; and the leaders stop clear of the number.
        assert dots[0]["bbox"][0] - title_end >= 3, text  # type: ignore[index,operator]
        assert number["bbox"][0] - dots[-1]["bbox"][2] >= 4, text  # type: ignore[index,operator]
    assert max(number_edges) - min(number_edges) <= 0.5, number_edges
    assert abs(max(number_edges) - right) <= 1, (number_edges, right)
    assert max(last_dots) - min(last_dots) <= 0.5, last_dots


def test_contents_list_the_map_of_the_book_with_its_page(sample: Sample) -> None:
    assert sample.book.book_map is not None
    _, rows = contents_rows(sample)
    map_page = page_starting(sample, "Map of the Book")
    texts = [
        "".join(str(c["c"]) for c in sorted(chars, key=lambda c: c["bbox"][0]))
        for chars in rows.values()
    ]  # type: ignore[index]
    listed = [re.search(r"Map of the Book[ .]*([ivxlcdm]+)$", text.rstrip()) for text in texts]
    assert [m.group(1) for m in listed if m] == [map_page.get_label()], texts


# --- finding 5: cross-references -----------------------------------------------------------------


def book_text(sample: Sample) -> str:
    return " ".join(page.get_text() for page in sample.document)


def test_page_references_keep_their_space_and_never_double_a_bracket(sample: Sample) -> None:
    text = " ".join(book_text(sample).split())
    assert "(p." in text
    assert not re.search(r"\S\(p\.", text)
    assert not re.search(r"\(\((?:p\.|this page)", text)
    assert not re.search(r"\((?:p\.\s*[0-9ivxlcdm]+|this page)\)\)", text)
    # Inside parentheses the reference is set off with a comma (the sample's hiding chapter:
    # "(see the timestamp below, p. 34);"), followed by a comma when the parenthesis goes on.
    where = r"(?:p\.\s*\d+|this page|overleaf|on the facing page)"
    assert re.search(rf"\(see the timestamp below, {where}\);", text)
    assert re.search(r"\(See the morning-after steps, this page, for ways", text)


def gap_after(chars: list[dict[str, Any]], index: int) -> float | None:
    """The distance from the glyph before the white space at ``index`` to the next glyph."""
    end = index
    while end < len(chars) and chars[end]["c"] in " \u00a0":
        end += 1
    if index == 0 or end == len(chars):
        return None
    return float(chars[end]["bbox"][0] - chars[index - 1]["bbox"][2])


def test_the_space_before_a_page_reference_is_a_real_word_space(sample: Sample) -> None:
    """Measured on the page, not in the text: the gap between a link's last word and its
    "(p. N)" is a word space like the line's others ("Following You(p. 25)" is the fault).
    Glyph side bearings ("s" then "(") make it somewhat narrower than a gap between letters."""
    measured = 0
    for page in sample.document:
        for block in page.get_text("rawdict")["blocks"]:
            for line in block.get("lines", []):
                chars = [c for span in line["spans"] for c in span["chars"]]
                text = "".join(c["c"] for c in chars)
                words = [
                    gap_after(chars, found.start())
                    for found in re.finditer(r"(?<=[a-z,;]) (?=[a-z])", text)
                ]
                spaces = [gap for gap in words if gap is not None]
                for found in re.finditer(r"[ \u00a0]+\(p\.", text):
                    gap = gap_after(chars, found.start())
                    if gap is None or len(spaces) < 3:
                        continue
                    assert gap >= 0.5 * statistics.median(spaces), (page.number, text)
                    measured += 1
    assert measured >= 10


# --- finding 6: chapter titles and "Reached from" ------------------------------------------------


def opening_page(sample: Sample, label: str, title: str) -> pymupdf.Page:
    wanted = "".join(folded(label + title).split()).casefold()
    for page in sample.document:
        if "".join(folded(page.get_text()).split()).casefold().startswith(wanted):
            return page
    raise AssertionError(f"no opening page for {title}")


def test_no_chapter_title_ends_on_a_line_of_one_word(sample: Sample) -> None:
    for chapter in sample.book.chapters:
        page = opening_page(sample, chapter.label, chapter.title_text)
        title_lines = [line for line in lines_of(page) if line.size > 18]
        assert folded(" ".join(line.text for line in title_lines)) == folded(chapter.title_text)
        if len(chapter.title_text.split()) > 1:
            assert len(title_lines[-1].text.split()) >= 2, title_lines


def test_reached_from_lines_break_between_titles_and_use_the_serial_comma(sample: Sample) -> None:
    seen_serial = False
    for chapter in sample.book.chapters:
        if not chapter.reached_from:
            continue
        page = opening_page(sample, chapter.label, chapter.title_text)
        lines = lines_of(page)
        start = next(i for i, line in enumerate(lines) if line.text.startswith("Reached from"))
        block = [line for line in lines[start:] if line.size < 9.5]
        block = block[
            : next((i for i, line in enumerate(block) if line.y0 - block[0].y1 > 20), len(block))
        ]
        texts = [folded(line.text) for line in block]
        for source in chapter.reached_from:
            title = folded(source.title.striptags())
            assert any(title in text for text in texts), (title, texts)
        joined = " ".join(texts)
        if len(chapter.reached_from) >= 3:
            assert re.search(r"\), and ", joined), joined  # en-US: the serial comma
            seen_serial = True
        elif len(chapter.reached_from) == 2:
            assert re.search(r"\) and ", joined), joined
    assert seen_serial


# --- finding 7: copyright page, dedication, map --------------------------------------------------


def test_copyright_block_stands_single_spaced_at_the_foot_of_its_page(sample: Sample) -> None:
    rights = sample.book.config.rights or ""
    page = next(p for p in sample.document if rights.split()[0] in p.get_text())
    lines = sorted(lines_of(page), key=lambda line: line.y0)
    assert len(lines) >= 4
    _, _, bottom = text_block(sample, page)
    assert abs(lines[-1].y1 - bottom) <= 3, (lines[-1], bottom)
    pitches = [b.y0 - a.y0 for a, b in itertools.pairwise(lines)]
    assert max(pitches) <= 1.4 * lines[0].size, pitches


def test_the_dedication_does_not_end_on_one_word(sample: Sample) -> None:
    dedication = sample.book.config.dedication or ""
    page = page_starting(sample, dedication.split()[0])
    lines = lines_of(page)
    assert folded(" ".join(line.text for line in lines)) == folded(dedication)
    assert len(lines[-1].text.split()) >= 2, lines


def test_the_map_numbers_and_spells_chapters_as_the_contents_and_explains_only_what_it_shows(
    sample: Sample,
) -> None:
    book_map = sample.book.book_map
    assert book_map is not None
    text = " ".join(page_starting(sample, "Map of the Book").get_text().split())
    for chapter in sample.book.chapters:
        typographic = " ".join(chapter.title.striptags().split())
        assert f"{chapter.number}. {typographic} ·" in text, chapter.slug
    assert "Can\u2019t" in text
    assert "Can't" not in text
    has_dead_end = any(node.dead_end and not node.unreachable for node in book_map.nodes)
    has_unreachable = any(node.unreachable for node in book_map.nodes)
    assert ("dead end" in text) == has_dead_end
    assert ("unreachable" in text) == has_unreachable
    assert "Next Stages" in text
    assert "cross-reference" in text


def test_page_numbers_are_set_in_tabular_figures(sample: Sample) -> None:
    """Every digit of a page reference ("p. 34", a Next Stages page, a "Reached from"
    page), of the contents column and of the folios has one width per font and size, so
    that a number of the same count of digits always takes the same room on its line."""
    widths: dict[tuple[str, float], set[float]] = {}
    numbers = 0
    reference = re.compile(r"(?:p\.\s?|^\s*)(\d+)\)?,?\s*$")
    for page in sample.document:
        for block in page.get_text("rawdict")["blocks"]:
            for line in block.get("lines", []):
                for span in line["spans"]:
                    text = "".join(c["c"] for c in span["chars"])
                    if not reference.search(text):
                        continue
                    numbers += 1
                    for char in span["chars"]:
                        if char["c"].isdigit():
                            key = (span["font"], round(span["size"], 2))
                            width = round(char["bbox"][2] - char["bbox"][0], 1)
                            widths.setdefault(key, set()).add(width)
    assert numbers > 50, "the sample's page numbers were not found"
    assert len(widths) >= 3  # references, Next Stages pages, folios at least
    uneven = {key: sorted(found) for key, found in widths.items() if len(found) > 1}
    assert not uneven, f"digits of different widths: {uneven}"
