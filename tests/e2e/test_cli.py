"""End to end: the installed ``dreambook`` command on the sample book and on broken manuscripts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MINIMAL_TOML, SAMPLE_MANUSCRIPT, WriteBook, chapter


def _dreambook_command() -> list[str]:
    """The console script installed beside this interpreter (what a user runs)."""
    script = Path(sys.executable).parent / "dreambook"
    if script.exists():
        return [str(script)]
    found = shutil.which("dreambook")
    if found:
        return [found]
    pytest.fail("the dreambook console command is not installed; run the tests through nox")


def run(*arguments: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``dreambook ARGUMENTS`` and return the finished process (never raises on exit status)."""
    return subprocess.run(
        [*_dreambook_command(), *map(str, arguments)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=120,
    )


DIAGNOSTIC_LINE = re.compile(
    r"^(?P<path>[^:\n]+):(?P<line>\d+): (?P<code>DB\d{3}) (?P<severity>error|warning): ", re.M
)


def diagnostics_in(stderr: str) -> list[tuple[str, int, str]]:
    """Return (file name, line, code) for every ``path:line: CODE`` line the command printed."""
    return [
        (Path(m["path"]).name, int(m["line"]), m["code"]) for m in DIAGNOSTIC_LINE.finditer(stderr)
    ]


def sample_chapter_titles() -> dict[str, str]:
    """Slug -> title of every chapter file of the sample book, read straight from the files."""
    titles = {}
    for path in SAMPLE_MANUSCRIPT.rglob("*.md"):
        if any(part.startswith(("_", ".")) for part in path.relative_to(SAMPLE_MANUSCRIPT).parts):
            continue
        match = re.search(r"^title: (.+)$", path.read_text(encoding="utf-8"), re.M)
        assert match, f"{path} has no title line"
        titles[path.stem] = match.group(1).strip()
    return titles


def test_check_strict_on_the_sample_book_is_clean() -> None:
    result = run("check", "--strict", SAMPLE_MANUSCRIPT)
    assert result.returncode == 0, result.stderr
    assert "0 errors, 0 warnings" in result.stderr
    assert diagnostics_in(result.stderr) == []


def test_order_prints_every_sample_chapter_once_with_how_it_was_reached() -> None:
    result = run("order", SAMPLE_MANUSCRIPT)
    assert result.returncode == 0, result.stderr
    rows = [line.split(None, 2) for line in result.stdout.splitlines()]
    titles = sample_chapter_titles()
    assert len(titles) >= 12
    assert [int(row[0]) for row in rows] == list(range(1, len(titles) + 1))
    assert sorted(row[1] for row in rows) == sorted(titles)
    for _position, slug, rest in rows:
        assert rest.startswith(titles[slug]), (slug, rest)
    assert rows[0][2].endswith("(start)")
    assert rows[-1][2].endswith("(appendix)")
    # Every chapter between start and appendix was reached through a Next Stages link.
    assert all("(next stage of " in row[2] for row in rows[1:-1])


def test_order_runs_from_the_default_manuscript_folder(tmp_path: Path) -> None:
    shutil.copytree(SAMPLE_MANUSCRIPT, tmp_path / "manuscript")
    result = run("order", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(sample_chapter_titles())


def test_a_broken_manuscript_gets_coded_path_line_diagnostics_and_exit_1(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {
            "one.md": chapter(
                "One",
                """\
                Opening text that links to [a missing chapter](nowhere.md).

                ## Next Stages

                - [Two](two.md) — onwards.
                - [Ghost](ghost.md) — a chapter that was never written.
                """,
            ),
            "two.md": "---\ntitle: Two\nsubtitle: [unclosed\n---\n\nText.\n",
            "three.md": "No front matter here.\n",
            "four.md": b"---\ntitle: Four\n---\n\nBad byte \xff here.\n",
        }
    )
    result = run("check", root)
    assert result.returncode == 1
    found = diagnostics_in(result.stderr)
    assert ("one.md", 5, "DB031") in found
    assert ("one.md", 10, "DB030") in found
    assert ("two.md", 3, "DB012") in found
    assert ("three.md", 1, "DB011") in found
    assert ("four.md", 5, "DB010") in found
    assert "FAILED" in result.stderr


def test_warnings_pass_check_but_fail_check_strict(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter("One", "Text.\n"),
            "orphan.md": chapter("Orphan", "Nobody links here.\n"),
        }
    )
    relaxed = run("check", root)
    assert relaxed.returncode == 0, relaxed.stderr
    assert ("orphan.md", 1, "DB040") in diagnostics_in(relaxed.stderr)
    strict = run("check", "--strict", root)
    assert strict.returncode == 1
    assert "orphan.md:1: DB040 error:" in strict.stderr.replace(str(root) + "/", "")


def test_unknown_book_toml_key_is_reported_on_its_line(write_book: WriteBook) -> None:
    root = write_book({"one.md": chapter("One")}, book_toml=MINIMAL_TOML + 'colour = "blue"\n')
    result = run("check", root)
    assert result.returncode == 1
    assert ("book.toml", 7, "DB003") in diagnostics_in(result.stderr)


def test_order_refuses_a_manuscript_with_errors(write_book: WriteBook) -> None:
    root = write_book({"one.md": chapter("One"), "dup.md": chapter("Dup", slug="one")})
    result = run("order", root)
    assert result.returncode == 1
    assert ("dup.md", 3, "DB020") in diagnostics_in(result.stderr)
    assert result.stdout == ""


@pytest.mark.parametrize(
    "arguments",
    [("check", "no-such-folder"), ("frobnicate",), ("check", "--no-such-option"), ()],
)
def test_usage_problems_exit_2(tmp_path: Path, arguments: tuple[str, ...]) -> None:
    result = run(*arguments, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip()


def test_version_is_printed() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert re.match(r"dreambook \d+\.\d+", result.stdout)


TWO_CHAPTERS = {"two.md": chapter("Two")}
ONE_LINKS_TWO = chapter("One", "Text.\n\n## Next Stages\n\n- [Two](two.md) — onwards.\n")

# Each bad input the foundation issue lists: (files, book.toml or None for the default,
# expected (file name, line, code)). Run with --strict, so warnings fail the check too.
BAD_INPUTS = {
    "missing front matter": ({"one.md": "Just text.\n"}, None, ("one.md", 1, "DB011")),
    "malformed front matter": (
        {"one.md": "---\ntitle: One\nsubtitle: 'open\n---\n\nText.\n"},
        None,
        ("one.md", 3, "DB012"),
    ),
    "missing title": ({"one.md": "---\nsubtitle: S\n---\n\nText.\n"}, None, ("one.md", 1, "DB014")),
    "duplicate slug": (
        {"one.md": ONE_LINKS_TWO, "two.md": chapter("Two", slug="one")},
        None,
        ("two.md", 3, "DB020"),
    ),
    "duplicate section id": (
        {"one.md": chapter("One", "## Why\n\nA.\n\n## Why?\n\nB.\n")},
        None,
        ("one.md", 9, "DB021"),
    ),
    "start missing": (
        {"one.md": chapter("One")},
        '[book]\ntitle = "T"\n',
        ("book.toml", 1, "DB005"),
    ),
    "start unknown": (
        {"one.md": chapter("One")},
        '[book]\ntitle = "T"\nstart = "zero"\n',
        ("book.toml", 3, "DB006"),
    ),
    "dangling next stage": (
        {"one.md": chapter("One", "## Next Stages\n\n- [Gone](gone.md) — away.\n")},
        None,
        ("one.md", 7, "DB030"),
    ),
    "dangling cross-reference": (
        {"one.md": chapter("One", "See [two](two.md#nowhere).\n"), **TWO_CHAPTERS},
        None,
        ("one.md", 5, "DB031"),
    ),
    "unreachable chapter": (
        {"one.md": chapter("One"), **TWO_CHAPTERS},
        None,
        ("two.md", 1, "DB040"),
    ),
    "empty chapter": ({"one.md": ONE_LINKS_TWO, "two.md": ""}, None, ("two.md", 1, "DB017")),
    "non-UTF-8 file": (
        {"one.md": b"---\ntitle: One\n---\n\nCaf\xe9\n"},
        None,
        ("one.md", 5, "DB010"),
    ),
    "unknown book.toml key": (
        {"one.md": chapter("One")},
        MINIMAL_TOML + "[print]\ntrim = '6in x 9in'\n",
        ("book.toml", 8, "DB003"),
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_each_bad_input_gets_its_coded_path_line_diagnostic_and_exit_1(
    write_book: WriteBook, case: str
) -> None:
    files, book_toml, expected = BAD_INPUTS[case]
    root = write_book(files, book_toml=book_toml if book_toml is not None else MINIMAL_TOML)
    result = run("check", "--strict", root)
    assert result.returncode == 1, result.stderr
    assert expected in diagnostics_in(result.stderr), result.stderr


def test_build_summary_verbose_timings_and_quiet(write_book: WriteBook) -> None:
    root = write_book({"one.md": chapter("One", "Text.\n")})
    output = root.parent / "out"
    timings = root.parent / "timings.json"
    verbose = run("build", root, "-o", output, "--format", "html", "-v", "--timings-json", timings)
    assert verbose.returncode == 0, verbose.stderr
    assert re.search(r"^  check +\d+\.\d\d s$", verbose.stderr, re.M)
    assert re.search(r"^  render +\d+\.\d\d s$", verbose.stderr, re.M)
    assert re.search(
        r"^ok: 2 files written in \d+\.\d s, 0 errors, 0 warnings$", verbose.stderr, re.M
    )
    recorded = json.loads(timings.read_text("utf-8"))
    assert set(recorded["stages"]) == {"check", "render", "html"}
    # --format html writes the one-page preview and the folder of the HTML edition.
    assert recorded["files"] == [
        str(output / "a-small-book.html"),
        str(output / "a-small-book-site"),
    ]
    quiet = run("build", root, "-o", output, "--format", "html", "--quiet")
    assert quiet.returncode == 0
    assert "wrote" not in quiet.stderr
    assert quiet.stderr.strip().startswith("ok: 2 files written")
