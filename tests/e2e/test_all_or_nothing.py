"""Finding 6 of the hostile-books issue: a build that fails part-way replaces nothing.

Every format is written into a staging folder and moved into place only when all are
complete, so the output folder holds either the whole new set or the whole previous one,
and the error names the file that could not be written.
"""

from __future__ import annotations

import errno
import hashlib
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from dreambook.cli import main
from dreambook.export.writer import BuildContext, WriterResult
from tests.conftest import SAMPLE_MANUSCRIPT
from tests.e2e.test_cli import run

BOOK = "what-the-night-rehearses"


def _outputs(folder: Path) -> dict[str, str]:
    """SHA-256 of every output file under ``folder`` (the cache and the lock left out)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and relative.parts[0] not in {".cache", ".dreambook.lock"}:
            found[relative.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _edited_copy(tmp_path: Path) -> Path:
    """The sample manuscript with one sentence added to its first chapter."""
    manuscript = tmp_path / "manuscript"
    shutil.copytree(SAMPLE_MANUSCRIPT, manuscript)
    first = manuscript / "why-you-keep-having-anxiety-dreams.md"
    text = first.read_text("utf-8")
    marker = "\n## "
    cut = text.index(marker)
    first.write_text(
        text[:cut] + "\nThis sentence was added after the first build.\n" + text[cut:], "utf-8"
    )
    return manuscript


def _hidden_entries(folder: Path) -> list[str]:
    """Dot-named entries of the output folder besides the cache and the lock: staging
    folders and temporary files a build should not leave behind."""
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.name.startswith(".") and p.name not in {".cache", ".dreambook.lock"}
    )


@pytest.mark.slow
@pytest.mark.parametrize("failing", ["epub", "html"])
def test_a_writer_failing_late_leaves_every_earlier_format_as_it_was(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    failing: str,
) -> None:
    """The issue's case: the disk fills after the PDFs are written. The PDFs must not be
    replaced by the edited book while the EPUB (or the site) still holds the old one."""
    output = tmp_path / "build"
    formats = ["--format", "pdf", "--format", "epub", "--format", "html"]
    arguments = ["-o", str(output), *formats, "--variant", "all", "--jobs", "1", "-q"]
    assert main(["build", str(SAMPLE_MANUSCRIPT), *arguments]) == 0
    before = _outputs(output)
    assert {f"{BOOK}.pdf", f"{BOOK}-print.pdf", f"{BOOK}.epub", f"{BOOK}.html"} <= set(before)

    module = {
        "epub": "dreambook.export.epub.writer.EpubWriter",
        "html": "dreambook.export.html.writer.HtmlWriter",
    }[failing]
    name = {"epub": f"{BOOK}.epub", "html": f"{BOOK}.html"}[failing]

    def full_disk(
        self: object, context: BuildContext, earlier: Mapping[str, WriterResult]
    ) -> WriterResult:
        # Half a file written, then the disk is full: what a real writer meets.
        partial = context.output / name
        partial.write_bytes(b"PK\x03\x04 half an archive")
        raise OSError(errno.ENOSPC, "No space left on device", str(partial))

    monkeypatch.setattr(f"{module}.write", full_disk)
    manuscript = _edited_copy(tmp_path)
    capsys.readouterr()
    assert main(["build", str(manuscript), *arguments]) == 1
    stderr = capsys.readouterr().err
    assert f"cannot write {output / name}: No space left on device" in stderr, stderr
    assert "Traceback" not in stderr
    assert _outputs(output) == before
    assert _hidden_entries(output) == []

    # The same edited book with the writer working again replaces every format.
    monkeypatch.undo()
    assert main(["build", str(manuscript), *arguments]) == 0
    after = _outputs(output)
    assert after.keys() == before.keys()
    changed = {n for n in before if before[n] != after[n]}
    assert {f"{BOOK}.pdf", f"{BOOK}-print.pdf", f"{BOOK}.epub", f"{BOOK}.html"} <= changed


def _mount_tmpfs(mount_point: Path, size: str) -> str | None:
    """Mount a tmpfs of ``size`` at ``mount_point``; return why it could not be, or None."""
    if shutil.which("mount") is None:
        return "no mount command"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})"
    return None


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB file system of its own (a tmpfs), unmounted after the test."""
    mount_point = tmp_path / f"disk-{uuid.uuid4().hex[:8]}"
    reason = _mount_tmpfs(mount_point, "4m")
    if reason is not None:
        pytest.skip(f"a full disk needs a small file system: {reason}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(disk: Path, leave: int) -> None:
    """Fill ``disk`` until about ``leave`` bytes are free."""
    filler = disk / "filler"
    filler.unlink(missing_ok=True)
    free = shutil.disk_usage(disk).free
    with filler.open("wb") as stream:
        stream.write(b"\0" * max(0, free - leave))


@pytest.mark.slow
def test_a_full_disk_leaves_the_whole_previous_set_or_the_whole_new_one(
    tmp_path: Path, small_disk: Path
) -> None:
    """Builds of an edited book into a real, nearly full file system, with less and less
    room: each either replaces every file or none, and a failure names the file."""
    output = small_disk / "build"
    arguments = ["-o", output, "--format", "pdf", "--format", "epub", "--jobs", "1"]
    first = run("build", SAMPLE_MANUSCRIPT, *arguments)
    assert first.returncode == 0, first.stderr
    before = _outputs(output)
    manuscript = _edited_copy(tmp_path)
    outcomes = []
    # From less than the PDF needs to a little more than the whole new set needs.
    for leave in (64_000, 450_000, 900_000, 1_400_000, 2_000_000):
        _fill(small_disk, leave)
        result = run("build", manuscript, *arguments)
        (small_disk / "filler").unlink()
        now = _outputs(output)
        assert "Traceback" not in result.stderr
        assert _hidden_entries(output) == [], result.stderr
        if result.returncode == 0:
            assert all(now[name] != before[name] for name in before), leave
            outcomes.append("new")
            break
        assert result.returncode == 1, result.stderr
        assert now == before, f"a failed build with {leave} bytes free changed the outputs"
        assert "No space left on device" in result.stderr
        assert f"cannot write {output}" in result.stderr, result.stderr
        outcomes.append("old")
    # The smallest room must fail, and the largest must be enough: otherwise the test
    # showed nothing.
    assert outcomes[0] == "old", outcomes
    assert outcomes[-1] == "new", outcomes
