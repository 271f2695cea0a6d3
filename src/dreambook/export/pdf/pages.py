"""The print HTML: the book (or one chunk of it) as WeasyPrint lays it out, for given page
numbers, and the page geometry (trim, margins, bleed) as CSS.

Chapter bodies come from ``BuildContext.trees`` (parsed once per build) and are prepared
for paper: footnotes move to where they are called, and cross-references get the page they
point to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from lxml import html as lxml_html
from markupsafe import Markup

from dreambook.bookmap import PRINT_INK, SCREEN_INK, render_svg
from dreambook.config import BookConfig, Length, PageReferenceStyle
from dreambook.export.notes import find_footnotes
from dreambook.export.pdf.folios import PRINT_ONLY_IDS, PageNumbers
from dreambook.export.pdf.linebreaks import mark_line_endings
from dreambook.export.pdf.variant import Variant
from dreambook.export.pdf.wording import (
    page_reference,
    references_in_parentheses,
    tie_last_words,
    word_follows,
)

if TYPE_CHECKING:
    from dreambook.export.writer import BuildContext
    from dreambook.render import RenderedBook
    from dreambook.styles import Styles


def _inline_footnotes(root: lxml_html.HtmlElement) -> None:
    """Move each footnote from the list at the chapter's end to where it is called from, as
    ``<span class="footnote">``, which the stylesheet floats to the foot of the page."""
    found = find_footnotes(root)
    for found_call, found_note in found.calls:
        if found_note is None:
            continue
        # The tree is lxml.html's, so its elements are HtmlElements.
        call = cast("lxml_html.HtmlElement", found_call)
        note = cast("lxml_html.HtmlElement", found_note)
        parent = call.getparent()
        container = parent if parent is not None and parent.tag == "sup" else call
        footnote = lxml_html.Element("span", {"class": "footnote"})
        for backref in note.find_class("footnote-backref"):
            backref.drop_tree()
        paragraphs = note.findall("p")
        footnote.text = note.text if not paragraphs else None
        for index, paragraph in enumerate(paragraphs or []):
            if index:
                footnote.append(lxml_html.Element("br"))
            # Keep the paragraph's inline content (emphasis, links) inside the note.
            if paragraph.text:
                if len(footnote):
                    footnote[-1].tail = (footnote[-1].tail or "") + paragraph.text
                else:
                    footnote.text = (footnote.text or "") + paragraph.text
            for child in list(paragraph):
                footnote.append(child)
        if footnote.text:
            footnote.text = footnote.text.rstrip("\u00a0 ")
        if len(footnote) and footnote[-1].tail:
            footnote[-1].tail = footnote[-1].tail.rstrip("\u00a0 ")
        footnote.tail = container.tail
        holder = container.getparent()
        assert holder is not None  # a call always sits inside the chapter's <div>
        holder.replace(container, footnote)
    for note_list in found.lists:
        cast("lxml_html.HtmlElement", note_list.block).drop_tree()


def _add_page_references(
    root: lxml_html.HtmlElement, pages: PageNumbers, style: PageReferenceStyle
) -> None:
    """Write the page of its target after the words of every cross-reference: " (p. N)"
    in running text, ", p. N" inside parentheses (see ``wording.page_reference``)."""
    in_parentheses = references_in_parentheses(root)
    for link, parenthesised in in_parentheses.items():
        # Inside the link, so the number is part of what a reader taps. The link's id
        # (given by the render stage) lets the layout say which page it landed on. The
        # stylesheet keeps the reference on the line of the words it follows.
        target = link.get("href", "").removeprefix("#")
        phrase = pages.cross_reference(link.get("id", ""), target)
        reference = lxml_html.Element("span", {"class": "pageref"})
        reference.text = page_reference(phrase, style, parenthesised, word_follows(link))
        link.append(reference)


def _name_sections(root: lxml_html.HtmlElement) -> None:
    """Give each section the id of its heading plus ``--section``, so that the layout can
    put space above a ruled section (makeup.py) rather than inside its rule."""
    for section in root.iter("section"):
        heading = next((child for child in section if isinstance(child.tag, str)), None)
        if heading is not None and heading.get("id") and not section.get("id"):
            section.set("id", f"{heading.get('id')}{PRINT_ONLY_IDS[0]}")


def prepare_body(
    root: lxml_html.HtmlElement,
    pages: PageNumbers,
    style: PageReferenceStyle = "auto",
    em_dash: str = "spaced",
) -> Markup:
    """Return a chapter body for print: footnotes inline, page references after
    cross-references, set in ``style`` (book.toml ``[print] page_reference``), line endings
    marked (linebreaks.py; ``em_dash`` as book.toml says).

    ``root`` is the body as the children of a ``<div>`` (``ChapterTrees.body``); it is changed.
    """
    # Footnotes first: a cross-reference inside a note gets its page where the note now is.
    _inline_footnotes(root)
    _add_page_references(root, pages, style)
    mark_line_endings(root, em_dash)
    _name_sections(root)
    inner = "".join(lxml_html.tostring(child, encoding="unicode") for child in root)
    return Markup((root.text or "") + inner)


def _margins(config: BookConfig) -> dict[str, str]:
    """Mirrored margins scaled to the trim: a wider gutter (inner) than the outer margin."""
    width_ratio = config.trim_size.width.points / (6 * 72)
    height_ratio = config.trim_size.height.points / (9 * 72)

    def inches(value: float) -> str:
        return f"{value:.3f}in"

    return {
        "top": inches(0.78 * height_ratio),
        "bottom": inches(0.86 * height_ratio),
        "inner": inches(0.82 * width_ratio),
        "outer": inches(0.6 * width_ratio),
    }


def page_css(styles: Styles, config: BookConfig, bleed: Length | None) -> str:
    """The page geometry as CSS (``page.css.j2``): trim, mirrored margins, and ``bleed`` if any."""
    template = styles.environment().get_template("page.css.j2")
    return template.render(
        trim={"width": config.trim_size.width.css, "height": config.trim_size.height.css},
        margins=_margins(config),
        bleed=bleed.css if bleed is not None else None,
        chapter_start=config.chapter_start,
    )


def _map_svg(
    book: RenderedBook, styles: Styles, pages: PageNumbers, variant: Variant
) -> Markup | None:
    """The map of the book with each chapter's page, for the front matter (``[book] map``);
    in black ink only for the print edition."""
    if book.book_map is None:
        return None
    folios = {chapter.slug: pages.folio(chapter.anchor) for chapter in book.chapters}
    ink = PRINT_INK if variant is Variant.PRINT else SCREEN_INK
    svg = render_svg(book.book_map, styles, folios, ink)
    return Markup(svg)  # rendered from our own autoescaped template


class PrintPages:
    """Renders the print HTML (``print.html.j2``) of one edition, whole or a chunk at a time."""

    def __init__(self, context: BuildContext, variant: Variant) -> None:
        self.book = context.book
        self.styles = context.styles
        self.trees = context.trees
        self.variant = variant
        self.isbn = context.identity.isbn.written if context.identity.isbn is not None else None
        self.modified = context.identity.modified
        self.template = context.styles.environment().get_template("print.html.j2")
        self.by_slug = {chapter.slug: chapter for chapter in self.book.chapters}

    def html(
        self,
        pages: PageNumbers,
        front: bool = True,
        slugs: Sequence[str] | None = None,
        chunk_end: str = "",
    ) -> str:
        """The HTML of the front matter (when ``front``) and of the chapters ``slugs`` (all
        when None), printing the numbers of ``pages``; ``chunk_end`` as in the template."""
        chapters = list(self.book.chapters) if slugs is None else [self.by_slug[s] for s in slugs]
        pages = pages.in_words(self.book.labels)
        return self.template.render(
            book=self.book,
            front=front,
            chapters=chapters,
            chunk_end=chunk_end,
            bodies={
                c.slug: prepare_body(
                    self.trees.body(c),
                    pages,
                    self.book.config.page_reference,
                    self.book.config.em_dash,
                )
                for c in chapters
            },
            pages=pages,
            variant=self.variant.value,
            isbn=self.isbn,
            modified=self.modified,
            book_map=_map_svg(self.book, self.styles, pages, self.variant) if front else None,
            tie_last_words=tie_last_words,
            join_list=self.book.labels.join,
        )
