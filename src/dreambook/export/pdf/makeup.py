"""Full pages: the space a page leaves at its foot, given to the gaps above its headings.

A heading keeps its first lines with it, and the Next Stages box its first item, so a page
that cannot hold them ends short and the rest goes over. A typesetter would not leave that
gap at the foot of a page in the middle of a chapter: they spread it over the space above
the headings on the page (vertical justification), so the page ends at the foot of the
text block like its neighbours.

CSS cannot ask for that, so it is measured: after a layout, ``page_fill`` finds every page
that is followed by more of the same chapter and ends more than ``MIN_FILL_PX`` short of
the text block (or of its footnotes), and shares the shortfall out among the headings (and
the Next Stages box) that do not stand at the page's top. That space is added to the
laid-out boxes (``add_space``: each of those elements moves down by its share, with what
follows it on the page), not laid out: it only uses what the page left empty, so every page
breaks where it did. The make-up's other choices (``choices``: a paragraph tightened or
kept unhyphenated, the Next Stages box pulled back, kept or let go) change lines or breaks,
and go into the next layout as CSS (``fill_css``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Shortfalls below this many CSS pixels are left alone (a page is filled in whole lines).
MIN_FILL_PX = 6.0
# The most lines added above one heading (on average) to fill the page a kept box left.
MAX_GAP_LINES = 3
# Leave this much unfilled, so that rounding can never push a line over the foot.
_SLACK_PX = 0.5
# Boxes whose space above may grow: section headings, and the chapter's closing box.
_HEADINGS = frozenset({"h2", "h3", "h4"})
# What opens a page that ends the chapter before it.
_BREAK_CLASSES = frozenset({"chapter-opening", "chunk-end"})
# The box a chapter closes with, which may be pulled back onto the page before.
_PULLED_CLASSES = frozenset({"next-stages"})


def _boxes(box: Any) -> Iterator[Any]:
    for child in getattr(box, "children", ()):
        yield child
        yield from _boxes(child)


def _root(page: Any) -> Any | None:
    children = page._page_box.children
    return children[0] if children else None


def _starts_chapter(page: Any) -> bool:
    """Whether the page holds nothing (a blank page), opens a chapter, or is the page a
    chunk's sentinel opens (see chunks.py): the page before it ends a chapter."""
    root = _root(page)
    if root is None or not root.children:
        return True
    for box in _boxes(root):
        element = getattr(box, "element", None)
        if element is not None and _BREAK_CLASSES & set((element.get("class") or "").split()):
            return True
    return False


# Boxes whose whole border box is ink or holds it: a table's cells keep their padding and
# rules below their last line, and none of it may be pushed past the foot.
_TABLE_PARTS = frozenset({"TableBox", "TableRowGroupBox", "TableRowBox", "TableCellBox"})


def _border_bottom(box: Any) -> float:
    """The foot of ``box``'s border, in CSS pixels (a margin below it is dropped at the foot
    of a page)."""
    return float(box.position_y + box.margin_height() - box.margin_bottom)


def _text_bottom(root: Any) -> float | None:
    """The foot of the last line (or ruled box, or table) on a page, in CSS pixels."""
    bottoms = []
    for box in _boxes(root):
        kind = type(box).__name__
        if kind == "LineBox":
            bottoms.append(box.position_y + box.height)
        elif (kind == "BlockBox" and box.border_bottom_width) or kind in _TABLE_PARTS:
            bottoms.append(_border_bottom(box))
    return max(bottoms) if bottoms else None


def _unbreakable_foot(root: Any, bottom: float) -> float:
    """The height of the block that ends the page at ``bottom`` and may not break across
    pages (``break-inside: avoid``, as tables are set), or 0: what the page gives up whole
    when what follows must join it on the next page."""
    heights = [0.0]
    for box in _boxes(root):
        if type(box).__name__ not in ("BlockBox", "TableWrapperBox", "TableBox"):
            continue
        if box.style["break_inside"] not in ("avoid", "avoid-page"):
            continue
        foot = _border_bottom(box)
        if abs(foot - bottom) <= 1:
            heights.append(foot - (box.position_y + box.margin_top))
    return max(heights)


