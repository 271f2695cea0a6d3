"""The line-numbered index of a chapter body: headings, links, images, raw markup, Next Stages.

The Markdown renderer keeps no line numbers, so the places every later diagnostic names are
found here, from markdown-it-py's token line maps (a CommonMark parser that records the
source lines of each block), not from regular expressions over the text. Checking a big book
reads every chapter, so the parse skips what cannot find anything (see _BLOCK_RULE_MARKS and
_may_hold_markup), and a body in plain Markdown is indexed line by line without markdown-it
(_quick_index); tests/unit/test_manuscript_fast_paths.py holds those shortcuts to account.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

from dreambook.manuscript.misreadings import Misreading, find_misreadings
from dreambook.manuscript.model import Heading, Image, Link, NextStageItem, RawMarkup
from dreambook.slugs import slugify, strip_blurb_lead, title_key

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

_ATTR_LIST_RE = re.compile(r"[ \t]+\{:?[ \t]*([^{}\s][^{}]*)\}[ \t]*$")
_ATTR_OPENING_RE = re.compile(r"[ \t]\{[^}\s]")
_ATTR_ID_RE = re.compile(r"(?:^|\s)#([A-Za-z][\w\-:.]*)")

# Lists and quotes nested deeper than this are refused (DB085): no book needs them, and the
# Markdown renderer and the PDF layout both recurse once per level.
MAX_NESTING = 32
# Elements of any kind (raw HTML, emphasis, links, lists) nested deeper than this are
# refused too (DB085). WeasyPrint's layout runs out of Python's recursion limit at about
# 200 nested elements and the EPUB's XML parser stops at 256; 100 were measured to build
# every format, and no book needs more than a handful.
MAX_ELEMENT_DEPTH = 64

# Raw HTML opens and closes elements; void elements and those whose end tag may be left
# out (a run of <p> or <li> nests nothing) are not counted.
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)\b[^<>]*?(/?)>")
_NOT_NESTING = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
        "p",
        "li",
        "dt",
        "dd",
        "tr",
        "td",
        "th",
        "option",
        "thead",
        "tbody",
        "tfoot",
        "colgroup",
        "rb",
        "rt",
        "rtc",
        "rp",
        "optgroup",
    ]
)
# An inline run needs at least two characters per level of emphasis or link: one with
# fewer than this many cannot reach the element limit, and is not parsed for its depth.
_DEEP_INLINE_MARKS = re.compile(r"[*_\[<]")


@functools.cache
def _parser_class() -> type[MarkdownIt]:
    """markdown-it that keeps every link and image as written, whatever its scheme.

    markdown-it would drop javascript:, file: and data: targets, and check could then not
    report them; the index only records them, it never renders them. Made on first use: a
    book in plain Markdown is indexed without markdown-it (see _quick_index), and importing
    it is a tenth of the time `check` then takes on a big book.
    """
    from markdown_it import MarkdownIt

    class IndexParser(MarkdownIt):
        def validateLink(self, url: str) -> bool:
            return True

    return IndexParser


# markdown-it stops nesting at maxNesting levels (a list and its item count two); beyond the
# refusal depth is enough for the index to see the depth and report it.
_PARSER_OPTIONS = {"maxNesting": 4 * MAX_NESTING}
# Every body is parsed for its blocks only: inline parsing costs about as much again, and
# most paragraphs cannot hold anything the index records (see _may_hold_markup). The
# inlines that can are parsed one by one with the same rules (_inline_children).
#
# A block rule that needs text the body lacks can never match there, so the body is parsed
# without it: the same tokens, with fewer rules tried at every line.
_BLOCK_RULE_MARKS = (
    ("blockquote", (">",)),
    ("fence", ("```", "~~~")),
    ("html_block", ("<",)),
    ("reference", ("]:",)),  # the label's ']' and the ':' after it stand together
    ("table", ("|",)),  # the header row needs a '|'
)
# Rules whose need is a line of a certain shape: a thematic break is a line of three or more
# '*', '-' or '_' (spaces between allowed) after any blockquote marks and list markers, and a
# setext heading's underline is a line of '=' or '-' alone after any blockquote marks. Without
# such a line anywhere, neither rule can match. (A table's delimiter row, '|---|---|', is
# neither.)
_BLOCK_RULE_PATTERNS = (
    (
        "hr",
        re.compile(
            r"^[ \t>]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)*([*_-])(?:[ \t]*\1){2,}[ \t]*$",
            re.MULTILINE,
        ),
    ),
    ("lheading", re.compile(r"^[ \t>]*(?:=+|-+)[ \t]*$", re.MULTILINE)),
)


@functools.cache
def _block_parser(dropped_rules: frozenset[str]) -> MarkdownIt:
    parser = _parser_class()("commonmark", _PARSER_OPTIONS).enable("table")
    return parser.disable(["inline", "text_join", *sorted(dropped_rules)])


def _parse_blocks(body: str, env: dict[str, Any]) -> list[Token]:
    """Return the block tokens of ``body``; inline tokens are left without children."""
    dropped = frozenset(
        [rule for rule, marks in _BLOCK_RULE_MARKS if not any(mark in body for mark in marks)]
        + [rule for rule, pattern in _BLOCK_RULE_PATTERNS if pattern.search(body) is None]
    )
    return _block_parser(dropped).parse(body, env)


@functools.cache
def _inline_parser() -> MarkdownIt:
    return _parser_class()("commonmark", _PARSER_OPTIONS).enable("table")


def _heading_text_and_id(raw: str, source: str) -> tuple[str, str | None]:
    """Split ``"Heading {#custom-id}"`` into its text and explicit id (attribute-list syntax).

    ``raw`` is the heading's text, ``source`` the Markdown it was read from: the renderer
    reads an attribute list only where one is written out at the end, after a space (not in
    a code span, nor as character references), and none at all after an earlier ' {'.
    """
    if "{" not in raw:
        return raw.strip(), None  # no attribute list
    attrs = _ATTR_LIST_RE.search(raw)
    written = _ATTR_LIST_RE.search(source)
    if not attrs or not written or _ATTR_OPENING_RE.search(source, 0, written.start()):
        return raw.strip(), None
    explicit = _ATTR_ID_RE.search(attrs.group(1))
    return raw[: attrs.start()].strip(), explicit.group(1) if explicit else None


def _inline_text(tokens: Sequence[Token]) -> str:
    """Return the plain text of inline tokens (markup dropped, line breaks as spaces)."""
    parts: list[str] = []
    for token in tokens:
        if token.type in {"text", "code_inline"}:
            parts.append(token.content)
        elif token.type in {"softbreak", "hardbreak"}:
            parts.append(" ")
        elif token.type == "image":
            parts.append(token.content)
    return " ".join("".join(parts).split())


def _href(token: Token, name: str) -> str:
    value = token.attrs.get(name, "")
    return unquote(str(value))


@dataclass
class BodyIndex:
    """What a chapter body holds, each with its file line; filled in as the body is walked."""

    headings: list[Heading]
    links: list[Link]
    images: list[Image]
    next_stages_line: int | None
    next_stages: list[NextStageItem]
    raw_markup: list[RawMarkup] = field(default_factory=list)
    deepest: tuple[int, int] = (0, 0)  # (nesting depth, file line where it is reached)
    # (elements nested, counting raw HTML, emphasis and links, and the file line)
    deepest_elements: tuple[int, int] = (0, 0)
    misreadings: tuple[Misreading, ...] = ()


def _line_holding(source_lines: Sequence[str], start: int, target: str) -> int:
    """Return the first line index from ``start`` whose source text holds ``target``.

    Line breaks inside a code span, an image's alt text or a link destination leave no
    break token behind, so counting break tokens alone can lag; the link's own target
    text, found in the source, says where it really stands. Returns ``start`` when the
    target is not written out (a reference-style link).
    """
    if target:
        for index in range(start, len(source_lines)):
            if target in source_lines[index] or unquote(target) in source_lines[index]:
                return index
    return start


def _link_end(children: Sequence[Token], start: int) -> int:
    """Return the index just past the ``link_close`` matching the ``link_open`` at ``start``."""
    depth, end = 1, start + 1
    while end < len(children) and depth:
        depth += {"link_open": 1, "link_close": -1}.get(children[end].type, 0)
        end += 1
    return end


def _walk_inline(inline: Token, first_line: int) -> Iterator[tuple[str, Token, int, int]]:
    """Yield (kind, token, file line, index past its end) for each link and image of an inline token."""
    children = inline.children or []
    source_lines = inline.content.split("\n")
    line = 0
    for position, child in enumerate(children):
        if child.type in {"softbreak", "hardbreak"}:
            line += 1
        elif child.type == "html_inline":
            line += child.content.count("\n")
        elif child.type == "image":
            line = _line_holding(source_lines, line, str(child.attrs.get("src", "")))
            yield "image", child, first_line + line, position + 1
        elif child.type == "link_open":
            line = _line_holding(source_lines, line, str(child.attrs.get("href", "")))
            yield "link", child, first_line + line, _link_end(children, position)


def _may_hold_markup(text: str) -> bool:
    """Return whether inline ``text`` can hold a link, an image, raw HTML or an attribute list.

    Each of them needs a '[' or a '<' written out, or a '{' (which a character reference
    such as '&#123;' can also produce).
    """
    return "[" in text or "<" in text or "{" in text or "&" in text


# The characters that can start an inline rule of CommonMark (code span, emphasis, entity,
# escape, raw HTML, autolink, link, image); text without them parses into plain text only.
_INLINE_MARKUP_RE = re.compile(r"[`*_&\\<!\[\]]")


def _plain_text(inline: Token, env: dict[str, Any]) -> str:
    """Return the text of ``inline`` as ``_inline_text`` gives it, parsing only when needed."""
    if _INLINE_MARKUP_RE.search(inline.content) is None:
        return " ".join(inline.content.split())
    return _inline_text(_inline_children(inline, env))


def _inline_children(inline: Token, env: dict[str, Any]) -> list[Token]:
    """Return the inline tokens of ``inline``, parsing them on first use.

    ``parseInline`` runs the inline rules and text joining of a whole-document parse;
    ``env`` holds the body's reference definitions, so ``[text][label]`` still resolves.
    """
    if not inline.children and inline.content:
        inline.children = _plain_links(inline.content)
        if inline.children is None:
            inline.children = _inline_parser().parseInline(inline.content, env)[0].children
    return inline.children or []


@dataclass(slots=True)
class _PlainToken:
    """A token the quick paths make without markdown-it: the fields of markdown-it's Token,
    compared field by field as Token's are, so the index code reads both alike."""

    type: str
    tag: str
    nesting: int
    attrs: dict[str, str | int | float] = field(default_factory=dict)
    map: list[int] | None = None
    level: int = 0
    children: list[Token] | None = None
    content: str = ""
    markup: str = ""
    info: str = ""
    meta: dict[Any, Any] = field(default_factory=dict)
    block: bool = False
    hidden: bool = False


