"""The benchmark must keep working: run it on a tiny generated book (it measures, never asserts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreambook.bench import main, write_synthetic_manuscript
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


def test_benchmark_runs_every_case_on_a_tiny_book_and_writes_json(tmp_path: Path) -> None:
    status = main(
        [
            "--chapters", "3", "--words", "900", "--runs", "1", "--scale", "1",
            "--graph-chapters", "12", "-o", str(tmp_path),
        ]
    )  # fmt: skip
    assert status == 0
    report = json.loads((tmp_path / "bench.json").read_text("utf-8"))
    cases = {case["name"]: case for case in report["1x"]}
    assert {
        "check",
        "check (12-chapter graph)",
        "HTML only",
        "EPUB only",
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
    assert "pdf" in cases["PDF only"]["stages"]
