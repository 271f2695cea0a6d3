"""The manuscript as the later stages see it: a Book of Chapters, each with its line-numbered index.

Every heading, link, image, piece of raw markup and Next Stages item keeps the file line it
stands on, because the Markdown renderer keeps no line numbers and every later diagnostic
must name one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dreambook.config import BookConfig
from dreambook.manuscript.lock import OrderLock


@dataclass(frozen=True)
class Heading:
    """A heading of a chapter: level 2 headings are its sections."""

    level: int
    text: str
    id: str
    line: int


@dataclass(frozen=True)
class Link:
    """An inline link as written in the chapter (``href`` with percent-escapes decoded)."""

    text: str
    href: str
    line: int


@dataclass(frozen=True)
class Image:
    """An image reference as written in the chapter."""

    src: str
    alt: str
    line: int


@dataclass(frozen=True)
class RawMarkup:
    """Markup the author wrote by hand: raw HTML (``html``) or an attribute list (``attributes``).

    Recorded so that ``check`` can say, with the line, what the HTML sanitiser will remove.
    """

    kind: str
    text: str
    line: int


@dataclass(frozen=True)
class NextStageItem:
    """One item of a Next Stages list, not yet matched to a chapter.

    ``href``/``link_text`` are set when the item is written as a link; ``after_link`` is
    the text that follows the link (or, for a bare-title item, the whole item text).
    """

    text: str
    href: str | None
    link_text: str | None
    after_link: str
    line: int


@dataclass(frozen=True)
class Chapter:
    """One chapter file, read and indexed."""

    path: Path
    source_path: PurePosixPath
    slug: str
    slug_line: int
    title: str
    subtitle: str | None
    ending: bool
    markdown: str
    body_line: int
    headings: tuple[Heading, ...]
    links: tuple[Link, ...]
    images: tuple[Image, ...]
    next_stages_line: int | None
    next_stages: tuple[NextStageItem, ...]
    raw_markup: tuple[RawMarkup, ...] = ()
    # The line of the front matter's title (1 when the title is the file name's).
    title_line: int = 1

    @property
    def sections(self) -> tuple[Heading, ...]:
        """The chapter's ``##`` headings, in order."""
        return tuple(h for h in self.headings if h.level == 2)

    def section_ids(self) -> frozenset[str]:
        """Every heading id of the chapter, the targets a ``#fragment`` may name."""
        return frozenset(h.id for h in self.headings)

    def anchor(self, section_id: str | None = None) -> str:
        """Return the book-wide anchor of the chapter, or of one of its sections.

        Chapter slugs never contain ``--``, so ``slug--section`` is unique in the book as
        long as slugs are unique and section ids are unique within each chapter.
        """
        return self.slug if section_id is None else f"{self.slug}--{section_id}"


@dataclass(frozen=True)
class Book:
    """The whole manuscript: its folder, its book.toml and its chapters in file order."""

    root: Path
    config: BookConfig
    chapters: tuple[Chapter, ...]
    order_lock: OrderLock | None = None

    @property
    def book_toml(self) -> Path:
        """Path of the manuscript's book.toml."""
        return self.root / "book.toml"
