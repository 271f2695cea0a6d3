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
from dreambook.fsutil import ConfinedFolders
from dreambook.manuscript import Book

# Pixels an image may have before it is refused as a likely decompression bomb:
# 50 megapixels is far beyond any page of a book at print resolution.
MAX_IMAGE_PIXELS = 50_000_000
# SVG is drawn by the PDF renderer, not decoded to pixels; its own references are confined
# by the writers' resource loaders.
_VECTOR_SUFFIXES = frozenset({".svg"})


@dataclass(frozen=True)
class ImageReference:
    """Where an image was referred to: the file and line, and the reference as written."""

    path: Path
    line: int | None
    source: str


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
        return []
    from PIL import Image  # imported here: only books with images need Pillow

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise Image.DecompressionBombError(f"{width} x {height} pixels")
                image.verify()
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
                "use a PNG, JPEG, GIF, WebP or SVG file",
            )
        ]
    return []


def check_resources(book: Book, max_pixels: int = MAX_IMAGE_PIXELS) -> list[Diagnostic]:
    """Check every image of every chapter, and the EPUB cover, of ``book``.

    Returns DB061 for references that are not files of the book (web, ``file://``,
    ``data:`` and absolute), DB060 for paths that lead outside the manuscript folder,
    DB062 for missing files, DB063 for files that are not readable images and DB064 for
    images over ``max_pixels``. Raises nothing.
    """
    folders = ConfinedFolders([book.root])
    diagnostics: list[Diagnostic] = []
    references: list[tuple[ImageReference, Path]] = []
    for chapter in book.chapters:
        for image in chapter.images:
            reference = ImageReference(chapter.path, image.line, image.src)
            folder = chapter.source_path.parent.as_posix()
            relative = PurePosixPath(folder, unquote(urlsplit(image.src).path))
            references.append((reference, book.root / relative))
    if book.config.cover:
        reference = ImageReference(
            book.book_toml, book.config.line_of("epub.cover"), book.config.cover
        )
        references.append((reference, book.root / book.config.cover))
    if book.config.styles:
        styles = book.root / book.config.styles
        if not folders.allows(styles):
            diagnostics.append(
                diagnostic(
                    "DB060",
                    f"[book] styles {book.config.styles!r} leads outside the manuscript folder "
                    f"({os.path.realpath(styles)})",
                    book.book_toml,
                    book.config.line_of("book.styles"),
                    "keep the styles folder inside the manuscript folder; it may not be a "
                    "symbolic link to somewhere else",
                )
            )
    for reference, file in references:
        reason = _outside_reason(reference.source)
        if reason is not None:
            diagnostics.append(
                diagnostic(
                    "DB061",
                    f"the image {reference.source!r} is not a file of the book: {reason}",
                    reference.path,
                    reference.line,
                    "copy the image into the manuscript folder and refer to it by a relative path",
                )
            )
            continue
        diagnostics.extend(check_image_file(file, reference, folders, max_pixels))
    return diagnostics
