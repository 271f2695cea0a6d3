"""The one contract between the pipeline and the writers of output formats.

The pipeline makes one :class:`BuildContext` per build (the rendered book, its styles, its
identity, the output folder and the build's options) and hands it to each asked-for
format's :class:`Writer`, which returns a :class:`WriterResult`. What a writer needs from
another (the EPUB marks the print edition's page breaks when the PDF is built in the same
run) is declared in the format's :class:`FormatSpec` and handed over as that writer's
result, never found by loop order.

``FORMATS`` is the registry: a format's name, where its writer lives (imported only when
the format is built, so an EPUB build never loads the PDF stack, only WeasyPrint to set a
missing front cover), and what it reads from
other formats. Adding a format means writing its package and adding one line here.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dreambook.diagnostics import Diagnostic
from dreambook.export.pagelist import PageBreak
from dreambook.identity import BookIdentity

# Only for annotations: the pipeline imports this module for `check` too, which must load
# no renderer (Jinja2, Python-Markdown, lxml).
if TYPE_CHECKING:
    from lxml import html as lxml_html

    from dreambook.executors import Executor
    from dreambook.render import RenderedBook, RenderedChapter
    from dreambook.styles import Styles


class ChapterTrees:
    """Each chapter's rendered body parsed into an lxml tree once per build.

    Writers that change a chapter's HTML element by element (the PDF's page references and
    footnotes, the EPUB's XHTML) ask for :meth:`body` and get their own copy of the one
    parse, so no writer turns the rendered HTML into a tree, a string and a tree again.
    """

    def __init__(self) -> None:
        self._parsed: dict[str, lxml_html.HtmlElement] = {}

    def body(self, chapter: RenderedChapter) -> lxml_html.HtmlElement:
        """A copy of ``chapter``'s body as the children of a ``<div>``, free to change."""
        parsed = self._parsed.get(chapter.slug)
        if parsed is None:
            from lxml import html as lxml_html  # only the writers that need trees load lxml

            parsed = lxml_html.fragment_fromstring(str(chapter.body), create_parent="div")
            self._parsed[chapter.slug] = parsed
        return copy.deepcopy(parsed)


@dataclass(frozen=True)
class ChunkDone:
    """One chunk of a PDF edition laid out with its PDF written, as the layout goes on.

    ``pdf`` is the chunk's own PDF (in the build's cache: read it before the callback
    returns), whose first ``pages`` pages are the book's pages ``first_page`` onwards
    (counted from 0); the pages after them are none of the book's. ``variant`` names the
    edition (``digital``, ``print``). A later pass may lay the same chunk out again.
    """

    variant: str
    pdf: Path
    first_page: int
    pages: int


@dataclass(frozen=True)
class BuildContext:
    """Everything a writer may use, made once by the pipeline before the first writer runs.

    ``variants`` names the PDF editions asked for (``digital``, ``print``); ``jobs`` is how
    many processes a writer may keep busy, and ``executor`` the workers (a local pool or a
    Dask cluster, executors.py) the pipeline has for writers that lay out in parallel
    (None: work in this process).
    ``output`` is where the writers write: the pipeline's staging folder, whose entries are
    moved into the output folder only when every writer has finished. ``cache`` is the
    folder a writer keeps data in between builds (default: ``output/.cache``).
    ``chunk_done`` (optional) is called in the build's thread each time a chunked layout
    has a chunk's PDF (the preview draws those pages while the others are laid out);
    ``chunk_characters`` (optional) is the HTML a chunk holds at most, chapters allowing
    (the preview asks for small chunks: an edit lays out less again).
    """

    book: RenderedBook
    styles: Styles
    manuscript: Path
    output: Path
    identity: BookIdentity
    variants: tuple[str, ...] = ("digital",)
    jobs: int = 1
    executor: Executor | None = None
    trees: ChapterTrees = field(default_factory=ChapterTrees, compare=False, repr=False)
    cache: Path | None = None
    chunk_done: Callable[[ChunkDone], None] | None = field(default=None, compare=False)
    chunk_characters: int | None = None

    @property
    def cache_folder(self) -> Path:
        """The folder a writer keeps data in between builds."""
        return self.cache if self.cache is not None else self.output / ".cache"


@dataclass(frozen=True)
class WriterResult:
    """What one writer made: the files (or folders) written, the pages of each PDF, the
    problems only a writer could see (as warnings), from a paged format, where each
    printed page begins (for the formats that carry print page numbers), and lines for the
    build's output (a preflight's summary)."""

    files: tuple[Path, ...]
    pages: Mapping[Path, int] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()
    page_breaks: tuple[PageBreak, ...] = ()
    summaries: tuple[str, ...] = ()
    # What laying out each PDF took, by file (layout passes, chunks laid out, CPU
    # seconds: see export/pdf/layout.py PdfEdition), for the benchmark.
    layouts: Mapping[Path, Mapping[str, float]] = field(default_factory=dict)


