"""A writer run as an executor's task (tasks.py): on a worker that shares no file system with
the build it reads only the bundled copies of the book's folders, and what it returns is
what the writer makes in the build's own process."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from dreambook.executors import InProcess
from dreambook.export.writer import BuildContext
from dreambook.identity import book_identity
from dreambook.pipeline import check_manuscript
from dreambook.render import render_book
from dreambook.styles import book_styles
from dreambook.tasks import WriterJob, _folder_bundles, run_writer, write_format

SAMPLE = Path(__file__).resolve().parents[2] / "manuscript"


class _Elsewhere(InProcess):
    """Runs tasks here, but as a worker on another machine gets them: with the bundles,
    and (given ``cwd``) in another working folder."""

    def __init__(self, cwd: Path | None = None) -> None:
        self.cwd = cwd

    def map(
        self,
        function: Callable[..., Any],
        tasks: Sequence[Any],
        shared: Mapping[str, object] | None = None,
    ) -> Iterator[Any]:
        here = Path.cwd()
        results = []
        for task in tasks:
            if self.cwd is not None:
                os.chdir(self.cwd)
            try:
                results.append(function(task, **(shared or {})))
            finally:
                os.chdir(here)
        return iter(results)

    @property
    def shares_files(self) -> bool:
        return False

    @property
    def runs_stages(self) -> bool:
        return True


def _job(manuscript: Path, name: str, cache: Path) -> WriterJob:
    checked = check_manuscript(manuscript)
    assert not checked.has_errors
    book = render_book(checked.book, checked.graph, checked.reading_order)
    return WriterJob(
        name,
        book,
        book_styles(manuscript, checked.book.config),
        manuscript,
        book_identity(manuscript, checked.book.config),
        ("digital",),
        cache,
        {},
    )


@pytest.mark.parametrize("name", ["epub", "html"])
def test_a_writer_task_on_a_worker_elsewhere_reads_only_its_bundles_and_makes_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    manuscript = tmp_path / "book"
    shutil.copytree(SAMPLE, manuscript)
    job = _job(manuscript, name, tmp_path / "cache")
    here = write_format(job)
    bundles = _folder_bundles(job)
    # Nothing of the book is left where the build had it: a read of the build's paths
    # would fail, so what the task makes comes from the bundles.
    manuscript.rename(tmp_path / "gone")
    there = write_format(job, bundles)
    assert [f.name for f in there.files] == [f.name for f in here.files]
    assert there.files == here.files
    assert there.result.files == here.result.files
    assert all(not path.is_absolute() for path in there.result.files)
    assert there.result.diagnostics == here.result.diagnostics


def test_run_writer_writes_what_the_task_made_into_the_build_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    manuscript = tmp_path / "book"
    shutil.copytree(SAMPLE, manuscript)
    job = _job(manuscript, "epub", tmp_path / "cache")
    alone = tmp_path / "alone"
    alone.mkdir()
    context = BuildContext(
        book=job.book,
        styles=job.styles,
        manuscript=manuscript,
        output=alone,
        identity=job.identity,
        cache=tmp_path / "cache",
    )
    from dreambook.export.epub.writer import EpubWriter

    written_here = EpubWriter().write(context, {})
    output = tmp_path / "out"
    output.mkdir()
    result = run_writer(
        _Elsewhere(), BuildContext(**{**context.__dict__, "output": output}), "epub", {}
    )
    assert result.files == (output / written_here.files[0].name,)
    assert result.files[0].read_bytes() == written_here.files[0].read_bytes()
    assert type(result) is type(written_here)


def test_a_writer_task_elsewhere_finds_a_book_given_by_a_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    shutil.copytree(SAMPLE, tmp_path / "book")
    monkeypatch.chdir(tmp_path)
    job = _job(Path("book"), "epub", Path("cache"))
    context = BuildContext(
        book=job.book,
        styles=job.styles,
        manuscript=Path("book"),
        output=tmp_path / "out",
        identity=job.identity,
        cache=Path("cache"),
    )
    (tmp_path / "out").mkdir()
    (tmp_path / "worker").mkdir()
    result = run_writer(_Elsewhere(tmp_path / "worker"), context, "epub", {})
    assert [path.suffix for path in result.files] == [".epub"]
    assert result.files[0].stat().st_size > 10_000
