"""The dreambook extension to Python-Markdown: ids, cross-references and Next Stages in the tree.

It runs as a tree processor after Python-Markdown's own (footnotes, attribute lists,
inline patterns), so it sees the finished element tree of one chapter and works on
elements, never on HTML text:

* every heading gets its book-wide anchor (``chapter-slug--section-id``), taken from the
  manuscript index in document order, so ids agree with what ``check`` validated;
* every link to a chapter or section is resolved with the graph stage's LinkResolver and
  becomes ``<a class="xref" href="#anchor">``; a link that leads nowhere becomes plain
  text (``<span class="dangling-link">``), since ``check`` has already reported it;
* footnote ids are prefixed with the chapter slug, so notes of different chapters never
  collide when the whole book is one document;
* the Next Stages section is taken out of the body: every output draws it from the graph;
* image sources are rewritten relative to the manuscript folder.
"""

from __future__ import annotations

import difflib
import html
import posixpath
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from markdown import Markdown, util
from markdown.blockprocessors import HashHeaderProcessor
from markdown.extensions import Extension
from markdown.treeprocessors import InlineProcessor, Treeprocessor

from dreambook.graph import LinkKind, LinkResolver, LinkTarget
from dreambook.manuscript import Chapter, Heading
from dreambook.slugs import title_key

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS = frozenset(
    {"p", "li", "dt", "dd", "table", "blockquote", "pre", "figure", "hr", *_HEADINGS}
)
_FOOTNOTE_ID_PREFIXES = ("fn-", "fnref-", "fnref2-", "fnref3-")
# Ids dreambook makes up (blocks, cross-references, notes) start with "_" after the chapter
# slug: slugs of heading text never contain "_", so they can never collide with a heading.

_TAG_RE = re.compile(r"<[^>]*>")
# Python-Markdown's placeholder for a backslash-escaped character, until its last pass.
_ESCAPED_RE = re.compile(f"{util.STX}([0-9]+){util.ETX}")
_REFERENCE_LABEL_RE = re.compile(r"\[([^\]]*)\]", re.DOTALL)
_BACKSLASH_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")


def _pair_headings(
    rendered: list[tuple[int, str]], known: tuple[Heading, ...]
) -> list[Heading | None]:
    """Return the manuscript heading for each rendered (level, title key), or None.

    Both readings see the same headings in the same order whenever check found no DB022,
    and then they pair by position. Otherwise the longest runs of equal level and text
    are paired, so one heading read differently leaves every other heading its id.
    """
    if len(rendered) == len(known):
        return list(known)
    paired: list[Heading | None] = [None] * len(rendered)
    keys = [(heading.level, title_key(heading.text)) for heading in known]
    matcher = difflib.SequenceMatcher(None, rendered, keys, autojunk=False)
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            paired[block.a + offset] = known[block.b + offset]
    return paired


class _FirstDefinitionWins(dict[str, tuple[str, str]]):
    """Link reference definitions where, as in CommonMark (and so in check), the first
    definition of a label counts; Python-Markdown's own dict would keep the last."""

    def __setitem__(self, label: str, target: tuple[str, str]) -> None:
        if label not in self:
            super().__setitem__(label, target)


class _CommonMarkHashHeaderProcessor(HashHeaderProcessor):
    """``#`` headings as CommonMark (and so check) reads them.

    Python-Markdown's own rule takes ``#hashtag`` at the start of a line for a heading, no
    heading indented by one to three spaces, and drops ``#`` from the end of ``## C#``;
    markdown-it, which indexes the chapter for check, does none of these.
    """

    RE = re.compile(
        r"(?:^|\n)[ ]{0,3}(?P<level>#{1,6})(?P<header>(?:[ \t][^\n]*?)??)(?:[ \t]+#+)?[ \t]*(?:\n|$)"
    )


