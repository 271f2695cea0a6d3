"""The last build's page map is only a first guess: a rebuild always equals a clean build."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import WriteBook, chapter
from tests.e2e.test_cli import run

pytestmark = pytest.mark.slow

TOML = '[book]\ntitle = "Cached"\nstart = "one"\ndate = 2026-01-01\n'


def _book(write_book: WriteBook, extra: str = "") -> Path:
    paragraph = "Words that fill the page and carry the reader along the line. " * 12
    one = chapter(
        "One",
        f"{extra}{paragraph}\n\n" * 6 + "See [the end of two](two.md#last).\n\n"
        "## Next Stages\n\n- [Two](two.md) — onwards.\n",
    )
    two = chapter("Two", f"{paragraph}\n\n" * 5 + "## Last\n\nBack to [one](one.md).\n")
    return write_book({"one.md": one, "two.md": two}, book_toml=TOML)


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param("A changed sentence. ", id="one sentence"),
        pytest.param("A long new paragraph. " * 150 + "\n\n", id="pages shift"),
    ],
)
def test_a_rebuild_after_an_edit_equals_a_clean_build(
    write_book: WriteBook, tmp_path: Path, edit: str
) -> None:
    root = _book(write_book)
    output = tmp_path / "out"
    assert run("build", root, "-o", output, "--format", "pdf").returncode == 0
    assert (output / ".cache" / "cached.pdf.pages.json").is_file()
    # Edit, rebuild into the same folder (the cache is used), and build afresh elsewhere.
    (root / "one.md").write_text(
        (root / "one.md").read_text("utf-8").replace("Words that", edit + "Words that", 1), "utf-8"
    )
    assert run("build", root, "-o", output, "--format", "pdf").returncode == 0
    clean = tmp_path / "clean"
    assert run("build", root, "-o", clean, "--format", "pdf").returncode == 0
    assert (output / "cached.pdf").read_bytes() == (clean / "cached.pdf").read_bytes()


def test_a_corrupt_cache_is_ignored(write_book: WriteBook, tmp_path: Path) -> None:
    root = _book(write_book)
    output = tmp_path / "out"
    (output / ".cache").mkdir(parents=True)
    (output / ".cache" / "cached.pdf.pages.json").write_text('{"anchor_pages": [', "utf-8")
    assert run("build", root, "-o", output, "--format", "pdf").returncode == 0
    clean = tmp_path / "clean"
    assert run("build", root, "-o", clean, "--format", "pdf").returncode == 0
    assert (output / "cached.pdf").read_bytes() == (clean / "cached.pdf").read_bytes()
