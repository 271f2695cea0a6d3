"""Issue 17, through the installed ``dreambook`` command: every case a new user met, each one
reproduced here first (these tests failed on the argparse command line)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import MINIMAL_TOML, REPO, WriteBook, chapter
from tests.e2e.test_cli import diagnostics_in, run


@pytest.fixture
def new_book(tmp_path: Path) -> Path:
    """A book made by ``dreambook init`` in ``tmp_path/mybook``."""
    book = tmp_path / "mybook"
    made = run("init", book, "--title", "Night Notes", "--author", "A. Writer")
    assert made.returncode == 0, made.stderr
    return book


# --- 1. a traceback ------------------------------------------------------------------------------


def test_new_after_an_unknown_slug_is_a_coded_error_with_did_you_mean(new_book: Path) -> None:
    result = run("new", "Zed", new_book, "--after", "openin")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "KeyError" not in result.stderr
    assert re.search(r"^DB025 error: .*'openin'", result.stderr, re.M), result.stderr
    assert "did you mean 'opening'?" in result.stderr
    assert not (new_book / "zed.md").exists()


def test_new_after_a_slug_with_nothing_close_lists_the_chapters(new_book: Path) -> None:
    result = run("new", "Zed", new_book, "--after", "nope")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "DB025" in result.stderr
    assert "opening" in result.stderr


# --- 2. argument handling ------------------------------------------------------------------------


def test_a_positional_may_follow_an_option(new_book: Path) -> None:
    result = run("new", "A Door Left Open", "--after", "opening", new_book)
    assert result.returncode == 0, result.stderr
    assert (new_book / "a-door-left-open.md").is_file()


def test_every_command_works_from_inside_the_book_folder(new_book: Path, tmp_path: Path) -> None:
    made = run("new", "A Door Left Open", "--after", "opening", cwd=new_book)
    assert made.returncode == 0, made.stderr
    assert (new_book / "a-door-left-open.md").is_file()
    order = run("order", cwd=new_book)
    assert order.returncode == 0, order.stderr
    assert [row.split()[1] for row in order.stdout.splitlines()] == ["opening", "a-door-left-open"]
    checked = run("check", cwd=new_book)
    assert checked.returncode == 0, checked.stderr
    assert "is not a folder" not in checked.stderr
    # Nothing says where the book was found: it is the current folder.
    assert "using the book" not in checked.stderr
    graph = run("graph", "-o", tmp_path / "maps", cwd=new_book)
    assert graph.returncode == 0, graph.stderr
    assert list((tmp_path / "maps").glob("*-map.svg"))


def test_a_mistyped_option_shows_that_commands_usage(new_book: Path) -> None:
    result = run("build", new_book, "--formt", "pdf")
    assert result.returncode == 2
    assert "Usage: dreambook build" in result.stderr
    assert "--formt" in result.stderr
    assert "Traceback" not in result.stderr


def _options_of(command: str) -> set[str]:
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    return set(re.findall(r"(?<![\w-])--?[a-z][a-z-]*", result.stdout))


@pytest.mark.parametrize("command", ["check", "order"])
def test_commands_that_write_nothing_offer_no_output_folder(command: str) -> None:
    options = _options_of(command)
    assert "--strict" in options
    assert "-o" not in options
    assert "--output" not in options


@pytest.mark.parametrize("command", ["build", "graph", "preview"])
def test_commands_that_write_offer_the_output_folder(command: str) -> None:
    assert {"-o", "--output"} <= _options_of(command)


@pytest.mark.parametrize(
    ("command", "wanted"),
    [
        ("init", ["DIR", "the folder to create the book in", "default: manuscript"]),
        ("new", ["TITLE", "BOOK", "the book's folder", "the current folder"]),
        ("check", ["BOOK", "the book's folder"]),
        ("graph", ["--format", "svg", "dot", "Graphviz", "default: svg"]),
    ],
)
def test_help_explains_every_argument_with_its_default(command: str, wanted: list[str]) -> None:
    result = run(command, "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())  # help text is wrapped to the terminal
    for words in wanted:
        assert words in text, (words, result.stdout)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_the_shell(shell: str) -> None:
    result = run("completion", shell)
    assert result.returncode == 0, result.stderr
    assert "_DREAMBOOK_COMPLETE" in result.stdout
    assert f"{shell}_complete" in result.stdout


def test_completion_of_an_unknown_shell_is_a_usage_error() -> None:
    result = run("completion", "tcsh")
    assert result.returncode == 2
    assert "bash" in result.stderr


def _complete(words: str, cwd: Path | None = None) -> list[str]:
    """What the completion script gets back for the command line ``words`` (bash)."""
    parts = words.split(" ")
    environment = {
        **os.environ,
        "_DREAMBOOK_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(parts) - 1),
    }
    import subprocess

    from tests.e2e.test_cli import _dreambook_command

    result = subprocess.run(
        _dreambook_command(), env=environment, capture_output=True, text=True, cwd=cwd, check=False
    )
    assert result.returncode == 0, result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines()]


def test_completion_completes_commands_options_and_slugs(new_book: Path) -> None:
    assert "build" in _complete("dreambook bu")
    assert {"--format", "--variant"} <= set(_complete("dreambook build --"))
    assert "epub" in _complete("dreambook build --format ")
    assert _complete("dreambook new X --after op", cwd=new_book) == ["opening"]


# --- finding the book ----------------------------------------------------------------------------


def test_the_book_is_found_in_the_current_folder(new_book: Path) -> None:
    result = run("check", cwd=new_book)
    assert result.returncode == 0, result.stderr
    assert "1 chapter," in result.stderr
    assert "using the book" not in result.stderr


def test_the_book_is_found_in_manuscript_below_the_current_folder(
    write_book: WriteBook, tmp_path: Path
) -> None:
    write_book({"one.md": chapter("One")})
    result = run("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "dreambook: using the book in manuscript" in result.stderr


def test_a_folder_without_a_book_is_a_clear_usage_error(tmp_path: Path) -> None:
    result = run("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "no book.toml" in result.stderr
    assert "dreambook init" in result.stderr
    assert "Traceback" not in result.stderr


def test_above_a_book_folder_the_usage_error_names_it(new_book: Path, tmp_path: Path) -> None:
    result = run("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "dreambook check mybook" in result.stderr


# --- 3. misleading diagnostics after one broken file ---------------------------------------------


def test_a_chapter_that_cannot_be_read_is_the_one_problem_reported(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter("One", "Text.\n\n## Next Stages\n\n- The Opening — begin here.\n"),
            "opening.md": "---\ntitle: The Opening\nsubtitle: [unclosed\n---\n\nText.\n\n"
            "## Next Stages\n\n- [Three](three.md) — on.\n",
            "three.md": chapter("Three"),
        }
    )
    result = run("check", root)
    assert result.returncode == 1
    # One root cause; its consequences (the bare title that matches nothing, the chapter no
    # chain reaches) are folded under it, not reported as problems of their own.
    assert diagnostics_in(result.stderr) == [("opening.md", 3, "DB012")], result.stderr
    assert "FAILED: 3 chapters, 1 error, 0 warnings" in result.stderr
    folded = result.stderr.split("DB012", 1)[1]
    assert "because of this:" in folded
    assert "DB030" in folded
    assert "DB040" in folded


def test_errors_print_before_warnings_within_a_file(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter("One", "Text.\n\n## Next Stages\n\n- [Two](two.md) — on.\n"),
            "two.md": chapter("Two", "## Why\n\nA.\n\n## Why?\n\nB.\n", colour="red"),
        }
    )
    result = run("check", root)
    found = [(name, code) for name, _, code in diagnostics_in(result.stderr) if name == "two.md"]
    codes = [code for _, code in found]
    assert codes.index("DB021") < codes.index("DB016"), result.stderr


# --- 4. silent duplicates and placeholders -------------------------------------------------------


def test_two_chapters_with_one_title_fail_strict(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter(
                "The Opening", "Text.\n\n## Next Stages\n\n- [The Opening](two.md) — on.\n"
            ),
            "two.md": chapter("The  opening"),
        }
    )
    result = run("check", "--strict", root)
    assert result.returncode == 1
    assert ("two.md", 2, "DB023") in diagnostics_in(result.stderr), result.stderr
    assert "one.md" in result.stderr.split("DB023", 1)[1].splitlines()[0]


def test_new_refuses_a_title_a_chapter_already_has(write_book: WriteBook) -> None:
    root = write_book({"one.md": chapter("One"), "stairs.md": chapter("The Stairwell")})
    result = run("new", "The Stairwell", root)
    assert result.returncode == 2
    assert "DB026" in result.stderr
    assert "stairs.md" in result.stderr
    assert not (root / "the-stairwell.md").exists()


def test_placeholders_left_by_new_and_init_warn_and_fail_strict(new_book: Path) -> None:
    assert run("new", "The Second Door", new_book, "--after", "opening").returncode == 0
    relaxed = run("check", new_book)
    assert relaxed.returncode == 0, relaxed.stderr
    found = diagnostics_in(relaxed.stderr)
    assert ("opening.md", 5, "DB024") in found  # init's chapter: its first paragraph
    assert ("the-second-door.md", 5, "DB024") in found
    # The blurb `new` wrote into opening's Next Stages is a placeholder too.
    blurb_line = next(
        number
        for number, line in enumerate((new_book / "opening.md").read_text("utf-8").split("\n"), 1)
        if "where the reader goes from here." in line
    )
    blurbs = [line for name, line, code in found if name == "opening.md" and code == "DB024"]
    assert blurb_line in blurbs, relaxed.stderr
    strict = run("check", "--strict", new_book)
    assert strict.returncode == 1
    assert "DB024 error" in strict.stderr


def test_a_written_chapter_has_no_placeholder(new_book: Path) -> None:
    (new_book / "opening.md").write_text(chapter("The Opening", "Real words.\n"), "utf-8")
    result = run("check", "--strict", new_book)
    assert result.returncode == 0, result.stderr


# --- 5. a hint from the book itself --------------------------------------------------------------


def test_the_missing_title_hint_comes_from_the_chapters_heading_or_file_name(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {
            "one.md": "---\nsubtitle: S\n---\n\n# The Long Corridor\n\nText.\n",
            "night-swim.md": "---\nsubtitle: S\n---\n\nText.\n\n## Quick Answer\n\nA.\n",
        }
    )
    result = run("check", root)
    assert "Running Away From Danger" not in result.stderr
    assert "title: The Long Corridor" in result.stderr
    # A '##' heading is a section of the chapter, never offered as its title.
    assert "title: Night Swim" in result.stderr
    assert "title: Quick Answer" not in result.stderr


# --- 7. the build failure summary ----------------------------------------------------------------


def test_a_failed_build_counts_the_chapters_as_check_does(write_book: WriteBook) -> None:
    root = write_book({"one.md": chapter("One"), "two.md": "no front matter\n"})
    build = run("build", root, "-o", root.parent / "out", "--format", "html")
    check = run("check", root)
    assert build.returncode == check.returncode == 1
    # two.md's "unreachable" follows from its missing front matter: folded, not counted.
    assert "FAILED: 2 chapters, 1 error, 0 warnings; nothing was written" in build.stderr
    assert "FAILED: 2 chapters, 1 error, 0 warnings" in check.stderr


def test_readme_commands_work_as_root_and_point_inside_the_repository() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    assert "CONVENTIONS.md" not in readme
    assert not re.search(r"(?<!bash )\.ci/system-packages`? installs", readme)
    assert "sudo bash .ci/system-packages" in readme
    troubleshooting = readme.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    assert len(re.findall(r"^\*\*", troubleshooting, re.M)) >= 5
    # The rebuild's share of a cold build says which book it was measured on.
    for found in re.finditer(r"a fifth of (a cold build|the time)[^.]*\.", readme):
        assert "benchmark book" in found.group(0), found.group(0)


def test_minimal_toml_still_checks(write_book: WriteBook) -> None:
    root = write_book({"one.md": chapter("One")}, book_toml=MINIMAL_TOML)
    assert run("check", "--strict", root).returncode == 0
