"""The EPUB's XHTML documents: rendered from templates, read back as trees, changed in place.

Every document is rendered from a Jinja2 template in ``styles/`` (``epub-*.xhtml.j2``) and
parsed with lxml, so the writer changes elements, never HTML text. In those trees this
module

* writes a chapter body (the shared parse of the rendered HTML) again as well-formed XHTML;
* turns Python-Markdown's footnote list into EPUB 3 notes (``aside epub:type="footnote"``);
* marks where each page of the print edition begins;
* points every in-book link (``href="#anchor"``) at the file that holds the anchor.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from jinja2 import Environment
from lxml import etree
from lxml import html as lxml_html
from markupsafe import Markup

from dreambook.errors import DreambookError
from dreambook.export.notes import find_footnotes, has_class
from dreambook.export.pagelist import PageBreak

log = logging.getLogger(__name__)

XHTML_NS = "http://www.w3.org/1999/xhtml"
OPS_NS = "http://www.idpf.org/2007/ops"
SVG_NS = "http://www.w3.org/2000/svg"
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
EPUB_TYPE = f"{{{OPS_NS}}}type"
X = f"{{{XHTML_NS}}}"
# Elements that may not hold a <span> (or any text): a page marker goes into the child then.
_NO_PHRASING_CHILDREN = frozenset(
    {"ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "tr", "colgroup", "select", "hgroup"}
)
_NOTE_LINKS = frozenset({"footnote-ref", "footnote-backref"})
# The back-link from a note to its call: an upwards arrow, which Vollkorn has (Python-
# Markdown's hooked arrow it has not), followed by the text-presentation selector so that
# no system draws it as a coloured emoji.
BACKLINK_TEXT = "\u2191\ufe0e"


@dataclass
class Document:
    """One XHTML document of the package while it is being prepared."""

    item_id: str
    file_name: str
    title: str
    tree: etree._ElementTree


class DocumentTemplates:
    """The ``epub-*.xhtml.j2`` templates, rendered with the values every document shares."""

    def __init__(self, environment: Environment, **common: object) -> None:
        self.environment = environment
        self.common = common

    def render(
        self, template: str, item_id: str, file_name: str, title: str, **values: object
    ) -> Document:
        """Render ``template`` into the document ``file_name``.

        Raises DreambookError when the result is not well-formed XHTML and
        jinja2.TemplateNotFound when the template is missing.
        """
        page = self.environment.get_template(template)
        text = page.render(**self.common, page_title=title, **values)
        return Document(item_id, file_name, title, parse_xhtml(text, file_name))


def xhtml_fragment(root: lxml_html.HtmlElement) -> tuple[Markup, frozenset[str]]:
    """Return the children of ``root`` written as well-formed XHTML, and the ids they hold.

    ``root`` is a chapter body as parsed once per build (``ChapterTrees.body``):
    Python-Markdown writes HTML (``<br>``, ``<hr>``, character references), and an XML
    parser needs every element closed. Raises nothing.
    """
    ids = frozenset(str(e.get("id")) for e in root.iter() if e.get("id"))
    parts = [Markup.escape(root.text or "")]
    parts += [Markup(etree.tostring(child, method="xml", encoding="unicode")) for child in root]
    return Markup("").join(parts), ids


def parse_xhtml(text: str, file_name: str) -> etree._ElementTree:
    """Parse a rendered page as XML.

    Raises NotXhtmlError naming the page when it is not well-formed.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        return etree.ElementTree(etree.fromstring(text.encode("utf-8"), parser))
    except etree.XMLSyntaxError as error:
        raise NotXhtmlError(file_name, str(error)) from error


class NotXhtmlError(DreambookError):
    """A rendered EPUB page is not well-formed XML. For a chapter the writer reports it at
    the chapter (DB051); for the other pages only a changed template can cause it."""

    def __init__(self, file_name: str, reason: str) -> None:
        self.file_name = file_name
        self.reason = reason
        super().__init__(
            f"the EPUB page {file_name} is not well-formed XHTML ({reason}); "
            "check the epub-*.xhtml.j2 templates in the book's styles folder"
        )


