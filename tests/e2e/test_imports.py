"""A build imports only what its formats need: EPUB and HTML never load the PDF stack, and
`check` loads no renderer. Each case runs in a fresh interpreter, so nothing is imported by
another test first."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_MANUSCRIPT

PDF_STACK = [
    "weasyprint",
    "pikepdf",
    "fontTools",
    "dreambook.export.pdf.writer",
    "dreambook.export.pdf.layout",
    "dreambook.export.pdf.chunks",
    "dreambook.export.pdf.weasy",
]
RENDERERS = ["markdown", "jinja2", "lxml", "ebooklib", "dreambook.render"]

_SCRIPT = """
import json, sys
from pathlib import Path
from dreambook.cli import main
status = main(sys.argv[2:])
print(json.dumps({"status": status, "loaded": [m for m in json.loads(sys.argv[1]) if m in sys.modules]}))
"""


def _loaded(modules: list[str], *arguments: str | Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(modules), *map(str, arguments)],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["status"] == 0, result.stderr
    return list(report["loaded"])


def _with_cover_image(folder: Path) -> Path:
    """A copy of the sample book that has a cover image of its own ([epub] cover)."""
    from PIL import Image

    manuscript = folder / "manuscript"
    shutil.copytree(SAMPLE_MANUSCRIPT, manuscript)
    Image.new("RGB", (1600, 2560), (20, 30, 60)).save(manuscript / "cover.png")
    with (manuscript / "book.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[epub]\ncover = "cover.png"\n')
    return manuscript


@pytest.mark.parametrize("output_format", ["epub", "html"])
def test_an_epub_or_html_build_never_loads_the_pdf_stack(
    tmp_path: Path, output_format: str
) -> None:
    manuscript = _with_cover_image(tmp_path)
    output = tmp_path / "out"
    # The EPUB subsets its fonts with fontTools; nothing else of the PDF stack.
    stack = [m for m in PDF_STACK if not (output_format == "epub" and m == "fontTools")]
    loaded = _loaded(stack, "build", manuscript, "-o", output, "--format", output_format, "-q")
    assert loaded == []
    assert list(output.iterdir())  # it did build


@pytest.mark.parametrize("output_format", ["epub", "html"])
def test_a_cover_set_for_the_book_loads_the_layout_engine_only_until_it_is_cached(
    tmp_path: Path, output_format: str
) -> None:
    """Without a cover image, the front cover is laid out with WeasyPrint (never pikepdf),
    once: the next build takes the picture from the cache. It is drawn by a forked process
    while the EPUB's documents or the site's pages are made (where the command may fork: it
    may here), so the command itself loads no WeasyPrint at all."""
    arguments = ("build", SAMPLE_MANUSCRIPT, "-o", tmp_path, "--format", output_format, "-q")
    stack = [m for m in PDF_STACK if not (output_format == "epub" and m == "fontTools")]
    first = _loaded(stack, *arguments)
    assert list((tmp_path / ".cache" / "cover").glob("*.jpg"))
    from dreambook.workers import usable_cpus

    # One CPU: no child is forked to draw it, the command draws it itself.
    assert ("weasyprint" in first) == (usable_cpus() < 2)
    assert "pikepdf" not in first
    assert "dreambook.export.pdf.layout" not in first
    assert _loaded(stack, *arguments) == []


@pytest.mark.parametrize("command", ["check", "order"])
def test_check_and_order_load_no_renderer(command: str) -> None:
    assert _loaded([*PDF_STACK, *RENDERERS], command, SAMPLE_MANUSCRIPT) == []


@pytest.mark.parametrize("command", ["check", "order"])
def test_check_of_a_book_in_plain_markdown_loads_no_markdown_parser_nor_asyncio(
    tmp_path: Path, command: str
) -> None:
    """The benchmark's chapters are plain Markdown: check reads them without markdown-it
    (manuscript/index.py, the quick path), and nothing it does needs asyncio."""
    from dreambook.bench import write_synthetic_manuscript

    book = write_synthetic_manuscript(tmp_path / "book", chapters=30, words=3_000, seed=2)
    assert _loaded(["markdown_it", "asyncio", *RENDERERS], command, book) == []
    # The probe does see markdown-it when a chapter needs it.
    (book / "chapter-0002.md").write_text("---\ntitle: Chapter 2\n---\n\n> A quote.\n", "utf-8")
    assert "markdown_it" in _loaded(["markdown_it"], command, book)


def test_the_probe_sees_what_a_pdf_build_loads(tmp_path: Path) -> None:
    """The same probe on a PDF build finds the PDF stack: the tests above could fail."""
    loaded = _loaded(PDF_STACK, "build", SAMPLE_MANUSCRIPT, "-o", tmp_path, "--format", "pdf", "-q")
    assert "dreambook.export.pdf.writer" in loaded
