"""The EPUB's set front cover drawn by a forked process while the documents are made
(cover/ebook.py ``drawn_meanwhile``): the build then takes the picture from the cache, and
the EPUB is the one a build drawing the cover itself makes."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import threading
import time
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
from tests.conftest import in_fresh_process

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


def _drawn_both_ways(folder: Path) -> tuple[list[int], bool, list[int], bytes, bytes]:
    """In a fresh interpreter: the sample's EPUB with its cover drawn by a forked child,
    then drawn here; with how many drawings this process made for each."""
    manuscript = folder / "book"
    shutil.copytree(SAMPLE, manuscript)
    drawn_here: list[int] = []
    draw = ebook._draw

    def counted(*arguments: Any) -> bytes:
        drawn_here.append(1)
        return draw(*arguments)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1767225600")
        patch.setattr(ebook, "usable_cpus", lambda: 2)
        # A child process's drawings are not counted: only this process's.
        patch.setattr(ebook, "_draw", counted)
        meanwhile = _epub(manuscript, folder / "meanwhile")
        first = list(drawn_here)
        kept = bool(list((folder / "meanwhile" / ".cache" / "cover").glob("*.jpg")))
        patch.setattr(ebook, "may_fork", lambda: False)
        here = _epub(manuscript, folder / "here")
    return first, kept, drawn_here, meanwhile, here


def test_the_set_cover_drawn_by_a_forked_process_gives_the_epub_drawn_here(
    tmp_path: Path,
) -> None:
    first, kept, drawn_here, meanwhile, here = in_fresh_process(_drawn_both_ways, tmp_path)
    assert first == []  # this process drew nothing: the child did
    assert kept
    assert drawn_here == [1]
    assert meanwhile == here


class _Stopped(Exception):
    """What the command's own SIGTERM handler raises (cli.py), here for the test."""


def _stop(signum: int, frame: object) -> None:
    raise _Stopped


def _fail_while_drawing_quietly(folder: Path) -> tuple[bool, bool, str]:
    """In a fresh interpreter, under a SIGTERM handler that raises (as the command's does):
    a build fails while the child draws; returns whether a child was drawing, whether it
    is gone, and what went to standard error meanwhile."""
    manuscript = folder / "book"
    shutil.copytree(SAMPLE, manuscript)
    checked = check_manuscript(manuscript)
    context = BuildContext(
        book=render_book(checked.book, checked.graph, checked.reading_order),
        styles=book_styles(manuscript, checked.book.config),
        manuscript=manuscript,
        output=folder / "out",
        identity=book_identity(manuscript, checked.book.config),
    )
    # The child's drawing says when it has begun, then takes as long as it needs.
    begun = multiprocessing.get_context("fork").Event()
    drawing_seen: list[bool] = []

    def drawing(context: BuildContext) -> bytes:
        begun.set()
        threading.Event().wait()
        return b""

    errors = folder / "stderr"
    saved = os.dup(2)
    with pytest.MonkeyPatch.context() as patch, errors.open("wb") as sink:
        patch.setattr(ebook, "usable_cpus", lambda: 2)
        patch.setattr(ebook, "front_cover_jpeg", drawing)
        previous = signal.signal(signal.SIGTERM, _stop)
        os.dup2(sink.fileno(), 2)
        try:
            with ebook.drawn_meanwhile(context):
                drawing_seen.append(bool(ebook._DRAWING))
                if not begun.wait(timeout=120):
                    raise RuntimeError("the child never began to draw")
                raise OSError("the disk is full")
        except OSError:
            pass
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            signal.signal(signal.SIGTERM, previous)
    return bool(drawing_seen and drawing_seen[0]), not ebook._DRAWING, errors.read_text()


def test_a_build_failing_while_the_cover_is_drawn_leaves_no_word_of_the_child(
    tmp_path: Path,
) -> None:
    """The child is stopped without a word: it inherited the command's SIGTERM handler,
    whose exception's traceback would otherwise reach the user's terminal."""
    drawing, gone, errors = in_fresh_process(_fail_while_drawing_quietly, tmp_path)
    assert drawing
    assert gone
    assert "Traceback" not in errors


def _drawing_while_checked(folder: Path) -> tuple[list[bool], list[str], bool]:
    """In a fresh interpreter: two EPUB builds of the sample, whether the cover was being
    drawn when the check began; the second build's manuscript has an error, and what it
    raised, and whether any drawing child is left."""
    from dreambook import pipeline
    from dreambook.errors import ManuscriptError

    manuscript = folder / "book"
    shutil.copytree(SAMPLE, manuscript)
    seen: list[bool] = []
    check = pipeline.check_manuscript

    def checking(*arguments: Any, **options: Any) -> Any:
        seen.append(bool(ebook._DRAWING))
        if len(seen) == 2:
            # A check slower than the drawing: the cover is in the new output folder's
            # cache before the check finds the error.
            for _ in range(1200):
                if list((folder / "broken").glob(".cache/cover/*.jpg")):
                    break
                time.sleep(0.05)
        return check(*arguments, **options)

    raised: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ebook, "usable_cpus", lambda: 2)
        patch.setattr(pipeline, "check_manuscript", checking)
        pipeline.build_book(manuscript, folder / "out", ["epub"], jobs=1)
        (manuscript / "broken.md").write_text("---\ntitle: [broken\n---\n\nText.\n", "utf-8")
        try:
            pipeline.build_book(manuscript, folder / "broken", ["epub"], jobs=1)
        except ManuscriptError as error:
            raised = [d.code for d in error.diagnostics if d.is_error]
    try:
        os.waitpid(-1, os.WNOHANG)
        left = True
    except ChildProcessError:
        left = False
    return seen, raised, left or (folder / "broken").exists()


def test_the_cover_is_drawn_while_the_chapters_are_checked(tmp_path: Path) -> None:
    """The cover needs book.toml alone: its drawing starts before the chapters are read,
    and a manuscript with errors stops it, reporting just what the check found."""
    seen, raised, left = in_fresh_process(_drawing_while_checked, tmp_path)
    assert seen == [True, True]
    assert raised == ["DB012"]
    # The second build's drawing was stopped with it, and the output folder the drawing
    # had begun (its cache) was removed: a manuscript with errors leaves no trace.
    assert not left
