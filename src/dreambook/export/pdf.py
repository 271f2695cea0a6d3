"""RenderedBook -> PDF with WeasyPrint: the printed book, with every page number resolved.

Page numbers are not left to CSS ``target-counter``: WeasyPrint's target counters and
page-counter resets disagree (front matter in roman numerals, body from arabic 1), and
target counters make it lay the book out again. Instead the book is laid out, the page
of every anchor is read from the laid-out document (``Document.pages[i].anchors``), the
numbers are written into the HTML, and the book is laid out once more; the loop ends
when a layout's pages agree with the numbers printed in it. The PDF's ``/PageLabels``
then make viewers show the same folios as the paper.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import hashlib
import importlib.metadata
import io
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import unquote, urlsplit

from lxml import html as lxml_html
from markupsafe import Markup

from dreambook.bookmap import render_svg
from dreambook.config import BookConfig, Length
from dreambook.diagnostics import Diagnostic, Severity, diagnostic
from dreambook.errors import BuildError, MissingDependencyError
from dreambook.export.pagelist import PageBreak
from dreambook.export.pdfchunks import (
    DEFAULT_CHUNK_CHARACTERS,
    Chunk,
    ChunkCache,
    ChunkJob,
    ChunkLayout,
    anchor_positions,
    chunk_key,
    global_positions,
    lay_out_chunk,
    layout_environment,
    plan_chunks,
    system_fonts_fingerprint,
)
from dreambook.export.variant import Variant
from dreambook.export.writer import BuildContext, WriterResult
from dreambook.fsutil import ConfinedFolders, atomic_output
from dreambook.isbn import parse_isbn
from dreambook.render import NextStageEntry, RenderedBook, RenderedChapter
from dreambook.styles import Styles
from dreambook.workers import worker_pool

if TYPE_CHECKING:
    import weasyprint

log = logging.getLogger(__name__)

MAX_LAYOUT_PASSES = 4
# Printed in the first layout, before any page is known: about as wide as a real number,
# so that the real numbers rarely move a line break.
_PLACEHOLDER_FOLIO = "88"


@dataclass(frozen=True)
class PdfResult:
    """What a PDF build wrote."""

    path: Path
    variant: Variant
    pages: int
    layout_passes: int
    page_breaks: tuple[PageBreak, ...] = ()
    # Resources the layout asked for and the confined loader refused (DB061 warnings).
    refused: tuple[Diagnostic, ...] = ()
    # Chunked layout: how many chunks were laid out, and how many the book has (0 and 0
    # when the book was laid out as one document).
    chunks_laid_out: int = 0
    chunks: int = 0


# --- page numbers ---------------------------------------------------------------------------------


def roman(number: int) -> str:
    """Return ``number`` (1 or more) in lower-case roman numerals."""
    numerals = (
        (1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
        (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"),
    )  # fmt: skip
    result = []
    for value, letters in numerals:
        count, number = divmod(number, value)
        result.append(letters * count)
    return "".join(result)


@dataclass(frozen=True)
class PageMap:
    """Where a layout put every anchor: the first page index on which each one appears."""

    anchor_pages: Mapping[str, int]
    body_start: int
    page_count: int
    # Per page, the anchor that starts highest on it (among anchors first seen there).
    page_tops: Mapping[int, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_document(cls, document: weasyprint.Document, first_chapter: str) -> PageMap:
        """Read the anchors of a laid-out document. ``first_chapter`` is the body's first anchor."""
        anchor_pages, page_tops = anchor_positions(document.pages)
        return cls(anchor_pages, anchor_pages.get(first_chapter, 0), len(document.pages), page_tops)

    def page_breaks(self) -> tuple[PageBreak, ...]:
        """Where each page of the body begins: the first block that starts on it.

        A page on which no block starts (one paragraph fills it) gets the next page's
        first block, marked inexact, so the breaks stay in order.
        """
        breaks: list[PageBreak] = []
        pending: list[str] = []
        for index in range(self.body_start, self.page_count):
            anchor = self.page_tops.get(index)
            if anchor is None:
                pending.append(self.folio(index))
                continue
            breaks += [PageBreak(folio, anchor, exact=False) for folio in pending]
            pending = []
            breaks.append(PageBreak(self.folio(index), anchor))
        return tuple(breaks)

    def folio(self, page_index: int) -> str:
        """The number printed on a page: roman in the front matter, arabic from the body on."""
        if page_index >= self.body_start:
            return str(page_index - self.body_start + 1)
        return roman(page_index + 1)


