"""Markdown that check and the renderer would read differently, found from check's side.

check indexes a chapter with markdown-it (CommonMark); a build renders it with
Python-Markdown. The two agree on the Markdown a book is written in, and render.py makes
Python-Markdown read ``#`` headings as CommonMark does; a few constructs still read
differently, and check cannot ask the renderer (it never loads it). They are recognised
here from markdown-it's block tokens and the source lines:

* a setext heading (text underlined with ``===`` or ``---``) whose text runs over more than
  one line, or whose underline is indented (as in a list item): the renderer makes a
  paragraph of it, so the index leaves the heading out;
* a code fence inside a list or block quote, one whose info string or closing fence the
  renderer does not accept, or one never closed: the renderer reads its lines as Markdown;
* an HTML block with blank lines before its closing tag: the renderer keeps everything up
  to the closing tag as raw HTML, so the index leaves out the headings and links between;
* a further block of a list item, after a blank line, indented by fewer than four spaces:
  the renderer continues a list item only with lines indented by four, so it ends the list
  there, and what follows indented by four or more becomes a code block.

Each becomes a DB022 warning with the line and a way to write it that both read alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it.token import Token

# The tags whose HTML block the renderer keeps raw up to the closing tag, blank lines or not
# (Python-Markdown's block-level elements; a unit test holds the two lists together).
# fmt: off
RAW_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "canvas", "center", "colgroup", "dd",
    "details", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "group",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "iframe", "legend",
    "li", "main", "map", "math", "menu", "nav", "noscript", "object", "ol", "option", "output",
    "p", "pre", "progress", "script", "section", "style", "summary", "table", "tbody", "td",
    "textarea", "tfoot", "th", "thead", "tr", "ul", "video",
})
# fmt: on

# A fence the renderer reads: at the margin, then a language or an {attribute list} alone.
_RENDERED_FENCE_RE = re.compile(r"(`{3,}|~{3,}) *(?:\{[^\n]*\}|\.?[\w#.+-]*) *")
_QUOTE_MARKS_RE = re.compile(r"^(?: {0,3}> ?)*")
_UNDERLINE_RE = re.compile(r"(?:=+|-+) *")
_OPENING_TAG_RE = re.compile(r" {0,3}<([A-Za-z][A-Za-z0-9-]*)")
# What can start one of the constructs above; a body without any is not walked at all.
_SUSPECT_RE = re.compile(
    r"```|~~~|<|^[ \t>]*(?:=+|-+)[ \t]*$|\n[ \t]*\n {1,3}[^ \t\n]", re.MULTILINE
)
# Blocks that can stand in a list item after its first one (a fence in a list has its own
# finding, whatever its indentation).
_ITEM_BLOCKS = frozenset(
    {
        "paragraph_open", "heading_open", "code_block", "html_block", "hr",
        "bullet_list_open", "ordered_list_open", "blockquote_open", "table_open",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Misreading:
    """A construct the renderer reads otherwise than check: where, what and how to rewrite it."""

    line: int
    message: str
    hint: str


@dataclass(frozen=True)
class Misreadings:
    """What :func:`find_misreadings` found.

    ``hidden`` holds the positions (in the token list) of the headings and inline text the
    renderer does not render as Markdown, which the index must therefore leave out.
    """

    found: tuple[Misreading, ...] = ()
    hidden: frozenset[int] = frozenset()


NONE = Misreadings()


def find_misreadings(tokens: Sequence[Token], body: str, body_line: int) -> Misreadings:
    """Return the constructs of a chapter body that the renderer reads differently.

    ``tokens`` are markdown-it's block tokens of ``body``, whose first line is file line
    ``body_line``. Raises nothing.
    """
    if _SUSPECT_RE.search(body) is None:
        return NONE
    lines = body.split("\n")
    found: list[Misreading] = []
    hidden: set[int] = set()
    raw_until = -1  # the last line of an HTML block found to run on
    item_levels: list[int] = []  # the levels of the list items the walk is inside
    for position, token in enumerate(tokens):
        if token.type == "list_item_open":
            item_levels.append(token.level)
        elif token.type == "list_item_close":
            item_levels.pop()
        elif (
            item_levels
            and token.level == item_levels[-1] + 1
            and token.type in _ITEM_BLOCKS
            and tokens[position - 1].type != "list_item_open"
            and _ends_the_list(token, lines)
        ):
            found.append(_list_misreading(token, body_line))
        if token.map is None or token.map[0] <= raw_until:
            continue
        if token.type == "heading_open" and token.markup in {"=", "-"}:
            if not _renders_as_setext(token, lines):
                hidden.add(position)
                found.append(_setext_misreading(token, body_line))
        elif token.type == "fence":
            problem = _fence_problem(token, lines)
            if problem:
                found.append(_fence_misreading(token, body_line, problem))
        elif token.type == "html_block" and token.level == 0:
            end = _raw_block_end(token, lines)
            swallowed = [
                index
                for index in range(position + 1, len(tokens))
                if tokens[index].map is not None
                and tokens[index].map[0] <= end  # type: ignore[index]
                and tokens[index].type in {"heading_open", "inline"}
            ]
            if swallowed:
                raw_until = end
                hidden.update(swallowed)
                found.append(_raw_block_misreading(token, body_line, end))
    return Misreadings(tuple(found), frozenset(hidden))


def _renders_as_setext(token: Token, lines: Sequence[str]) -> bool:
    """Whether the renderer also reads this setext heading as one: one line of text, and an
    underline at the margin once any block quote marks are taken off."""
    start, end = token.map or (0, 0)
    underline = lines[end - 1]
    underline = underline[_QUOTE_MARKS_RE.match(underline).end() :]  # type: ignore[union-attr]
    return end - start == 2 and _UNDERLINE_RE.fullmatch(underline) is not None


def _setext_misreading(token: Token, body_line: int) -> Misreading:
    start, end = token.map or (0, 0)
    what = "runs over several lines" if end - start > 2 else "has an indented underline"
    return Misreading(
        body_line + start,
        f"this underlined heading {what}: the book shows it as a paragraph, not a heading",
        "write the heading on one line starting with '#' (e.g. '## Heading')",
    )


def _fence_problem(token: Token, lines: Sequence[str]) -> str | None:
    """Why the renderer would not read this code fence as code, or None when it would."""
    start, end = token.map or (0, 0)
    opening = lines[start]
    if token.level > 0:
        return "is inside a list or block quote"
    match = _RENDERED_FENCE_RE.fullmatch(opening)
    if match is None:
        return "has an indented fence or an info string of more than one word"
    closing = lines[end - 1].rstrip(" ") if end - start > 1 else ""
    if closing != match.group(1):
        return "is never closed by the same fence at the margin"
    return None


def _fence_misreading(token: Token, body_line: int, problem: str) -> Misreading:
    return Misreading(
        body_line + (token.map or (0, 0))[0],
        f"this code fence {problem}: the book shows its lines as text and Markdown, not code",
        "start and end the code with the same fence (```) at the left margin, outside lists "
        "and quotes, or indent each line of the code by four more spaces",
    )


def _raw_block_end(token: Token, lines: Sequence[str]) -> int:
    """Return the last line (0-based) the renderer keeps raw for an HTML block.

    It keeps a block-level element raw up to its closing tag, blank lines or not (to the
    end of the chapter when there is none); markdown-it ends the block at a blank line.
    """
    start, end = token.map or (0, 0)
    opening = _OPENING_TAG_RE.match(lines[start])
    if opening is None or opening.group(1).lower() not in RAW_BLOCK_TAGS:
        return end - 1
    tag = opening.group(1)
    opens = re.compile(rf"<{tag}(?=[\s/>])", re.IGNORECASE)
    closes = re.compile(rf"</{tag}\s*>", re.IGNORECASE)
    depth = 0
    for index in range(start, len(lines)):
        depth += len(opens.findall(lines[index])) - len(closes.findall(lines[index]))
        if depth <= 0 and index >= end - 1:
            return index
    return len(lines) - 1


def _raw_block_misreading(token: Token, body_line: int, end: int) -> Misreading:
    start = (token.map or (0, 0))[0]
    return Misreading(
        body_line + start,
        f"this HTML block runs on to line {body_line + end}, past a blank line: the book "
        "shows the Markdown inside it as raw text, so its headings and links are left out",
        "close the HTML element before the blank line, or put no Markdown inside it",
    )


def _ends_the_list(token: Token, lines: Sequence[str]) -> bool:
    """Whether the renderer ends the list before this further block of a list item: it
    follows a blank line and is indented by fewer than four spaces."""
    start = (token.map or (0, 0))[0]
    if start == 0 or lines[start - 1].strip(" \t>"):
        return False
    line = lines[start]
    line = line[_QUOTE_MARKS_RE.match(line).end() :]  # type: ignore[union-attr]
    return len(line) - len(line.lstrip(" ")) < 4


def _list_misreading(token: Token, body_line: int) -> Misreading:
    return Misreading(
        body_line + (token.map or (0, 0))[0],
        "this part of a list item is indented by fewer than four spaces after a blank line: "
        "the book ends the list here, and shows what follows indented by four or more as code",
        "indent every further paragraph of a list item by four spaces",
    )
