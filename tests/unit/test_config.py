"""Unit tests for config.py: page geometry, book.toml -> BookConfig, and where keys stand."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from dreambook.config import (
    BookConfig,
    TomlLines,
    load_book_toml,
    parse_book_toml,
    parse_length,
    parse_trim_size,
)
from dreambook.diagnostics import Diagnostic, Severity

BOOK_TOML_PATH = Path("manuscript/book.toml")


def parse(source: str) -> tuple[BookConfig, list[Diagnostic]]:
    """Parse a dedented book.toml text; line 1 is the first line of ``source``."""
    return parse_book_toml(textwrap.dedent(source), BOOK_TOML_PATH)


def codes_and_lines(diagnostics: list[Diagnostic]) -> list[tuple[str, int | None]]:
    return [(d.code, d.line) for d in diagnostics]


# --- parse_length -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected_text", "expected_points"),
    [
        ("6in", "6in", 432.0),
        ("0.125in", "0.125in", 9.0),
        ("3 mm", "3mm", 3 * 72.0 / 25.4),
        ("  148mm  ", "148mm", 148 * 72.0 / 25.4),
        ("2.54cm", "2.54cm", 72.0),
        ("12pt", "12pt", 12.0),
        ("96px", "96px", 72.0),
    ],
)
def test_parse_length_gives_text_without_spaces_and_points(
    text: str, expected_text: str, expected_points: float
) -> None:
    length = parse_length(text)

    assert length.text == expected_text
    assert length.points == pytest.approx(expected_points)
    assert length.css == expected_text


@pytest.mark.parametrize("text", ["", "6", "in", "-1in", "6 inches", "6in 9in", "six in"])
def test_parse_length_rejects_bad_forms_with_an_example_in_the_message(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a length such as '6in'"):
        parse_length(text)


# --- parse_trim_size ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "width", "height"),
    [
        ("6in x 9in", "6in", "9in"),
        ("6in*9in", "6in", "9in"),
        ("5.5in × 8.5in", "5.5in", "8.5in"),
        ("148mm x 210mm", "148mm", "210mm"),
        ("15.6 cm x 23.4 cm", "15.6cm", "23.4cm"),
    ],
)
def test_parse_trim_size_reads_width_x_height(text: str, width: str, height: str) -> None:
    size = parse_trim_size(text)

    assert (size.width.text, size.height.text) == (width, height)
    assert size.css == f"{width} {height}"


def test_parse_trim_size_gives_points_for_each_side() -> None:
    size = parse_trim_size("6in x 9in")

    assert (size.width.points, size.height.points) == (432.0, 648.0)


def test_trim_size_unit_written_on_height_alone_applies_to_both_sides() -> None:
    size = parse_trim_size("5 x 8in")

    assert size.width.text == "5in"
    assert size.width.points == 360.0
    assert size.height.points == 576.0


@pytest.mark.parametrize("text", ["A5", "a5", "  A5 "])
def test_named_trim_size_a5_is_148_by_210_mm_in_any_case(text: str) -> None:
    size = parse_trim_size(text)

    assert (size.width.text, size.height.text) == ("148mm", "210mm")


@pytest.mark.parametrize(
    ("name", "width", "height"),
    [("A4", "210mm", "297mm"), ("us-trade", "6in", "9in"), ("Digest", "5.5in", "8.5in")],
)
def test_other_named_trim_sizes_resolve_to_their_dimensions(
    name: str, width: str, height: str
) -> None:
    size = parse_trim_size(name)

    assert (size.width.text, size.height.text) == (width, height)


@pytest.mark.parametrize("text", ["6in by 9in", "A7", "letter", ""])
def test_unrecognised_trim_size_message_shows_the_form_and_the_named_sizes(text: str) -> None:
    with pytest.raises(ValueError, match=r"WIDTH x HEIGHT") as raised:
        parse_trim_size(text)

    assert "a5" in str(raised.value)
    assert "us-trade" in str(raised.value)


@pytest.mark.parametrize("text", ["6 x 9", "6in x 9", "6in x nine"])
def test_trim_size_with_a_side_that_is_not_a_length_raises(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a (length|trim size)"):
        parse_trim_size(text)


@pytest.mark.parametrize("text", ["0in x 9in", "6in x 0mm"])
def test_trim_size_with_a_zero_side_raises(text: str) -> None:
    with pytest.raises(ValueError, match=r"has a zero side"):
        parse_trim_size(text)


def test_trim_size_in_pixels_is_accepted_like_other_units() -> None:
    size = parse_trim_size("600px x 900px")

    assert (size.width.text, size.height.text) == ("600px", "900px")


# --- parse_book_toml: a full valid book.toml --------------------------------------------------

FULL_BOOK_TOML = """\
[book]
title = "The Dream Book"
subtitle = "Paths Through the Night"
author = "Ada Writer"
language = "en-GB"
identifier = "978-0-306-40615-7"
publisher = "Night Press"
date = 2026-11-25
rights = "All rights reserved"
description = "Chapters that lead to one another."
start = "waking-up"
appendix = ["glossary", "credits"]
next_stages_heading = "Where Next"

