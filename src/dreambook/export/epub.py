"""RenderedBook -> EPUB 3: one XHTML file per chapter, with navigation, notes and print pages.

Every XHTML document is rendered from a Jinja2 template in ``styles/`` (``epub-*.xhtml.j2``)
and read back with lxml, so the writer changes elements, never HTML text. In those trees it

* points every in-book link (``href="#anchor"``) at the file that holds the anchor;
* turns Python-Markdown's footnote list into EPUB 3 notes (``aside epub:type="footnote"``);
* marks where each page of the print edition begins, when the PDF writer's page breaks are
  given, and lists those pages in the navigation document;
* carries the images a chapter shows into the package.

EbookLib assembles the package (manifest, spine, metadata, NCX) and writes the zip. Two
things in its output cannot be set through its API, so :func:`normalise_package` corrects
the written zip: every entry is dated with the time of the build (no two builds were alike),
and the NCX declares a depth of 0 whatever its navMap holds. The repacked zip has
``mimetype`` first and stored, fixed entry dates and a fixed entry order.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import uuid
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from ebooklib import epub  # type: ignore[import-untyped]
from lxml import etree
from lxml import html as lxml_html
from markupsafe import Markup

from dreambook.bookmap import render_svg
from dreambook.config import BookConfig
from dreambook.diagnostics import diagnostic
from dreambook.errors import BuildError, DreambookError
from dreambook.export.pagelist import PageBreak
from dreambook.export.writer import BuildContext, WriterResult
from dreambook.fsutil import ConfinedFolders, atomic_output
from dreambook.isbn import parse_isbn
from dreambook.render import RenderedBook, RenderedChapter
from dreambook.reproducible import source_date
from dreambook.slugs import slugify
from dreambook.styles import Styles

log = logging.getLogger(__name__)

XHTML_NS = "http://www.w3.org/1999/xhtml"
OPS_NS = "http://www.idpf.org/2007/ops"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
NCX_NS = "http://www.daisy.org/z3986/2005/ncx/"
SVG_NS = "http://www.w3.org/2000/svg"
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
EPUB_MIMETYPE = b"application/epub+zip"
_EPUB_TYPE = f"{{{OPS_NS}}}type"
_X = f"{{{XHTML_NS}}}"

STYLESHEET = "epub.css"
# The stylesheet and its fonts keep the places they have in the styles folder, so the
# url(fonts/...) of its @font-face rules hold both there and inside the EPUB.
_FONT_FOLDER = "fonts"
_FONT_TYPES = {".ttf": "font/ttf", ".otf": "font/otf", ".woff": "font/woff", ".woff2": "font/woff2"}
_FONT_LICENCE = "OFL.txt"
# EPUB requires a dcterms:modified; this fixed date stands in when the build has no source
# date at all (never the clock, so rebuilds stay identical). Zip entries cannot be dated
# before it anyway.
_FALLBACK_MODIFIED = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)
# Elements that may not hold a <span> (or any text): a page marker goes into the child then.
_NO_PHRASING_CHILDREN = frozenset(
    {"ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "tr", "colgroup", "select", "hgroup"}
)
_IMAGE_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
)
_UNSAFE_NAME_RE = re.compile(r"[^a-z0-9_-]+")
_NOTE_LINKS = frozenset({"footnote-ref", "footnote-backref"})


@dataclass(frozen=True)
class EpubResult:
    """What an EPUB build wrote.

    File names are relative to the package document. ``chapter_files`` are in reading
    (spine) order; ``page_markers`` counts the print pages marked in the text (0: no page
    list); ``notes`` counts the footnotes made EPUB notes.
    """

    path: Path
    chapter_files: tuple[str, ...]
    identifier: str
    modified: str
    cover: str | None = None
    fonts: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    notes: int = 0
    page_markers: int = 0


# --- identity and dates ---------------------------------------------------------------------------


def isbn_digits(config: BookConfig) -> str | None:
    """Return the book's ISBN without hyphens or spaces, or None when it has no ISBN."""
    if config.identifier is None:
        return None
    isbn = parse_isbn(config.identifier)
    return isbn.compact if isbn is not None else None


