"""The EPUB's set front cover drawn by a forked process while the documents are made
(cover/ebook.py ``drawn_meanwhile``): the build then takes the picture from the cache, and
the EPUB is the one a build drawing the cover itself makes."""

from __future__ import annotations

import multiprocessing
import shutil
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from dreambook.export.cover import ebook
from dreambook.export.epub.writer import EpubWriter
from dreambook.export.writer import BuildContext
from dreambook.identity import book_identity
from dreambook.pipeline import check_manuscript
from dreambook.render import render_book
from dreambook.styles import book_styles
from dreambook.workers import may_fork

SAMPLE = Path(__file__).resolve().parents[2] / "manuscript"


def _epub(manuscript: Path, output: Path) -> bytes:
    checked = check_manuscript(manuscript)
    book = render_book(checked.book, checked.graph, checked.reading_order)
    output.mkdir()
    context = BuildContext(
        book=book,
        styles=book_styles(manuscript, checked.book.config),
        manuscript=manuscript,
        output=output,
        identity=book_identity(manuscript, checked.book.config),
    )
    (written,) = EpubWriter().write(context, {}).files
    return written.read_bytes()


def test_the_set_cover_drawn_by_a_forked_process_gives_the_epub_drawn_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not may_fork():
        pytest.skip("this test process cannot fork (it runs threads)")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    monkeypatch.setattr(ebook, "usable_cpus", lambda: 2)
    manuscript = tmp_path / "book"
    shutil.copytree(SAMPLE, manuscript)
    drawn_here: list[int] = []
    draw = ebook._draw

    def counted(*arguments: Any) -> bytes:
        drawn_here.append(1)
        return draw(*arguments)

    # A child process's drawings are not counted: only this process's.
    monkeypatch.setattr(ebook, "_draw", counted)
    meanwhile = _epub(manuscript, tmp_path / "meanwhile")
    assert drawn_here == []
    assert list((tmp_path / "meanwhile" / ".cache" / "cover").glob("*.jpg"))

    monkeypatch.setattr(ebook, "may_fork", lambda: False)
    here = _epub(manuscript, tmp_path / "here")
    assert drawn_here == [1]
    assert meanwhile == here


class _Stopped(Exception):
    """What the command's own SIGTERM handler raises (cli.py), here for the test."""


def _stop(signum: int, frame: object) -> None:
    raise _Stopped


def _fail_while_drawing(context: BuildContext, begun: Any) -> None:
    with ebook.drawn_meanwhile(context):
        assert begun.wait(timeout=120), "the child never began to draw"
        raise OSError("the disk is full")


def test_a_build_failing_while_the_cover_is_drawn_leaves_no_word_of_the_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """The child is stopped without a word: it inherited the command's SIGTERM handler,
    whose exception's traceback would otherwise reach the user's terminal."""
    if not may_fork():
        pytest.skip("this test process cannot fork (it runs threads)")
    monkeypatch.setattr(ebook, "usable_cpus", lambda: 2)
    manuscript = tmp_path / "book"
    shutil.copytree(SAMPLE, manuscript)
    checked = check_manuscript(manuscript)
    context = BuildContext(
        book=render_book(checked.book, checked.graph, checked.reading_order),
        styles=book_styles(manuscript, checked.book.config),
        manuscript=manuscript,
        output=tmp_path / "out",
        identity=book_identity(manuscript, checked.book.config),
    )
    # The child's drawing says when it has begun, then takes as long as it needs.
    begun = multiprocessing.get_context("fork").Event()

    def drawing(context: BuildContext) -> bytes:
        begun.set()
        threading.Event().wait()
        return b""

    monkeypatch.setattr(ebook, "front_cover_jpeg", drawing)
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        with pytest.raises(OSError, match="the disk is full"):
            _fail_while_drawing(context, begun)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not ebook._DRAWING
    assert "Traceback" not in capfd.readouterr().err
