"""Full pages (export/pdf/makeup.py), on small documents laid out by WeasyPrint."""

from __future__ import annotations

from typing import Any

import pytest

from dreambook.export.pdf import makeup
from dreambook.export.pdf.makeup import KEPT, LET_GO, Space, fill_css, page_fill, with_fill

weasyprint = pytest.importorskip("weasyprint")

# A page of exactly twelve 20px lines of text, no margins to speak of.
CSS = """
@page { size: 300px 260px; margin: 10px; }
html { font: 14px/20px serif; }
body, p, h2, ul, li { margin: 0; padding: 0; }
p { orphans: 2; widows: 2; }
h2 { margin-top: 20px; line-height: 20px; font-size: 14px; break-after: avoid; }
h2 + p { orphans: 2; }
.next-stages { margin-top: 20px; padding-top: 8px; border-top: 1px solid black; }
.next-stages h2 { margin: 0 0 6px; }
.next-stages li { list-style: none; }
"""


BOX = (
    '<aside class="next-stages" id="n"><h2 id="nh">Next</h2>'
    "<ul><li>First item.</li><li>Second item.</li></ul></aside>"
)


# A paragraph of four lines, the chapter's last.
LONG = "<p>" + " ".join(["Words"] * 20) + "</p>"


def lines(count: int) -> str:
    return "".join("<p>Line.</p>" for _ in range(count))


def lay_out(body: str, fill: dict[str, Space] | None = None) -> Any:
    html = f"<html><head><style>{CSS}</style></head><body>{body}</body></html>"
    return weasyprint.HTML(string=with_fill(html, fill or {})).render()


def _page_lines(page: Any) -> list[str]:
    """The text of each line on ``page``, top to bottom."""

    def walk(box: Any) -> Any:
        for child in getattr(box, "children", ()):
            yield child
            yield from walk(child)

    found = [b for b in walk(page._page_box) if type(b).__name__ == "LineBox"]
    found.sort(key=lambda b: b.position_y)
    return ["".join(getattr(t, "text", "") for t in walk(b)).rstrip() for b in found]


def test_a_page_left_short_by_a_heading_gets_whole_lines_above_its_headings() -> None:
    # Page one: 7 lines, a heading (two lines with its space), one more line; the next
    # heading needs 3 lines with its first two of text, and 2 are left: it goes over.
    body = lines(7) + '<h2 id="a">A</h2>' + lines(1) + '<h2 id="b">B</h2>' + lines(6)
    document = lay_out(body)
    fill = page_fill(document.pages, {})
    # Two lines, less half a pixel kept back so that no rounding pushes a line over.
    assert fill == {"a|padding-top": Space(0.0, 39.5)}
    css = fill_css(fill)
    assert css == '[id="a"] { padding-top: 39.50px !important; }'
    # Laid out again, page one ends at its foot and breaks where it did.
    again = lay_out(body, fill)
    assert len(again.pages) == len(document.pages)
    assert page_fill(again.pages, fill) is fill


def test_a_next_stages_box_that_a_line_of_tightening_brings_back_is_pulled_back() -> None:
    # Nine lines leave 60px: the box's 20px of space above, then its rule, padding,
    # heading and first item (55px): 15px over, within a line of tightening.
    document = lay_out(lines(9) + BOX)
    assert len(document.pages) == 2
    fill = page_fill(document.pages, {})
    # Taken from the space above first (4pt of it left), then from inside the box.
    assert set(fill) == {"n|margin-top", "n|padding-top"}
    assert fill["n|margin-top"].value == pytest.approx(5.33)
    assert fill["n|padding-top"].value > 4
    assert "nh" in document.pages[1].anchors  # the heading opened the second page
    again = lay_out(lines(9) + BOX, fill)
    assert "nh" in again.pages[0].anchors  # and now ends the first, with the first item


def test_a_box_that_needs_more_than_a_line_takes_the_last_lines_over_with_it() -> None:
    # The box needs 55px and page one leaves 20px: more than a line of tightening finds.
    body = lines(4) + '<h2 id="a">A</h2>' + lines(2) + LONG + BOX
    document = lay_out(body)
    assert _page_lines(document.pages[1])[0] == "Next"  # the box opens page two, alone
    fill = page_fill(document.pages, {})
    assert fill == {"n|break-before": KEPT}
    assert fill_css(fill) == '[id="n"] { break-before: avoid !important; }'
    kept = lay_out(body, fill)
    # The box takes the paragraph's last two lines over with it ...
    second = _page_lines(kept.pages[1])
    assert second[:2] == ["Words Words Words Words Words"] * 2
    assert second[2] == "Next"
    # ... and the next measure fills what that left on page one above its heading.
    again = page_fill(kept.pages, fill)
    assert again == {**fill, "a|padding-top": Space(0.0, 2 * 20 - 0.5)}
    final = lay_out(body, again)
    assert _page_lines(final.pages[0]) == _page_lines(kept.pages[0])
    assert page_fill(final.pages, again) is again


