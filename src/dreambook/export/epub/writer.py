"""The EPUB writer: the rendered book as one EPUB 3 file, with the print edition's pages.

It reads the stylesheet, fonts and cover (resources.py), renders the documents
(documents.py), marks the printed pages when the PDF was laid out in the same run or an
earlier one of the same content (pagemap.py), carries the chapters' images, points every
link at its file (xhtml.py), cuts the fonts down to the finished text (fonts.py) and writes
the package (package.py) atomically.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dreambook.errors import BuildError
from dreambook.export.epub.cover import book_cover
from dreambook.export.epub.documents import (
    chapter_documents,
    chapter_file_names,
    contents_sections,
    font_licence,
    front_matter,
    house_sections,
    navigation_document,
    ncx_entries,
    print_edition_name,
)
from dreambook.export.epub.fonts import subset_fonts, without_font_faces
from dreambook.export.epub.package import (
    STYLESHEET,
    Package,
    package_bytes,
    package_date,
)
from dreambook.export.epub.pagemap import cached_page_breaks
from dreambook.export.epub.resources import carry_images, font_files
from dreambook.export.epub.xhtml import (
    DocumentTemplates,
    link_documents,
    page_targets,
    place_page_markers,
)
from dreambook.export.pagelist import PageBreak
from dreambook.export.writer import BuildContext, WriterResult
from dreambook.fontprograms import FontUnreadable, font_problem
from dreambook.fsutil import atomic_output
from dreambook.safe_assets import clean_stylesheet


@dataclass(frozen=True, kw_only=True)
class EpubResult(WriterResult):
    """What an EPUB build wrote: ``files`` holds the one EPUB, :attr:`path`.

    File names are relative to the package document. ``chapter_files`` are in reading
    (spine) order; ``page_markers`` counts the print pages marked in the text (0: no page
    list); ``notes`` counts the footnotes made EPUB notes.
    """

    chapter_files: tuple[str, ...]
    identifier: str
    modified: str
    cover: str | None = None
    fonts: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    notes: int = 0
    page_markers: int = 0

    @property
    def path(self) -> Path:
        """The EPUB file."""
        return self.files[0]


class EpubWriter:
    """The EPUB, with the print edition's page breaks when the PDF is built in the same run."""

    def describe(self, context: BuildContext) -> str:
        """The progress line."""
        return "writing the EPUB"

    def write(self, context: BuildContext, earlier: Mapping[str, WriterResult]) -> EpubResult:
        """Write ``<slug>.epub`` into ``context.output``; return what was written.

        With ``earlier["pdf"]``, its page breaks mark where each printed page begins and
        add a page list; without it, those of the last PDF built from the same content into
        the same folder (pagemap.py), or none, and the result's summary says why. The fonts
        are subset to the finished text (fonts.py). The package is dated with the identity's
        source date (the time of the build when there is none). Raises DreambookError when a
        template does not give
        well-formed XHTML, FileNotFoundError when a template or the stylesheet is missing,
        and OSError when the file cannot be written.
        """
        pdf = earlier.get("pdf")
        book, styles = context.book, context.styles
        page_breaks: tuple[PageBreak, ...] = pdf.page_breaks if pdf is not None else ()
        notes_on_pages: tuple[str, ...] = ()
        if pdf is None:
            page_breaks, why_not = cached_page_breaks(context)
            notes_on_pages = (why_not,) if why_not else ()
        # The book's stylesheet without @imports and url()s that lead out of the book, and
        # then the words it sets as generated content, in the book's language.
        css = clean_stylesheet(styles.read_text(STYLESHEET))[0] + "\n" + book.labels.stylesheet()
        if book.config.embed_fonts:
            fonts = font_files(styles, css)
        else:
            css, fonts = without_font_faces(css), []
        # The author's image, or the front cover set for it: that one is drawn (in a forked
        # process where it may be) while the documents are made, and taken at the end.
        cover = book_cover(context, draw=False)
        drawing = cover is not None and not cover.content
        meanwhile: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        if drawing:
            # Only a book whose cover is set loads the cover's layout (and WeasyPrint).
            from dreambook.export.cover.ebook import drawn_meanwhile

            meanwhile = drawn_meanwhile(context)
        with meanwhile:
            print_edition = print_edition_name(context) if page_breaks else None
            templates = DocumentTemplates(
                styles.environment(),
                language=context.identity.language,
                stylesheet=STYLESHEET,
                book=book,
            )
            licence = font_licence(templates, fonts, book.labels)
            front = front_matter(
                context, templates, cover, bool(fonts), print_edition,
                licence.file_name if licence else None,
            )  # fmt: skip
            files = chapter_file_names(book)
            chapters, notes = chapter_documents(context, templates, files)
            pages = place_page_markers(chapters, page_breaks)
            images = carry_images(chapters, context.manuscript)
            depth = book.config.toc_depth
            # By default the navigation lists each chapter's own sections, the NCX (read by
            # older readers, often as a flat list) the chapters alone.
            standard = house_sections(book)
            sections = {c.slug: contents_sections(c, depth or 2, standard) for c in book.chapters}
            navigation = navigation_document(
                templates, front, cover is not None, chapters, pages, sections, book.labels
            )
            starts = {c.slug: f"{files[c.slug]}#{c.anchor}" for c in book.chapters}
            link_documents((*front.documents, *chapters, navigation), chapters, starts)
            documents = (*front.documents, *chapters)
            extra = (licence,) if licence else ()
            # Cut last, from the finished documents: every character the book sets is known.
            try:
                fonts = subset_fonts(
                    fonts,
                    (*documents, *extra, navigation),
                    css,
                    context.cache_folder / "epub-fonts",
                )
            except FontUnreadable as error:
                raise _unreadable_font(context, str(error)) from error
        if drawing:
            cover = book_cover(context)  # drawn meanwhile: from the cache

        package = Package(
            identity=context.identity,
            documents=documents,
            navigation=navigation,
            stylesheet=css.encode("utf-8"),
            resources=(*fonts, *images),
            cover=cover,
            print_edition=print_edition,
            chapter_files=files,
            nonlinear=extra,
            pages=page_targets(chapters, pages),
            book_map=front.book_map,
            ncx_entries=ncx_entries(book, files, front, depth or 1),
        )
        modified = package_date(context.identity.modified)
        data = package_bytes(book, package, modified)
        destination = context.output / f"{book.slug}.epub"
        with atomic_output(destination) as output:
            output.write(data)
        return EpubResult(
            files=(destination,),
            chapter_files=tuple(d.file_name for d in chapters),
            identifier=context.identity.urn,
            modified=modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
            cover=cover.file_name if cover else None,
            fonts=tuple(r.file_name for r in fonts if r.media_type.startswith("font/")),
            images=tuple(r.file_name for r in images),
            notes=notes,
            page_markers=len(pages),
            summaries=notes_on_pages,
        )


def _unreadable_font(context: BuildContext, name: str) -> BuildError:
    """DB068 for the font file ``name`` (``fonts/NAME``) of the styles that the subsetter
    could not read (check refuses such a file in the book's own styles folder first)."""
    try:
        path: Path | None = context.styles.path(name)
    except (OSError, BuildError):
        path = None
    problem = "it is not a TrueType or OpenType font, or it is damaged"
    return BuildError([font_problem(path, name, problem)])
