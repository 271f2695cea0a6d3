"""The EPUB writer: the rendered book as one EPUB 3 file, with the print edition's pages.

It reads the stylesheet, fonts and cover (resources.py), renders the documents
(documents.py), marks the printed pages when the PDF was laid out in the same run, carries
the chapters' images, points every link at its file (xhtml.py) and writes the package
(package.py) atomically.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dreambook.export.epub.cover import book_cover
from dreambook.export.epub.documents import (
    chapter_documents,
    chapter_file_names,
    front_matter,
    navigation_document,
    print_edition_name,
)
from dreambook.export.epub.package import (
    STYLESHEET,
    Package,
    package_bytes,
    package_date,
)
from dreambook.export.epub.resources import carry_images, font_files
from dreambook.export.epub.xhtml import DocumentTemplates, link_documents, place_page_markers
from dreambook.export.writer import BuildContext, WriterResult
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
        add a page list. The package is dated with the identity's source date (1980-01-01
        when the build has none). Raises DreambookError when a template does not give
        well-formed XHTML, FileNotFoundError when a template or the stylesheet is missing,
        and OSError when the file cannot be written.
        """
        pdf = earlier.get("pdf")
        page_breaks = pdf.page_breaks if pdf is not None else ()
        book, styles = context.book, context.styles
        # The book's stylesheet without @imports and url()s that lead out of the book.
        stylesheet = clean_stylesheet(styles.read_text(STYLESHEET))[0].encode("utf-8")
        fonts = font_files(styles, stylesheet.decode("utf-8"))
        cover = book_cover(context)  # the author's image, or the front cover set for it
        print_edition = print_edition_name(context) if page_breaks else None
        templates = DocumentTemplates(
            styles.environment(),
            language=context.identity.language,
            stylesheet=STYLESHEET,
            book=book,
        )
        front = front_matter(context, templates, cover, bool(fonts), print_edition)
        files = chapter_file_names(book)
        chapters, notes = chapter_documents(context, templates, files)
        pages = place_page_markers(chapters, page_breaks)
        images = carry_images(chapters, context.manuscript)
        navigation = navigation_document(templates, front, cover is not None, chapters, pages)
        starts = {c.slug: f"{files[c.slug]}#{c.anchor}" for c in book.chapters}
        link_documents((*front.documents, *chapters, navigation), chapters, starts)

        package = Package(
            identity=context.identity,
            documents=(*front.documents, *chapters),
            navigation=navigation,
            stylesheet=stylesheet,
            resources=(*fonts, *images),
            cover=cover,
            print_edition=print_edition,
            chapter_files=files,
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
        )
