"""The ``cover`` format: the print cover wrap, ``<slug>-cover.pdf``, beside the interior.

Its spine is measured from the print edition's page count. When the PDF writer laid the
print edition out in the same build, its page count is read from that result; when the
cover is asked for alone, the print edition is laid out here (into a scratch folder, with
the page-number cache of earlier builds) to count its pages.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping
from pathlib import Path

from dreambook.config import BookConfig
from dreambook.diagnostics import Severity
from dreambook.export.cover.geometry import Wrap, spine_carries_text, wrap_for
from dreambook.export.cover.page import cover_pdf
from dreambook.export.pdf.printfile import PrintInk, finish_print_file, read_output_profile
from dreambook.export.pdf.variant import Variant
from dreambook.export.pdf.writer import pdf_file_name
from dreambook.export.writer import BuildContext, WriterResult
from dreambook.fsutil import atomic_output
from dreambook.preflight import preflight


def cover_file_name(slug: str) -> str:
    """``<book-slug>-cover.pdf``."""
    return f"{slug}-cover.pdf"


def interior_pages(context: BuildContext, earlier: Mapping[str, WriterResult]) -> int:
    """The print edition's page count: from the PDF writer's result when it wrote the print
    edition in this build, else from a layout of it made here. Raises as build_edition."""
    printed = context.output / pdf_file_name(context.book, Variant.PRINT)
    result = earlier.get("pdf")
    if result is not None and printed in result.pages:
        return result.pages[printed]
    from dreambook.export.pdf.layout import build_edition

    with tempfile.TemporaryDirectory(prefix="dreambook-cover-") as scratch:
        # The same file name as the real print edition: the layout starts from the page
        # numbers an earlier build of it settled on (folios.py keys them by name).
        edition = build_edition(context, Variant.PRINT, Path(scratch) / printed.name)
        return edition.pages


def spine_note(config: BookConfig, wrap: Wrap) -> str:
    """The build's line about the spine: its width, from what, and whether it is lettered."""
    spine = wrap.spine
    line = f"cover: spine {spine.width / 72:.3f} in ({spine.source})"
    if spine_carries_text(config, spine.pages):
        return line + "; spine lettered"
    minimum = config.spine_text_min_pages
    return (
        line + f"; no spine text: {spine.pages} pages is below {minimum:g}"
        " ([cover] spine_text_min_pages)"
    )


def write_cover(context: BuildContext, pages: int, destination: Path) -> tuple[Wrap, PrintInk]:
    """Lay out the wrap of a ``pages``-page interior and write it to ``destination`` as a
    PDF/X-4 page in ink, its images separated and with crop marks when book.toml asks.

    Raises MissingDependencyError (WeasyPrint or the output profile missing), BuildError
    (an unusable profile, an unreadable back-cover file) and OSError.
    """
    config = context.book.config
    profile, source = read_output_profile(config, context.manuscript, context.styles)
    ink = PrintInk("", profile, source)
    wrap = wrap_for(config, pages)
    with atomic_output(destination) as output:
        output.write(cover_pdf(context, wrap, ink, Variant.PRINT.traits))
    # The interior's finish: images separated into the press's inks, no links, crop marks
    # when asked; no padding (a wrap is one sheet).
    finish_print_file(destination, config, profile, pad=False)
    return wrap, ink


class CoverWriter:
    """Writes the print cover wrap; its result's summaries give the spine and preflight."""

    def describe(self, context: BuildContext) -> str:
        """The progress line."""
        return "setting the cover"

    def write(self, context: BuildContext, earlier: Mapping[str, WriterResult]) -> WriterResult:
        """Write ``<slug>-cover.pdf`` into ``context.output`` and preflight it. Raises as
        ``write_cover`` and ``interior_pages``."""
        config = context.book.config
        destination = context.output / cover_file_name(context.book.slug)
        wrap, _ = write_cover(context, interior_pages(context, earlier), destination)
        report = preflight(destination, config.bleed.points)
        name = Path(destination.name)
        return WriterResult(
            files=(destination,),
            pages={destination: 1},
            diagnostics=tuple(
                dataclasses.replace(found, severity=Severity.WARNING, path=name)
                for found in report.findings
            ),
            summaries=(spine_note(config, wrap), report.summary()),
        )
