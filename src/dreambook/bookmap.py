"""The map of the book: chapters in reading order and the links between them, as an arc diagram.

The chapters stand one under another in reading order, with their titles to the right;
each Next Stages link is a solid arc on the left from one chapter to another, each
cross-reference a dashed one. Chapters no chain of Next Stages reaches, and dead ends
(no Next Stages, and not marked ``ending: true``), are drawn so they stand out. The
drawing needs no program beyond dreambook: the SVG comes from a template in the styles
folder (``map.svg.j2``), and the same data can be written as Graphviz DOT.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dreambook.graph import ChapterGraph, Placement, ReadingOrder
from dreambook.labels import ENGLISH, Labels, book_labels
from dreambook.manuscript import Book
from dreambook.styles import Styles


@dataclass(frozen=True)
class MapNode:
    """A chapter on the map."""

    slug: str
    title: str
    position: int
    # The number the contents gives the chapter: "1", "2", ... and "A" for an appendix.
    number: str
    unreachable: bool
    dead_end: bool
    appendix: bool


@dataclass(frozen=True)
class MapEdge:
    """A link on the map: ``kind`` is "next-stage" or "cross-reference"."""

    source: str
    target: str
    kind: str


@dataclass(frozen=True)
class BookMap:
    """Every chapter (in reading order) and every link between two different chapters, and
    the words the drawing is labelled with (the book's language, its [labels] over it)."""

    nodes: tuple[MapNode, ...]
    edges: tuple[MapEdge, ...]
    labels: Labels = ENGLISH


def build_map(
    book: Book,
    graph: ChapterGraph,
    order: ReadingOrder,
    titles: Mapping[str, str] | None = None,
) -> BookMap:
    """Return the map of ``book``: nodes in reading order, Next Stages and cross-reference edges.

    ``titles`` gives each chapter's title as the book prints it (curly quotes and dashes,
    no markup); a chapter it leaves out is shown with the title as written. Nodes are
    numbered as the contents numbers them (``ReadingOrder.labels``). A cross-reference
    between two chapters already joined by a Next Stages link is left out, and so is any
    link from a chapter to itself. Raises nothing.
    """
    chapters = {chapter.slug: chapter for chapter in book.chapters}
    shown = titles or {}
    config = book.config
    words = book_labels(config.language, config.labels, config.next_stages_heading)
    labels = order.labels(words)
    nodes = tuple(
        MapNode(
            slug=entry.slug,
            title=shown.get(entry.slug, chapters[entry.slug].title),
            position=index,
            number=labels[entry.slug][1],
            unreachable=entry.placement is Placement.UNREACHABLE,
            dead_end=not graph.successors(entry.slug) and not chapters[entry.slug].ending,
            appendix=entry.placement is Placement.APPENDIX,
        )
        for index, entry in enumerate(order.entries, start=1)
    )
    edges: list[MapEdge] = []
    joined: set[tuple[str, str]] = set()
    for slug in order.slugs:
        for target in graph.successors(slug):
            edges.append(MapEdge(slug, target, "next-stage"))
            joined.add((slug, target))
    for slug in order.slugs:
        for reference in graph.cross_references.get(slug, ()):
            pair = (slug, reference.target)
            if reference.target != slug and pair not in joined:
                edges.append(MapEdge(slug, reference.target, "cross-reference"))
                joined.add(pair)
    return BookMap(nodes, tuple(edges), words)


# --- drawing ---------------------------------------------------------------------------------------

_ROW = 25.0  # vertical distance between chapters, in SVG units (points)
_TOP = 16.0
_SPINE_X = 118.0  # where the chapters stand; arcs bulge to the left of it
_WIDTH = 330.0


@dataclass(frozen=True)
class _Arc:
    path: str
    kind: str


# The legend's entries in the order drawn, each with the width of its swatch.
_LEGEND = (
    ("next-stage", 26.0),
    ("cross-reference", 26.0),
    ("dead-end", 11.0),
    ("unreachable", 11.0),
)
# About the width of one character of the legend's 7.5-unit Vollkorn, and the gap after an
# entry: the words are in the book's language, so their width is estimated, not measured.
_LEGEND_CHARACTER = 3.9
_LEGEND_GAP = 12.0


@dataclass(frozen=True)
class _LegendEntry:
    kind: str
    x: float


def _legend(book_map: BookMap, words: Mapping[str, str]) -> tuple[_LegendEntry, ...]:
    """The legend entries for what the map shows, side by side from the left: a legend
    that explains a mark the drawing never uses sends the reader looking for it.
    ``words`` gives each kind's legend text."""
    kinds = {edge.kind for edge in book_map.edges}
    if any(node.dead_end and not node.unreachable for node in book_map.nodes):
        kinds.add("dead-end")
    if any(node.unreachable for node in book_map.nodes):
        kinds.add("unreachable")
    entries: list[_LegendEntry] = []
    x = 8.0
    for kind, swatch in _LEGEND:
        if kind in kinds:
            entries.append(_LegendEntry(kind, x))
            x += swatch + len(words[kind]) * _LEGEND_CHARACTER + _LEGEND_GAP
    return tuple(entries)


def _arc(y1: float, y2: float) -> str:
    """An arc leaving the spine at y1 and returning at y2, bulging left by half the span."""
    bulge = min(abs(y2 - y1) * 0.5, _SPINE_X - 8)
    x = _SPINE_X - 6
    return (
        f"M {x:.1f} {y1:.1f} C {x - bulge:.1f} {y1:.1f}, {x - bulge:.1f} {y2:.1f}, {x:.1f} {y2:.1f}"
    )


# The map's colours by role. On screens the dead ends and unreachable chapters stand out in
# orange and red; on paper the map is printed in black ink alone (dashes and stroke weights
# still tell the kinds of node apart), as CMYK colours that WeasyPrint writes as such.
SCREEN_INK: Mapping[str, str] = {
    "arc": "#333", "faint": "#999", "node": "#333", "text": "#111", "legend": "#444",
    "paper": "#fff", "dead_end": "#c77700", "unreachable": "#b3261e",
}  # fmt: skip
PRINT_INK: Mapping[str, str] = {
    "arc": "device-cmyk(0 0 0 0.8)", "faint": "device-cmyk(0 0 0 0.4)",
    "node": "device-cmyk(0 0 0 0.8)", "text": "device-cmyk(0 0 0 1)",
    "legend": "device-cmyk(0 0 0 0.73)", "paper": "device-cmyk(0 0 0 0)",
    "dead_end": "device-cmyk(0 0 0 1)", "unreachable": "device-cmyk(0 0 0 0.6)",
}  # fmt: skip
# In an ebook the map is drawn in the reader's text colour, whatever it is (dark on light,
# light on dark in a night mode): every mark is currentColor, the hollow circles are
# unfilled, and the kinds of node and link differ by dashes and weights as on paper. The
# stylesheet may colour them further by their classes (map.svg.j2).
READER_INK: Mapping[str, str] = {
    role: "currentColor" for role in ("arc", "faint", "node", "text", "legend", "dead_end")
} | {"unreachable": "currentColor", "paper": "none"}


def render_svg(
    book_map: BookMap,
    styles: Styles,
    pages: Mapping[str, str] | None = None,
    ink: Mapping[str, str] = SCREEN_INK,
    units_per_em: float | None = None,
) -> str:
    """Return the map as an SVG document (``map.svg.j2``), with page numbers when given,
    drawn in ``ink`` (``SCREEN_INK``, ``PRINT_INK`` for the print PDF, ``READER_INK`` in an
    ebook), its words in the book's language (``book_map.labels``).

    The drawing is as many points wide and high as its units; with ``units_per_em`` it is
    sized in ems instead, so many units to the em, and grows with the reader's text."""
    labels = book_map.labels
    row_of = {node.slug: _TOP + (node.position - 1) * _ROW for node in book_map.nodes}
    arcs = [
        _Arc(_arc(row_of[edge.source], row_of[edge.target]), edge.kind)
        for edge in book_map.edges
        if edge.source in row_of and edge.target in row_of
    ]
    # Cross-references first, so the Next Stages arcs are drawn over them.
    arcs.sort(key=lambda arc: arc.kind == "next-stage")
    height = _TOP + len(book_map.nodes) * _ROW + 40
    template = styles.environment().get_template("map.svg.j2")
    return template.render(
        nodes=book_map.nodes,
        arcs=arcs,
        rows=row_of,
        pages=pages or {},
        spine_x=_SPINE_X,
        width=_WIDTH,
        height=height,
        svg_width=f"{_WIDTH / units_per_em:.2f}em" if units_per_em else f"{_WIDTH:g}",
        svg_height=f"{height / units_per_em:.2f}em" if units_per_em else f"{height:g}",
        legend=_legend(book_map, _legend_words(labels)),
        legend_y=height - 22,
        ink=ink,
        labels=labels,
    )


def _legend_words(labels: Labels) -> dict[str, str]:
    """The legend text of each kind of mark."""
    return {
        "next-stage": labels.next_stages,
        "cross-reference": labels.cross_reference,
        "dead-end": labels.dead_end,
        "unreachable": labels.unreachable,
    }


def render_dot(book_map: BookMap, title: str) -> str:
    """Return the map as Graphviz DOT text: solid edges for Next Stages, dashed for cross-references."""

    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"digraph {quote(title)} {{", "  rankdir=TB;", "  node [shape=box];"]
    for node in book_map.nodes:
        style = []
        if node.unreachable:
            style.append('color="#b3261e", style=dashed')
        elif node.dead_end:
            style.append('color="#c77700"')
        label = quote(f"{node.number}. {node.title}")
        attributes = ", ".join([f"label={label}", *style])
        lines.append(f"  {quote(node.slug)} [{attributes}];")
    for edge in book_map.edges:
        edge_style = " [style=dashed, color=gray50]" if edge.kind == "cross-reference" else ""
        lines.append(f"  {quote(edge.source)} -> {quote(edge.target)}{edge_style};")
    lines.append("}")
    return "\n".join(lines) + "\n"