def _token(kind: str, tag: str, nesting: int, **fields: Any) -> Token:
    """A token as markdown-it's Token(kind, tag, nesting, **fields) would be."""
    return cast("Token", _PlainToken(kind, tag, nesting, **fields))


# Inline text that holds nothing but words and [text](target) links with a plain relative
# target: no emphasis, code, escapes, entities, raw HTML, images, brackets of other use, nor
# line breaks. Its tokens are known without running the inline rules (_plain_links).
_PLAIN_LINK_RE = re.compile(r"\[([^\[\]`*_&\\<>{}\n]+)\]\(([A-Za-z0-9._#-][A-Za-z0-9._/#-]*)\)")
_NOT_PLAIN_RE = re.compile(r"[\[\]`*_&\\<>{}\n]")


def _plain_pieces(content: str) -> list[str] | None:
    """Split ``content`` into text, link text, target, text, link text, target, ..., text
    when it is plain text with simple links (see _PLAIN_LINK_RE); None otherwise."""
    pieces = _PLAIN_LINK_RE.split(content)
    texts = pieces[::3]
    if any(_NOT_PLAIN_RE.search(text) for text in texts):
        return None
    if any(text.endswith("!") for text in texts[:-1]):
        return None  # an image
    return pieces


def _plain_links(content: str) -> list[Token] | None:
    """Return the inline tokens markdown-it makes of ``content`` when it is plain text with
    simple links (see _PLAIN_LINK_RE); None when it may hold anything else."""
    pieces = _plain_pieces(content)
    if pieces is None:
        return None
    tokens: list[Token] = []
    for position in range(0, len(pieces) - 1, 3):
        if pieces[position]:
            tokens.append(_token("text", "", 0, content=pieces[position]))
        tokens += [
            _token("link_open", "a", 1, attrs={"href": pieces[position + 2]}),
            _token("text", "", 0, level=1, content=pieces[position + 1]),
            _token("link_close", "a", -1),
        ]
    if pieces[-1]:
        tokens.append(_token("text", "", 0, content=pieces[-1]))
    return tokens


