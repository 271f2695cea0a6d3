"""The EPUB's cover image: the author's own, or the front cover dreambook sets.

In order: ``[epub] cover``, ``[cover] front`` (the print cover's front, used whole), or,
when the book names its authors, the front cover set from the title, subtitle and authors
(export/cover/ebook.py). ``check`` warns when none of these can be had (DB101) and when an
author's image is smaller than retailers take (DB102).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dreambook.export.epub.resources import Resource, cover_image

if TYPE_CHECKING:
    from dreambook.export.writer import BuildContext


def book_cover(context: BuildContext, *, draw: bool = True) -> Resource | None:
    """The cover image the EPUB declares, or None when the book has nothing to make one of.

    With ``draw`` False a cover dreambook sets comes without its picture (empty content):
    its name is what the documents refer to, and the picture can be drawn meanwhile
    (cover/ebook.py ``drawn_meanwhile``). Raises as ``cover_image``, and as
    ``front_cover_jpeg`` when the cover is set and drawn.
    """
    config = context.book.config
    own = cover_image(config.cover or config.front, context.manuscript)
    if own is not None or not config.authors:
        return own
    if not draw:
        return Resource(SET_COVER, "image/jpeg", b"")
    # Only a book whose cover is set loads the layout engine for it.
    from dreambook.export.cover.ebook import front_cover_jpeg

    return Resource(SET_COVER, "image/jpeg", front_cover_jpeg(context))


# The file name of the front cover dreambook sets, in the package.
SET_COVER = "images/cover.jpg"
