"""The print edition's page breaks, as the PDF writer found them, for the other outputs, and
the key that tells whether a page map kept from an earlier build belongs to this book."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dreambook.errors import DreambookError

if TYPE_CHECKING:
    from dreambook.render import RenderedBook
    from dreambook.styles import Styles


@dataclass(frozen=True)
class PageBreak:
    """A printed page begins at the element with id ``anchor``; its folio is ``folio``.

    ``exact`` is False when no block starts on that page (a paragraph runs over the whole
    page): the break is then placed before the next block that starts on a later page.
    """

    folio: str
    anchor: str
    exact: bool = True


# The files of the styles folders a print layout is made from: a change to any of them may
# move a page break.
_LAYOUT_STYLES = ("print.css", "print-ink.css", "page.css.j2", "print.html.j2", "map.svg.j2")


def content_key(book: RenderedBook, styles: Styles) -> str:
    """A hash of what decides where the PDF's pages break: the rendered chapters, every
    book.toml setting outside ``[epub]``, the print styles and dreambook's version.

    The PDF writer keeps it with the page map it leaves in the cache, and an EPUB built
    alone uses that page map only when its own book gives the same key: page numbers of
    another text would be page numbers of nothing. Raises nothing.
    """
    import dreambook
    from dreambook.config import BOOK_KEYS

    digest = hashlib.sha256(f"dreambook {dreambook.__version__}\n".encode())
    for key in BOOK_KEYS:
        if key.table != "epub":
            digest.update(
                f"{key.table}.{key.key}={getattr(book.config, key.key, None)!r}\n".encode()
            )
    for chapter in book.chapters:
        # Field by field: the chapter's set of ids would hash in a different order in every
        # process.
        fields = (
            chapter.slug, chapter.anchor, chapter.label, chapter.number, chapter.title,
            chapter.subtitle, chapter.body, chapter.sections, chapter.next_stages,
            chapter.reached_from,
        )  # fmt: skip
        digest.update(repr(fields).encode("utf-8"))
    for name in _LAYOUT_STYLES:
        try:
            digest.update(name.encode() + b"\n" + styles.read_bytes(name))
        except (OSError, DreambookError):
            digest.update(name.encode() + b" missing\n")
    return digest.hexdigest()