def _defers_a_footnote(page: Any) -> bool:
    """Whether a footnote called on ``page`` was set on a later page: WeasyPrint sends a
    note over when that lets one more line stay, so such a page is full, whatever it
    leaves empty below its last line."""
    root = _root(page)
    if root is None:
        return False
    called = {
        id(box.footnote.element)
        for box in _boxes(root)
        if getattr(box, "footnote", None) is not None
    }
    if not called:
        return False
    for child in page._page_box.children:
        if type(child).__name__ == "FootnoteAreaBox":
            called -= {id(note.element) for note in child.children}
    return bool(called)


def _foot(page: Any) -> float:
    """Where the page's text may go down to: its footnotes' top, or the text block's foot."""
    page_box = page._page_box
    foot = page_box.content_box_y() + page_box.height
    for child in page_box.children:
        if type(child).__name__ == "FootnoteAreaBox" and child.children:
            foot = min(foot, child.position_y)
    return float(foot)


def _gaps(root: Any, top: float) -> list[Any]:
    """The boxes on a page whose space above may grow: headings below the page's top that
    carry an id to be found by in the next layout. A heading that opens a ruled box (the
    Quick Answer) gives its space to the box, above its rule, when the box has an id."""
    found = []
    for parent in [root, *_boxes(root)]:
        for box in getattr(parent, "children", ()):
            element = getattr(box, "element", None)
            if element is None or type(box).__name__ != "BlockBox" or box.position_y <= top + 1:
                continue
            if box.element_tag not in _HEADINGS or not element.get("id"):
                continue
            if parent.border_top_width and parent.children and parent.children[0] is box:
                owner = getattr(parent, "element", None)
                if owner is not None and owner.get("id") and parent.position_y > top + 1:
                    found.append(parent)
                continue
            found.append(box)
    return found


@dataclass(frozen=True)
class Space:
    """Space set on one side of one element: what the stylesheet gives it and what is
    added (negative where space is taken away)."""

    base: float
    extra: float

    @property
    def value(self) -> float:
        return round(self.base + self.extra, 2)


KEPT = Space(0.0, 0.0)
LET_GO = Space(0.0, 1.0)


# "element-id|css-property" -> the space set there. The property ``KEEP`` carries no space:
# ``KEPT`` keeps the element on the page of what comes before it (``break-before: avoid``);
# ``LET_GO`` records that keeping it was tried and given up, and lets a short box split.
Fill = dict[str, Space]
KEEP = "break-before"
# The property of a paragraph that must not hyphenate (its last line on a right-hand page
# ended in a hyphen): ``KEPT`` there sets ``hyphens: manual``.
UNHYPHENATED = "hyphens"
# The property of a paragraph with a loose line (its word spaces stretched by more than
# ``LOOSE_EM``): ``KEPT`` there sets it a little tighter, ``TIGHTER_CSS``, so that the
# line takes in the next syllable or word and the spaces close up.
TIGHTER = "letter-spacing"
TIGHTER_CSS = "-0.012em"
LOOSE_EM = 0.25
# What WeasyPrint sets at the end of a line it hyphenated (CSS hyphenate-character's default).
_ADDED_HYPHEN = "\u2010"

# What pulling a Next Stages box back may take, in CSS pixels, and what it leaves of each
# space: its space above, its padding above its heading, the space below its heading.
_LEAVE_ABOVE_BOX = 5.33  # 4 pt
_LEAVE_IN_BOX = 4.0  # 3 pt
_LEAVE_BELOW_HEADING = 2.67  # 2 pt
# "One line of tightening", with a tenth of a line to spare for the rules' fractions.
_TIGHTENING = 1.1


def _key(box: Any, name: str) -> str:
    return f"{box.element.get('id')}|{name}"


