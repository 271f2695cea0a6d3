"""The map of the book's drawing: its numbering and a legend of only the marks it uses."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from dreambook.bookmap import BookMap, MapEdge, MapNode, render_svg
from dreambook.styles import Styles, default_styles_folder

SVG = "{http://www.w3.org/2000/svg}"


def node(slug: str, position: int, number: str, **marks: bool) -> MapNode:
    flags = {"unreachable": False, "dead_end": False, "appendix": False, **marks}
    return MapNode(slug, f"Title \u2019{slug}\u2019", position, number, **flags)


def texts(book_map: BookMap) -> list[str]:
    svg = render_svg(book_map, Styles((default_styles_folder(),)))
    return ["".join(t.itertext()) for t in ElementTree.fromstring(svg).iter(f"{SVG}text")]


def test_nodes_carry_the_contents_numbers_and_the_legend_only_what_the_map_shows() -> None:
    plain = BookMap(
        (node("a", 1, "1"), node("b", 2, "A", appendix=True)),
        (MapEdge("a", "b", "next-stage"),),
    )
    shown = texts(plain)
    assert "1. Title \u2019a\u2019" in shown
    assert "A. Title \u2019b\u2019" in shown
    assert "Next Stages" in shown
    assert not {"cross-reference", "dead end", "unreachable"} & set(shown)

    marked = BookMap(
        (node("a", 1, "1", dead_end=True), node("b", 2, "2", unreachable=True)),
        (MapEdge("a", "b", "cross-reference"),),
    )
    shown = texts(marked)
    assert {"cross-reference", "dead end", "unreachable"} <= set(shown)
    assert "Next Stages" not in shown
