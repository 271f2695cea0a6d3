"""The EPUB package: EbookLib assembles it, then a repack makes its bytes reproducible.

EbookLib writes the manifest, spine, metadata and NCX and zips them. Some things in its
output cannot be set through its API, so :func:`normalise_package` corrects the written zip:
every entry is dated with the time of the build (no two builds were alike), the NCX
declares a depth of 0 whatever its navMap holds and has no page list. The repacked zip has
``mimetype`` first and stored, fixed entry dates and a fixed entry order.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ebooklib import epub  # type: ignore[import-untyped]
from lxml import etree

from dreambook.config import BookConfig
from dreambook.export.epub.resources import Resource
from dreambook.export.epub.xhtml import Document, document_properties, serialise_xhtml
from dreambook.identity import BookIdentity
from dreambook.labels import Labels
from dreambook.render import RenderedBook
from dreambook.retail import sort_names

CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
NCX_NS = "http://www.daisy.org/z3986/2005/ncx/"
EPUB_MIMETYPE = b"application/epub+zip"
STYLESHEET = "epub.css"
# Zip entries cannot be dated before the zip format's epoch.
_ZIP_EPOCH = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)
ACCESSIBILITY_CLAIM = "EPUB Accessibility 1.1 - WCAG 2.1 Level AA"


def package_date(modified: dt.datetime | None) -> dt.datetime:
    """The date that stamps the package: the build's source date in UTC, to the second.

    A build without a source date (no SOURCE_DATE_EPOCH, no git history, no ``[book]
    date``) is stamped with the time it ran: a made-up date would be a false statement in
    every catalogue, and such a build has nothing to be reproduced from anyway.
    """
    return (modified or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)


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
    follow (None: the book has no page list). ``nonlinear`` are documents reached by link
    only (the font licence), after the reading order; ``pages`` are ``(href, folio)`` of
    every print page marker, in order; ``book_map`` is the map's page, when the book has one;
    ``ncx_entries`` are the NCX's navMap: ``(href, title, children)``.
    """

    identity: BookIdentity
    documents: tuple[Document, ...]
    navigation: Document
    stylesheet: bytes
    resources: tuple[Resource, ...]
    cover: Resource | None
    print_edition: str | None
    chapter_files: Mapping[str, str]
    nonlinear: tuple[Document, ...] = ()
    pages: tuple[tuple[str, str], ...] = ()
    book_map: Document | None = None
    ncx_entries: tuple[NavEntry, ...] = ()

    @property
    def has_images(self) -> bool:
        """True when the book shows a picture: a cover or an image in a chapter."""
        return self.cover is not None or any(
            resource.media_type.startswith("image/") for resource in self.resources
        )

    @property
    def may_move(self) -> bool:
        """True when an image is animated (a GIF of several frames, an APNG, an animated
        WebP): nobody has said that it does not flash or simulate motion."""
        return any(_animated(resource) for resource in self.resources)


def _animated(resource: Resource) -> bool:
    """Whether an image holds more than one frame, read from the markers of its format."""
    content = resource.content
    if resource.media_type == "image/gif":
        return content.count(b"\x21\xf9\x04") > 1  # a graphic control block per frame
    if resource.media_type == "image/png":
        end = content.find(b"IDAT")
        return b"acTL" in content[: end if end > 0 else len(content)]
    if resource.media_type == "image/webp":
        return b"ANIM" in content[:4096]
    return False


@dataclass(frozen=True)
class NavEntry:
    """One entry of the NCX's navMap: its target, its title and the entries below it."""

    href: str
    title: str
    children: tuple[NavEntry, ...] = ()


def _images_described(package: Package) -> bool:
    """True when every picture in the book has a text equivalent: each chapter image an
    ``alt`` text, the map the list of chapters that says the same in words."""
    for document in package.documents:
        for image in document.tree.iter("{http://www.w3.org/1999/xhtml}img"):
            if not str(image.get("alt") or "").strip() and image.get("role") != "presentation":
                return False
    return True