def publication_identifier(config: BookConfig) -> str:
    """Return the book's identifier as a URN: ``urn:isbn:`` and the ISBN, or ``urn:uuid:``.

    A book without an identifier gets a UUID derived (uuid5) from its title and authors, so
    every build of the same book carries the same identifier. Raises nothing.
    """
    identifier = config.identifier
    if identifier is None:
        name = "\n".join((config.title, *config.authors))
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'dreambook:' + name)}"
    if identifier.casefold().startswith("urn:uuid:"):
        return f"urn:uuid:{uuid.UUID(identifier[len('urn:uuid:') :])}"
    return f"urn:isbn:{isbn_digits(config) or identifier}"


def chapter_file_names(book: RenderedBook) -> dict[str, str]:
    """Return chapter slug -> XHTML file name, ``chapter-01-<slug>.xhtml``, in reading order.

    The number is the chapter's place in the reading order (appendices included), so the
    files sort in reading order and can never take the front matter's names.
    """
    width = max(2, len(str(len(book.chapters))))
    return {
        chapter.slug: f"chapter-{index:0{width}d}-{chapter.slug}.xhtml"
        for index, chapter in enumerate(book.chapters, start=1)
    }


# --- resources read from the manuscript and the styles --------------------------------------------


@dataclass(frozen=True)
class _Resource:
    """A file carried into the package: its name there, its media type and its bytes."""

    file_name: str
    media_type: str
    content: bytes


def image_type(content: bytes, suffix: str) -> tuple[str, str] | None:
    """Return (media type, usual extension) of a PNG, JPEG, GIF, WebP or SVG image, else None.

    Raster formats are known by their first bytes, whatever the file is called; SVG, being
    text, by its ``.svg`` name and an ``<svg`` element near the start.
    """
    for signature, media_type, extension in _IMAGE_SIGNATURES:
        if content.startswith(signature):
            return media_type, extension
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp", ".webp"
    if suffix.lower() == ".svg" and b"<svg" in content[:4096]:
        return "image/svg+xml", ".svg"
    return None


def _read_cover(config: BookConfig, manuscript: Path) -> _Resource | None:
    """Read the cover image that ``[epub] cover`` names, from inside the manuscript only.

    Raises BuildError (DB004, at the key's line in book.toml) when the path leads outside
    the manuscript folder, is not a file, or is not a PNG, JPEG, GIF, WebP or SVG image.
    """
    if not config.cover:
        return None
    path = manuscript / config.cover
    if not ConfinedFolders([manuscript]).allows(path):
        problem = "leads outside the manuscript folder"
    elif not path.is_file():
        problem = "is not a file in the manuscript folder"
    else:
        content = path.read_bytes()
        found = image_type(content, path.suffix)
        if found is not None:
            return _Resource(f"images/cover{found[1]}", found[0], content)
        problem = "is not a PNG, JPEG, GIF, WebP or SVG image"
    raise BuildError(
        [
            diagnostic(
                "DB004",
                f"[epub] cover {config.cover!r} {problem}",
                manuscript / "book.toml",
                config.line_of("epub.cover"),
                "give the path of an image inside the manuscript folder, e.g. 'images/cover.jpg'",
            )
        ]
    )


def _font_files(styles: Styles, stylesheet: str) -> list[_Resource]:
    """The fonts the EPUB stylesheet names (``fonts/NAME``), and their licence text.

    A font file of the styles' ``fonts`` folders is embedded only when the stylesheet
    mentions it, so a book whose own epub.css uses no font file carries none.
    """
    allowed = ConfinedFolders(styles.folders)
    found: dict[str, Path] = {}
    for folder in reversed(styles.folders):  # a book's own styles folder wins
        fonts = folder / _FONT_FOLDER
        if fonts.is_dir():
            for path in fonts.iterdir():
                if path.suffix.lower() in _FONT_TYPES and path.is_file() and allowed.allows(path):
                    found[path.name] = path
    resources = [
        _Resource(f"{_FONT_FOLDER}/{name}", _FONT_TYPES[path.suffix.lower()], path.read_bytes())
        for name, path in sorted(found.items())
        if f"{_FONT_FOLDER}/{name}" in stylesheet
    ]
    if resources:
        # The SIL Open Font License asks that the licence travel with the fonts.
        try:
            licence = styles.path(f"{_FONT_FOLDER}/{_FONT_LICENCE}")
        except FileNotFoundError:
            log.warning("embedding fonts without %s: none in the styles folders", _FONT_LICENCE)
        else:
            resources.append(
                _Resource(f"{_FONT_FOLDER}/{_FONT_LICENCE}", "text/plain", licence.read_bytes())
            )
    return resources