[print]
trim_size = "5.5in × 8.5in"
bleed = "3mm"

[epub]
cover = "images/cover.jpg"
"""


def test_full_book_toml_gives_every_field_typed_and_no_diagnostics() -> None:
    config, diagnostics = parse(FULL_BOOK_TOML)

    assert diagnostics == []
    assert config == BookConfig(
        title="The Dream Book",
        subtitle="Paths Through the Night",
        authors=("Ada Writer",),
        language="en-GB",
        identifier="978-0-306-40615-7",
        publisher="Night Press",
        date=dt.date(2026, 11, 25),
        rights="All rights reserved",
        description="Chapters that lead to one another.",
        start="waking-up",
        appendix=("glossary", "credits"),
        next_stages_heading="Where Next",
        trim_size=parse_trim_size("5.5in x 8.5in"),
        bleed=parse_length("3mm"),
        cover="images/cover.jpg",
    )


def test_full_book_toml_records_the_line_of_each_key_and_table() -> None:
    config, _ = parse(FULL_BOOK_TOML)

    assert config.line_of("book") == 1
    assert config.line_of("book.title") == 2
    assert config.line_of("book.start") == 11
    assert config.line_of("print") == 15
    assert config.line_of("print.trim_size") == 16
    assert config.line_of("epub.cover") == 20
    assert config.line_of("book.cover") is None


def test_minimal_book_toml_leaves_defaults_for_unset_keys() -> None:
    config, diagnostics = parse(
        """\
        [book]
        title = "Small"
        """
    )

    assert diagnostics == []
    assert config.title == "Small"
    assert config.authors == ()
    assert config.language == "en"
    assert config.start is None
    assert config.appendix == ()
    assert config.next_stages_heading == "Next Stages"
    assert config.trim_size == parse_trim_size("6in x 9in")
    assert config.bleed == parse_length("0.125in")
    assert config.cover is None


def test_authors_list_gives_authors_tuple_in_order() -> None:
    config, diagnostics = parse(
        """\
        [book]
        title = "T"
        authors = ["Ada Writer", " Bo Reader "]
        """
    )

    assert diagnostics == []
    assert config.authors == ("Ada Writer", "Bo Reader")


def test_single_author_gives_one_element_authors_tuple() -> None:
    config, _ = parse('[book]\ntitle = "T"\nauthor = "Ada Writer"\n')

    assert config.authors == ("Ada Writer",)


def test_date_written_as_string_is_parsed_as_a_date() -> None:
    config, diagnostics = parse('[book]\ntitle = "T"\ndate = "2026-11-25"\n')

    assert diagnostics == []
    assert config.date == dt.date(2026, 11, 25)


def test_date_written_as_toml_datetime_keeps_only_the_date() -> None:
    config, diagnostics = parse('[book]\ntitle = "T"\ndate = 2026-11-25T08:30:00Z\n')

    assert diagnostics == []
    assert config.date == dt.date(2026, 11, 25)
    assert type(config.date) is dt.date


def test_identifier_as_urn_uuid_is_accepted() -> None:
    urn = "urn:uuid:12345678-1234-5678-1234-567812345678"
    config, diagnostics = parse(f'[book]\ntitle = "T"\nidentifier = "{urn}"\n')

    assert diagnostics == []
    assert config.identifier == urn


@pytest.mark.parametrize(
    "isbn", ["978-0-306-40615-7", "9780306406157", "978 0 306 40615 7", "urn:isbn:9780306406157"]
)
def test_identifier_as_isbn13_with_hyphens_or_spaces_is_accepted(isbn: str) -> None:
    config, diagnostics = parse(f'[book]\ntitle = "T"\nidentifier = "{isbn}"\n')

    assert diagnostics == []
    assert config.identifier == isbn


def test_identifier_as_isbn10_with_x_check_digit_is_accepted() -> None:
    config, diagnostics = parse('[book]\ntitle = "T"\nidentifier = "0-8044-2957-X"\n')

    assert diagnostics == []
    assert config.identifier == "0-8044-2957-X"


def test_string_values_are_stripped_of_surrounding_whitespace() -> None:
    config, _ = parse('[book]\ntitle = "  Spaced Out  "\nstart = " one "\n')

    assert config.title == "Spaced Out"
    assert config.start == "one"


# --- load_book_toml: files ----------------------------------------------------------------------


def test_missing_book_toml_is_db001_on_the_book_toml_path_with_no_line(tmp_path: Path) -> None:
    config, diagnostics = load_book_toml(tmp_path)

    assert codes_and_lines(diagnostics) == [("DB001", None)]
    assert diagnostics[0].path == tmp_path / "book.toml"
    assert diagnostics[0].severity is Severity.ERROR
    assert diagnostics[0].hint is not None
    assert config == BookConfig()


def test_book_toml_is_read_from_the_manuscript_folder(tmp_path: Path) -> None:
    (tmp_path / "book.toml").write_text(FULL_BOOK_TOML, encoding="utf-8")

    config, diagnostics = load_book_toml(tmp_path)

    assert diagnostics == []
    assert config.title == "The Dream Book"


def test_book_toml_with_utf8_bom_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "book.toml").write_bytes(b'\xef\xbb\xbf[book]\ntitle = "T"\n')

    config, diagnostics = load_book_toml(tmp_path)

    assert diagnostics == []
    assert config.title == "T"


def test_non_utf8_book_toml_is_db002_on_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    raw = b'[book]\ntitle = "T"\nauthor = "Caf\xe9 Writer"\n'
    (tmp_path / "book.toml").write_bytes(raw)

    config, diagnostics = load_book_toml(tmp_path)

    bad_byte_offset = raw.index(b"\xe9")
    assert codes_and_lines(diagnostics) == [("DB002", 3)]
    assert f"byte offset {bad_byte_offset}" in diagnostics[0].message
    assert diagnostics[0].path == tmp_path / "book.toml"
    assert config == BookConfig()


# --- parse_book_toml: diagnostics ---------------------------------------------------------------


def test_malformed_toml_is_db002_on_the_line_of_the_error() -> None:
    config, diagnostics = parse(
        """\
        [book]
        title = "T"
        author =
        start = "one"
        """
    )

    assert codes_and_lines(diagnostics) == [("DB002", 3)]
    assert diagnostics[0].message.startswith("book.toml is not valid TOML: ")
    assert "(at line" not in diagnostics[0].message
    assert diagnostics[0].path == BOOK_TOML_PATH
    assert config == BookConfig()


def test_unclosed_string_in_toml_is_db002_on_its_line() -> None:
    _, diagnostics = parse('[book]\n\ntitle = "never closed\n')

    assert codes_and_lines(diagnostics) == [("DB002", 3)]


def test_unknown_key_in_book_table_is_db003_on_the_keys_own_line() -> None:
    _, diagnostics = parse(
        """\
        [book]
        title = "T"
        colour = "blue"
        start = "one"
        """
    )

    assert codes_and_lines(diagnostics) == [("DB003", 3)]
    assert "'colour'" in diagnostics[0].message
    assert "[book]" in diagnostics[0].message
    assert diagnostics[0].hint is not None
    assert "start" in diagnostics[0].hint


def test_unknown_table_is_db003_on_the_table_header_line() -> None:
    _, diagnostics = parse(
        """\
        [book]
        title = "T"

        [extras]
        colour = "blue"
        """
    )

    assert codes_and_lines(diagnostics) == [("DB003", 4)]
    assert "'extras'" in diagnostics[0].message


def test_top_level_key_outside_any_table_is_db003_on_its_line() -> None:
    _, diagnostics = parse(
        """\
        title = "Forgot the table"
        [book]
        title = "T"
        """
    )

    assert codes_and_lines(diagnostics) == [("DB003", 1)]


@pytest.mark.parametrize("tag", ["english", "en_GB", "e", "en-", "123"])
def test_bad_language_tag_is_db004_on_the_language_line_and_falls_back_to_en(tag: str) -> None:
    config, diagnostics = parse(f'[book]\ntitle = "T"\nlanguage = "{tag}"\n')

    assert codes_and_lines(diagnostics) == [("DB004", 3)]
    assert "BCP 47" in diagnostics[0].message
    assert config.language == "en"


@pytest.mark.parametrize(
    ("identifier", "expected"), [("978-0-306-40615-8", "7"), ("0-8044-2957-1", "X")]
)
def test_an_isbn_with_a_wrong_check_digit_is_db100_naming_the_right_digit(
    identifier: str, expected: str
) -> None:
    config, diagnostics = parse(f'[book]\ntitle = "T"\n\nidentifier = "{identifier}"\n')

    assert codes_and_lines(diagnostics) == [("DB100", 4)]
    assert diagnostics[0].severity is Severity.ERROR
    assert f"should be {expected}" in (diagnostics[0].hint or "")
    assert config.identifier is None


@pytest.mark.parametrize("identifier", ["12345", "978-0-306-4061", "urn:uuid:not-a-uuid"])
def test_bad_identifier_is_db004_on_the_identifier_line(identifier: str) -> None:
    config, diagnostics = parse(f'[book]\ntitle = "T"\n\nidentifier = "{identifier}"\n')

    assert codes_and_lines(diagnostics) == [("DB004", 4)]
    assert identifier in diagnostics[0].message
    assert config.identifier is None


def test_bad_trim_size_is_db004_on_its_line_in_print_and_keeps_the_default() -> None:
    config, diagnostics = parse(
        """\
        [book]
        title = "T"

        [print]
        bleed = "3mm"
        trim_size = "6in by 9in"
        """
    )

    assert codes_and_lines(diagnostics) == [("DB004", 6)]
    assert diagnostics[0].message.startswith("[print] trim_size: ")
    assert "WIDTH x HEIGHT" in diagnostics[0].message
    assert config.trim_size == parse_trim_size("6in x 9in")
    assert config.bleed == parse_length("3mm")


def test_bad_bleed_is_db004_on_its_line() -> None:
    config, diagnostics = parse('[book]\ntitle = "T"\n[print]\nbleed = "an eighth"\n')

    assert codes_and_lines(diagnostics) == [("DB004", 4)]
    assert config.bleed == parse_length("0.125in")


def test_both_author_and_authors_is_db004_on_the_authors_line() -> None:
    config, diagnostics = parse(
        """\
        [book]
        title = "T"
        author = "Ada"
        authors = ["Ada", "Bo"]
        """
    )

    assert codes_and_lines(diagnostics) == [("DB004", 4)]
    assert "both author and authors" in diagnostics[0].message
    assert config.authors == ("Ada",)


def test_missing_title_is_db004_on_the_book_table_line() -> None:
    config, diagnostics = parse(
        """\
        # A book with no title

        [book]
        author = "Ada"
        """
    )

    assert codes_and_lines(diagnostics) == [("DB004", 3)]
    assert diagnostics[0].message == "[book] title is required"
    assert config.title == "Untitled"


def test_missing_book_table_is_db004_with_no_line() -> None:
    _, diagnostics = parse('[print]\ntrim_size = "A5"\n')

    assert codes_and_lines(diagnostics) == [("DB004", None)]


def test_start_that_is_a_number_is_db004_on_the_start_line() -> None:
    config, diagnostics = parse(
        """\
        [book]
        title = "T"
        start = 3
        """
    )

    assert codes_and_lines(diagnostics) == [("DB004", 3)]
    assert diagnostics[0].message == "[book] start must be a non-empty string"
    assert config.start is None


def test_empty_string_value_is_db004_on_its_line() -> None:
    _, diagnostics = parse('[book]\ntitle = "T"\npublisher = "   "\n')

    assert codes_and_lines(diagnostics) == [("DB004", 3)]


def test_appendix_that_is_not_a_list_of_strings_is_db004_on_its_line() -> None:
    config, diagnostics = parse('[book]\ntitle = "T"\nappendix = ["a", 2]\n')

    assert codes_and_lines(diagnostics) == [("DB004", 3)]
    assert config.appendix == ()


def test_date_that_is_not_a_date_is_db004_on_its_line() -> None:
    config, diagnostics = parse('[book]\ntitle = "T"\ndate = "next spring"\n')

    assert codes_and_lines(diagnostics) == [("DB004", 3)]
    assert config.date is None


def test_every_bad_key_is_reported_in_one_pass() -> None:
    _, diagnostics = parse(
        """\
        [book]
        title = "T"
        language = "english"
        start = 3
        colour = "blue"
        """
    )

    assert sorted(codes_and_lines(diagnostics)) == [("DB003", 5), ("DB004", 3), ("DB004", 4)]


# --- TomlLines ----------------------------------------------------------------------------------


def test_toml_lines_finds_keys_after_a_multiline_basic_string() -> None:
    where = TomlLines(
        textwrap.dedent(
            '''\
            [book]
            title = "T"
            description = """
            A long description.
            start = "not-a-key"
            [print]
            """
            rights = "CC-BY"

            [print]
            trim_size = "A5"
            '''
        )
    )

    assert where.line("book.description") == 3
    assert where.line("book.rights") == 8
    assert where.line("book.start") is None
    assert where.line("print") == 10
    assert where.line("print.trim_size") == 11


def test_toml_lines_finds_keys_after_a_multiline_literal_string() -> None:
    where = TomlLines("[book]\ndescription = '''first\nsecond = 2\nthird'''\nstart = \"one\"\n")

    assert where.line("book.second") is None
    assert where.line("book.start") == 5


def test_toml_lines_is_not_fooled_by_a_one_line_triple_quoted_string() -> None:
    where = TomlLines('[book]\ndescription = """short"""\nstart = "one"\n')

    assert where.line("book.start") == 3


def test_toml_lines_keeps_same_key_in_print_and_book_apart() -> None:
    where = TomlLines('[book]\ntitle = "T"\n\n[print]\ntitle = "oops"\n')

    assert where.line("book.title") == 2
    assert where.line("print.title") == 5
    assert where.line("print") == 4


def test_same_key_name_in_the_wrong_table_is_reported_on_that_tables_line() -> None:
    _, diagnostics = parse('[book]\ntitle = "T"\n\n[print]\ntitle = "oops"\n')

    assert codes_and_lines(diagnostics) == [("DB003", 5)]
    assert "[print]" in diagnostics[0].message


def test_unknown_key_after_a_multiline_string_is_reported_on_its_own_line() -> None:
    _, diagnostics = parse(
        '''\
        [book]
        title = "T"
        description = """
        colour = "inside the string, not a key"
        """
        colour = "blue"
        '''
    )

    assert codes_and_lines(diagnostics) == [("DB003", 6)]


def test_toml_lines_reads_quoted_keys_and_spaced_table_headers() -> None:
    where = TomlLines('[ book ]  # the book\n"title" = "T"\n')

    assert where.line("book") == 1
    assert where.line("book.title") == 2