def index_body(body: str, body_line: int, next_stages_heading: str) -> BodyIndex:
    """Index the headings, links, images and Next Stages items of a chapter body.

    ``body_line`` is the file line the body starts on. Returns the index; raises nothing.
    """
    quick = _quick_index(body, body_line, next_stages_heading)
    if quick is not None:
        return quick
    env: dict[str, Any] = {}
    tokens = _parse_blocks(body, env)
    # What the renderer will not render as Markdown is left out, so the index holds what
    # the book shows.
    misread = find_misreadings(tokens, body, body_line)
    index = BodyIndex([], [], [], None, [], misreadings=misread.found)
    next_stages_key = title_key(next_stages_heading)
    in_next_stages = False
    list_depth = 0
    container_depth = 0
    raw_depth = 0  # elements left open by raw HTML so far
    item_line: int | None = None
    for position, token in enumerate(tokens):
        if token.type in {"html_block", "inline"} and token.map is not None:
            line = body_line + token.map[0]
            rise, raw_depth = _element_depth(token, raw_depth, env)
            if container_depth + rise > index.deepest_elements[0]:
                index.deepest_elements = (container_depth + rise, line)
        if token.type in {"bullet_list_open", "ordered_list_open", "blockquote_open"}:
            container_depth += 1
            if container_depth > index.deepest[0]:
                index.deepest = (container_depth, body_line + (token.map[0] if token.map else 0))
        elif token.type in {"bullet_list_close", "ordered_list_close", "blockquote_close"}:
            container_depth -= 1
        if position in misread.hidden:
            continue
        if token.type == "heading_open":
            level = int(token.tag[1])
            line = body_line + (token.map[0] if token.map else 0)
            text = _index_heading(level, tokens[position + 1], line, index, env)
            # Only a heading outside lists and quotes starts or ends a section.
            if level <= 2 and token.level == 0:
                in_next_stages = level == 2 and title_key(text) == next_stages_key
                if in_next_stages:
                    index.next_stages_line = line
        elif token.type in {"bullet_list_open", "ordered_list_open"}:
            list_depth += 1
        elif token.type in {"bullet_list_close", "ordered_list_close"}:
            list_depth -= 1
        elif token.type == "list_item_open" and list_depth == 1 and in_next_stages:
            item_line = body_line + (token.map[0] if token.map else 0)
        elif token.type == "list_item_close" and list_depth == 1:
            item_line = None  # an empty item has no paragraph to claim
        elif token.type == "html_block" and token.map is not None:
            line = body_line + token.map[0]
            index.raw_markup.append(RawMarkup("html", token.content, line))
            index.images.extend(_raw_images(token.content, line))
        elif token.type == "inline" and token.map is not None:
            stage_line = item_line if in_next_stages else None
            _index_inline(token, body_line + token.map[0], stage_line, index, env)
            if stage_line is not None:
                item_line = None
    return index