class PageNumbers:
    """The page-number texts a layout pass prints. Without a PageMap, placeholders."""

    def __init__(self, page_map: PageMap | None) -> None:
        self.page_map = page_map

    def page_of(self, anchor: str) -> int | None:
        """The page index of ``anchor``, or None before the first layout."""
        return None if self.page_map is None else self.page_map.anchor_pages.get(anchor)

    def folio(self, anchor: str) -> str:
        """The folio of the page on which ``anchor`` stands (placeholder before layout)."""
        page = self.page_of(anchor)
        if self.page_map is None or page is None:
            return _PLACEHOLDER_FOLIO
        return self.page_map.folio(page)

    def cross_reference(self, reference_id: str, target: str) -> str:
        """The page note printed after a cross-reference: "(p. N)", or "(this page)".

        A number pointing at the page the reader is already on helps nobody.
        """
        here, there = self.page_of(reference_id), self.page_of(target)
        if here is not None and here == there:
            return "(this page)"
        return f"(p.\u00a0{self.folio(target)})"

    def next_stage(self, entry: NextStageEntry) -> str:
        """Where a Next Stages target is, as a typesetter would say it from the item's page.

        "overleaf" when the target is on the back of the item's leaf (item on a recto, target
        on the next page), "on the facing page" when the two pages face each other in the
        open book, and "p. N" otherwise.
        """
        here, there = self.page_of(entry.ref_id), self.page_of(entry.target.anchor)
        if here is not None and there is not None:
            recto = (here % 2) == 0  # page index 0 is the first right-hand page
            if there == here + 1 and recto:
                return "overleaf"
            if (there == here + 1 and not recto) or (there == here - 1 and recto):
                return "on the facing page"
        return f"p.\u00a0{self.folio(entry.target.anchor)}"


# --- preparing chapter HTML for paged media -------------------------------------------------------


def _prepare_body(chapter: RenderedChapter, pages: PageNumbers) -> Markup:
    """Return the chapter body for print: page references after cross-references, footnotes inline.

    Cross-references get " (p. N)" after the link text. Footnotes move from the list at
    the chapter's end to the place they are called from, as ``<span class="footnote">``,
    which the stylesheet floats to the foot of the page.
    """
    root = lxml_html.fragment_fromstring(str(chapter.body), create_parent="div")
    notes = {note.get("id"): note for note in root.xpath('//div[@class="footnotes"]//li[@id]')}
    for call in root.xpath('//a[@class="footnote-ref"]'):
        note = notes.get(call.get("href", "").removeprefix("#"))
        container = call.getparent() if call.getparent().tag == "sup" else call
        if note is None:
            continue
        footnote = lxml_html.Element("span", {"class": "footnote"})
        for backref in note.xpath('.//a[@class="footnote-backref"]'):
            backref.drop_tree()
        paragraphs = note.findall("p")
        footnote.text = note.text if not paragraphs else None
        for index, paragraph in enumerate(paragraphs or []):
            if index:
                footnote.append(lxml_html.Element("br"))
            # Keep the paragraph's inline content (emphasis, links) inside the note.
            if paragraph.text:
                if len(footnote):
                    footnote[-1].tail = (footnote[-1].tail or "") + paragraph.text
                else:
                    footnote.text = (footnote.text or "") + paragraph.text
            for child in list(paragraph):
                footnote.append(child)
        if footnote.text:
            footnote.text = footnote.text.rstrip("\u00a0 ")
        if len(footnote) and footnote[-1].tail:
            footnote[-1].tail = footnote[-1].tail.rstrip("\u00a0 ")
        footnote.tail = container.tail
        container.getparent().replace(container, footnote)
    for block in root.xpath('//div[@class="footnotes"]'):
        block.drop_tree()
    for link in root.xpath('//a[@class="xref"]'):
        # Inside the link, so the number is part of what a reader taps; a no-break space
        # keeps "(p. 47)" on the line of the words it refers to. The link's id (given by
        # the render stage) lets the layout say which page it landed on.
        target = link.get("href", "").removeprefix("#")
        reference = lxml_html.Element("span", {"class": "pageref"})
        reference.text = "\u00a0" + pages.cross_reference(link.get("id", ""), target)
        link.append(reference)
    inner = "".join(lxml_html.tostring(child, encoding="unicode") for child in root)
    return Markup((root.text or "") + inner)


