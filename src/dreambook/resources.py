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

from dreambook.diagnostics import Diagnostic, diagnostic, not_utf8
from dreambook.errors import DreambookError
from dreambook.fsutil import ConfinedFolders, ConfinedReader
from dreambook.manuscript import Book

# Pixels an image may have before it is refused as a likely decompression bomb:
# 50 megapixels is far beyond any page of a book at print resolution.
MAX_IMAGE_PIXELS = 50_000_000
# SVG is drawn by the PDF renderer, not decoded to pixels; its own references are confined
# by the writers' resource loaders.
_VECTOR_SUFFIXES = frozenset({".svg"})
# The stylesheets of a styles folder that the writers copy or lay out with.
STYLESHEETS = ("print.css", "epub.css", "site.css")
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


def _stylesheet_problems(book: Book, folder: Path, allowed: ConfinedFolders) -> list[Diagnostic]:
    """DB065 for each @import or url() of the book's own stylesheets that leads out of the
    book: every output leaves it out."""
    from dreambook.safe_assets import clean_stylesheet

    diagnostics: list[Diagnostic] = []
    for name in STYLESHEETS:
        path = folder / name
        if not path.is_file() or not allowed.allows(path):
            continue
        try:
            data, _ = ConfinedReader(allowed.folders).read_at_most(path, MAX_STYLES_TEXT_BYTES)
            if data is None:
                continue  # too large to read (DB069, _text_problems)
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError, DreambookError):
            continue  # DB069 (_text_problems), or the writer reports what it cannot read
        for removal in clean_stylesheet(text)[1]:
            diagnostics.append(
                diagnostic(
                    "DB065",
                    f"{removal.what} in {name} leads out of the book; it is left out of "
                    "every output",
                    path,
                    removal.line,
                    "a book's stylesheet may only use files of its styles folder: copy the "
                    "file (a font, an image, a stylesheet) there and refer to it by a "
                    "relative path",
                )
            )
    return diagnostics


# The largest template, stylesheet or script, and the largest font file, a book's styles folder
# may hold: every one is read whole. dreambook's own print.css is 20 KB; a font for Chinese,
# Japanese and Korean, the largest there are, some 20 MB.
MAX_STYLES_TEXT_BYTES = 4 * 1_048_576
MAX_FONT_BYTES = 64 * 1_048_576

# The files of a styles folder that dreambook reads as text: templates, stylesheets, and the
# preview's page and script.
_TEXT_SUFFIXES = (".j2", ".css", ".js", ".html")


def _text_problems(book: Book, folder: Path) -> list[Diagnostic]:
    """DB069 for each text file of the book's own styles folder that is not UTF-8, and each
    template that is not valid Jinja2 (at its line): the build would stop at it."""
    reader = ConfinedReader([book.root])
    diagnostics: list[Diagnostic] = []
    templates = None
    for path in sorted(folder.rglob("*")):
        if not path.name.endswith(_TEXT_SUFFIXES) or not path.is_file():
            continue
        try:
            data, size = reader.read_at_most(path, MAX_STYLES_TEXT_BYTES)
        except (OSError, DreambookError):
            continue  # outside the book (DB060), or unreadable: the build says so
        if data is None:
            diagnostics.append(
                diagnostic(
                    "DB069",
                    f"{path.name} is {size / 1_048_576:.1f} MiB; a template, stylesheet or "
                    f"script may be at most {MAX_STYLES_TEXT_BYTES // 1_048_576} MiB",
                    path,
                    None,
                    "a stylesheet or template this large is no stylesheet or template: "
                    "remove it from the book's styles folder",
                )
            )
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            diagnostics.append(not_utf8(path, data, error))
            continue
        if path.suffix == ".j2":
            # Imported here: only a book with templates of its own pays for Jinja2 in check.
            from dreambook.templates import BookTemplates, template_problem

            templates = templates or BookTemplates()
            try:
                parsed = templates.parse(text, path.name, str(path))
            except DreambookError as error:
                diagnostics.extend(getattr(error, "diagnostics", ()))
                continue
            except Exception as error:  # what the sandbox's parser raises, whatever it is
                diagnostics.append(template_problem(error))
                continue
            diagnostics += _missing_templates(book, folder, path, text, parsed)
    return diagnostics


def _missing_templates(
    book: Book, folder: Path, path: Path, text: str, parsed: object
) -> list[Diagnostic]:
    """DB069 for each template ``path`` includes, imports or extends by a name that neither
    the book's styles folder nor dreambook's has (at the first line naming it)."""
    from jinja2 import meta
    from jinja2.nodes import Template

    from dreambook.styles import default_styles_folder

    assert isinstance(parsed, Template)
    problems: list[Diagnostic] = []
    for name in meta.find_referenced_templates(parsed):
        if name is None or any(
            (base / name).is_file() and ".." not in Path(name).parts
            for base in (folder, default_styles_folder())
        ):
            continue
        line = next((n for n, row in enumerate(text.splitlines(), 1) if name in row), None)
        problems.append(
            diagnostic(
                "DB069",
                f"the template {path.name} cannot be used: it names the template {name!r}, "
                "which no styles folder has",
                path,
                line,
                "name a template of the book's styles folder or of dreambook's own "
                "(print.html.j2, epub-base.xhtml.j2, ...)",
            )
        )
    return problems


