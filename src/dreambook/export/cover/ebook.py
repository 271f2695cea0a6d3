"""The ebook's cover picture: the front cover drawn as a JPEG of at least 1600 × 2560 pixels.

The front cover is laid out alone (cover.html.j2 without the wrap, in screen colours) and
drawn with pdfium. The picture is kept in the build's cache under a hash of what it is made
from, so the EPUB and the HTML edition of one build, and the next build of an unchanged
cover, draw it once.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
from typing import TYPE_CHECKING

from dreambook.export.cover.page import SCREEN, STYLESHEET, cover_html, cover_ink, cover_pdf
from dreambook.fsutil import ConfinedReader, atomic_output
from dreambook.native import NATIVE

if TYPE_CHECKING:
    from dreambook.export.writer import BuildContext

# Retailers' smallest ebook cover (see cover_check.py); the picture is drawn at least this
# large in both directions, keeping the trim's proportions.
MIN_WIDTH = 1600
MIN_HEIGHT = 2560
# A set cover is flat colour and type: at 80 it is clean and about 85 KB at 1707 × 2560 (at
# 90 it was 104 KB, two fifths of the sample EPUB).
JPEG_QUALITY = 80
CACHE_NAME = "cover"


def front_cover_jpeg(context: BuildContext) -> bytes:
    """The generated front cover as JPEG bytes (from the cache when unchanged).

    Raises MissingDependencyError when WeasyPrint cannot run and OSError when a style file
    cannot be read; a cache that cannot be written is skipped.
    """
    config = context.book.config
    html = cover_html(context, None, cover_ink(config, None))
    digest = hashlib.sha256(html.encode())
    digest.update(context.styles.read_bytes(STYLESHEET))
    digest.update(importlib.metadata.version("dreambook").encode())
    folder = context.cache_folder / CACHE_NAME
    cached = folder / f"{digest.hexdigest()[:32]}.jpg"
    try:
        return cached.read_bytes()
    except OSError:
        pass
    data = _draw(cover_pdf(context, None, None, SCREEN), config.trim_size.height.points)
    try:
        for stale in folder.glob("*.jpg"):
            stale.unlink()
        with atomic_output(cached) as output:
            output.write(data)
    except OSError:
        pass  # the cache is an optimisation; the cover is made all the same
    return data


def _draw(pdf: bytes, height_points: float) -> bytes:
    """The first page of ``pdf`` drawn at least MIN_WIDTH × MIN_HEIGHT, as a JPEG."""
    import pypdfium2

    with NATIVE:
        document = pypdfium2.PdfDocument(pdf)
        try:
            page = document[0]
            width_points = page.get_width()
            scale = max(MIN_WIDTH / width_points, MIN_HEIGHT / height_points)
            picture = page.render(scale=scale).to_pil().convert("RGB")
        finally:
            document.close()
    output = io.BytesIO()
    picture.save(output, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return output.getvalue()


def cover_picture(context: BuildContext) -> tuple[str, bytes] | None:
    """The book's cover picture for screens, as (file extension, bytes): ``[epub] cover``,
    else ``[cover] front``, else the generated front cover when the book names its authors;
    None when there is nothing to make one of.

    ``check`` has refused an image outside the book, missing or of another type (DB060-DB063).
    Raises OSError when the image cannot be read, and as ``front_cover_jpeg``.
    """
    config = context.book.config
    own = config.cover or config.front
    if own:
        path = context.manuscript / own
        return path.suffix.lower(), ConfinedReader([context.manuscript]).read_bytes(path)
    if not config.authors:
        return None
    return ".jpg", front_cover_jpeg(context)
