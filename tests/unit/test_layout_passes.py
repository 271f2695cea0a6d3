"""Unit tests of what decides how many layouts a PDF takes (issue 18): number shapes, by
which a layout is known to have the pages of another that differs in digits alone, and
the end of a make-up cycle."""

from __future__ import annotations

from markupsafe import Markup

from dreambook.export.pdf.folios import (
    NumberShapes,
    PageMap,
    PageNumbers,
    estimated_page_map,
    html_per_page,
)
from dreambook.export.pdf.layout import next_fill
from dreambook.export.pdf.makeup import Space
from dreambook.labels import ENGLISH
from dreambook.render import RenderedChapter


def _map(**pages: int) -> PageMap:
    return PageMap(dict(pages), body_start=4, page_count=500)


def test_number_shapes_write_arabic_digits_as_zeros_and_keep_roman_folios() -> None:
    shapes = NumberShapes(_map(preface=1, intro=4, late=130))
    assert shapes.folio("preface") == "ii"
    assert shapes.folio("intro") == "0"
    assert shapes.folio("late") == "000"
    assert NumberShapes(_map(late=140)).folio("late") == shapes.folio("late")
    assert NumberShapes(_map(late=12)).folio("late") != shapes.folio("late")


def test_number_shapes_keep_the_words_that_depend_on_where_pages_are() -> None:
    same_page = _map(ref=20, target=20)
    moved = _map(ref=20, target=25)
    assert NumberShapes(same_page).cross_reference("ref", "target") == "this page"
    assert NumberShapes(moved).cross_reference("ref", "target") == "p.\u00a000"
    assert PageNumbers(moved).cross_reference("ref", "target") == "p.\u00a022"
    assert isinstance(NumberShapes(moved).in_words(ENGLISH), NumberShapes)


def _chapter(slug: str, body: str) -> RenderedChapter:
    return RenderedChapter(
        slug, slug, "Chapter", "1", Markup(slug), None, slug, Markup(body), (), (), (), "x.md"
    )


def test_the_first_guess_puts_every_anchor_at_its_share_of_its_chapter() -> None:
    # 1,800 characters of HTML a page: the first chapter takes three pages, so the second
    # opens on the fourth (index 3) or, opening on a right-hand page, on the fifth.
    first = '<p id="a">' + "x" * 2000 + '</p><h2 id="b">B</h2>' + "y" * 3000 + '<p id="c">z</p>'
    chapters = (_chapter("one", first), _chapter("two", '<p id="d">w</p>'))
    guess = estimated_page_map(chapters, recto=False)
    assert guess.anchor_pages == {"one": 0, "a": 0, "b": 1, "c": 2, "two": 3, "d": 3}
    recto = estimated_page_map(chapters, recto=True)
    assert recto.anchor_pages["two"] == recto.anchor_pages["d"] == 4
    assert PageNumbers(guess).folio("c") == "3"
    # An id the body repeats keeps its first place; a chapter's own anchor is where it opens.
    twice = _chapter("two", '<p id="two">w</p>' + "v" * 4000 + '<p id="e">u</p><p id="e">t</p>')
    again = estimated_page_map((_chapter("one", "x"), twice), recto=False)
    assert again.anchor_pages == {"one": 0, "two": 1, "e": 3}


def test_a_guess_goes_on_from_the_chapters_laid_out_at_the_density_they_took() -> None:
    # Three chapters of 10,000 characters; the first laid out on 8 pages (a right-hand
    # blank at its end), its anchor "a" on its third.
    chapters = tuple(_chapter(s, '<p id="' + s[0] + '">' + "x" * 10_000 + "</p>")
                     for s in ("one", "two", "six"))  # fmt: skip
    measured = html_per_page(chapters[:1], 8, recto=True)
    # Any density from 10,000 / 7 (7 pages, one blank) up to 10,000 / 6 gives 8 pages.
    assert 10_000 / 7 < measured < 10_000 / 6
    guess = estimated_page_map(chapters, True, measured, ({"one": 0, "o": 2}, 8))
    assert guess.anchor_pages == {"one": 0, "o": 2, "two": 8, "t": 8, "six": 16, "s": 16}
    # A count of pages no density gives (an odd one, with chapters opening on the right)
    # takes the density at which the count steps over it; an impossible one, the limit.
    assert (
        estimated_page_map(chapters[:1], True, html_per_page(chapters[:1], 7, True)).page_count <= 7
    )
    assert html_per_page(chapters[:1], 1, recto=False) == 5400


A = {"h|padding-top": Space(0.0, 18.67)}
B: dict[str, Space] = {}


def test_a_new_fill_is_taken_and_remembered() -> None:
    seen: list[dict[str, Space]] = []
    fill, settled = next_fill(seen, B, A)
    assert (fill, settled) == (A, False)
    assert seen == [B]


def test_a_fill_that_comes_back_ends_the_cycle_with_the_fewest_settings() -> None:
    # Space above a heading sends it over the page, where it needs none, and back.
    seen: list[dict[str, Space]] = []
    fill, _ = next_fill(seen, B, A)
    fill, settled = next_fill(seen, fill, B)
    assert settled
    assert fill == B
    # Met from the other side (a rebuild that started from A), the same fill is kept.
    other: list[dict[str, Space]] = []
    fill, _ = next_fill(other, A, B)
    fill, settled = next_fill(other, fill, A)
    assert settled
    assert fill == B