def test_a_kept_box_is_let_go_when_its_page_would_be_left_too_empty() -> None:
    # Keeping the box with its text would put four lines above page one's one heading.
    body = lines(2) + '<h2 id="a">A</h2>' + lines(2) + LONG + BOX
    document = lay_out(body)
    fill = page_fill(document.pages, {})
    assert fill == {"n|break-before": KEPT}
    kept = lay_out(body, fill)
    let_go = page_fill(kept.pages, fill)
    assert let_go == {"n|break-before": LET_GO}
    assert fill_css(let_go) == '[id="n"] { break-inside: auto !important; }'
    # Laid out again, the box stands where it first stood, and stays.
    final = lay_out(body, let_go)
    assert _page_lines(final.pages[1])[0] == "Next"
    # Page one, short by the box as at first, is filled as any short page is.
    settled = page_fill(final.pages, let_go)
    assert settled == {**let_go, "a|padding-top": Space(0.0, 2 * 20 - 0.5)}
    assert page_fill(lay_out(body, settled).pages, settled) is settled


def test_a_box_is_let_go_at_once_where_its_page_has_no_heading_to_take_the_space() -> None:
    # Keeping the box would take the paragraph's last two lines over and leave page one,
    # which has no heading to spread them over, two lines short: the box is let go at once.
    body = lines(6) + LONG + BOX
    document = lay_out(body)
    assert _page_lines(document.pages[1])[0] == "Next"
    assert page_fill(document.pages, {}) == {"n|break-before": LET_GO}
    # Kept all the same (the heading that was on the page went over), it is let go.
    kept = lay_out(body, {"n|break-before": KEPT})
    assert len(_page_lines(kept.pages[0])) == 8
    assert page_fill(kept.pages, {"n|break-before": KEPT}) == {"n|break-before": LET_GO}


def test_a_box_that_would_take_a_whole_table_over_is_let_go_at_once() -> None:
    # Page one: five lines, a heading, and a table of four rows that may not break, with a
    # line left: the box cannot come back. Keeping it would take the table over (four
    # lines, more than the three a heading may get above it): it is let go at once.
    rows = "".join("<tr><td>Row.</td></tr>" for _ in range(4))
    table = f'<table style="break-inside: avoid; border-collapse: collapse">{rows}</table>'
    body = lines(5) + '<h2 id="a">A</h2>' + table + BOX
    document = lay_out(body)
    assert _page_lines(document.pages[0])[-1] == "Row."
    assert _page_lines(document.pages[1])[0] == "Next"
    assert page_fill(document.pages, {}) == {"n|break-before": LET_GO}
    # A paragraph in its place gives up two lines at least: the box is kept.
    document = lay_out(lines(5) + '<h2 id="a">A</h2>' + LONG + BOX)
    assert page_fill(document.pages, {}) == {"n|break-before": KEPT}


def test_the_foot_of_a_table_includes_its_cells_padding_and_rule() -> None:
    # Space given to a page that ends with a table must leave the cells' padding and
    # rule below their last line on the page, or the table is pushed over.
    table = (
        '<table style="border-collapse: collapse"><tr><td style="padding: 0 0 7px; '
        'border-bottom: 2px solid black">Cell.</td></tr></table>'
    )
    document = lay_out(lines(2) + table)
    root = document.pages[0]._page_box.children[0]
    last_line = max(
        box.position_y + box.height
        for box in makeup._boxes(root)
        if type(box).__name__ == "LineBox"
    )
    assert makeup._text_bottom(root) == pytest.approx(last_line + 9, abs=0.01)


def test_a_page_whose_footnote_went_over_is_full_and_gets_no_space() -> None:
    # The note called on page one is three lines long: WeasyPrint sends it over to page
    # two rather than lose a line of text. The page ends two lines above its foot, but it
    # is full: space above its heading would push text over (on the benchmark book, the
    # heading went over, the note came back, and the space was taken back: a cycle).
    note = "A note long enough to take several lines at the foot of the page. " * 3
    body = (
        lines(1) + '<h2 id="a">A</h2>' + lines(5)
        + f'<p>Called.<span class="fn">{note}</span></p>'
        + '<h2 id="b">B</h2>' + lines(4)
    )  # fmt: skip
    css = "@page { @footnote { margin-top: 4px; } } .fn { float: footnote; line-height: 16px; }"
    document = lay_out(f"<style>{css}</style>" + body)
    first = document.pages[0]._page_box.children
    assert [type(box).__name__ for box in first] == ["BlockBox"]  # no note on page one
    assert page_fill(document.pages, {}) == {}
    # Measured by its last line alone, it would have had two lines of space.
    page = document.pages[0]
    short = makeup._foot(page) - makeup._text_bottom(page._page_box.children[0])
    assert short > 2 * 20 - 2


