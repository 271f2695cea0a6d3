"""The printed page as a typesetter makes it up: line endings and the baseline grid.

Measured from the sample book's digital PDF with PyMuPDF: every line of running text (10 pt
type and larger, between the running head and the folio) with its baseline and text.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymupdf
import pytest

from tests.conftest import MINIMAL_TOML, WriteBook, chapter
from tests.e2e.test_cli import run

SAMPLE = Path(__file__).resolve().parents[2] / "manuscript"
BOOK = "what-the-night-rehearses"
GRID = 14.0  # the leading of the text, print.css


@dataclass(frozen=True)
class Line:
    page: int  # index in the PDF; index 0 is a right-hand page
    label: str
    baseline: float
    text: str
    size: float


def page_lines(page: Any) -> Iterator[tuple[dict[str, Any], float, float]]:
    """Each line of a PyMuPDF page that holds text, with its largest type size and its
    baseline."""
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", []):
            spans = [s for s in line["spans"] if s["text"].strip()]
            if spans:
                yield line, max(s["size"] for s in spans), max(s["origin"][1] for s in spans)


def text_lines(pdf: Path) -> list[Line]:
    """Every line of running text, in reading order, spans on one baseline joined."""
    found: list[Line] = []
    with pymupdf.open(pdf) as document:
        for index, page in enumerate(document):
            height = page.rect.height
            rows: list[tuple[float, float, str, float]] = []
            for line, size, baseline in page_lines(page):
                if size < 9.4 or not 50 < baseline < height - 45:
                    continue  # notes, running heads and folios
                text = "".join(s["text"] for s in line["spans"])
                rows.append((baseline, line["bbox"][0], text, size))
            rows.sort()
            merged: list[tuple[float, str, float]] = []
            for baseline, _, text, size in rows:
                if merged and abs(merged[-1][0] - baseline) < 2:
                    merged[-1] = (merged[-1][0], merged[-1][1] + text, max(merged[-1][2], size))
                else:
                    merged.append((baseline, text, size))
            label = page.get_label()
            found += [Line(index, label, b, t.strip(), s) for b, t, s in merged]
    return found


@pytest.fixture(scope="module")
def sample_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("makeup")
    result = run("build", SAMPLE, "-o", output, "--format", "pdf", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    return output / f"{BOOK}.pdf"


@pytest.fixture(scope="module")
def sample_lines(sample_pdf: Path) -> list[Line]:
    return text_lines(sample_pdf)


_HYPHEN_END = re.compile(r"(\w+)[\u2010-]$")


def hyphenated(lines: list[Line]) -> Iterator[tuple[Line, Line | None]]:
    """Each line ending in a hyphen after letters, with the line after it (None at a
    page's foot)."""
    for position, line in enumerate(lines):
        if _HYPHEN_END.search(line.text):
            following = lines[position + 1] if position + 1 < len(lines) else None
            if following is not None and following.page != line.page:
                following = None
            yield line, following


def test_the_sample_book_hyphenates_at_all(sample_lines: list[Line]) -> None:
    # Without hyphenation the checks below would hold trivially.
    assert len(list(hyphenated(sample_lines))) > 40


def test_no_hyphen_leaves_fewer_than_three_letters_on_either_side(
    sample_lines: list[Line],
) -> None:
    short = []
    for line, following in hyphenated(sample_lines):
        match = _HYPHEN_END.search(line.text)
        assert match is not None
        before = match.group(1)
        after = re.match(r"\w+", following.text) if following else None
        if len(before) < 3 or (after is not None and len(after.group()) < 3):
            short.append(
                f"p. {line.label}: {line.text[-12:]} / {following and following.text[:12]}"
            )
    assert short == []


def test_the_last_word_of_a_paragraph_is_never_hyphenated(sample_lines: list[Line]) -> None:
    split = [
        f"p. {line.label}: {line.text[-10:]} / {following.text}"
        for line, following in hyphenated(sample_lines)
        if following is not None and len(following.text.split()) == 1
        and following.text[-1:] in ".!?:;”’"
    ]  # fmt: skip
    assert split == []


def test_no_line_begins_with_an_em_dash(sample_lines: list[Line]) -> None:
    assert [
        f"p. {line.label}: {line.text[:20]}"
        for line in sample_lines
        if line.text.startswith("\u2014")
    ] == []
    # The sample book sets spaced dashes: there are some to hold the rule to.
    assert sum(line.text.count("\u2014") for line in sample_lines) > 10


def test_at_most_two_hyphenated_lines_in_a_row(sample_lines: list[Line]) -> None:
    runs, run_length, previous = [], 0, None
    for line in sample_lines:
        ends = bool(_HYPHEN_END.search(line.text))
        run_length = (
            run_length + 1
            if ends and previous is not None and previous.page == line.page
            else int(ends)
        )
        if run_length > 2:
            runs.append(f"p. {line.label}")
        previous = line if ends else None
    assert runs == []


def test_text_lines_sit_on_one_grid_on_every_page_after_a_chapters_first(
    sample_lines: list[Line],
) -> None:
    """Pages other than a chapter's first start their text at the top of the text block, so
    every line of 10.5 pt text lies a whole number of 14 pt lines below the page's first
    line position: facing pages line up, and full pages end at one depth."""
    by_page: dict[int, list[Line]] = {}
    for line in sample_lines:
        by_page.setdefault(line.page, []).append(line)
    top = min(line.baseline for line in sample_lines if line.size < 11)
    off_grid = []
    checked = 0
    for lines in by_page.values():
        body = [line for line in lines if 10 <= line.size < 11]
        if not body or min(line.baseline for line in lines) > top + 1:
            continue  # a chapter opening or front matter: its text starts lower
        checked += 1
        for line in body:
            if line.text == "Next Stages" or ". . . ." in line.text:
                break  # the chapter's closing box (its items have leaders) is off the grid
            steps = (line.baseline - top) / GRID
            if abs(steps - round(steps)) > 0.05:
                off_grid.append(f"p. {line.label} {line.baseline:.1f}: {line.text[:30]}")
    assert checked > 15  # 20 of the sample's pages when this was written
    assert off_grid == []


def _small_book(write_book: WriteBook, toml: str) -> Path:
    texts = {
        "one.md": chapter(
            "One",
            "The night — as ever — came on. " * 30
            + "\n\n## Next Stages\n\n- [Two](two.md) — on.\n",
        ),
        "two.md": chapter(
            "Two",
            "Words of the second chapter. " * 40
            + "\n\n## Next Stages\n\n- [Three](three.md) — on.\n",
        ),
        "three.md": chapter("Three", "The last chapter's words. " * 40 + "\n", ending="true"),
    }
    return write_book(texts, book_toml=MINIMAL_TOML + toml)


@pytest.mark.parametrize(
    ("setting", "expected"), [("spaced", "night\u00a0\u2014 as"), ("closed", "night\u2014as")]
)
def test_em_dashes_follow_the_house_style(
    write_book: WriteBook, tmp_path: Path, setting: str, expected: str
) -> None:
    root = _small_book(write_book, f'em_dash = "{setting}"\n')
    output = tmp_path / "out"
    result = run("build", root, "-o", output, "--format", "pdf", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    with pymupdf.open(output / "a-small-book.pdf") as document:
        text = " ".join(page.get_text() for page in document)
    assert expected.replace("\u00a0", " ") in text.replace("\u00a0", " ").replace("\n", " ")


@pytest.mark.parametrize(("setting", "recto_only"), [("recto", True), ("any", False)])
def test_chapters_open_on_a_right_hand_page_unless_the_book_says_any(
    write_book: WriteBook, tmp_path: Path, setting: str, recto_only: bool
) -> None:
    toml = "" if setting == "recto" else f'\n[print]\nchapter_start = "{setting}"\n'
    root = _small_book(write_book, toml)
    output = tmp_path / "out"
    result = run("build", root, "-o", output, "--format", "pdf", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    with pymupdf.open(output / "a-small-book.pdf") as document:
        openings = [
            index for index, page in enumerate(document)
            for title in ("One", "Two", "Three")
            if any(s["text"] == title and s["size"] > 20
                   for b in page.get_text("dict")["blocks"] for ln in b.get("lines", []) for s in ln["spans"])
        ]  # fmt: skip
        blank = [i for i, page in enumerate(document) if not page.get_text().strip()]
    assert len(openings) == 3
    on_the_right = all(index % 2 == 0 for index in openings)
    if recto_only:
        assert on_the_right, openings
    else:
        assert not on_the_right, openings  # chapter one fills one page: two opens on a left
        assert not [i for i in blank if i > openings[0]], blank


def _first_and_last(lines: list[Line]) -> dict[int, tuple[Line, Line]]:
    """Each page's first and last line of running text, by page index."""
    found: dict[int, tuple[Line, Line]] = {}
    for line in lines:
        first, _ = found.get(line.page, (line, line))
        found[line.page] = (first, line)
    return found


def test_no_word_is_split_by_an_added_hyphen_at_the_foot_of_a_right_hand_page(
    sample_lines: list[Line],
) -> None:
    """The reader never turns the page in the middle of a word the layout hyphenated
    (U+2010; a compound's own hyphen-minus may still end the page)."""
    feet = _first_and_last(sample_lines)
    turned = [
        f"p. {last.label}: {last.text[-24:]}"
        for index, (_, last) in feet.items()
        if index % 2 == 0 and last.text.endswith("\u2010")
    ]
    assert turned == []
    # The check has something to find: the layout's hyphens are U+2010.
    assert sum(line.text.endswith("\u2010") for line in sample_lines) > 40


def test_no_chapter_ends_on_a_page_that_its_next_stages_box_opens(
    sample_lines: list[Line],
) -> None:
    """The box either comes back onto the page before or takes lines of text with it."""
    pages = _first_and_last(sample_lines)
    opening = [f"p. {first.label}" for first, _ in pages.values() if first.text == "Next Stages"]
    assert opening == []
    with_text = [
        line.page for position, line in enumerate(sample_lines)
        if line.text == "Next Stages" and position and sample_lines[position - 1].page == line.page
    ]  # fmt: skip
    assert len(with_text) >= 12  # of the sample's 14 chapters


def word_spaces(pdf: Path) -> list[tuple[float, str, str]]:
    """For each full line of running text (one that reaches the right edge of the text, so
    justified), the median space between its words in ems of 10.5 pt, its page and text.
    Chapters' small-capital first lines are left out (their letterspacing is not a space)."""
    found = []
    with pymupdf.open(pdf) as document:
        for page in document:
            rows: dict[tuple[int, int], list[Any]] = {}
            for word in page.get_text("words"):
                rows.setdefault((word[5], word[6]), []).append(word)
            lines = [r for r in rows.values() if 11 < r[0][3] - r[0][1] < 16 and len(r) >= 4]
            if len(lines) < 5:
                continue
            rights = sorted(max(w[2] for w in r) for r in lines)
            edge = rights[int(len(rights) * 0.8)]
            opening = any(
                span["size"] > 20
                for block in page.get_text("dict")["blocks"]
                for line in block.get("lines", [])
                for span in line["spans"]
            )
            full = sorted(
                (r for r in lines if max(w[2] for w in r) >= edge - 3), key=lambda r: r[0][1]
            )
            if opening:  # the chapter's first full line is in small capitals
                full = full[1:]
            for row in full:
                row.sort(key=lambda w: w[0])
                text = " ".join(w[4] for w in row)
                gaps = sorted((b[0] - a[2]) / 10.5 for a, b in itertools.pairwise(row))
                found.append((gaps[len(gaps) // 2], page.get_label(), text))
    return found


def test_few_justified_lines_are_loose(sample_pdf: Path) -> None:
    """A paragraph with a line whose spaces the justification stretched far is set a little
    tighter (makeup.py): fewer than 4% of full lines keep word spaces over 0.45 em (it was
    6.1% before, 1.5% after in the sample book), none over 0.75 em."""
    spaces = word_spaces(sample_pdf)
    assert len(spaces) > 600
    loose = [s for s in spaces if s[0] > 0.45]
    assert len(loose) / len(spaces) < 0.04, sorted(loose, reverse=True)[:5]
    assert max(spaces)[0] <= 0.75


@dataclass(frozen=True)
class PageDepth:
    label: str
    last_baseline: float
    notes_top: float | None  # the top of the page's footnotes, if it has any
    ends_chapter: bool
    opens_chapter: bool  # its text starts below the opening, off the grid of other pages


def page_depths(pdf: Path) -> list[PageDepth]:
    """For each page of the body: where its text ends, and whether a chapter ends on it
    (the next page is blank, opens a chapter, or there is none)."""
    found = []
    with pymupdf.open(pdf) as document:
        pages = list(document)
        for index, page in enumerate(pages):
            if not page.get_label().isdigit():
                continue
            height = page.rect.height
            text, notes = [], []
            for line, size, baseline in page_lines(page):
                if size >= 9.4 and 50 < baseline < height - 45:
                    text.append(baseline)
                elif 8 <= size < 9 and height / 2 < baseline < height - 45:
                    notes.append(line["bbox"][1])
            if not text:
                continue
            opens = any(
                s["size"] > 20
                for b in page.get_text("dict")["blocks"]
                for ln in b.get("lines", [])
                for s in ln["spans"]
            )
            following = pages[index + 1] if index + 1 < len(pages) else None
            ends = (
                following is None
                or not following.get_text().strip()
                or any(
                    s["size"] > 20
                    for b in following.get_text("dict")["blocks"]
                    for ln in b.get("lines", [])
                    for s in ln["spans"]
                )
            )
            found.append(
                PageDepth(page.get_label(), max(text), min(notes) if notes else None, ends, opens)
            )
    return found


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_pages_in_the_middle_of_a_chapter_end_at_the_foot_of_the_text(
    tmp_path: Path, jobs: str
) -> None:
    """No page but a chapter's last ends more than one line short (of the text block, or
    of its footnotes), and the pages of a spread end within a line of each other; laid out
    as one document and in chunks alike."""
    output = tmp_path / "out"
    result = run("build", SAMPLE, "-o", output, "--format", "pdf", "--jobs", jobs)
    assert result.returncode == 0, result.stderr
    depths = page_depths(output / f"{BOOK}.pdf")
    middle = [d for d in depths if not d.ends_chapter]
    assert len(middle) > 30
    foot = max(d.last_baseline for d in depths if d.notes_top is None)
    short = []
    for depth in middle:
        # A line's baseline sits about 3.5 pt above its foot; notes have 12.5 pt above them.
        limit = foot if depth.notes_top is None else depth.notes_top - 12.5 - 3.5
        # A chapter's first page sets its text up to a line off the other pages' grid, so
        # measured against their last baseline it may look up to a line shorter than it is.
        allowed = 2.0 if depth.opens_chapter else 1.05
        if (limit - depth.last_baseline) / GRID > allowed:
            short.append(f"p. {depth.label}: {(limit - depth.last_baseline) / GRID:.1f} lines")
    assert short == []
    by_label = {d.label: d for d in middle if d.notes_top is None}
    unbalanced = [
        f"pp. {left}-{int(left) + 1}"
        for left in by_label
        if int(left) % 2 == 0 and str(int(left) + 1) in by_label
        and abs(by_label[left].last_baseline - by_label[str(int(left) + 1)].last_baseline) > GRID + 0.5
    ]  # fmt: skip
    assert unbalanced == []
