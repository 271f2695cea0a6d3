"""Building a catalogue: many books with one command, on the local pool or a Dask cluster.

A catalogue file (TOML) lists manuscript folders and the settings every book shares::

    [catalogue]
    output = "build/catalogue"   # relative to the catalogue file
    formats = ["pdf", "epub"]
    variants = ["digital", "print"]
    styles = "house-styles"      # optional: searched before each book's own styles
    jobs = 4                     # optional: local worker processes (default: the CPUs)
    task_timeout = 600           # optional: seconds one layout task may run (Dask)

    [[book]]
    path = "books/night-notes"   # a manuscript folder with its own book.toml
    slug = "night-notes"         # optional: the book's output folder name

Each book is built by the pipeline's ``build_book`` into ``OUTPUT/<slug>/``, as ``dreambook
build`` would build it, on one executor kept for the whole catalogue (executors.py), so the
workers start once and shared inputs (a house styles folder) travel to them once. Several
books are built at once, each on a thread of this process that hands the book's stages to
the executor as tasks (the check and render, the chunks, the merges, the EPUB: the pool is
made with ``runs_stages``), so that their tasks interleave on the workers, and every book keeps its laid-out chunks in the catalogue's one
content-addressed store (``OUTPUT/.cache/chunks``). One book's failure is recorded with its
diagnostics and the other books go on; its previous outputs stay, because a build
publishes only when every format is written.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import json
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from dreambook.config import load_book_toml
from dreambook.diagnostics import Diagnostic, diagnostic, format_diagnostic
from dreambook.errors import BuildError, DreambookError, ManuscriptError, UsageError
from dreambook.executors import (
    DEFAULT_TASK_TIMEOUT,
    Executor,
    check_scheduler,
    dask_executor,
    local_pool,
)
from dreambook.export.writer import DEFAULT_FORMATS, warm_up_function, writing_order
from dreambook.fsutil import atomic_output
from dreambook.pipeline import Options, build_book
from dreambook.slugs import slugify
from dreambook.workers import usable_cpus

REPORT_NAME = "catalogue-report.json"
# The chunk store every book of a catalogue shares, under its output folder.
CHUNK_STORE = Path(".cache") / "chunks"
_CATALOGUE_KEYS = {"output", "formats", "variants", "styles", "jobs", "task_timeout"}
_BOOK_KEYS = {"path", "slug"}
_VARIANTS = ("digital", "print")


@dataclass(frozen=True)
class CatalogueBook:
    """One book of a catalogue: its manuscript folder and its output folder's name."""

    path: Path
    slug: str


@dataclass(frozen=True)
class Catalogue:
    """A catalogue file read: the books and what every book shares (paths resolved against
    the catalogue file's folder)."""

    file: Path
    output: Path
    books: tuple[CatalogueBook, ...]
    formats: tuple[str, ...] = DEFAULT_FORMATS
    variants: tuple[str, ...] = ("digital",)
    styles: Path | None = None
    jobs: int | None = None
    task_timeout: float = DEFAULT_TASK_TIMEOUT


def _invalid(path: Path, message: str, line: int | None = None) -> ManuscriptError:
    return ManuscriptError(
        [
            diagnostic(
                "DB117",
                message,
                path,
                line,
                "see the README's Catalogues section for the keys a catalogue file has",
            )
        ]
    )


def _strings(path: Path, table: Mapping[str, Any], key: str, default: Sequence[str]) -> list[str]:
    value = table.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not value:
        raise _invalid(path, f"[catalogue] {key} must be a non-empty list of strings")
    return value


