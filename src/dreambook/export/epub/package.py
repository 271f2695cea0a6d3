"""The EPUB package: EbookLib assembles it, then a repack makes its bytes reproducible.

EbookLib writes the manifest, spine, metadata and NCX and zips them. Two things in its
output cannot be set through its API, so :func:`normalise_package` corrects the written zip:
every entry is dated with the time of the build (no two builds were alike), and the NCX
declares a depth of 0 whatever its navMap holds. The repacked zip has ``mimetype`` first
and stored, fixed entry dates and a fixed entry order.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

from ebooklib import epub  # type: ignore[import-untyped]
from lxml import etree

from dreambook.export.epub.resources import Resource
from dreambook.export.epub.xhtml import Document, document_properties, serialise_xhtml
from dreambook.identity import BookIdentity
from dreambook.render import RenderedBook

CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
NCX_NS = "http://www.daisy.org/z3986/2005/ncx/"
EPUB_MIMETYPE = b"application/epub+zip"
STYLESHEET = "epub.css"
# EPUB requires a dcterms:modified; this fixed date stands in when the build has no source
# date at all (never the clock, so rebuilds stay identical). Zip entries cannot be dated
# before it anyway.
_FALLBACK_MODIFIED = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)


def package_date(modified: dt.datetime | None) -> dt.datetime:
    """The date that stamps the package: the build's source date in UTC, to the second.

    A build without a source date gets 1980-01-01, never the clock.
    """
    return (modified or _FALLBACK_MODIFIED).astimezone(dt.UTC).replace(microsecond=0)


class _PreparedDocument(epub.EpubHtml):  # type: ignore[misc]
    """An XHTML document that EbookLib stores exactly as given.

    EbookLib's own EpubHtml parses content with an HTML parser and rebuilds the page from
    its template, which drops the attributes of ``<html>`` and ``<body>`` and everything
    in ``<head>`` but the title and links; a finished document must pass through untouched.
    """

    def get_content(self, default: bytes | None = None) -> bytes:
        return bytes(self.content)


@dataclass(frozen=True)
class Package:
    """Everything that goes into the package, prepared.

    ``documents`` are in reading order (the spine); ``chapter_files`` maps each chapter's
    slug to its file (for the NCX); ``print_edition`` names the edition the page markers
    follow (None: the book has no page list).
    """

    identity: BookIdentity
    documents: tuple[Document, ...]
    navigation: Document
    stylesheet: bytes
    resources: tuple[Resource, ...]
    cover: Resource | None
    print_edition: str | None
    chapter_files: Mapping[str, str]

    @property
    def has_images(self) -> bool:
        """True when the book shows a picture: a cover or an image in a chapter."""
        return self.cover is not None or any(
            resource.media_type.startswith("image/") for resource in self.resources
        )


def _accessibility_metadata(package: Package) -> list[tuple[str, str]]:
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


def _add_metadata(ebook: epub.EpubBook, book: RenderedBook, package: Package) -> None:
    """The package's metadata: identity, titles, creators, Dublin Core, accessibility."""
    identity, config = package.identity, book.config
    ebook.IDENTIFIER_ID = "pub-id"
    ebook.set_identifier(identity.urn)
    ebook.set_language(identity.language)
    ebook.title = identity.title  # the NCX's docTitle
    # Two dc:title elements, each refined with its title-type: reading systems show the
    # main title and can show the subtitle apart from it.
    ebook.add_metadata("DC", "title", identity.title, {"id": "title"})
    ebook.add_metadata(None, "meta", "main", {"refines": "#title", "property": "title-type"})
    if identity.subtitle:
        ebook.add_metadata("DC", "title", identity.subtitle, {"id": "subtitle"})
        ebook.add_metadata(
            None, "meta", "subtitle", {"refines": "#subtitle", "property": "title-type"}
        )
    for number, author in enumerate(identity.authors, start=1):
        ebook.add_author(author, role="aut", uid=f"creator-{number}")
    for name, value in (
        ("publisher", config.publisher),
        ("date", identity.date.isoformat() if identity.date else None),
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


def _add_items(ebook: epub.EpubBook, package: Package) -> dict[str, epub.EpubItem]:
    """The manifest: stylesheet, cover, fonts and images, then the documents (by item id)."""
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
    return items


def _epub_book(book: RenderedBook, package: Package) -> epub.EpubBook:
    """Assemble the EbookLib book: metadata, manifest, spine and the NCX."""
    ebook = epub.EpubBook()
    _add_metadata(ebook, book, package)
    items = _add_items(ebook, package)
    ebook.add_item(epub.EpubNcx())
    ebook.spine = [items[document.item_id] for document in package.documents]
    ebook.toc = _ncx_entries(book, package.chapter_files)
    return ebook


def package_bytes(book: RenderedBook, package: Package, modified: dt.datetime) -> bytes:
    """Return the EPUB zip of ``package``, every date in it ``modified`` (:func:`package_date`).

    Raises nothing for a package the writer assembled; EbookLib raises (its
    ``raise_exceptions``) only when a document or the NCX cannot be written.
    """
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
    return normalise_package(written.getvalue(), modified, package.identity.language)


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