def page_fill(pages: Sequence[Any], held: Fill, *, decide: bool = True) -> Fill:
    """For WeasyPrint ``pages`` laid out with the fill ``held``, the fill that makes every
    page followed by more of its chapter end at its foot.

    A page's shortfall is what it leaves empty plus what ``held`` added on it; a page that
    sent a footnote it calls over to the next page has none (it is full). When the
    page after it opens with the chapter's Next Stages box and at most a line of
    tightening (of the box's spaces, see ``_pull_back``) lets the box's heading and first
    two items (the whole of a short box) end this page, the box is pulled back; when it
    cannot be, the box is kept with the text before it (``KEEP``), so that it takes the
    last lines of the text over with it rather than stand alone on the chapter's last page.
    The shortfall's whole lines go above the page's headings; where that would put more
    than ``MAX_GAP_LINES`` above one of them because the box was kept (or leave a page
    with no heading more than a line short), the box is let go again (``LET_GO``): a lone
    box is the lesser fault. When even the one line a kept box takes over at least would
    do that, the box is let go at once. Returns ``held`` itself when
    nothing changes.

    Those choices (pulling back, keeping, letting go, unhyphenating, tightening) stay once
    taken, so that the layouts converge; with ``decide`` False none is taken, only the
    space above headings is measured. The layout drivers decide only in a layout whose
    page numbers held, so the choices depend on the book, not on the builds before it.
    """
    fill = dict(held)
    for page in pages[:-1] if decide else ():
        turned = _hyphen_at_turn(page)
        if turned is not None:
            fill[_key(turned, UNHYPHENATED)] = KEPT
    for page in pages if decide else ():
        for loose in _loose_paragraphs(page):
            fill.setdefault(_key(loose, TIGHTER), KEPT)
    for index, page in enumerate(pages):
        root = _root(page)
        if root is None:
            continue
        # The space ``held`` gave on this page is measured again from scratch: a heading
        # that has since moved to the top of a page, or to a chapter's last page, keeps
        # none, so the fill depends on the pages, not on the layouts before them.
        placed, effective = _placed(root, held)
        for key in placed:
            fill.pop(key, None)
        if index == len(pages) - 1 or _starts_chapter(pages[index + 1]):
            continue
        bottom = _text_bottom(root)
        if bottom is None:
            continue
        gaps = _gaps(root, page._page_box.content_box_y())
        named = [_key(box, _side(box)) for box in gaps]
        natural = _foot(page) - bottom - _SLACK_PX + sum(held[key].extra for key in effective)
        if _defers_a_footnote(page):
            natural = 0.0
        following = pages[index + 1]
        pulled = _pull_back(following, natural, held) if decide else None
        if pulled is not None:
            fill.update(pulled)
            continue
        leading = _leading(root)
        # What a kept box may leave empty on this page: up to ``MAX_GAP_LINES`` above each
        # of its headings, or, with none, a line (a typesetter's "short page").
        room = MAX_GAP_LINES * len(gaps) * leading if gaps else leading
        alone = _opening_box(following) if decide else None
        if alone is not None and _key(alone, KEEP) not in held:
            # The box cannot come back: it takes the text's last lines with it instead,
            # and the next layout fills what that leaves on this page above its headings.
            # It takes at least a line, or the whole of a last block that may not break
            # (a table): when that alone would leave more empty than a kept box may,
            # keeping it would only be undone a layout later, so it is let go now.
            least = max(leading, _unbreakable_foot(root, bottom))
            fill[_key(alone, KEEP)] = LET_GO if natural + least > room else KEPT
            continue
        if natural < MIN_FILL_PX:
            continue
        kept = _kept_box(following, held) if decide else None
        if kept is not None and natural > room:
            fill[kept] = LET_GO
            continue
        if not gaps:
            continue
        shares = _shares(natural, leading, len(gaps))
        for gap, key, extra in zip(gaps, named, shares, strict=True):
            was = held.get(key)
            name = _side(gap)
            base = was.base if was is not None else getattr(gap, name.replace("-", "_"))
            if extra:
                fill[key] = Space(round(base, 2), round(extra, 2))
    return held if fill == held else fill