def _accessibility_metadata(
    package: Package, config: BookConfig, labels: Labels
) -> list[tuple[str, str]]:
    """(property, value) pairs of EPUB Accessibility 1.1 metadata, from what the book holds.

    Visual access is declared when the book shows a picture (the map, the cover, an
    image), and text alone is declared sufficient only when every picture has a text
    equivalent. Conformance is claimed only when ``[epub] certified_by`` names who
    checked it (the certifier's credential and report follow, see :func:`_add_certification`).
    """
    visual = package.has_images or package.book_map is not None
    described = _images_described(package)
    features = ["tableOfContents", "readingOrder", "structuralNavigation", "ARIA"]
    # Every size is relative and every colour the reader's (the map's included).
    features.append("displayTransformability")
    if package.has_images and described:
        features.append("alternativeText")
    if package.book_map is not None:
        features.append("longDescription")
    if package.print_edition is not None:
        features += ["pageBreakMarkers", "pageNavigation", "printPageNumbers"]
    hazards = (
        ["unknownFlashingHazard", "unknownMotionSimulationHazard", "noSoundHazard"]
        if package.may_move
        else ["none"]
    )
    # Written in the book's language, from the same facts (labels.py).
    summary = [labels.access_reflowable, labels.access_adjustable]
    if package.book_map is not None:
        summary.append(labels.access_map)
    if package.has_images:
        summary.append(
            labels.access_images_described if described else labels.access_images_undescribed
        )
    if package.print_edition is not None:
        summary.append(labels.access_page_list)
    if config.certified_by is None:
        summary.append(labels.access_not_certified)
    pairs = [("schema:accessMode", "textual")]
    if visual:
        pairs.append(("schema:accessMode", "visual"))
    if not visual or described:
        pairs.append(("schema:accessModeSufficient", "textual"))
    if visual:
        pairs.append(("schema:accessModeSufficient", "textual,visual"))
    pairs += [("schema:accessibilityFeature", feature) for feature in features]
    pairs += [("schema:accessibilityHazard", hazard) for hazard in hazards]
    pairs.append(("schema:accessibilitySummary", " ".join(summary)))
    return pairs


def _add_certification(ebook: epub.EpubBook, config: BookConfig) -> None:
    """``dcterms:conformsTo`` with who certified it, their credential and report: a claim
    of conformance is made only by someone who checked."""
    if config.certified_by is None:
        return
    ebook.add_metadata(None, "meta", ACCESSIBILITY_CLAIM, {"property": "dcterms:conformsTo"})
    ebook.add_metadata(
        None, "meta", config.certified_by, {"property": "a11y:certifiedBy", "id": "certifier"}
    )
    if config.certifier_credential:
        ebook.add_metadata(
            None, "meta", config.certifier_credential,
            {"property": "a11y:certifierCredential", "refines": "#certifier"},
        )  # fmt: skip
    if config.certifier_report:
        ebook.add_metadata(
            None, "link", None,
            {"rel": "a11y:certifierReport", "refines": "#certifier",
             "href": config.certifier_report},
        )  # fmt: skip


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
    sorted_as = sort_names(config)
    for number, author in enumerate(identity.authors, start=1):
        uid = f"creator-{number}"
        ebook.add_author(author, role="aut", uid=uid)
        # Not through add_author's file_as, which marks the sort name with the relator scheme.
        ebook.add_metadata(
            None, "meta", sorted_as[number - 1], {"refines": f"#{uid}", "property": "file-as"}
        )
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
    for prop, value in _accessibility_metadata(package, config, book.labels):
        ebook.add_metadata(None, "meta", value, {"property": prop})
    _add_certification(ebook, config)


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
    for document in (*package.documents, *package.nonlinear, package.navigation):
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
    # Reached by a link only (the font licence): after the reading order, skipped by it.
    ebook.spine += [(items[document.item_id], "no") for document in package.nonlinear]
    ebook.toc = _ncx_links(package.ncx_entries)
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
            # normalise_package reads every entry back and deflates it at level 9: what
            # EbookLib compressed would only be inflated again.
            "compresslevel": 0,
        },
    )
    return normalise_package(
        written.getvalue(), modified, package.identity.language, package.pages,
        book.labels.pages,
    )  # fmt: skip


def _ncx_links(entries: Sequence[NavEntry], start: int = 1) -> list[object]:
    """The navMap entries as EbookLib wants them; it needs an id for every navPoint."""
    links: list[object] = []
    number = start
    for entry in entries:
        link = epub.Link(entry.href, entry.title, f"navpoint-{number}")
        number += 1
        if entry.children:
            children = _ncx_links(entry.children, number)
            number += _count(entry.children)
            links.append((link, children))
        else:
            links.append(link)
    return links


