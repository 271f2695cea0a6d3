"""The manuscript folder -> Book: book.toml, the chapter files, each read once, and the order lock.

Problems in the manuscript are collected as diagnostics, never raised, so that one ``check``
reports as many as it can find. A big manuscript is read by several processes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dreambook.config import load_book_toml
from dreambook.diagnostics import Diagnostic, diagnostic
from dreambook.errors import BuildError, ResourceOutsideError
from dreambook.fsutil import ConfinedFolders, ConfinedReader
from dreambook.manuscript.lock import read_order_lock
from dreambook.manuscript.model import Book, Chapter
from dreambook.manuscript.reader import placeholder_chapter, read_chapter
from dreambook.workers import die_with_parent, may_fork, shared_with_children, usable_cpus

CHAPTER_SUFFIX = ".md"


def chapter_files(root: Path) -> list[Path]:
    """Return every chapter file under ``root``, sorted by relative path.

    A file or folder whose name starts with ``_`` or ``.`` is skipped, so drafts and
    notes can live beside the chapters. Sorting makes the result independent of the
    order in which the file system lists entries.
    """
    found: list[Path] = []
    for path in root.rglob(f"*{CHAPTER_SUFFIX}"):
        parts = path.relative_to(root).parts
        if any(part.startswith(("_", ".")) for part in parts):
            continue
        if path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _duplicate_slugs(chapters: Sequence[Chapter]) -> list[Diagnostic]:
    """Report every chapter whose slug another chapter already has.

    The chapter that keeps the slug is the first (in file order) whose slug comes from its
    file name; the others are reported, at their ``slug:`` line when they set one, since
    that line is what the author would change.
    """
    groups: dict[str, list[Chapter]] = {}
    for chapter in chapters:
        groups.setdefault(chapter.slug, []).append(chapter)
    diagnostics: list[Diagnostic] = []
    for slug, group in groups.items():
        if len(group) < 2:
            continue
        keeper = next((c for c in group if c.slug_line == 1), group[0])
        for chapter in group:
            if chapter is keeper:
                continue
            diagnostics.append(
                diagnostic(
                    "DB020",
                    f"the slug {slug!r} is already used by {keeper.source_path}",
                    chapter.path,
                    chapter.slug_line,
                    "rename one file, or set a different 'slug:' in its front matter",
                )
            )
    return diagnostics


MAX_CHAPTER_MEGABYTES = 2


@dataclass(frozen=True)
class Limits:
    """How much manuscript a build accepts. Set by whoever runs dreambook, never by book.toml,
    so that a hostile manuscript cannot raise its own limits."""

    max_chapters: int = 5_000
    max_bytes: int = 200 * 1024 * 1024
    # One chapter file larger than this is not read (DB081): laid out as one flow, its
    # time and memory grow faster than its length (README, "Limits", for the figures).
    max_chapter_bytes: int = MAX_CHAPTER_MEGABYTES * 1024 * 1024


_ReadResult = tuple[Chapter | None, list[Diagnostic]]


def _read_chapters(
    paths: Sequence[Path],
    root: Path,
    inside: ConfinedFolders,
    next_stages_heading: str,
    max_chapter_bytes: int,
) -> list[_ReadResult]:
    """Read each of ``paths`` in order: its chapter (None when it is not read) and diagnostics.

    A chapter file that is a symbolic link out of the manuscript folder is not read (DB060);
    one larger than ``max_chapter_bytes`` is not read either (DB081), and stands in the book
    as an empty chapter, so that links to it are not reported too.
    Raises OSError for a file that cannot be read.
    """
    results: list[_ReadResult] = []
    reader = ConfinedReader(inside.folders)
    for path in paths:
        try:
            data, size = reader.read_at_most(path, max_chapter_bytes)
        except ResourceOutsideError as outside:
            refusal = diagnostic(
                "DB060",
                f"the chapter file is a symbolic link to {outside.target}, "
                "outside the manuscript folder; it is not read",
                path,
                None,
                "copy the file into the manuscript folder instead of linking to it",
            )
            results.append((None, [refusal]))
            continue
        if data is None:
            too_large = _too_large(path, size, max_chapter_bytes)
            results.append((placeholder_chapter(path, root), [too_large]))
        else:
            results.append(read_chapter(path, root, next_stages_heading, data=data))
    return results


def _too_large(path: Path, size: int, limit: int) -> Diagnostic:
    return diagnostic(
        "DB081",
        f"the chapter file is {size / 1_048_576:.1f} MiB; one chapter may be at most "
        f"{limit / 1_048_576:g} MiB, so it is not read",
        path,
        None,
        "split it into several chapters linked by Next Stages, or raise the limit with "
        "--max-chapter-megabytes if it really is one chapter",
    )


# Reading in worker processes pays only when reading in this one takes well over the time a
# worker needs to start (about 0.2 s when spawned: it imports dreambook anew; a forked one
# starts at once). This much chapter text takes about 0.2 s to read on one core of the
# benchmark's machine when it is plain Markdown (index.py's quick path), several times that
# when markdown-it must parse it; smaller books are read here.
PARALLEL_READ_BYTES = 2 * 1024 * 1024
# Chapters per piece of work: small enough that neither side waits long for the other at
# the end, large enough that sending paths and results between processes costs little.
_CHAPTERS_PER_CHUNK = 25


def _read_chapters_in_workers(
    paths: Sequence[Path],
    root: Path,
    inside: ConfinedFolders,
    next_stages_heading: str,
    workers: int,
    max_chapter_bytes: int,
) -> list[_ReadResult]:
    """``_read_chapters`` shared between this process and ``workers`` worker processes."""
    # Imported here: only large manuscripts are read in worker processes.
    import concurrent.futures
    import multiprocessing

    chunks = [
        paths[start : start + _CHAPTERS_PER_CHUNK]
        for start in range(0, len(paths), _CHAPTERS_PER_CHUNK)
    ]
    # A forked child starts at once with everything this process has imported, and shares
    # the work without a pool's traffic (workers.shared_with_children); a spawned worker
    # imports dreambook anew (a tenth of a second or more). Forking is unsafe in a process
    # that runs threads (the preview server), which reads with spawned workers.
    if may_fork():
        return [
            result
            for chunk in shared_with_children(
                len(chunks),
                lambda index: _read_chapters(
                    chunks[index], root, inside, next_stages_heading, max_chapter_bytes
                ),
                workers,
            )
            for result in chunk
        ]
    context = multiprocessing.get_context("spawn")
    read_here: dict[int, list[_ReadResult]] = {}
    results: list[_ReadResult] = []
    # The workers die with this process, even when it is killed (see workers.py).
    pool_of_readers = concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, initializer=die_with_parent, initargs=(os.getpid(),)
    )
    with pool_of_readers as pool:
        futures = [
            pool.submit(_read_chapters, chunk, root, inside, next_stages_heading, max_chapter_bytes)
            for chunk in chunks
        ]
        # The workers take chunks from the front while this process reads them from the
        # back, so the work is shared however long the workers take to start. A future that
        # can still be cancelled has not been handed to a worker (they are handed in order).
        for index in reversed(range(len(chunks))):
            if not futures[index].cancel():
                break
            read_here[index] = _read_chapters(
                chunks[index], root, inside, next_stages_heading, max_chapter_bytes
            )
        for index, future in enumerate(futures):
            results += read_here[index] if index in read_here else future.result()
    return results


def load_book(
    root: Path, limits: Limits = Limits(), jobs: int | None = None
) -> tuple[Book, list[Diagnostic]]:
    """Read the manuscript folder ``root`` and return the Book with every diagnostic found.

    Problems in the manuscript never raise: they are returned as diagnostics, as many as
    can be found in one pass. A manuscript over ``limits`` is not read at all (DB080).
    A manuscript of more than ``PARALLEL_READ_BYTES`` of chapters is read by up to
    ``jobs`` processes (default: the CPUs this process may use, at most four), forked when
    this process runs no other thread and spawned otherwise; the result is the same however
    it is read.
    Raises OSError only for an unreadable file or folder.
    """
    config, diagnostics = load_book_toml(root)
    files = chapter_files(root)
    total = sum(path.stat().st_size for path in files)
    if len(files) > limits.max_chapters or total > limits.max_bytes:
        diagnostics.append(
            diagnostic(
                "DB080",
                f"the manuscript has {len(files)} chapter files and {total / 1_048_576:.1f} MiB; "
                f"the limits are {limits.max_chapters} files and "
                f"{limits.max_bytes / 1_048_576:.0f} MiB",
                root,
                None,
                "raise the limits with --max-chapters / --max-megabytes if this book is "
                "really that large",
            )
        )
        return Book(root, config, ()), diagnostics
    inside = ConfinedFolders([root])
    # Beyond four processes, starting one more costs about what it saves.
    processes = min(jobs or usable_cpus(), 4, len(files) // _CHAPTERS_PER_CHUNK)
    if processes > 1 and total > PARALLEL_READ_BYTES:
        results = _read_chapters_in_workers(
            files, root, inside, config.next_stages_heading, processes - 1,
            limits.max_chapter_bytes,
        )  # fmt: skip
    else:
        results = _read_chapters(
            files, root, inside, config.next_stages_heading, limits.max_chapter_bytes
        )
    chapters: list[Chapter] = []
    for chapter, found in results:
        if chapter is not None:
            chapters.append(chapter)
        diagnostics.extend(found)
    diagnostics.extend(_duplicate_slugs(chapters))
    try:
        lock = read_order_lock(root)
    except BuildError as refused:  # a lock that leads out of the book (DB060), or too large
        lock = None
        diagnostics.extend(refused.diagnostics)
    return Book(root, config, tuple(chapters), lock), diagnostics