class Writer(Protocol):
    """One output format's writer."""

    def describe(self, context: BuildContext) -> str:
        """The progress line shown as the writer starts ("writing the EPUB")."""
        ...

    def write(self, context: BuildContext, earlier: Mapping[str, WriterResult]) -> WriterResult:
        """Write the format into ``context.output``; ``earlier`` holds the results of the
        formats named in the spec's ``reads``, when they were built in the same run.

        Raises BuildError (coded diagnostics) when output cannot be made from a clean
        manuscript, MissingDependencyError when a system library is missing, and OSError
        when output cannot be written. A failed writer leaves earlier files untouched.
        """
        ...


@dataclass(frozen=True)
class FormatSpec:
    """A registered output format.

    ``writer`` is ``"module:attribute"``: a class or function returning a Writer, imported
    only when the format is built. ``reads`` names formats whose results this one uses
    when they are built in the same run (those are written first). With ``parallel`` the
    pipeline starts its worker pool for the build, and ``warm_up`` (``"module:function"``)
    runs once on each worker as it starts. A format with ``joins`` (a format and an edition,
    such as the print cover's ``("pdf", "print")``) is also written, unasked, whenever that
    format is built in that edition. ``ahead`` (``"module:function"``) starts work the
    writer will want before the chapters are rendered: the pipeline calls it, once for all
    the formats naming it, with a BuildContext whose book has its settings and no chapters
    yet, and holds the context manager it returns until every writer has finished.
    """

    name: str
    writer: str
    reads: tuple[str, ...] = ()
    parallel: bool = False
    warm_up: str | None = None
    joins: tuple[str, str] | None = None
    ahead: str | None = None


FORMATS: dict[str, FormatSpec] = {
    spec.name: spec
    for spec in (
        FormatSpec(
            "pdf",
            "dreambook.export.pdf.writer:PdfWriter",
            parallel=True,
            warm_up="dreambook.export.pdf.weasy:warm_up",
        ),
        FormatSpec(
            "epub",
            "dreambook.export.epub.writer:EpubWriter",
            reads=("pdf",),
            ahead="dreambook.export.cover.ebook:drawn_meanwhile",
        ),
        FormatSpec(
            "html",
            "dreambook.export.html.writer:HtmlWriter",
            ahead="dreambook.export.cover.ebook:drawn_meanwhile",
        ),
        # The print cover wrap: its spine is measured from the print edition's page count.
        FormatSpec(
            "cover",
            "dreambook.export.cover.writer:CoverWriter",
            reads=("pdf",),
            joins=("pdf", "print"),
        ),
    )
}
DEFAULT_FORMATS = ("pdf", "epub")


def _attribute(reference: str) -> Any:
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def load_writer(spec: FormatSpec) -> Writer:
    """Import the format's writer and return an instance of it."""
    factory: Callable[[], Writer] = _attribute(spec.writer)
    return factory()


def ahead_function(spec: FormatSpec) -> Callable[[BuildContext], Any] | None:
    """The function that starts this format's work ahead of its writer, or None."""
    return None if spec.ahead is None else _attribute(spec.ahead)


def warm_up_function(spec: FormatSpec) -> Callable[[], None] | None:
    """The function each worker runs as it starts for this format, or None."""
    return None if spec.warm_up is None else _attribute(spec.warm_up)


def writing_order(names: Sequence[str], variants: Sequence[str] = ()) -> tuple[FormatSpec, ...]:
    """The specs of the formats ``names`` (each once), a format after those it ``reads``,
    and those that join one of them built in one of ``variants`` (see FormatSpec.joins).

    Formats otherwise keep the registry's order. Raises KeyError for a name not registered.
    """
    chosen = {name: FORMATS[name] for name in dict.fromkeys(names)}
    for spec in FORMATS.values():
        if spec.joins is not None and spec.joins[0] in chosen and spec.joins[1] in variants:
            chosen.setdefault(spec.name, spec)
    ordered: list[FormatSpec] = []

    def place(spec: FormatSpec, seen: tuple[str, ...]) -> None:
        if spec in ordered or spec.name in seen:
            return
        for needed in spec.reads:
            if needed in chosen:
                place(chosen[needed], (*seen, spec.name))
        ordered.append(spec)

    for name in FORMATS:
        if name in chosen:
            place(chosen[name], ())
    return tuple(ordered)