def _placed(root: Any, held: Fill) -> tuple[list[str], list[str]]:
    """The keys of ``held`` that add space (above a heading or a ruled box) to boxes that
    begin on the page whose root box is ``root``, and those of them that took effect there
    (not at the top of the page, where a margin is dropped)."""
    placed: list[str] = []
    effective: list[str] = []
    for box in _boxes(root):
        element = getattr(box, "element", None)
        if element is None or type(box).__name__ != "BlockBox" or not element.get("id"):
            continue
        for name in ("padding-top", "margin-top"):
            key = _key(box, name)
            space = held.get(key)
            if space is None or space.extra <= 0 or key in placed:
                continue
            # A later fragment of a split box has lost its padding and rule above.
            first = box.padding_top > 0 if name == "padding-top" else box.border_top_width > 0
            if not first:
                continue
            placed.append(key)
            if getattr(box, name.replace("-", "_")) > 0:
                effective.append(key)
    return placed, effective


def _hyphen_at_turn(page: Any) -> Any | None:
    """The paragraph whose last line on the right-hand ``page`` ends in a hyphen the layout
    added: the reader would turn the page in the middle of a word."""
    root = _root(page)
    if root is None or page._page_box.page_type.side != "right":
        return None
    lines = [box for box in _boxes(root) if type(box).__name__ == "LineBox"]
    if not lines:
        return None
    last = max(lines, key=lambda line: line.position_y)
    text = "".join(getattr(box, "text", "") for box in _boxes(last)).rstrip()
    element = getattr(last, "element", None)
    if not text.endswith(_ADDED_HYPHEN) or element is None or not element.get("id"):
        return None
    return last


def _loose_paragraphs(page: Any) -> Iterator[Any]:
    """The lines of justified paragraphs on ``page`` whose word spaces the justification
    stretched by more than ``LOOSE_EM`` (the paragraph's last line is not justified)."""
    root = _root(page)
    for line in _boxes(root) if root is not None else ():
        if type(line).__name__ != "LineBox":
            continue
        element = getattr(line, "element", None)
        if element is None or not element.get("id") or line.style["text_align_all"] != "justify":
            continue
        stretch = max((getattr(box, "justification_spacing", 0) for box in _boxes(line)), default=0)
        if stretch > LOOSE_EM * line.style["font_size"]:
            yield line


def _kept_box(page: Any, held: Fill) -> str | None:
    """The ``KEEP`` key of the closing box on ``page`` that ``held`` keeps with its text."""
    root = _root(page)
    for box in _boxes(root) if root is not None else ():
        element = getattr(box, "element", None)
        if element is not None and _PULLED_CLASSES & set((element.get("class") or "").split()):
            key = _key(box, KEEP)
            return key if held.get(key) == KEPT else None
    return None


def _specified_px(box: Any, name: str, used: float) -> float:
    """A box's length as its style gives it, in CSS pixels (``used`` when it is not a
    plain length)."""
    value = box.style[name]
    if getattr(value, "unit", None) == "px":
        return float(value.value)
    return float(used)


def _side(box: Any) -> str:
    """Where a gap's space goes: above a heading's text, or above a ruled box's rule."""
    return "padding-top" if box.element_tag in _HEADINGS else "margin-top"


def _opening_box(page: Any) -> Any | None:
    """The chapter's closing box when it opens ``page`` (its heading at the top), else None."""
    root = _root(page)
    if root is None:
        return None
    top = page._page_box.content_box_y()
    for box in _boxes(root):
        element = getattr(box, "element", None)
        if element is None or type(box).__name__ != "BlockBox":
            continue
        if _PULLED_CLASSES & set((element.get("class") or "").split()):
            heading = any(getattr(b, "element_tag", None) in _HEADINGS for b in _boxes(box))
            return box if heading and element.get("id") and box.position_y <= top + 1 else None
    return None