# --- the writer -----------------------------------------------------------------------------------


def import_weasyprint() -> Any:
    """Import WeasyPrint, turning a missing system library into a clear message."""
    try:
        import weasyprint
    except OSError as error:  # WeasyPrint raises OSError when Pango cannot be loaded
        raise MissingDependencyError(
            "WeasyPrint cannot load the Pango text-layout library, which PDF output needs "
            f"({error}). On Debian or Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0"
        ) from error
    return weasyprint


def _margins(config: BookConfig) -> dict[str, str]:
    """Mirrored margins scaled to the trim: a wider gutter (inner) than the outer margin."""
    width_ratio = config.trim_size.width.points / (6 * 72)
    height_ratio = config.trim_size.height.points / (9 * 72)

    def inches(value: float) -> str:
        return f"{value:.3f}in"

    return {
        "top": inches(0.78 * height_ratio),
        "bottom": inches(0.86 * height_ratio),
        "inner": inches(0.82 * width_ratio),
        "outer": inches(0.6 * width_ratio),
    }


def _page_css(styles: Styles, config: BookConfig, bleed: Length | None) -> str:
    template = styles.environment().get_template("page.css.j2")
    return template.render(
        trim={"width": config.trim_size.width.css, "height": config.trim_size.height.css},
        margins=_margins(config),
        bleed=bleed.css if bleed is not None else None,
    )


class ConfinedFetcher:
    """A WeasyPrint URL fetcher that serves files from the allowed folders and nothing else."""

    def __init__(self, weasyprint: Any, folders: ConfinedFolders) -> None:
        self.folders = folders
        self.refused: list[str] = []
        # Every file served, by path: the chunk cache checks they are unchanged.
        self.read: list[str] = []
        base = weasyprint.urls.URLFetcher

        class Fetcher(base):  # type: ignore[misc, valid-type]
            def fetch(inner_self, url: str, headers: Any = None) -> Any:
                if self._allowed(url):
                    self.read.append(unquote(urlsplit(url).path))
                    return super().fetch(url, headers)
                self.refused.append(url)
                raise ValueError(f"dreambook reads no resource outside the book: {url}")

        self.fetcher = Fetcher(allowed_protocols=("file",), allow_redirects=False)

    def _allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            return False
        return self.folders.allows(Path(unquote(parts.path)))


def _map_svg(book: RenderedBook, styles: Styles, pages: PageNumbers) -> Markup | None:
    """The map of the book with each chapter's page, for the front matter (``[book] map``)."""
    if book.book_map is None:
        return None
    folios = {chapter.slug: pages.folio(chapter.anchor) for chapter in book.chapters}
    svg = render_svg(book.book_map, styles, folios)
    return Markup(svg)  # rendered from our own autoescaped template


def _page_map_cache(destination: Path) -> Path:
    return destination.parent / ".cache" / f"{destination.name}.pages.json"


def _read_page_map(path: Path) -> PageMap | None:
    """The page map a previous build left, or None (missing, unreadable or malformed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return PageMap(
            {str(k): int(v) for k, v in data["anchor_pages"].items()},
            int(data["body_start"]),
            int(data["page_count"]),
            {int(k): str(v) for k, v in data["page_tops"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_page_map(path: Path, page_map: PageMap) -> None:
    data = {
        "anchor_pages": dict(page_map.anchor_pages),
        "body_start": page_map.body_start,
        "page_count": page_map.page_count,
        "page_tops": {str(k): v for k, v in page_map.page_tops.items()},
    }
    with atomic_output(path) as output:
        output.write(json.dumps(data, sort_keys=True).encode("utf-8"))


def _isbn(config: BookConfig) -> str | None:
    if config.identifier is None:
        return None
    isbn = parse_isbn(config.identifier)
    return isbn.written if isbn is not None else None


def _write_page_labels(pdf_bytes: bytes, body_start: int, destination: BinaryIO) -> None:
    """Copy the PDF, adding /PageLabels: roman for the front matter, arabic from the body's page 1."""
    import pikepdf  # imported here: an EPUB-only build needs no PDF library

    from dreambook.export.pdfmerge import page_labels

    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        pdf.Root.PageLabels = page_labels(body_start)
        pdf.save(destination, deterministic_id=True)