# --- XHTML documents ------------------------------------------------------------------------------


@dataclass
class _Document:
    """One XHTML document of the package while it is being prepared."""

    item_id: str
    file_name: str
    title: str
    tree: etree._ElementTree


def xhtml_fragment(body: Markup) -> tuple[Markup, frozenset[str]]:
    """Return an HTML fragment written again as well-formed XHTML, and the ids it holds.

    Python-Markdown writes HTML (``<br>``, ``<hr>``, character references); an XML parser
    needs every element closed. Raises nothing.
    """
    root = lxml_html.fragment_fromstring(str(body), create_parent="div")
    ids = frozenset(str(e.get("id")) for e in root.iter() if e.get("id"))
    parts = [Markup.escape(root.text or "")]
    parts += [Markup(etree.tostring(child, method="xml", encoding="unicode")) for child in root]
    return Markup("").join(parts), ids


def parse_xhtml(text: str, file_name: str) -> etree._ElementTree:
    """Parse a rendered page as XML.

    Raises DreambookError naming the page when it is not well-formed, which only a changed
    template can cause.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        return etree.ElementTree(etree.fromstring(text.encode("utf-8"), parser))
    except etree.XMLSyntaxError as error:
        raise DreambookError(
            f"the EPUB page {file_name} is not well-formed XHTML ({error}); "
            "check the epub-*.xhtml.j2 templates in the book's styles folder"
        ) from error


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
        elif element.tag == f"{_X}script" or any(
            str(name).startswith("on") for name in element.attrib
        ):
            properties.add("scripted")
    return sorted(properties)


def _classes(element: etree._Element) -> set[str]:
    return set(str(element.get("class") or "").split())


def _local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def _child_of_body(element: etree._Element) -> etree._Element:
    """The element itself or its ancestor that is a child of ``<body>`` (the chapter)."""
    current = element
    for ancestor in element.iterancestors():
        if _local_name(ancestor) == "body":
            break
        current = ancestor
    return current


def make_epub_notes(tree: etree._ElementTree) -> int:
    """Turn Python-Markdown's footnote list into EPUB 3 notes; return the number of notes.

    Each call (``a.footnote-ref``) becomes a noteref and each list item an
    ``<aside epub:type="footnote" role="doc-footnote">`` that keeps the item's id and starts
    with the note's number. The asides, in a ``section epub:type="footnotes"``, go last in
    the chapter (after the Next Stages). The back-links stay, with the ``doc-backlink``
    role, and stay valid: the calls keep their ids.
    """
    for link in tree.iter(f"{_X}a"):
        if "footnote-ref" in _classes(link):
            link.set(_EPUB_TYPE, "noteref")
            link.set("role", "doc-noteref")
        elif "footnote-backref" in _classes(link):
            link.set("role", "doc-backlink")
    count = 0
    for block in list(tree.iter(f"{_X}div")):
        parent = block.getparent()
        if parent is None or "footnotes" not in _classes(block):
            continue
        notes = etree.Element(f"{_X}section", {"class": "footnotes", "aria-label": "Notes"})
        notes.set(_EPUB_TYPE, "footnotes")
        for number, item in enumerate(block.iterfind(f"{_X}ol/{_X}li"), start=1):
            aside = etree.SubElement(notes, f"{_X}aside", {"class": "footnote"})
            aside.set("id", str(item.get("id", "")))
            aside.set(_EPUB_TYPE, "footnote")
            aside.set("role", "doc-footnote")
            aside.text = item.text
            aside.extend(list(item))
            label = etree.Element(f"{_X}span", {"class": "footnote-number"})
            label.text = f"{number}.\u00a0"
            holder = aside[0] if len(aside) and _local_name(aside[0]) == "p" else aside
            label.tail, holder.text = holder.text, None
            holder.insert(0, label)
            count += 1
        chapter = _child_of_body(block)
        if chapter is block:
            notes.tail = block.tail
            parent.replace(block, notes)
        else:
            parent.remove(block)
            chapter.append(notes)
            notes.tail = "\n"
    return count


def page_marker(folio: str, marker_id: str) -> etree._Element:
    """Return the marker of a printed page: an empty ``span`` named by its folio."""
    marker = etree.Element(f"{_X}span", {"id": marker_id, "role": "doc-pagebreak"})
    marker.set(_EPUB_TYPE, "pagebreak")
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
    documents: Sequence[_Document], page_breaks: Sequence[PageBreak]
) -> list[tuple[str, str]]:
    """Mark every printed page in the chapter documents; return (marker id, folio) in order.

    A break whose anchor no chapter holds (which the shared ids should rule out) is logged
    and marked with the next break that can be placed, or at the end of the last chapter,
    so that no page goes missing from the page list.
    """
    elements: dict[str, etree._Element] = {}
    taken: set[str] = set()
    for document in documents:
        for element in document.tree.iter():
            element_id = element.get("id")
            if element_id:
                elements.setdefault(str(element_id), element)
                taken.add(str(element_id))
    pages: list[tuple[str, str]] = []
    waiting: list[etree._Element] = []
    for page in page_breaks:
        marker = page_marker(page.folio, _marker_id(page.folio, taken))
        pages.append((str(marker.get("id")), page.folio))
        target = elements.get(page.anchor)
        if target is None:
            log.warning("page %s begins at %r, which no chapter holds", page.folio, page.anchor)
            waiting.append(marker)
            continue
        for earlier in [*waiting, marker]:
            insert_page_marker(target, earlier)
        waiting = []
    if waiting and documents:
        chapter = documents[-1].tree.getroot().find(f"{_X}body/{_X}section")
        if chapter is not None:
            chapter.extend(waiting)
    return pages


def _marker_id(folio: str, taken: set[str]) -> str:
    # An underscore never occurs in a chapter slug, so "page_7" cannot meet a chapter's ids.
    base = "page_" + (re.sub(r"[^A-Za-z0-9]+", "-", folio).strip("-") or "x")
    marker_id, number = base, 1
    while marker_id in taken:
        number += 1
        marker_id = f"{base}_{number}"
    taken.add(marker_id)
    return marker_id


def point_links_at_files(
    document: _Document, anchors: Mapping[str, str], chapter_anchors: Mapping[str, str]
) -> None:
    """Point every ``href="#anchor"`` of the document at the file that holds the anchor.

    Note calls and back-links stay ``#id``: they lead within their own file. A fragment no
    file holds (the render stage should rule this out) leads to the start of its chapter
    when its ``slug--`` prefix names one, and otherwise becomes plain text; both are logged.
    """
    for link in document.tree.iter(f"{_X}a"):
        href = str(link.get("href") or "")
        if not href.startswith("#") or len(href) < 2:
            continue
        anchor = unquote(href[1:])
        target_file = anchors.get(anchor)
        if target_file == document.file_name and _classes(link) & _NOTE_LINKS:
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
        link.tag = f"{_X}span"
        link.set("class", "dangling-link")


def carry_images(documents: Iterable[_Document], manuscript: Path) -> list[_Resource]:
    """Bring every image the chapters show into the package, as ``images/NN-name.ext``.

    Image sources are relative to the manuscript folder (the render stage rebased them).
    An image outside the manuscript, missing, remote or of a type EPUB readers need not
    show is replaced by its alternative text, and logged.
    """
    folders = ConfinedFolders([manuscript])
    carried: dict[str, _Resource] = {}
    for document in documents:
        for image in list(document.tree.iter(f"{_X}img")):
            source = str(image.get("src") or "")
            resource = carried.get(source)
            if resource is None:
                resource = _read_image(source, manuscript, folders, len(carried) + 1)
                if resource is not None:
                    carried[source] = resource
            if resource is not None:
                image.set("src", resource.file_name)
                continue
            log.warning("%s: cannot carry the image %r into the EPUB", document.file_name, source)
            stand_in = etree.Element(f"{_X}span", {"class": "missing-image"})
            stand_in.text = str(image.get("alt") or "")
            stand_in.tail = image.tail
            parent = image.getparent()
            if parent is not None:
                parent.replace(image, stand_in)
    return list(carried.values())


def _read_image(
    source: str, manuscript: Path, folders: ConfinedFolders, number: int
) -> _Resource | None:
    """Read one image from the manuscript; None when it may not or cannot be carried."""
    # The render stage left a plain path relative to the manuscript (already unquoted).
    parts = urlsplit(source)
    if not source or parts.scheme or parts.netloc or source.startswith(("/", "\\")):
        return None
    path = manuscript / source
    if not folders.allows(path) or not path.is_file():
        return None
    content = path.read_bytes()
    found = image_type(content, path.suffix)
    if found is None:
        return None
    stem = _UNSAFE_NAME_RE.sub("-", PurePosixPath(source).stem.lower()).strip("-") or "image"
    return _Resource(f"images/{number:02d}-{stem}{found[1]}", found[0], content)


# --- the package ----------------------------------------------------------------------------------


class _PreparedDocument(epub.EpubHtml):  # type: ignore[misc]
    """An XHTML document that EbookLib stores exactly as given.

    EbookLib's own EpubHtml parses content with an HTML parser and rebuilds the page from
    its template, which drops the attributes of ``<html>`` and ``<body>`` and everything
    in ``<head>`` but the title and links; a finished document must pass through untouched.
    """

    def get_content(self, default: bytes | None = None) -> bytes:
        return bytes(self.content)


@dataclass(frozen=True)
class _Package:
    """Everything that goes into the package, prepared."""

    identifier: str
    documents: tuple[_Document, ...]
    spine: tuple[str, ...]
    navigation: _Document
    stylesheet: bytes
    resources: tuple[_Resource, ...]
    cover: _Resource | None
    print_edition: str | None
    has_images: bool
    chapter_files: Mapping[str, str]


def _accessibility_metadata(package: _Package) -> list[tuple[str, str]]:
    """(property, value) pairs of EPUB Accessibility 1.1 metadata for this book.

    The schema.org values are the ones the EPUB Accessibility vocabulary lists; the
    summary says in words what the features mean for a reader.
    """
    features = ["tableOfContents", "readingOrder", "structuralNavigation", "ARIA"]
    features.append("displayTransformability")
    if package.has_images:
        features.append("alternativeText")
    if package.print_edition is not None:
        features += ["pageBreakMarkers", "pageNavigation", "printPageNumbers"]
    summary = (
        "A reflowable book in reading order, with a table of contents and headings for "
        "every chapter and section; notes, where there are any, are linked to and from the "
        "text. Its type size, typeface and colours can be changed in the reading system, "
        "and nothing is conveyed by colour alone."
    )
    if package.print_edition is not None:
        summary += " Page markers and a page list follow the printed edition."
    pairs = [("schema:accessMode", "textual")]
    if package.has_images:
        pairs.append(("schema:accessMode", "visual"))
    pairs.append(("schema:accessModeSufficient", "textual"))
    pairs += [("schema:accessibilityFeature", feature) for feature in features]
    pairs += [
        ("schema:accessibilityHazard", "none"),
        ("schema:accessibilitySummary", summary),
        ("dcterms:conformsTo", "EPUB Accessibility 1.1 - WCAG 2.1 Level AA"),
    ]
    return pairs


def _epub_book(book: RenderedBook, package: _Package) -> epub.EpubBook:
    """Assemble the EbookLib book: metadata, manifest, spine and the NCX."""
    config = book.config
    ebook = epub.EpubBook()
    ebook.IDENTIFIER_ID = "pub-id"
    ebook.set_identifier(package.identifier)
    ebook.set_language(config.language)
    ebook.title = config.title  # the NCX's docTitle
    # Two dc:title elements, each refined with its title-type: reading systems show the
    # main title and can show the subtitle apart from it.
    ebook.add_metadata("DC", "title", config.title, {"id": "title"})
    ebook.add_metadata(None, "meta", "main", {"refines": "#title", "property": "title-type"})
    if config.subtitle:
        ebook.add_metadata("DC", "title", config.subtitle, {"id": "subtitle"})
        ebook.add_metadata(
            None, "meta", "subtitle", {"refines": "#subtitle", "property": "title-type"}
        )
    for number, author in enumerate(config.authors, start=1):
        ebook.add_author(author, role="aut", uid=f"creator-{number}")
    for name, value in (
        ("publisher", config.publisher),
        ("date", config.date.isoformat() if config.date else None),
        ("rights", config.rights),
        ("description", config.description),
    ):
        if value:
            ebook.add_metadata("DC", name, value)
    for keyword in config.keywords:
        ebook.add_metadata("DC", "subject", keyword)
    if package.print_edition is not None:
        ebook.add_metadata("DC", "source", package.print_edition, {"id": "print-source"})
        ebook.add_metadata(None, "meta", package.print_edition, {"property": "pageBreakSource"})
    for prop, value in _accessibility_metadata(package):
        ebook.add_metadata(None, "meta", value, {"property": prop})

    ebook.add_item(
        epub.EpubItem(
            uid="stylesheet",
            file_name=STYLESHEET,
            media_type="text/css",
            content=package.stylesheet,
        )
    )
    if package.cover is not None:
        # create_page=False: the cover page is one of dreambook's own documents.
        ebook.set_cover(package.cover.file_name, package.cover.content, create_page=False)
    for number, resource in enumerate(package.resources, start=1):
        ebook.add_item(
            epub.EpubItem(
                uid=f"resource-{number}",
                file_name=resource.file_name,
                media_type=resource.media_type,
                content=resource.content,
            )
        )
    items = {}
    for document in (*package.documents, package.navigation):
        item = _PreparedDocument(
            uid=document.item_id,
            file_name=document.file_name,
            title=document.title,
            media_type="application/xhtml+xml",
        )
        item.content = serialise_xhtml(document.tree)
        item.properties.extend(document_properties(document.tree))
        items[document.item_id] = ebook.add_item(item)
    items[package.navigation.item_id].properties.append("nav")
    ebook.add_item(epub.EpubNcx())
    ebook.spine = [items[item_id] for item_id in package.spine]
    ebook.toc = _ncx_entries(book, package.chapter_files)
    return ebook


def _ncx_entries(book: RenderedBook, files: Mapping[str, str]) -> list[object]:
    """The NCX's navMap for EPUB 2 readers: each chapter, with its ``##`` sections below it.

    ``files`` maps chapter slugs to file names. EbookLib needs an id for every navPoint.
    """
    entries: list[object] = []
    number = 0
    for chapter in book.chapters:
        number += 1
        link = epub.Link(files[chapter.slug], chapter.title.striptags(), f"navpoint-{number}")
        sections = []
        for section in chapter.sections:
            if section.level == 2:
                number += 1
                href = f"{files[chapter.slug]}#{section.anchor}"
                sections.append(epub.Link(href, section.title.striptags(), f"navpoint-{number}"))
        entries.append((link, sections) if sections else link)
    return entries


def _chapter_item_id(chapter: RenderedChapter) -> str:
    return f"chapter-{chapter.slug}"


def _ncx_with_depth(ncx: bytes) -> bytes:
    """Return the NCX with ``dtb:depth`` set to the nesting depth of its navMap.

    EbookLib always writes 0; EPUB 2 reading systems read the value as the number of
    levels of the table of contents.
    """
    root = etree.fromstring(ncx, etree.XMLParser(resolve_entities=False, no_network=True))
    points = root.iterfind(f".//{{{NCX_NS}}}navPoint")
    depth = max(
        (sum(1 for a in p.iterancestors(f"{{{NCX_NS}}}navPoint")) + 1 for p in points), default=0
    )
    for meta in root.iterfind(f"{{{NCX_NS}}}head/{{{NCX_NS}}}meta"):
        if meta.get("name") == "dtb:depth":
            meta.set("content", str(depth))
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _package_with_language(package: bytes, language: str) -> bytes:
    """Return the package document with ``xml:lang`` on its root element.

    EbookLib writes the language only as ``dc:language``; accessibility checkers (Ace by
    DAISY's "epub-lang") also want the package's own ``xml:lang``.
    """
    root = etree.fromstring(package, etree.XMLParser(resolve_entities=False, no_network=True))
    root.set("{http://www.w3.org/XML/1998/namespace}lang", language)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _package_document_path(container: bytes) -> str:
    root = etree.fromstring(container, etree.XMLParser(resolve_entities=False))
    rootfile = root.find(f"{{{CONTAINER_NS}}}rootfiles/{{{CONTAINER_NS}}}rootfile")
    if rootfile is None or not rootfile.get("full-path"):
        raise ValueError("META-INF/container.xml names no package document")
    return str(rootfile.get("full-path"))


def normalise_package(data: bytes, modified: dt.datetime, language: str | None = None) -> bytes:
    """Return the EPUB zip ``data`` rewritten so that equal inputs give equal bytes.

    ``mimetype`` comes first, stored uncompressed with no extra field, then
    ``META-INF/container.xml``, the package document and every other entry in the order
    written. Every entry is dated ``modified`` (at least 1980-01-01, the zip epoch; zip
    keeps even seconds only), made
    on Unix with mode 0644 and, except ``mimetype``, deflated at level 9. The NCX gets its
    true ``dtb:depth``; with ``language``, the package document gets that ``xml:lang``.
    Raises ValueError when ``data`` is not an EPUB zip with a container
    file naming its package document.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        names = source.namelist()
        contents = {name: source.read(name) for name in names}
    if "META-INF/container.xml" not in contents:
        raise ValueError("the EPUB has no META-INF/container.xml")
    package_path = _package_document_path(contents["META-INF/container.xml"])
    for name in names:
        if name.endswith(".ncx"):
            contents[name] = _ncx_with_depth(contents[name])
    if language and package_path in contents:
        contents[package_path] = _package_with_language(contents[package_path], language)
    contents["mimetype"] = EPUB_MIMETYPE
    first = ["mimetype", "META-INF/container.xml", package_path]
    order = first + [name for name in names if name not in first]
    stamp = max(modified.astimezone(dt.UTC), _FALLBACK_MODIFIED)
    date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as target:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.create_system = 3  # Unix, whatever system builds the book
            info.external_attr = 0o100644 << 16
            if name == "mimetype":
                info.compress_type = zipfile.ZIP_STORED
                target.writestr(info, contents[name])
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                target.writestr(info, contents[name], compresslevel=9)
    return output.getvalue()


# --- the writer -----------------------------------------------------------------------------------


def _next_stages_anchor(
    book: RenderedBook, chapter: RenderedChapter, taken: frozenset[str]
) -> str | None:
    """The id of the chapter's Next Stages list: the anchor its heading had in the manuscript.

    The render stage takes the Next Stages section out of the body; giving the list the
    heading's anchor keeps links to ``#next-stages`` working. None if the id is taken.
    """
    local = slugify(book.config.next_stages_heading)
    anchor = f"{chapter.anchor}--{local}" if local else ""
    return anchor if anchor and anchor not in taken else None


def _edition_label(print_edition: str | None) -> str | None:
    """How the copyright page names the print edition: ``ISBN ...`` rather than a URN."""
    if print_edition is not None and print_edition.casefold().startswith("urn:isbn:"):
        return "ISBN " + print_edition[len("urn:isbn:") :]
    return print_edition


def build_epub(
    book: RenderedBook,
    styles: Styles,
    manuscript: Path,
    destination: Path,
    page_breaks: Sequence[PageBreak] = (),
    print_edition: str | None = None,
    *,
    modified: dt.datetime | None = None,
) -> EpubResult:
    """Write ``book`` as an EPUB 3 file, atomically, to ``destination``; return what was written.

    ``page_breaks`` (from the PDF writer) mark where each printed page begins and add a
    page list; ``print_edition`` names that edition in the metadata (default: the ISBN, or
    the title and "print edition"). ``modified`` is the build's source date (see
    reproducible.py; worked out here when not given, 1980-01-01 when there is none); it
    dates the package and every zip entry. Raises BuildError (DB004) when ``[epub] cover`` is not
    an image inside the manuscript folder, DreambookError when a template does not give
    well-formed XHTML, FileNotFoundError when a template or the stylesheet is missing, and
    OSError when the file cannot be written.
    """
    config = book.config
    environment = styles.environment()
    stylesheet = styles.path(STYLESHEET).read_bytes()
    fonts = _font_files(styles, stylesheet.decode("utf-8"))
    cover = _read_cover(config, manuscript)
    files = chapter_file_names(book)
    appendix = set(config.appendix)
    if page_breaks and print_edition is None:
        isbn = isbn_digits(config)
        print_edition = f"urn:isbn:{isbn}" if isbn else f"{config.title}, print edition"
    if not page_breaks:
        print_edition = None
    common = {"language": config.language, "stylesheet": STYLESHEET, "book": book}

    def page(
        template: str, item_id: str, file_name: str, title: str, **values: object
    ) -> _Document:
        text = environment.get_template(template).render(**common, page_title=title, **values)
        return _Document(item_id, file_name, title, parse_xhtml(text, file_name))

    front: list[_Document] = []
    if cover is not None:
        front.append(
            page("epub-cover.xhtml.j2", "cover", "cover.xhtml", "Cover", cover=cover.file_name)
        )
    front.append(page("epub-titlepage.xhtml.j2", "title-page", "title-page.xhtml", config.title))
    front.append(
        page(
            "epub-copyright.xhtml.j2",
            "copyright",
            "copyright.xhtml",
            "Copyright",
            isbn=isbn_digits(config),
            fonts_embedded=bool(fonts),
            print_edition=_edition_label(print_edition),
        )
    )
    if config.dedication:
        front.append(
            page("epub-dedication.xhtml.j2", "dedication", "dedication.xhtml", "Dedication")
        )
    contents = page("epub-contents.xhtml.j2", "contents", "contents.xhtml", "Contents")
    front.append(contents)
    if book.book_map is not None:
        links = {c.slug: [e.target.title for e in c.next_stages] for c in book.chapters}
        front.append(
            page(
                "epub-map.xhtml.j2",
                "map",
                "map.xhtml",
                "Map of the Book",
                map_svg=Markup(render_svg(book.book_map, styles)),
                links=links,
            )
        )

    chapters: list[_Document] = []
    notes = 0
    for chapter in book.chapters:
        body, ids = xhtml_fragment(chapter.body)
        document = page(
            "epub-chapter.xhtml.j2",
            _chapter_item_id(chapter),
            files[chapter.slug],
            chapter.title.striptags(),
            chapter=chapter,
            body=body,
            appendix=chapter.slug in appendix,
            next_stages_anchor=_next_stages_anchor(book, chapter, ids),
        )
        notes += make_epub_notes(document.tree)
        chapters.append(document)
    pages = place_page_markers(chapters, page_breaks)
    images = carry_images(chapters, manuscript)

    landmarks = []
    if cover is not None:
        landmarks.append(("cover", "cover.xhtml", "Cover"))
    landmarks.append(("toc", contents.file_name, "Contents"))
    if chapters:
        landmarks.append(("bodymatter", chapters[0].file_name, "Start of Content"))
    navigation = page(
        "epub-nav.xhtml.j2", "nav", "nav.xhtml", "Contents", landmarks=landmarks, pages=pages
    )

    anchors: dict[str, str] = {}
    for document in chapters:
        for element in document.tree.iter():
            element_id = element.get("id")
            if element_id:
                anchors.setdefault(str(element_id), document.file_name)
    chapter_starts = {c.slug: f"{files[c.slug]}#{c.anchor}" for c in book.chapters}
    for document in (*front, *chapters, navigation):
        point_links_at_files(document, anchors, chapter_starts)

    modified = (
        (modified or source_date(manuscript, config) or _FALLBACK_MODIFIED)
        .astimezone(dt.UTC)
        .replace(microsecond=0)
    )
    package = _Package(
        identifier=publication_identifier(config),
        documents=(*front, *chapters),
        spine=tuple(d.item_id for d in (*front, *chapters)),
        navigation=navigation,
        stylesheet=stylesheet,
        resources=(*fonts, *images),
        cover=cover,
        print_edition=print_edition,
        has_images=cover is not None or bool(images),
        chapter_files=files,
    )
    written = io.BytesIO()
    epub.write_epub(
        written,
        _epub_book(book, package),
        {
            "mtime": modified,
            "play_order": {"enabled": True, "start_from": 1},
            "raise_exceptions": True,
            "epub2_guide": False,
            "epub3_landmark": False,
            "epub3_pages": False,
        },
    )
    data = normalise_package(written.getvalue(), modified, config.language)
    with atomic_output(destination) as output:
        output.write(data)
    return EpubResult(
        path=destination,
        chapter_files=tuple(d.file_name for d in chapters),
        identifier=package.identifier,
        modified=modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
        cover=cover.file_name if cover else None,
        fonts=tuple(r.file_name for r in fonts if r.media_type.startswith("font/")),
        images=tuple(r.file_name for r in images),
        notes=notes,
        page_markers=len(pages),
    )


class EpubWriter:
    """The EPUB, with the print edition's page breaks when the PDF is built in the same run."""

    def describe(self, context: BuildContext) -> str:
        return "writing the EPUB"

    def write(self, context: BuildContext, earlier: Mapping[str, WriterResult]) -> WriterResult:
        pdf = earlier.get("pdf")
        epub = build_epub(
            context.book,
            context.styles,
            context.manuscript,
            context.output / f"{context.book.slug}.epub",
            pdf.page_breaks if pdf is not None else (),
            modified=context.identity.modified,
        )
        return WriterResult(files=(epub.path,))