def _pull_back(following: Any, room: float, held: Fill) -> Fill | None:
    """The fill that pulls the Next Stages box opening the ``following`` page back onto the
    page before, which has ``room`` pixels free; None when a line of tightening cannot.

    The tightening takes from the box's space above first, then from the padding above its
    heading, then from the space below the heading, leaving some of each. A box already
    tightened is not tightened again.
    """
    root = _root(following)
    if root is None:
        return None
    top = following._page_box.content_box_y()
    for box in _boxes(root):
        element = getattr(box, "element", None)
        if element is None or type(box).__name__ != "BlockBox":
            continue
        if not _PULLED_CLASSES & set((element.get("class") or "").split()):
            continue
        items = [b for b in _boxes(box) if getattr(b, "element_tag", None) == "li"]
        heading = next(
            (b for b in _boxes(box) if getattr(b, "element_tag", None) in _HEADINGS), None
        )
        if (
            not element.get("id") or box.position_y > top + 1 or not items
            or heading is None or not heading.element.get("id")
            or _key(box, "margin-top") in held
        ):  # fmt: skip
            return None
        # A short box is kept whole (print.css), a long one may leave all but its first
        # two items to the next page.
        whole = "short" in (element.get("class") or "").split()
        last = box if whole else items[min(1, len(items) - 1)]
        # From the box's rule to the foot of what must come back (a margin below it would
        # be dropped at the foot of the page), and the space above the rule that the box
        # has on the page before (at the top of this page the layout dropped it).
        bottom = _border_bottom(last)
        above = _specified_px(box, "margin_top", box.margin_top)
        needed = bottom - (box.position_y + box.margin_top) + above - room + _SLACK_PX
        cuts = [
            (box, "margin-top", above, _LEAVE_ABOVE_BOX),
            (box, "padding-top", box.padding_top, _LEAVE_IN_BOX),
            (heading, "margin-bottom", heading.margin_bottom, _LEAVE_BELOW_HEADING),
        ]
        available = sum(max(0.0, space - leave) for _, _, space, leave in cuts)
        if needed <= 0 or needed > min(available, _TIGHTENING * _leading(root)):
            return None
        fill: Fill = {}
        for owner, name, space, leave in cuts:
            cut = min(max(0.0, space - leave), needed)
            if cut > 0:
                fill[_key(owner, name)] = Space(round(space, 2), -round(cut, 2))
                needed -= cut
        return fill
    return None


def _leading(root: Any) -> float:
    """The height of most lines on the page: the grid the text is set on."""
    heights = Counter(
        round(box.height, 2) for box in _boxes(root) if type(box).__name__ == "LineBox"
    )
    return float(heights.most_common(1)[0][0]) if heights else 0.0


