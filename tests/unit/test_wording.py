"""The printed book's small wording: page references, lists, tied last words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import html as lxml_html
from markupsafe import Markup

from dreambook.config import parse_book_toml
from dreambook.export.pdf.folios import PageNumbers
from dreambook.export.pdf.pages import prepare_body
from dreambook.export.pdf.wording import (
    join_list,
    page_reference,
    references_in_parentheses,
    tie_last_words,
)


def body(html: str) -> lxml_html.HtmlElement:
    return lxml_html.fragment_fromstring(html, create_parent="div")


def test_references_know_whether_they_stand_inside_parentheses() -> None:
    root = body(
        '<p>See <a class="xref" href="#a">A</a> (or <em>maybe <a class="xref" href="#b">B</a></em>)'
        ' and <a class="xref" href="#c">C</a>.</p><p>(open <a class="xref" href="#d">D</a>'
        '<span class="footnote">note on <a class="xref" href="#e">E</a></span>)</p>'
    )
    found = {link.get("href"): inside for link, inside in references_in_parentheses(root).items()}
    assert found == {"#a": False, "#b": True, "#c": False, "#d": True, "#e": False}


@pytest.mark.parametrize(
    ("style", "inside", "follows", "expected"),
    [
        ("auto", False, False, " (p.\u00a07)"),
        ("auto", True, False, ", p.\u00a07"),
        ("auto", True, True, ", p.\u00a07,"),
        ("parentheses", True, False, " (p.\u00a07)"),
        ("comma", False, False, ", p.\u00a07"),
    ],
)
def test_page_reference_styles(style: str, inside: bool, follows: bool, expected: str) -> None:
    assert page_reference("p.\u00a07", style, inside, follows) == expected  # type: ignore[arg-type]


def test_prepared_body_never_doubles_a_bracket() -> None:
    root = body('<p>Notice it (see <a class="xref" id="r1" href="#t">the timestamp</a>); then.</p>')
    html = str(prepare_body(root, PageNumbers(None)))
    text = re.sub(r"<[^>]+>", "", html)  # the words as read, whatever spans hold them
    assert "(see the timestamp, p.\u00a088);" in text
    assert "))" not in text


def test_tie_last_words_joins_the_last_two_words_outside_tags() -> None:
    assert tie_last_words(Markup("Why You Keep Having Anxiety Dreams")).endswith(
        "Anxiety&#160;Dreams"
    )
    assert tie_last_words(Markup("The <em>Long Night</em>")) == Markup(
        "The <em>Long&#160;Night</em>"
    )
    assert tie_last_words(Markup("The <em>Night</em>")) == Markup("The&#160;<em>Night</em>")
    assert tie_last_words(Markup("Falling")) == Markup("Falling")


def test_lists_are_joined_in_the_books_language_without_touching_their_markup() -> None:
    items = [Markup("<a>A &amp; B</a>"), Markup("<a>C</a>"), Markup("<a>D</a>")]
    assert join_list(items, "en-US") == Markup("<a>A &amp; B</a>, <a>C</a>, and <a>D</a>")
    assert join_list(items, "en-GB") == Markup("<a>A &amp; B</a>, <a>C</a> and <a>D</a>")
    assert join_list(items[:2], "en-US") == Markup("<a>A &amp; B</a> and <a>C</a>")
    assert join_list(items[:2], "xx-Unknown") == Markup("<a>A &amp; B</a> and <a>C</a>")
    assert join_list([], "en") == Markup("")


def test_book_toml_chooses_the_reference_style() -> None:
    def prepared(style: str) -> str:
        source = f'[book]\ntitle = "T"\n[print]\npage_reference = "{style}"\n'
        config, diagnostics = parse_book_toml(source, Path("book.toml"))
        assert diagnostics == []
        root = body('<p>As in <a class="xref" id="r" href="#t">Falling</a>.</p>')
        return str(prepare_body(root, PageNumbers(None), config.page_reference))

    assert 'Falling<span class="pageref"> (p.\u00a088)</span>' in prepared("parentheses")
    assert 'Falling<span class="pageref">, p.\u00a088</span>' in prepared("comma")
    _, diagnostics = parse_book_toml(
        '[book]\ntitle = "T"\n[print]\npage_reference = "brackets"\n', Path("book.toml")
    )
    assert [d.code for d in diagnostics] == ["DB004"]
