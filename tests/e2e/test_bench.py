"""The benchmark must keep working: run it on a tiny generated book (it measures, never asserts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreambook.bench import (
    NEW_BOOK_CASE,
    ONE_PROCESS_CASE,
    main,
    write_synthetic_manuscript,
)
from dreambook.pipeline import check_manuscript

pytestmark = pytest.mark.slow


def test_synthetic_manuscript_is_deterministic_and_checks_clean(tmp_path: Path) -> None:
    first = write_synthetic_manuscript(tmp_path / "a", chapters=6, words=3000, seed=7)
    second = write_synthetic_manuscript(tmp_path / "b", chapters=6, words=3000, seed=7)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes()
    checked = check_manuscript(first)
    assert checked.diagnostics == ()
    assert len(checked.reading_order.slugs) == 6
    text = "".join((first / n).read_text("utf-8") for n in names if n.endswith(".md"))
    assert "[^" in text  # footnotes
    assert "| Sign | Meaning |" in text  # a table
    assert "#quick-answer" in text  # cross-references to sections
    words = sum(len((first / n).read_text("utf-8").split()) for n in names if n.endswith(".md"))
    assert 2400 < words < 4500


def test_benchmark_runs_every_case_on_a_tiny_book_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "--chapters", "3", "--words", "900", "--runs", "1", "--scale", "1",
            "--graph-chapters", "12", "--catalogue-books", "2", "--catalogue-max-pages", "20",
            "--no-preview", "-o", str(tmp_path),
        ]
    )  # fmt: skip
    assert status == 0
    report = json.loads((tmp_path / "bench.json").read_text("utf-8"))
    cases = {case["name"]: case for case in report["1x"]}
    assert {
        "check",
        "check (12-chapter graph)",
        "order (12-chapter graph)",
        ONE_PROCESS_CASE,
        "HTML only",
        "HTML only, warm",
        "EPUB only",
        "EPUB only, warm",
        NEW_BOOK_CASE,
        "PDF only",
        "cold full build (PDF + EPUB + HTML)",
        "rebuild after a one-sentence edit",
        "rebuild after adding a paragraph",
    } <= set(cases)
    for case in cases.values():
        assert len(case["seconds"]) == 1
        assert case["seconds"][0] > 0
        assert case["peak_rss_mb"] > 0
    assert cases["PDF only"]["pages"] > 3
    assert cases["PDF only"]["pdf_bytes"] > 10_000
    assert cases[ONE_PROCESS_CASE]["pdf_bytes"] > 10_000
    # The parallel build's memory, its own process and its largest layout worker apart.
    assert cases["PDF only"]["peak_by_process"]["dreambook"] > 20
    assert cases["PDF only"]["peak_by_process"]["largest child"] > 20
    printed = capsys.readouterr().out
    targets = printed.split("== against the targets")[1]
    assert "time per stage (s):" in printed
    assert "  PDF only: check " in printed
    # Every target has its line; what this run could not measure says so.
    for label in (
        "cold PDF / pandoc -> WeasyPrint",
        "one-sentence rebuild / cold full build: ",
        "check on 12 chapters: ",
        "order on 12 chapters: ",
        "PDF only at 1x the book / at 1x: not measured",
        "peak memory of any one process: ",
        "PDF size, parallel / one process: ",
    ):
        assert label in targets, label
    assert "pdf" in cases["PDF only"]["stages"]
    # The catalogue case: two books, built one by one and as a catalogue on a LocalCluster.
    catalogue = report["catalogue"]
    assert catalogue["books"] == 2
    assert catalogue["pages"] >= 2 * 20
    assert set(catalogue["wall"]) == {
        "build, one book after another",
        "catalogue --scheduler local",
    }
    assert all(seconds > 0 for seconds in catalogue["cpu"].values())
    assert "catalogue of 2 books" in printed
    assert "1,000 titles of " in printed
