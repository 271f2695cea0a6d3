"""Output permissions follow the umask: every file and folder a build writes, the HTML site's
included, gets ``0666 & ~umask`` / ``0777 & ~umask``, however it was written."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import WriteBook, chapter
from tests.e2e.test_cli import _dreambook_command

pytestmark = pytest.mark.slow


def build_under_umask(manuscript: Path, output: Path, umask: int) -> None:
    """Run ``dreambook build`` (PDF, EPUB, HTML) in a process whose umask is ``umask``."""
    completed = subprocess.run(
        [*_dreambook_command(), "build", str(manuscript), "--output", str(output),
         "--format", "pdf", "--format", "epub", "--format", "html", "--jobs", "1"],
        capture_output=True, text=True, check=False, timeout=300,
        preexec_fn=lambda: os.umask(umask),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr


def modes_under(folder: Path) -> dict[str, tuple[str, int]]:
    """Each path under ``folder`` (relative) -> ("file" or "folder", its permission bits)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        kind = "folder" if path.is_dir() else "file"
        found[str(path.relative_to(folder))] = (kind, stat.S_IMODE(path.lstat().st_mode))
    return found


@pytest.mark.parametrize(
    ("umask", "file_mode", "folder_mode"), [(0o077, 0o600, 0o700), (0o022, 0o644, 0o755)]
)
def test_every_output_file_and_folder_has_the_modes_the_umask_gives(
    write_book: WriteBook, tmp_path: Path, umask: int, file_mode: int, folder_mode: int
) -> None:
    root = write_book(
        {
            "one.md": chapter(
                "One",
                "Words.\n\n![A dot](img/dot.png)\n\n## Next Stages\n\n- [Two](two.md) — on.\n",
            ),
            "two.md": chapter("Two", "More words.\n"),
        }
    )
    (root / "img").mkdir()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(root / "img" / "dot.png")
    output = tmp_path / "out"
    build_under_umask(root, output, umask)
    found = modes_under(output)
    sites = [
        name for name, (kind, _) in found.items() if kind == "folder" and name.endswith("-site")
    ]
    assert sites, found  # the HTML site was written
    site = sites[0]
    assert f"{site}/fonts" in found, found
    assert f"{site}/img/dot.png" in found, found
    assert any(name.endswith(".pdf") for name in found), found
    assert any(name.endswith(".epub") for name in found), found
    expected = {
        name: (kind, folder_mode if kind == "folder" else file_mode)
        for name, (kind, _) in found.items()
    }
    wrong = {
        name: oct(mode) for name, (kind, mode) in found.items() if (kind, mode) != expected[name]
    }
    assert not wrong, wrong


@pytest.mark.parametrize(
    ("umask", "file_mode", "folder_mode"), [(0o077, 0o600, 0o700), (0o022, 0o644, 0o755)]
)
def test_a_new_books_files_and_styles_have_the_modes_the_umask_gives(
    tmp_path: Path, umask: int, file_mode: int, folder_mode: int
) -> None:
    """`dreambook init` copies dreambook's styles: the copy gets the author's umask, not the
    modes of the installed package's files."""
    folder = tmp_path / "new-book"
    completed = subprocess.run(
        [*_dreambook_command(), "init", str(folder), "--title", "Modes"],
        capture_output=True, text=True, check=False, timeout=120,
        preexec_fn=lambda: os.umask(umask),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    found = modes_under(folder)
    assert "styles/print.css" in found, found
    assert "book.toml" in found, found
    wrong = {
        name: oct(mode)
        for name, (kind, mode) in found.items()
        if mode != (folder_mode if kind == "folder" else file_mode)
    }
    assert not wrong, wrong
