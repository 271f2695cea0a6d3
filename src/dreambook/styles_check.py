"""What ``check`` says about a book's own styles folder (``[book] styles``).

The folder is as untrusted as the chapters, and every file in it is read by some writer: a
stylesheet or template as text, a font by the EPUB's subsetter and the layout, a picture by
the layout when a stylesheet's ``url()`` names it. So each file is looked at once, here,
before anything is built: a file or folder that leads outside the book (DB060), a
template, stylesheet or script that is too large, not UTF-8, not valid Jinja2 or names a
template no styles folder has (DB069), a stylesheet reference that leads out of the book
(DB065), a font file that is none or too large (DB068), and a picture held to a chapter
image's rules (DB063, DB064, DB066).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from dreambook.diagnostics import Diagnostic, diagnostic, not_utf8
from dreambook.errors import DreambookError
from dreambook.fontprograms import FontUnreadable, font_problem, subset_font
from dreambook.fsutil import ConfinedFolders, ConfinedReader
from dreambook.manuscript import Book
from dreambook.resources import MAX_IMAGE_PIXELS, ImageReference, check_image_file

if TYPE_CHECKING:
    from jinja2.nodes import Template

    from dreambook.templates import BookTemplates

# The stylesheets of a styles folder that the writers copy or lay out with.
STYLESHEETS = ("print.css", "epub.css", "site.css")
# The files of a styles folder that dreambook reads as text: templates, stylesheets, and the
# preview's page and script.
_TEXT_SUFFIXES = (".j2", ".css", ".js", ".html")
# The first bytes of a WOFF and a WOFF2 file (the subsetter reads TrueType and OpenType).
_WEB_FONT_SIGNATURES = {".woff": b"wOFF", ".woff2": b"wOF2"}
_FONT_SUFFIXES = (".ttf", ".otf", *_WEB_FONT_SIGNATURES)
# Pictures a book's stylesheets may draw (a background, a rule, an ornament).
_PICTURE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"})
# The largest template, stylesheet or script, and the largest font file, a book's styles folder
# may hold: every one is read whole. dreambook's own print.css is 20 KB; a font for Chinese,
# Japanese and Korean, the largest there are, some 20 MB.
MAX_STYLES_TEXT_BYTES = 4 * 1_048_576
MAX_FONT_BYTES = 64 * 1_048_576


def check_styles_folder(book: Book) -> list[Diagnostic]:
    """Everything wrong with the files of the book's own styles folder (see the module's
    docstring); nothing when the book has none.

    A file or folder that resolves (through symbolic links) outside the manuscript folder
    and dreambook's own styles is DB060 and is not read; the writers would refuse it
    (styles.Styles reads through the confined opener). A folder reached twice through links
    is looked at once. A styles folder that itself leads outside is reported by
    resources.check_resources. Raises nothing for manuscript content.
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
    files: list[Path] = []
    seen: set[str] = set()
    folders = [own]
    while folders:
        folder = folders.pop()
        if os.path.realpath(folder) in seen:
            continue
        seen.add(os.path.realpath(folder))
        for entry in sorted(folder.iterdir()):
            if not allowed.allows(entry):
                diagnostics.append(_file_outside(book, entry))
            elif entry.is_dir():
                folders.append(entry)
            elif entry.is_file():
                files.append(entry)
    # Read as the manuscript's own files: one that links into dreambook's styles is skipped.
    reader = ConfinedReader([book.root])
    templates = _Templates(own)
    defaults = default_styles_folder()
    for path in sorted(files):
        suffix = path.suffix.lower()
        if _as_shipped(path, defaults / path.relative_to(own), reader):
            continue
        if path.name.endswith(_TEXT_SUFFIXES):
            diagnostics += _text_problems(path, own, reader, templates)
        elif suffix in _FONT_SUFFIXES:
            diagnostics += _font_problems(book, path, reader)
        elif suffix in _PICTURE_SUFFIXES:
            reference = ImageReference(path, None, path.relative_to(book.root).as_posix())
            diagnostics += check_image_file(
                path, reference, ConfinedFolders([book.root]), MAX_IMAGE_PIXELS
            )
    return diagnostics


def _as_shipped(path: Path, default: Path, reader: ConfinedReader) -> bool:
    """Whether ``path`` has the very bytes of dreambook's own styles file ``default`` (the
    copy `dreambook init` makes): checked with dreambook, it needs no check here."""
    try:
        size = default.stat().st_size
        if os.stat(path).st_size != size:
            return False
        data, _ = reader.read_at_most(path, size)
        return data == default.read_bytes()
    except (OSError, DreambookError):
        return False


