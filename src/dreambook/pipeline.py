"""The one place that orders the stages: load -> graph -> reading order -> render -> write."""

from __future__ import annotations

import concurrent.futures
import contextlib
import enum
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dreambook.diagnostics import Diagnostic, escalate, sort_key
from dreambook.errors import ManuscriptError, UsageError
from dreambook.export.variant import Variant
from dreambook.graph import (
    ChapterGraph,
    ReadingOrder,
    build_graph,
    check_order_lock,
    plan_reading_order,
)
from dreambook.manuscript import Book, Limits, load_book
from dreambook.resources import check_resources
from dreambook.sanitize import check_raw_html
from dreambook.workers import usable_cpus

# The render and export stages are imported by build_book when it runs: `check` and `order`
# never need Jinja2, Python-Markdown, lxml or EbookLib, and on a large manuscript their
# import time is a good part of the whole.
if TYPE_CHECKING:
    from dreambook.export.pagelist import PageBreak


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
    sanitising, no DB070); ``limits`` caps how much manuscript is read.
    """

    strict: bool = False
    trust_html: bool = False
    limits: Limits = field(default_factory=Limits)


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
    if any(d.code in {"DB001", "DB002"} for d in diagnostics):
        # Without a readable book.toml, "start is not set" says nothing new.
        order_diagnostics = [d for d in order_diagnostics if d.code != "DB005"]
    found = diagnostics + graph_diagnostics + order_diagnostics + check_resources(book)
    if not options.trust_html:
        for chapter in book.chapters:
            found += check_raw_html(chapter)
    found.sort(key=sort_key)
    return CheckedBook(book, graph, order, escalate(found) if options.strict else tuple(found))


class OutputFormat(enum.Enum):
    """What ``build`` can write."""

    PDF = "pdf"
    EPUB = "epub"
    HTML = "html"


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
    formats: Sequence[OutputFormat] = (OutputFormat.PDF, OutputFormat.EPUB),
    variants: Sequence[Variant] = (Variant.DIGITAL,),
    options: Options | None = None,
    progress: Progress = _quiet,
    jobs: int | None = None,
) -> BuildResult:
    """Check the manuscript, render it once, and write each asked-for format into ``output``.

    Everything is read and resolved before anything is written; ``progress`` is called
    with a short message as each stage starts. With ``jobs`` 1 each PDF variant is laid out
    as one document in this process; with more (default: the number of CPUs) in chunks of
    chapters on that many worker processes (see export/pdfchunks.py), the variants one
    after the other. Raises ManuscriptError when the check finds errors (nothing is
    written then), UsageError for a manuscript folder that does not exist,
    MissingDependencyError when an output needs a missing system library, BuildError when
    layout fails, and OSError when output cannot be written.
    """
    workers = jobs or usable_cpus()
    with contextlib.ExitStack() as stack:
        pool = None
        if OutputFormat.PDF in formats and workers > 1:
            from dreambook.export.pdfchunks import worker_pool

            # Started first, so that the workers load WeasyPrint while the manuscript is
            # checked and rendered.
            pool = stack.enter_context(worker_pool(workers, warm=True))
        return _build_book(
            manuscript, output, formats, variants, options or Options(), progress, workers, pool
        )


def _build_book(
    manuscript: Path,
    output: Path,
    formats: Sequence[OutputFormat],
    variants: Sequence[Variant],
    options: Options,
    progress: Progress,
    workers: int,
    pool: concurrent.futures.Executor | None,
) -> BuildResult:
    # Each writer is imported when its format is asked for: an EPUB-only build never loads
    # the PDF writer (lxml, pikepdf, the chunk machinery), let alone WeasyPrint.
    from dreambook.render import render_book
    from dreambook.reproducible import source_date
    from dreambook.styles import book_styles

    watch = _Stopwatch(progress)

    with watch.stage("check", f"checking {manuscript}"):
        checked = check_manuscript(manuscript, options)
    if checked.has_errors:
        raise ManuscriptError(checked.diagnostics)
    with watch.stage("render", f"rendering {len(checked.book.chapters)} chapters"):
        rendered = render_book(
            checked.book, checked.graph, checked.reading_order, trust_html=options.trust_html
        )
    styles = book_styles(manuscript, checked.book.config)
    modified = source_date(manuscript, checked.book.config)
    written: list[Path] = []
    pages: dict[Path, int] = {}
    writer_diagnostics: list[Diagnostic] = []
    page_breaks: tuple[PageBreak, ...] = ()
    # PDF first: its layout tells the EPUB where the printed pages begin.
    for output_format in sorted(set(formats), key=list(OutputFormat).index):
        if output_format is OutputFormat.HTML:
            from dreambook.export.html import build_html_preview
            from dreambook.export.site import build_site

            with watch.stage("html", "writing the HTML edition and preview"):
                destination = output / f"{rendered.slug}.html"
                written.append(build_html_preview(rendered, styles, destination))
                site = build_site(rendered, styles, manuscript, output / f"{rendered.slug}-site")
                written.append(site.folder)
        elif output_format is OutputFormat.PDF:
            from dreambook.export.pdf import build_pdf, pdf_file_name

            chosen = list(dict.fromkeys(variants))
            names = ", ".join(v.value for v in chosen)
            with watch.stage("pdf", f"laying out the PDF ({names})"):
                results = [
                    build_pdf(
                        rendered,
                        styles,
                        manuscript,
                        output / pdf_file_name(rendered, variant),
                        variant,
                        modified=modified,
                        jobs=workers,
                        pool=pool,
                    )
                    for variant in chosen
                ]
            for result in results:
                written.append(result.path)
                pages[result.path] = result.pages
                writer_diagnostics.extend(result.refused)
                page_breaks = page_breaks or result.page_breaks
        elif output_format is OutputFormat.EPUB:
            from dreambook.export.epub import build_epub

            with watch.stage("epub", "writing the EPUB"):
                destination = output / f"{rendered.slug}.epub"
                epub = build_epub(
                    rendered, styles, manuscript, destination, page_breaks, modified=modified
                )
                written.append(epub.path)
    return BuildResult(
        checked, tuple(written), tuple(dict.fromkeys(writer_diagnostics)), watch.timings, pages
    )