def _count(entries: Sequence[NavEntry]) -> int:
    return sum(1 + _count(entry.children) for entry in entries)


def _ncx_with_depth(
    ncx: bytes, pages: Sequence[tuple[str, str]] = (), pages_label: str = "Pages"
) -> bytes:
    """Return the NCX with ``dtb:depth`` set to the nesting depth of its navMap, and with a
    pageList of ``pages`` ((href, folio) in order) when there are any.

    EbookLib always writes a depth of 0 and no pageList; EPUB 2 reading systems read the
    depth as the number of levels of the table of contents, and the pageList (with
    ``dtb:totalPageCount`` and ``dtb:maxPageNumber``) to go to a printed page.
    """
    root = etree.fromstring(ncx, etree.XMLParser(resolve_entities=False, no_network=True))
    if pages:
        _add_page_list(root, pages, pages_label)
    points = root.iterfind(f".//{{{NCX_NS}}}navPoint")
    depth = max(
        (sum(1 for a in p.iterancestors(f"{{{NCX_NS}}}navPoint")) + 1 for p in points), default=0
    )
    numbers = [int(folio) for _, folio in pages if folio.isdigit()]
    counts = {
        "dtb:depth": depth,
        "dtb:totalPageCount": len(pages),
        "dtb:maxPageNumber": max(numbers, default=0),
    }
    for meta in root.iterfind(f"{{{NCX_NS}}}head/{{{NCX_NS}}}meta"):
        name = str(meta.get("name"))
        if name in counts:
            meta.set("content", str(counts[name]))
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _add_page_list(root: etree._Element, pages: Sequence[tuple[str, str]], name: str) -> None:
    """Append the NCX's pageList: a pageTarget per printed page, after the navMap (the
    NCX's order), numbered on from the navMap's play order."""
    ncx = f"{{{NCX_NS}}}"
    orders = [int(str(p.get("playOrder"))) for p in root.iter(f"{ncx}navPoint")]
    play_order = max(orders, default=0)
    page_list = etree.Element(f"{ncx}pageList")
    label = etree.SubElement(page_list, f"{ncx}navLabel")
    etree.SubElement(label, f"{ncx}text").text = name
    for number, (href, folio) in enumerate(pages, start=1):
        play_order += 1
        kind = "normal" if folio.isdigit() else "front"
        target = etree.SubElement(
            page_list,
            f"{ncx}pageTarget",
            {"id": f"pagetarget-{number}", "type": kind, "playOrder": str(play_order)},
        )
        if folio.isdigit():
            target.set("value", folio)
        text = etree.SubElement(etree.SubElement(target, f"{ncx}navLabel"), f"{ncx}text")
        text.text = folio
        etree.SubElement(target, f"{ncx}content", {"src": href})
    nav_map = root.find(f"{ncx}navMap")
    if nav_map is not None:
        nav_map.addnext(page_list)
    else:
        root.append(page_list)


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


def normalise_package(
    data: bytes,
    modified: dt.datetime,
    language: str | None = None,
    pages: Sequence[tuple[str, str]] = (),
    pages_label: str = "Pages",
) -> bytes:
    """Return the EPUB zip ``data`` rewritten so that equal inputs give equal bytes.

    ``mimetype`` comes first, stored uncompressed with no extra field, then
    ``META-INF/container.xml``, the package document and every other entry in the order
    written. Every entry is dated ``modified`` (at least 1980-01-01, the zip epoch; zip
    keeps even seconds only), made
    on Unix with mode 0644 and, except ``mimetype``, deflated at level 9. The NCX gets its
    true ``dtb:depth`` and a pageList of ``pages`` ((href, folio), hrefs relative to the
    package document, as the NCX's own) named ``pages_label``; with ``language``, the package document gets that
    ``xml:lang``.
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
            contents[name] = _ncx_with_depth(contents[name], pages, pages_label)
    if language and package_path in contents:
        contents[package_path] = _package_with_language(contents[package_path], language)
    contents["mimetype"] = EPUB_MIMETYPE
    first = ["mimetype", "META-INF/container.xml", package_path]
    order = first + [name for name in names if name not in first]
    stamp = max(modified.astimezone(dt.UTC), _ZIP_EPOCH)
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
