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


def test_titles_typeset_on_several_threads_at_once_come_out_as_on_one() -> None:
    """A catalogue renders several books on threads of one process; the Markdown instance
    that typesets titles keeps the state of the text it converts."""
    import sys

    from dreambook.render import _typeset_with_markdown

    texts = [f'*Book {book}* -- "chapter {n}" ... end' for book in range(4) for n in range(150)]
    alone = {text: str(_typeset_with_markdown(text)) for text in texts}
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    found: dict[str, str] = {}
    try:
        threads = [
            threading.Thread(
                target=lambda part=part: found.update(
                    (text, str(_typeset_with_markdown(text))) for text in part
                )
            )
            for part in (texts[i::4] for i in range(4))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert found == alone


def test_a_chunk_is_laid_out_under_the_lock_from_start_to_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Dask worker may run several chunk tasks on threads of one process: the typesetters
    and their record of the files each chunk read are the process's own."""
    from dreambook.export.pdf import chunks

    monkeypatch.setattr(chunks, "_lay_out_chunk", lambda job, files: _held_by_another_thread())
    assert chunks.lay_out_chunk(None) is True  # type: ignore[arg-type]