def _check_nothing_lost(book: RenderedBook, page_map: PageMap) -> None:
    """Fail when a chapter did not land on a page, or landed out of reading order.

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


class _BookPages:
    """Renders the print HTML of the whole book or of one chunk, for given page numbers."""

    def __init__(
        self,
        book: RenderedBook,
        styles: Styles,
        variant: Variant,
        modified: dt.datetime | None,
    ) -> None:
        self.book = book
        self.styles = styles
        self.variant = variant
        self.modified = modified
        self.template = styles.environment().get_template("print.html.j2")
        self.by_slug = {chapter.slug: chapter for chapter in book.chapters}

    def html(
        self,
        pages: PageNumbers,
        front: bool = True,
        slugs: Sequence[str] | None = None,
        chunk_end: str = "",
    ) -> str:
        """The HTML of the front matter (when ``front``) and of the chapters ``slugs`` (all when None)."""
        chapters = list(self.book.chapters) if slugs is None else [self.by_slug[s] for s in slugs]
        return self.template.render(
            book=self.book,
            front=front,
            chapters=chapters,
            chunk_end=chunk_end,
            bodies={c.slug: _prepare_body(c, pages) for c in chapters},
            pages=pages,
            variant=self.variant.value,
            isbn=_isbn(self.book.config),
            modified=self.modified,
            book_map=_map_svg(self.book, self.styles, pages) if front else None,
        )


def _refused_diagnostics(urls: Sequence[str]) -> tuple[Diagnostic, ...]:
    return tuple(
        Diagnostic(
            Severity.WARNING,
            "DB061",
            f"the PDF layout asked for {url}, which is not a file of the book; it was left out",
            None,
            None,
            "a stylesheet or trusted raw HTML refers to it; use files inside the manuscript "
            "or styles folder",
        )
        for url in dict.fromkeys(urls)
    )


def _pdf_identifier(config: BookConfig, variant: Variant) -> str:
    return hashlib.sha256(
        f"{config.identifier or config.title}/{variant.value}".encode()
    ).hexdigest()[:32]


def build_pdf(
    book: RenderedBook,
    styles: Styles,
    manuscript: Path,
    destination: Path,
    variant: Variant = Variant.DIGITAL,
    readable_folders: Sequence[Path] = (),
    modified: dt.datetime | None = None,
    jobs: int = 1,
    pool: concurrent.futures.Executor | None = None,
    chunk_characters: int = DEFAULT_CHUNK_CHARACTERS,
) -> PdfResult:
    """Lay out ``book`` and write it atomically to ``destination``; return what was written.

    With ``jobs`` 1 the book is laid out as one document in this process. With more, it is
    laid out in chunks of whole chapters (about ``chunk_characters`` of HTML each) on the
    worker processes of ``pool`` (a pool of ``jobs`` processes is made when none is given),
    laid-out chunks are kept in ``build/.cache`` for the next build, and the chunks are
    merged into one PDF.

    Raises MissingDependencyError when WeasyPrint cannot run on this machine, BuildError
    (code DB050) when the layout lost a chapter, and OSError when the file cannot be written.
    """
    if jobs > 1 and len(book.chapters) > 1:
        with contextlib.ExitStack() as stack:
            workers = pool if pool is not None else stack.enter_context(worker_pool(jobs))
            return _build_in_chunks(
                book, styles, manuscript, destination, variant, readable_folders,
                modified, workers, chunk_characters,
            )  # fmt: skip
    return _build_whole(book, styles, manuscript, destination, variant, readable_folders, modified)


def _build_whole(
    book: RenderedBook,
    styles: Styles,
    manuscript: Path,
    destination: Path,
    variant: Variant,
    readable_folders: Sequence[Path],
    modified: dt.datetime | None,
) -> PdfResult:
    """The book laid out as one document, in this process."""
    weasyprint = import_weasyprint()
    config = book.config
    bleed = config.bleed if variant is Variant.PRINT else None
    folders = ConfinedFolders([manuscript, *styles.folders, *readable_folders])
    fetcher = ConfinedFetcher(weasyprint, folders)
    stylesheet_path = styles.path("print.css")
    # @font-face rules take effect only through a FontConfiguration shared by CSS and layout.
    fonts = weasyprint.text.fonts.FontConfiguration()
    stylesheets = [
        weasyprint.CSS(
            string=_page_css(styles, config, bleed),
            base_url=stylesheet_path.parent.as_uri() + "/",
            url_fetcher=fetcher.fetcher,
            font_config=fonts,
        ),
        weasyprint.CSS(
            filename=str(stylesheet_path), url_fetcher=fetcher.fetcher, font_config=fonts
        ),
    ]
    book_pages = _BookPages(book, styles, variant, modified)
    base_url = manuscript.resolve().as_uri() + "/"
    first_chapter = book.chapters[0].anchor if book.chapters else ""

    def lay_out(pages: PageNumbers) -> Any:
        document = weasyprint.HTML(
            string=book_pages.html(pages), base_url=base_url, url_fetcher=fetcher.fetcher
        ).render(stylesheets=stylesheets, font_config=fonts, pdf_tags=variant is Variant.DIGITAL)
        return document

    # The last build's page map is the first guess: after a small edit the numbers it
    # gives are usually right already, and one layout settles them. It is only a guess:
    # the loop below keeps laying out until the pages agree with the numbers printed.
    cache = _page_map_cache(destination)
    guess = _read_page_map(cache)
    page_map = guess
    passes = 0
    while passes < MAX_LAYOUT_PASSES:
        document = lay_out(PageNumbers(page_map))
        passes += 1
        new_map = PageMap.from_document(document, first_chapter)
        settled = page_map is not None and new_map == page_map
        page_map = new_map
        if settled:
            break
    else:
        log.warning("page numbers did not settle after %d layouts", passes)
    assert page_map is not None
    _check_nothing_lost(book, page_map)
    pdf_bytes = document.write_pdf(
        pdf_identifier=_pdf_identifier(config, variant).encode(),
        pdf_variant="pdf/ua-1" if variant is Variant.DIGITAL else None,
    )
    with atomic_output(destination) as output:
        _write_page_labels(pdf_bytes, page_map.body_start, output)
    _write_page_map(cache, page_map)
    return PdfResult(
        destination,
        variant,
        page_map.page_count,
        passes,
        page_map.page_breaks(),
        _refused_diagnostics(fetcher.refused),
    )


_LINK_TARGET = re.compile(r'href="#([^"]+)"')


def _build_in_chunks(
    book: RenderedBook,
    styles: Styles,
    manuscript: Path,
    destination: Path,
    variant: Variant,
    readable_folders: Sequence[Path],
    modified: dt.datetime | None,
    pool: concurrent.futures.Executor,
    chunk_characters: int,
) -> PdfResult:
    """The book laid out in chunks on ``pool``'s workers, cached, and merged.

    The same loop as for the whole book, chunk by chunk: each pass renders every chunk's
    HTML with the page numbers known so far; a chunk is laid out again only when that HTML
    differs from the HTML its current layout was made from (and the cache has no layout of
    it). A chunk's first folio is part of its HTML, so a chunk that gains two pages moves
    every later chunk.
    """
    config = book.config
    bleed = config.bleed if variant is Variant.PRINT else None
    chunks = plan_chunks(book, chunk_characters)
    book_pages = _BookPages(book, styles, variant, modified)
    page_css = _page_css(styles, config, bleed)
    stylesheet = styles.path("print.css")
    environment = layout_environment(
        importlib.metadata.version("weasyprint"),
        system_fonts_fingerprint(),
        stylesheet.read_text(encoding="utf-8"),
    )
    folders = tuple(p.resolve() for p in (manuscript, *styles.folders, *readable_folders))
    base_url = manuscript.resolve().as_uri() + "/"
    identifier = _pdf_identifier(config, variant)
    first_chapter = book.chapters[0].anchor
    chapter_anchor = {chapter.slug: chapter.anchor for chapter in book.chapters}
    cache = ChunkCache(destination.parent / ".cache" / f"{destination.name}.chunks")
    map_cache = _page_map_cache(destination)

    def job_for(chunk: Chunk, pages: PageNumbers) -> ChunkJob:
        last = chunk.index == len(chunks) - 1
        html = book_pages.html(pages, chunk.front, chunk.slugs, "last" if last else "right")
        chunk_css = ""
        if not chunk.front:
            folio = pages.folio(chapter_anchor[chunk.slugs[0]])
            start = int(folio) if folio.isdigit() else 1
            chunk_css = f"@page :nth(1 of body) {{ counter-reset: page {start}; }}"
        return ChunkJob(
            html=html,
            page_css=page_css,
            stylesheet=stylesheet,
            chunk_css=chunk_css,
            base_url=base_url,
            folders=folders,
            tagged=variant is Variant.DIGITAL,
            identifier=identifier,
            outside_targets=tuple(sorted(set(_LINK_TARGET.findall(html)))),
            pdf_path=None,
        )

    page_map = _read_page_map(map_cache)
    current: dict[int, tuple[str, ChunkLayout]] = {}
    passes = 0
    laid_out = 0
    while True:
        pages = PageNumbers(page_map)
        # Before the first layout every number is a placeholder: lay out for positions only.
        write = page_map is not None
        todo: list[tuple[int, str, ChunkJob]] = []
        for chunk in chunks:
            job = job_for(chunk, pages)
            key = chunk_key(job, environment)
            done = current.get(chunk.index)
            if done is not None and done[0] == key and done[1].pdf_path is not None:
                continue
            if passes >= MAX_LAYOUT_PASSES and done is not None and done[1].pdf_path is not None:
                continue  # not settled, but written: keep it (warned below)
            cached = cache.get(key)
            if cached is not None:
                current[chunk.index] = (key, cached)
                continue
            if write or (done is not None and done[0] == key):
                job = dataclasses.replace(job, pdf_path=cache.pdf_path(key))
            todo.append((chunk.index, key, job))
        if not todo:
            break
        if passes >= MAX_LAYOUT_PASSES:
            log.warning("page numbers did not settle after %d layouts", passes)
        passes += 1
        laid_out += len(todo)
        started = time.perf_counter()
        layouts = list(pool.map(lay_out_chunk, [job for _, _, job in todo]))
        log.info(
            "layout pass %d: %d of %d chunks laid out (%s) in %.2f s",
            passes,
            len(todo),
            len(chunks),
            "writing" if write else "positions only",
            time.perf_counter() - started,
        )
        for (index, key, _), layout in zip(todo, layouts, strict=True):
            current[index] = (key, layout)
            if layout.pdf_path is not None:
                cache.put(key, layout)
        anchor_pages, page_tops, _, page_count = global_positions(
            chunks, {index: layout for index, (_, layout) in current.items()}
        )
        page_map = PageMap(anchor_pages, anchor_pages.get(first_chapter, 0), page_count, page_tops)
    assert page_map is not None
    _check_nothing_lost(book, page_map)
    from dreambook.export.pdfmerge import ChunkPdf, merge_chunks  # needs pikepdf: PDF only

    layouts_in_order = [current[chunk.index][1] for chunk in chunks]
    parts = []
    for layout in layouts_in_order:
        assert layout.pdf_path is not None
        parts.append(ChunkPdf(layout.pdf_path, layout.pages))
    started = time.perf_counter()
    with atomic_output(destination) as output:
        merge_chunks(parts, page_map.body_start, output, cache.folder / "fonts")
    log.info("merged %d chunks in %.2f s", len(parts), time.perf_counter() - started)
    _write_page_map(map_cache, page_map)
    cache.prune()
    refused = [url for layout in layouts_in_order for url in layout.refused]
    return PdfResult(
        destination,
        variant,
        page_map.page_count,
        passes,
        page_map.page_breaks(),
        _refused_diagnostics(refused),
        laid_out,
        len(chunks),
    )


def pdf_file_name(book: RenderedBook, variant: Variant) -> str:
    """``<book-slug>.pdf`` for the digital edition, ``<book-slug>-print.pdf`` for print."""
    suffix = "-print" if variant is Variant.PRINT else ""
    return f"{book.slug}{suffix}.pdf"


class PdfWriter:
    """The PDF editions asked for (``BuildContext.variants``), one file each."""

    def describe(self, context: BuildContext) -> str:
        return f"laying out the PDF ({', '.join(context.variants)})"

    def write(self, context: BuildContext, earlier: Mapping[str, WriterResult]) -> WriterResult:
        results = [
            build_pdf(
                context.book,
                context.styles,
                context.manuscript,
                context.output / pdf_file_name(context.book, Variant(name)),
                Variant(name),
                modified=context.identity.modified,
                jobs=context.jobs,
                pool=context.executor,
            )
            for name in context.variants
        ]
        return WriterResult(
            files=tuple(result.path for result in results),
            pages={result.path: result.pages for result in results},
            diagnostics=tuple(d for result in results for d in result.refused),
            page_breaks=next((r.page_breaks for r in results if r.page_breaks), ()),
        )
