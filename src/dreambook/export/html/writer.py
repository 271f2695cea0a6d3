"""The HTML edition's writer: the one-page preview and the reading site, side by side."""

from __future__ import annotations

from collections.abc import Mapping

from dreambook.export.html.preview import build_html_preview
from dreambook.export.html.site import build_site
from dreambook.export.writer import BuildContext, WriterResult


class HtmlWriter:
    """The HTML edition: ``<slug>.html`` (the preview) and the folder ``<slug>-site``."""

    def describe(self, context: BuildContext) -> str:
        """The progress line."""
        return "writing the HTML edition and preview"

    def write(self, context: BuildContext, earlier: Mapping[str, WriterResult]) -> WriterResult:
        """Write the preview page and the site into ``context.output``; return both.

        Raises FileNotFoundError when a template or the stylesheet is missing and OSError
        when the output cannot be written (a previous site is then kept).
        """
        book = context.book
        # The cover as the site's social-preview picture (Open Graph's og:image): a cover
        # dreambook sets is drawn (by a forked process where it may be) while the pages are
        # written, and the site takes the picture last.
        from dreambook.export.cover.ebook import cover_picture_later, drawn_meanwhile

        with drawn_meanwhile(context) as wait:
            preview = build_html_preview(book, context.styles, context.output / f"{book.slug}.html")
            site = build_site(
                book,
                context.styles,
                context.manuscript,
                context.output / f"{book.slug}-site",
                context.trees,
                cover_picture_later(context, wait),
            )
        return WriterResult(files=(preview, site.folder))
