"""Line endings a typesetter would not leave, prevented in the print HTML before layout.

WeasyPrint breaks lines well but knows no house rules beyond CSS, so the chapter bodies are
marked up for print here:

* the **last word of a paragraph** is never hyphenated, and a short one (five letters or
  fewer) is bound to the word before it, so no paragraph ends on a lone ``time.``;
* an **em dash never begins a line**: a spaced dash is bound to the word before it by a
  no-break space (``[book] em_dash = "spaced"``), or set closed up (``"closed"``);
* a run of **capitals in a heading** (``FAQ``) is set in letterspaced small capitals, like
  the rest of the small-capital headings, instead of shouting in full capitals.

The first line of a chapter, set in small capitals, is never hyphenated either.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml import html as lxml_html

# Blocks whose last words end a paragraph of running text.
_PARAGRAPHS = ("p", "li", "dd", "blockquote")
# Inside these, text is shown as written (code) or set apart already (page references).
_LEAVE_ALONE = frozenset({"code", "pre", "kbd", "samp", "script", "style"})
_SHORT_WORD = 5
_LAST_WORDS_RE = re.compile(r"(\S+)(\s+)(\S+)(\s*)$")
_LAST_WORD_RE = re.compile(r"(\S+)(\s*)$")
# The space before a dash (wherever the text after it goes on), and a dash with its spaces.
_SPACE_BEFORE_DASH_RE = re.compile(r" (?=\u2014)")
_SPACED_DASH_RE = re.compile(r"[ \u00a0]*\u2014[ \u00a0]*")
_CAPITALS_RE = re.compile(r"\b[A-Z]{2,}\b")
# The first words of a chapter: set in small capitals on its first line, never hyphenated.
_OPENING_WORDS = 12


def _letters(word: str) -> int:
    return sum(character.isalpha() for character in word)


def _last_text(element: lxml_html.HtmlElement) -> tuple[lxml_html.HtmlElement, str] | None:
    """The element and attribute ("text" or "tail") holding the last words of ``element``'s
    own running text; None when it ends inside an element (a link, emphasis) or holds none."""
    children = [child for child in element if isinstance(child.tag, str)]
    if children:
        last = children[-1]
        if last.tail and last.tail.strip():
            return last, "tail"
        return None
    if element.text and element.text.strip():
        return element, "text"
    return None


def _wrap_last_words(element: lxml_html.HtmlElement) -> None:
    """Put the last word (or the last two, when the last is short) of ``element`` in a
    ``<span class="last-words">``, which print.css never hyphenates."""
    from lxml import html as lxml_html

    found = _last_text(element)
    if found is None:
        return
    holder, attribute = found
    text: str = getattr(holder, attribute)
    pair = _LAST_WORDS_RE.search(text)
    if pair is not None and _letters(pair.group(3)) <= _SHORT_WORD:
        start, words = pair.start(), f"{pair.group(1)}\u00a0{pair.group(3)}"
        trailing = pair.group(4)
    else:
        single = _LAST_WORD_RE.search(text)
        if single is None:
            return
        start, words, trailing = single.start(), single.group(1), single.group(2)
    span = lxml_html.Element("span", {"class": "last-words"})
    span.text = words
    span.tail = trailing
    setattr(holder, attribute, text[:start])
    if attribute == "text":
        holder.insert(0, span)
    else:
        parent = holder.getparent()
        assert parent is not None  # the holder is a child of the paragraph
        parent.insert(parent.index(holder) + 1, span)


def _texts(root: lxml_html.HtmlElement) -> list[tuple[lxml_html.HtmlElement, str]]:
    """Every (element, "text"|"tail") of running text under ``root``, code left out."""
    found = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        inside_code = any(a.tag in _LEAVE_ALONE for a in element.iterancestors())
        if element.tag not in _LEAVE_ALONE and not inside_code and element.text:
            found.append((element, "text"))
        if element is not root and element.tail and not inside_code:
            found.append((element, "tail"))
    return found


def _set_dashes(root: lxml_html.HtmlElement, em_dash: str) -> None:
    """Bind every spaced em dash to the word before it, or close it up."""
    for holder, attribute in _texts(root):
        text = getattr(holder, attribute)
        if "\u2014" not in text:
            continue
        if em_dash == "closed":
            setattr(holder, attribute, _SPACED_DASH_RE.sub("\u2014", text))
        else:
            setattr(holder, attribute, _SPACE_BEFORE_DASH_RE.sub("\u00a0", text))


def _small_capitals_in_headings(root: lxml_html.HtmlElement) -> None:
    """Set runs of capitals in headings (``FAQ``) as small capitals (see print.css)."""
    from lxml import html as lxml_html

    for heading in root.xpath(".//h2|.//h3"):
        if len(heading) or not heading.text or not _CAPITALS_RE.search(heading.text):
            continue  # headings with inline markup are left as written
        text, heading.text = heading.text, ""
        position, previous = 0, None
        for match in _CAPITALS_RE.finditer(text):
            span = lxml_html.Element("span", {"class": "capitals"})
            span.text = match.group()
            if previous is None:
                heading.text = text[position : match.start()]
            else:
                previous.tail = text[position : match.start()]
            heading.append(span)
            previous, position = span, match.end()
        assert previous is not None
        previous.tail = text[position:]


def _guard_opening(root: lxml_html.HtmlElement) -> None:
    """Keep the first words of the chapter's first paragraph (its small-capital first
    line) from being hyphenated."""
    from lxml import html as lxml_html

    first = next((child for child in root if isinstance(child.tag, str)), None)
    if first is None or first.tag != "p" or not first.text:
        return
    words = first.text.split(" ")
    if len(words) <= 1:
        return
    cut = min(len(words) - 1, _OPENING_WORDS)
    span = lxml_html.Element("span", {"class": "opening-words"})
    span.text = " ".join(words[:cut]) + " "
    span.tail = " ".join(words[cut:])
    first.text = ""
    first.insert(0, span)


def mark_line_endings(root: lxml_html.HtmlElement, em_dash: str) -> None:
    """Mark up a chapter body (the children of ``root``) for print as the module says;
    ``em_dash`` is ``"spaced"`` or ``"closed"``. Changes ``root``; raises nothing."""
    _set_dashes(root, em_dash)
    _small_capitals_in_headings(root)
    for block in root.iter(*_PARAGRAPHS):
        if not any(a.tag in _LEAVE_ALONE for a in block.iterancestors()):
            _wrap_last_words(block)
    _guard_opening(root)