@dataclass
class ChapterContext:
    """What the tree processor needs to know about the chapter being converted.

    ``heading_anchors`` and ``headings`` are filled in by the processor: the anchors it
    gave the rendered headings, in document order, and the manuscript heading of each.
    """

    chapter: Chapter
    resolver: LinkResolver
    heading_anchors: list[str] = field(default_factory=list)
    # The manuscript heading each rendered heading stands for, in document order (None for
    # one the index does not have: check has reported it, DB022).
    headings: list[Heading | None] = field(default_factory=list)
    # Every id the chapter's HTML ends up with (headings, blocks, notes, cross-references).
    ids: list[str] = field(default_factory=list)
    # Every href the processor resolved, with where it led, in document order: what the
    # HTML depends on beyond the chapter itself (render_cache.py checks it again).
    resolved: list[tuple[str, LinkTarget]] = field(default_factory=list)


class _DreambookTreeprocessor(Treeprocessor):
    def __init__(self, md: Markdown, extension: DreambookExtension) -> None:
        super().__init__(md)
        self.extension = extension

    def run(self, root: etree.Element) -> None:
        context = self.extension.context
        if context is None:
            raise RuntimeError("DreambookExtension.context must be set before convert()")
        self._assign_heading_ids(root, context)
        self._drop_next_stages(root, context)
        self._wrap_sections(root, context.chapter)
        self._prefix_footnote_ids(root, context.chapter)
        self._resolve_links(root, context)
        self._rebase_images(root, context.chapter)
        self._number_blocks(root, context.chapter)
        context.ids.extend(str(e.get("id")) for e in root.iter() if e.get("id"))

    def _assign_heading_ids(self, root: etree.Element, context: ChapterContext) -> None:
        rendered = [element for element in root.iter() if element.tag in _HEADINGS]
        paired = _pair_headings(
            [(int(e.tag[1]), title_key(self._text(e))) for e in rendered],
            context.chapter.headings,
        )
        for position, (element, heading) in enumerate(zip(rendered, paired, strict=True)):
            # A heading the index does not have (check warned, DB022) gets an id of
            # dreambook's own, so every other heading keeps the id check validated.
            local_id = heading.id if heading is not None else f"_heading-{position + 1}"
            anchor = context.chapter.anchor(local_id)
            element.set("id", anchor)
            context.heading_anchors.append(anchor)
            context.headings.append(heading)

    def _text(self, element: etree.Element) -> str:
        """The text of a heading element, with the characters smarty stashed put back."""
        stash = self.md.htmlStash.rawHtmlBlocks

        def unstash(match: re.Match[str]) -> str:
            index = int(match.group(1))
            return _TAG_RE.sub("", str(stash[index])) if index < len(stash) else ""

        return util.HTML_PLACEHOLDER_RE.sub(unstash, "".join(element.itertext()))

    @staticmethod
    def _drop_next_stages(root: etree.Element, context: ChapterContext) -> None:
        chapter = context.chapter
        wanted = next((h for h in chapter.headings if h.line == chapter.next_stages_line), None)
        if wanted is None:
            return
        # The graph takes the items of every Next Stages section of the chapter, so every
        # one of them leaves the body.
        key = title_key(wanted.text)
        anchors = {
            anchor
            for anchor, heading in zip(context.heading_anchors, context.headings, strict=True)
            if heading is not None and heading.level == 2 and title_key(heading.text) == key
        }
        dropping = False
        for element in list(root):
            if element.tag in {"h1", "h2"}:
                dropping = element.tag == "h2" and element.get("id") in anchors
            elif element.tag == "div" and "footnote" in element.get("class", ""):
                dropping = False  # the chapter's footnotes come after Next Stages: keep them
            if dropping:
                root.remove(element)

    @staticmethod
    def _wrap_sections(root: etree.Element, chapter: Chapter) -> None:
        """Put each ``##`` heading and what follows it into ``<section data-section="id">``.

        Stylesheets can then treat a house section as a whole (a box around the Quick
        Answer, say), and EPUB readers get real document sections.
        """
        prefix = chapter.anchor("")
        current: etree.Element | None = None
        for element in list(root):
            if element.tag == "h2":
                current = etree.Element("section")
                current.set("data-section", element.get("id", "").removeprefix(prefix))
                root.insert(list(root).index(element), current)
            elif element.tag == "h1" or (
                element.tag == "div" and element.get("class") == "footnote"
            ):
                current = None
            if current is not None:
                root.remove(element)
                current.append(element)

    @staticmethod
    def _prefix_footnote_ids(root: etree.Element, chapter: Chapter) -> None:
        for element in root.iter():
            element_id = element.get("id", "")
            if element_id.startswith(_FOOTNOTE_ID_PREFIXES):
                element.set("id", chapter.anchor("_" + element_id))
            if element.tag == "a" and element.get("class") in {"footnote-ref", "footnote-backref"}:
                target = element.get("href", "").removeprefix("#")
                element.set("href", "#" + chapter.anchor("_" + target))
            if element.tag == "div" and element.get("class") == "footnote":
                element.set("class", "footnotes")

    @staticmethod
    def _resolve_links(root: etree.Element, context: ChapterContext) -> None:
        references = 0
        for element in root.iter("a"):
            if element.get("class") in {"footnote-ref", "footnote-backref"}:
                continue
            href = _written_href(element)
            found = context.resolver.resolve(context.chapter, href)
            context.resolved.append((href, found))
            if found.kind is LinkKind.CHAPTER:
                references += 1
                element.set("href", "#" + found.anchor)
                element.set("class", "xref")
                # Every output knows each cross-reference by this id: the PDF writer asks
                # which page it landed on, the EPUB writer can mark a print page there.
                element.set("id", context.chapter.anchor(f"_xref-{references}"))
                element.attrib.pop("title", None)
            elif found.kind is LinkKind.EXTERNAL:
                element.set("class", "external")
            else:
                # Reported by `check` already (DB031); in print it can only be plain text.
                element.tag = "span"
                element.attrib.clear()
                element.set("class", "dangling-link")

    @staticmethod
    def _number_blocks(root: etree.Element, chapter: Chapter) -> None:
        """Give every block without an id a stable one (``slug--_b12``).

        Every output shares these ids, so the PDF writer can report which block starts
        each printed page, and the EPUB writer can mark the print page breaks there.
        """
        number = 0
        for element in root.iter():
            if element.tag in _BLOCKS and "id" not in element.attrib:
                number += 1
                element.set("id", chapter.anchor(f"_b{number}"))

    @staticmethod
    def _rebase_images(root: etree.Element, chapter: Chapter) -> None:
        folder = chapter.source_path.parent.as_posix()
        for element in root.iter("img"):
            source = element.get("src", "")
            parts = urlsplit(source)
            if source and not parts.scheme and not parts.netloc and not source.startswith("/"):
                element.set("src", posixpath.normpath(posixpath.join(folder, unquote(source))))


