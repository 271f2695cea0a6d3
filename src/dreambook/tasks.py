"""A book's writers as executor tasks: each writer that lays out nothing in parallel itself
(the EPUB, the HTML edition, the print cover). The check and render is a task of the
pipeline's own (pipeline.check_and_render), the merge of the PDF's (merge.merge_job).

A catalogue, or a build given a Dask scheduler, sends these to its executor's workers
(executors.py) instead of running them in the command's process, which then only hands out
work and writes files. A task returns plain data and bytes and writes nothing the build
keeps: a writer's task writes into a private temporary folder on its worker, returns every
file it made as bytes, and the build writes them into its staging folder (atomically, as
the writer would have), so that a task run twice (a worker killed mid-task) leaves no trace.

A worker that shares no file system with the build gets the bytes of every folder the
writer may read (``FileBundle``, read on the build's machine through the confined opener)
and lays them out under its temporary folder: the writer reads the copies there, and the
paths in what it reports (files, diagnostics) are turned back into the build's.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dreambook.export.writer import FORMATS, BuildContext, WriterResult, load_writer
from dreambook.fsutil import FILE_MODE, FileBundle, apply_output_modes, atomic_output

if TYPE_CHECKING:
    from dreambook.executors import Executor
    from dreambook.identity import BookIdentity
    from dreambook.render import RenderedBook
    from dreambook.styles import Styles


# --- a writer -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WriterJob:
    """Everything one writer needs from the build (a BuildContext without its output
    folder, its executor and its callbacks), and the results it reads."""

    format: str
    book: RenderedBook
    styles: Styles
    manuscript: Path
    identity: BookIdentity
    variants: tuple[str, ...]
    cache: Path
    earlier: Mapping[str, WriterResult]


@dataclass(frozen=True)
class MadeFile:
    """One file a writer's task made: its path inside the output folder, and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class WriterOutput:
    """What a writer's task returns: the writer's result with its paths relative to the
    output folder, and every file it wrote there."""

    result: WriterResult
    files: tuple[MadeFile, ...]


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _moved(root: Path, path: Path) -> Path:
    """Where the absolute ``path`` of the build's machine is under the folder ``root``."""
    return root / os.path.abspath(path).lstrip(os.sep)


def _lay_down(root: Path, bundles: Sequence[FileBundle]) -> None:
    """Write every bundled file under ``root`` at its path of the build's machine."""
    for bundle in bundles:
        for name, data in bundle.files.items():
            target = _moved(root, Path(name))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def _back(root: Path | None, path: Path | None) -> Path | None:
    """``path`` as the build's machine names it (``root`` is where its folders were laid
    down on the worker; None when they were not)."""
    if path is None or root is None:
        return path
    try:
        return Path(os.sep) / path.relative_to(root)
    except ValueError:
        return path


def _with_paths(result: WriterResult, move: Callable[[Path], Path]) -> WriterResult:
    """``result`` with ``move`` applied to the path of every file it names."""
    return replace(
        result,
        files=tuple(move(path) for path in result.files),
        pages={move(path): count for path, count in result.pages.items()},
        layouts={move(path): figures for path, figures in result.layouts.items()},
    )


def _rebased(result: WriterResult, folder: Path) -> WriterResult:
    """``result`` with its paths (relative, or inside another folder) put in ``folder``."""
    return _with_paths(
        result, lambda path: folder / path.name if path.is_absolute() else folder / path
    )


def write_format(job: WriterJob, files: Sequence[FileBundle] = ()) -> WriterOutput:
    """Run the writer of ``job.format`` in a temporary folder and return what it made (a
    task). With ``files`` (a worker that shares no file system with the build), the
    writer reads the bundled copies of the build's folders and nothing else of the build's
    machine. Raises what the writer raises.
    """
    with tempfile.TemporaryDirectory(prefix="dreambook-task-") as temporary:
        work = Path(temporary)
        root: Path | None = None
        manuscript, styles, cache = job.manuscript, job.styles, job.cache
        if files:
            root = work / "in"
            _lay_down(root, files)
            manuscript = _moved(root, manuscript)
            styles = replace(
                styles,
                folders=tuple(_moved(root, folder) for folder in styles.folders),
                readable=tuple(_moved(root, folder) for folder in styles.readable),
            )
            cache = _moved(root, cache)
        output = work / "out"
        output.mkdir()
        context = BuildContext(
            book=job.book,
            styles=styles,
            manuscript=manuscript,
            output=output,
            identity=job.identity,
            variants=job.variants,
            cache=cache,
        )
        earlier = {name: _rebased(result, output) for name, result in job.earlier.items()}
        result = load_writer(FORMATS[job.format]).write(context, earlier)
        made = []
        for parent, folders, names in os.walk(output):
            folders.sort()
            for name in sorted(names):
                path = Path(parent, name)
                made.append(MadeFile(path.relative_to(output).as_posix(), path.read_bytes()))

        relative = replace(
            _with_paths(result, lambda path: path.relative_to(output)),
            diagnostics=tuple(replace(d, path=_back(root, d.path)) for d in result.diagnostics),
        )
        return WriterOutput(relative, tuple(made))


def _folder_bundles(job: WriterJob) -> tuple[FileBundle, ...]:
    """The folders a writer may read, as bytes: the manuscript, the styles folders, and the
    files at the top of the build's cache (the page maps a PDF build left, which an EPUB
    built alone reads; not the chunks below it)."""
    readable = [job.manuscript, *job.styles.folders, *job.styles.readable]
    bundles = [FileBundle(folder, readable) for folder in (job.manuscript, *job.styles.folders)]
    if job.cache.is_dir():
        bundles.append(FileBundle(job.cache, [job.cache], recursive=False))
    return tuple(bundles)


def run_writer(
    executor: Executor, context: BuildContext, name: str, earlier: Mapping[str, WriterResult]
) -> WriterResult:
    """Run the writer of the format ``name`` as a task on ``executor`` and write what it
    made into ``context.output`` (each file atomically; folders get the build's modes);
    return its result as the writer would have returned it here. Raises what the writer
    raised, and OSError when a file cannot be written."""
    # Absolute paths: a worker elsewhere lays the folders down by them.
    styles = replace(
        context.styles,
        folders=tuple(_absolute(folder) for folder in context.styles.folders),
        readable=tuple(_absolute(folder) for folder in context.styles.readable),
    )
    job = WriterJob(
        name,
        context.book,
        styles,
        _absolute(context.manuscript),
        context.identity,
        context.variants,
        _absolute(context.cache_folder),
        dict(earlier),
    )
    shared: dict[str, object] = {}
    if not executor.shares_files:
        shared["files"] = _folder_bundles(job)
    (made,) = list(executor.map(write_format, [job], shared))
    tops: set[Path] = set()
    for file in made.files:
        destination = context.output / file.name
        with atomic_output(destination) as output:
            output.write(file.data)
        tops.add(context.output / Path(file.name).parts[0])
    for top in sorted(tops):
        if top.is_dir():
            apply_output_modes(top)
        else:
            os.chmod(top, FILE_MODE)
    return _with_paths(made.result, lambda path: context.output / path)
