"""Calls into WeasyPrint (Pango, fontconfig) and PDFium hold dreambook.native.NATIVE: a
catalogue lays out and draws its books' covers on several threads of one process, and two
threads inside those libraries at once crashed the process or drew another cover."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from dreambook.export.cover import ebook
from dreambook.export.pdf.variant import EditionTraits
from dreambook.export.pdf.weasy import Typesetter, import_weasyprint, pdf_bytes
from dreambook.native import NATIVE

TRAITS = EditionTraits(suffix="", bleed=False, tagged=False, pdf_variant=None)


def _held_by_another_thread() -> bool:
    """True when a second thread cannot take NATIVE now (the caller holds it)."""
    taken: list[bool] = []

    def attempt() -> None:
        got = NATIVE.acquire(blocking=False)
        if got:
            NATIVE.release()
        taken.append(got)

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    return not taken[0]


def _recording(seen: list[str], name: str, function: Any) -> Any:
    def wrapper(*arguments: Any, **keywords: Any) -> Any:
        if _held_by_another_thread():
            seen.append(name)
        return function(*arguments, **keywords)

    return wrapper


def _one_page_pdf(tmp_path: Path) -> bytes:
    stylesheet = tmp_path / "print.css"
    stylesheet.write_text("body { font-size: 12pt; }", encoding="utf-8")
    typesetter = Typesetter("@page { size: 100pt 120pt; }", stylesheet, [tmp_path])
    document = typesetter.render("<p>Words.</p>", tmp_path.as_uri() + "/", TRAITS)
    return pdf_bytes(document, "0" * 32, TRAITS)


def test_weasyprint_lays_out_and_writes_only_under_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weasyprint = import_weasyprint()
    seen: list[str] = []
    monkeypatch.setattr(
        weasyprint.HTML, "render", _recording(seen, "render", weasyprint.HTML.render)
    )
    monkeypatch.setattr(
        weasyprint.Document,
        "write_pdf",
        _recording(seen, "write_pdf", weasyprint.Document.write_pdf),
    )
    monkeypatch.setattr(weasyprint, "CSS", _recording(seen, "CSS", weasyprint.CSS))
    data = _one_page_pdf(tmp_path)
    assert data.startswith(b"%PDF")
    assert seen.count("render") == 1
    assert seen.count("write_pdf") == 1
    assert seen.count("CSS") >= 2  # the page geometry and the stylesheet, with their fonts


def test_the_ebook_cover_is_drawn_under_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pypdfium2

    pdf = _one_page_pdf(tmp_path)
    seen: list[str] = []
    monkeypatch.setattr(pypdfium2, "PdfDocument", _recording(seen, "open", pypdfium2.PdfDocument))
    picture = ebook._draw(pdf, 120.0)
    assert picture.startswith(b"\xff\xd8")  # a JPEG
    assert seen == ["open"]