def _written_href(element: etree.Element) -> str:
    """Return a link's href as check read it: references and percent-escapes decoded.

    CommonMark decodes character references in a link destination and Python-Markdown
    leaves them be (``other&#46;md``); it also writes the href of an e-mail autolink
    (``<me@example.com>``) as references behind a placeholder for '&', against harvesters.
    """
    href = element.get("href", "").replace(util.AMP_SUBSTITUTE, "&")
    # Backslash escapes (``\#sec``) are still placeholders here: Python-Markdown puts
    # their characters back after every other tree processor has run. In a reference
    # definition (``[ref]: \#sec``) it leaves them as written; CommonMark drops the '\'.
    href = _ESCAPED_RE.sub(lambda match: chr(int(match.group(1))), href)
    href = _BACKSLASH_ESCAPE_RE.sub(r"\1", href)
    return unquote(html.unescape(href) if "&" in href else href)


class DreambookExtension(Extension):
    """Registers the dreambook tree processor; set ``context`` before each ``convert``."""

    def __init__(self) -> None:
        super().__init__()
        self.context: ChapterContext | None = None

    def extendMarkdown(self, md: Markdown) -> None:
        # Priority 1: after attr_list (8), footnotes (50) and inline patterns (20).
        md.treeprocessors.register(_DreambookTreeprocessor(md, self), "dreambook", 1)
        md.references = _FirstDefinitionWins()
        # CommonMark allows no space between a link's text and its label: '[a] [b]' is two
        # shortcut references to check, and was one link '[a][b]' to Python-Markdown.
        for name in ("reference", "image_reference"):
            md.inlinePatterns[name].RE_LINK = _REFERENCE_LABEL_RE  # type: ignore[attr-defined]
        md.parser.blockprocessors.register(
            _CommonMarkHashHeaderProcessor(md.parser), "hashheader", 70
        )


