"""What libraries and retailers read about a book: the checks of its catalogue metadata.

An EPUB with no author is listed as by "Unknown", one with no language may be read aloud
in the wrong voice, and one whose identifier is made up by dreambook is no product a
retailer can list. None of these stops a build; ``check`` warns about each (DB090-DB093).
Also here: the name a catalogue sorts an author by (the EPUB's ``file-as``).
"""

from __future__ import annotations

from dreambook.config import BookConfig
from dreambook.diagnostics import Diagnostic, diagnostic
from dreambook.manuscript import Book


def sort_name(name: str) -> str:
    """The form a catalogue sorts ``name`` by: the last word first ("Ellison, Mara").

    A single word, or a name already written with a comma, is returned as it is.
    """
    words = name.split()
    if len(words) < 2 or "," in name:
        return " ".join(words)
    return f"{words[-1]}, {' '.join(words[:-1])}"


def sort_names(config: BookConfig) -> tuple[str, ...]:
    """Each author's sort name: ``[book] author_sort`` where it gives one, else derived.

    ``author_sort`` names the authors in order; an author it leaves out gets
    :func:`sort_name` of their name.
    """
    given = config.author_sort
    return tuple(
        given[index] if index < len(given) else sort_name(author)
        for index, author in enumerate(config.authors)
    )


def check_retail_metadata(book: Book) -> list[Diagnostic]:
    """Warnings for the metadata a catalogue needs and book.toml leaves out.

    DB090 when it names no author, DB091 when it gives no language (the build assumes
    "en"), DB092 when it gives no identifier, DB093 when ``author_sort`` does not give
    one name per author. Raises nothing.
    """
    config, path = book.config, book.book_toml
    line = config.line_of("book.title")
    found: list[Diagnostic] = []
    if not config.authors:
        found.append(
            diagnostic(
                "DB090",
                "book.toml names no author: catalogues and reading systems will list the "
                'book as by "Unknown"',
                path,
                line,
                'add author = "Your Name" (or authors = [...]) under [book]',
            )
        )
    if config.line_of("book.language") is None:
        found.append(
            diagnostic(
                "DB091",
                f'book.toml gives no language: the outputs declare "{config.language}", and '
                "hyphenation and screen readers follow it",
                path,
                line,
                'add language = "en-GB" (a BCP 47 tag) under [book]',
            )
        )
    if config.identifier is None:
        found.append(
            diagnostic(
                "DB092",
                "book.toml gives no identifier: the EPUB gets a UUID made from the title and "
                "authors, which no retailer lists and which changes when they change",
                path,
                line,
                "add identifier = the ISBN of this edition (retailers ask for one), or a "
                "urn:uuid: of your own to keep the book's identity when its title changes",
            )
        )
    if config.author_sort and len(config.author_sort) != len(config.authors):
        found.append(
            diagnostic(
                "DB093",
                f"[book] author_sort gives {len(config.author_sort)} sort names for "
                f"{len(config.authors)} authors",
                path,
                config.line_of("book.author_sort"),
                "give one sort name per author, in the order of authors",
            )
        )
    return found
