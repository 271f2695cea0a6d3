"""Chapters rendered by a forked worker and this process together equal those rendered
one after another here (render._convert_all)."""

from __future__ import annotations

import concurrent.futures
import tempfile
from pathlib import Path

import pytest

from dreambook.bench import write_synthetic_manuscript
from tests.conftest import in_fresh_process


def _render_both_ways(folder: str) -> tuple[bool, int, object, object]:
    """In a fresh interpreter: the book rendered with a forked worker (with the number of
    worker pools started), and rendered one after another."""
    from dreambook import render
    from dreambook.pipeline import check_manuscript
    from dreambook.workers import may_fork

    checked = check_manuscript(Path(folder))
    pools = []
    original = concurrent.futures.ProcessPoolExecutor

    def counted(*arguments: object, **options: object) -> concurrent.futures.ProcessPoolExecutor:
        pools.append(1)
        return original(*arguments, **options)  # type: ignore[arg-type]

    forks = may_fork()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render, "usable_cpus", lambda: 2)
        patch.setattr(render, "PARALLEL_RENDER_CHARACTERS", 1_000)
        patch.setattr(concurrent.futures, "ProcessPoolExecutor", counted)
        shared = render.render_book(checked.book, checked.graph, checked.reading_order)
        started = len(pools)
        patch.setattr(render, "may_fork", lambda: False)
        alone = render.render_book(checked.book, checked.graph, checked.reading_order)
    assert len(pools) == started  # one after another: no pool
    return forks, started, shared, alone


def test_chapters_rendered_by_a_forked_worker_equal_those_rendered_here() -> None:
    with tempfile.TemporaryDirectory() as temporary:
        book = write_synthetic_manuscript(Path(temporary) / "book", chapters=6, words=3_000)
        forks, pools, shared, alone = in_fresh_process(_render_both_ways, str(book))
    assert forks  # the fresh interpreter runs no thread: it may fork
    assert pools == 1  # and shared the chapters with one forked worker
    assert shared == alone
