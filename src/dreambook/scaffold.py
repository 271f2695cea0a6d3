"""Scaffolding: ``dreambook init`` (a new book that builds at once) and ``dreambook new`` (a chapter).

Both write from templates in the styles folder (``new-book.toml.j2``, ``new-chapter.md.j2``),
so a house can change what a new chapter looks like without touching Python.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from dreambook.config import BOOK_TOML as BOOK_TOML_NAME
from dreambook.errors import UsageError
from dreambook.fsutil import atomic_output
from dreambook.manuscript import Chapter, load_book
from dreambook.slugs import slugify
from dreambook.styles import Styles, book_styles, default_styles_folder

_LINK_BLURB = "where the reader goes from here."


@dataclass(frozen=True)
class NextStageLink:
    """An item for a new chapter's Next Stages list."""

    title: str
    href: str
    blurb: str


def _write_text(destination: Path, text: str) -> None:
    with atomic_output(destination) as output:
        output.write(text.encode("utf-8"))


def init_book(folder: Path, title: str, author: str, today: dt.date) -> list[Path]:
    """Create a new manuscript folder holding book.toml, one chapter and a copy of the styles.

    The new book passes ``check --strict`` and builds as it is. Raises UsageError when the
    folder already holds a book.toml or chapter files.
    """
    if (folder / BOOK_TOML_NAME).exists() or any(folder.glob("*.md")):
        raise UsageError(f"{folder} already holds a book; choose an empty or new folder")
    styles = Styles((default_styles_folder(),))
    environment = styles.environment()
    slug = slugify(title) or "opening"
    chapter_slug = "opening"
    written: list[Path] = []
    shutil.copytree(default_styles_folder(), folder / "styles", dirs_exist_ok=True)
    written.append(folder / "styles")
    book_toml = environment.get_template("new-book.toml.j2").render(
        title=title,
        author=author,
        identifier=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'dreambook:{slug}:{today}')}",
        date=today.isoformat(),
        rights=f"Copyright © {today.year} {author}",
        start=chapter_slug,
    )
    _write_text(folder / BOOK_TOML_NAME, book_toml)
    written.append(folder / BOOK_TOML_NAME)
    chapter_text = environment.get_template("new-chapter.md.j2").render(
        title="The Opening", next_stages=[]
    )
    _write_text(folder / f"{chapter_slug}.md", chapter_text)
    written.append(folder / f"{chapter_slug}.md")
    return written


def _insert_next_stage(chapter: Chapter, item: str) -> str:
    """Return ``chapter``'s file text with ``item`` added at the end of its Next Stages list."""
    lines = chapter.path.read_text(encoding="utf-8").split("\n")
    if chapter.next_stages:
        index = chapter.next_stages[-1].line  # 1-based line of the last item = index after it
        while (
            index < len(lines) and lines[index].strip() and not lines[index].startswith(("#", "[^"))
        ):
            index += 1
        lines.insert(index, item)
        return "\n".join(lines)
    text = "\n".join(lines).rstrip("\n")
    return f"{text}\n\n## Next Stages\n\n{item}\n"


def new_chapter(manuscript: Path, title: str, after: str | None) -> list[Path]:
    """Write a new chapter file with the house sections, next to the ``after`` chapter if given.

    With ``after``, the new chapter is added to the end of that chapter's Next Stages, and
    its own Next Stages lead back there. Raises UsageError when the chapter file exists,
    the title gives no slug, or ``after`` names no chapter.
    """
    book, _ = load_book(manuscript)
    slug = slugify(title)
    if not slug:
        raise UsageError(f"the title {title!r} has no letters or digits to make a file name from")
    by_slug = {chapter.slug: chapter for chapter in book.chapters}
    if slug in by_slug:
        raise UsageError(f"a chapter with the slug {slug!r} already exists: {by_slug[slug].path}")
    parent = by_slug[after] if after else None
    if after and parent is None:
        raise UsageError(f"--after names {after!r}, but no chapter has that slug")
    folder = parent.path.parent if parent else manuscript
    destination = folder / f"{slug}.md"
    if destination.exists():
        raise UsageError(f"{destination} already exists")
    styles = book_styles(manuscript, book.config)
    next_stages = []
    if parent is not None:
        next_stages.append(NextStageLink(parent.title, f"{parent.path.stem}.md", _LINK_BLURB))
    text = (
        styles.environment()
        .get_template("new-chapter.md.j2")
        .render(title=title, next_stages=next_stages)
    )
    written = [destination]
    _write_text(destination, text)
    if parent is not None:
        href = Path(destination).relative_to(parent.path.parent).as_posix()
        _write_text(parent.path, _insert_next_stage(parent, f"- [{title}]({href}) — {_LINK_BLURB}"))
        written.append(parent.path)
    return written