def _index_heading(
    level: int, inline: Token, line: int, index: BodyIndex, env: dict[str, Any]
) -> str:
    """Record the heading whose text ``inline`` holds, on file ``line``; return its text."""
    text, explicit_id = _heading_text_and_id(_plain_text(inline, env), inline.content)
    index.headings.append(Heading(level, text, explicit_id or slugify(text), line))
    return text


def _index_inline(
    inline: Token, first_line: int, stage_line: int | None, index: BodyIndex, env: dict[str, Any]
) -> None:
    """Record what an inline token starting on ``first_line`` holds: raw markup, images, and
    its links, or the Next Stages item it describes when ``stage_line`` (its item's line) is
    given."""
    may_hold_markup = _may_hold_markup(inline.content)
    if may_hold_markup:
        _inline_children(inline, env)
        _index_raw_inline(inline, first_line, index.raw_markup, index.images)
    if stage_line is not None:
        index.next_stages.append(_next_stage_item(inline, stage_line, env))
    elif may_hold_markup:
        _index_links_and_images(inline, first_line, index)


# --- The quick path: plain bodies indexed line by line ---------------------------------------
# Most chapters are written in a small part of Markdown: paragraphs, '#' headings, '-' lists
# whose items are one paragraph each, '|' tables, and links. Such a body is indexed here line
# by line, without markdown-it's block parse (which costs several times as much), and its
# inline text is handled by the same code as the full path's (_index_heading, _index_inline).
# Any character or line that could start something else sends the whole body to the full
# path, so the quick path answers only where it reads the body as markdown-it does;
# tests/unit/test_manuscript_fast_paths.py compares the two.