# Python-Markdown tries every inline pattern on every piece of text, one regular expression
# search each (some 160,000 for the benchmark book), though most patterns need a character
# most text lacks: a link needs "[", emphasis "*" or "_", a smart quote a quote. For each
# pattern below, the text must contain one of its triggers for the expression to match at
# all, so skipping the search when none is there changes nothing. A pattern is skipped
# only while its expression is the one listed (another Python-Markdown version may change
# it; then it is always searched).
_BRACKET, _IMAGE, _ANGLE = ("[",), ("![",), ("<",)
_INLINE_TRIGGERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "backtick": (r"(?:(?<!\\)((?:\\{2})+)(?=`+)|(?<!\\)`)", ("`",)),
    "escape": (r"\\(.)", ("\\",)),
    "footnote": (r"\[\^([^\]]*)\]", ("[^",)),
    "reference": (r"(?<!\!)\[", _BRACKET),
    "link": (r"(?<!\!)\[", _BRACKET),
    "image_link": (r"\!\[", _IMAGE),
    "image_reference": (r"\!\[", _IMAGE),
    "short_reference": (r"(?<!\!)\[", _BRACKET),
    "short_image_ref": (r"\!\[", _IMAGE),
    "autolink": (r"<([A-Za-z][A-Za-z0-9+.-]*://[^<>]*)>", _ANGLE),
    "automail": (r"<([^<> !]+@[^@<> ]+)>", _ANGLE),
    "linebreak": (r"  \n", ("  \n",)),
    "entity": (r"(&(?:\#[0-9]+|\#x[0-9a-fA-F]+|[a-zA-Z0-9]+);)", ("&",)),
    "em_strong": (r"\*|_", ("*", "_")),
    "smarty-em-dashes": (r"(?<!-)---(?!-)", ("---",)),
    "smarty-en-dashes": (r"(?<!-)--(?!-)", ("--",)),
    "smarty-ellipses": (r"(?<!\.)\.{3}(?!\.)", ("...",)),
    "smarty-quotes-0": ("^'(?=[!\"#\\$\\%'()*+,-.\\/:;<=>?\\@\\[\\\\\\]\\^_`{|}~]\\B)", ("'",)),
    "smarty-quotes-1": ('^"(?=[!"#\\$\\%\'()*+,-.\\/:;<=>?\\@\\[\\\\\\]\\^_`{|}~]\\B)', ('"',)),
    "smarty-quotes-4": ("(?<=[^\\ \\t\\r\\n\\[\\{\\(\\-\\u0002\\u0003])\\'\"", ("'\"",)),
    "smarty-quotes-5": ("(?<=[^\\ \\t\\r\\n\\[\\{\\(\\-\\u0002\\u0003])\\\"'", ("\"'",)),
    "smarty-quotes-7": ("(\\s|&nbsp;|--|–|—|&[mn]dash;|&#8211;|&#8212;)'(?=\\w)", ("'",)),
    "smarty-quotes-8": ("(?<=[^\\ \\t\\r\\n\\[\\{\\(\\-\\u0002\\u0003])'(?!\\s|s\\b|\\d)", ("'",)),
    "smarty-quotes-11": ('(\\s|&nbsp;|--|–|—|&[mn]dash;|&#8211;|&#8212;)"(?=\\w)', ('"',)),
    "smarty-quotes-13": ('(?<=[^\\ \\t\\r\\n\\[\\{\\(\\-\\u0002\\u0003])"', ('"',)),
    "smarty-quotes-2": ("\"'(?=\\w)", ("\"'",)),
    "smarty-quotes-3": ("'\"(?=\\w)", ("'\"",)),
    "smarty-quotes-6": (r"(?<!\w)'(?=\d{2}s)", ("'",)),
    "smarty-quotes-9": (r"'(\s|s\b)", ("'",)),
    "smarty-quotes-10": ("'", ("'",)),
    "smarty-quotes-12": (r'"(?=\s)', ('"',)),
    "smarty-quotes-14": ('"', ('"',)),
}


