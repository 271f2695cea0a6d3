"""The metadata a catalogue reads: sort names, and the warnings for what book.toml leaves out."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreambook.config import parse_book_toml
from dreambook.manuscript import Book
from dreambook.retail import check_retail_metadata, sort_name, sort_names


@pytest.mark.parametrize(
    ("name", "sorted_as"),
    [
        ("Mara Ellison", "Ellison, Mara"),
        ("Ana  de la Cruz", "Cruz, Ana de la"),
        ("Homer", "Homer"),
        ("Ellison, Mara", "Ellison, Mara"),
    ],
)
def test_a_name_is_sorted_by_its_last_word(name: str, sorted_as: str) -> None:
    assert sort_name(name) == sorted_as


def _book(toml: str) -> Book:
    config, diagnostics = parse_book_toml(toml, Path("book.toml"))
    assert diagnostics == []
    return Book(Path("."), config, ())


def test_author_sort_names_the_authors_in_order_and_the_rest_are_derived() -> None:
    book = _book(
        '[book]\ntitle = "T"\nauthors = ["Mara Ellison", "Jo Park"]\n'
        'author_sort = "Ellison-Smith, Mara"\n'
    )
    assert sort_names(book.config) == ("Ellison-Smith, Mara", "Park, Jo")


def test_a_complete_book_toml_gives_no_catalogue_warning() -> None:
    book = _book(
        '[book]\ntitle = "T"\nauthor = "Mara Ellison"\nlanguage = "en-GB"\n'
        'identifier = "978-0-00-000000-2"\n'
    )
    assert check_retail_metadata(book) == []


def test_each_missing_piece_of_catalogue_metadata_is_a_coded_warning_at_the_title() -> None:
    book = _book('\n[book]\ntitle = "T"\nauthor_sort = ["A, B", "C, D"]\n')
    found = check_retail_metadata(book)
    assert [(d.code, d.is_error) for d in found] == [
        ("DB090", False),
        ("DB091", False),
        ("DB092", False),
        ("DB093", False),
    ]
    assert [d.line for d in found] == [3, 3, 3, 4]
    assert all(d.path == Path("book.toml") for d in found)
