"""Page numbers: where a layout put every anchor (:class:`PageMap`), the numbers a layout
pass prints from it (:class:`PageNumbers`), and the page map a build leaves for the next.

Nothing here lays anything out; a laid-out document is read only through its pages'
``anchors``.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreambook.export.pagelist import PageBreak
from dreambook.fsutil import atomic_output
from dreambook.labels import ENGLISH, Labels

if TYPE_CHECKING:
    from dreambook.render import NextStageEntry, RenderedChapter

log = logging.getLogger(__name__)

# Printed in the first layout, before any page is known: about as wide as a real number,
# so that the real numbers rarely move a line break.
_PLACEHOLDER_FOLIO = "88"

# More pages than any book has: a page map that claims more is damaged.
_MOST_PAGES = 1_000_000


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


# Ids that only the print HTML has (for the layout's own use, see makeup.py): never where a
# page begins for the EPUB's page list, which has no such elements.
PRINT_ONLY_IDS = ("--section", "--next-stages", "--next-stages-heading")


def anchor_positions(pages: Sequence[Any]) -> tuple[dict[str, int], dict[int, str]]:
    """Where anchors landed in laid-out WeasyPrint pages.

    Returns the index of the first page each anchor appears on, and for each page the anchor
    (among those first seen there) that stands highest on it.
    """
    anchor_pages: dict[str, int] = {}
    tops: dict[int, tuple[float, str]] = {}
    for index, page in enumerate(pages):
        for anchor, position in page.anchors.items():
            if anchor in anchor_pages or anchor.endswith(PRINT_ONLY_IDS):
                continue
            anchor_pages[anchor] = index
            top = float(position[1])
            if index not in tops or top < tops[index][0]:
                tops[index] = (top, anchor)
    return anchor_pages, {index: anchor for index, (_, anchor) in tops.items()}


@dataclass(frozen=True)
class PageMap:
    """Where a layout put every anchor: the first page index on which each one appears."""

    anchor_pages: Mapping[str, int]
    body_start: int
    page_count: int
    # Per page, the anchor that starts highest on it (among anchors first seen there).
    page_tops: Mapping[int, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_document(cls, document: Any, first_chapter: str) -> PageMap:
        """Read the anchors of a laid-out ``weasyprint.Document``; ``first_chapter`` is the
        body's first anchor (where arabic numbers begin)."""
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


# About this much of a chapter's HTML fills a page of the default design (the sample book
# sets some 1,560 characters a page, the benchmark's plainer book 2,100): only for guessing
# where chapters begin before any layout (``estimated_page_map``).
_HTML_PER_PAGE = 1800


def estimated_page_map(
    chapters: Sequence[RenderedChapter],
    recto: bool,
    html_per_page: float = _HTML_PER_PAGE,
    laid: tuple[Mapping[str, int], int] | None = None,
) -> PageMap:
    """A guess at where every anchor stands, for a first layout that has no page map of an
    earlier build: the first chapter on the body's first page (its folio, 1, is always
    right), each later one after its predecessor's share of pages at ``html_per_page``
    characters of HTML a page, on a right-hand page when chapters open on one (``recto``),
    and every anchor inside a chapter at its share of the chapter's pages.

    ``laid`` holds where the anchors of the book's first chapters landed in a layout (their
    pages counted from the body's first) and the page after them: those stand as laid out,
    and the guess goes on from there.

    A book whose only page numbers are where its first chapter begins (one chapter, or a
    contents page of one) prints its final numbers in that first layout; in a longer book
    most guessed numbers have the digits of the right ones, so that layout has the pages
    the right numbers give (``NumberShapes``) and the make-up can take its decisions there.
    """
    anchors: dict[str, int] = dict(laid[0]) if laid is not None else {}
    page = laid[1] if laid is not None else 0
    for chapter in chapters:
        if chapter.anchor in anchors:
            continue
        if recto and page % 2:
            page += 1
        body = str(chapter.body)
        pages = max(1, math.ceil(len(body) / html_per_page))
        for found in _ID.finditer(body):
            share = min(int(found.start() / html_per_page), pages - 1)
            anchors.setdefault(found.group(1), page + share)
        anchors[chapter.anchor] = page
        page += pages
    return PageMap(anchors, 0, max(page, 1))


def html_per_page(chapters: Sequence[RenderedChapter], pages: int, recto: bool) -> float:
    """The characters of HTML a page with which ``estimated_page_map`` gives ``chapters``
    (the book's first) the ``pages`` pages they took: the middle of the range that does, or
    where the count steps over ``pages`` (between a third and three times
    ``_HTML_PER_PAGE``)."""

    def span(per_page: float) -> int:
        guess = estimated_page_map(chapters, recto, per_page)
        return guess.page_count + (guess.page_count % 2 if recto else 0)

    def first_where(holds: Callable[[float], bool]) -> float:
        """The least characters a page (within the range) for which ``holds``, which
        holds for every larger count once it holds for one."""
        low, high = _HTML_PER_PAGE / 3, _HTML_PER_PAGE * 3.0
        if holds(low) or not holds(high):
            return low if holds(low) else high
        for _ in range(40):
            middle = (low + high) / 2
            low, high = (low, middle) if holds(middle) else (middle, high)
        return high

    # ``span`` falls as a page holds more: from ``start`` on it gives ``pages`` or fewer,
    # from ``end`` on fewer.
    start = first_where(lambda per_page: span(per_page) <= pages)
    end = first_where(lambda per_page: span(per_page) < pages)
    return (start + end) / 2 if span(start) == pages else start


