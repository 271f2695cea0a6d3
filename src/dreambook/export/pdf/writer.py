"""The PDF writer: the editions asked for (``BuildContext.variants``), one file each.

This is the only part of the PDF package the pipeline uses (through the format registry in
export/writer.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from dreambook.export.pdf.layout import build_edition
from dreambook.export.pdf.variant import Variant
from dreambook.export.writer import BuildContext, WriterResult

if TYPE_CHECKING:
    from dreambook.render import RenderedBook


def pdf_file_name(book: RenderedBook, variant: Variant) -> str:
    """``<book-slug>.pdf`` for the digital edition, ``<book-slug>-print.pdf`` for print."""
    return f"{book.slug}{variant.traits.suffix}.pdf"


class PdfWriter:
    """Lays out and writes each PDF edition; hands the EPUB the print page breaks."""

    def describe(self, context: BuildContext) -> str:
        """The progress line: "laying out the PDF (digital, print)"."""
        return f"laying out the PDF ({', '.join(context.variants)})"

    def write(self, context: BuildContext, earlier: Mapping[str, WriterResult]) -> WriterResult:
        """Write every edition of ``context.variants`` into ``context.output``.

        The result's page breaks are the first edition's that has any (the EPUB's page
        list). Raises as ``build_edition``.
        """
        editions = [
            build_edition(context, variant, context.output / pdf_file_name(context.book, variant))
            for variant in map(Variant, context.variants)
        ]
        return WriterResult(
            files=tuple(edition.path for edition in editions),
            pages={edition.path: edition.pages for edition in editions},
            diagnostics=tuple(d for edition in editions for d in edition.refused),
            page_breaks=next((e.page_breaks for e in editions if e.page_breaks), ()),
        )
