"""Unit tests for the benchmark's pure parts: the layout figures it reads from a build's
``--timings-json``, how it judges the targets, and the new book it prepares."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from dreambook import preview
from dreambook.bench import (
    EPUB_CASE,
    EPUB_WARM_CASE,
    HTML_CASE,
    HTML_WARM_CASE,
    NEW_BOOK_CASE,
    ONE_PROCESS_CASE,
    PANDOC_MISSING,
    PANDOC_NEW_BOOK_CASE,
    PREVIEW_CASE,
    CaseResult,
    LayoutFigures,
    _time_case,
    layout_lines,
    pandoc_source,
    parse_layout,
    preview_seconds,
    run_preview_case,
    target_lines,
    write_new_book,
)
from dreambook.diagnostics import Severity
from dreambook.pipeline import check_manuscript

# A report in the schema the PDF writer fills: one digital PDF, laid out cold.
_REPORT = {
    "stages": {"check": 0.2, "render": 0.8, "pdf": 16.0},
    "pages": 405,
    "layout": {
        "book.pdf": {
            "passes": 2,
            "chunks": 21,
            "chunks_laid_out": 25,
            "cpu_seconds": 24.3,
            "one_layout_cpu_seconds": 20.25,
            "pages": 405,
        }
    },
}


def test_layout_figures_are_read_by_file_name() -> None:
    figures = parse_layout(_REPORT)
    assert figures == {"book.pdf": LayoutFigures(2, 21, 25, 24.3, 20.25, 405)}
    assert figures["book.pdf"].layouts == pytest.approx(1.2)
    assert figures["book.pdf"].cpu_per_page == pytest.approx(0.06)


def test_layout_figures_tolerate_a_report_without_them() -> None:
    assert parse_layout({"stages": {}, "pages": 8}) == {}
    assert parse_layout({"layout": None}) == {}
    assert parse_layout({"layout": ["book.pdf"]}) == {}


def test_layout_entries_with_a_missing_or_mistyped_figure_are_left_out() -> None:
    good = dict(_REPORT["layout"]["book.pdf"])  # type: ignore[index]
    report = {
        "layout": {
            "whole seconds.pdf": good | {"cpu_seconds": 24},
            "no passes.pdf": {k: v for k, v in good.items() if k != "passes"},
            "text pages.pdf": good | {"pages": "405"},
            "fractional chunks.pdf": good | {"chunks": 21.0},
            "boolean passes.pdf": good | {"passes": True},
            "not a table.pdf": 3,
        }
    }
    figures = parse_layout(report)
    assert set(figures) == {"whole seconds.pdf"}
    assert figures["whole seconds.pdf"].cpu_seconds == 24.0
    assert isinstance(figures["whole seconds.pdf"].cpu_seconds, float)


def test_zero_figures_give_no_ratio_rather_than_a_division_error() -> None:
    empty = LayoutFigures(0, 0, 0, 0.0, 0.0, 0)
    assert empty.layouts is None
    assert empty.cpu_per_page is None
    assert CaseResult("x", layout={"a.pdf": empty}).layouts is None
    assert CaseResult("x").layouts is None


def test_a_case_reads_the_layout_of_the_build_it_timed(tmp_path: Path) -> None:
    # A stand-in for `dreambook build`: it writes the timings file the bench names last.
    script = "import json,sys; open(sys.argv[-1],'w').write(json.dumps(json.loads(sys.argv[1])))"
    command = [sys.executable, "-c", script, json.dumps(_REPORT), "build"]
    result = _time_case("fake build", 2, command)
    assert len(result.seconds) == 2
    assert result.pages == 405
    assert result.stages["pdf"] == 16.0
    assert result.layout["book.pdf"].passes == 2
    assert result.layouts == pytest.approx(1.2)


def test_layout_lines_give_passes_ratio_and_cpu_per_page() -> None:
    cold = CaseResult("PDF only", [19.0], layout=parse_layout(_REPORT), pdf_bytes=1)
    silent = CaseResult("older build", [5.0], pdf_bytes=1)
    text = "\n".join(layout_lines([cold, silent, CaseResult("EPUB only", [1.0])]))
    assert (
        "PDF only: book.pdf: 2 passes, 25 chunk layouts of 21 chunks, 24.30 CPU s = "
        "1.20 x one layout (20.25 s), 60.0 ms/page over 405 pages"
    ) in text
    assert "older build: the build reported no layout figures" in text
    assert "EPUB only" not in text
    assert layout_lines([CaseResult("check", [0.2])]) == []


def _case(name: str, *seconds: float, peak: float = 100.0, pages: int | None = None) -> CaseResult:
    return CaseResult(name, list(seconds), peak_rss_mb=peak, pages=pages)


def _made_up_results() -> dict[int, list[CaseResult]]:
    cold = _case("PDF only", 6.0, 7.0, 8.0)
    cold.layout = {"book.pdf": LayoutFigures(1, 21, 22, 26.0, 20.0, 405)}
    cold.pdf_bytes = 1_100
    alone = _case(ONE_PROCESS_CASE, 30.0, peak=800.0)
    alone.pdf_bytes = 1_000
    one = [
        cold,
        alone,
        _case("pandoc -> WeasyPrint PDF", 10.0),
        _case("cold full build (PDF + EPUB + HTML)", 10.0),
        _case("rebuild after a one-sentence edit", 3.0),
        _case(EPUB_CASE, 1.2),
        _case(EPUB_WARM_CASE, 0.6),
        _case(HTML_CASE, 0.9, 1.0, 1.1),
        _case(HTML_WARM_CASE, 0.4),
        _case("pandoc -> EPUB", 2.0, peak=900.0),
        _case(NEW_BOOK_CASE, 1.5, pages=8),
        _case(PANDOC_NEW_BOOK_CASE, 1.0),
        _case(PREVIEW_CASE, 1.9, 2.5, 2.1),
        _case("check (2,000-chapter graph)", 0.45),
        _case("order (2,000-chapter graph)", 0.6),
    ]
    four = [_case("PDF only", 35.0, peak=410.0), _case(EPUB_CASE, 4.0)]
    return {1: one, 4: four}


def test_every_target_is_judged_from_the_medians() -> None:
    lines = target_lines(_made_up_results(), 4, 2000)
    text = "\n".join(lines)
    expected = [
        "issue 18:",
        "  cold PDF / pandoc -> WeasyPrint: 0.70 (target <= 0.75) met",
        "  cold PDF layout CPU / one layout of the book: 1.30 (target <= 1.2) NOT met",
        "  EPUB only, cold / pandoc -> EPUB: 0.60 (target <= 0.5) NOT met; "
        "earlier target <= 0.7 met",
        "  EPUB only, warm / pandoc -> EPUB: 0.30 (target <= 0.5) met; earlier target <= 0.7 met",
        "  HTML only, cold / pandoc -> EPUB: 0.50 (target <= 0.5) met; earlier target <= 0.7 met",
        "  HTML only, warm / pandoc -> EPUB: 0.20 (target <= 0.5) met; earlier target <= 0.7 met",
        "  new book (dreambook init, 8 pages) cold PDF / pandoc -> WeasyPrint: 1.50 "
        "(target <= 1.3) NOT met",
        "  preview: spreads after a save (sample book): 2.10 s (target <= 2.0 s) NOT met",
        "  check on 2,000 chapters: 0.45 s (target <= 0.5 s) met",
        "  order on 2,000 chapters: 0.60 s (target <= 0.5 s) NOT met",
        "earlier targets:",
        "  one-sentence rebuild / cold full build: 0.30 (target <= 0.25) NOT met",
        "  PDF only at 4x the book / at 1x: 5.00 (target <= 4.4) NOT met",
        "  EPUB only at 4x the book / at 1x: 3.33 (target <= 4.4) met",
        # pandoc's own memory is not dreambook's, nor is the one-process reference's.
        "  peak memory of any one process: 410.00 MB (target <= 400 MB) NOT met",
        "  PDF size, parallel / one process: 1.10 (target <= 1.15) met",
    ]
    assert lines == expected, text


def test_targets_without_their_cases_say_why() -> None:
    results = _made_up_results()
    kept = [r for r in results[1] if not r.name.startswith("pandoc") and r.name != PREVIEW_CASE]
    for result in kept:
        result.layout = {}
    skipped = {"pandoc": PANDOC_MISSING, "preview": "no time_save"}
    text = "\n".join(target_lines({1: kept}, 1, 2000, skipped))
    assert f"cold PDF / pandoc -> WeasyPrint: not measured ({PANDOC_MISSING})" in text
    assert f"EPUB only, warm / pandoc -> EPUB: not measured ({PANDOC_MISSING})" in text
    assert (
        "cold PDF layout CPU / one layout of the book: not measured "
        "(the build reported no layout figures)"
    ) in text
    assert "preview: spreads after a save (sample book): not measured (no time_save)" in text
    assert "PDF only at 1x the book / at 1x: not measured in this run" in text
    assert "pandoc is not installed" in PANDOC_MISSING


def test_the_new_book_is_the_one_init_writes_and_the_same_every_time(tmp_path: Path) -> None:
    first = write_new_book(tmp_path / "a")
    second = write_new_book(tmp_path / "b")
    for name in ("book.toml", "opening.md"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    assert (first / "styles").is_dir()
    checked = check_manuscript(first)
    assert not [d for d in checked.diagnostics if d.severity is Severity.ERROR]
    assert checked.reading_order.slugs == ("opening",)
    # pandoc gets the same chapter: its title as the heading, no front matter.
    source = pandoc_source(first)
    assert source.startswith("# The Opening\n\n")
    assert "title:" not in source
    assert "## Quick Answer" in source
    assert "## FAQ" in source


def test_preview_case_is_skipped_without_time_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(preview, "time_save", raising=False)
    said = run_preview_case(tmp_path, tmp_path, 1)
    assert said == "dreambook.preview has no time_save(): the preview case is skipped"


def test_preview_case_is_skipped_when_time_save_wants_more_than_book_and_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def time_save(book: Path, output: Path, spreads: Path) -> float:
        return 1.0

    monkeypatch.setattr(preview, "time_save", time_save, raising=False)
    said = run_preview_case(tmp_path, tmp_path, 1)
    assert isinstance(said, str)
    assert "takes neither the book's folder nor it and a work folder" in said
    monkeypatch.setattr(preview, "time_save", lambda book: 1.0, raising=False)
    said = run_preview_case(None, tmp_path, 1)
    assert isinstance(said, str)
    assert "no sample book" in said


def test_preview_figures_are_seconds_or_a_dict_with_the_spreads() -> None:
    assert preview_seconds(1.5) == (1.5, {})
    assert preview_seconds(2) == (2.0, {})
    said = {"html": 0.4, "spreads": 1.8, "chunk layouts": 1, "note": "x", "ok": True}
    assert preview_seconds(said) == (1.8, {"html": 0.4, "chunk layouts": 1.0})
    for wrong in ({"html": 0.4}, "1.5", None, True):
        with pytest.raises(ValueError, match="not seconds"):
            preview_seconds(wrong)
