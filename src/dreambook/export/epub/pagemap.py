"""The print page breaks for an EPUB built without the PDF: the page map the last PDF build
of the same content left in the cache.

Every PDF build keeps where its pages broke (``<file>.pdf.pages.json``, export/pdf/folios.py)
with the key of the content it laid out (export/pagelist.py). An EPUB built alone takes the
breaks from there when its own book gives the same key; otherwise it carries no page list
and says why, since page numbers from another text would point at the wrong places.
"""

from __future__ import annotations

from pathlib import Path

from dreambook.export.pagelist import PageBreak, content_key
from dreambook.export.writer import BuildContext


def cached_page_breaks(context: BuildContext) -> tuple[tuple[PageBreak, ...], str | None]:
    """The page breaks of the last PDF built from this content into this output folder.

    The digital edition's page map is preferred, then the print edition's. Returns the
    breaks and None, or no breaks and a sentence saying why there are none (for the
    build's output). Raises nothing: a missing or damaged page map means no page list.
    """
    from dreambook.export.pdf.folios import page_map_path, read_page_map, stored_content_key
    from dreambook.export.pdf.variant import Variant

    # The key hashes the whole rendered book (and looks up dreambook's version): only
    # worth making when there is a page map to compare it with.
    key: str | None = None
    kept_any = False
    for variant in (Variant.DIGITAL, Variant.PRINT):
        name = f"{context.book.slug}{variant.traits.suffix}.pdf"
        path = page_map_path(context.cache_folder, Path(name))
        if not path.is_file():
            continue
        kept_any = True
        if key is None:
            key = content_key(context.book, context.styles)
        if stored_content_key(path) != key:
            continue
        page_map = read_page_map(path)
        breaks = page_map.page_breaks() if page_map is not None else ()
        if breaks:
            return breaks, None
    if not kept_any:
        return (), (
            "the EPUB has no print page list: no PDF has been built into this output folder "
            "(build with --format pdf once, or with both formats)"
        )
    return (), (
        "the EPUB has no print page list: the last PDF built here was laid out from "
        "other text or settings (build the PDF again, or both formats together)"
    )
