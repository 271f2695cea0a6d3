"""Builds that meet a damaged cache, a second build into the same folder, or a kill.

A damaged entry of the chunk cache is a miss: the chunk is laid out again and the book is
the book a clean build makes, byte for byte. Two builds into one output folder take turns
at writing it. A stopped or killed build leaves no worker process behind, and what it left
half-written is cleared by the next build into that folder.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pikepdf
import pytest

from dreambook.export.pdf.folios import read_page_map
from dreambook.output_folder import OutputFolder
from tests.conftest import SAMPLE_MANUSCRIPT
from tests.e2e.test_cli import _dreambook_command, run

SAMPLE_PDF = "what-the-night-rehearses.pdf"


@pytest.fixture(scope="module")
def clean_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The sample book's digital PDF laid out in chunks on two workers, with its cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1767225600")
        output = tmp_path_factory.mktemp("clean")
        result = run("build", SAMPLE_MANUSCRIPT, "-o", output, "--format", "pdf", "--jobs", "2")
        assert result.returncode == 0, result.stderr
        yield output


def _chunk_pdfs(output: Path) -> list[Path]:
    return sorted((output / ".cache" / f"{SAMPLE_PDF}.chunks").glob("*.pdf"))


def _truncate(output: Path) -> None:
    pdf = _chunk_pdfs(output)[1]
    pdf.write_bytes(pdf.read_bytes()[:1000])


def _garbage(output: Path) -> None:
    pdf = _chunk_pdfs(output)[1]
    pdf.write_bytes(b"not a PDF at all\n" * 500)


def _swap(output: Path) -> None:
    first, second = _chunk_pdfs(output)[1:3]
    data = first.read_bytes()
    first.write_bytes(second.read_bytes())
    second.write_bytes(data)


def _plausible_pdf(output: Path) -> None:
    # A whole, valid PDF, but not the one its entry recorded: only its hash tells.
    first, second = _chunk_pdfs(output)[1:3]
    shutil.copyfile(second, first)


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(_truncate, id="truncated"),
        pytest.param(_garbage, id="garbage"),
        pytest.param(_swap, id="two entries swapped"),
        pytest.param(_plausible_pdf, id="another entry's PDF"),
    ],
)
def test_a_damaged_chunk_is_laid_out_again_and_the_book_equals_a_clean_build(
    clean_build: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    damage: Callable[[Path], None],
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    output = tmp_path / "out"
    shutil.copytree(clean_build, output)
    assert len(_chunk_pdfs(output)) >= 3
    damage(output)
    result = run(
        "build", SAMPLE_MANUSCRIPT, "-o", output, "--format", "pdf", "--jobs", "2", "-v"
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "is damaged" in result.stderr  # the repair is reported under -v
    assert (output / SAMPLE_PDF).read_bytes() == (clean_build / SAMPLE_PDF).read_bytes()
    # The repaired cache serves the next build whole.
    again = run(
        "build", SAMPLE_MANUSCRIPT, "-o", output, "--format", "pdf", "--jobs", "2", "-v"
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "is damaged" not in again.stderr
    assert "laid out" not in again.stderr


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"anchor_pages": [', id="truncated"),
        pytest.param("\x00\xff garbage", id="garbage"),
        pytest.param(
            '{"anchor_pages": {"one": 5}, "body_start": 1000000000000, '
            '"page_count": 1000000000000, "page_tops": {}}',
            id="a trillion pages",
        ),
        pytest.param(
            '{"anchor_pages": {"one": -4}, "body_start": 0, "page_count": 9, "page_tops": {}}',
            id="a page before the book",
        ),
    ],
)
def test_a_damaged_page_map_is_no_guess(tmp_path: Path, text: str) -> None:
    path = tmp_path / "book.pdf.pages.json"
    path.write_text(text, "utf-8")
    assert read_page_map(path) is None


# --- two builds into one folder ----------------------------------------------------------------


def _dreambook(*arguments: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*_dreambook_command(), *map(str, arguments)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _leftovers(output: Path) -> list[str]:
    return sorted(
        p.relative_to(output).as_posix()
        for p in output.rglob("*")
        if p.name.endswith(".tmp") or ".old." in p.name or ".staging." in p.name
    )


@pytest.mark.slow
def test_builds_into_one_folder_take_turns_and_all_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    # Three builds: two of the book, one of an edition a sentence longer, which has chunks
    # the others do not use, and would delete without the lock.
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(SAMPLE_MANUSCRIPT, first)
    shutil.copytree(SAMPLE_MANUSCRIPT, second)
    last = sorted(p for p in second.rglob("*.md") if not p.name.startswith("_"))[-1]
    last.write_text(last.read_text("utf-8") + "\nOne more sentence at the end.\n", "utf-8")
    output = tmp_path / "out"
    builds = [
        _dreambook("build", manuscript, "-o", output, "--format", "pdf", "--format", "html",
                   "--jobs", "2")
        for manuscript in (first, second, first)
    ]  # fmt: skip
    finished = [build.communicate(timeout=600) for build in builds]
    for build, (_, errors) in zip(builds, finished, strict=True):
        assert build.returncode == 0, errors
        assert "Traceback" not in errors
    with pikepdf.open(output / SAMPLE_PDF) as pdf:
        assert len(pdf.pages) > 50
    assert (output / "what-the-night-rehearses-site" / "index.html").is_file()
    assert _leftovers(output) == []


def test_a_build_waits_for_the_folder_and_says_so(tmp_path: Path) -> None:
    said: list[str] = []
    waiting = threading.Event()

    def progress(message: str) -> None:
        said.append(message)
        waiting.set()

    second_claimed = threading.Event()

    def second_build() -> None:
        with OutputFolder(tmp_path, progress) as folder:
            folder.claim()
            second_claimed.set()

    with OutputFolder(tmp_path, progress) as first:
        first.claim()
        thread = threading.Thread(target=second_build)
        thread.start()
        assert waiting.wait(timeout=30)
        assert not second_claimed.is_set()
    thread.join(timeout=30)
    assert second_claimed.is_set()
    assert said == [f"another build is writing to {tmp_path}; waiting"]