def _file_outside(book: Book, entry: Path) -> Diagnostic:
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


def _text_problems(
    path: Path, own: Path, reader: ConfinedReader, templates: _Templates
) -> list[Diagnostic]:
    """DB069 for a text file that is too large or not UTF-8, or a template that is not valid
    Jinja2 or names one no styles folder has; DB065 for each reference out of the book in
    one of the ``STYLESHEETS``."""
    try:
        data, size = reader.read_at_most(path, MAX_STYLES_TEXT_BYTES)
    except (OSError, DreambookError):
        return []  # unreadable: the build says so
    if data is None:
        return [
            diagnostic(
                "DB069",
                f"{path.name} is {size / 1_048_576:.1f} MiB; a template, stylesheet or "
                f"script may be at most {MAX_STYLES_TEXT_BYTES // 1_048_576} MiB",
                path,
                None,
                "a stylesheet or template this large is no stylesheet or template: "
                "remove it from the book's styles folder",
            )
        ]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return [not_utf8(path, data, error)]
    if path.suffix == ".j2":
        return templates.problems(path, text)
    if path.parent == own and path.name in STYLESHEETS:
        return _references_out(path, text)
    return []


def _references_out(path: Path, text: str) -> list[Diagnostic]:
    """DB065 for each @import or url() of the stylesheet ``path`` that leads out of the
    book: every output leaves it out."""
    from dreambook.safe_assets import clean_stylesheet

    return [
        diagnostic(
            "DB065",
            f"{removal.what} in {path.name} leads out of the book; it is left out of every output",
            path,
            removal.line,
            "a book's stylesheet may only use files of its styles folder: copy the file (a "
            "font, an image, a stylesheet) there and refer to it by a relative path",
        )
        for removal in clean_stylesheet(text)[1]
    ]


class _Templates:
    """The templates of the styles folder ``own`` parsed as the build will parse them (a
    Jinja2 environment made on first use: a book without templates of its own does not
    load Jinja2 in check)."""

    def __init__(self, own: Path) -> None:
        self.own = own
        self.environment: BookTemplates | None = None

    def problems(self, path: Path, text: str) -> list[Diagnostic]:
        """DB069 when ``text`` (of ``path``) is not valid Jinja2 or names a template that
        neither this styles folder nor dreambook's has (at the first line naming it)."""
        from dreambook.templates import BookTemplates, template_problem

        if self.environment is None:
            self.environment = BookTemplates()
        try:
            parsed = self.environment.parse(text, path.name, str(path))
        except DreambookError as error:
            return list(getattr(error, "diagnostics", ()))
        except Exception as error:  # what the sandbox's parser raises, whatever it is
            return [template_problem(error)]
        return self._missing(path, text, parsed)

    def _missing(self, path: Path, text: str, parsed: Template) -> list[Diagnostic]:
        import jinja2
        from jinja2 import meta

        from dreambook.styles import default_styles_folder
        from dreambook.templates import template_problem

        problems: list[Diagnostic] = []
        for name in meta.find_referenced_templates(parsed):
            if name is None or any(
                (base / name).is_file() and ".." not in Path(name).parts
                for base in (self.own, default_styles_folder())
            ):
                continue
            line = next((n for n, row in enumerate(text.splitlines(), 1) if name in row), None)
            problems.append(template_problem(jinja2.TemplateNotFound(name), path, line))
        return problems


def _font_problems(book: Book, path: Path, reader: ConfinedReader) -> list[Diagnostic]:
    """DB068 for a font file that is not a font, or too large: the EPUB's subsetter could
    not read it, and the layout would set the text in another font without a word."""
    try:
        data, size = reader.read_at_most(path, MAX_FONT_BYTES)
    except (OSError, DreambookError):
        return []  # unreadable: the build says so
    signature = _WEB_FONT_SIGNATURES.get(path.suffix.lower())
    if data is None:
        problem = (
            f"it is {size / 1_048_576:.1f} MiB, and a font file may be at most "
            f"{MAX_FONT_BYTES // 1_048_576} MiB"
        )
    elif signature is not None:
        if data.startswith(signature):
            return []
        problem = f"it does not begin as a {path.suffix.lower()} file does"
    else:
        try:
            subset_font(data, frozenset(), ())
            return []
        except FontUnreadable:
            problem = "it is not a TrueType or OpenType font, or it is damaged"
    return [font_problem(path, path.relative_to(book.root).as_posix(), problem)]
