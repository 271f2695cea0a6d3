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

import datetime as dt
import enum
import hashlib
import io
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import unquote, urlsplit

from lxml import html as lxml_html
from markupsafe import Markup

from dreambook.bookmap import render_svg
from dreambook.config import BookConfig, Length, is_valid_isbn
from dreambook.diagnostics import Diagnostic, Severity, diagnostic
from dreambook.errors import BuildError, MissingDependencyError
from dreambook.export.pagelist import PageBreak
from dreambook.fsutil import ConfinedFolders, atomic_output
from dreambook.render import NextStageEntry, RenderedBook, RenderedChapter
from dreambook.styles import Styles

if TYPE_CHECKING:
    import weasyprint

log = logging.getLogger(__name__)

MAX_LAYOUT_PASSES = 4
# Printed in the first layout, before any page is known: about as wide as a real number,
# so that the real numbers rarely move a line break.
_PLACEHOLDER_FOLIO = "88"


class Variant(enum.Enum):
    """The two PDF editions: on-screen reading, and the printer's file with bleed and marks."""

    DIGITAL = "digital"
    PRINT = "print"


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
        anchor_pages: dict[str, int] = {}
        tops: dict[int, tuple[float, str]] = {}
        for index, page in enumerate(document.pages):
            for anchor, position in page.anchors.items():
                if anchor in anchor_pages:
                    continue
                anchor_pages[anchor] = index
                top = float(position[1])
                if index not in tops or top < tops[index][0]:
                    tops[index] = (top, anchor)
        page_tops = {index: anchor for index, (_, anchor) in tops.items()}
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


def _import_weasyprint() -> Any:
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


class _ConfinedFetcher:
    """A WeasyPrint URL fetcher that serves files from the allowed folders and nothing else."""

    def __init__(self, weasyprint: Any, folders: ConfinedFolders) -> None:
        self.folders = folders
        self.refused: list[str] = []
        base = weasyprint.urls.URLFetcher

        class Fetcher(base):  # type: ignore[misc, valid-type]
            def fetch(inner_self, url: str, headers: Any = None) -> Any:
                if self._allowed(url):
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
    text = config.identifier.removeprefix("urn:isbn:").removeprefix("URN:ISBN:")
    return text if is_valid_isbn(text) else None


def _write_page_labels(pdf_bytes: bytes, body_start: int, destination: BinaryIO) -> None:
    """Copy the PDF, adding /PageLabels: roman for the front matter, arabic from the body's page 1."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        numbers: list[Any] = []
        if body_start > 0:
            numbers += [0, pikepdf.Dictionary(S=pikepdf.Name.r)]
        numbers += [body_start, pikepdf.Dictionary(S=pikepdf.Name.D, St=1)]
        pdf.Root.PageLabels = pikepdf.Dictionary(Nums=pikepdf.Array(numbers))
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


def build_pdf(
    book: RenderedBook,
    styles: Styles,
    manuscript: Path,
    destination: Path,
    variant: Variant = Variant.DIGITAL,
    readable_folders: Sequence[Path] = (),
    modified: dt.datetime | None = None,
) -> PdfResult:
    """Lay out ``book`` and write it atomically to ``destination``; return what was written.

    Raises MissingDependencyError when WeasyPrint cannot run on this machine, BuildError
    (code DB050) when the layout lost a chapter, and OSError when the file cannot be written.
    """
    weasyprint = _import_weasyprint()
    config = book.config
    bleed = config.bleed if variant is Variant.PRINT else None
    folders = ConfinedFolders([manuscript, *styles.folders, *readable_folders])
    fetcher = _ConfinedFetcher(weasyprint, folders)
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
    template = styles.environment().get_template("print.html.j2")
    base_url = manuscript.resolve().as_uri() + "/"
    first_chapter = book.chapters[0].anchor if book.chapters else ""

    def lay_out(pages: PageNumbers) -> Any:
        html = template.render(
            book=book,
            bodies={c.slug: _prepare_body(c, pages) for c in book.chapters},
            pages=pages,
            variant=variant.value,
            isbn=_isbn(config),
            modified=modified,
            book_map=_map_svg(book, styles, pages),
        )
        document = weasyprint.HTML(
            string=html, base_url=base_url, url_fetcher=fetcher.fetcher
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
    refused = tuple(
        Diagnostic(
            Severity.WARNING,
            "DB061",
            f"the PDF layout asked for {url}, which is not a file of the book; it was left out",
            None,
            None,
            "a stylesheet or trusted raw HTML refers to it; use files inside the manuscript "
            "or styles folder",
        )
        for url in dict.fromkeys(fetcher.refused)
    )
    identifier = hashlib.sha256(
        f"{config.identifier or config.title}/{variant.value}".encode()
    ).hexdigest()[:32]
    pdf_bytes = document.write_pdf(
        pdf_identifier=identifier.encode(),
        pdf_variant="pdf/ua-1" if variant is Variant.DIGITAL else None,
    )
    with atomic_output(destination) as output:
        _write_page_labels(pdf_bytes, page_map.body_start, output)
    _write_page_map(cache, page_map)
    return PdfResult(
        destination, variant, page_map.page_count, passes, page_map.page_breaks(), refused
    )


def pdf_file_name(book: RenderedBook, variant: Variant) -> str:
    """``<book-slug>.pdf`` for the digital edition, ``<book-slug>-print.pdf`` for print."""
    suffix = "-print" if variant is Variant.PRINT else ""
    return f"{book.slug}{suffix}.pdf"
