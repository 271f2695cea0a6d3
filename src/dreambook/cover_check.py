"""What ``check`` says about the book's covers, before anything is built.

The cover images themselves (missing, outside the book, not images) are checked with every
other image (resources.py); here: whether there is a cover at all, whether a cover image is
large enough for retailers, a price code without an ISBN, and a back-cover file that cannot
be read. A wrong ISBN check digit is found where book.toml is read (DB100, config.py).
"""

from __future__ import annotations

from pathlib import Path

from dreambook.config import BOOK_TOML, BookConfig
from dreambook.diagnostics import Diagnostic, diagnostic, over_size
from dreambook.errors import BuildError, ResourceOutsideError
from dreambook.fsutil import ConfinedReader
from dreambook.isbn import parse_isbn
from dreambook.manuscript import Book

# The smallest ebook cover retailers take without complaint: Amazon's and Apple's guidance
# asks for 1600 pixels wide and 2560 tall (a 1 : 1.6 page).
# The longest back-cover blurb laid out (some 10,000 words; a back cover holds a few hundred):
# a 20 MB one took the cover's layout 94 s and 900 MB.
MAX_BACK_TEXT_BYTES = 64 * 1024
MIN_COVER_WIDTH = 1600
MIN_COVER_HEIGHT = 2560


def _image_size(path: Path, root: Path) -> tuple[int, int] | None:
    """An image's pixel size from its header, or None when it cannot be read as a raster
    image (an SVG has no pixel size; resources.py reports unreadable files)."""
    from PIL import Image, UnidentifiedImageError

    try:
        resolved = ConfinedReader([root]).resolve(path)
        with Image.open(resolved) as image:
            # Only the pictures an EPUB may carry: others are refused (DB063) already.
            return image.size if image.format in {"PNG", "JPEG", "GIF", "WEBP"} else None
    except (OSError, UnidentifiedImageError, ValueError, ResourceOutsideError):
        # Unreadable, or out of the book: resources.py reports it (DB062, DB063, DB060).
        return None


def check_cover(book: Book) -> list[Diagnostic]:
    """The cover's warnings and errors (DB101-DB104) for ``book``. Raises nothing."""
    config = book.config
    found: list[Diagnostic] = []
    image_key = "epub.cover" if config.cover else "cover.front" if config.front else None
    if image_key is None and not config.authors:
        found.append(
            diagnostic(
                "DB101",
                "the book has no cover image, and no author to set a cover from",
                book.book_toml,
                None,
                "name the authors ([book] author) for a cover set from the title and author, "
                "or give a cover image ([cover] front)",
            )
        )
    if image_key is not None:
        source = config.cover or config.front
        assert source is not None
        size = _image_size(book.root / source, book.root)
        if size is not None and (size[0] < MIN_COVER_WIDTH or size[1] < MIN_COVER_HEIGHT):
            found.append(
                diagnostic(
                    "DB102",
                    f"the cover image {source!r} is {size[0]} × {size[1]} pixels, smaller than"
                    f" the {MIN_COVER_WIDTH} × {MIN_COVER_HEIGHT} ebook retailers ask for",
                    book.book_toml,
                    config.line_of(image_key),
                    f"export the cover at least {MIN_COVER_WIDTH} pixels wide and "
                    f"{MIN_COVER_HEIGHT} tall",
                )
            )
    isbn = parse_isbn(config.identifier) if config.identifier else None
    if config.price_code is not None and isbn is None:
        found.append(
            diagnostic(
                "DB103",
                "[cover] price_code is set, but the book has no ISBN, so no barcode carries it",
                book.book_toml,
                config.line_of("cover.price_code"),
                "set [book] identifier to the book's ISBN, or remove price_code",
            )
        )
    found += _back_text_problems(book)
    return found


def is_markdown_file(text: str) -> bool:
    """Whether ``[cover] back_text`` names a file (one line ending in .md) rather than
    holding the blurb itself."""
    return "\n" not in text and text.strip().lower().endswith(".md")


def read_back_text(config: BookConfig, root: Path) -> str | None:
    """The blurb's Markdown: ``[cover] back_text`` itself, or the text of the ``.md`` file
    it names inside the manuscript folder ``root``.

    Raises BuildError (DB104) when that file is missing or not UTF-8, (DB105) when the text
    is over ``MAX_BACK_TEXT_BYTES`` (a file that is, is not read), and ResourceOutsideError
    (DB060) when it leads out of the manuscript folder.
    """
    text = config.back_text
    line = config.line_of("cover.back_text")
    if text is None or not is_markdown_file(text):
        if text is not None and len(text.encode()) > MAX_BACK_TEXT_BYTES:
            raise BuildError([_back_text_too_long(root / BOOK_TOML, line, len(text.encode()))])
        return text
    try:
        data, size = ConfinedReader([root]).read_at_most(root / text, MAX_BACK_TEXT_BYTES, line)
        if data is None:
            raise BuildError([_back_text_too_long(root / text, None, size)])
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = "is not UTF-8" if isinstance(error, UnicodeDecodeError) else "cannot be read"
        raise BuildError(
            [
                diagnostic(
                    "DB104",
                    f"[cover] back_text {text!r} {reason}",
                    root / BOOK_TOML,
                    line,
                    "name a UTF-8 Markdown file inside the manuscript folder (its name "
                    "starting with _), or write the blurb itself",
                )
            ]
        ) from error


def _back_text_too_long(path: Path, line: int | None, size: int) -> Diagnostic:
    """DB105 for a back-cover blurb of ``size`` bytes, over ``MAX_BACK_TEXT_BYTES``."""
    hint = "a back cover holds a few hundred words: shorten the blurb to what it shows"
    return over_size("DB105", "the back-cover text", size, MAX_BACK_TEXT_BYTES, path, line, hint)


def _back_text_problems(book: Book) -> list[Diagnostic]:
    """DB104 (or DB060) when ``[cover] back_text`` names a file that cannot be read."""
    try:
        read_back_text(book.config, book.root)
    except BuildError as error:  # ResourceOutsideError is one
        return list(error.diagnostics)
    return []
