"""RenderedBook -> a single-page HTML preview of the whole book, for reading in a browser."""

from __future__ import annotations

from pathlib import Path

from markupsafe import Markup

from dreambook.fsutil import atomic_output
from dreambook.render import RenderedBook
from dreambook.safe_assets import clean_stylesheet
from dreambook.styles import Styles


def build_html_preview(book: RenderedBook, styles: Styles, destination: Path) -> Path:
    """Write the preview page atomically to ``destination`` and return its path.

    The stylesheet is embedded, so the one file can be opened or sent on its own.
    Raises OSError when the file cannot be written.
    """
    template = styles.environment().get_template("preview.html.j2")
    # The stylesheet goes into a <style> element as it is; only "</" could end it early.
    css = clean_stylesheet(styles.read_text("site.css"))[0].replace("</", "<\\/")
    stylesheet = Markup(css)
    page = template.render(book=book, stylesheet=stylesheet)
    with atomic_output(destination) as output:
        output.write(page.encode("utf-8"))
    return destination
