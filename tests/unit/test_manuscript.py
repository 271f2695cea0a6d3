"""Unit tests for the manuscript package: chapter files -> Chapter, with front matter, index and diagnostics."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from dreambook.diagnostics import Diagnostic, Severity
from dreambook.manuscript import (
    Chapter,
    Heading,
    Image,
    Link,
    NextStageItem,
    chapter_files,
    load_book,
    read_chapter,
)
from tests.conftest import MINIMAL_TOML, WriteBook, chapter


def read(
    write_book: WriteBook,
    content: str | bytes,
    name: str = "one.md",
    next_stages_heading: str = "Next Stages",
) -> tuple[Chapter, list[Diagnostic]]:
    """Write one chapter file into a fresh manuscript folder and read it."""
    root = write_book({name: content})
    return read_chapter(root / name, root, next_stages_heading)


def codes_and_lines(diagnostics: list[Diagnostic]) -> list[tuple[str, int | None]]:
    return [(d.code, d.line) for d in diagnostics]


def page(body: str) -> str:
    """A chapter titled "T" whose body (dedented) starts on file line 5."""
    return chapter("T", body)


# --- front matter -------------------------------------------------------------------------------


def test_front_matter_fields_are_read_into_the_chapter(write_book: WriteBook) -> None:
    text = chapter("The Dark Wood", "Text.\n", subtitle="A Night Walk", slug="dark", ending="true")

    found, diagnostics = read(write_book, text, name="part-1/wood.md")

    assert diagnostics == []
    assert found.title == "The Dark Wood"
    assert found.subtitle == "A Night Walk"
    assert found.slug == "dark"
    assert found.slug_line == 4
    assert found.ending is True
    assert found.source_path == PurePosixPath("part-1/wood.md")


def test_chapter_without_slug_gets_the_slug_of_its_file_name(write_book: WriteBook) -> None:
    found, diagnostics = read(write_book, chapter("Anything"), name="02 The Dark_Wood.md")

    assert diagnostics == []
    assert found.slug == "02-the-dark-wood"
    assert found.slug_line == 1
    assert found.subtitle is None
    assert found.ending is False


@pytest.mark.parametrize(("written", "title"), [("1984", "1984"), ("3.10", "3.10"), ("yes", "yes")])
def test_title_that_yaml_would_type_stays_the_text_as_written(
    write_book: WriteBook, written: str, title: str
) -> None:
    found, diagnostics = read(write_book, chapter(written))

    assert diagnostics == []
    assert found.title == title


def test_title_whitespace_is_folded_to_single_spaces(write_book: WriteBook) -> None:
    found, _ = read(write_book, '---\ntitle: "  Many    spaces  "\n---\n\nText.\n')

    assert found.title == "Many spaces"


def test_ending_false_is_read_as_false(write_book: WriteBook) -> None:
    found, diagnostics = read(write_book, chapter("T", ending="false"))

    assert diagnostics == []
    assert found.ending is False


def test_body_line_is_the_line_after_the_closing_fence(write_book: WriteBook) -> None:
    found, _ = read(write_book, "---\ntitle: T\nsubtitle: S\n---\nFirst line of text.\n")

    assert found.body_line == 5
    assert found.markdown == "First line of text.\n"


def test_front_matter_may_close_with_three_dots(write_book: WriteBook) -> None:
    found, diagnostics = read(write_book, "---\ntitle: T\n...\n\nText.\n")

    assert diagnostics == []
    assert found.title == "T"


# --- front matter diagnostics ---------------------------------------------------------------------


def test_file_without_front_matter_is_db011_on_line_1(write_book: WriteBook) -> None:
    found, diagnostics = read(write_book, "# A Heading\n\nNo front matter here.\n", name="loose.md")

    assert codes_and_lines(diagnostics) == [("DB011", 1)]
    assert diagnostics[0].path == found.path
    assert found.path.name == "loose.md"
    assert found.title == "loose"
    assert found.markdown == ""


def test_unclosed_front_matter_is_reported_on_line_1(write_book: WriteBook) -> None:
    found, diagnostics = read(write_book, "---\ntitle: T\n\nThe text goes on.\n")

    assert codes_and_lines(diagnostics) == [("DB012", 1)]
    assert "never closed" in diagnostics[0].message
    assert diagnostics[0].path == found.path


def test_yaml_syntax_error_is_db012_on_the_file_line_of_the_error(write_book: WriteBook) -> None:
    found, diagnostics = read(write_book, "---\ntitle: T\nsubtitle: Part: One\n---\n\nText.\n")

    assert codes_and_lines(diagnostics) == [("DB012", 3)]
    assert diagnostics[0].message.startswith("the front matter is not valid YAML")
    assert diagnostics[0].path == found.path


def test_unbalanced_quote_on_last_front_matter_line_is_db012_on_that_line(
    write_book: WriteBook,
) -> None:
    _, diagnostics = read(write_book, '---\ntitle: T\nsubtitle: "oops\n---\n\nText.\n')

    assert codes_and_lines(diagnostics) == [("DB012", 3)]


def test_unbalanced_quote_is_db012_on_the_line_of_the_quote_not_the_end(
    write_book: WriteBook,
) -> None:
    text = '---\ntitle: T\nsubtitle: "oops\nslug: s\nending: true\n---\n\nText.\n'

    _, diagnostics = read(write_book, text)

    assert codes_and_lines(diagnostics) == [("DB012", 3)]


def test_front_matter_that_is_a_list_is_db013_on_its_first_line(write_book: WriteBook) -> None:
    _, diagnostics = read(write_book, "---\n- title\n- T\n---\n\nText.\n")

    assert codes_and_lines(diagnostics) == [("DB013", 2)]


def test_front_matter_without_title_is_db014_on_line_1(write_book: WriteBook) -> None:
    found, diagnostics = read(write_book, "---\nsubtitle: S\n---\n\nText.\n", name="notitle.md")

    assert codes_and_lines(diagnostics) == [("DB014", 1)]
    assert diagnostics[0].message == "the front matter has no title"
    assert found.title == "notitle"


def test_empty_front_matter_is_db014_on_line_1(write_book: WriteBook) -> None:
    _, diagnostics = read(write_book, "---\n---\n\nText.\n")

    assert codes_and_lines(diagnostics) == [("DB014", 1)]


@pytest.mark.parametrize("written", ["title:", 'title: ""', "title: '   '", "title: null"])
def test_empty_title_is_db014_on_the_title_line(write_book: WriteBook, written: str) -> None:
    _, diagnostics = read(write_book, f"---\nsubtitle: S\n{written}\n---\n\nText.\n")

    assert codes_and_lines(diagnostics) == [("DB014", 3)]
    assert diagnostics[0].message == "the title is empty"


def test_subtitle_that_is_a_mapping_is_db015_on_the_subtitle_line(write_book: WriteBook) -> None:
    found, diagnostics = read(write_book, "---\ntitle: T\nsubtitle:\n  part: one\n---\n\nText.\n")

    assert codes_and_lines(diagnostics) == [("DB015", 3)]
    assert "'subtitle'" in diagnostics[0].message
    assert found.subtitle is None


@pytest.mark.parametrize("written", ["maybe", '"true"', "1", "[true]"])
def test_ending_that_is_not_a_bool_is_db015_on_the_ending_line(
    write_book: WriteBook, written: str
) -> None:
    found, diagnostics = read(write_book, f"---\ntitle: T\n\nending: {written}\n---\n\nText.\n")

    assert codes_and_lines(diagnostics) == [("DB015", 4)]
    assert "'ending'" in diagnostics[0].message
    assert found.ending is False


def test_unknown_front_matter_key_is_a_db016_warning_on_the_keys_line(
    write_book: WriteBook,
) -> None:
    found, diagnostics = read(write_book, "---\ntitle: T\nauthor: Ada\n---\n\nText.\n")

    assert codes_and_lines(diagnostics) == [("DB016", 3)]
    assert diagnostics[0].severity is Severity.WARNING
    assert "'author'" in diagnostics[0].message
    assert found.title == "T"


def test_empty_chapter_file_is_db017_on_line_1(write_book: WriteBook) -> None:
    found, diagnostics = read(write_book, b"", name="blank.md")

    assert codes_and_lines(diagnostics) == [("DB017", 1)]
    assert diagnostics[0].message == "the chapter file is empty"
    assert found.title == "blank"


def test_whitespace_only_chapter_file_is_db017_on_line_1(write_book: WriteBook) -> None:
    _, diagnostics = read(write_book, " \n\t\n\n")

    assert codes_and_lines(diagnostics) == [("DB017", 1)]
    assert diagnostics[0].message == "the chapter file holds only whitespace"


@pytest.mark.parametrize(
    "text", ["---\ntitle: T\n---\n", "---\ntitle: T\n---", "---\ntitle: T\n---\n\n  \n"]
)
def test_front_matter_without_text_is_db018_warning_on_the_closing_fence_line(
    write_book: WriteBook, text: str
) -> None:
    _, diagnostics = read(write_book, text)

    assert codes_and_lines(diagnostics) == [("DB018", 3)]
    assert diagnostics[0].severity is Severity.WARNING


@pytest.mark.parametrize("slug", ["My Slug", "a--b", "-lead", "trail-", "under_score", "Café"])
def test_bad_slug_is_db019_on_the_slug_line_and_the_file_slug_is_used(
    write_book: WriteBook, slug: str
) -> None:
    found, diagnostics = read(write_book, f'---\ntitle: T\nslug: "{slug}"\n---\n\nText.\n')

    assert codes_and_lines(diagnostics) == [("DB019", 3)]
    assert found.slug == "one"


def test_bad_slug_hint_suggests_a_slugified_form(write_book: WriteBook) -> None:
    _, diagnostics = read(write_book, chapter("T", slug="My Slug"))

    assert diagnostics[0].hint is not None
    assert "'my-slug'" in diagnostics[0].hint


# --- decoding -------------------------------------------------------------------------------------


def test_non_utf8_bytes_are_db010_with_byte_offset_on_the_line_of_the_bad_byte(
    write_book: WriteBook,
) -> None:
    raw = b"---\ntitle: T\n---\n\nA caf\xe9 on line five.\n"
    bad_byte_offset = raw.index(b"\xe9")

    found, diagnostics = read(write_book, raw, name="cafe.md")

    assert codes_and_lines(diagnostics) == [("DB010", 5)]
    assert f"byte offset {bad_byte_offset}" in diagnostics[0].message
    assert "0xe9" in diagnostics[0].message
    assert diagnostics[0].path == found.path
    assert found.title == "cafe"


def test_non_utf8_byte_in_crlf_file_is_on_the_line_of_the_bad_byte(write_book: WriteBook) -> None:
    _, diagnostics = read(write_book, b"---\r\ntitle: T\r\n---\r\n\r\nA caf\xe9.\r\n")

    assert codes_and_lines(diagnostics) == [("DB010", 5)]


def test_non_utf8_byte_in_lone_cr_file_is_on_the_line_of_the_bad_byte(
    write_book: WriteBook,
) -> None:
    _, diagnostics = read(write_book, b"---\rtitle: T\r---\r\rA caf\xe9.\r")

    assert codes_and_lines(diagnostics) == [("DB010", 5)]


def test_utf8_bom_is_accepted_and_not_part_of_the_text(write_book: WriteBook) -> None:
    found, diagnostics = read(write_book, "\ufeff" + page("## First\n"))

    assert diagnostics == []
    assert found.title == "T"
    assert found.headings == (Heading(2, "First", "first", 5),)


LINE_ENDING_SAMPLE = """\
---
title: Endings
---