# An id in a chapter's HTML (the anchors a cross-reference may name).
_ID = re.compile(r'\sid="([^"]+)"')


class PageNumbers:
    """The page-number texts a layout pass prints, in the words of ``labels`` (English
    unless given). Without a PageMap, placeholders."""

    def __init__(self, page_map: PageMap | None, labels: Labels = ENGLISH) -> None:
        self.page_map = page_map
        self.labels = labels

    def in_words(self, labels: Labels) -> PageNumbers:
        """The same numbers, worded in ``labels``."""
        return PageNumbers(self.page_map, labels)

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
        """Where a cross-reference's target is, as a phrase: "p. N", or "this page" (in the
        book's language: "S. N", "diese Seite").

        A number pointing at the page the reader is already on helps nobody. How the
        phrase is set off from the words before it (parentheses or a comma) is the
        wording's business (export/pdf/wording.py), which knows the sentence around it.
        """
        here, there = self.page_of(reference_id), self.page_of(target)
        if here is not None and here == there:
            return self.labels.this_page
        return self.labels.page_number(self.folio(target))

    def next_stage(self, entry: NextStageEntry) -> str:
        """Where a Next Stages target is, as a typesetter would say it from the item's page.

        "overleaf" when the target is on the back of the item's leaf (item on a recto, target
        on the next page), "on the facing page" when the two pages face each other in the
        open book, and "p. N" otherwise (each in the book's language: "umseitig",
        "gegenüber", "S. N").
        """
        here, there = self.page_of(entry.ref_id), self.page_of(entry.target.anchor)
        if here is not None and there is not None:
            recto = (here % 2) == 0  # page index 0 is the first right-hand page
            if there == here + 1 and recto:
                return self.labels.overleaf
            if (there == here + 1 and not recto) or (there == here - 1 and recto):
                return self.labels.facing_page
        return self.labels.page_number(self.folio(entry.target.anchor))


class NumberShapes(PageNumbers):
    """The page-number texts a layout pass prints with every arabic digit written as 0:
    what the page numbers look like to the layout. Set in tabular figures (print.css),
    "p. 47" and "p. 52" take the same room, so two passes whose HTML is the same in these
    shapes lay out the same pages; words ("overleaf", "this page") and roman folios stay
    as they are, since they differ in width."""

    def in_words(self, labels: Labels) -> NumberShapes:
        """The same shapes, worded in ``labels``."""
        return NumberShapes(self.page_map, labels)

    def folio(self, anchor: str) -> str:
        """The folio of ``anchor``'s page with its arabic digits as 0."""
        folio = super().folio(anchor)
        return "0" * len(folio) if folio.isdigit() else folio


# --- the page map a build leaves for the next -----------------------------------------------------


def page_map_path(cache: Path, destination: Path) -> Path:
    """Where the page map of the PDF at ``destination`` is kept between builds, in the
    build's ``cache`` folder."""
    return cache / f"{destination.name}.pages.json"


def read_page_map(path: Path) -> PageMap | None:
    """The page map a previous build left, or None (missing, unreadable or malformed).

    It is only the first layout's guess at the page numbers, so a damaged one costs a
    layout, never the build; the damage is logged at INFO.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        page_map = PageMap(
            {str(k): int(v) for k, v in data["anchor_pages"].items()},
            int(data["body_start"]),
            int(data["page_count"]),
            {int(k): str(v) for k, v in data["page_tops"].items()},
        )
        # Numbers outside the book would be printed as given: a page count of 10**12
        # would make roman numerals of a million letters.
        pages = range(page_map.page_count + 1)
        if page_map.page_count > _MOST_PAGES or not all(
            page in pages for page in (page_map.body_start, *page_map.anchor_pages.values())
        ):
            raise ValueError("page numbers outside the book")
        return page_map
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        log.info("the page map %s is damaged (%r); laying out without it", path.name, error)
        return None


def stored_content_key(path: Path) -> str | None:
    """The content key (export/pagelist.py) kept with the page map at ``path``; None when
    there is no page map, it is unreadable, or it was kept without one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    key = data.get("content") if isinstance(data, dict) else None
    return key if isinstance(key, str) else None


def write_page_map(path: Path, page_map: PageMap, content: str | None = None) -> None:
    """Keep ``page_map`` at ``path`` for the next build, with the key of the content it was
    laid out from (for an EPUB built alone). Raises OSError when it cannot."""
    data: dict[str, object] = {
        "content": content,
        "anchor_pages": dict(page_map.anchor_pages),
        "body_start": page_map.body_start,
        "page_count": page_map.page_count,
        "page_tops": {str(k): v for k, v in page_map.page_tops.items()},
    }
    with atomic_output(path) as output:
        output.write(json.dumps(data, sort_keys=True).encode("utf-8"))
