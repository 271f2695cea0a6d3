"""End to end: a book with no parallel work starts no worker processes (issue 18, "no
start-up tax on small books"), and laying it out in the build's own process gives the very
bytes a pool of workers gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dreambook import executors
from dreambook.executors import local_pool
from dreambook.export.pdf import layout
from dreambook.export.pdf.layout import build_edition
from dreambook.export.pdf.variant import Variant
from dreambook.export.writer import BuildContext
from dreambook.identity import identity_of
from dreambook.pipeline import build_book, check_manuscript
from dreambook.render import render_book
from dreambook.styles import book_styles
from tests.conftest import WriteBook, chapter

pytestmark = pytest.mark.slow


@pytest.fixture
def small_book(write_book: WriteBook) -> Path:
    """Two short chapters, each pointing at a page of the other: one chunk of chapters."""
    return write_book(
        {
            "one.md": chapter(
                "Arrival",
                "The hall is longer than it was ([the stair](stair.md)).\n\n"
                "## Next Stages\n\n- [The Stair](stair.md)\n",
            ),
            "stair.md": chapter(
                "The Stair",
                "Every step is a step back to [the hall](one.md).\n\n"
                "## Next Stages\n\n- [Arrival](one.md)\n",
            ),
        }
    )


@pytest.fixture
def no_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any attempt to start a local pool of workers fail the test."""

    def refuse(*args: object, **kwargs: object) -> Iterator[None]:
        raise AssertionError("a pool of worker processes was started for a small book")

    # The pipeline imports it when a build starts; the layout when it is imported.
    monkeypatch.setattr(executors, "local_pool", refuse)
    monkeypatch.setattr(layout, "local_pool", refuse)


@pytest.mark.usefixtures("no_pool")
def test_a_small_book_is_laid_out_without_worker_processes(
    small_book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    result = build_book(small_book, tmp_path / "out", ["pdf"], jobs=2)
    [pdf] = [path for path in result.files if path.suffix == ".pdf"]
    figures = result.layouts[pdf]
    # Laid out in chunks (the front matter and the chapters), not as one document.
    assert figures["chunks"] == 2
    assert figures["chunks_laid_out"] >= 2
    assert figures["cpu_seconds"] >= figures["one_layout_cpu_seconds"] > 0


def _edition(manuscript: Path, destination: Path, executor: object) -> bytes:
    checked = check_manuscript(manuscript)
    book = render_book(checked.book, checked.graph, checked.reading_order)
    context = BuildContext(
        book=book,
        styles=book_styles(manuscript, checked.book.config),
        manuscript=manuscript,
        output=destination.parent,
        identity=identity_of(book.config, None),
        jobs=2,
        executor=executor,  # type: ignore[arg-type]
    )
    build_edition(context, Variant.DIGITAL, destination)
    return destination.read_bytes()


def test_the_build_process_lays_a_small_book_out_as_a_pool_would(
    small_book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    here = _edition(small_book, tmp_path / "here" / "book.pdf", None)
    with local_pool(2) as pool:
        on_workers = _edition(small_book, tmp_path / "pool" / "book.pdf", pool)
    assert here.startswith(b"%PDF-")
    assert here == on_workers
