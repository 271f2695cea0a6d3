"""How the printed book words and ties its small pieces of text: page references that know
whether they stand inside parentheses, lists joined in the book's language, and the last
words of a title kept together on one line.

Everything here works on text and HTML before layout; nothing measures a page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import cast

from lxml import html as lxml_html
from markupsafe import Markup

from dreambook.config import PageReferenceStyle

# Lists are joined as the book's language joins them; labels.py holds that with the other
# words of the book's language.
from dreambook.labels import join_list as join_list

# Elements whose text is a paragraph of its own: parentheses opened in one never close in
# another. A footnote (moved into the running text for print) is one too.
_BLOCKS = frozenset(
    [
        "p",
        "li",
        "dd",
        "dt",
        "td",
        "th",
        "blockquote",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "div",
        "section",
        "aside",
        "figcaption",
    ]
)

# A word (or a number) right after the reference: the parenthetical goes on after it, so
# a reference set off with a comma needs a comma after it as well.
_WORD_FOLLOWS = re.compile(r"^\s*\w", re.UNICODE)


def _depth_after(text: str | None, depth: int) -> int:
    """The parenthesis depth after ``text``, starting from ``depth`` (never below zero)."""
    for character in text or "":
        if character == "(":
            depth += 1
        elif character == ")" and depth:
            depth -= 1
    return depth


def _is_block(element: lxml_html.HtmlElement) -> bool:
    return element.tag in _BLOCKS or "footnote" in (element.get("class") or "").split()


def references_in_parentheses(root: lxml_html.HtmlElement) -> dict[lxml_html.HtmlElement, bool]:
    """For every cross-reference (``a.xref``) under ``root``: whether it stands inside
    parentheses opened earlier in its paragraph (or footnote).

    The text is read in document order; each block element starts at depth zero, and the
    text after it goes on at the depth it interrupted. Raises nothing.
    """
    found: dict[lxml_html.HtmlElement, bool] = {}

    def walk(element: lxml_html.HtmlElement, depth: int) -> int:
        depth = _depth_after(element.text, depth)
        for child in cast("Iterator[lxml_html.HtmlElement]", iter(element)):
            if not isinstance(child.tag, str):
                pass  # a comment or processing instruction: only its tail is text
            elif child.tag == "a" and "xref" in (child.get("class") or "").split():
                found[child] = depth > 0
                depth = _depth_after(child.text_content(), depth)
            elif _is_block(child):
                walk(child, 0)
            else:
                depth = walk(child, depth)
            depth = _depth_after(child.tail, depth)
        return depth

    walk(root, 0)
    return found


def page_reference(
    phrase: str, style: PageReferenceStyle, in_parentheses: bool, word_follows: bool
) -> str:
    """The text printed after a cross-reference's words, for the place phrase ``phrase``
    ("p.\u00a034" or "this page").

    "parentheses" gives " (p. 34)", "comma" gives ", p. 34", and "auto" chooses the comma
    inside parentheses (never "(p. 34))") and parentheses elsewhere. A comma reference
    followed by more words of the sentence gets a closing comma too: "(see the steps,
    p. 34, for more)". The space before the reference is an ordinary one, so it stretches
    with the line's other spaces; the stylesheet keeps it from breaking.
    """
    comma = style == "comma" or (style == "auto" and in_parentheses)
    if comma:
        return f", {phrase}," if word_follows else f", {phrase}"
    return f" ({phrase})"


def word_follows(link: lxml_html.HtmlElement) -> bool:
    """Whether the sentence goes on with a word right after ``link`` (rather than with
    punctuation, or the end of its paragraph)."""
    return bool(_WORD_FOLLOWS.match(link.tail or ""))


def tie_last_words(text: Markup) -> Markup:
    """``text`` (safe inline HTML) with its last space made a no-break space, so the last
    two words always share a line: a title or dedication never ends on a lone word.

    The space is looked for in text outside tags only; ``text`` with no space is returned
    as it is.
    """
    parts = re.split(r"(<[^>]*>)", str(text))
    for index in range(len(parts) - 1, -1, -1):
        part = parts[index]
        if part.startswith("<"):
            continue
        position = part.rfind(" ")
        # A piece without a space may be the end of a word begun in an earlier piece
        # ("the <em>Night</em>"): the search goes on backwards.
        if position >= 0:
            parts[index] = part[:position] + "&#160;" + part[position + 1 :]
            break
    return Markup("".join(parts))
