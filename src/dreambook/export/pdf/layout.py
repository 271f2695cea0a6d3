"""Laying out one PDF edition until its page numbers settle, and writing it.

The loop (:func:`settle`) exists once: lay the book out with the numbers known so far,
read where every anchor landed, write those numbers in, and repeat until a layout agrees
with the numbers printed in it. How the book is laid out is a strategy (:class:`Layouts`):
:class:`WholeBook`, one document in this process, or :class:`ChunkedBook`, chunks of whole
chapters on worker processes, cached between builds and merged.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from dreambook.diagnostics import Diagnostic, diagnostic
from dreambook.errors import BuildError
from dreambook.executors import InProcess, local_pool
from dreambook.export.pagelist import PageBreak, content_key
from dreambook.export.pdf.chunks import (
    DEFAULT_CHUNK_CHARACTERS,
    Chunk,
    ChunkCache,
    ChunkJob,
    ChunkLayout,
    chunk_key,
    global_positions,
    lay_out_chunk,
    layout_environment,
    plan_chunks,
    system_fonts_fingerprint,
)
from dreambook.export.pdf.folios import (
    NumberShapes,
    PageMap,
    PageNumbers,
    estimated_page_map,
    html_per_page,
    page_map_path,
    read_page_map,
    write_page_map,
)
from dreambook.export.pdf.makeup import Fill, Space, add_space, choices, page_fill, with_fill
from dreambook.export.pdf.merge import ChunkPdf, MergeJob, label_pages, merge_chunks, merge_job
from dreambook.export.pdf.pages import PrintPages, page_css
from dreambook.export.pdf.printfile import PrintInk, finish_print_file, load_print_ink
from dreambook.export.pdf.refused import refused_diagnostics
from dreambook.export.pdf.variant import Variant
from dreambook.export.pdf.weasy import Typesetter, pdf_bytes
from dreambook.export.writer import ChunkDone
from dreambook.fsutil import ConfinedReader, FileBundle, atomic_output
from dreambook.preflight import PreflightReport, preflight

if TYPE_CHECKING:
    from dreambook.executors import Executor
    from dreambook.export.writer import BuildContext
    from dreambook.identity import BookIdentity
    from dreambook.render import RenderedBook

log = logging.getLogger(__name__)

MAX_LAYOUT_PASSES = 12

# A book planned in this many chunks or fewer (the front matter and one chunk of chapters)
# has no parallel work: it is laid out in the build's own process.
SMALL_BOOK_CHUNKS = 2


@dataclass(frozen=True)
class PdfEdition:
    """What laying out one edition wrote: the file, its pages, the layouts it took, where each
    body page begins, and the resources the layout was refused (DB061 warnings).

    ``chunks_laid_out`` and ``chunks`` count the chunks laid out by this build and those the
    book has (both 0 when it was laid out as one document). ``preflight`` is the preflight
    of the file written, for an edition made for the press (None otherwise).
    ``layout_cpu_seconds`` is the CPU time of every layout this build made (on whichever
    process made it) and ``one_layout_cpu_seconds`` that of one layout of the whole book
    (for a chunked book, each chunk's layout held; one taken from the cache counted at the
    CPU per page of those laid out): their ratio is how many times over the build laid the
    book out.
    """

    path: Path
    variant: Variant
    pages: int
    layout_passes: int
    page_breaks: tuple[PageBreak, ...] = ()
    refused: tuple[Diagnostic, ...] = ()
    chunks_laid_out: int = 0
    chunks: int = 0
    preflight: PreflightReport | None = None
    layout_cpu_seconds: float = 0.0
    one_layout_cpu_seconds: float = 0.0


@dataclass(frozen=True)
class Edition:
    """One edition of the book and what every layout of it shares."""

    book: RenderedBook
    variant: Variant
    html: PrintPages
    page_css: str
    stylesheet: Path
    folders: tuple[Path, ...]
    base_url: str
    identifier: str
    # The print edition's inks (printfile.py); None for the digital edition.
    ink: PrintInk | None = None
    chunk_done: Callable[[ChunkDone], None] | None = None  # BuildContext.chunk_done

    @classmethod
    def of(cls, context: BuildContext, variant: Variant) -> Edition:
        """The ``variant`` edition of the book ``context`` holds.

        Raises as ``load_print_ink`` for an edition made for the press.
        """
        config = context.book.config
        press = variant.traits.press
        return cls(
            book=context.book,
            variant=variant,
            html=PrintPages(context, variant),
            page_css=page_css(
                context.styles, config, config.bleed if variant.traits.bleed else None
            ),
            stylesheet=context.styles.path("print.css"),
            folders=tuple(p.resolve() for p in (context.manuscript, *context.styles.folders)),
            base_url=context.manuscript.resolve().as_uri() + "/",
            identifier=_pdf_identifier(context.identity, variant),
            ink=load_print_ink(config, context.manuscript, context.styles) if press else None,
            chunk_done=context.chunk_done,
        )

    @property
    def first_chapter(self) -> str:
        """The anchor of the body's first page (where arabic page numbers begin)."""
        return self.book.chapters[0].anchor if self.book.chapters else ""


