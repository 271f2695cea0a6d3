"""Finding 2 of the hostile-books issue: stylesheets and SVG images copied into outputs.

A book's own CSS went into the EPUB and the site as written (``@import url(http://…)``,
``url(file:///…)``), and its SVG images with their ``<script>``, ``onload=`` and
``<image href="file:///etc/passwd">``. Now ``check`` reports each (DB065, DB066, at the
file and line) and no output carries them; the PDF layout never asks for them either.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from dreambook.styles import default_styles_folder
from tests.conftest import MINIMAL_TOML, WriteBook, chapter
from tests.e2e.test_cli import run
from tests.e2e.test_confinement import MARKER, found, leaked, outside_file
from tests.e2e.test_hostile import assert_clean_failure, build

BOOK = "a-small-book"
HOUSE_TOML = MINIMAL_TOML + 'styles = "house"\n'
# Port 9 (discard) on the loopback: nothing listens, and no build may try it.
REMOTE = "http://127.0.0.1:9/house-style.css"


def _house_book(write_book: WriteBook, tmp_path: Path) -> tuple[Path, Path]:
    """A book whose own print.css, epub.css and site.css start with a remote @import and
    end with a rule that reads a file outside the book."""
    secret = outside_file(tmp_path, "secret.png")
    root = write_book({"one.md": chapter("One")}, book_toml=HOUSE_TOML)
    house = root / "house"
    house.mkdir()
    for name in ("print.css", "epub.css", "site.css"):
        own = (default_styles_folder() / name).read_text(encoding="utf-8")
        hostile = (
            f'@import url("{REMOTE}");\n{own}\nbody {{ background: url({secret.as_uri()}); }}\n'
        )
        (house / name).write_text(hostile, encoding="utf-8")
    return root, secret


def _last_line(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_a_book_stylesheets_remote_import_and_file_url_are_reported_and_left_out(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root, secret = _house_book(write_book, tmp_path)
    checked = run("check", root)
    assert checked.returncode == 0, checked.stderr
    expected = set()
    for name in ("print.css", "epub.css", "site.css"):
        sheet = root / "house" / name
        expected |= {
            (f"house/{name}", 1, "DB065", "warning"),
            (f"house/{name}", _last_line(sheet), "DB065", "warning"),
        }
    assert found(checked.stderr, root) == expected, checked.stderr
    assert REMOTE in checked.stderr

    output = tmp_path / "out"
    result = build(root, output, "pdf", "epub", "html")
    assert result.returncode == 0, result.stderr
    # The layout never asked for either: nothing was refused, because nothing was fetched.
    assert "DB061" not in result.stderr
    with zipfile.ZipFile(output / f"{BOOK}.epub") as epub:
        sheets = [n for n in epub.namelist() if n.endswith(".css")]
        assert sheets
        css = "".join(epub.read(n).decode("utf-8") for n in sheets)
    site_css = (output / f"{BOOK}-site" / "site.css").read_text(encoding="utf-8")
    preview = (output / f"{BOOK}.html").read_text(encoding="utf-8")
    for text in (css, site_css, preview):
        assert "127.0.0.1" not in text
        assert "file://" not in text
        assert secret.name not in text
        # The rest of the house style is still there.
        assert "Vollkorn" in text
    assert leaked(output) == []


HOSTILE_SVG = f"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="120" height="60" viewBox="0 0 120 60" onload="alert('svg')">
  <script>alert('script')</script>
  <rect x="0" y="0" width="120" height="60" fill="#2a6f97"/>
  <image href="{{secret}}" width="10" height="10"/>
  <image xlink:href="http://127.0.0.1:9/tracker.png" width="10" height="10"/>
  <foreignObject width="100" height="20"><p xmlns="http://www.w3.org/1999/xhtml">{MARKER}</p></foreignObject>
  <a href="javascript:alert('link')"><circle cx="60" cy="30" r="20" fill="#f4d35e"/></a>
  <text x="10" y="50">Drawn</text>
</svg>
"""


@pytest.fixture
def svg_book(write_book: WriteBook, tmp_path: Path) -> Path:
    secret = outside_file(tmp_path, "passwd")
    body = "Before the drawing.\n\n![A drawing](drawing.svg)\n\nAfter the drawing.\n"
    return write_book(
        {
            "one.md": chapter("One", body),
            "drawing.svg": HOSTILE_SVG.replace("{secret}", secret.as_uri()),
        }
    )


def test_an_svg_images_script_handlers_and_outside_references_are_reported_at_their_lines(
    svg_book: Path,
) -> None:
    checked = run("check", svg_book)
    assert checked.returncode == 0, checked.stderr
    assert found(checked.stderr, svg_book) == {
        ("drawing.svg", 3, "DB066", "warning"),  # onload=
        ("drawing.svg", 4, "DB066", "warning"),  # <script>
        ("drawing.svg", 6, "DB066", "warning"),  # <image href="file:…">
        ("drawing.svg", 7, "DB066", "warning"),  # <image xlink:href="http:…">
        ("drawing.svg", 8, "DB066", "warning"),  # <foreignObject>
        ("drawing.svg", 9, "DB066", "warning"),  # javascript: link
    }, checked.stderr


def test_no_output_carries_an_svg_images_script_or_outside_references(
    svg_book: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    result = build(svg_book, output, "pdf", "epub", "html")
    assert result.returncode == 0, result.stderr
    assert "DB061" not in result.stderr  # the layout was given the cleaned drawing
    with zipfile.ZipFile(output / f"{BOOK}.epub") as epub:
        drawings = [epub.read(n) for n in epub.namelist() if n.endswith(".svg")]
    site_drawing = (output / f"{BOOK}-site" / "drawing.svg").read_bytes()
    for drawing in [*drawings, site_drawing]:
        for active in (
            b"<script",
            b"onload",
            b"foreignObject",
            b"file:",
            b"javascript:",
            b"127.0.0.1",
        ):
            assert active not in drawing, (active, drawing)
        # The drawing itself is kept.
        assert b"<rect" in drawing
        assert b"Drawn" in drawing
    assert len(drawings) == 1
    assert leaked(output) == []


def test_a_file_named_svg_that_is_no_svg_is_refused_at_check(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter("One", "Text.\n\n![A drawing](drawing.svg)\n"),
            "drawing.svg": "<svg xmlns='http://www.w3.org/2000/svg'><rect></svg>",
        }
    )
    checked = run("check", root)
    assert checked.returncode == 1
    assert_clean_failure(checked)
    assert found(checked.stderr, root) == {("one.md", 7, "DB063", "error")}, checked.stderr
    assert "not well-formed" in checked.stderr


def test_a_resource_the_pdf_layout_refuses_is_reported_at_the_line_that_asks_for_it(
    write_book: WriteBook, tmp_path: Path
) -> None:
    """Trusted raw HTML can still ask the layout for a file outside the book in a style
    attribute: the DB061 warning names the chapter and its line, not just the address."""
    secret = outside_file(tmp_path, "backdrop.png")
    body = f'First line.\n\n<p style="background: url({secret.as_uri()})">Styled.</p>\n'
    root = write_book({"one.md": chapter("One", body)})
    output = tmp_path / "out"
    result = build(root, output, "pdf", trust_html=True)
    assert result.returncode == 0, result.stderr
    assert found(result.stderr, root) == {("one.md", 7, "DB061", "warning")}, result.stderr
    assert leaked(output) == []
    shutil.rmtree(output)