class _QuickInlineProcessor(InlineProcessor):
    """Python-Markdown's inline processor, skipping each pattern whose triggers the text lacks.

    It replaces ``__handleInline`` (by its mangled name) with the same loop over the
    patterns in order, a pattern tried again after it matched, but only over the patterns
    the text's characters allow. A skipped pattern is taken as not matched, which is what
    its search would have found. Matching only ever puts placeholders (control characters,
    letters and digits) in place of text, never a trigger character, so the patterns the
    text allowed at first are still the only ones that can match after a replacement.
    """

    # Set by quicken_inline_processors: the patterns in order, each one's triggers (None:
    # always tried), every character a trigger is made of, and the patterns to try for
    # each set of those characters a text has.
    patterns: list[Any]
    needs: list[tuple[frozenset[str], ...] | None]
    trigger_characters: frozenset[str]
    candidates: dict[frozenset[str], tuple[int, ...]]

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        if isinstance(data, util.AtomicString):
            return data
        present = self.trigger_characters.intersection(data)
        key = frozenset(present)
        indexes = self.candidates.get(key)
        if indexes is None:
            indexes = tuple(
                index
                for index, needs in enumerate(self.needs)
                if needs is None or any(need <= key for need in needs)
            )
            self.candidates[key] = indexes
        apply = self._InlineProcessor__applyPattern  # type: ignore[attr-defined]
        patterns = self.patterns
        start = 0
        for index in indexes:
            if index < patternIndex:
                continue
            matched = True
            while matched:
                data, matched, start = apply(patterns[index], data, index, start)
        return data


def quicken_inline_processors(md: Markdown) -> None:
    """Make ``md``'s inline processors (its own and smarty's) skip patterns that cannot match.

    Call once every extension is registered (the patterns are taken in their order then).
    The HTML is the same; see _QuickInlineProcessor.
    """
    for name in ("inline", "smarty"):
        if name not in md.treeprocessors:
            continue
        processor = md.treeprocessors[name]
        if type(processor) is not InlineProcessor:
            continue
        registry = processor.inlinePatterns
        patterns = list(registry)
        listed: dict[int, tuple[str, ...]] = {}
        for pattern_name, (expression, triggers) in _INLINE_TRIGGERS.items():
            if pattern_name in registry:
                pattern = registry[pattern_name]
                if getattr(pattern, "pattern", None) == expression:
                    listed[id(pattern)] = triggers
        needs = [
            tuple(frozenset(t) for t in listed[id(p)]) if id(p) in listed else None
            for p in patterns
        ]
        quick = cast(_QuickInlineProcessor, processor)
        processor.__class__ = _QuickInlineProcessor
        quick.patterns = patterns
        quick.needs = needs
        quick.trigger_characters = frozenset("".join("".join(t) for t in listed.values()))
        quick.candidates = {}
