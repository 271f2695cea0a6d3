"""Scaffolding: ``dreambook init`` (a new book that builds at once) and ``dreambook new`` (a chapter).

Both write from templates in the styles folder (``new-book.toml.j2``, ``new-chapter.md.j2``),
so a house can change what a new chapter looks like without touching Python. The new
book.toml lists every key of config.BOOK_KEYS, so a key added there appears in it unasked.
"""

from __future__ import annotations

import datetime as dt
import difflib
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dreambook.config import BOOK_KEYS
from dreambook.config import BOOK_TOML as BOOK_TOML_NAME
from dreambook.diagnostics import diagnostic
from dreambook.errors import CodedUsageError, UsageError
from dreambook.fsutil import apply_output_modes, atomic_output
from dreambook.manuscript import Book, Chapter, load_book
from dreambook.placeholders import LINK_BLURB
from dreambook.slugs import slugify, title_key
from dreambook.styles import Styles, book_styles, default_styles_folder


@dataclass(frozen=True)
class NextStageLink:
    """An item for a new chapter's Next Stages list."""

    title: str
    href: str
    blurb: str


@dataclass(frozen=True)
class NewBookKey:
    """A key of a new book.toml: its doc line and value as TOML, written commented out or set."""

    key: str
    doc: str
    value: str
    commented: bool


@dataclass(frozen=True)
class NewBookTable:
    """A table of a new book.toml and its keys, in the order BOOK_KEYS declares them."""

    name: str
    keys: tuple[NewBookKey, ...]


def new_book_tables(values: Mapping[str, object]) -> tuple[NewBookTable, ...]:
    """Return every book.toml key, grouped by table, for the book.toml ``init`` writes.

    The keys named in ``values`` (``"book.title"`` and the like) are set to those values;
    every other key is commented out, showing its example or else its default. Raises
    KeyError when ``values`` names a key that book.toml does not have.
    """
    unknown = set(values) - {f"{key.table}.{key.key}" for key in BOOK_KEYS}
    if unknown:
        raise KeyError(f"book.toml has no key {', '.join(sorted(unknown))}")
    tables: dict[str, list[NewBookKey]] = {}
    for key in BOOK_KEYS:
        dotted = f"{key.table}.{key.key}"
        if dotted in values:
            value, commented = key.kind.toml(values[dotted]), False
        else:
            value, commented = key.example_toml or key.default_toml or "", True
        tables.setdefault(key.table, []).append(NewBookKey(key.key, key.doc, value, commented))
    return tuple(NewBookTable(name, tuple(keys)) for name, keys in tables.items())


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
    fresh = not (folder / "styles").exists()
    shutil.copytree(default_styles_folder(), folder / "styles", dirs_exist_ok=True)
    if fresh:
        # copytree keeps the installed package's modes; the author's copy gets the umask's.
        apply_output_modes(folder / "styles")
    written.append(folder / "styles")
    identifier = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'dreambook:{slug}:{today}')}"
    tables = new_book_tables(
        {
            "book.title": title,
            "book.author": author,
            # The default, written out: the author sees the key to change (check warns,
            # DB091, when a book.toml gives no language).
            "book.language": "en",
            "book.identifier": identifier,
            "book.date": today,
            "book.rights": f"Copyright © {today.year} {author}",
            "book.start": chapter_slug,
            "book.styles": "styles",
        }
    )
    book_toml = environment.get_template("new-book.toml.j2").render(tables=tables)
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


def _parent_chapter(book: Book, after: str) -> Chapter:
    """The chapter ``--after`` names; raises CodedUsageError (DB025) with the closest slugs."""
    by_slug = {chapter.slug: chapter for chapter in book.chapters}
    if after in by_slug:
        return by_slug[after]
    close = difflib.get_close_matches(after, list(by_slug), n=3, cutoff=0.5)
    if close:
        hint = "did you mean " + " or ".join(repr(slug) for slug in close) + "?"
    else:
        known = sorted(by_slug)
        listed = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
        hint = f"give the slug of a chapter (its file name without '.md'): {listed}"
    raise CodedUsageError(
        diagnostic(
            "DB025", f"--after names {after!r}, but no chapter has that slug", None, None, hint
        )
    )


def _refuse_taken_title(book: Book, title: str) -> None:
    """Raise CodedUsageError (DB026) when a chapter of ``book`` already has ``title``
    (compared as bare titles are matched, so that the two could not be told apart)."""
    key = title_key(title)
    taken = next((c for c in book.chapters if key and title_key(c.title) == key), None)
    if taken is not None:
        raise CodedUsageError(
            diagnostic(
                "DB026",
                f"the chapter {taken.source_path} is already titled {taken.title!r}",
                None,
                None,
                "choose another title, or edit that chapter",
            )
        )


def new_chapter(manuscript: Path, title: str, after: str | None) -> list[Path]:
    """Write a new chapter file with the house sections, next to the ``after`` chapter if given.

    With ``after``, the new chapter is added to the end of that chapter's Next Stages, and
    its own Next Stages lead back there. Raises CodedUsageError when ``after`` names no
    chapter (DB025) or a chapter already has the title (DB026), and UsageError when the
    chapter file exists or the title gives no slug.
    """
    book, _ = load_book(manuscript)
    slug = slugify(title)
    if not slug:
        raise UsageError(f"the title {title!r} has no letters or digits to make a file name from")
    parent = _parent_chapter(book, after) if after else None
    _refuse_taken_title(book, title)
    by_slug = {chapter.slug: chapter for chapter in book.chapters}
    if slug in by_slug:
        raise UsageError(f"a chapter with the slug {slug!r} already exists: {by_slug[slug].path}")
    folder = parent.path.parent if parent else manuscript
    destination = folder / f"{slug}.md"
    if destination.exists():
        raise UsageError(f"{destination} already exists")
    styles = book_styles(manuscript, book.config)
    next_stages = []
    if parent is not None:
        next_stages.append(NextStageLink(parent.title, f"{parent.path.stem}.md", LINK_BLURB))
    text = (
        styles.environment()
        .get_template("new-chapter.md.j2")
        .render(title=title, next_stages=next_stages)
    )
    written = [destination]
    _write_text(destination, text)
    if parent is not None:
        href = Path(destination).relative_to(parent.path.parent).as_posix()
        _write_text(parent.path, _insert_next_stage(parent, f"- [{title}]({href}) — {LINK_BLURB}"))
        written.append(parent.path)
    return written