def _shares(short: float, leading: float, gaps: int) -> list[float]:
    """``short`` shared out among ``gaps`` in whole lines of ``leading``, so that text on the
    grid stays on it. What is less than a line is left (every page may end that much short:
    a chapter's first page, whose text starts off the grid, or a page of footnotes)."""
    if leading <= 0:
        return [0.0] * gaps
    # ``short`` is what the page leaves less a little slack; whole lines are counted on the
    # space itself, and the slack is kept back from the first share.
    lines = int((short + _SLACK_PX) / leading + 0.01)
    shares = [leading * (lines // gaps + (1 if n < lines % gaps else 0)) for n in range(gaps)]
    if lines:
        shares[0] -= max(0.0, lines * leading - short)
    return shares


# The sides where the make-up adds space (a positive ``extra``) to a page that ends short:
# above a heading's text, above a ruled box's rule. That space only takes what its page
# left empty, so it moves no page break: it is added to the laid-out boxes (``add_space``)
# rather than laid out, and a layout is given only the make-up's other choices.
_SPACE_SIDES = frozenset({"padding-top", "margin-top"})


def is_space(key: str, space: Space) -> bool:
    """Whether ``key`` of a fill adds space above a heading or a ruled box."""
    return space.extra > 0 and key.rpartition("|")[2] in _SPACE_SIDES


def choices(fill: Mapping[str, Space]) -> Fill:
    """The make-up's choices in ``fill``, which a layout is given: all but its space."""
    return {key: space for key, space in fill.items() if not is_space(key, space)}


def add_space(document: Any, fill: Mapping[str, Space]) -> None:
    """Give the laid-out ``document`` the space ``fill`` adds (``is_space``): each heading or
    ruled box that ``page_fill`` chose on a page moves down by its share, with everything
    after it on the page, and the boxes around it grow by as much.

    The result is what laying the document out again with ``fill_css(fill)`` gives where
    the space does not collapse with a margin above it (``tests/unit/test_makeup.py``),
    and what the make-up asked for where it does.
    """
    from weasyprint.document import Page

    for index, page in enumerate(document.pages):
        root = _root(page)
        if root is None:
            continue
        added: dict[int, tuple[str, float]] = {}
        for gap in _gaps(root, page._page_box.content_box_y()):
            key = _key(gap, _side(gap))
            space = fill.get(key)
            if space is not None and is_space(key, space):
                added[id(gap)] = (_side(gap), space.extra)
        if added and _spread(root, added):
            _move_backgrounds(page._page_box)
            # The page's links, anchors and bookmarks are read from its boxes.
            document.pages[index] = Page(page._page_box)


def _spread(box: Any, added: Mapping[int, tuple[str, float]]) -> float:
    """Add the space ``added`` gives the boxes inside ``box`` (by box id: the side and
    how much), moving each later box down by all the space added before it; return the
    space added in all (``box``'s content grows by that much)."""
    total = 0.0
    for child in getattr(box, "children", ()):
        if total:
            child.translate(dy=total)
        grown = 0.0
        if id(child) in added:
            side, extra = added[id(child)]
            for inner in child.children:
                inner.translate(dy=extra)
            if side == "padding-top":
                child.padding_top += extra
            else:
                child.margin_top += extra
            grown += extra
        if type(child).__name__ == "BlockBox":
            inside = _spread(child, added)
            child.height += inside
            grown += inside
        total += grown
    return total


def _move_backgrounds(page_box: Any) -> None:
    """Lay the backgrounds of the boxes on a page out again where the boxes now are, with
    the images they were given."""
    from itertools import cycle

    from weasyprint.layout.background import Background, layout_background_layer

    for box in _boxes(page_box):
        background = getattr(box, "background", None)
        if background is None:
            continue
        style = box.style
        images = [layer.image for layer in background.layers]
        properties = (
            "background_size", "background_clip", "background_repeat",
            "background_origin", "background_position", "background_attachment",
        )  # fmt: skip
        layers = [
            layout_background_layer(box, page_box, style["image_resolution"], *layer)
            for layer in zip(images, *(cycle(style[name]) for name in properties), strict=False)
        ]
        box.background = Background(background.color, layers, style)


def fill_css(fill: Mapping[str, Space]) -> str:
    """The rules that give each element of ``fill`` its space."""
    rules = []
    for key, space in sorted(fill.items()):
        element, _, name = key.rpartition("|")
        if name == KEEP and space == LET_GO:
            # A box let go may split again, so that its page keeps what it can of it.
            name, value = "break-inside", "auto"
        else:
            value = {KEEP: "avoid", UNHYPHENATED: "manual", TIGHTER: TIGHTER_CSS}.get(
                name, f"{space.value:.2f}px"
            )
        rules.append(f'[id="{element}"] {{ {name}: {value} !important; }}')
    return "\n".join(rules)


def with_fill(html: str, fill: Mapping[str, Space]) -> str:
    """The print HTML ``html`` with the rules of ``fill`` in a style element at the end of
    its head (after the stylesheets, so they win)."""
    if not fill:
        return html
    return html.replace("</head>", f"<style>\n{fill_css(fill)}\n</style>\n</head>", 1)
