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

import posixpath
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from markdown import Markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from dreambook.graph import LinkKind, LinkResolver
from dreambook.manuscript import Chapter

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS = frozenset(
    {"p", "li", "dt", "dd", "table", "blockquote", "pre", "figure", "hr", *_HEADINGS}
)
_FOOTNOTE_ID_PREFIXES = ("fn-", "fnref-", "fnref2-", "fnref3-")
# Ids dreambook makes up (blocks, cross-references, notes) start with "_" after the chapter
# slug: slugs of heading text never contain "_", so they can never collide with a heading.


@dataclass
class ChapterContext:
    """What the tree processor needs to know about the chapter being converted.

    ``heading_anchors`` is filled in by the processor: the anchors it gave the headings,
    in document order, so the render stage can pair them with the manuscript's headings.
    """

    chapter: Chapter
    resolver: LinkResolver
    heading_anchors: list[str] = field(default_factory=list)
    # Every id the chapter's HTML ends up with (headings, blocks, notes, cross-references).
    ids: list[str] = field(default_factory=list)


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

    @staticmethod
    def _assign_heading_ids(root: etree.Element, context: ChapterContext) -> None:
        headings = [element for element in root.iter() if element.tag in _HEADINGS]
        known = context.chapter.headings
        for position, element in enumerate(headings):
            # Both parsers see the same headings in the same order; should a construct
            # make them disagree, the heading still gets a unique, stable anchor.
            if len(headings) == len(known):
                local_id = known[position].id
            else:
                local_id = f"heading-{position + 1}"
            anchor = context.chapter.anchor(local_id)
            element.set("id", anchor)
            context.heading_anchors.append(anchor)

    @staticmethod
    def _drop_next_stages(root: etree.Element, context: ChapterContext) -> None:
        chapter = context.chapter
        wanted = next((h.id for h in chapter.headings if h.line == chapter.next_stages_line), None)
        if wanted is None:
            return
        anchor = chapter.anchor(wanted)
        children = list(root)
        for index, element in enumerate(children):
            if element.tag == "h2" and element.get("id") == anchor:
                for following in children[index:]:
                    if following is not element and following.tag in {"h1", "h2"}:
                        break
                    if following.tag == "div" and "footnote" in following.get("class", ""):
                        break  # the chapter's footnotes come after Next Stages: keep them
                    root.remove(following)
                return

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
            found = context.resolver.resolve(context.chapter, unquote(element.get("href", "")))
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


class DreambookExtension(Extension):
    """Registers the dreambook tree processor; set ``context`` before each ``convert``."""

    def __init__(self) -> None:
        super().__init__()
        self.context: ChapterContext | None = None

    def extendMarkdown(self, md: Markdown) -> None:
        # Priority 1: after attr_list (8), footnotes (50) and inline patterns (20).
        md.treeprocessors.register(_DreambookTreeprocessor(md, self), "dreambook", 1)