def serialise_xhtml(tree: etree._ElementTree) -> bytes:
    """Return the document as UTF-8 XHTML with an XML declaration and the HTML5 doctype."""
    return etree.tostring(tree, xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>")


def document_properties(tree: etree._ElementTree) -> list[str]:
    """The manifest properties a document needs: ``mathml``, ``scripted`` and ``svg``.

    EPUBCheck reports a document that holds MathML, scripts or inline SVG without the
    matching property as an error; raw HTML in a trusted manuscript can bring any of them.
    """
    properties = set()
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        namespace = etree.QName(element).namespace
        if namespace == MATHML_NS:
            properties.add("mathml")
        elif namespace == SVG_NS:
            properties.add("svg")
        elif element.tag == f"{X}script" or any(
            str(name).startswith("on") for name in element.attrib
        ):
            properties.add("scripted")
    return sorted(properties)


def _local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def first_holders(documents: Iterable[Document]) -> dict[str, tuple[Document, etree._Element]]:
    """Every id in ``documents``, with the first document and element that hold it."""
    holders: dict[str, tuple[Document, etree._Element]] = {}
    for document in documents:
        for element in document.tree.iter():
            element_id = element.get("id")
            if element_id:
                holders.setdefault(str(element_id), (document, element))
    return holders


# --- notes ----------------------------------------------------------------------------------------


def _child_of_body(element: etree._Element) -> etree._Element:
    """The element itself or its ancestor that is a child of ``<body>`` (the chapter)."""
    current = element
    for ancestor in element.iterancestors():
        if _local_name(ancestor) == "body":
            break
        current = ancestor
    return current


def _note_aside(item: etree._Element, number: int) -> etree._Element:
    """The EPUB note made of the footnote list item ``item``, whose children it takes."""
    aside = etree.Element(f"{X}aside", {"class": "footnote"})
    aside.set("id", str(item.get("id")))
    aside.set(EPUB_TYPE, "footnote")
    aside.set("role", "doc-footnote")
    aside.text = item.text
    aside.extend(list(item))
    label = etree.Element(f"{X}span", {"class": "footnote-number"})
    label.text = f"{number}.\u00a0"
    holder = aside[0] if len(aside) and _local_name(aside[0]) == "p" else aside
    label.tail, holder.text = holder.text, None
    holder.insert(0, label)
    return aside


def make_epub_notes(tree: etree._ElementTree, name: str = "Notes") -> int:
    """Turn Python-Markdown's footnote list into EPUB 3 notes; return the number of notes.
    ``name`` is the notes section's accessible name, in the book's language.

    Each call (``a.footnote-ref``) becomes a noteref and each list item an
    ``<aside epub:type="footnote" role="doc-footnote">`` that keeps the item's id and starts
    with the note's number. The asides, in a ``section epub:type="footnotes"``, close the
    chapter's text: before its Next Stages box, as in the printed book. The back-links stay,
    with the ``doc-backlink`` role and an arrow the font has (:data:`BACKLINK_TEXT`), and
    stay valid: the calls keep their ids.
    """
    footnotes = find_footnotes(tree.getroot())
    for call, _ in footnotes.calls:
        call.set(EPUB_TYPE, "noteref")
        call.set("role", "doc-noteref")
    count = 0
    for found in footnotes.lists:
        block, parent = found.block, found.block.getparent()
        if parent is None:
            continue
        for link in block.iter(f"{X}a"):
            if has_class(link, "footnote-backref") and not has_class(link, "footnote-ref"):
                link.set("role", "doc-backlink")
                for child in list(link):
                    link.remove(child)
                link.text = BACKLINK_TEXT
        notes = etree.Element(f"{X}section", {"class": "footnotes", "aria-label": name})
        notes.set(EPUB_TYPE, "footnotes")
        notes.extend(_note_aside(item, number) for number, item in enumerate(found.notes, 1))
        count += len(found.notes)
        chapter = _child_of_body(block)
        if chapter is block:
            notes.tail = block.tail
            parent.replace(block, notes)
        else:
            parent.remove(block)
            next_stages = _next_stages_box(chapter)
            if next_stages is not None:
                next_stages.addprevious(notes)
            else:
                chapter.append(notes)
            notes.tail = "\n"
    return count


def _next_stages_box(chapter: etree._Element) -> etree._Element | None:
    """The chapter's Next Stages box (``nav.next-stages``, a child of the chapter), or None."""
    for child in chapter:
        if (
            isinstance(child.tag, str)
            and _local_name(child) == "nav"
            and has_class(child, "next-stages")
        ):
            return child
    return None


# --- the print edition's pages --------------------------------------------------------------------


def page_marker(folio: str, marker_id: str) -> etree._Element:
    """Return the marker of a printed page: an empty ``span`` named by its folio."""
    marker = etree.Element(f"{X}span", {"id": marker_id, "role": "doc-pagebreak"})
    marker.set(EPUB_TYPE, "pagebreak")
    marker.set("aria-label", folio)
    return marker


def insert_page_marker(target: etree._Element, marker: etree._Element) -> None:
    """Put ``marker`` where the page that begins with ``target`` begins.

    That is just before ``target``, unless its parent may hold no ``<span>`` (an item of a
    ``<ul>``, a term of a ``<dl>``): then the marker opens ``target`` itself, after any
    markers already there. A table row gets it in its first cell. Raises nothing.
    """
    parent = target.getparent()
    if parent is not None and _local_name(parent) not in _NO_PHRASING_CHILDREN:
        target.addprevious(marker)
        return
    holder = target
    while _local_name(holder) in _NO_PHRASING_CHILDREN and len(holder):
        holder = holder[0]
    leading = 0
    while leading < len(holder) and holder[leading].get("role") == "doc-pagebreak":
        leading += 1
    if leading == 0:
        marker.tail, holder.text = holder.text, None
    else:
        previous = holder[leading - 1]
        marker.tail, previous.tail = previous.tail, None
    holder.insert(leading, marker)


def place_page_markers(
    documents: Sequence[Document], page_breaks: Sequence[PageBreak]
) -> list[tuple[str, str]]:
    """Mark every printed page in the chapter documents; return (marker id, folio) in order.

    A break whose anchor no chapter holds (which the shared ids should rule out) is logged
    and marked with the next break that can be placed, or at the end of the last chapter,
    so that no page goes missing from the page list.
    """
    holders = first_holders(documents)
    taken = set(holders)
    pages: list[tuple[str, str]] = []
    waiting: list[etree._Element] = []
    for page in page_breaks:
        marker = page_marker(page.folio, _marker_id(page.folio, taken))
        pages.append((str(marker.get("id")), page.folio))
        if page.anchor not in holders:
            log.warning("page %s begins at %r, which no chapter holds", page.folio, page.anchor)
            waiting.append(marker)
            continue
        _, target = holders[page.anchor]
        for earlier in [*waiting, marker]:
            insert_page_marker(target, earlier)
        waiting = []
    if waiting and documents:
        chapter = documents[-1].tree.getroot().find(f"{X}body/{X}section")
        if chapter is not None:
            chapter.extend(waiting)
    return pages


def page_targets(
    documents: Sequence[Document], pages: Sequence[tuple[str, str]]
) -> tuple[tuple[str, str], ...]:
    """``(file#marker, folio)`` for each ``(marker id, folio)`` of :func:`place_page_markers`
    (the hrefs the NCX's pageList needs); a marker no document holds is left out."""
    holders = first_holders(documents)
    return tuple(
        (f"{holders[marker][0].file_name}#{marker}", folio)
        for marker, folio in pages
        if marker in holders
    )


def _marker_id(folio: str, taken: set[str]) -> str:
    # An underscore never occurs in a chapter slug, so "page_7" cannot meet a chapter's ids.
    base = "page_" + (re.sub(r"[^A-Za-z0-9]+", "-", folio).strip("-") or "x")
    marker_id, number = base, 1
    while marker_id in taken:
        number += 1
        marker_id = f"{base}_{number}"
    taken.add(marker_id)
    return marker_id


# --- links ----------------------------------------------------------------------------------------


def point_links_at_files(
    document: Document, anchors: Mapping[str, str], chapter_anchors: Mapping[str, str]
) -> None:
    """Point every ``href="#anchor"`` of the document at the file that holds the anchor.

    Note calls and back-links stay ``#id``: they lead within their own file. A fragment no
    file holds (the render stage should rule this out) leads to the start of its chapter
    when its ``slug--`` prefix names one, and otherwise becomes plain text; both are logged.
    """
    for link in document.tree.iter(f"{X}a"):
        href = str(link.get("href") or "")
        if not href.startswith("#") or len(href) < 2:
            continue
        anchor = unquote(href[1:])
        target_file = anchors.get(anchor)
        if target_file == document.file_name and any(has_class(link, c) for c in _NOTE_LINKS):
            continue
        if target_file is not None:
            link.set("href", f"{target_file}#{anchor}")
            continue
        slug = anchor.split("--", 1)[0]
        if slug in chapter_anchors:
            log.warning("%s: no page holds #%s; linking to its chapter", document.file_name, anchor)
            link.set("href", chapter_anchors[slug])
            continue
        log.warning("%s: no page holds #%s; the link is left as text", document.file_name, anchor)
        for name in list(link.attrib):
            del link.attrib[name]
        link.tag = f"{X}span"
        link.set("class", "dangling-link")


def link_documents(
    documents: Iterable[Document], chapters: Sequence[Document], chapter_anchors: Mapping[str, str]
) -> None:
    """Point the in-book links of ``documents`` at the chapter files that hold their anchors.

    ``chapter_anchors`` maps each chapter's slug to ``file#anchor``, its opening.
    """
    anchors = {
        anchor: document.file_name for anchor, (document, _) in first_holders(chapters).items()
    }
    for document in documents:
        point_links_at_files(document, anchors, chapter_anchors)
