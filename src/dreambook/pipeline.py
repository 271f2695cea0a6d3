"""The one place that orders the stages: load -> graph -> reading order -> render -> write."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dreambook.config import BookConfig, load_book_toml
from dreambook.cover_check import check_cover
from dreambook.diagnostics import Diagnostic, escalate, sort_key
from dreambook.errors import DreambookError, ManuscriptError, OutputError, UsageError
from dreambook.export.writer import (
    DEFAULT_FORMATS,
    FORMATS,
    BuildContext,
    ChunkDone,
    FormatSpec,
    WriterResult,
    ahead_function,
    load_writer,
    warm_up_function,
    writing_order,
)
from dreambook.graph import (
    ChapterGraph,
    Placement,
    ReadingOrder,
    build_graph,
    check_order_lock,
    duplicate_titles,
    plan_reading_order,
    reachable,
)
from dreambook.identity import book_identity
from dreambook.labels import label_diagnostics
from dreambook.manuscript import Book, Chapter, Limits, load_book
from dreambook.manuscript.loader import chapter_files
from dreambook.output_folder import CACHE_FOLDER, OutputFolder, StagedOutputs
from dreambook.placeholders import CHAPTER_TEMPLATE, check_placeholders
from dreambook.resources import check_resources
from dreambook.retail import check_retail_metadata
from dreambook.sanitize import check_raw_html
from dreambook.slugs import title_key
from dreambook.styles_check import check_styles_folder
from dreambook.workers import usable_cpus

if TYPE_CHECKING:
    from dreambook.executors import Executor
    from dreambook.render import RenderedBook


@dataclass(frozen=True)
class CheckedBook:
    """A manuscript read and resolved: the book, its graph, its reading order and every diagnostic."""

    book: Book
    graph: ChapterGraph
    reading_order: ReadingOrder
    diagnostics: tuple[Diagnostic, ...]

    @property
    def has_errors(self) -> bool:
        """True when at least one diagnostic is an error."""
        return any(d.is_error for d in self.diagnostics)


@dataclass(frozen=True)
class Options:
    """How the person running dreambook wants the manuscript treated.

    ``strict`` turns warnings into errors; ``trust_html`` keeps raw HTML as written (no
    sanitising, no DB070); ``limits`` caps how much manuscript is read; ``house_styles`` is
    a styles folder searched before the book's own (a catalogue's, catalogue.py).
    """

    strict: bool = False
    trust_html: bool = False
    limits: Limits = field(default_factory=Limits)
    house_styles: Path | None = None


def check_manuscript(manuscript: Path, options: Options | None = None) -> CheckedBook:
    """Read the manuscript folder, resolve its graph, reading order and resources, and
    collect diagnostics.

    Problems in the manuscript are diagnostics, never exceptions. Raises UsageError when
    ``manuscript`` is not a folder.
    """
    options = options or Options()
    if not manuscript.is_dir():
        raise UsageError(f"{manuscript} is not a folder; give the path of a manuscript folder")
    book, diagnostics = load_book(manuscript, options.limits)
    graph, graph_diagnostics = build_graph(book)
    order, order_diagnostics = plan_reading_order(book, graph)
    order_diagnostics += check_order_lock(book, order)
    unreadable = any(
        d.code in {"DB001", "DB002"} or (d.code == "DB080" and d.path == manuscript / "book.toml")
        for d in diagnostics
    )
    if unreadable:
        # Without a readable book.toml, "start is not set" says nothing new.
        order_diagnostics = [d for d in order_diagnostics if d.code != "DB005"]
    found = diagnostics + graph_diagnostics + order_diagnostics + check_resources(book)
    found += check_styles_folder(book)
    config = book.config
    found += label_diagnostics(
        config.language, config.labels, manuscript / "book.toml", config.key_lines
    )
    unread = _unread_chapters(book, diagnostics)
    found += duplicate_titles(book, unread)
    found += check_placeholders(book, _chapter_template(book), unread)
    if not unreadable:
        # Without a readable book.toml, its missing author or language says nothing new,
        # nor does "no author to set a cover from".
        found += check_retail_metadata(book)
        found += check_cover(book)
    if not options.trust_html:
        for chapter in book.chapters:
            found += check_raw_html(chapter)
    found.sort(key=sort_key)
    found = _fold_consequences(book, graph, order, found, unread)
    return CheckedBook(book, graph, order, escalate(found) if options.strict else tuple(found))


@dataclass(frozen=True)
class CheckJob:
    """Check the manuscript folder and render the book when it has no errors."""

    manuscript: Path
    options: Options
    cache: Path


@dataclass(frozen=True)
class Checked:
    """What a check task returns: the checked book, and the rendered one (None when the
    check found errors: nothing is rendered then)."""

    checked: CheckedBook
    rendered: RenderedBook | None


def check_and_render(job: CheckJob) -> Checked:
    """Check ``job.manuscript`` and render it when it has no errors: the check and render
    as one task for an executor whose workers read this machine's files (the check reads
    the manuscript, so it never goes to a worker elsewhere). Raises as
    ``check_manuscript`` and ``render_book``."""
    from dreambook.render import render_book

    checked = check_manuscript(job.manuscript, job.options)
    if checked.has_errors:
        return Checked(checked, None)
    rendered = render_book(
        checked.book,
        checked.graph,
        checked.reading_order,
        trust_html=job.options.trust_html,
        cache=job.cache,
    )
    return Checked(checked, rendered)


# A chapter with one of these errors could not be read, or not its title: it stands in the
# book titled after its file name, and what other checks say about it may be only a result.
_UNREAD_CODES = frozenset({"DB010", "DB011", "DB012", "DB013", "DB014", "DB017", "DB081", "DB085"})


def _unread_chapters(book: Book, diagnostics: Sequence[Diagnostic]) -> dict[str, Diagnostic]:
    """Slug -> the error that kept each chapter (or its title) from being read."""
    by_path = {chapter.path: chapter.slug for chapter in book.chapters}
    unread: dict[str, Diagnostic] = {}
    for d in sorted(diagnostics, key=sort_key):
        if d.code in _UNREAD_CODES and d.is_error and d.path in by_path:
            unread.setdefault(by_path[d.path], d)
    return unread


def _chapter_template(book: Book) -> str | None:
    """The text of the book's new-chapter template (what `new` writes), None if unreadable."""
    from dreambook.styles import book_styles

    try:
        return book_styles(book.root, book.config).read_text(CHAPTER_TEMPLATE)
    except (OSError, UnicodeDecodeError, DreambookError):
        return None  # check_styles_folder reports a styles file it may not read


