"""Which XHTML documents the EPUB holds, and what each is rendered from.

Front matter (cover page, title page, copyright page, dedication, contents, map of the
book), one document per chapter in reading order, and the navigation document. Each is
rendered from its ``epub-*.xhtml.j2`` template (xhtml.py reads it back as a tree); the
chapter bodies come from the build's one parse of the rendered HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from dreambook.bookmap import render_svg
from dreambook.diagnostics import Diagnostic, diagnostic
from dreambook.errors import BuildError, DreambookError
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
from dreambook.render import RenderedBook, RenderedChapter
from dreambook.slugs import slugify


@dataclass(frozen=True)
class FrontMatter:
    """The documents before the first chapter, in reading order, and which is the contents."""

    documents: tuple[Document, ...]
    contents: Document


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
) -> FrontMatter:
    """Render the front matter; ``print_edition`` is None when the book has no page list.

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
            # The copyright page names the edition by its ISBN, not by the URN.
            print_edition=f"ISBN {isbn}" if isbn and print_edition else print_edition,
        )
    )  # fmt: skip
    if book.config.dedication:
        front.append(
            render("epub-dedication.xhtml.j2", "dedication", "dedication.xhtml", labels.dedication)
        )
    contents = render("epub-contents.xhtml.j2", "contents", "contents.xhtml", labels.contents)
    front.append(contents)
    if book.book_map is not None:
        links = {c.slug: [e.target.title for e in c.next_stages] for c in book.chapters}
        front.append(
            render(
                "epub-map.xhtml.j2", "map", "map.xhtml", labels.map,
                map_svg=Markup(render_svg(book.book_map, context.styles)),
                links=links,
            )
        )  # fmt: skip
    return FrontMatter(tuple(front), contents)


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
    labels: Labels,
) -> Document:
    """Render the navigation document: contents, landmarks and the page list (``pages``:
    (marker id, folio) in order, empty without a print edition), in the words of ``labels``."""
    landmarks = []
    if has_cover:
        landmarks.append(("cover", "cover.xhtml", labels.cover))
    landmarks.append(("toc", front.contents.file_name, labels.contents))
    if chapters:
        landmarks.append(("bodymatter", chapters[0].file_name, labels.start_of_content))
    return templates.render(
        "epub-nav.xhtml.j2", "nav", "nav.xhtml", labels.contents, landmarks=landmarks, pages=pages
    )


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
