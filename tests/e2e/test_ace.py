"""Accessibility: Ace by DAISY, the checker retailers and libraries use, on the sample EPUB.

Ace runs in Node.js with a headless Chromium. ``nox -s ace`` installs the pinned Ace from
tests/ace/package.json; Chromium comes from the system (Debian: ``apt-get install
chromium``). Without either, this test is skipped and says which is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import MINIMAL_TOML, REPO, SAMPLE_MANUSCRIPT, WriteBook
from tests.e2e.test_cli import run

pytestmark = pytest.mark.slow

ACE = REPO / "tests" / "ace" / "node_modules" / ".bin" / "ace-cli"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _violations(report: dict[str, object]) -> list[tuple[str, str, str]]:
    """(impact, rule, where) for every failed assertion in an Ace report."""
    found = []
    for document in report.get("assertions", []):  # type: ignore[union-attr]
        subject = document.get("earl:testSubject", {}).get("url", "?")
        for assertion in document.get("assertions", []):
            if assertion["earl:result"]["earl:outcome"] == "fail":
                test = assertion["earl:test"]
                found.append((test["earl:impact"], test["dct:title"], subject))
    return found


def _ace_problems(epub: Path, reports: Path) -> list[tuple[str, str, str]]:
    """Run Ace on ``epub``; return its serious and critical violations.

    Skips the test when Node.js, Ace or Chromium is missing, saying which.
    """
    if not shutil.which("node"):
        pytest.skip("Node.js is not installed; Ace by DAISY needs it (nox -s ace)")
    if not ACE.exists():
        pytest.skip("Ace by DAISY is not installed; run 'nox -s ace' to install and run it")
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed; Ace needs it (Debian: apt-get install chromium)")
    environment = {**os.environ, "PUPPETEER_EXECUTABLE_PATH": chromium}
    completed = subprocess.run(
        [str(ACE), "--silent", "--force", "--outdir", str(reports), str(epub)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )
    report_file = reports / "report.json"
    assert report_file.exists(), completed.stdout + completed.stderr
    report = json.loads(report_file.read_text(encoding="utf-8"))
    severe = [v for v in _violations(report) if v[0] in {"serious", "critical"}]
    assert completed.returncode == 0 or severe, completed.stdout + completed.stderr
    return severe


def test_ace_reports_no_serious_or_critical_violation_on_the_sample_book(
    tmp_path: Path,
) -> None:
    built = run("build", SAMPLE_MANUSCRIPT, "-o", tmp_path, "--format", "pdf", "--format", "epub")
    assert built.returncode == 0, built.stderr
    (epub,) = tmp_path.glob("*.epub")
    assert _ace_problems(epub, tmp_path / "ace") == []


@pytest.mark.parametrize(
    ("change", "extra"),
    [
        # A book whose book.toml names no author (check warns, DB090).
        pytest.param(('author = "Test Author"\n', ""), "", id="no author"),
        # A book with a cover image and a map of the book.
        pytest.param(
            ('start = "one"', 'start = "one"\nmap = true'),
            '\n[epub]\ncover = "images/cover.png"\n',
            id="cover and map",
        ),
    ],
)
def test_ace_reports_no_serious_or_critical_violation_on_small_books(
    write_book: WriteBook, tmp_path: Path, change: tuple[str, str], extra: str
) -> None:
    from tests.e2e.test_epub import png_bytes, two_chapter_files

    toml = MINIMAL_TOML.replace(*change) + extra
    manuscript = write_book(two_chapter_files(**{"images/cover.png": png_bytes()}), toml)
    output = tmp_path / "out"
    built = run("build", manuscript, "-o", output, "--format", "epub")
    assert built.returncode == 0, built.stderr
    (epub,) = output.glob("*.epub")
    assert _ace_problems(epub, tmp_path / "ace") == []
