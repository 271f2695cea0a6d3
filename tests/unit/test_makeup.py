"""Full pages (export/pdf/makeup.py), on small documents laid out by WeasyPrint."""

from __future__ import annotations

from typing import Any

import pytest

from dreambook.export.pdf.makeup import Space, fill_css, page_fill, with_fill

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


def lines(count: int) -> str:
    return "".join("<p>Line.</p>" for _ in range(count))


def lay_out(body: str, fill: dict[str, Space] | None = None) -> Any:
    html = f"<html><head><style>{CSS}</style></head><body>{body}</body></html>"
    return weasyprint.HTML(string=with_fill(html, fill or {})).render()


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


def test_a_box_that_needs_more_than_a_line_stays_where_it_is() -> None:
    # Ten lines leave 40px: 35px over, more than a line.
    document = lay_out(lines(10) + BOX)
    assert len(document.pages) == 2
    assert page_fill(document.pages, {}) == {}
