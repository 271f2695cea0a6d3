"""Chapters rendered by a forked child and this process together equal those rendered
one after another here (render._convert_all)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from dreambook.bench import write_synthetic_manuscript
from tests.conftest import in_fresh_process


def _render_both_ways(folder: str) -> tuple[bool, list[int], set[int], object, object]:
    """In a fresh interpreter: the book rendered with a forked child (with the children
    each sharing of the work asked for, and the processes that converted chapters), and
    rendered one after another."""
    from dreambook import render
    from dreambook.pipeline import check_manuscript
    from dreambook.workers import may_fork

    checked = check_manuscript(Path(folder))
    shares: list[int] = []
    record = Path(folder) / "converted-by"
    original = render.shared_with_children

    def counted(count: int, run: Callable[[int], object], children: int = 1) -> list[object]:
        shares.append(children)

        def recorded(index: int) -> object:
            with record.open("a") as out:  # appended to by both processes
                out.write(f"{os.getpid()}\n")
            return run(index)

        return original(count, recorded, children)

    forks = may_fork()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render, "usable_cpus", lambda: 2)
        patch.setattr(render, "PARALLEL_RENDER_CHARACTERS", 1_000)
        patch.setattr(render, "shared_with_children", counted)
        shared = render.render_book(checked.book, checked.graph, checked.reading_order)
        started = list(shares)
        patch.setattr(render, "may_fork", lambda: False)
        alone = render.render_book(checked.book, checked.graph, checked.reading_order)
    assert shares == started  # one after another: not shared
    processes = {int(line) for line in record.read_text().split()}
    return forks, started, processes, shared, alone


def test_chapters_rendered_by_a_forked_child_equal_those_rendered_here() -> None:
    with tempfile.TemporaryDirectory() as temporary:
        book = write_synthetic_manuscript(Path(temporary) / "book", chapters=12, words=6_000)
        forks, shares, processes, shared, alone = in_fresh_process(_render_both_ways, str(book))
    assert forks  # the fresh interpreter runs no thread: it may fork
    assert shares == [1]  # and shared the chapters with one forked child
    assert len(processes) == 2  # which converted some of them
    assert shared == alone
