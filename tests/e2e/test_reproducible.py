"""Byte-identical rebuilds: the same manuscript and SOURCE_DATE_EPOCH give the same files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pymupdf
import pytest

from tests.conftest import WriteBook, chapter
from tests.e2e.test_cli import _dreambook_command

TOML = '[book]\ntitle = "Twice"\nstart = "one"\nidentifier = "urn:uuid:0b5e4a55-1d9b-4c39-8a77-0c0d4a2f8f11"\n'


def build(root: Path, output: Path, epoch: str | None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    if epoch is not None:
        environment["SOURCE_DATE_EPOCH"] = epoch
    return subprocess.run(
        [*_dreambook_command(), "build", str(root), "-o", str(output), "--variant", "all",
         "--format", "pdf", "--format", "epub", "--format", "html"],
        capture_output=True, text=True, env=environment, check=False, timeout=300,
    )  # fmt: skip


@pytest.fixture
def manuscript(write_book: WriteBook) -> Path:
    return write_book(
        {
            "one.md": chapter(
                "One", "First.[^1]\n\n## Next Stages\n\n- [Two](two.md) — on.\n\n[^1]: A note.\n"
            ),
            "two.md": chapter("Two", "See [one](one.md).\n"),
        },
        book_toml=TOML,
    )


def test_two_builds_with_the_same_source_date_are_byte_identical(
    manuscript: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for output in (first, second):
        result = build(manuscript, output, "1700000000")
        assert result.returncode == 0, result.stderr
    names = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert names == sorted(
        p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file()
    )
    assert {
        "twice.pdf",
        "twice-print.pdf",
        "twice.epub",
        "twice.html",
        "twice-site/one.html",
    } <= set(names)
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_the_source_date_is_the_pdf_modification_date(manuscript: Path, tmp_path: Path) -> None:
    result = build(manuscript, tmp_path / "out", "1700000000")
    assert result.returncode == 0, result.stderr
    metadata = pymupdf.open(tmp_path / "out" / "twice.pdf").metadata
    assert metadata["modDate"].startswith("D:20231114221320")


def test_without_source_date_or_git_the_build_is_still_reproducible(
    manuscript: Path, tmp_path: Path
) -> None:
    # tmp_path lies outside any git repository, and book.toml has no date: no date at all.
    outputs = [tmp_path / "a", tmp_path / "b"]
    for output in outputs:
        assert build(manuscript, output, None).returncode == 0
    assert (outputs[0] / "twice.pdf").read_bytes() == (outputs[1] / "twice.pdf").read_bytes()
    assert pymupdf.open(outputs[0] / "twice.pdf").metadata["modDate"] == ""
