"""The print edition's page breaks, as the PDF writer found them, for the other outputs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageBreak:
    """A printed page begins at the element with id ``anchor``; its folio is ``folio``.

    ``exact`` is False when no block starts on that page (a paragraph runs over the whole
    page): the break is then placed before the next block that starts on a later page.
    """

    folio: str
    anchor: str
    exact: bool = True