# The first bytes of a WOFF and a WOFF2 file (the subsetter reads TrueType and OpenType).
_WEB_FONT_SIGNATURES = {".woff": b"wOFF", ".woff2": b"wOF2"}
FONT_SUFFIXES = (".ttf", ".otf", *_WEB_FONT_SIGNATURES)


def _font_problems(book: Book, folder: Path) -> list[Diagnostic]:
    """DB068 for each font file (by its name) of the book's own styles folder that is not
    a font: the EPUB's subsetter could not read it, and the layout would set the text in
    another font without a word. Files that lead outside are DB060's (skipped here)."""
    reader = ConfinedReader([book.root])
    diagnostics: list[Diagnostic] = []
    for path in sorted(folder.rglob("*")):
        suffix = path.suffix.lower()
        if suffix not in FONT_SUFFIXES or not path.is_file():
            continue
        try:
            data, size = reader.read_at_most(path, MAX_FONT_BYTES)
        except (OSError, DreambookError):
            continue  # outside the book (DB060), or unreadable: the build says so
        signature = _WEB_FONT_SIGNATURES.get(suffix)
        problem: str | None
        if data is None:
            problem = (
                f"it is {size / 1_048_576:.1f} MiB, and a font file may be at most "
                f"{MAX_FONT_BYTES // 1_048_576} MiB"
            )
        elif signature is not None:
            problem = (
                None if data.startswith(signature) else f"it does not begin as a {suffix} file does"
            )
        else:
            problem = _font_program_problem(data)
        if problem is not None:
            diagnostics.append(
                diagnostic(
                    "DB068",
                    f"the font file {path.relative_to(book.root).as_posix()!r} cannot be "
                    f"read as a font: {problem}",
                    path,
                    None,
                    "replace it with the font's own file (TrueType .ttf, OpenType .otf, or "
                    ".woff/.woff2), or remove it and the @font-face rule that names it",
                )
            )
    return diagnostics


def _font_program_problem(data: bytes) -> str | None:
    """Why the TrueType or OpenType program ``data`` cannot be subset, or None."""
    from dreambook.fontprograms import FontUnreadable, subset_font

    try:
        subset_font(data, frozenset(), ())
    except FontUnreadable:
        return "it is not a TrueType or OpenType font, or it is damaged"
    return None


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


def check_styles_folder(book: Book) -> list[Diagnostic]:
    """Check that every file of the book's own styles folder (``[book] styles``) is a file
    a build may read.

    Returns DB060 for each file or folder in it that resolves (through symbolic links)
    outside the manuscript folder and dreambook's own styles; the writers would refuse it
    (styles.Styles reads through the confined opener), so check finds it first. A folder
    reached twice through links is looked at once. A styles folder that itself leads
    outside is reported by check_resources. Raises nothing for manuscript content.
    """
    if not book.config.styles:
        return []
    own = book.root / book.config.styles
    if not ConfinedFolders([book.root]).allows(own) or not own.is_dir():
        return []
    # Imported here: styles.py is cheap for check (it loads Jinja2 only when a build asks).
    from dreambook.styles import default_styles_folder

    allowed = ConfinedFolders([book.root, default_styles_folder()])
    diagnostics: list[Diagnostic] = []
    seen: set[str] = set()
    folders = [own]
    while folders:
        folder = folders.pop()
        if os.path.realpath(folder) in seen:
            continue
        seen.add(os.path.realpath(folder))
        for entry in sorted(folder.iterdir()):
            if not allowed.allows(entry):
                diagnostics.append(_styles_file_outside(book, entry))
            elif entry.is_dir():
                folders.append(entry)
    return (
        diagnostics
        + _text_problems(book, own)
        + _stylesheet_problems(book, own, allowed)
        + _font_problems(book, own)
        + _image_problems(book, own)
    )


# Pictures a book's stylesheets may draw (a background, a rule, an ornament).
_PICTURE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"})


def _image_problems(book: Book, folder: Path) -> list[Diagnostic]:
    """Each picture of the book's own styles folder checked as a chapter's image is (a real
    image, decodable, at most MAX_IMAGE_PIXELS; an SVG without scripts): a stylesheet's
    ``url()`` hands it to the layout, which would decode whatever it is given."""
    folders = ConfinedFolders([book.root])
    diagnostics: list[Diagnostic] = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in _PICTURE_SUFFIXES or not path.is_file():
            continue
        if not folders.allows(path):
            continue  # leads outside: DB060 (check_styles_folder)
        name = path.relative_to(book.root).as_posix()
        reference = ImageReference(path, None, name)
        diagnostics += check_image_file(path, reference, folders, MAX_IMAGE_PIXELS)
    return diagnostics


def _styles_file_outside(book: Book, entry: Path) -> Diagnostic:
    """DB060 for one file (line 1) or folder of the styles folder that leads outside."""
    what = "folder" if entry.is_dir() else "file"
    return diagnostic(
        "DB060",
        f"the styles {what} {entry.relative_to(book.root).as_posix()!r} leads to "
        f"{os.path.realpath(entry)}, outside the manuscript folder; a build will not read it",
        entry,
        None if what == "folder" else 1,
        f"copy the {what} into the styles folder instead of linking to it",
    )


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
