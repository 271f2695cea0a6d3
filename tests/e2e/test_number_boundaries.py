"""End to end: page numbers stay right where a number gains a digit (issue 18).

A layout pass's make-up decisions may be taken from a layout whose numbers differ from the
right ones in digits alone (export/pdf/layout.py, NumberShapes): "p. 9" and "p. 11" take
different room, so this is where such a shortcut would print a wrong number or set a line
differently. A book of some 120 pages has references to pages of one, two and three
digits; an edit in its first chapter moves them over 9 -> 10 and 99 -> 100, and the
rebuild (from the chunk cache) must print every number right and equal a clean build.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pymupdf
import pytest

from dreambook.bench import write_synthetic_manuscript
from tests.e2e.test_parallel_layout import _build
from tests.e2e.test_pdf import PAGE_REFERENCE, internal_links

pytestmark = pytest.mark.slow


def _printed_numbers(pdf: Path) -> dict[str, str]:
    """Each page reference's target (its named destination) and the number printed, after
    checking that the number is the label of the target's page."""
    document = pymupdf.open(pdf)
    printed: dict[str, str] = {}
    for link in internal_links(document):
        found = PAGE_REFERENCE.search(link.text)
        if found is None:
            continue
        assert found.group(1) == document[link.target_page].get_label(), link
        printed[link.name] = found.group(1)
    return printed


@dataclass(frozen=True)
class Builds:
    before: dict[str, str]
    after: dict[str, str]
    rebuilt: Path
    clean: Path
    pages: tuple[int, int, int]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    tmp_path = tmp_path_factory.mktemp("boundaries")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
        manuscript = write_synthetic_manuscript(tmp_path / "book", chapters=15, words=30_000)
        output = tmp_path / "out" / "book.pdf"
        first = _build(manuscript, output)
        before = _printed_numbers(output)
        # About twelve more pages at the start of the first chapter.
        opening = manuscript / "chapter-0001.md"
        text = opening.read_text("utf-8")
        added = " ".join(["The corridor turned again and the lamp went on ahead."] * 300)
        opening.write_text(text.replace("Opening ", f"Opening {added}\n\n", 1), "utf-8")
        again = _build(manuscript, output)
        after = _printed_numbers(output)
        clean = _build(manuscript, tmp_path / "clean" / "book.pdf")
    return Builds(
        before, after, output, tmp_path / "clean" / "book.pdf",
        (first.pages, again.pages, clean.pages),
    )  # fmt: skip


def test_numbers_that_gain_a_digit_are_printed_right_before_and_after_an_edit(
    builds: Builds,
) -> None:
    # _printed_numbers checked every number against its target's page label.
    assert {len(number) for number in builds.before.values()} == {1, 2, 3}
    crossed = {
        name: (builds.before[name], builds.after[name])
        for name in builds.before.keys() & builds.after.keys()
        if len(builds.before[name]) != len(builds.after[name])
    }
    assert any(len(a) == 1 and len(b) == 2 for a, b in crossed.values()), crossed
    assert any(len(a) == 2 and len(b) == 3 for a, b in crossed.values()), crossed
    first, again, clean = builds.pages
    assert again == clean > first


def test_a_rebuild_that_moves_every_number_equals_a_clean_build(builds: Builds) -> None:
    # Compared as digests: pytest would spend minutes writing out the difference of two PDFs.
    rebuilt = hashlib.sha256(builds.rebuilt.read_bytes()).hexdigest()
    assert rebuilt == hashlib.sha256(builds.clean.read_bytes()).hexdigest()