def _written_title(chapter: Chapter) -> str | None:
    """The ``title:`` line of a chapter whose front matter could not be read, if it has one."""
    try:
        head = chapter.path.read_bytes()[:4096].decode("utf-8", errors="replace")
    except OSError:
        return None
    for line in head.splitlines()[1:40]:
        if line.strip() == "---":
            break
        if line.startswith("title:"):
            return line.removeprefix("title:").strip().strip("'\"") or None
    return None


def _meant_chapter(item_text: str, unread: Sequence[Chapter]) -> Chapter | None:
    """The unread chapter a bare-title item that matched no title most likely names: the one
    whose written title line the item starts with, else the only one without such a line."""
    item = title_key(item_text)
    titled = {chapter.slug: _written_title(chapter) for chapter in unread}
    for chapter in unread:
        title = titled[chapter.slug]
        if title and (item == title_key(title) or item.startswith(title_key(title) + " ")):
            return chapter
    untitled = [chapter for chapter in unread if not titled[chapter.slug]]
    return untitled[0] if len(untitled) == 1 else None


def _fold_consequences(
    book: Book,
    graph: ChapterGraph,
    order: ReadingOrder,
    found: list[Diagnostic],
    unread: dict[str, Diagnostic],
) -> list[Diagnostic]:
    """Fold what only follows from a chapter that could not be read under that chapter's error.

    Followed from it: the chapter's own "unreachable" (DB040); a bare-title Next Stages item
    that matches no title (DB030) when it names that chapter (its written title line, or it
    is the only unread chapter without one); and "unreachable" for a chapter that such an
    item would have made reachable. Returns the diagnostics, root causes first, with the
    consequences in their ``follows``. Raises nothing.
    """
    if not unread:
        return found
    by_slug = {chapter.slug: chapter for chapter in book.chapters}
    by_path = {chapter.path: chapter for chapter in book.chapters}
    unread_chapters = [by_slug[slug] for slug in unread]
    folded: dict[str, list[Diagnostic]] = {slug: [] for slug in unread}
    successors = {slug: list(graph.successors(slug)) for slug in graph.chapters}
    kept: list[Diagnostic] = []
    unreachable: list[Diagnostic] = []
    for d in found:
        source = by_path.get(d.path) if d.path is not None else None
        if source is not None and d.code == "DB040":
            if source.slug in unread:
                folded[source.slug].append(d)
            else:
                unreachable.append(d)
            continue
        if source is not None and d.code == "DB030":
            item = next((i for i in source.next_stages if i.line == d.line), None)
            meant = _meant_chapter(item.text, unread_chapters) if item and not item.href else None
            if meant is not None:
                folded[meant.slug].append(d)
                successors.setdefault(source.slug, []).append(meant.slug)
                continue
        kept.append(d)
    # Chapters the folded items would have made reachable, each with the unread chapter
    # through which they would have been reached.
    start = next((e.slug for e in order.entries if e.placement is Placement.START), None)
    reached_through: dict[str, str] = {}
    if start is not None:
        before = reachable({slug: graph.successors(slug) for slug in graph.chapters}, start)
        after = reachable(successors, start)
        for slug in unread:
            if slug in after and slug not in before:
                for reached in reachable(successors, slug) - before:
                    reached_through.setdefault(reached, slug)
    for d in unreachable:
        chapter = by_path[d.path] if d.path is not None else None
        cause = reached_through.get(chapter.slug) if chapter is not None else None
        if cause is None:
            kept.append(d)
        else:
            folded[cause].append(d)
    result = [
        replace(d, follows=(*d.follows, *folded[by_path[d.path].slug]))
        if d.path in by_path and unread.get(by_path[d.path].slug) == d
        else d
        for d in kept
    ]
    result.sort(key=sort_key)
    return result