def read_catalogue(path: Path) -> Catalogue:
    """Read the catalogue file ``path``.

    Raises UsageError when it cannot be read, and ManuscriptError (DB117) when it is not
    valid TOML, has an unknown key, or a value of the wrong type or form. A book whose
    folder does not exist is no error here: that book fails alone when built (DB118).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read the catalogue file {path}: {error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _invalid(path, f"the catalogue file is not valid TOML: {error}") from None
    base = path.resolve().parent
    unknown = sorted(set(data) - {"catalogue", "book"})
    if unknown:
        raise _invalid(path, f"unknown table or key {unknown[0]!r} (known: [catalogue], [[book]])")
    table = data.get("catalogue", {})
    if not isinstance(table, dict):
        raise _invalid(path, "[catalogue] must be a table")
    unknown = sorted(set(table) - _CATALOGUE_KEYS)
    if unknown:
        known = ", ".join(sorted(_CATALOGUE_KEYS))
        raise _invalid(path, f"[catalogue] has an unknown key {unknown[0]!r} (known: {known})")
    output = table.get("output", "build/catalogue")
    if not isinstance(output, str) or not output:
        raise _invalid(path, "[catalogue] output must be a folder path (a string)")
    formats = _strings(path, table, "formats", DEFAULT_FORMATS)
    try:
        writing_order(formats)
    except KeyError as name:
        raise _invalid(path, f"[catalogue] formats: no output format {name}") from None
    variants = _strings(path, table, "variants", ("digital",))
    if "all" in variants:
        variants = list(_VARIANTS)
    if any(v not in _VARIANTS for v in variants):
        raise _invalid(path, f"[catalogue] variants must be among {', '.join(_VARIANTS)}, all")
    styles = table.get("styles")
    if styles is not None and (not isinstance(styles, str) or not (base / styles).is_dir()):
        raise _invalid(path, f"[catalogue] styles must name a folder; {styles!r} is none")
    jobs = table.get("jobs")
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1):
        raise _invalid(path, "[catalogue] jobs must be a whole number of at least 1")
    timeout = table.get("task_timeout", DEFAULT_TASK_TIMEOUT)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise _invalid(path, "[catalogue] task_timeout must be a number of seconds above 0")
    entries = data.get("book", [])
    if not isinstance(entries, list) or not entries:
        raise _invalid(path, "the catalogue lists no book: add [[book]] tables with a path")
    books = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise _invalid(path, f"book {number}: every [[book]] needs a path (a string)")
        unknown = sorted(set(entry) - _BOOK_KEYS)
        if unknown:
            raise _invalid(path, f"book {number}: unknown key {unknown[0]!r} (known: path, slug)")
        folder = base / entry["path"]
        slug = entry.get("slug")
        if slug is not None and (not isinstance(slug, str) or slugify(slug) != slug or not slug):
            raise _invalid(path, f"book {number}: slug must be lower-case letters, digits, hyphens")
        books.append(CatalogueBook(folder, slug or _book_slug(folder)))
    return Catalogue(
        file=path,
        output=base / output,
        books=tuple(books),
        formats=tuple(formats),
        variants=tuple(dict.fromkeys(variants)),
        styles=(base / styles).resolve() if styles is not None else None,
        jobs=jobs,
        task_timeout=float(timeout),
    )


def _book_slug(folder: Path) -> str:
    """The name of a book's output folder: its title's slug (the name of its files), or the
    folder's name when its book.toml cannot give one."""
    if (folder / "book.toml").is_file():
        config, found = load_book_toml(folder)
        if not any(d.is_error for d in found) and slugify(config.title):
            return slugify(config.title)
    return slugify(folder.name) or "book"