def _pdf_identifier(identity: BookIdentity, variant: Variant) -> str:
    """The PDF's /ID: the same for every build of one edition of one book."""
    name = f"{identity.identifier or identity.title}/{variant.value}"
    return hashlib.sha256(name.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Written:
    """What a strategy's ``write`` reports: URLs its layouts were refused, chunk counts."""

    refused: tuple[str, ...]
    chunks_laid_out: int = 0
    chunks: int = 0
    # CPU seconds of every layout made, and of one layout of the book (see PdfEdition).
    cpu_seconds: float = 0.0
    one_layout_cpu_seconds: float = 0.0


Work = TypeVar("Work")


class Layouts(Protocol[Work]):
    """A way of laying out an edition: what ``settle`` drives."""

    def work_for(self, pages: PageNumbers) -> Work | None:
        """What must be laid out to print ``pages``; None when the layout held was made
        with these very numbers (the pages settled)."""
        ...

    def lay_out(self, work: Work) -> PageMap:
        """Lay out ``work``; return where every anchor of the book now stands."""
        ...

    def write(self, destination: Path, page_map: PageMap) -> Written:
        """Write the layout held as the PDF at ``destination``, atomically."""
        ...


def settle(layouts: Layouts[Any], guess: PageMap | None) -> tuple[PageMap, int]:
    """Lay out until the pages agree with the numbers printed on them (at most
    ``MAX_LAYOUT_PASSES`` layouts); return the last layout's page map and the layouts made.

    ``guess`` (the last build's page map, or None) gives the first layout's numbers: after
    a small edit they are usually right already, and one layout settles them.
    """
    page_map, passes = guess, 0
    while (work := layouts.work_for(PageNumbers(page_map))) is not None:
        if passes == MAX_LAYOUT_PASSES:
            log.warning("page numbers did not settle after %d layouts", passes)
            break
        page_map = layouts.lay_out(work)
        passes += 1
    assert page_map is not None  # nothing is held before the first layout, so one was made
    return page_map, passes


class WholeBook:
    """The book as one document, laid out in this process."""

    def __init__(self, edition: Edition, guess: PageMap | None = None) -> None:
        self.edition = edition
        self.typesetter = Typesetter(
            edition.page_css, edition.stylesheet, edition.folders, edition.ink
        )
        self.document: Any = None
        self.made_from: PageMap | None = None
        # The HTML the document held was laid out from (without fill), and the page map
        # that the first layout's numbers were guessed from (``estimated_page_map``).
        self.made_html = ""
        self.guess = guess
        self.printed: tuple[PageMap | None, str] = (None, "")
        # The space above headings that fills short pages (makeup.py), and whether the
        # document held was laid out with all of it.
        self.fill: Fill = {}
        self.filled = True
        self.cpu_seconds = 0.0
        self.last_cpu_seconds = 0.0
        # The fills laid out so far, and whether they went round in a cycle (next_fill).
        self.history: list[Fill] = []
        self.frozen = False

    def _printing(self, page_map: PageMap | None) -> str:
        """The book's HTML printing the numbers of ``page_map`` (the last one made is kept:
        a pass asks for the same twice)."""
        if self.printed[0] is not page_map or page_map is None:
            self.printed = (page_map, self.edition.html.html(PageNumbers(page_map)))
        return self.printed[1]

    def _holds(self, page_map: PageMap) -> bool:
        """Whether the document held prints the numbers of ``page_map``: made from that very
        map, or from one whose numbers read the same everywhere they are printed (the same
        HTML lays out the same pages)."""
        if self.made_from is None:
            return False
        return self.made_from == page_map or self._printing(page_map) == self.made_html

    def work_for(self, pages: PageNumbers) -> PageNumbers | None:
        """``pages`` itself, unless the document held prints these numbers and has every
        page filled."""
        settled = pages.page_map is not None and self._holds(pages.page_map)
        return None if settled and self.filled else pages

    def lay_out(self, work: PageNumbers) -> PageMap:
        """Lay the whole book out printing ``work``'s numbers, with the fill found so far;
        note the fill its short pages still want."""
        edition = self.edition
        started = time.process_time()
        html = edition.html.html(work)
        self.document = self.typesetter.render(
            with_fill(html, self.fill), edition.base_url, edition.variant.traits
        )
        self.last_cpu_seconds = time.process_time() - started
        self.cpu_seconds += self.last_cpu_seconds
        self.made_from, self.made_html = work.page_map, html
        page_map = PageMap.from_document(self.document, edition.first_chapter)
        # A layout of placeholder numbers, or of guessed ones that did not hold, is only for
        # positions: the make-up takes nothing from it. Its decisions are taken only once
        # the numbers held (see ChunkedBook); the space it adds is measured on the last
        # layout, when it is written.
        held = work.page_map is not None and self._holds(page_map)
        if work.page_map is not None and (work.page_map is not self.guess or held):
            laid_with = self.fill
            fill = choices(page_fill(self.document.pages, laid_with, decide=held))
            if not self.frozen and fill != laid_with:
                # Fills that go round in a cycle settle as a chunk's do (``next_fill``).
                fill, self.frozen = next_fill(self.history, laid_with, fill)
            elif self.frozen:
                fill = laid_with
            self.filled = fill == laid_with
            self.fill = fill
        return page_map

    def write(self, destination: Path, page_map: PageMap) -> Written:
        """Write the last document laid out, with its page labels and the space that fills
        its short pages (makeup.add_space)."""
        started = time.process_time()
        add_space(self.document, page_fill(self.document.pages, self.fill, decide=False))
        data = pdf_bytes(self.document, self.edition.identifier, self.edition.variant.traits)
        writing = time.process_time() - started
        with atomic_output(destination) as output:
            label_pages(data, page_map.body_start, output)
        return Written(
            tuple(self.typesetter.fetcher.refused),
            cpu_seconds=self.cpu_seconds + writing,
            one_layout_cpu_seconds=self.last_cpu_seconds + writing,
        )


_LINK_TARGET = re.compile(r'href="#([^"]+)"')
# Where a chunked build keeps each chunk's last fill (ChunkedBook.seed), in its cache folder.
SEED_FILE = "final.fill"


def _read_seed(path: Path) -> tuple[dict[str, Fill], frozenset[str]]:
    """The fills ``_write_seed`` kept, by key, and the keys of those that were settled by
    ending a cycle; none when the file is missing or damaged."""
    try:
        data = json.loads(path.read_text("utf-8"))
        fills = {
            str(key): {
                str(name): Space(float(v["base"]), float(v["extra"])) for name, v in fill.items()
            }
            for key, fill in data["fills"].items()
        }
        return fills, frozenset(str(key) for key in data["frozen"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}, frozenset()


def _write_seed(path: Path, seed: Mapping[str, Fill], frozen: Sequence[str]) -> None:
    """Keep ``seed`` and the ``frozen`` keys for the next build (a cache: a failure to
    write it is not an error)."""
    data = {
        "fills": {
            key: {name: {"base": s.base, "extra": s.extra} for name, s in sorted(fill.items())}
            for key, fill in sorted(seed.items())
        },
        "frozen": sorted(frozen),
    }
    with contextlib.suppress(OSError), atomic_output(path) as output:
        output.write(json.dumps(data, sort_keys=True).encode("utf-8"))


def next_fill(seen: list[Fill], current: Fill, wanted: Fill) -> tuple[Fill, bool]:
    """The fill a chunk laid out with ``current`` (after ``seen``, oldest first) takes
    next when its pages want ``wanted``, and whether that ends a cycle: when ``wanted`` is
    in ``seen`` the fills from it to ``current`` repeat for ever, and the one with the
    fewest settings (then the first in a fixed order) is kept. Appends ``current`` to
    ``seen`` otherwise."""
    if wanted in seen:
        cycle = [*seen[seen.index(wanted) :], current]
        chosen: Fill = min(cycle, key=_canonical)
        return dict(chosen), True
    seen.append(dict(current))
    return dict(wanted), False


def _canonical(fill: Fill) -> tuple[int, str]:
    """An order on fills that depends on nothing but the fills: fewest settings first."""
    return len(fill), json.dumps({k: [v.base, v.extra] for k, v in fill.items()}, sort_keys=True)


@dataclass(frozen=True)
class _Pending:
    """A chunk whose layout does not print the numbers asked for, and the hash of its HTML
    with the numbers in their shapes (``NumberShapes``)."""

    index: int
    key: str
    job: ChunkJob
    shape: str


class ChunkedBook:
    """The book in chunks of whole chapters (about ``chunk_characters`` of HTML each), laid
    out on ``pool``'s workers (any executor, executors.py) and kept in ``build/.cache`` for
    the next build: the workers send back bytes, and only this process writes files.

    A chunk is laid out again only when the HTML it would print differs from the HTML its
    layout was made from, and the cache has no layout of that HTML. A chunk's first folio
    is part of its HTML, so a chunk that gains two pages moves every later chunk.
    """

    def __init__(
        self,
        edition: Edition,
        destination: Path,
        cache: Path,
        pool: Executor,
        chunk_characters: int,
        guess: PageMap | None = None,
    ) -> None:
        self.edition = edition
        # The page map the first layout's numbers were guessed from (estimated_page_map).
        self.guess = guess
        self.pool = pool
        self.chunks = plan_chunks(edition.book, chunk_characters)
        self.cache = ChunkCache(cache / f"{destination.name}.chunks", pool.chunk_store)
        self.environment = layout_environment(
            importlib.metadata.version("weasyprint"),
            system_fonts_fingerprint(),
            ConfinedReader(list(edition.folders)).read_text(edition.stylesheet),
        )
        self.chapter_anchor = {chapter.slug: chapter.anchor for chapter in edition.book.chapters}
        # Each chunk's layout held, with the key of the HTML it was made from.
        self.current: dict[int, tuple[str, ChunkLayout]] = {}
        # Each chunk's space above headings that fills its short pages (makeup.py).
        self.fills: dict[int, Fill] = {}
        # The page numbers the pending layouts print (None: placeholders).
        self.numbers: PageMap | None = None
        # The fill each chunk ended with in the last build, by the key of its HTML without
        # it: a chunk that prints the same again starts from there, so an unchanged rebuild
        # finds every layout in the cache (one that changed starts from none, as a clean
        # build does).
        self.seed_path = self.cache.folder / SEED_FILE
        self.seed, self.seed_frozen = _read_seed(self.seed_path)
        # The fills each chunk was laid out with in this build, and the chunks whose fill
        # went round in a cycle and was settled (``_settle_fill``).
        self.history: dict[int, list[Fill]] = {}
        self.frozen: set[int] = set()
        # The chunks started from their seed, with the key it was found by.
        self.seeded: dict[int, str] = {}
        # Each chunk's HTML without fill, with the page map it prints (``_html``), for
        # the numbers and for their shapes.
        self.html_made: dict[tuple[int, type], tuple[PageMap | None, str]] = {}
        # The shape (``_shape``) and the fill of each chunk's layout held.
        self.shapes: dict[int, str] = {}
        self.laid_fill: dict[int, Fill] = {}
        self.laid_out = 0
        # Layouts made (``settle``'s passes), and the CPU seconds they took.
        self.passes = 0
        self.cpu_seconds = 0.0
        # The folders' files for workers that share no file system (made when first needed).
        self.bundles: tuple[FileBundle, ...] | None = None

    def _job(
        self, chunk: Chunk, pages: PageNumbers, fill: Fill | None = None, *, final: bool = True
    ) -> ChunkJob:
        """The job that lays ``chunk`` out printing ``pages`` with ``fill`` (default: the
        fill found so far, or on the chunk's first layout with real numbers its seed)."""
        if fill is None:
            fill = self.fills.get(chunk.index)
            bare = None
            if pages.page_map is not None and (fill is None or chunk.index in self.seeded):
                bare = chunk_key(self._job(chunk, pages, {}), self.environment)
            if fill is None:
                fill = {}
                if bare is not None and bare in self.seed:
                    fill = choices(self.seed[bare])
                    self.seeded[chunk.index] = bare
                    if bare in self.seed_frozen:
                        self.frozen.add(chunk.index)
                    self.fills[chunk.index] = fill
            elif bare is not None and bare != self.seeded[chunk.index]:
                # Its numbers moved: the last build's choices were made for other pages,
                # so the chunk starts again from no fill, as in a clean build.
                del self.seeded[chunk.index]
                self.frozen.discard(chunk.index)
                self.history.pop(chunk.index, None)
                fill = self.fills[chunk.index] = {}
        edition = self.edition
        html = with_fill(self._html(chunk, pages), fill)
        chunk_css = ""
        if not chunk.front:
            folio = pages.folio(self.chapter_anchor[chunk.slugs[0]])
            start = int(folio) if folio.isdigit() else 1
            chunk_css = f"@page :nth(1 of body) {{ counter-reset: page {start}; }}"
        return ChunkJob(
            html=html,
            page_css=edition.page_css,
            stylesheet=edition.stylesheet,
            chunk_css=chunk_css,
            base_url=edition.base_url,
            folders=edition.folders,
            variant=edition.variant,
            identifier=edition.identifier,
            outside_targets=tuple(sorted(set(_LINK_TARGET.findall(html)))),
            write_pdf=pages.page_map is not None,
            ink=edition.ink,
            fill=fill,
            skip_pdf_when_refilled=not final and chunk.index not in self.frozen,
        )

    def _html(self, chunk: Chunk, pages: PageNumbers) -> str:
        """The chunk's HTML printing ``pages``, without fill: made once per page map (a
        pass asks for it up to three times, and the front matter draws the map)."""
        made = self.html_made.get((chunk.index, type(pages)))
        if made is not None and made[0] is pages.page_map:
            return made[1]
        last = chunk.index == len(self.chunks) - 1
        html = self.edition.html.html(pages, chunk.front, chunk.slugs, "last" if last else "right")
        self.html_made[chunk.index, type(pages)] = (pages.page_map, html)
        return html

    def _shape(self, chunk: Chunk, page_map: PageMap | None, fill: Fill) -> str:
        """A hash of the chunk's HTML with the fill ``fill`` and the numbers of ``page_map``
        in their shapes: two layouts with the same shape have the same pages."""
        html = with_fill(self._html(chunk, NumberShapes(page_map)), fill)
        return hashlib.sha256(html.encode("utf-8")).hexdigest()

    def _shape_held(self, chunk: Chunk, page_map: PageMap) -> bool:
        """Whether the chunk's layout held has the pages it would have printing the numbers
        of ``page_map``: they differ from those it prints in digits alone."""
        return (
            chunk.index in self.shapes
            and self._shape(chunk, page_map, self.laid_fill[chunk.index])
            == self.shapes[chunk.index]
        )

    def work_for(self, pages: PageNumbers) -> list[_Pending] | None:
        """The chunks whose layout held does not print ``pages`` (or has no PDF yet)."""
        # With no numbers at all (no guess) the job is for positions only (``write_pdf``
        # False, which the key leaves out: the chunk is the same). A chunk whose make-up
        # decisions will differ from its fill makes no PDF (ChunkJob): the chunk is laid
        # out again. In the last layout allowed, for a chunk whose fill is settled, and for
        # a chunk whose layout held lacks only its PDF, every chunk makes one.
        self.numbers = pages.page_map
        pending = [self._pending(chunk, pages) for chunk in self.chunks]
        return [item for item in pending if item is not None] or None

    def _pending(self, chunk: Chunk, pages: PageNumbers) -> _Pending | None:
        """The chunk's work to print ``pages``, or None when the layout held does."""
        job = self._job(chunk, pages, final=self.passes + 1 >= MAX_LAYOUT_PASSES)
        key = chunk_key(job, self.environment)
        held = self.current.get(chunk.index)
        if held is not None and held[0] == key:
            if held[1].pdf_path is not None:
                return None
            job = dataclasses.replace(job, skip_pdf_when_refilled=False)
        shape = self._shape(chunk, pages.page_map, job.fill)
        return _Pending(chunk.index, key, job, shape)

    def lay_out(self, work: list[_Pending]) -> PageMap:
        """Take the pending chunks from the cache, or lay them out on the workers."""
        self.passes += 1
        asked = work
        if self.passes == 1 and self.guess is not None and self.numbers is self.guess:
            work = self._first_wave(work)
        self._take(work)
        anchor_pages, page_tops, _, page_count = global_positions(
            self.chunks, {index: layout for index, (_, layout) in self.current.items()}
        )
        first_page = anchor_pages.get(self.edition.first_chapter, 0)
        page_map = PageMap(anchor_pages, first_page, page_count, page_tops)
        # The make-up's decisions are taken only from a chunk's layout whose numbers held,
        # or that would have its very pages with the numbers it should print (they differ
        # in digits alone): a rebuild and a clean build reach the same ones. A chunk is
        # judged on its own: its pages depend on its HTML alone, so another chunk's numbers
        # still moving (its pages' digits) need not hold its decisions back a layout.
        # (A first wave leaves the rest printing other numbers than ``self.numbers``.)
        every = page_map == self.numbers and work is asked
        laid = {item.index for item in work}
        for chunk in self.chunks:
            index = chunk.index
            if self.numbers is None or index in self.frozen or index not in self.current:
                continue
            layout = self.current[index][1]
            held = every or self._shape_held(chunk, page_map)
            # A chunk whose pages want another fill is laid out again with it (work_for
            # sees its HTML change); a fill only uses space its pages left empty. A chunk
            # whose numbers held (laid out now or before) takes its decisions.
            if not (held or index in laid):
                continue
            wanted = layout.decided if held else layout.fill
            if wanted != self.fills.get(index, {}):
                self._settle_fill(index, wanted)
        return page_map

    def _take(self, work: Sequence[_Pending]) -> None:
        """Take the chunks of ``work`` from the cache, or lay them out on the workers."""
        todo = []
        for item in work:
            self.shapes[item.index] = item.shape
            self.laid_fill[item.index] = item.job.fill
            cached = self.cache.get(item.key)
            if cached is None:
                todo.append(item)
            else:
                self.current[item.index] = (item.key, cached)
        if todo:
            self._lay_out_on_workers(todo)

    def _first_wave(self, work: list[_Pending]) -> list[_Pending]:
        """In a cold build's first layout, lay out the first chunks of chapters (one for
        each worker) alone, then guess the other chunks' numbers again from the pages they
        took, and return the work left.

        The first guess counts a fixed number of characters of HTML a page; a design that
        sets more or less on a page moves the later chapters' numbers by as many pages as
        the book is long, and a chunk whose numbers come out with other digits than the
        right ones is laid out again with no decision taken. With the pages of the first
        chunks measured, the guess usually has every number's digits right, and the
        make-up takes its decisions in the first layout. Nothing is done for a book of
        fewer than three chunks a worker (the workers would wait for the first few).
        """
        wave = max(1, self.pool.workers)
        first = [item for item in work if not self.chunks[item.index].front][:wave]
        if len(work) < 3 * wave or [item.index for item in first] != list(range(1, wave + 1)):
            return work
        self._take(first)
        chunks = [self.chunks[item.index] for item in first]
        layouts = {chunk.index: self.current[chunk.index][1] for chunk in chunks}
        anchors, _, _, pages = global_positions(chunks, layouts)
        book = self.edition.book
        chapters = [chapter for chapter in book.chapters if chapter.anchor in anchors]
        recto = book.config.chapter_start == "recto"
        measured = html_per_page(chapters, pages, recto)
        guess = estimated_page_map(book.chapters, recto, measured, (anchors, pages))
        done = {item.index for item in first}
        rest = (self.chunks[item.index] for item in work if item.index not in done)
        return [item for chunk in rest if (item := self._pending(chunk, PageNumbers(guess)))]

    def _settle_fill(self, index: int, wanted: Fill) -> None:
        """Give chunk ``index`` the fill ``wanted``, unless the chunk was laid out with it
        before in this build: then its fills go round in a cycle (a box kept with its text
        leaves a page that lets it go again, and back), and the chunk keeps the cycle's
        fill with the fewest settings for good. The choice depends on the
        cycle only, so a rebuild that meets it makes the same one."""
        seen = self.history.setdefault(index, [])
        fill, settled = next_fill(seen, self.fills.get(index, {}), wanted)
        self.fills[index] = fill
        if settled:
            self.frozen.add(index)
            log.info("chunk %d: the make-up went round in a cycle; kept one fill", index)

    def _lay_out_on_workers(self, todo: Sequence[_Pending]) -> None:
        started = time.perf_counter()
        # Workers on other machines read nothing from this one: each task gets the bundles
        # of the folders it may read (sent to the workers once per bundle, executors.py).
        if self.pool.shares_files:
            shared: dict[str, object] = {}
        else:
            if self.bundles is None:
                self.bundles = tuple(
                    FileBundle(folder, self.edition.folders) for folder in self.edition.folders
                )
            shared = {"files": self.bundles}
        results = self.pool.map(lay_out_chunk, [item.job for item in todo], shared)
        # Each chunk goes into the cache as it comes back, while later chunks are laid out:
        # a build stopped part-way keeps the chunks it finished.
        for item, result in zip(todo, results, strict=True):
            layout = result.layout
            if result.pdf is not None:
                layout = self.cache.put(item.key, result)
            self.current[item.index] = (item.key, layout)
            self.cpu_seconds += layout.cpu_seconds
            before = [self.current.get(chunk.index) for chunk in self.chunks[: item.index]]
            if self.edition.chunk_done and layout.pdf_path and all(before):
                first = sum(held[1].pages for held in before if held)
                done = ChunkDone(self.edition.variant.value, layout.pdf_path, first, layout.pages)
                self.edition.chunk_done(done)
        log.info(
            "%d of %d chunks laid out (%s) in %.2f s",
            len(todo),
            len(self.chunks),
            "writing" if todo[0].job.write_pdf else "positions only",
            time.perf_counter() - started,
        )
        self.laid_out += len(todo)

    def write(self, destination: Path, page_map: PageMap) -> Written:
        """Merge the chunks' PDFs into the book; drop cache entries this build did not use."""
        layouts = [self.current[chunk.index][1] for chunk in self.chunks]
        parts = []
        for layout in layouts:
            # A layout that made no PDF (it printed placeholders, or its make-up wanted
            # another fill) is never the last: ``work_for`` asks for the chunk again.
            assert layout.pdf_path is not None
            parts.append(ChunkPdf(layout.pdf_path, layout.pages))
        started = time.perf_counter()
        fonts = self.cache.folder / "fonts"
        if self.pool.runs_stages:
            # The merge is one more task: the command's process only writes the bytes.
            job = MergeJob(tuple(parts), page_map.body_start, None, fonts)
            if not self.pool.shares_files:
                data = tuple(part.path.read_bytes() for part in parts)
                job = MergeJob(tuple(parts), page_map.body_start, data)
            (merged,) = list(self.pool.map(merge_job, [job]))
            with atomic_output(destination) as output:
                output.write(merged)
        else:
            with atomic_output(destination) as output:
                merge_chunks(parts, page_map.body_start, output, fonts)
        log.info("merged %d chunks in %.2f s", len(parts), time.perf_counter() - started)
        self.cache.prune()
        bare = {
            chunk.index: chunk_key(self._job(chunk, PageNumbers(page_map), {}), self.environment)
            for chunk in self.chunks
        }
        seed = {bare[chunk.index]: self.fills.get(chunk.index, {}) for chunk in self.chunks}
        _write_seed(self.seed_path, seed, [bare[index] for index in self.frozen])
        refused = tuple(url for layout in layouts for url in layout.refused)
        return Written(
            refused,
            self.laid_out,
            len(self.chunks),
            self.cpu_seconds,
            _one_layout_cpu(layouts),
        )


def _one_layout_cpu(layouts: Sequence[ChunkLayout]) -> float:
    """The CPU seconds of one layout of every chunk: those laid out in this build as they
    took, those taken from the cache (whose time is not kept) at the same CPU per page."""
    timed = [layout for layout in layouts if layout.cpu_seconds > 0]
    pages = sum(layout.pages for layout in timed)
    if not timed or not pages:
        return 0.0
    seconds = sum(layout.cpu_seconds for layout in timed)
    return seconds * sum(layout.pages for layout in layouts) / pages


def check_nothing_lost(book: RenderedBook, page_map: PageMap) -> None:
    """Raise BuildError (DB050) when a chapter did not land on a page, or landed out of
    reading order.

    WeasyPrint has been seen to stop laying out a long document early without an error;
    this makes such a loss a coded build error instead of a silently short book.
    """
    previous = -1
    for chapter in book.chapters:
        page = page_map.anchor_pages.get(chapter.anchor)
        if page is None or page < previous:
            problem = "is missing from" if page is None else "is out of order in"
            raise BuildError(
                [
                    diagnostic(
                        "DB050",
                        f"the chapter {chapter.slug!r} {problem} the laid-out PDF "
                        f"({page_map.page_count} pages were made)",
                        None,
                        None,
                        "this is a layout failure, not a manuscript error: please report it "
                        "with the manuscript",
                    )
                ]
            )
        previous = page


def _finish(
    layouts: Layouts[Any],
    edition: Edition,
    destination: Path,
    cache: Path,
    content: str,
    guess: PageMap | None = None,
) -> PdfEdition:
    """Settle ``layouts``, check that no chapter was lost, write the PDF, and keep its page
    map in ``cache`` with the ``content`` key of what was laid out. The first layout prints
    the numbers of the page map an earlier build kept, or else of ``guess``."""
    map_path = page_map_path(cache, destination)
    page_map, passes = settle(layouts, read_page_map(map_path) or guess)
    check_nothing_lost(edition.book, page_map)
    written = layouts.write(destination, page_map)
    write_page_map(map_path, page_map, content)
    pages, report = page_map.page_count, None
    if edition.variant.traits.press:
        config = edition.book.config
        profile = edition.ink.profile if edition.ink is not None else None
        pages = finish_print_file(destination, config, profile)
        report = preflight(destination, config.bleed.points)
    return PdfEdition(
        destination,
        edition.variant,
        pages,
        passes,
        page_map.page_breaks(),
        refused_diagnostics(
            written.refused, edition.book, edition.base_url, edition.stylesheet, edition.folders
        ),
        written.chunks_laid_out,
        written.chunks,
        report,
        written.cpu_seconds,
        written.one_layout_cpu_seconds,
    )


def build_edition(
    context: BuildContext,
    variant: Variant,
    destination: Path,
    *,
    chunk_characters: int = DEFAULT_CHUNK_CHARACTERS,
) -> PdfEdition:
    """Lay out the ``variant`` edition of ``context.book`` and write it atomically to
    ``destination``; return what was written.

    With ``context.jobs`` 1 (or a single chapter) the book is laid out as one document in
    this process. With more, it is laid out in chunks of whole chapters (about
    ``chunk_characters`` of HTML each) on ``context.executor`` (when it is None: in this
    process for a book of one chunk of chapters, else on a pool of ``jobs`` processes made
    here), and the chunks are merged into one PDF.

    Raises MissingDependencyError when WeasyPrint cannot run on this machine, BuildError
    (code DB050) when the layout lost a chapter, and OSError when the file cannot be written.
    """
    edition = Edition.of(context, variant)
    content = content_key(context.book, context.styles)
    # Without an earlier build's page map, the first layout prints guessed numbers (a
    # book whose only number is its first chapter's folio settles in that layout).
    recto = context.book.config.chapter_start == "recto"
    guess = estimated_page_map(context.book.chapters, recto)
    if context.jobs <= 1 or len(context.book.chapters) < 2:
        whole = WholeBook(edition, guess)
        return _finish(whole, edition, destination, context.cache_folder, content, guess)
    with contextlib.ExitStack() as stack:
        pool = context.executor
        chunk_characters = context.chunk_characters or chunk_characters
        if pool is None and len(plan_chunks(context.book, chunk_characters)) <= SMALL_BOOK_CHUNKS:
            # No parallel work: the front matter and one chunk of chapters are laid out
            # here, by the function a worker would run (the same bytes, no start-up).
            pool = InProcess()
        elif pool is None:
            pool = stack.enter_context(local_pool(context.jobs))
        cache = context.cache_folder
        chunked = ChunkedBook(edition, destination, cache, pool, chunk_characters, guess)
        return _finish(chunked, edition, destination, cache, content, guess)
