"""Builds that meet a damaged cache, a second build into the same folder, or a kill.

A damaged entry of the chunk cache is a miss: the chunk is laid out again and the book is
the book a clean build makes, byte for byte. Two builds into one output folder take turns
at writing it. A stopped or killed build leaves no worker process behind, and what it left
half-written is cleared by the next build into that folder.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
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
        # Built once more, unchanged: the cache keeps just the chunks a rebuild reads (a
        # rebuild starts from each chunk's last layout; the passes before it are pruned), so
        # whichever entry a test damages is one the next build must use.
        again = run("build", SAMPLE_MANUSCRIPT, "-o", output, "--format", "pdf", "--jobs", "2")
        assert again.returncode == 0, again.stderr
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


# --- stopped and killed builds -----------------------------------------------------------------

SITE = "what-the-night-rehearses-site"


def _proc_stat(pid: int) -> tuple[int, str] | None:
    """A process's parent and state letter, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, parent = stat.rsplit(")", 1)[1].split()[:2]
    return int(parent), state


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _helpers_of(pid: int) -> set[int]:
    """The multiprocessing processes (workers, resource tracker) ``pid`` started."""
    found = set()
    for entry in Path("/proc").iterdir():
        stat = _proc_stat(int(entry.name)) if entry.name.isdigit() else None
        if stat is not None and stat[0] == pid and "multiprocessing" in _cmdline(int(entry.name)):
            found.add(int(entry.name))
    return found


def _running(pid: int) -> bool:
    """Whether ``pid`` is still a live multiprocessing process (a zombie has ended)."""
    stat = _proc_stat(pid)
    return stat is not None and stat[1] != "Z" and "multiprocessing" in _cmdline(pid)


def _until(condition: Callable[[], bool], seconds: float = 120.0) -> bool:
    """Poll ``condition`` until it holds (True) or ``seconds`` have passed (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _build_caught_mid_layout(output: Path) -> tuple[subprocess.Popen[str], set[int]]:
    """Start a build of the sample book and return it, with the worker processes it
    started, once its workers are writing laid-out chunks."""
    build = _dreambook(
        "build", SAMPLE_MANUSCRIPT, "-o", output, "--format", "pdf", "--format", "html",
        "--jobs", "2",
    )  # fmt: skip
    helpers: set[int] = set()
    chunks = output / ".cache" / f"{SAMPLE_PDF}.chunks"

    def mid_layout() -> bool:
        helpers.update(_helpers_of(build.pid))
        return build.poll() is not None or (len(helpers) >= 2 and chunks.is_dir())

    assert _until(mid_layout)
    assert build.poll() is None, "the build finished before it could be stopped"
    return build, helpers


def _no_helper_left(helpers: set[int]) -> bool:
    return _until(lambda: not any(_running(pid) for pid in helpers), 30.0)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_a_killed_build_leaves_no_process_and_the_next_build_clears_its_leftovers(
    tmp_path: Path,
) -> None:
    output = tmp_path / "out"
    build, helpers = _build_caught_mid_layout(output)
    build.kill()
    build.communicate(timeout=60)
    assert _no_helper_left(helpers), [_cmdline(pid) for pid in helpers if _running(pid)]
    # What a build killed mid-write leaves (as well as whatever this one left).
    planted = [
        output / f".{SAMPLE_PDF}.k1ll3d_x.tmp",
        output / ".cache" / f"{SAMPLE_PDF}.chunks" / ".0123abcd.pdf.abcdefgh.tmp",
        output / f".{SITE}.old.zyx98765" / SITE / "index.html",
        output / f".{SITE}.staging.a1b2c3d4" / "index.html",
    ]
    for path in planted:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    kept = [output / "notes.tmp", output / ".notes.tmp", output / "readme.old.txt"]
    for path in kept:
        path.write_text("the publisher's own file\n", "utf-8")
    again = run("build", SAMPLE_MANUSCRIPT, "-o", output, "--format", "pdf", "--format", "html")
    assert again.returncode == 0, again.stderr
    assert not any(path.exists() or path.parent.exists() for path in planted[2:])
    assert not any(path.exists() for path in planted[:2])
    assert _leftovers(output) == sorted(p.relative_to(output).as_posix() for p in kept)
    assert all(path.read_text("utf-8") == "the publisher's own file\n" for path in kept)
    with pikepdf.open(output / SAMPLE_PDF) as pdf:
        assert len(pdf.pages) > 50


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.parametrize(
    ("stop", "status", "name"),
    [
        pytest.param(signal.SIGTERM, 143, "SIGTERM", id="SIGTERM"),
        pytest.param(signal.SIGINT, 130, "SIGINT", id="SIGINT"),
    ],
)
def test_a_stopped_build_says_so_in_one_line_and_leaves_nothing_behind(
    tmp_path: Path, stop: signal.Signals, status: int, name: str
) -> None:
    output = tmp_path / "out"
    build, helpers = _build_caught_mid_layout(output)
    build.send_signal(stop)
    _, errors = build.communicate(timeout=60)
    assert build.returncode == status, errors
    assert errors.splitlines() == [f"dreambook: stopped ({name})"]
    assert _no_helper_left(helpers), [_cmdline(pid) for pid in helpers if _running(pid)]
    assert _leftovers(output) == []
    assert not (output / SAMPLE_PDF).exists()