@dataclass
class BookReport:
    """How one book of the catalogue went (the JSON report's entry for it)."""

    path: Path
    slug: str
    status: str = "pending"  # "ok" or "failed" once built
    pages: int = 0
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Layout tasks this build sent to the workers (0 when the chunk cache answered all),
    # and its other tasks (check and render, merge, writers: tasks.py).
    tasks: int = 0
    stage_tasks: int = 0
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The entry as JSON data."""
        return {
            "path": str(self.path),
            "slug": self.slug,
            "status": self.status,
            "pages": self.pages,
            "seconds": round(self.seconds, 3),
            "files": self.files,
            "tasks": self.tasks,
            "stage_tasks": self.stage_tasks,
            "error": self.error,
            "diagnostics": [
                {
                    "code": d.code,
                    "severity": d.severity.value,
                    "message": d.message,
                    "path": str(d.path) if d.path is not None else None,
                    "line": d.line,
                }
                for d in self.diagnostics
            ],
        }


class _Counting:
    """An Executor that counts the tasks it passes on (the report's ``tasks``) and gives
    its builds the catalogue's chunk store."""

    def __init__(self, inner: Executor, chunk_store: Path | None = None) -> None:
        self.inner = inner
        # Chunk layouts, and the other tasks (check and render, merges, writers).
        self.tasks = 0
        self.stage_tasks = 0
        self._chunk_store = chunk_store

    @property
    def workers(self) -> int:
        return self.inner.workers

    @property
    def shares_files(self) -> bool:
        return self.inner.shares_files

    @property
    def chunk_store(self) -> Path | None:
        return self._chunk_store

    @property
    def runs_stages(self) -> bool:
        return self.inner.runs_stages

    def map(
        self,
        function: Callable[..., Any],
        tasks: Sequence[Any],
        shared: Mapping[str, object] | None = None,
    ) -> Iterator[Any]:
        if _is_layout(function):
            self.tasks += len(tasks)
        else:
            self.stage_tasks += len(tasks)
        return self.inner.map(function, tasks, shared)


def _is_layout(function: Callable[..., Any]) -> bool:
    """Whether ``function`` lays out a PDF chunk (what the report's ``tasks`` counts), told
    by name: importing the PDF stack to compare would load WeasyPrint for an EPUB."""
    return (
        getattr(function, "__module__", "") == "dreambook.export.pdf.chunks"
        and getattr(function, "__name__", "") == "lay_out_chunk"
    )


class Progress:
    """The catalogue's progress line: books done and failed, pages laid out, the rate and
    an estimate of the time left. Rewritten in place on a terminal; silent when disabled."""

    def __init__(self, stream: TextIO, total: int, enabled: bool) -> None:
        self.stream = stream
        self.total = total
        self.enabled = enabled
        self.started = time.perf_counter()
        # Books are built on several threads at once (build_catalogue).
        self.lock = threading.Lock()

    def update(self, reports: Sequence[BookReport], current: str | None) -> None:
        """Redraw the line after a book started (``current``) or finished."""
        if not self.enabled:
            return
        with self.lock:
            self._draw(reports, current)

    def _draw(self, reports: Sequence[BookReport], current: str | None) -> None:
        finished = [r for r in reports if r.status != "pending"]
        failed = sum(1 for r in finished if r.status == "failed")
        pages = sum(r.pages for r in finished)
        elapsed = time.perf_counter() - self.started
        rate = pages / elapsed if elapsed > 0 else 0.0
        left = ""
        if finished and len(finished) < self.total:
            estimate = elapsed / len(finished) * (self.total - len(finished))
            left = f", about {_duration(estimate)} left"
        doing = f" - {current}" if current else ""
        line = (
            f"{len(finished)}/{self.total} books, {failed} failed, {pages} pages "
            f"({rate:.1f} pages/s){left}{doing}"
        )
        self.stream.write(f"\r\x1b[K{line}")
        self.stream.flush()

    def close(self) -> None:
        """End the progress line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


@contextlib.contextmanager
def _executor(catalogue: Catalogue, scheduler: str | None) -> Iterator[Executor]:
    """The executor every book of the catalogue uses: a Dask cluster when ``scheduler`` is
    given, else one pool of local worker processes."""
    if scheduler is not None:
        with dask_executor(
            scheduler, workers=catalogue.jobs, timeout=catalogue.task_timeout
        ) as executor:
            yield executor
        return
    specs = [spec for spec in writing_order(catalogue.formats) if spec.parallel]
    warm_ups = [f for f in map(warm_up_function, specs) if f is not None]
    jobs = catalogue.jobs or usable_cpus()
    # The books' checks, renders, merges and EPUBs go to the pool too: this process only
    # hands out work, so several books' stages run side by side instead of on its threads.
    with local_pool(jobs, warm_ups, catalogue.task_timeout, runs_stages=True) as pool:
        yield pool


def books_in_flight(workers: int, books: int) -> int:
    """How many books a catalogue builds at once on ``workers`` workers: enough that the
    workers are busy with one book's tasks while another waits for its page numbers to
    settle (two at least), never more than there are books."""
    return max(1, min(books, max(2, workers)))


def build_catalogue(
    catalogue: Catalogue,
    *,
    scheduler: str | None = None,
    progress: Progress | None = None,
    options: Options | None = None,
    executor: Executor | None = None,
    in_flight: int | None = None,
) -> list[BookReport]:
    """Build every book of ``catalogue`` into its folder under ``catalogue.output``; return
    a report per book, in the catalogue's order.

    Several books are built at once (``in_flight``, default ``books_in_flight``), each on
    its own thread of this process, all sending their layout tasks to one executor, so that
    their chunks interleave on the workers. Every book keeps its laid-out chunks in one
    store for the whole catalogue, ``OUTPUT/.cache/chunks`` (content-addressed: a chunk
    any book laid out is never laid out again while its key holds); entries no book used
    are deleted at the end when every book was built.

    A book's failure (its manuscript errors, a build error such as DB115, a folder that is
    missing, DB118, or a slug another book already has, DB119) is recorded in its report
    and the other books go on. ``executor`` (kept by the caller) replaces the one made from
    ``scheduler``. Raises UsageError when the scheduler cannot be used (Dask missing),
    OSError when the cluster cannot be reached.
    """
    base = options or Options()
    options = Options(base.strict, base.trust_html, base.limits, catalogue.styles)
    reports = [BookReport(book.path, book.slug) for book in catalogue.books]
    if scheduler is not None:
        check_scheduler(scheduler)
    show = progress or Progress(io.StringIO(), len(reports), False)
    store = catalogue.output / CHUNK_STORE
    started_at = time.time()
    # What fails before a build starts is settled here, in the catalogue's order.
    seen: dict[str, Path] = {}
    buildable: list[tuple[CatalogueBook, BookReport]] = []
    for book, report in zip(catalogue.books, reports, strict=True):
        if book.slug in seen:
            report.diagnostics.append(
                diagnostic(
                    "DB119",
                    f"the book's output folder {book.slug!r} is already that of {seen[book.slug]}",
                    hint="give one of the books its own slug in its [[book]] table",
                )
            )
        elif not book.path.is_dir():
            report.diagnostics.append(
                diagnostic(
                    "DB118",
                    f"the catalogue lists {book.path}, which is not a folder",
                    catalogue.file,
                    hint="a [[book]] path is a manuscript folder, relative to the catalogue file",
                )
            )
        else:
            seen[book.slug] = book.path
            buildable.append((book, report))
            continue
        report.status = "failed"

    def build(book: CatalogueBook, report: BookReport, executor: Executor) -> None:
        show.update(reports, book.slug)
        began = time.perf_counter()
        _build_one(catalogue, book, report, _Counting(executor, store), options)
        report.seconds = time.perf_counter() - began
        if report.status == "pending":
            report.status = "failed"
        show.update(reports, None)

    with contextlib.ExitStack() as stack:
        if executor is None:
            executor = stack.enter_context(_executor(catalogue, scheduler))
        threads = in_flight or books_in_flight(executor.workers, len(buildable))
        with concurrent.futures.ThreadPoolExecutor(
            max(1, threads), thread_name_prefix="book"
        ) as books:
            # Submitted in the catalogue's order: the first books start first.
            running = [books.submit(build, book, report, executor) for book, report in buildable]
            for future in running:
                future.result()  # _build_one records every book's error: this re-raises none
    if all(r.status == "ok" for r in reports):
        from dreambook.export.pdf.chunks import prune_store  # the PDF stack, only now

        prune_store(store, started_at - 1.0)  # a second of slack for coarse file times
    show.close()
    return reports


def _build_one(
    catalogue: Catalogue,
    book: CatalogueBook,
    report: BookReport,
    counting: _Counting,
    options: Options,
) -> None:
    try:
        result = build_book(
            book.path,
            catalogue.output / book.slug,
            catalogue.formats,
            catalogue.variants,
            options,
            executor=counting,
        )
    except (ManuscriptError, BuildError) as error:
        report.diagnostics.extend(error.diagnostics)
    except (DreambookError, OSError) as error:
        report.error = str(error)
    else:
        report.status = "ok"
        report.pages = sum(result.pages.values())
        report.files = [str(path) for path in result.files]
        report.diagnostics.extend((*result.checked.diagnostics, *result.writer_diagnostics))
    finally:
        report.tasks = counting.tasks
        report.stage_tasks = counting.stage_tasks


def write_report(reports: Sequence[BookReport], destination: Path, seconds: float) -> None:
    """Write the catalogue's JSON report to ``destination``, atomically."""
    data = {
        "books": [r.as_json() for r in reports],
        "ok": sum(1 for r in reports if r.status == "ok"),
        "failed": sum(1 for r in reports if r.status == "failed"),
        "pages": sum(r.pages for r in reports),
        "seconds": round(seconds, 3),
    }
    with atomic_output(destination) as output:
        output.write(json.dumps(data, indent=2).encode("utf-8"))


