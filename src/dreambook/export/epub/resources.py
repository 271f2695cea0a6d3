"""The files the EPUB carries beside its documents: fonts and their licence, the cover, images.

Fonts come from the styles folders, the cover and the chapters' images from the manuscript.
``check`` has already refused a cover or image that leads out of the manuscript, is missing
or is no image (resources.py); this module still reads nothing outside the folders a build
may read, whoever calls it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from lxml import etree

from dreambook.export.epub.xhtml import Document, X
from dreambook.fsutil import ConfinedFolders, ConfinedReader
from dreambook.resources import image_type
from dreambook.safe_assets import NotAnSvgError, clean_svg
from dreambook.styles import Styles

log = logging.getLogger(__name__)

# The stylesheet and its fonts keep the places they have in the styles folder, so the
# url(fonts/...) of its @font-face rules hold both there and inside the EPUB.
_FONT_FOLDER = "fonts"
_FONT_TYPES = {".ttf": "font/ttf", ".otf": "font/otf", ".woff": "font/woff", ".woff2": "font/woff2"}
_FONT_LICENCE = "OFL.txt"
_UNSAFE_NAME_RE = re.compile(r"[^a-z0-9_-]+")


@dataclass(frozen=True)
class Resource:
    """A file carried into the package: its name there, its media type and its bytes."""

    file_name: str
    media_type: str
    content: bytes


def font_files(styles: Styles, stylesheet: str) -> list[Resource]:
    """The fonts the EPUB stylesheet names (``fonts/NAME``), and their licence text.

    A font file of the styles' ``fonts`` folders is embedded only when the stylesheet
    mentions it, so a book whose own epub.css uses no font file carries none. Fonts and
    licence are read through the styles' confined opener. Raises ResourceOutsideError
    (DB060) when one resolves outside the manuscript and styles folders, OSError when one
    cannot be read.
    """
    reader = styles.reader
    found: dict[str, Path] = {}
    for folder in reversed(styles.folders):  # a book's own styles folder wins
        fonts = folder / _FONT_FOLDER
        if fonts.is_dir():
            for path in fonts.iterdir():
                if path.suffix.lower() in _FONT_TYPES and path.is_file():
                    found[path.name] = path
    resources = [
        Resource(
            f"{_FONT_FOLDER}/{name}", _FONT_TYPES[path.suffix.lower()], reader.read_bytes(path)
        )
        for name, path in sorted(found.items())
        if f"{_FONT_FOLDER}/{name}" in stylesheet
    ]
    if resources:
        # The SIL Open Font License asks that the licence travel with the fonts.
        try:
            licence = styles.read_bytes(f"{_FONT_FOLDER}/{_FONT_LICENCE}")
        except FileNotFoundError:
            log.warning("embedding fonts without %s: none in the styles folders", _FONT_LICENCE)
        else:
            resources.append(Resource(f"{_FONT_FOLDER}/{_FONT_LICENCE}", "text/plain", licence))
    return resources


def _read_image(path: Path, folders: ConfinedFolders) -> tuple[bytes, str, str] | None:
    """(bytes, media type, usual extension) of an image file EPUB readers must show.

    None when ``path`` lies outside ``folders``, is not a file or is no such image.
    """
    if not folders.allows(path) or not path.is_file():
        return None
    content = ConfinedReader(folders.folders).read_bytes(path)
    found = image_type(content, path.suffix)
    if found is None:
        return None
    if found[0] == "image/svg+xml":
        # Scripts, handlers and references out of the image never reach the book.
        try:
            content, _ = clean_svg(content)
        except NotAnSvgError:
            return None
    return (content, *found)


def cover_image(cover: str | None, manuscript: Path) -> Resource | None:
    """The cover ``[epub] cover`` names, as ``images/cover.<ext>``; None when there is none.

    ``check`` refuses a cover that is outside the manuscript, missing or not an image EPUB
    readers show (DB060-DB063); should one reach the writer all the same, it is left out
    and logged, never read. Raises OSError when the file cannot be read.
    """
    if not cover:
        return None
    found = _read_image(manuscript / cover, ConfinedFolders([manuscript]))
    if found is None:
        log.warning("leaving out the cover %r: not an image inside the manuscript", cover)
        return None
    content, media_type, extension = found
    return Resource(f"images/cover{extension}", media_type, content)


def carry_images(documents: Iterable[Document], manuscript: Path) -> list[Resource]:
    """Bring every image the chapters show into the package, as ``images/NN-name.ext``.

    Image sources are relative to the manuscript folder (the render stage rebased them).
    An image outside the manuscript, missing, remote or of a type EPUB readers need not
    show is replaced by its alternative text, and logged.
    """
    folders = ConfinedFolders([manuscript])
    carried: dict[str, Resource] = {}
    for document in documents:
        for image in list(document.tree.iter(f"{X}img")):
            source = str(image.get("src") or "")
            resource = carried.get(source)
            if resource is None:
                resource = _chapter_image(source, manuscript, folders, len(carried) + 1)
                if resource is not None:
                    carried[source] = resource
            if resource is not None:
                image.set("src", resource.file_name)
                continue
            log.warning("%s: cannot carry the image %r into the EPUB", document.file_name, source)
            stand_in = etree.Element(f"{X}span", {"class": "missing-image"})
            stand_in.text = str(image.get("alt") or "")
            stand_in.tail = image.tail
            parent = image.getparent()
            if parent is not None:
                parent.replace(image, stand_in)
    return list(carried.values())


def _chapter_image(
    source: str, manuscript: Path, folders: ConfinedFolders, number: int
) -> Resource | None:
    """Read one image from the manuscript; None when it may not or cannot be carried."""
    # The render stage left a plain path relative to the manuscript (already unquoted).
    parts = urlsplit(source)
    if not source or parts.scheme or parts.netloc or source.startswith(("/", "\\")):
        return None
    found = _read_image(manuscript / source, folders)
    if found is None:
        return None
    content, media_type, extension = found
    stem = _UNSAFE_NAME_RE.sub("-", PurePosixPath(source).stem.lower()).strip("-") or "image"
    return Resource(f"images/{number:02d}-{stem}{extension}", media_type, content)