# Raw HTML, block quotes, code, fences, escapes, entities, attribute lists, reference
# definitions, any white space but spaces and line breaks (tabs, carriage returns, no-break
# spaces), NUL (which markdown-it replaces), and indented or trailing spaces (indented
# blocks, continued list items, hard line breaks: _quick_index looks for those).
_QUICK_REFUSED_RE = re.compile(
    r"[<>`~\\&{}\x00"
    # every character str.isspace() holds but the space and the line break
    r"\t\r\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)
# A '#' heading with its closing sequence left out: one to six '#', one space, the text.
_QUICK_HEADING_RE = re.compile(r"(#{1,6}) ([^ #](?:.*[^ #])?)")
# What a line (or an item's text) must not start with to be paragraph text: a heading or
# table mark, a list marker, a thematic break, a setext underline, or the shape of a table's
# delimiter row.
_NOT_PARAGRAPH_RE = re.compile(
    r"[#|]|[-*+](?: |$)|\d{1,9}[.)](?: |$)|([-*_])(?: *\1){2,} *$|=+$|[-:|][-:| ]*$"
)
_DELIMITER_CELL_RE = re.compile(r":?-+:?")


def _delimiter_columns(line: str) -> int | None:
    """The number of columns of a table delimiter row ``line`` as markdown-it's table rule
    reads it (an unindented line); None when it is no delimiter row."""
    if len(line) < 2 or line[0] not in "|-:" or line[1] not in "|-: ":
        return None
    if line[0] == "-" and line[1] == " ":
        return None  # a list item, not a delimiter row
    if any(character not in "|-: " for character in line):
        return None
    cells = line.split("|")
    count = 0
    for position, cell in enumerate(cells):
        trimmed = _trim(cell)
        if not trimmed:
            if position in (0, len(cells) - 1):
                continue
            return None
        if _DELIMITER_CELL_RE.fullmatch(trimmed) is None:
            return None
        count += 1
    return count


def _row_cells(line: str) -> list[str]:
    """The cells of a table row as markdown-it's table rule splits it (no escaped pipes)."""
    cells = _trim(line).split("|")
    if cells and cells[0] == "":
        cells.pop(0)
    if cells and cells[-1] == "":
        cells.pop()
    return cells


def _trim(text: str) -> str:
    """markdown-it's mdTrim for the text of a body the quick path reads: of all the white
    space mdTrim strips, such a body holds only spaces and line breaks."""
    return text.strip(" \n")


def _plain_stage_item(content: str, line: int) -> NextStageItem | None:
    """The Next Stages item on ``line`` that _next_stage_item finds in inline ``content``
    when it is plain text with simple links (its first link leads on); None otherwise."""
    pieces = _plain_pieces(content)
    if pieces is None or len(pieces) < 4:
        return None
    # Text as _inline_text gives it: the text and link texts in order, spaces collapsed.
    texts = [piece for position, piece in enumerate(pieces) if position % 3 != 2]
    text = " ".join("".join(texts).split())
    after = " ".join("".join(texts[2:]).split())
    link_text = " ".join(pieces[1].split())
    return NextStageItem(text, unquote(pieces[2]), link_text, strip_blurb_lead(after), line)


class _NotQuick(Exception):
    """The body holds something the quick path leaves to markdown-it."""


class _QuickIndexer:
    """The state of one quick walk over a body's lines (see _quick_index)."""

    def __init__(self, body_line: int, next_stages_heading: str) -> None:
        self.body_line = body_line
        self.next_stages_key = _heading_key(next_stages_heading)
        self.index = BodyIndex([], [], [], None, [])
        self.env: dict[str, Any] = {}
        self.in_next_stages = False
        self.in_list = False
        # The paragraph being read: its first line (body line), its lines, and the body line
        # of its list item when it is an item's (None for a paragraph outside lists).
        self.start: int | None = None
        self.lines: list[str] = []
        self.item: int | None = None
        self.count_marks = True

    def depth(self, content: str, first: int) -> None:
        """Count the elements that inline ``content`` on body line ``first`` nests, as
        _element_depth does for the inline token; refuse one that may nest deep."""
        if self.count_marks and (
            len(_DEEP_INLINE_MARKS.findall(content)) >= MAX_ELEMENT_DEPTH // 2
        ):
            raise _NotQuick
        depth = (1 if self.in_list else 0) + 1
        if depth > self.index.deepest_elements[0]:
            self.index.deepest_elements = (depth, self.body_line + first)

    def text(
        self,
        content: str,
        first: int,
        last: int,
        level: int,
        stage_line: int | None = None,
        depth: bool = True,
    ) -> None:
        """Index inline ``content`` on body lines ``first`` to ``last`` as the full path
        indexes its inline token (its depth too, unless already counted)."""
        if depth:
            self.depth(content, first)
        if stage_line is not None and "[" in content:
            item = _plain_stage_item(content, stage_line)
            if item is not None:
                self.index.next_stages.append(item)
                return
        if stage_line is not None or _may_hold_markup(content):
            token = _token("inline", "", 0, map=[first, last], level=level, content=content)
            token.children = []
            _index_inline(token, self.body_line + first, stage_line, self.index, self.env)

    def end_paragraph(self, end: int) -> None:
        """Index the paragraph being read, which ends before body line ``end``."""
        if self.start is None:
            return
        content = _trim("\n".join(self.lines))
        stage_line = None
        if self.item is not None and self.in_next_stages:
            stage_line = self.body_line + self.item
        self.text(content, self.start, end, 3 if self.item is not None else 1, stage_line)
        self.start, self.lines, self.item = None, [], None

    def heading(self, level: int, content: str, number: int) -> None:
        self.in_list = False
        line = self.body_line + number
        self.depth(content, number)
        text, section_id, key = _quick_heading(content)
        self.index.headings.append(Heading(level, text, section_id, line))
        if level <= 2:
            self.in_next_stages = level == 2 and key == self.next_stages_key
            if self.in_next_stages:
                self.index.next_stages_line = line
        self.text(content, number, number + 1, 1, depth=False)

    def item_start(self, text: str, number: int) -> None:
        if _NOT_PARAGRAPH_RE.match(text):
            raise _NotQuick  # a nested list, heading or table in an item
        if not self.in_list:
            self.in_list = True
            if self.index.deepest[0] < 1:
                self.index.deepest = (1, self.body_line + number)
        self.start, self.lines, self.item = number, [text], number

    def table(self, lines: list[str], number: int) -> int:
        """Index the table whose header row is body line ``number``; return the number of
        the line after it."""
        self.in_list = False
        columns = _delimiter_columns(lines[number + 1]) if number + 1 < len(lines) else None
        header = _row_cells(lines[number])
        if not columns or len(header) != columns:
            raise _NotQuick  # a paragraph after all
        self.cells(header, number)
        number += 2
        while number < len(lines) and lines[number]:
            row = _row_cells(lines[number])
            if not lines[number].startswith("|") or len(row) != columns:
                raise _NotQuick
            self.cells(row, number)
            number += 1
        return number

    def cells(self, row: list[str], number: int) -> None:
        """Index the cells of the table row on body line ``number``."""
        for position, cell in enumerate(row):
            content = _trim(cell)
            if self.count_marks or position == 0:  # the cells of a row are equally deep
                self.depth(content, number)
            if _may_hold_markup(content):
                self.text(content, number, number + 1, 4, depth=False)


# The key of the Next Stages heading, the same for every chapter of a book.
_heading_key = functools.lru_cache(maxsize=16)(title_key)


@functools.lru_cache(maxsize=1024)
def _quick_heading(content: str) -> tuple[str, str, str]:
    """The text, section id and title key of a heading whose inline text is ``content`` in a
    body without reference definitions. Books repeat their section headings chapter after
    chapter, so these are kept."""
    inline = _token("inline", "", 0, content=content)
    inline.children = []
    text, explicit_id = _heading_text_and_id(_plain_text(inline, {}), content)
    return text, explicit_id or slugify(text), title_key(text)


def _quick_index(body: str, body_line: int, next_stages_heading: str) -> BodyIndex | None:
    """Return the index of ``body`` when it is written in the plain part of Markdown the quick
    path reads; None when markdown-it must read it. Raises nothing."""
    if (
        _QUICK_REFUSED_RE.search(body)
        or "]:" in body
        or "\n " in body
        or " \n" in body
        or body.startswith(" ")
        or body.endswith(" ")
    ):
        return None
    lines = body.split("\n")
    walk = _QuickIndexer(body_line, next_stages_heading)
    # Too few marks in the whole body for any inline to nest deep: none is counted.
    walk.count_marks = sum(body.count(mark) for mark in "*_[<") >= MAX_ELEMENT_DEPTH // 2
    number = 0
    try:
        while number < len(lines):
            line = lines[number]
            if not line:
                walk.end_paragraph(number)
            elif line[0] == "#":
                heading = _QUICK_HEADING_RE.fullmatch(line)
                following = lines[number + 1] if number + 1 < len(lines) else ""
                if heading is None or (
                    following[:1] in ("|", "-", ":") and _delimiter_columns(following) is not None
                ):
                    return None  # not a heading, or a table's header row
                walk.end_paragraph(number)
                walk.heading(len(heading.group(1)), heading.group(2), number)
            elif line.startswith("- "):
                walk.end_paragraph(number)
                walk.item_start(line[2:], number)
            elif line[0] == "|":
                if walk.start is not None:
                    return None  # a table (or not) that interrupts a paragraph
                number = walk.table(lines, number)
                if number < len(lines) and lines[number]:
                    return None
                continue
            elif _NOT_PARAGRAPH_RE.match(line):
                return None
            elif walk.start is not None:
                walk.lines.append(line)  # a paragraph goes on (an item's, lazily)
            else:
                walk.in_list = False
                walk.start, walk.lines = number, [line]
            number += 1
        walk.end_paragraph(number)
    except _NotQuick:
        return None
    return walk.index


def _tag_depths(html: str, depth: int) -> tuple[int, int]:
    """Walk the tags of raw ``html`` starting ``depth`` elements deep; return the deepest
    point reached and the depth at its end."""
    deepest = depth
    for match in _TAG_RE.finditer(html):
        closing, name, self_closing = match.groups()
        if name.lower() in _NOT_NESTING or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest, depth


def _element_depth(token: Token, depth: int, env: dict[str, Any]) -> tuple[int, int]:
    """How deep elements nest in a block token that starts ``depth`` raw-HTML elements
    deep: the deepest point (raw HTML, emphasis and links counted) and the raw-HTML depth
    it leaves open for the blocks after it."""
    if token.type == "html_block":
        return _tag_depths(token.content, depth)
    if len(_DEEP_INLINE_MARKS.findall(token.content)) < MAX_ELEMENT_DEPTH // 2:
        return depth + 1, depth
    # Inside a paragraph, raw HTML left open is closed at its end (as a browser does).
    deepest = raw = depth
    level = 0  # emphasis and links open at this point
    for child in _inline_children(token, env):
        if child.type == "html_inline":
            reached, raw = _tag_depths(child.content, raw)
            deepest = max(deepest, reached + level)
        else:
            level += child.nesting
            deepest = max(deepest, raw + level)
    return deepest + 1, depth  # the paragraph itself is one element more


def _index_links_and_images(inline: Token, first_line: int, index: BodyIndex) -> None:
    """Record the links and images of an inline token whose children are parsed."""
    children = inline.children or []
    for kind, child, line, end in _walk_inline(inline, first_line):
        if kind == "image":
            alt = _inline_text(child.children or [])
            index.images.append(Image(_href(child, "src"), alt, line))
        else:
            text = _inline_text(children[children.index(child) + 1 : end - 1])
            index.links.append(Link(text, _href(child, "href"), line))


_ATTRIBUTE_LIST_RE = re.compile(r"\{:?[^{}\n]*=[^{}\n]*\}")


_RAW_IMAGE_RE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.I)