def summary_table(reports: Sequence[BookReport]) -> list[str]:
    """The summary table: one line per book (status, pages, seconds, slug)."""
    width = max((len(r.slug) for r in reports), default=4)
    lines = [f"{'book':<{width}}  {'status':<6}  {'pages':>5}  {'seconds':>7}"]
    for r in reports:
        lines.append(f"{r.slug:<{width}}  {r.status:<6}  {r.pages:>5}  {r.seconds:>7.1f}")
    return lines


def run_catalogue(
    path: Path,
    *,
    scheduler: str | None = None,
    quiet: bool = False,
    interactive: bool = False,
    report: Path | None = None,
    options: Options | None = None,
    stream: TextIO | None = None,
) -> int:
    """Build the catalogue file ``path`` and return the command's exit status: 0 when every
    book was built, 1 when any failed (or the catalogue file is invalid: DB117).

    ``stream`` (standard error by default) gets each failed book's diagnostics, the
    summary table and, when ``interactive`` and not ``quiet``, the progress line. The JSON
    report goes to ``report`` (default: ``catalogue-report.json`` in the output folder).
    Raises UsageError (exit 2) when the file cannot be read or the scheduler cannot be used.
    """
    import sys

    out = stream if stream is not None else sys.stderr
    started = time.perf_counter()
    try:
        catalogue = read_catalogue(path)
    except ManuscriptError as error:
        for d in error.diagnostics:
            print(format_diagnostic(d), file=out)
        return 1
    progress = Progress(out, len(catalogue.books), interactive and not quiet)
    reports = build_catalogue(catalogue, scheduler=scheduler, progress=progress, options=options)
    for r in reports:
        if r.status == "failed":
            print(f"{r.slug}: FAILED ({r.path})", file=out)
            for d in r.diagnostics:
                if d.is_error:
                    print(f"  {format_diagnostic(d)}", file=out)
            if r.error:
                print(f"  {r.error}", file=out)
    if not quiet:
        for line in summary_table(reports):
            print(line, file=out)
    destination = report or catalogue.output / REPORT_NAME
    write_report(reports, destination, time.perf_counter() - started)
    failed = sum(1 for r in reports if r.status == "failed")
    print(
        f"{'FAILED' if failed else 'ok'}: {len(reports) - failed} of {len(reports)} books built, "
        f"{sum(r.pages for r in reports)} pages; report: {destination}",
        file=out,
    )
    return 1 if failed else 0
