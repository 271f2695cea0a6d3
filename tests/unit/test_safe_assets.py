"""The policy for stylesheets and SVG images copied into outputs (safe_assets.py)."""

from __future__ import annotations

import pytest

from dreambook.safe_assets import (
    NotAnSvgError,
    Removal,
    clean_stylesheet,
    clean_svg,
    url_stays_inside,
)
from dreambook.styles import default_styles_folder
from dreambook.styles_check import STYLESHEETS


@pytest.mark.parametrize(
    ("url", "inside"),
    [
        ("fonts/Vollkorn-Regular.ttf", True),
        ("#gradient", True),
        ("data:image/png;base64,AAAA", True),
        ("images/a%20b.png?x=1", True),
        ("http://example.com/a.css", False),
        ("HTTPS://example.com/a.css", False),
        ("file:///etc/passwd", False),
        ("//example.com/a.css", False),
        ("/etc/passwd", False),
        ("../../etc/passwd", False),
        ("fonts/../../x.ttf", False),
        ("fonts\\..\\..\\x.ttf", False),
    ],
)
def test_which_urls_stay_inside_the_book(url: str, inside: bool) -> None:
    assert url_stays_inside(url) is inside


@pytest.mark.parametrize("name", STYLESHEETS)
def test_dreambooks_own_stylesheets_pass_unchanged(name: str) -> None:
    text = (default_styles_folder() / name).read_text(encoding="utf-8")
    assert clean_stylesheet(text) == (text, ())


def test_a_stylesheet_loses_only_what_leads_out() -> None:
    text = (
        '@import url("http://fonts.example/a.css");\n'
        '@import "house-extra.css";\n'
        "body { color: #222; background: url(file:///etc/passwd); margin: 0 }\n"
        "@media print { p { background-image: url('../../x.png'); orphans: 3 } }\n"
        "@font-face { font-family: House; src: url(fonts/House.woff2); }\n"
        "h1 { background: url(data:image/png;base64,AAAA) }\n"
    )
    cleaned, removed = clean_stylesheet(text)
    assert removed == (
        Removal(1, "the @import of http://fonts.example/a.css"),
        Removal(3, "url(file:///etc/passwd)"),
        Removal(4, "url(../../x.png)"),
    )
    for gone in ("fonts.example", "file:", "../"):
        assert gone not in cleaned
    for kept in ('@import "house-extra.css"', "color: #222", "margin: 0", "orphans: 3",
                 "url(fonts/House.woff2)", "data:image/png"):  # fmt: skip
        assert kept in cleaned


def test_an_svg_with_nothing_to_remove_is_kept_byte_for_byte() -> None:
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
        b'<svg xmlns="http://www.w3.org/2000/svg"><defs><linearGradient id="g"/></defs>'
        b'<rect fill="url(#g)" width="4" height="4"/><use href="#g"/></svg>'
    )
    assert clean_svg(data) == (data, ())


def test_an_svg_declaring_entities_is_rebuilt_without_them_and_nothing_is_expanded() -> None:
    data = (
        b'<?xml version="1.0"?>\n'
        b'<!DOCTYPE svg [<!ENTITY secret SYSTEM "file:///etc/passwd"><!ENTITY a "aaaa">]>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&secret;&a;</text></svg>'
    )
    cleaned, removed = clean_svg(data)
    assert b"ENTITY" not in cleaned
    assert b"root:" not in cleaned
    assert b"aaaa" not in cleaned
    assert [r.what for r in removed] == [
        "the entity declarations of the document type",
        "the entity reference &secret;",
        "the entity reference &a;",
    ]


def test_an_svg_loses_scripts_handlers_animations_and_outside_references() -> None:
    data = b"""<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
 onclick="steal()">
<script type="text/javascript">steal()</script>
<style>@import url(http://x.example/s.css); rect { fill: url(#g); stroke: url(http://x.example/p) }</style>
<g><rect width="4" height="4" style="fill: url(file:///etc/passwd)"/>tail kept</g>
<a xlink:href="javascript:steal()"><circle r="2"/></a>
<set attributeName="href" to="javascript:steal()"/>
<use href="other.svg#part"/>
<image href="data:image/png;base64,iVBORw0KGgo=" width="1" height="1"/>
</svg>"""
    cleaned, removed = clean_svg(data)
    assert [(r.line, r.what) for r in removed] == [
        (2, "the event-handler attribute onclick="),  # where its start tag ends
        (3, "the <script> element"),
        (4, "the @import of http://x.example/s.css"),
        (4, "url(http://x.example/p)"),
        (5, "url(file:///etc/passwd)"),
        (6, "the reference javascript:steal()"),
        (7, "the <set> element"),
        (8, "the reference other.svg#part"),
    ]
    for gone in (b"script", b"onclick", b"x.example", b"file:", b"javascript:", b"other.svg",
                 b"<set", b"<use"):  # fmt: skip
        assert gone not in cleaned, gone
    for kept in (b"<rect", b"tail kept", b"<circle", b"url(#g)", b"data:image/png"):
        assert kept in cleaned, kept


@pytest.mark.parametrize(
    "data",
    [
        b"<svg xmlns='http://www.w3.org/2000/svg'><rect></svg>",
        b"<html><body>not a drawing</body></html>",
        b"\x89PNG\r\n\x1a\n",
    ],
)
def test_what_is_not_an_svg_document_is_refused(data: bytes) -> None:
    with pytest.raises(NotAnSvgError):
        clean_svg(data)