@dataclass(frozen=True)
class BuildResult:
    """A finished build: the checked book (with its warnings), the files written, and what it took."""

    checked: CheckedBook
    files: tuple[Path, ...]
    # Problems only a writer could see (a resource its loader refused), as warnings.
    writer_diagnostics: tuple[Diagnostic, ...] = ()
    # Seconds spent in each stage, in the order they ran ("check", "render", "pdf"...).
    timings: dict[str, float] = field(default_factory=dict)
    # Pages of each PDF written, by file.
    pages: dict[Path, int] = field(default_factory=dict)
    # Lines the writers had for the build's output (the print PDF's preflight summary).
    summaries: tuple[str, ...] = ()
    # What laying out each PDF took (passes, chunks, CPU seconds), by file.
    layouts: dict[Path, Mapping[str, float]] = field(default_factory=dict)


Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    """The default progress reporter: says nothing."""


class _Stopwatch:
    """Times the stages of one build and reports each as it starts."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str, message: str) -> Iterator[None]:
        self.progress(message)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started


def build_book(
    manuscript: Path,
    output: Path,
    formats: Sequence[str] = DEFAULT_FORMATS,
    variants: Sequence[str] = ("digital",),
    options: Options | None = None,
    progress: Progress = _quiet,
    jobs: int | None = None,
    *,
    scheduler: str | None = None,
    executor: Executor | None = None,
    chunk_done: Callable[[ChunkDone], None] | None = None,
    chunk_characters: int | None = None,
) -> BuildResult:
    """Check the manuscript, render it once, and write each asked-for format into ``output``.

    ``formats`` are names from the writer registry (export/writer.py), ``variants`` the PDF
    editions. Everything is read and resolved before anything is written; ``progress`` is
    called with a short message as each stage starts. With ``jobs`` 1 every writer works in
    this process; with more (default: the number of CPUs), a format that lays out in
    parallel gets a pool of that many worker processes, started before the check so that
    the workers load their libraries meanwhile. Writing waits while another build writes
    into ``output`` (saying so through ``progress``), and first removes what killed builds
    left there (output_folder.py). Raises ManuscriptError when the check finds
    errors (nothing is written then), UsageError for a manuscript folder that does not exist
    or a format that is not registered, MissingDependencyError when an output needs a
    missing system library, BuildError when a writer fails, and OutputError (naming the file)
    when output cannot be written. Every format is written into a staging folder first and
    moved into place only when all are complete, so a failed build replaces nothing.

    ``scheduler`` (``"local"`` or a Dask scheduler's address) runs the parallel work on a
    Dask cluster instead of the pool (executors.py; UsageError when Dask is not installed);
    ``executor`` is an executor the caller keeps for several builds (a catalogue's), used
    as it is. Either way the work is cut as for a pool of at least two processes.
    ``chunk_done`` is handed to the writers (BuildContext.chunk_done): called with each
    chunk of a PDF as its layout comes back; ``chunk_characters`` sets the size of the
    PDF's chunks (BuildContext.chunk_characters; default: the layout's own).
    """
    # Imported here: executors brings in asyncio, which nothing but a build needs.
    from dreambook.executors import check_scheduler, dask_executor, local_pool

    try:
        specs = writing_order(formats, variants)
    except KeyError as unknown:
        raise UsageError(f"no output format {unknown}; known: {', '.join(FORMATS)}") from None
    workers = jobs or usable_cpus()
    if executor is None and scheduler is not None:
        check_scheduler(scheduler)  # before the output folder is touched
    with contextlib.ExitStack() as stack:
        # Entered before the pool, so left after it: a failed build's workers are gone
        # before its leftovers are cleared and the folder is given up.
        folder = stack.enter_context(OutputFolder(output, progress))
        parallel = [spec for spec in specs if spec.parallel]
        if executor is None and scheduler is not None:
            executor = stack.enter_context(dask_executor(scheduler, workers=jobs))
        if executor is not None:
            workers = max(2, executor.workers)
        elif parallel and workers > 1 and not _fits_one_chunk(manuscript):
            warm_ups = [warm_up_function(spec) for spec in parallel]
            executor = stack.enter_context(
                local_pool(workers, [f for f in warm_ups if f is not None])
            )
        return _build_book(
            manuscript, output, specs, tuple(dict.fromkeys(variants)), options or Options(),
            progress, workers, executor, folder, chunk_done, chunk_characters,
        )  # fmt: skip


# Chapter files smaller than this together make a book whose PDF is laid out in the build's
# own process (export/pdf/layout.py: the front matter and one chunk of chapters, whose HTML
# is at most DEFAULT_CHUNK_CHARACTERS; Markdown grows by a third or more as HTML).
SMALL_MANUSCRIPT_BYTES = 25_000


def _fits_one_chunk(manuscript: Path) -> bool:
    """Whether the manuscript's chapter files are small enough that laying the PDF out
    needs no pool of worker processes (an estimate from their sizes, read before the
    check: the layout makes a pool itself when the rendered book turns out larger)."""
    total = 0
    with contextlib.suppress(OSError):
        for path in chapter_files(manuscript):
            total += path.lstat().st_size
            if total >= SMALL_MANUSCRIPT_BYTES:
                return False
    return total < SMALL_MANUSCRIPT_BYTES


def _build_book(
    manuscript: Path,
    output: Path,
    specs: Sequence[FormatSpec],
    variants: tuple[str, ...],
    options: Options,
    progress: Progress,
    workers: int,
    executor: Executor | None,
    folder: OutputFolder,
    chunk_done: Callable[[ChunkDone], None] | None = None,
    chunk_characters: int | None = None,
) -> BuildResult:
    # Rendering is imported when a build runs: check and order never load it.
    from dreambook.render import render_book
    from dreambook.styles import book_styles

    watch = _Stopwatch(progress)
    # Left when the build ends, however it ends: work started ahead of the writers.
    with contextlib.ExitStack() as ahead:
        # An executor that takes whole stages (a catalogue's, a cluster's) checks and renders
        # the book on a worker, when its workers read this machine's files (tasks.py).
        remote = executor is not None and executor.runs_stages
        checked_on_worker = remote and executor is not None and executor.shares_files
        if checked_on_worker and executor is not None:
            with watch.stage("check", f"checking and rendering {manuscript}"):
                job = CheckJob(manuscript, options, output / CACHE_FOLDER)
                (done,) = list(executor.map(check_and_render, [job]))
            checked = done.checked
            if checked.has_errors or done.rendered is None:
                raise ManuscriptError(checked.diagnostics, len(checked.book.chapters))
            rendered = done.rendered
        else:
            # Work the writers will want (the cover picture) needs book.toml alone: it
            # starts now, beside the check and the render.
            early = None
            if any(spec.ahead for spec in specs):
                early = _early_context(manuscript, output, options)
            # What the work ahead began (a cache in an output folder this build made) goes
            # when the manuscript has errors, once that work is stopped: no trace is left.
            made_output, refused = not output.exists(), False

            def forget_work_ahead() -> None:
                if refused and made_output:
                    _remove_if_only_cache(output)

            ahead.callback(forget_work_ahead)
            if early is not None:
                _start_ahead(ahead, specs, early)
            with watch.stage("check", f"checking {manuscript}"):
                checked = check_manuscript(manuscript, options)
            if checked.has_errors:
                refused = True
                raise ManuscriptError(checked.diagnostics, len(checked.book.chapters))
            if early is None or early.book.config != checked.book.config:
                # book.toml changed while the chapters were read (or was not read before):
                # the work ahead starts from what the check read.
                early = _ahead_context(manuscript, output, options, checked.book.config)
                _start_ahead(ahead, specs, early)
            styles, identity = early.styles, early.identity
            with watch.stage("render", f"rendering {len(checked.book.chapters)} chapters"):
                rendered = render_book(
                    checked.book, checked.graph, checked.reading_order,
                    trust_html=options.trust_html, cache=output / CACHE_FOLDER,
                )  # fmt: skip
        if checked_on_worker:
            styles = book_styles(manuscript, checked.book.config, options.house_styles)
            identity = book_identity(manuscript, checked.book.config)
        # One build writes a folder at a time: another build's cache clean-up would delete
        # this build's chunks. Waits (and says so) while another build holds it.
        folder.claim()
        # Every format is written into one staging folder and published together: a build
        # that fails part-way leaves the previous set of files, never a mix.
        staged = StagedOutputs(output)
        try:
            context = BuildContext(
                book=rendered,
                styles=styles,
                manuscript=manuscript,
                output=staged.folder,
                identity=identity,
                variants=variants,
                jobs=workers,
                executor=executor,
                cache=output / CACHE_FOLDER,
                chunk_done=chunk_done,
                chunk_characters=chunk_characters,
            )
            results: dict[str, WriterResult] = {}
            try:
                for spec in specs:
                    writer = load_writer(spec)
                    with watch.stage(spec.name, writer.describe(context)):
                        earlier = {name: results[name] for name in spec.reads if name in results}
                        if remote and executor is not None and not spec.parallel:
                            # One task on a worker, which returns the files it made.
                            from dreambook.tasks import run_writer

                            results[spec.name] = run_writer(executor, context, spec.name, earlier)
                        else:
                            results[spec.name] = writer.write(context, earlier)
                written = staged.publish([path for r in results.values() for path in r.files])
            except OSError as error:
                raise _output_error(error, staged, output) from error
        finally:
            staged.discard()
        pages = {
            staged.final_path(path): count
            for result in results.values()
            for path, count in result.pages.items()
        }
        found = [d for result in results.values() for d in result.diagnostics]
        summaries = tuple(line for result in results.values() for line in result.summaries)
        layouts = {
            staged.final_path(path): figures
            for result in results.values()
            for path, figures in result.layouts.items()
        }
        return BuildResult(
            checked, written, tuple(dict.fromkeys(found)), watch.timings, pages, summaries, layouts
        )


def _remove_if_only_cache(output: Path) -> None:
    """Remove the folder ``output`` when it holds nothing but the build cache (another build
    that began writing there meanwhile keeps it)."""
    try:
        if all(entry.name == CACHE_FOLDER for entry in output.iterdir()):
            shutil.rmtree(output)
    except OSError:
        pass  # a cache left behind costs nothing


def _early_context(manuscript: Path, output: Path, options: Options) -> BuildContext | None:
    """``_ahead_context`` from book.toml read before the check; None when book.toml has
    errors or the styles cannot be found (the check reports them)."""
    config, found = load_book_toml(manuscript)
    if any(d.is_error for d in found):
        return None
    try:
        return _ahead_context(manuscript, output, options, config)
    except (DreambookError, OSError, UnicodeDecodeError):
        return None


def _ahead_context(
    manuscript: Path, output: Path, options: Options, config: BookConfig
) -> BuildContext:
    """What the work started ahead of the writers needs: the book's settings (``config``),
    styles and identity, and no chapters."""
    from dreambook.render import early_book
    from dreambook.styles import book_styles

    return BuildContext(
        book=early_book(Book(manuscript, config, ())),
        styles=book_styles(manuscript, config, options.house_styles),
        manuscript=manuscript,
        output=output,
        identity=book_identity(manuscript, config),
        cache=output / CACHE_FOLDER,
    )


def _start_ahead(
    ahead: contextlib.ExitStack, specs: Sequence[FormatSpec], early: BuildContext
) -> None:
    """Start, held by ``ahead``, the work that the formats ``specs`` start before their
    writers (FormatSpec.ahead), each function once, with ``early`` (the book's settings,
    no chapters yet)."""
    started: set[str] = set()
    for spec in specs:
        function = ahead_function(spec)
        if function is not None and spec.ahead not in started:
            started.add(spec.ahead or "")
            ahead.enter_context(function(early))


def _output_error(error: OSError, staged: StagedOutputs, output: Path) -> OutputError:
    """The OSError of a failed write as an error naming the output it was writing."""
    path = Path(error.filename) if error.filename else output
    return OutputError(staged.final_path(path), error.strerror or str(error), output)