def _raw_images(html: str, first_line: int) -> list[Image]:
    """Images written as raw HTML ``<img src=...>``: checked like Markdown images."""
    found = []
    for match in _RAW_IMAGE_RE.finditer(html):
        source = next(group for group in match.groups() if group is not None)
        found.append(Image(source, "", first_line + html.count("\n", 0, match.start())))
    return found


def _index_raw_inline(
    inline: Token, first_line: int, found: list[RawMarkup], images: list[Image]
) -> None:
    """Record inline raw HTML (and its images) and attribute lists, with their lines."""
    line = first_line
    for child in inline.children or []:
        if child.type in {"softbreak", "hardbreak"}:
            line += 1
        elif child.type == "html_inline":
            found.append(RawMarkup("html", child.content, line))
            images.extend(_raw_images(child.content, line))
            line += child.content.count("\n")
        elif child.type == "text":
            found.extend(
                RawMarkup("attributes", match.group(), line)
                for match in _ATTRIBUTE_LIST_RE.finditer(child.content)
            )


def _next_stage_item(inline: Token, line: int, env: dict[str, Any]) -> NextStageItem:
    """Return the Next Stages item that an item's first paragraph describes."""
    text = _plain_text(inline, env)
    if not inline.children:  # plain text, so no link: a bare title
        return NextStageItem(text, None, None, text, line)
    children = inline.children
    for kind, child, _, end in _walk_inline(inline, line):
        if kind != "link":
            continue
        link_text = _inline_text(children[children.index(child) + 1 : end - 1])
        after = strip_blurb_lead(_inline_text(children[end:]))
        return NextStageItem(text, _href(child, "href"), link_text, after, line)
    return NextStageItem(text, None, None, text, line)
