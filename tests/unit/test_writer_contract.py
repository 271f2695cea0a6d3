"""The writer contract: the pipeline runs whatever the registry names, hands every writer the
same BuildContext, and gives a writer the results of the formats it reads."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from dreambook.cli import main
from dreambook.errors import UsageError
from dreambook.export.writer import (
    FORMATS,
    BuildContext,
    FormatSpec,
    WriterResult,
    writing_order,
)
from dreambook.pipeline import build_book
from tests.conftest import WriteBook, chapter

# What each ToyWriter.write call saw: (context, names of the earlier results it was given).
SEEN: list[tuple[BuildContext, tuple[str, ...]]] = []


class ToyWriter:
    """A format nobody ships: one text file listing the chapters in reading order."""

    def describe(self, context: BuildContext) -> str:
        return "writing the toy list"

    def write(self, context: BuildContext, earlier: Mapping[str, WriterResult]) -> WriterResult:
        SEEN.append((context, tuple(earlier)))
        destination = context.output / f"{context.book.slug}.toy"
        titles = [chapter.title_text for chapter in context.book.chapters]
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text("\n".join(titles), encoding="utf-8")
        return WriterResult(files=(destination,), pages={destination: len(titles)})


TOY = FormatSpec("toy", f"{__name__}:ToyWriter", reads=("html",))


@pytest.fixture
def toy_format(monkeypatch: pytest.MonkeyPatch) -> FormatSpec:
    SEEN.clear()
    monkeypatch.setitem(FORMATS, "toy", TOY)
    return TOY


@pytest.fixture
def small_book(write_book: WriteBook) -> Path:
    return write_book(
        {
            "one.md": chapter("One", "Text.\n\n## Next Stages\n\n- [Two](two.md) — on.\n"),
            "two.md": chapter("Two", "More text.\n", ending="true"),
        }
    )


def test_a_registered_toy_writer_runs_with_the_build_context(
    toy_format: FormatSpec, small_book: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    result = build_book(small_book, output, ["toy"], jobs=1)
    toy_file = output / "a-small-book.toy"
    assert result.files == (toy_file,)
    assert toy_file.read_text(encoding="utf-8") == "One\nTwo"
    assert result.pages == {toy_file: 2}
    assert "toy" in result.timings
    [(context, earlier)] = SEEN
    # Writers write into a staging folder inside the output folder; the pipeline moves
    # what they wrote into place when every writer has finished, and removes the folder.
    assert context.output.parent == output
    assert context.output.name.startswith(".dreambook.staging.")
    assert not context.output.exists()
    assert context.cache_folder == output / ".cache"
    assert context.manuscript == small_book
    assert context.identity.title == "A Small Book"
    assert context.identity.authors == ("Test Author",)
    assert [c.slug for c in context.book.chapters] == ["one", "two"]
    assert earlier == ()  # html was not built in this run


def test_a_writer_gets_the_results_of_the_formats_it_reads_and_runs_after_them(
    toy_format: FormatSpec, small_book: Path, tmp_path: Path
) -> None:
    # Asked for first, the toy still runs after the HTML edition it reads.
    result = build_book(small_book, tmp_path / "out", ["toy", "html"], jobs=1)
    [(_, earlier)] = SEEN
    assert earlier == ("html",)
    assert [path.suffix for path in result.files] == [".html", "", ".toy"]


def test_the_command_line_offers_every_registered_format(
    toy_format: FormatSpec, small_book: Path, tmp_path: Path
) -> None:
    status = main(["build", str(small_book), "-o", str(tmp_path / "out"), "--format", "toy", "-q"])
    assert status == 0
    assert (tmp_path / "out" / "a-small-book.toy").is_file()


def test_writing_order_puts_the_pdf_before_the_epub_that_reads_its_page_breaks() -> None:
    assert [spec.name for spec in writing_order(["epub", "html", "pdf"])] == [
        "pdf",
        "epub",
        "html",
    ]
    assert [spec.name for spec in writing_order(["epub", "epub"])] == ["epub"]


def test_an_unregistered_format_is_a_usage_error(small_book: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no output format 'mobi'"):
        build_book(small_book, tmp_path / "out", ["mobi"])


# What the toy format's work started ahead saw and when it ended, in order.
AHEAD: list[str] = []


class OtherToyWriter(ToyWriter):
    """A second toy format: the same list, in a file of its own."""

    def write(self, context: BuildContext, earlier: Mapping[str, WriterResult]) -> WriterResult:
        SEEN.append((context, tuple(earlier)))
        destination = context.output / f"{context.book.slug}.toy2"
        destination.write_text("other", encoding="utf-8")
        return WriterResult(files=(destination,))


@contextlib.contextmanager
def toy_ahead(context: BuildContext) -> Iterator[None]:
    """Work a toy format starts before its writer: records what it was given."""
    AHEAD.append(f"started with {len(context.book.chapters)} chapters of {context.book.slug}")
    try:
        yield
    finally:
        AHEAD.append(f"ended after {len(SEEN)} writes")


def test_work_ahead_of_a_writer_starts_once_before_the_render_and_ends_after_the_writers(
    monkeypatch: pytest.MonkeyPatch, small_book: Path, tmp_path: Path
) -> None:
    SEEN.clear()
    AHEAD.clear()
    ahead = f"{__name__}:toy_ahead"
    monkeypatch.setitem(FORMATS, "toy", FormatSpec("toy", f"{__name__}:ToyWriter", ahead=ahead))
    monkeypatch.setitem(
        FORMATS, "toy2", FormatSpec("toy2", f"{__name__}:OtherToyWriter", ahead=ahead)
    )
    build_book(small_book, tmp_path / "out", ["toy", "toy2"], jobs=1)
    # One start for the two formats naming it, with the book's settings and no chapters
    # yet; it ends once both writers have written.
    assert AHEAD == ["started with 0 chapters of a-small-book", "ended after 2 writes"]
