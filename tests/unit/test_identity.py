"""The book's identity: ISBNs read one way everywhere, and the identifier every output names."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dreambook.config import BookConfig
from dreambook.identity import identity_of
from dreambook.isbn import parse_isbn


@pytest.mark.parametrize(
    ("text", "compact"),
    [
        ("978-0-306-40615-7", "9780306406157"),
        ("978 0 306 40615 7", "9780306406157"),
        ("urn:isbn:9780306406157", "9780306406157"),
        ("URN:ISBN:978-0-306-40615-7", "9780306406157"),
        ("0-8044-2957-x", "080442957X"),
    ],
)
def test_an_isbn_is_read_with_hyphens_spaces_and_urn_prefix(text: str, compact: str) -> None:
    isbn = parse_isbn(text)
    assert isbn is not None
    assert isbn.compact == compact
    assert isbn.urn == f"urn:isbn:{compact}"
    assert not isbn.written.casefold().startswith("urn:")


@pytest.mark.parametrize(
    "text", ["978-0-306-40615-8", "0-8044-2957-1", "97803064061", "978030640615X", "isbn"]
)
def test_a_wrong_check_digit_or_length_is_no_isbn(text: str) -> None:
    assert parse_isbn(text) is None


def test_an_isbn10_has_the_isbn13_of_the_same_book() -> None:
    # ISBN-10 0-306-40615-2 and ISBN-13 978-0-306-40615-7 name the same book.
    isbn = parse_isbn("0-306-40615-2")
    assert isbn is not None
    assert isbn.isbn13 == "9780306406157"


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_every_isbn13_made_from_its_check_digit_is_valid_and_one_digit_off_is_not(
    twelve: str,
) -> None:
    check = (10 - sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(twelve)) % 10) % 10
    good = parse_isbn(twelve + str(check))
    assert good is not None
    assert good.isbn13 == twelve + str(check)
    assert parse_isbn(twelve + str((check + 1) % 10)) is None


def test_identity_carries_the_isbn_and_its_urn() -> None:
    config = BookConfig(title="T", authors=("A",), identifier="978-0-306-40615-7")
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    identity = identity_of(config, when)
    assert identity.isbn is not None
    assert identity.isbn.written == "978-0-306-40615-7"
    assert identity.urn == "urn:isbn:9780306406157"
    assert identity.modified == when


def test_a_book_without_identifier_gets_a_stable_uuid_from_title_and_authors() -> None:
    first = identity_of(BookConfig(title="T", authors=("A",)), None)
    again = identity_of(BookConfig(title="T", authors=("A",)), None)
    other = identity_of(BookConfig(title="T", authors=("B",)), None)
    assert first.isbn is None
    assert first.urn.startswith("urn:uuid:")
    assert first.urn == again.urn != other.urn


def test_a_uuid_identifier_is_written_in_canonical_form() -> None:
    config = BookConfig(title="T", identifier="urn:uuid:6F1C1F0E-4B7E-4D2A-9A55-3C2B8F0D7E41")
    assert identity_of(config, None).urn == "urn:uuid:6f1c1f0e-4b7e-4d2a-9a55-3c2b8f0d7e41"
