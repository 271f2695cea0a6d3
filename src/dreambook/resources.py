"""Images and other files a manuscript refers to: found, inside the book, really images, not too big.

This stage runs during ``check``, so a build never discovers a bad image on its own:
every image a chapter shows and the EPUB cover are looked up here, and anything that
would make a writer reach outside the manuscript folder (a web address, a ``file://``
URL, an absolute path, ``..`` out of the folder, a symbolic link pointing outside) is
refused with a coded diagnostic.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from dreambook.diagnostics import Diagnostic, diagnostic
from dreambook.fsutil import ConfinedFolders, ConfinedReader
from dreambook.manuscript import Book

# Pixels an image may have before it is refused as a likely decompression bomb:
# 50 megapixels is far beyond any page of a book at print resolution.
MAX_IMAGE_PIXELS = 50_000_000
# SVG is drawn by the PDF renderer, not decoded to pixels; its own references are confined
# by the writers' resource loaders.
_VECTOR_SUFFIXES = frozenset({".svg"})
# The raster images every EPUB reading system must show (EPUB 3 core media types), known
# by their first bytes; SVG, the one vector type, is known by its name and an <svg> tag.
_IMAGE_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
)
# image_type reads no further than this into a file.
_IMAGE_HEAD = 4096


@dataclass(frozen=True)
class ImageReference:
    """Where an image was referred to: the file and line, and the reference as written."""

    path: Path
    line: int | None
    source: str


def image_type(content: bytes, suffix: str) -> tuple[str, str] | None:
    """Return (media type, usual extension) of a PNG, JPEG, GIF, WebP or SVG image, else None.

    These are the image types every EPUB reader shows. Raster formats are known by their
    first bytes, whatever the file is called; SVG, being text, by its ``.svg`` name and an
    ``<svg`` element in its first 4096 bytes.
    """
    for signature, media_type, extension in _IMAGE_SIGNATURES:
        if content.startswith(signature):
            return media_type, extension
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp", ".webp"
    if suffix.lower() == ".svg" and b"<svg" in content[:_IMAGE_HEAD]:
        return "image/svg+xml", ".svg"
    return None


def _outside_reason(source: str) -> str | None:
    """Why a reference cannot be a file of the book, or None when it may be one."""
    parts = urlsplit(source)
    if parts.scheme.lower() in {"http", "https", "ftp", "ftps"} or parts.netloc:
        return "it is a web address, and dreambook never reads from the network during a build"
    if parts.scheme.lower() == "file":
        return "it is a file:// URL; refer to images by a path relative to the chapter"
    if parts.scheme.lower() == "data":
        return "it is a data: URL; put the image in a file beside the chapter"
    if parts.scheme:
        return f"the {parts.scheme}: scheme is not a file of the book"
    if source.startswith(("/", "\\")) or (len(source) > 1 and source[1] == ":"):
        return "it is an absolute path; refer to images by a path relative to the chapter"
    return None


def check_image_file(
    file: Path, reference: ImageReference, folders: ConfinedFolders, max_pixels: int
) -> list[Diagnostic]:
    """Check one image file: inside the allowed folders, present, decodable, not too large."""
    where = (reference.path, reference.line)
    if not folders.allows(file):
        target = os.path.realpath(file)
        return [
            diagnostic(
                "DB060",
                f"the image {reference.source!r} lies outside the manuscript folder ({target})",
                *where,
                "keep images inside the manuscript folder; '..' and symbolic links may not "
                "lead out of it",
            )
        ]
    if not file.is_file():
        return [
            diagnostic(
                "DB062",
                f"the image {reference.source!r} does not exist",
                *where,
                "check the file name; image paths are relative to the chapter file",
            )
        ]
    if file.suffix.lower() in _VECTOR_SUFFIXES:
        return _svg_problems(file, reference, folders)
    from PIL import Image  # imported here: only books with images need Pillow

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise Image.DecompressionBombError(f"{width} x {height} pixels")
                image.verify()
            # verify() reads a JPEG's headers only: a file cut short (a failed copy or
            # download) passes it, and every reader would show a broken picture. Decoding
            # it whole finds that (within the pixel limit above).
            with Image.open(file) as image:
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        return [
            diagnostic(
                "DB064",
                f"the image {reference.source!r} is too large to decode safely ({error})",
                *where,
                f"images may have at most {max_pixels:,} pixels; scale it down",
            )
        ]
    except (OSError, SyntaxError, ValueError) as error:
        return [
            diagnostic(
                "DB063",
                f"the file {reference.source!r} is not an image dreambook can read ({error})",
                *where,
                "use a PNG, JPEG, GIF, WebP or SVG file; one that is cut short (a copy or "
                "download that stopped part-way) must be copied again",
            )
        ]
    return []


def _svg_problems(
    file: Path, reference: ImageReference, folders: ConfinedFolders
) -> list[Diagnostic]:
    """DB063 for an SVG file that is no SVG image; DB066 for each thing in it that no
    output will carry (a script, an event handler, a reference out of the image)."""
    # Imported here: only books with SVG images parse XML during check.
    from dreambook.safe_assets import NotAnSvgError, clean_svg

    try:
        _, removed = clean_svg(ConfinedReader(folders.folders).read_bytes(file))
    except NotAnSvgError as error:
        return [
            diagnostic(
                "DB063",
                f"the file {reference.source!r} is not an SVG image dreambook can read "
                f"({error.reason})",
                reference.path,
                reference.line,
                "save the drawing again as plain SVG from the drawing program",
            )
        ]
    return [
        diagnostic(
            "DB066",
            f"the SVG image {reference.source!r} holds {removal.what}; it is left out of "
            "every output",
            file,
            removal.line,
            "an image in a book runs nothing and loads nothing from elsewhere: remove it "
            "from the drawing (a linked picture can be embedded in the SVG instead)",
        )
        for removal in removed
    ]


def check_cover_type(file: Path, reference: ImageReference) -> list[Diagnostic]:
    """Check that the EPUB cover, a readable image file, is one every EPUB reader shows.

    Returns DB063 for any other image type (a BMP, a TIFF, a ``.svg`` that holds no SVG)
    and for a file that cannot be read. Raises nothing.
    """
    try:
        with file.open("rb") as opened:
            found = image_type(opened.read(_IMAGE_HEAD), file.suffix)
        problem = None if found else "is not a PNG, JPEG, GIF, WebP or SVG image"
    except OSError as error:
        problem = f"cannot be read ({error})"
    if problem is None:
        return []
    return [
        diagnostic(
            "DB063",
            f"the cover {reference.source!r} {problem}",
            reference.path,
            reference.line,
            "EPUB readers need not show other types; save the cover as a PNG or JPEG file",
        )
    ]


def _styles_problem(book: Book, folders: ConfinedFolders) -> list[Diagnostic]:
    """DB060 when ``[book] styles`` leads outside the manuscript folder."""
    if not book.config.styles:
        return []
    styles = book.root / book.config.styles
    if folders.allows(styles):
        return []
    return [
        diagnostic(
            "DB060",
            f"[book] styles {book.config.styles!r} leads outside the manuscript folder "
            f"({os.path.realpath(styles)})",
            book.book_toml,
            book.config.line_of("book.styles"),
            "keep the styles folder inside the manuscript folder; it may not be a "
            "symbolic link to somewhere else",
        )
    ]


def _reference_problems(
    reference: ImageReference, file: Path, folders: ConfinedFolders, max_pixels: int
) -> list[Diagnostic]:
    """Everything wrong with one image reference: not a file of the book, or a bad file."""
    reason = _outside_reason(reference.source)
    if reason is None:
        return check_image_file(file, reference, folders, max_pixels)
    return [
        diagnostic(
            "DB061",
            f"the image {reference.source!r} is not a file of the book: {reason}",
            reference.path,
            reference.line,
            "copy the image into the manuscript folder and refer to it by a relative path",
        )
    ]


def check_resources(book: Book, max_pixels: int = MAX_IMAGE_PIXELS) -> list[Diagnostic]:
    """Check every image of every chapter, the EPUB cover and the print cover's images
    (``[cover] front``, ``background_image``, ``author_photo``) of ``book``.

    Returns DB061 for references that are not files of the book (web, ``file://``,
    ``data:`` and absolute), DB060 for paths that lead outside the manuscript folder,
    DB062 for missing files, DB063 for files that are not readable images (and for a
    cover that is not an image every EPUB reader shows) and DB064 for images over
    ``max_pixels``. The EPUB writer relies on this: it reports no cover problem of its
    own. Raises nothing.
    """
    folders = ConfinedFolders([book.root])
    diagnostics = _styles_problem(book, folders)
    for chapter in book.chapters:
        for image in chapter.images:
            reference = ImageReference(chapter.path, image.line, image.src)
            folder = chapter.source_path.parent.as_posix()
            relative = PurePosixPath(folder, unquote(urlsplit(image.src).path))
            diagnostics += _reference_problems(reference, book.root / relative, folders, max_pixels)
    if book.config.cover:
        cover = ImageReference(book.book_toml, book.config.line_of("epub.cover"), book.config.cover)
        file = book.root / book.config.cover
        problems = _reference_problems(cover, file, folders, max_pixels)
        diagnostics += problems or check_cover_type(file, cover)
    # The print cover's images ([cover]); the front is also the ebook's cover.
    for key in ("front", "background_image", "author_photo"):
        source = getattr(book.config, key)
        if not source:
            continue
        reference = ImageReference(book.book_toml, book.config.line_of(f"cover.{key}"), source)
        file = book.root / source
        problems = _reference_problems(reference, file, folders, max_pixels)
        diagnostics += problems or (check_cover_type(file, reference) if key == "front" else [])
    # An image shown twice is reported once.
    return list(dict.fromkeys(diagnostics))
