"""The resources a PDF layout asked for and was refused, as DB061 warnings.

WeasyPrint's URL fetcher (weasy.py) serves files of the book only; what it refuses is
reported here at the file and line that refer to it, found by searching the chapters and
the print stylesheet for the address (only trusted raw HTML and a stylesheet can ask for
something ``check`` has not already refused).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from dreambook.diagnostics import Diagnostic, Severity
from dreambook.errors import DreambookError
from dreambook.fsutil import ConfinedReader

if TYPE_CHECKING:
    from dreambook.render import RenderedBook


def refused_diagnostics(
    urls: Sequence[str],
    book: RenderedBook,
    base_url: str,
    stylesheet: Path,
    folders: Sequence[Path],
) -> tuple[Diagnostic, ...]:
    """DB061 for each resource the layout asked for and was refused, at the file and line
    that refer to it when they can be found (a chapter's raw HTML, the print stylesheet)."""
    found = []
    for url in dict.fromkeys(urls):
        path, line = _where_referenced(url, book, base_url, stylesheet, folders)
        found.append(
            Diagnostic(
                Severity.WARNING,
                "DB061",
                f"the PDF layout asked for {url}, which is not a file of the book; it was left out",
                path,
                line,
                "a stylesheet or trusted raw HTML refers to it; use files inside the "
                "manuscript or styles folder",
            )
        )
    return tuple(found)


def _where_referenced(
    url: str, book: RenderedBook, base_url: str, stylesheet: Path, folders: Sequence[Path]
) -> tuple[Path | None, int | None]:
    """The first file and line of the chapters or the print stylesheet that write ``url``
    (or, for a local file, its name); (None, None) when none does."""
    parts = urlsplit(url)
    needles = [url, unquote(parts.path)] if parts.scheme != "file" else [url]
    if parts.scheme == "file" and PurePosixPath(unquote(parts.path)).name:
        needles.append(PurePosixPath(unquote(parts.path)).name)
    manuscript = Path(unquote(urlsplit(base_url).path))
    files = [manuscript / chapter.source_path for chapter in book.chapters]
    reader = ConfinedReader(list(folders))
    for file in [*files, stylesheet]:
        try:
            lines = reader.read_text(file).splitlines()
        except (OSError, UnicodeDecodeError, DreambookError):
            continue
        for needle in needles:
            for number, text in enumerate(lines, 1):
                if needle and needle in text:
                    return file, number
    return None, None