# Endings

A paragraph with [a link](a.md)
and [another](b.md) on line 8.

## Next Stages

- [Onward](c.md) — the road goes on
"""


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "lone-cr"])
def test_crlf_and_lone_cr_files_index_like_lf(write_book: WriteBook, newline: str) -> None:
    lf, lf_diagnostics = read(write_book, LINE_ENDING_SAMPLE, name="lf.md")
    other, other_diagnostics = read(
        write_book, LINE_ENDING_SAMPLE.replace("\n", newline).encode(), name="other.md"
    )

    assert lf_diagnostics == other_diagnostics == []
    assert other.headings == lf.headings
    assert other.links == lf.links
    assert other.next_stages == lf.next_stages
    assert other.next_stages_line == lf.next_stages_line == 10
    assert other.markdown == lf.markdown
    assert "\r" not in other.markdown
    assert [link.line for link in lf.links] == [7, 8]


# --- headings -------------------------------------------------------------------------------------


def test_headings_get_slug_ids_and_their_file_lines(write_book: WriteBook) -> None:
    found, _ = read(
        write_book,
        page(
            """\
            # Chapter Heading

            ## Can't See — Why?

            ### Deeper *Down*
            """
        ),
    )

    assert found.headings == (
        Heading(1, "Chapter Heading", "chapter-heading", 5),
        Heading(2, "Can't See — Why?", "cant-see-why", 7),
        Heading(3, "Deeper Down", "deeper-down", 9),
    )
    assert found.sections == (Heading(2, "Can't See — Why?", "cant-see-why", 7),)


@pytest.mark.parametrize(
    "written", ["## Getting There {#custom}", "## Getting There {: #custom .wide }"]
)
def test_heading_with_explicit_id_uses_it_and_drops_it_from_the_text(
    write_book: WriteBook, written: str
) -> None:
    found, _ = read(write_book, page(f"{written}\n"))

    assert found.headings == (Heading(2, "Getting There", "custom", 5),)
    assert found.section_ids() == frozenset({"custom"})


def test_setext_heading_is_on_the_line_of_its_text(write_book: WriteBook) -> None:
    found, _ = read(write_book, page("Intro\n\nUnderlined\n----------\n"))

    assert found.headings == (Heading(2, "Underlined", "underlined", 7),)


def test_duplicate_section_id_is_db021_on_the_line_of_the_second_heading(
    write_book: WriteBook,
) -> None:
    found, diagnostics = read(
        write_book,
        page(
            """\
            ## Can't Stop

            Text.

            ## Cant Stop!
            """
        ),
    )

    assert codes_and_lines(diagnostics) == [("DB021", 9)]
    assert "'cant-stop'" in diagnostics[0].message
    assert "line 5" in diagnostics[0].message
    assert diagnostics[0].path == found.path


def test_explicit_id_that_repeats_a_slug_id_is_db021(write_book: WriteBook) -> None:
    _, diagnostics = read(write_book, page("## Intro\n\n## Other {#intro}\n"))

    assert codes_and_lines(diagnostics) == [("DB021", 7)]


def test_explicit_id_avoids_a_duplicate_section_id(write_book: WriteBook) -> None:
    _, diagnostics = read(write_book, page("## Intro\n\n## Intro {#intro-again}\n"))

    assert diagnostics == []


# --- links and images ---------------------------------------------------------------------------


def test_link_on_second_line_of_a_paragraph_is_on_that_line(write_book: WriteBook) -> None:
    found, _ = read(
        write_book,
        page(
            """\
            The first line has [one](one.md),
            the second line has [two](two.md)
            and the third *has* [three](three.md#part).
            """
        ),
    )

    assert found.links == (
        Link("one", "one.md", 5),
        Link("two", "two.md", 6),
        Link("three", "three.md#part", 7),
    )


def test_link_after_a_hard_line_break_is_on_the_next_line(write_book: WriteBook) -> None:
    found, _ = read(write_book, page("First line\\\nsecond [link](x.md)\n"))

    assert found.links == (Link("link", "x.md", 6),)


@pytest.mark.parametrize(
    "paragraph",
    [
        "Some `code\nspan` then [link](x.md).\n",
        "![multi\nline alt](pic.png) then [link](x.md).\n",
        "[first](\nfirst.md) then [link](x.md).\n",
    ],
    ids=["code-span", "image-alt", "link-destination"],
)
def test_link_after_a_line_ending_inside_inline_markup_is_on_its_own_line(
    write_book: WriteBook, paragraph: str
) -> None:
    found, _ = read(write_book, page(paragraph))

    assert found.links[-1] == Link("link", "x.md", 6)


def test_link_in_a_table_cell_is_on_the_line_of_its_row(write_book: WriteBook) -> None:
    found, _ = read(
        write_book,
        page(
            """\
            | Where | Why |
            |-------|-----|
            | [North](north.md) | cold |
            | south | [South](south.md) |
            """
        ),
    )

    assert found.links == (Link("North", "north.md", 7), Link("South", "south.md", 8))


def test_link_in_a_list_item_is_on_the_line_of_the_item(write_book: WriteBook) -> None:
    found, _ = read(
        write_book,
        page(
            """\
            - first item
            - second item with [a link](second.md)
              continued with [another](third.md)
            """
        ),
    )

    assert found.links == (Link("a link", "second.md", 6), Link("another", "third.md", 7))


def test_links_inside_fenced_or_indented_code_are_not_recorded(write_book: WriteBook) -> None:
    found, _ = read(
        write_book,
        page(
            """\
            ```markdown
            [not a link](fenced.md)
            ```

            ~~~
            [not a link](tilde.md)
            ~~~

                [not a link](indented.md)

            A [real link](real.md) and `[code](span.md)`.
            """
        ),
    )

    assert found.links == (Link("real link", "real.md", 15),)


def test_link_text_is_plain_text_and_href_is_percent_decoded(write_book: WriteBook) -> None:
    found, _ = read(write_book, page("See [the *dark* `wood`](dark%20wood.md).\n"))

    assert found.links == (Link("the dark wood", "dark wood.md", 5),)


def test_links_in_headings_are_recorded_so_they_are_checked_too(write_book: WriteBook) -> None:
    found, _ = read(write_book, page("## See [Other](other.md)\n"))

    assert found.links == (Link("Other", "other.md", 5),)
    assert found.headings[0].text == "See Other"


def test_images_are_recorded_with_src_alt_and_line(write_book: WriteBook) -> None:
    found, _ = read(
        write_book,
        page(
            """\
            Opening text.

            ![A moonlit path](images/path.png)

            - ![Map](images/map%20small.png) in a list
            """
        ),
    )

    assert found.images == (
        Image("images/path.png", "A moonlit path", 7),
        Image("images/map small.png", "Map", 9),
    )
    assert found.links == ()


# --- Next Stages --------------------------------------------------------------------------------

NEXT_STAGES_BODY = """\
Read on, or see [the map](map.md).

## Next Stages

- [Into the Forest](forest.md) — where the trees whisper
- The Quiet Room: a place to rest
- [Back Home](home.md#porch): - the long way round
"""


def test_next_stages_items_in_link_form_have_href_link_text_and_blurb(
    write_book: WriteBook,
) -> None:
    found, diagnostics = read(write_book, page(NEXT_STAGES_BODY))

    assert diagnostics == []
    assert found.next_stages_line == 7
    assert found.next_stages[0] == NextStageItem(
        text="Into the Forest — where the trees whisper",
        href="forest.md",
        link_text="Into the Forest",
        after_link="where the trees whisper",
        line=9,
    )
    assert found.next_stages[2].href == "home.md#porch"
    assert found.next_stages[2].after_link == "the long way round"
    assert found.next_stages[2].line == 11


def test_next_stages_item_in_bare_form_has_no_href_and_whole_text_as_blurb(
    write_book: WriteBook,
) -> None:
    found, _ = read(write_book, page(NEXT_STAGES_BODY))

    assert found.next_stages[1] == NextStageItem(
        text="The Quiet Room: a place to rest",
        href=None,
        link_text=None,
        after_link="The Quiet Room: a place to rest",
        line=10,
    )


def test_links_in_next_stages_items_are_not_in_chapter_links(write_book: WriteBook) -> None:
    found, _ = read(write_book, page(NEXT_STAGES_BODY))

    assert found.links == (Link("the map", "map.md", 5),)


def test_multi_line_next_stages_item_is_on_the_line_it_starts(write_book: WriteBook) -> None:
    found, _ = read(
        write_book,
        page(
            """\
            ## Next Stages

            1. [Up the Hill](hill.md) — a
               steep climb

            2. [Down](down.md)
            """
        ),
    )

    assert [(item.href, item.after_link, item.line) for item in found.next_stages] == [
        ("hill.md", "a steep climb", 7),
        ("down.md", "", 10),
    ]


def test_nested_list_under_next_stages_item_is_not_a_next_stage(write_book: WriteBook) -> None:
    found, _ = read(
        write_book,
        page(
            """\
            ## Next Stages

            - [Up](up.md)
              - [aside](aside.md)
            """
        ),
    )

    assert [item.href for item in found.next_stages] == ["up.md"]
    assert found.links == (Link("aside", "aside.md", 8),)


def test_next_stages_section_ends_at_the_next_level_2_heading(write_book: WriteBook) -> None:
    found, _ = read(
        write_book,
        page(
            """\
            ## Next Stages

            - [Up](up.md)

            ## Notes

            - [Not a stage](notes.md)
            """
        ),
    )

    assert [item.href for item in found.next_stages] == ["up.md"]
    assert found.links == (Link("Not a stage", "notes.md", 11),)


def test_next_stages_heading_matches_regardless_of_case_and_punctuation(
    write_book: WriteBook,
) -> None:
    found, _ = read(write_book, page("## next stages!\n\n- [Up](up.md)\n"))

    assert found.next_stages_line == 5
    assert [item.href for item in found.next_stages] == ["up.md"]


def test_next_stages_heading_text_is_configurable(write_book: WriteBook) -> None:
    body = page("## Next Stages\n\n- [Plain](plain.md)\n\n## Where Next\n\n- [Up](up.md)\n")

    found, diagnostics = read(write_book, body, next_stages_heading="Where Next")

    assert diagnostics == []
    assert found.next_stages_line == 9
    assert [item.href for item in found.next_stages] == ["up.md"]
    assert found.links == (Link("Plain", "plain.md", 7),)


def test_load_book_uses_next_stages_heading_from_book_toml(write_book: WriteBook) -> None:
    root = write_book(
        {"one.md": page("## Where Next\n\n- [Up](up.md)\n")},
        book_toml=MINIMAL_TOML + 'next_stages_heading = "Where Next"\n',
    )

    book, diagnostics = load_book(root)

    assert diagnostics == []
    assert [item.href for item in book.chapters[0].next_stages] == ["up.md"]


def test_empty_next_stages_section_is_db035_warning_on_the_heading_line(
    write_book: WriteBook,
) -> None:
    found, diagnostics = read(write_book, page("Text.\n\n## Next Stages\n\nNothing yet.\n"))

    assert codes_and_lines(diagnostics) == [("DB035", 7)]
    assert diagnostics[0].severity is Severity.WARNING
    assert found.next_stages == ()


def test_chapter_without_next_stages_heading_has_no_next_stages_line(
    write_book: WriteBook,
) -> None:
    found, diagnostics = read(write_book, page("- [A list](elsewhere.md)\n"))

    assert diagnostics == []
    assert found.next_stages_line is None
    assert found.next_stages == ()


def test_empty_next_stages_item_does_not_swallow_the_following_paragraph(
    write_book: WriteBook,
) -> None:
    found, _ = read(
        write_book,
        page(
            """\
            ## Next Stages

            - [Up](up.md)
            -

            See also [the map](map.md).
            """
        ),
    )

    assert [item.href for item in found.next_stages] == ["up.md"]
    assert found.links == (Link("the map", "map.md", 10),)


# --- the whole manuscript -----------------------------------------------------------------------


def test_chapter_files_skips_underscore_and_dot_names_and_sorts_by_relative_path(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {
            "b.md": "b",
            "a.md": "a",
            "part-2/c.md": "c",
            "part-1/z.md": "z",
            "part-1/deeper/y.md": "y",
            "_draft.md": "skip",
            ".hidden.md": "skip",
            "_notes/x.md": "skip",
            ".git/x.md": "skip",
            "part-1/_wip.md": "skip",
            "part-1/.swap.md": "skip",
            "notes.txt": "skip",
        }
    )

    found = chapter_files(root)

    assert [path.relative_to(root).as_posix() for path in found] == [
        "a.md",
        "b.md",
        "part-1/deeper/y.md",
        "part-1/z.md",
        "part-2/c.md",
    ]


def test_chapter_files_of_folder_with_no_chapters_is_empty(write_book: WriteBook) -> None:
    assert chapter_files(write_book({})) == []


def test_load_book_reads_config_and_chapters_in_file_order(write_book: WriteBook) -> None:
    root = write_book({"2-two.md": chapter("Two"), "1-one.md": chapter("One")})

    book, diagnostics = load_book(root)

    assert diagnostics == []
    assert book.root == root
    assert book.book_toml == root / "book.toml"
    assert book.config.title == "A Small Book"
    assert [c.title for c in book.chapters] == ["One", "Two"]


def test_load_book_collects_book_toml_and_chapter_diagnostics(write_book: WriteBook) -> None:
    root = write_book({"one.md": "No front matter.\n"}, book_toml=None)

    _, diagnostics = load_book(root)

    assert codes_and_lines(diagnostics) == [("DB001", None), ("DB011", 1)]


def test_duplicate_file_slug_is_db020_on_the_second_file(write_book: WriteBook) -> None:
    root = write_book({"a/intro.md": chapter("First"), "b/intro.md": chapter("Second")})

    _, diagnostics = load_book(root)

    assert codes_and_lines(diagnostics) == [("DB020", 1)]
    assert diagnostics[0].path == root / "b" / "intro.md"
    assert "a/intro.md" in diagnostics[0].message


def test_duplicate_front_matter_slug_is_db020_on_the_slug_line(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter("One", subtitle="S", slug="shared"),
            "two.md": chapter("Two", slug="shared"),
            "three.md": chapter("Three"),
        }
    )

    _, diagnostics = load_book(root)

    assert codes_and_lines(diagnostics) == [("DB020", 3)]
    assert diagnostics[0].path == root / "two.md"
    assert "'shared'" in diagnostics[0].message
    assert "one.md" in diagnostics[0].message


def test_each_extra_use_of_a_slug_is_its_own_db020(write_book: WriteBook) -> None:
    root = write_book(
        {
            "a.md": chapter("A", slug="s"),
            "b.md": chapter("B", slug="s"),
            "c.md": chapter("C", slug="s"),
        }
    )

    _, diagnostics = load_book(root)

    assert [(d.code, d.path) for d in diagnostics] == [
        ("DB020", root / "b.md"),
        ("DB020", root / "c.md"),
    ]


def test_chapter_anchor_is_the_slug_or_slug_double_hyphen_section(write_book: WriteBook) -> None:
    found, _ = read(write_book, chapter("T", slug="dark-wood"))

    assert found.anchor() == "dark-wood"
    assert found.anchor("the-path") == "dark-wood--the-path"


def test_chapter_body_is_kept_as_markdown_without_front_matter(write_book: WriteBook) -> None:
    found, _ = read(write_book, chapter("T", "# Heading\n\nText.\n"))

    assert found.markdown == "\n# Heading\n\nText.\n"
