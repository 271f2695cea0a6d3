"""Which XHTML documents the EPUB holds, and what each is rendered from.

Front matter (cover page, title page, copyright page, dedication, contents, map of the
book), one document per chapter in reading order, and the navigation document. Each is
rendered from its ``epub-*.xhtml.j2`` template (xhtml.py reads it back as a tree); the
chapter bodies come from the build's one parse of the rendered HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from dreambook.bookmap import READER_INK, render_svg
from dreambook.diagnostics import Diagnostic, diagnostic
from dreambook.errors import BuildError, DreambookError
from dreambook.export.epub.package import NavEntry
from dreambook.export.epub.resources import Resource
from dreambook.export.epub.xhtml import (
    Document,
    DocumentTemplates,
    NotXhtmlError,
    make_epub_notes,
    xhtml_fragment,
)
from dreambook.export.writer import BuildContext
from dreambook.fsutil import ConfinedReader
from dreambook.labels import Labels
from dreambook.render import RenderedBook, RenderedChapter, SectionEntry
from dreambook.slugs import slugify

MAP_FILE = "map.xhtml"
# The size of the map's labels in the drawing's units: the drawing is sized so that these
# are one em of the reader's text.
MAP_TYPE_SIZE = 8.5


@dataclass(frozen=True)
class FrontMatter:
    """The documents before the first chapter, in reading order, which is the contents and
    which the map of the book (None: the book has no map)."""

    documents: tuple[Document, ...]
    contents: Document
    book_map: Document | None = None


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


def print_edition_name(context: BuildContext) -> str:
    """How the metadata names the print edition the page markers follow.

    Its ISBN as a URN when the book has one, else the title and "print edition" in the
    book's language.
    """
    identity = context.identity
    if identity.isbn:
        return identity.isbn.urn
    return context.book.labels.text("print_edition", title=identity.title)


def front_matter(
    context: BuildContext,
    templates: DocumentTemplates,
    cover: Resource | None,
    fonts_embedded: bool,
    print_edition: str | None,
    font_licence: str | None = None,
) -> FrontMatter:
    """Render the front matter; ``print_edition`` is None when the book has no page list,
    ``font_licence`` the file of the fonts' licence the copyright page links to.

    Raises DreambookError when a template gives no well-formed XHTML.
    """
    book, identity = context.book, context.identity
    labels = book.labels
    render = templates.render
    front: list[Document] = []
    if cover is not None:
        front.append(
            render(
                "epub-cover.xhtml.j2", "cover", "cover.xhtml", labels.cover, cover=cover.file_name
            )
        )
    front.append(
        render("epub-titlepage.xhtml.j2", "title-page", "title-page.xhtml", identity.title)
    )
    isbn = identity.isbn.compact if identity.isbn else None
    front.append(
        render(
            "epub-copyright.xhtml.j2", "copyright", "copyright.xhtml", labels.copyright,
            isbn=isbn,
            fonts_embedded=fonts_embedded,
            font_licence=font_licence,
            # The copyright page names the edition by its ISBN, not by the URN.
            print_edition=f"ISBN {isbn}" if isbn and print_edition else print_edition,
        )
    )  # fmt: skip
    if book.config.dedication:
        front.append(
            render("epub-dedication.xhtml.j2", "dedication", "dedication.xhtml", labels.dedication)
        )
    has_map = book.book_map is not None
    contents = render(
        "epub-contents.xhtml.j2", "contents", "contents.xhtml", labels.contents,
        map_file=MAP_FILE if has_map else None,
    )  # fmt: skip
    front.append(contents)
    book_map = None
    if book.book_map is not None:
        links = {c.slug: [e.target.title for e in c.next_stages] for c in book.chapters}
        # Drawn in the reader's colours, its type one em of the reader's text (see epub.css).
        svg = render_svg(book.book_map, context.styles, ink=READER_INK, units_per_em=MAP_TYPE_SIZE)
        book_map = render(
            "epub-map.xhtml.j2", "map", MAP_FILE, labels.map,
            map_svg=Markup(svg),
            links=links,
        )  # fmt: skip
        front.append(book_map)
    return FrontMatter(tuple(front), contents, book_map)


def font_licence(
    templates: DocumentTemplates, fonts: Sequence[Resource], labels: Labels
) -> Document | None:
    """The licence of the embedded fonts as a page the copyright page links to (outside the
    reading order), named in the words of ``labels``; None when no licence text travels
    with the fonts."""
    for resource in fonts:
        if resource.media_type == "text/plain":
            text = resource.content.decode("utf-8", errors="replace")
            paragraphs = [part.strip("\n") for part in text.split("\n\n") if part.strip()]
            return templates.render(
                "epub-font-licence.xhtml.j2", "font-licence", "font-licence.xhtml",
                labels.font_licence,
                paragraphs=paragraphs,
            )  # fmt: skip
    return None


def house_sections(book: RenderedBook) -> frozenset[str]:
    """The titles of the ``##`` sections that at least half the chapters (two or more) have:
    the book's standard sections (Quick Answer, FAQ), which a contents listing under every
    chapter would only repeat."""
    counts: dict[str, int] = {}
    for chapter in book.chapters:
        for title in {str(s.title.striptags()).casefold() for s in chapter.sections}:
            counts[title] = counts.get(title, 0) + 1
    least = max(2, (len(book.chapters) + 1) // 2)
    return frozenset(title for title, count in counts.items() if count >= least)


def contents_sections(
    chapter: RenderedChapter, depth: int, standard: frozenset[str]
) -> tuple[SectionEntry, ...]:
    """The headings of ``chapter`` a contents listing ``depth`` levels deep shows below it:
    ``##`` sections from depth 2, ``###`` from 3, leaving out the book's ``standard``
    sections (:func:`house_sections`) and the headings under them."""
    if depth < 2:
        return ()
    shown: list[SectionEntry] = []
    parent_shown = False  # a ### heading is listed under the ## section it belongs to
    for section in chapter.sections:
        if section.level == 2:
            parent_shown = str(section.title.striptags()).casefold() not in standard
            if parent_shown:
                shown.append(section)
        elif section.level == 3 and depth >= 3 and parent_shown:
            shown.append(section)
    return tuple(shown)


def ncx_entries(
    book: RenderedBook, files: dict[str, str], front: FrontMatter, depth: int
) -> tuple[NavEntry, ...]:
    """The NCX's navMap: the contents and the map pages, then each chapter with its
    headings to ``depth`` levels (:func:`contents_sections`)."""
    standard = house_sections(book)
    entries = [NavEntry(front.contents.file_name, front.contents.title)]
    if front.book_map is not None:
        entries.append(NavEntry(front.book_map.file_name, front.book_map.title))
    for chapter in book.chapters:
        file_name = files[chapter.slug]
        below = _nested(
            [
                (s.level, NavEntry(f"{file_name}#{s.anchor}", str(s.title.striptags())))
                for s in contents_sections(chapter, depth, standard)
            ]
        )
        entries.append(NavEntry(file_name, str(chapter.title.striptags()), below))
    return tuple(entries)


def _nested(flat: list[tuple[int, NavEntry]]) -> tuple[NavEntry, ...]:
    """Entries of levels 2 and 3 in order, each level-3 entry put under the level-2 before it."""
    top: list[NavEntry] = []
    for level, entry in flat:
        if level > 2 and top:
            last = top[-1]
            top[-1] = NavEntry(last.href, last.title, (*last.children, entry))
        else:
            top.append(entry)
    return tuple(top)


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


def chapter_documents(
    context: BuildContext, templates: DocumentTemplates, files: dict[str, str]
) -> tuple[list[Document], int]:
    """Render every chapter, its footnotes made EPUB notes; return them and the note count.

    ``files`` maps chapter slugs to file names (:func:`chapter_file_names`). Raises
    BuildError (DB051, at the chapter's file and line) when a chapter's page is not
    well-formed XHTML: only raw HTML kept with --trust-html can do that, since the
    templates' own markup is checked by the tests.
    """
    book = context.book
    appendix = set(book.config.appendix)
    documents: list[Document] = []
    notes = 0
    for chapter in book.chapters:
        body, ids = xhtml_fragment(context.trees.body(chapter))
        try:
            document = templates.render(
                "epub-chapter.xhtml.j2", f"chapter-{chapter.slug}", files[chapter.slug],
                chapter.title.striptags(),
                chapter=chapter,
                body=body,
                appendix=chapter.slug in appendix,
                next_stages_anchor=_next_stages_anchor(book, chapter, ids),
            )  # fmt: skip
        except NotXhtmlError as error:
            line = _line_not_xhtml(context, chapter)
            raise BuildError([_chapter_not_xhtml(context, chapter, line, error)]) from error
        notes += make_epub_notes(document.tree, book.labels.notes)
        documents.append(document)
    return documents, notes


def navigation_document(
    templates: DocumentTemplates,
    front: FrontMatter,
    has_cover: bool,
    chapters: Sequence[Document],
    pages: Sequence[tuple[str, str]],
    sections: Mapping[str, Sequence[SectionEntry]],
    labels: Labels,
) -> Document:
    """Render the navigation document: contents, landmarks and the page list (``pages``:
    (marker id, folio) in order, empty without a print edition), in the words of ``labels``.
    ``sections`` gives the headings listed under each chapter (by slug,
    :func:`contents_sections`)."""
    landmarks = []
    if has_cover:
        landmarks.append(("cover", "cover.xhtml", labels.cover))
    landmarks.append(("toc", front.contents.file_name, labels.contents))
    if front.book_map is not None:
        # The vocabulary has no word for a map; "loi" (list of illustrations) is the
        # landmark a reading system offers for the book's drawings.
        landmarks.append(("loi", front.book_map.file_name, front.book_map.title))
    if chapters:
        landmarks.append(("bodymatter", chapters[0].file_name, labels.start_of_content))
    return templates.render(
        "epub-nav.xhtml.j2", "nav", "nav.xhtml", labels.contents,
        landmarks=landmarks,
        pages=pages,
        map_file=front.book_map.file_name if front.book_map is not None else None,
        sections=sections,
    )  # fmt: skip


def _line_not_xhtml(context: BuildContext, chapter: RenderedChapter) -> int:
    """The file line of the first block of ``chapter`` that is not well-formed XML, found by
    its words in the chapter file; the line the chapter's text starts on when not found."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for block in context.trees.body(chapter):
        try:
            etree.fromstring(etree.tostring(block, method="xml"), parser)
        except etree.XMLSyntaxError:
            words = " ".join(block.text_content().split())[:30]
            break
    else:
        return chapter.source_line
    path = context.manuscript / chapter.source_path
    try:
        lines = ConfinedReader([context.manuscript]).read_text(path).splitlines()
    except (OSError, DreambookError):
        return chapter.source_line
    for number, text in enumerate(lines[chapter.source_line - 1 :], chapter.source_line):
        if words and words in " ".join(text.split()):
            return number
    return chapter.source_line


def _chapter_not_xhtml(
    context: BuildContext, chapter: RenderedChapter, line: int, error: NotXhtmlError
) -> Diagnostic:
    return diagnostic(
        "DB051",
        f"the chapter cannot be written as an EPUB page: its HTML is not well-formed XHTML "
        f"({error.reason})",
        context.manuscript / chapter.source_path,
        line,
        "look for raw HTML in this chapter that a browser forgives but XML does not (an "
        "attribute name with a character such as '@', an element left open); correct it, "
        "or build without --trust-html",
    )
