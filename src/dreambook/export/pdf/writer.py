"""The PDF writer: the editions asked for (``BuildContext.variants``), one file each.

This is the only part of the PDF package the pipeline uses (through the format registry in
export/writer.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from dreambook.diagnostics import Diagnostic, Severity
from dreambook.export.pdf.layout import PdfEdition, build_edition
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
        list). The print edition's preflight gives a note (its summary line) and its
        findings as warnings. Raises as ``build_edition``.
        """
        editions = [
            build_edition(context, variant, context.output / pdf_file_name(context.book, variant))
            for variant in map(Variant, context.variants)
        ]
        return WriterResult(
            files=tuple(edition.path for edition in editions),
            pages={edition.path: edition.pages for edition in editions},
            diagnostics=tuple(
                d for edition in editions for d in (*edition.refused, *_preflight_findings(edition))
            ),
            page_breaks=next((e.page_breaks for e in editions if e.page_breaks), ()),
            summaries=tuple(e.preflight.summary() for e in editions if e.preflight is not None),
            layouts={edition.path: _layout_figures(edition) for edition in editions},
        )


def _layout_figures(edition: PdfEdition) -> dict[str, float]:
    """What laying ``edition`` out took, as the build's timings report gives it."""
    return {
        "passes": edition.layout_passes,
        "chunks": edition.chunks,
        "chunks_laid_out": edition.chunks_laid_out,
        "cpu_seconds": round(edition.layout_cpu_seconds, 3),
        "one_layout_cpu_seconds": round(edition.one_layout_cpu_seconds, 3),
        "pages": edition.pages,
    }


def _preflight_findings(edition: PdfEdition) -> tuple[Diagnostic, ...]:
    """The preflight's findings as build warnings, naming the file by its name (the build
    writes into a staging folder first, so the path preflight read is not where it ends)."""
    if edition.preflight is None:
        return ()
    name = Path(edition.path.name)
    return tuple(
        dataclasses.replace(found, severity=Severity.WARNING, path=name)
        for found in edition.preflight.findings
    )