def _long_words(pairs: int) -> str:
    """A paragraph in a column so narrow that nearly every line ends in a hyphen."""
    words = " ".join(["incomprehensibilities extraordinarily"] * pairs)
    return f'<p id="w" lang="en" style="hyphens: auto; width: 160px">{words}</p>'


def test_a_word_is_not_hyphenated_across_the_turn_of_a_right_hand_page() -> None:
    document = lay_out(_long_words(12))
    assert document.pages[0]._page_box.page_type.side == "right"
    assert _page_lines(document.pages[0])[-1].endswith("\u2010")  # split over the turn
    fill = page_fill(document.pages, {})
    assert fill == {"w|hyphens": KEPT}
    assert fill_css(fill) == '[id="w"] { hyphens: manual !important; }'
    again = lay_out(_long_words(12), fill)
    assert not _page_lines(again.pages[0])[-1].endswith("\u2010")
    assert page_fill(again.pages, fill) is fill


def test_a_hyphen_at_the_foot_of_a_left_hand_page_is_left() -> None:
    # Page one is full of short lines; the paragraph runs from page two (left) onto three.
    body = lines(12) + _long_words(7)
    document = lay_out(body)
    assert document.pages[1]._page_box.page_type.side == "left"
    assert _page_lines(document.pages[1])[-1].endswith("\u2010")
    assert len(document.pages) == 3
    assert page_fill(document.pages, {}) == {}


def test_a_paragraph_with_a_loose_line_is_set_a_little_tighter() -> None:
    # Long words that may not be hyphenated in a narrow justified column: loose lines.
    words = " ".join(["comprehensibility at extraordinarily"] * 4)
    body = f'<p id="w" style="text-align: justify; width: 200px">{words}</p><p id="s">Short.</p>'
    document = lay_out(body)
    fill = page_fill(document.pages, {})
    assert fill == {"w|letter-spacing": KEPT}
    assert fill_css(fill) == '[id="w"] { letter-spacing: -0.012em !important; }'
    # Tightened once, it is not tightened again.
    assert page_fill(lay_out(body, fill).pages, fill) is fill


def _line_tops(document: Any) -> list[list[tuple[str, float]]]:
    """Each page's lines, as their text and the top of their box."""

    def walk(box: Any) -> Any:
        for child in getattr(box, "children", ()):
            yield child
            yield from walk(child)

    return [
        sorted(
            ("".join(getattr(t, "text", "") for t in walk(b)), round(b.position_y, 2))
            for b in walk(page._page_box)
            if type(b).__name__ == "LineBox"
        )
        for page in document.pages
    ]


# Pages left short by a heading that goes over: below one heading, below two (the space is
# shared), inside a section (the section grows), above a ruled box (the rule moves down).
SHORT_PAGES = {
    "one heading": lines(7) + '<h2 id="a">A</h2>' + lines(1) + '<h2 id="b">B</h2>' + lines(6),
    "two headings": lines(1) + '<h2 id="a">A</h2>' + lines(2) + '<h2 id="c">C</h2>'
    + lines(3) + '<h2 id="b">B</h2>' + lines(6),
    "inside a section": lines(6) + '<section id="s"><h2 id="a">A</h2>' + lines(2)
    + "</section>" + '<h2 id="b">B</h2>' + lines(6),
    "above a ruled box": lines(5) + '<aside class="next-stages" id="q"><h2 id="a">A</h2>'
    + lines(2) + "</aside>" + '<h2 id="b">B</h2>' + lines(6),
}  # fmt: skip


@pytest.mark.parametrize("body", list(SHORT_PAGES.values()), ids=list(SHORT_PAGES))
def test_space_added_to_the_laid_out_boxes_puts_every_line_where_a_new_layout_does(
    body: str,
) -> None:
    document = lay_out(body)
    fill = page_fill(document.pages, {})
    assert any(makeup.is_space(key, space) for key, space in fill.items())
    relaid = lay_out(body, fill)
    makeup.add_space(document, fill)
    assert _line_tops(document) == _line_tops(relaid)
    # The page's anchors are where the boxes now are.
    for key in fill:
        name = key.partition("|")[0]
        for moved, laid in zip(document.pages, relaid.pages, strict=True):
            assert moved.anchors.get(name) == laid.anchors.get(name)
