"""The book's identity, worked out once per build and used by every writer.

Title, authors, language, the identifier (an ISBN, normalised, or a UUID URN, or one derived
from title and authors) and the dates a build stamps into its files. Writers read these
fields; none of them parses book.toml's identifier or looks up the source date again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

from dreambook.config import BookConfig
from dreambook.isbn import Isbn, parse_isbn
from dreambook.reproducible import source_date


@dataclass(frozen=True)
class BookIdentity:
    """Who and what the book is, as every output names it.

    ``identifier`` is book.toml's value as written (None when unset); ``isbn`` is set when
    that value is a valid ISBN; ``modified`` is the build's source date (reproducible.py),
    None when the build has none.
    """

    title: str
    subtitle: str | None
    authors: tuple[str, ...]
    language: str
    identifier: str | None
    isbn: Isbn | None
    date: dt.date | None
    modified: dt.datetime | None

    @property
    def urn(self) -> str:
        """The identifier as a URN: ``urn:isbn:`` and the compact ISBN, or ``urn:uuid:``.

        A book without an identifier gets a UUID derived (uuid5) from its title and authors,
        so every build of the same book carries the same identifier.
        """
        if self.identifier is None:
            name = "\n".join((self.title, *self.authors))
            return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'dreambook:' + name)}"
        if self.identifier.casefold().startswith("urn:uuid:"):
            return f"urn:uuid:{uuid.UUID(self.identifier[len('urn:uuid:') :])}"
        if self.isbn is not None:
            return self.isbn.urn
        return f"urn:isbn:{self.identifier}"


def identity_of(config: BookConfig, modified: dt.datetime | None) -> BookIdentity:
    """The identity of the book book.toml describes, with ``modified`` as its source date."""
    return BookIdentity(
        title=config.title,
        subtitle=config.subtitle,
        authors=config.authors,
        language=config.language,
        identifier=config.identifier,
        isbn=parse_isbn(config.identifier) if config.identifier is not None else None,
        date=config.date,
        modified=modified,
    )


def book_identity(manuscript: Path, config: BookConfig) -> BookIdentity:
    """The identity of the book in ``manuscript``, its source date looked up once (git may run)."""
    return identity_of(config, source_date(manuscript, config))
