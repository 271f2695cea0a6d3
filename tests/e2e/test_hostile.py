"""End to end: bad and hostile manuscripts through the installed ``dreambook`` command.

Each case writes a tiny manuscript into ``tmp_path``, runs the real command (``check``, or
``build`` where the output matters) and pins what a user sees: the diagnostic code with its
file and line, the exit status (0 ok, 1 manuscript errors, 2 usage) and what is, or is not,
in the output folder afterwards. A few cases run the pipeline in-process where a subprocess
cannot be observed (a writer failing half-way, the network being touched).

Cases that once found bugs (a fence hiding an image from check, deep nesting stopping
the index, file: images, symbolic links out of the book, script links in other spellings)
stay here as ordinary tests.
"""

from __future__ import annotations

import html
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pymupdf
import pytest
from PIL import Image

from dreambook.errors import ManuscriptError
from dreambook.fsutil import atomic_output
from dreambook.pipeline import Options, build_book
from tests.conftest import MINIMAL_TOML, WriteBook, chapter
from tests.e2e.test_cli import run

# MINIMAL_TOML's title, "A Small Book", gives every output file its name.
BOOK = "a-small-book"

# Like test_cli.DIAGNOSTIC_LINE, but the line is optional: DB001 and DB080 name a file or
# folder without one.
_DIAGNOSTIC = re.compile(
    r"^(?P<path>[^:\n]+?)(?::(?P<line>\d+))?: (?P<code>DB\d{3}) (?P<severity>error|warning): ",
    re.M,
)

Found = tuple[str, int | None, str, str]


def found(stderr: str, root: Path) -> set[Found]:
    """Return (path relative to ``root``, line, code, severity) for every diagnostic printed."""
    result: set[Found] = set()
    for match in _DIAGNOSTIC.finditer(stderr):
        path = Path(match["path"])
        if not path.is_absolute():
            path = Path.cwd() / path
        try:
            shown = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            shown = path.name
        line = int(match["line"]) if match["line"] else None
        result.add((shown, line, match["code"], match["severity"]))
    return result


def codes(stderr: str) -> list[str]:
    """Every diagnostic code printed, in order, with or without a path."""
    return re.findall(r"\b(DB\d{3}) (?:error|warning): ", stderr)


def assert_clean_failure(result: subprocess.CompletedProcess[str]) -> None:
    """A failure a user can read: a message, and no Python traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip()


def build(
    root: Path, output: Path, *formats: str, strict: bool = False, trust_html: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``dreambook build ROOT -o OUTPUT --format F...``."""
    arguments: list[str | Path] = ["build", root, "-o", output]
    for output_format in formats:
        arguments += ["--format", output_format]
    if strict:
        arguments.append("--strict")
    if trust_html:
        arguments.append("--trust-html")
    return run(*arguments)


def temporary_files(folder: Path) -> list[Path]:
    """Leftovers of an interrupted atomic write: ``.<name>.<random>.tmp``."""
    return sorted(folder.glob(".*.tmp")) if folder.is_dir() else []


def pdf_text(path: Path) -> str:
    """All the text of a PDF, whitespace collapsed to single spaces."""
    with pymupdf.open(path) as document:
        return " ".join(" ".join(page.get_text() for page in document).split())


def pdf_outline_titles(path: Path) -> list[str]:
    """The titles of the PDF's top-level bookmarks."""
    with pymupdf.open(path) as document:
        return [title for level, title, _page in document.get_toc(simple=True) if level == 1]


def preview_text(path: Path) -> str:
    """The HTML preview without its embedded stylesheet (whose numbers are not the book's)."""
    return re.sub(r"<style>.*?</style>", "", path.read_text(encoding="utf-8"), flags=re.S)


def nested_list(depth: int) -> str:
    return "\n".join("  " * level + f"- level {level}" for level in range(depth))


def nested_quotes(depth: int) -> str:
    return "\n".join(">" * (level + 1) + f" level {level}" for level in range(depth))


def png(path: Path) -> Path:
    """Write a small real PNG at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (200, 30, 30)).save(path)
    return path


ONE_LINKS_TWO = chapter("One", "Text.\n\n## Next Stages\n\n- [Two](two.md) — onwards.\n")


# --- diagnostics: code, file, line and exit status ------------------------------------------------


@dataclass(frozen=True)
class BadInput:
    files: dict[str, str | bytes]
    expected: Found
    book_toml: str | None = MINIMAL_TOML


BAD_INPUTS: dict[str, BadInput] = {
    "malformed TOML": BadInput(
        {"one.md": chapter("One")},
        ("book.toml", 2, "DB002", "error"),
        '[book]\ntitle = "A Small Book\nstart = "one"\n',
    ),
    "book.toml not UTF-8": BadInput(
        {"one.md": chapter("One"), "book.toml": b'[book]\ntitle = "Caf\xe9"\n'},
        ("book.toml", 2, "DB002", "error"),
        None,
    ),
    "unknown key": BadInput(
        {"one.md": chapter("One")},
        ("book.toml", 7, "DB003", "error"),
        MINIMAL_TOML + 'colour = "blue"\n',
    ),
    "unknown table": BadInput(
        {"one.md": chapter("One")},
        ("book.toml", 8, "DB003", "error"),
        MINIMAL_TOML + '\n[printing]\ntrim_size = "A5"\n',
    ),
    "start names no chapter": BadInput(
        {"one.md": chapter("One")},
        ("book.toml", 3, "DB006", "error"),
        '[book]\ntitle = "A Small Book"\nstart = "zero"\n',
    ),
    "missing front matter": BadInput(
        {"one.md": "Just text, no front matter.\n"}, ("one.md", 1, "DB011", "error")
    ),
    "malformed YAML front matter": BadInput(
        {"one.md": "---\ntitle: One\nsubtitle: a: b\n---\n\nText.\n"},
        ("one.md", 3, "DB012", "error"),
    ),
    "front matter never closed": BadInput(
        {"one.md": "---\ntitle: One\n\nText.\n"}, ("one.md", 1, "DB012", "error")
    ),
    "front matter is a list": BadInput(
        {"one.md": "---\n- title\n- One\n---\n\nText.\n"}, ("one.md", 2, "DB013", "error")
    ),
    "front matter is a bare value": BadInput(
        {"one.md": "---\njust a sentence\n---\n\nText.\n"}, ("one.md", 2, "DB013", "error")
    ),
    "missing title": BadInput(
        {"one.md": "---\nsubtitle: S\n---\n\nText.\n"}, ("one.md", 1, "DB014", "error")
    ),
    "blank title": BadInput(
        {"one.md": '---\nsubtitle: S\ntitle: "   "\n---\n\nText.\n'},
        ("one.md", 3, "DB014", "error"),
    ),
    "duplicate slugs from two files of the same name": BadInput(
        {
            "one.md": chapter(
                "One",
                "Text.\n\n## Next Stages\n\n- [A](a/same.md) — a.\n- [B](b/same.md) — b.\n",
            ),
            "a/same.md": chapter("Same A"),
            "b/same.md": chapter("Same B"),
        },
        ("b/same.md", 1, "DB020", "error"),
    ),
    "empty chapter file": BadInput(
        {"one.md": ONE_LINKS_TWO, "two.md": ""}, ("two.md", 1, "DB017", "error")
    ),
    "whitespace-only chapter file": BadInput(
        {"one.md": ONE_LINKS_TWO, "two.md": "  \n\t\n   \n"}, ("two.md", 1, "DB017", "error")
    ),
    "Next Stages item leading to its own chapter": BadInput(
        {"one.md": chapter("One", "Text.\n\n## Next Stages\n\n- [One](one.md) — again.\n")},
        ("one.md", 9, "DB033", "warning"),
    ),
    "bare-title Next Stages item matching two chapters": BadInput(
        {
            "one.md": chapter("One", "Text.\n\n## Next Stages\n\n- Twin — either of them.\n"),
            "a.md": chapter("Twin"),
            "b.md": chapter("Twin"),
        },
        ("one.md", 9, "DB032", "warning"),
    ),
    "unreachable chapter": BadInput(
        {"one.md": chapter("One"), "orphan.md": chapter("Orphan")},
        ("orphan.md", 1, "DB040", "warning"),
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_each_bad_input_is_reported_with_code_file_and_line_and_the_right_exit_status(
    write_book: WriteBook, case: str
) -> None:
    bad = BAD_INPUTS[case]
    root = write_book(bad.files, book_toml=bad.book_toml)
    result = run("check", root)
    assert "Traceback" not in result.stderr
    assert bad.expected in found(result.stderr, root), result.stderr
    path, line, code, severity = bad.expected
    if severity == "error":
        assert result.returncode == 1, result.stderr
        assert "FAILED" in result.stderr
        return
    # A warning passes check, and fails it under --strict, where it is printed as an error.
    assert result.returncode == 0, result.stderr
    strict = run("check", "--strict", root)
    assert strict.returncode == 1, strict.stderr
    assert (path, line, code, "error") in found(strict.stderr, root)


def test_missing_book_toml_is_db001_and_exit_1(write_book: WriteBook) -> None:
    root = write_book({"one.md": chapter("One")}, book_toml=None)
    result = run("check", root)
    assert result.returncode == 1
    assert ("book.toml", None, "DB001", "error") in found(result.stderr, root), result.stderr


def test_malformed_toml_is_not_also_reported_as_having_no_start(write_book: WriteBook) -> None:
    root = write_book(
        {"one.md": chapter("One")}, book_toml='[book]\ntitle = "A Small Book\nstart = "one"\n'
    )
    result = run("check", root)
    assert codes(result.stderr) == ["DB002"], result.stderr


def test_a_yaml_python_tag_in_front_matter_is_never_executed(
    write_book: WriteBook, tmp_path: Path
) -> None:
    marker = tmp_path / "executed"
    root = write_book(
        {
            "one.md": f'---\ntitle: !!python/object/apply:os.system ["touch {marker}"]\n---\n\n'
            "Text.\n"
        }
    )
    result = run("check", root)
    assert result.returncode == 1
    assert ("one.md", 2, "DB014", "error") in found(result.stderr, root), result.stderr
    assert not marker.exists()


def test_more_chapter_files_than_the_limit_are_refused_unread(write_book: WriteBook) -> None:
    root = write_book({"one.md": ONE_LINKS_TWO, "two.md": chapter("Two")})
    result = run("check", "--max-chapters", "1", root)
    assert result.returncode == 1
    assert (".", None, "DB080", "error") in found(result.stderr, root), result.stderr


# --- encodings and line endings -------------------------------------------------------------------


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_non_utf8_byte_is_db010_with_its_line_and_byte_offset(
    write_book: WriteBook, newline: bytes
) -> None:
    raw = newline.join([b"---", b"title: One", b"---", b"", b"Caf\xe9 au lait."]) + newline
    root = write_book({"one.md": raw})
    result = run("check", root)
    assert result.returncode == 1
    assert ("one.md", 5, "DB010", "error") in found(result.stderr, root), result.stderr
    offset = raw.index(b"\xe9")
    assert f"byte offset {offset}" in result.stderr


def test_a_byte_order_mark_is_accepted_and_never_reaches_the_title(
    write_book: WriteBook, tmp_path: Path
) -> None:
    bom = b"\xef\xbb\xbf"
    root = write_book(
        {
            "one.md": bom + chapter("Bom Title", "Text.\n").encode(),
            "book.toml": bom + MINIMAL_TOML.encode(),
        },
        book_toml=None,
    )
    output = tmp_path / "out"
    result = build(root, output, "html")
    assert result.returncode == 0, result.stderr
    assert found(result.stderr, root) == set()
    page = (output / f"{BOOK}.html").read_text(encoding="utf-8")
    assert "\ufeff" not in page
    assert '<h1 class="chapter-title">Bom Title</h1>' in page


LINE_ENDINGS_CHAPTER = """\
---
title: One
colour: blue
---

Text with [a lost link](lost.md).

<script>alert(1)</script>

## Next Stages

- [Two](two.md) — onwards.
- [Gone](gone.md) — away.
"""
LINE_ENDINGS_EXPECTED = {
    ("one.md", 3, "DB016", "warning"),
    ("one.md", 6, "DB031", "warning"),
    ("one.md", 8, "DB070", "warning"),
    ("one.md", 13, "DB030", "warning"),
}


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_crlf_and_lone_cr_files_build_and_get_the_same_diagnostic_lines_as_lf(
    write_book: WriteBook, tmp_path: Path, newline: str
) -> None:
    root = write_book(
        {
            "one.md": LINE_ENDINGS_CHAPTER.replace("\n", newline).encode(),
            "two.md": chapter("Two").replace("\n", newline).encode(),
        }
    )
    checked = run("check", root)
    assert checked.returncode == 0, checked.stderr
    assert found(checked.stderr, root) == LINE_ENDINGS_EXPECTED
    output = tmp_path / "out"
    built = build(root, output, "html")
    assert built.returncode == 0, built.stderr
    page = (output / f"{BOOK}.html").read_text(encoding="utf-8")
    assert '<h1 class="chapter-title">One</h1>' in page
    assert "Text with a lost link." in re.sub(r"<[^>]+>", "", page)


# --- size and depth -------------------------------------------------------------------------------


def test_a_chapter_over_one_megabyte_is_checked_and_built(
    write_book: WriteBook, tmp_path: Path
) -> None:
    paragraph = "The house dreams of its own corridors and of [its start](one.md). " * 12
    blocks = [
        (f"## Room {n}\n\n" if n % 40 == 0 else "") + paragraph + "\n" for n in range(1, 1400)
    ]
    body = "\n".join(blocks) + "\nThe last [lost link](lost.md).\n"
    text = chapter("One", "") + body
    assert len(text.encode()) > 1_048_576
    root = write_book({"one.md": text})
    last_line = text.count("\n")
    checked = run("check", root)
    assert checked.returncode == 0, checked.stderr
    assert found(checked.stderr, root) == {("one.md", last_line, "DB031", "warning")}
    output = tmp_path / "out"
    built = build(root, output, "html")
    assert built.returncode == 0, built.stderr
    page = (output / f"{BOOK}.html").read_text(encoding="utf-8")
    assert "Room 1360" in page
    assert "The last lost link." in re.sub(r"<[^>]+>", "", page)


DEPTH = 500


def test_500_deep_lists_and_blockquotes_are_checked_without_a_traceback(
    write_book: WriteBook,
) -> None:
    body = f"{nested_list(DEPTH)}\n\nBetween.\n\n{nested_quotes(DEPTH)}\n\nThe end.\n"
    root = write_book({"one.md": chapter("One", body)})
    result = run("check", root)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1)
    assert re.search(r"^(ok|FAILED): 1 chapter,", result.stderr, re.M), result.stderr


def test_500_deep_blockquotes_are_refused_with_db085_and_nothing_is_written(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root = write_book({"one.md": chapter("One", f"{nested_quotes(DEPTH)}\n\nThe end.\n")})
    output = tmp_path / "out"
    result = build(root, output, "html")
    assert result.returncode == 1, result.stderr
    assert {(name, code) for name, _, code, _ in found(result.stderr, root)} == {
        ("one.md", "DB085")
    }
    assert not output.exists()


def test_twenty_levels_of_nesting_still_build_both_html_and_pdf(
    write_book: WriteBook, tmp_path: Path
) -> None:
    body = f"{nested_list(20)}\n\nBetween.\n\n{nested_quotes(20)}\n\nThe end.\n"
    root = write_book({"one.md": chapter("One", body)})
    output = tmp_path / "out"
    result = build(root, output, "html", "pdf")
    assert result.returncode == 0, result.stderr
    assert "The end." in (output / f"{BOOK}.html").read_text(encoding="utf-8")
    assert "The end." in pdf_text(output / f"{BOOK}.pdf")


# Finding 7 of the hostile-books issue: raw HTML, emphasis and links nest without bound in
# Markdown's eyes; WeasyPrint overflowed Python's stack at 3,000 nested <div>s and the EPUB's
# XML parser refused 256 nested links.
DEEP_INLINE = {
    "raw-div": "<div>" * 3000 + "deep" + "</div>" * 3000,
    "raw-span": "Start " + "<span>" * 400 + "deep" + "</span>" * 400 + " end.",
    "emphasis": "*" * 3000 + "deep" + "*" * 3000,
    "underscores-in-a-link": "[" + "_" * 600 + "deep" + "_" * 600 + "](one.md)",
}


@pytest.mark.parametrize("kind", sorted(DEEP_INLINE))
def test_deep_raw_html_emphasis_and_links_are_refused_at_their_line(
    write_book: WriteBook, tmp_path: Path, kind: str
) -> None:
    body = f"First paragraph.\n\n{DEEP_INLINE[kind]}\n\nThe end.\n"
    root = write_book({"one.md": chapter("One", body)})
    output = tmp_path / "out"
    result = build(root, output, "pdf", "epub", "html")
    assert result.returncode == 1, result.stderr[-2000:]
    assert_clean_failure(result)
    # chapter() writes three lines of front matter and a blank line: the deep line is 7.
    assert found(result.stderr, root) == {("one.md", 7, "DB085", "error")}, result.stderr
    assert "nested more than 64 levels" in result.stderr
    assert not output.exists()


def test_sixty_levels_of_raw_html_and_emphasis_build_every_format(
    write_book: WriteBook, tmp_path: Path
) -> None:
    body = (
        "<div>" * 50 + "\n\ninside\n\n" + "</div>" * 50 + "\n\n"
        + "*" * 40 + "strong" + "*" * 40 + "\n\nThe end.\n"
    )  # fmt: skip
    root = write_book({"one.md": chapter("One", body)})
    output = tmp_path / "out"
    result = build(root, output, "pdf", "epub", "html", trust_html=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "The end." in pdf_text(output / f"{BOOK}.pdf")
    assert (output / f"{BOOK}.epub").is_file()


def test_a_chapter_over_the_size_limit_is_refused_before_it_is_read(
    write_book: WriteBook, tmp_path: Path
) -> None:
    """The issue's 20 MB chapter ran over 15 minutes in the first layout; now it is refused
    by its size, before it is read, and links to it are not reported as dangling too."""
    huge = chapter("Two", "A long sentence that goes on and on about the night.\n\n" * 400_000)
    assert len(huge) > 20_000_000
    root = write_book({"one.md": ONE_LINKS_TWO, "two.md": huge})
    output = tmp_path / "out"
    result = build(root, output, "pdf")
    assert result.returncode == 1, result.stderr[-2000:]
    assert_clean_failure(result)
    assert found(result.stderr, root) == {("two.md", None, "DB081", "error")}, result.stderr
    assert "at most 2 MiB" in result.stderr
    assert "--max-chapter-megabytes" in result.stderr
    assert not output.exists()
    # The limit is the command line's to raise: then the chapter is read (and here, checked).
    raised = run("check", "--max-chapter-megabytes", "30", root)
    assert "DB081" not in raised.stderr, raised.stderr[-2000:]


@pytest.mark.parametrize(
    ("name", "line", "size"),
    [
        ("book.toml", "# " + "a long comment " * 70_000 + "\n", "1.0 MiB"),  # at most 1 MiB
        ("reading-order.txt", "one\n" * 1_200_000, "4.6 MiB"),  # at most 4 MiB
    ],
)
def test_a_settings_file_over_its_size_limit_is_refused_before_it_is_read(
    write_book: WriteBook, tmp_path: Path, name: str, line: str, size: str
) -> None:
    """book.toml and reading-order.txt are read whole: a 500 MB one took check 6-9 s and
    1.5-2.2 GB of memory. Now each is refused by its size, unread."""
    root = write_book({"one.md": ONE_LINKS_TWO, "two.md": chapter("Two", "Text.\n")})
    with (root / name).open("a", encoding="utf-8") as grown:
        grown.write(line)
    checked = run("check", root)
    assert checked.returncode == 1
    assert_clean_failure(checked)
    assert found(checked.stderr, root) == {(name, None, "DB080", "error")}, checked.stderr
    assert f"{name} is {size}" in checked.stderr
    output = tmp_path / "out"
    built = build(root, output, "pdf", "epub")
    assert built.returncode == 1
    assert_clean_failure(built)
    assert not output.exists()


@pytest.mark.parametrize("in_a_file", [True, False], ids=["file", "book.toml"])
def test_a_back_cover_blurb_over_its_size_limit_is_refused(
    write_book: WriteBook, tmp_path: Path, in_a_file: bool
) -> None:
    """A 20 MB blurb passed check and took the cover's layout 94 s and 900 MB."""
    blurb = "More words about the night, and what it rehearses. " * 1_300  # 66 KiB
    root = write_book({"one.md": ONE_LINKS_TWO, "two.md": chapter("Two", "Text.\n")})
    if in_a_file:
        (root / "_back.md").write_text(blurb, "utf-8")
        setting = 'back_text = "_back.md"'
    else:
        setting = f'back_text = "{blurb}"'
    with (root / "book.toml").open("a", encoding="utf-8") as toml:
        toml.write(f"\n[cover]\n{setting}\n")
    line = len((root / "book.toml").read_text("utf-8").splitlines())
    checked = run("check", root)
    assert checked.returncode == 1
    assert_clean_failure(checked)
    where = ("_back.md", None) if in_a_file else ("book.toml", line)
    assert found(checked.stderr, root) == {(*where, "DB105", "error")}, checked.stderr
    output = tmp_path / "out"
    built = build(root, output, "pdf", "cover")
    assert built.returncode == 1
    assert_clean_failure(built)
    assert not output.exists()


def test_raw_html_that_is_not_xhtml_is_reported_at_its_chapter_not_the_templates(
    write_book: WriteBook, tmp_path: Path
) -> None:
    """Kept as written with --trust-html, an attribute name XML refuses breaks the EPUB
    page: the error names the chapter and its line, and blames no template."""
    body = 'Some text.\n\n<div data@x="1">A browser forgives this.</div>\n\nThe end.\n'
    root = write_book({"one.md": ONE_LINKS_TWO, "two.md": chapter("Two", body)})
    output = tmp_path / "out"
    result = build(root, output, "epub", trust_html=True)
    assert result.returncode == 1, result.stderr[-2000:]
    assert_clean_failure(result)
    assert found(result.stderr, root) == {("two.md", 7, "DB051", "error")}, result.stderr
    assert "template" not in result.stderr
    assert not (output / f"{BOOK}.epub").exists()


def assert_built_or_cleanly_refused(
    result: subprocess.CompletedProcess[str], root: Path, written: Path, last_words: str
) -> None:
    """Deep input may be refused with a diagnostic, or built whole; never a traceback."""
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode in (0, 1), result.stderr[-2000:]
    if result.returncode == 0:
        assert written.is_file()
        if written.suffix == ".html":
            assert last_words in written.read_text(encoding="utf-8")
        else:
            assert last_words in pdf_text(written)
    else:
        assert found(result.stderr, root), result.stderr[-2000:]


def test_500_deep_lists_build_the_html_preview_without_a_traceback(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root = write_book({"one.md": chapter("One", f"{nested_list(DEPTH)}\n\nThe end.\n")})
    output = tmp_path / "out"
    result = build(root, output, "html")
    assert_built_or_cleanly_refused(result, root, output / f"{BOOK}.html", "The end.")


@pytest.mark.slow
def test_500_deep_blockquotes_build_the_pdf_without_a_traceback(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root = write_book({"one.md": chapter("One", f"{nested_quotes(DEPTH)}\n\nThe end.\n")})
    output = tmp_path / "out"
    result = build(root, output, "pdf")
    assert_built_or_cleanly_refused(result, root, output / f"{BOOK}.pdf", "The end.")


def test_links_and_next_stages_after_a_deeply_nested_list_are_still_checked(
    write_book: WriteBook,
) -> None:
    body = (
        f"{nested_list(10)}\n\nSee [the lost chapter](lost.md).\n\n"
        "## Next Stages\n\n- [Two](two.md) — onwards.\n"
    )
    root = write_book({"one.md": chapter("One", body), "two.md": chapter("Two")})
    result = run("check", root)
    diagnostics = found(result.stderr, root)
    assert ("one.md", 16, "DB031", "warning") in diagnostics, result.stderr
    assert ("two.md", 1, "DB040", "warning") not in diagnostics, result.stderr


# --- images and other resources -------------------------------------------------------------------


@dataclass(frozen=True)
class BadImage:
    markdown: str
    code: str


BAD_IMAGES: dict[str, BadImage] = {
    "missing file": BadImage("![missing](pics/not-there.png)", "DB062"),
    "dot-dot out of the manuscript": BadImage("![passwd](../../etc/passwd)", "DB060"),
    "absolute path": BadImage("![passwd](/etc/passwd)", "DB061"),
    "symbolic link pointing outside": BadImage("![linked](pics/linked.png)", "DB060"),
    "http URL": BadImage("![remote](http://example.invalid/x.png)", "DB061"),
    "https URL in raw HTML": BadImage(
        '<img src="https://example.invalid/raw.png" alt="raw">', "DB061"
    ),
    "http URL in inline raw HTML": BadImage(
        'Look: <img src="http://example.invalid/inline.png"> here.', "DB061"
    ),
    "file URL in raw HTML": BadImage('<img src="file:///etc/passwd">', "DB061"),
    "data URL": BadImage("![dot](data:image/png;base64,iVBORw0KGgo=)", "DB061"),
    "file URL": BadImage("![passwd](file:///etc/passwd)", "DB061"),
}


@pytest.mark.parametrize("case", sorted(BAD_IMAGES))
def test_each_bad_image_is_an_error_on_its_line_and_nothing_is_built(
    write_book: WriteBook, tmp_path: Path, case: str
) -> None:
    image = BAD_IMAGES[case]
    root = write_book({"one.md": chapter("One", f"Before.\n\n{image.markdown}\n")})
    outside = png(tmp_path / "outside" / "secret.png")
    (root / "pics").mkdir()
    (root / "pics" / "linked.png").symlink_to(outside)
    expected = ("one.md", 7, image.code, "error")
    checked = run("check", root)
    assert checked.returncode == 1, checked.stderr
    assert expected in found(checked.stderr, root), checked.stderr
    output = tmp_path / "out"
    built = build(root, output, "html")
    assert built.returncode == 1, built.stderr
    assert expected in found(built.stderr, root)
    assert not output.exists()


def test_a_remote_raw_image_is_refused_even_with_trust_html(write_book: WriteBook) -> None:
    root = write_book(
        {"one.md": chapter("One", 'Text.\n\n<img src="http://example.invalid/x.png">\n')}
    )
    result = run("check", "--trust-html", root)
    assert result.returncode == 1
    assert ("one.md", 7, "DB061", "error") in found(result.stderr, root), result.stderr


def test_a_cover_that_is_really_text_is_db063_on_its_book_toml_line(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root = write_book(
        {"one.md": chapter("One"), "cover.png": "This is not a picture.\n"},
        book_toml=MINIMAL_TOML + '\n[epub]\ncover = "cover.png"\n',
    )
    result = run("check", root)
    assert result.returncode == 1
    assert ("book.toml", 9, "DB063", "error") in found(result.stderr, root), result.stderr
    output = tmp_path / "out"
    assert build(root, output, "html").returncode == 1
    assert not output.exists()


ESCAPING_IMAGE = "![secret](../../etc/passwd)"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(f"{ESCAPING_IMAGE}\n", id="plain"),
        pytest.param(
            f"{nested_list(10)}\n\n{ESCAPING_IMAGE}\n",
            id="after a list nested ten deep",
        ),
        pytest.param(
            f"```\n{ESCAPING_IMAGE}\n\nmore code\n```\n",
            id="in a backtick fence holding a blank line",
        ),
    ],
)
def test_an_image_leading_out_of_the_manuscript_never_reaches_the_preview_unreported(
    write_book: WriteBook, tmp_path: Path, body: str
) -> None:
    root = write_book({"one.md": chapter("One", body)})
    output = tmp_path / "out"
    result = build(root, output, "html")
    assert "Traceback" not in result.stderr
    if result.returncode == 1:
        assert any(code == "DB060" for _, _, code, _ in found(result.stderr, root))
        assert not output.exists()
    else:
        page = (output / f"{BOOK}.html").read_text(encoding="utf-8")
        assert not re.search(r"<img[^>]*etc/passwd", page), result.stderr


def test_a_styles_folder_linking_out_of_the_manuscript_is_refused(
    write_book: WriteBook, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = write_book({"one.md": chapter("One")}, book_toml=MINIMAL_TOML + 'styles = "house"\n')
    (root / "house").symlink_to(outside, target_is_directory=True)
    result = run("check", root)
    assert result.returncode == 1, result.stderr
    assert any(
        path == "book.toml" and line == 7 and code in {"DB004", "DB060"}
        for path, line, code, _ in found(result.stderr, root)
    ), result.stderr


@pytest.mark.slow
def test_a_private_image_outside_the_manuscript_never_reaches_the_pdf(
    write_book: WriteBook, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    png(outside / "private.png")
    body = "```\n![private](../outside/private.png)\n\nmore code\n```\n"
    root = write_book(
        {"one.md": chapter("One", body)}, book_toml=MINIMAL_TOML + 'styles = "house"\n'
    )
    (root / "house").symlink_to(outside, target_is_directory=True)
    output = tmp_path / "out"
    result = build(root, output, "pdf")
    assert "Traceback" not in result.stderr
    if result.returncode == 0:
        with pymupdf.open(output / f"{BOOK}.pdf") as document:
            assert all(not page.get_images() for page in document)


def test_a_chapter_linking_to_a_file_outside_the_manuscript_is_refused(
    write_book: WriteBook, tmp_path: Path
) -> None:
    private = tmp_path / "outside" / "private.md"
    private.parent.mkdir()
    private.write_text(chapter("Private", "PRIVATE NOTES FROM OUTSIDE.\n"), encoding="utf-8")
    root = write_book(
        {"one.md": chapter("One", "Text.\n\n## Next Stages\n\n- [Notes](notes.md) — x.\n")}
    )
    (root / "notes.md").symlink_to(private)
    result = run("check", root)
    assert result.returncode == 1, result.stderr
    assert any(
        path == "notes.md" and code == "DB060" for path, _, code, _ in found(result.stderr, root)
    ), result.stderr


def test_a_folder_link_looping_back_into_the_manuscript_reads_each_chapter_once(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {
            "one.md": chapter("One", "Text.\n\n## Next Stages\n\n- [Two](part/two.md) — on.\n"),
            "part/two.md": chapter("Two"),
        }
    )
    (root / "part" / "loop").symlink_to(root, target_is_directory=True)
    result = run("check", root)
    assert result.returncode == 0, result.stderr
    assert "ok: 2 chapters, 0 errors, 0 warnings" in result.stderr


# --- raw HTML -------------------------------------------------------------------------------------

UNSAFE_CHAPTER = """\
---
title: One
---

Intro.

<script>alert("s")</script>

<iframe src="https://example.invalid/"></iframe>

<p onclick="alert('c')">Click me.</p>

A paragraph with attributes.
{: onclick="x" }

A [bad link](javascript:alert(1)) here.
"""
UNSAFE_EXPECTED = {
    ("one.md", 7, "DB070", "warning"),
    ("one.md", 9, "DB070", "warning"),
    ("one.md", 11, "DB070", "warning"),
    ("one.md", 14, "DB070", "warning"),
    ("one.md", 16, "DB070", "warning"),
}


def test_unsafe_html_is_reported_with_lines_and_removed_from_the_preview(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root = write_book({"one.md": UNSAFE_CHAPTER})
    checked = run("check", root)
    assert checked.returncode == 0, checked.stderr
    assert found(checked.stderr, root) == UNSAFE_EXPECTED
    output = tmp_path / "out"
    built = build(root, output, "html")
    assert built.returncode == 0, built.stderr
    page = (output / f"{BOOK}.html").read_text(encoding="utf-8").lower()
    for unsafe in ("<script", "onclick", "javascript:", "<iframe"):
        assert unsafe not in page, unsafe
    # The harmless text around the removed markup stays.
    assert "click me." in page
    assert "bad link" in page


def test_trust_html_keeps_the_script_and_reports_no_db070(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root = write_book({"one.md": UNSAFE_CHAPTER})
    checked = run("check", "--trust-html", root)
    assert checked.returncode == 0, checked.stderr
    assert "DB070" not in checked.stderr
    output = tmp_path / "out"
    built = build(root, output, "html", trust_html=True)
    assert built.returncode == 0, built.stderr
    assert "DB070" not in built.stderr
    page = (output / f"{BOOK}.html").read_text(encoding="utf-8")
    assert '<script>alert("s")</script>' in page
    assert 'onclick="x"' in page


SCRIPT_LINKS: dict[str, str] = {
    "inline link": "A [trap](javascript:alert(1)) here.\n",
    "inline link in angle brackets": "A [trap](<javascript:alert(1)>) here.\n",
    "reference-style link": "A [trap][t] here.\n\n[t]: javascript:alert(1)\n",
    "entity-encoded raw anchor": 'A <a href="&#106;avascript:alert(1)">trap</a> here.\n',
}


@pytest.mark.parametrize("case", sorted(SCRIPT_LINKS))
def test_script_links_in_any_spelling_never_reach_the_preview(
    write_book: WriteBook, tmp_path: Path, case: str
) -> None:
    root = write_book({"one.md": chapter("One", SCRIPT_LINKS[case])})
    output = tmp_path / "out"
    result = build(root, output, "html")
    assert result.returncode == 0, result.stderr
    page = html.unescape((output / f"{BOOK}.html").read_text(encoding="utf-8")).lower()
    assert "javascript:" not in page
    assert "alert(1)" not in page
    assert "trap" in page


@pytest.mark.parametrize("case", sorted(SCRIPT_LINKS))
def test_script_links_in_any_spelling_are_reported_as_db070(
    write_book: WriteBook, case: str
) -> None:
    root = write_book({"one.md": chapter("One", SCRIPT_LINKS[case])})
    result = run("check", root)
    assert result.returncode == 0, result.stderr
    assert ("one.md", 5, "DB070", "warning") in found(result.stderr, root), result.stderr


def test_a_javascript_link_shown_as_inline_code_is_not_reported(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root = write_book(
        {"one.md": chapter("One", "Never write `[x](javascript:void(0))` in a book.\n")}
    )
    output = tmp_path / "out"
    result = build(root, output, "html")
    assert result.returncode == 0, result.stderr
    assert "<code>[x](javascript:void(0))</code>" in (output / f"{BOOK}.html").read_text("utf-8")
    assert "DB070" not in result.stderr


def test_markup_in_titles_is_printed_as_text(write_book: WriteBook, tmp_path: Path) -> None:
    toml = MINIMAL_TOML.replace('"A Small Book"', '"A Small Book</title><script>alert(1)</script>"')
    root = write_book(
        {
            "one.md": '---\ntitle: "<script>alert(2)</script>"\nsubtitle: "<b onclick=x>S</b>"\n'
            "---\n\nText.\n"
        },
        book_toml=toml,
    )
    output = tmp_path / "out"
    result = build(root, output, "html")
    assert result.returncode == 0, result.stderr
    (preview,) = output.glob("*.html")
    page = preview.read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "<b onclick" not in page.lower()
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page


# --- what the book prints -------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltBook:
    root: Path
    output: Path
    result: subprocess.CompletedProcess[str]


def _build_once(folder: Path, files: dict[str, str]) -> BuiltBook:
    root = folder / "manuscript"
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    output = folder / "out"
    return BuiltBook(root, output, build(root, output, "pdf", "html"))


JINJA_TOML = '[book]\ntitle = "The {{ 7*7 }} Book"\nauthor = "{{ 8*8 }}"\nstart = "one"\n'
JINJA_CHAPTER = (
    '---\ntitle: "Sums {{ 7*7 }}"\nsubtitle: "{% raw %}and {{ 9*9 }}"\n---\n\n'
    "Body {{ 9*9 }} and {% if true %}kept{% endif %}.\n"
)


@pytest.fixture(scope="module")
def jinja_book(tmp_path_factory: pytest.TempPathFactory) -> BuiltBook:
    return _build_once(
        tmp_path_factory.mktemp("jinja"), {"book.toml": JINJA_TOML, "one.md": JINJA_CHAPTER}
    )


@pytest.mark.slow
def test_template_syntax_in_titles_and_text_prints_literally(jinja_book: BuiltBook) -> None:
    assert jinja_book.result.returncode == 0, jinja_book.result.stderr
    (pdf,) = jinja_book.output.glob("*.pdf")
    (preview,) = jinja_book.output.glob("*.html")
    text = pdf_text(pdf)
    page = html.unescape(preview_text(preview))
    for shown in (text, page):
        assert "The {{ 7*7 }} Book" in shown
        assert "Sums {{ 7*7 }}" in shown
        assert "{% raw %}and {{ 9*9 }}" in shown
        assert "{% if true %}kept{% endif %}" in shown
        for evaluated in ("49", "64", "81"):
            assert evaluated not in shown
    assert "Sums {{ 7*7 }}" in pdf_outline_titles(pdf)
    with pymupdf.open(pdf) as document:
        assert document.metadata["title"] == "The {{ 7*7 }} Book"


RTL_CJK_TITLES = {"one.md": "חלום על נפילה", "two.md": "夢の中で走る", "three.md": "حلم الطيران"}
RTL_CJK_FILES = {
    "book.toml": '[book]\ntitle = "ספר החלומות"\nauthor = "A"\nlanguage = "he"\n'
    'identifier = "urn:uuid:5b1e4c3a-0d7f-4e61-8a2b-9c4d3e2f1a07"\nstart = "one"\n',
    "one.md": chapter(
        RTL_CJK_TITLES["one.md"],
        "זה טקסט בעברית על חלומות.\n\n## Next Stages\n\n"
        f"- [{RTL_CJK_TITLES['two.md']}](two.md) — 次へ。\n"
        f"- [{RTL_CJK_TITLES['three.md']}](three.md) — التالي.\n",
    ),
    "two.md": chapter(RTL_CJK_TITLES["two.md"], "夢の中で逃げる。漢字とかな。\n"),
    "three.md": chapter(RTL_CJK_TITLES["three.md"], "هذا نص عربي عن الأحلام.\n"),
}


@pytest.fixture(scope="module")
def rtl_cjk_book(tmp_path_factory: pytest.TempPathFactory) -> BuiltBook:
    return _build_once(tmp_path_factory.mktemp("rtl-cjk"), RTL_CJK_FILES)


@pytest.mark.slow
def test_hebrew_arabic_and_japanese_titles_reach_the_pdf_text_and_outline(
    rtl_cjk_book: BuiltBook,
) -> None:
    assert rtl_cjk_book.result.returncode == 0, rtl_cjk_book.result.stderr
    # dreambook has no interface words in Hebrew: they are printed in English, and said so.
    assert found(rtl_cjk_book.result.stderr, rtl_cjk_book.root) == {
        ("book.toml", 4, "DB110", "warning")
    }
    (pdf,) = rtl_cjk_book.output.glob("*.pdf")
    text = pdf_text(pdf)
    outline = pdf_outline_titles(pdf)
    for title in RTL_CJK_TITLES.values():
        assert title in text, title
        assert title in outline, title
    assert "ספר החלומות" in text
    with pymupdf.open(pdf) as document:
        assert document.metadata["title"] == "ספר החלומות"
    (preview,) = rtl_cjk_book.output.glob("*.html")
    page = preview.read_text(encoding="utf-8")
    assert all(title in page for title in RTL_CJK_TITLES.values())


@pytest.mark.slow
def test_a_non_latin_title_gives_the_pdf_and_the_preview_one_usable_name(
    rtl_cjk_book: BuiltBook,
) -> None:
    assert rtl_cjk_book.result.returncode == 0, rtl_cjk_book.result.stderr
    (pdf,) = rtl_cjk_book.output.glob("*.pdf")
    (preview,) = rtl_cjk_book.output.glob("*.html")
    assert pdf.stem == preview.stem
    assert not pdf.name.startswith("-")


# --- warnings, --strict and the output folder ------------------------------------------------------


@dataclass(frozen=True)
class Dangling:
    chapter: str
    expected: Found
    printed: str  # the words around the link, which the PDF still prints


DANGLING: dict[str, Dangling] = {
    "Next Stages link": Dangling(
        chapter("One", "Text before.\n\n## Next Stages\n\n- [Gone](gone.md) — away.\n"),
        ("one.md", 9, "DB030", "warning"),
        "Text before.",
    ),
    "cross-reference": Dangling(
        chapter("One", "See [the gone chapter](gone.md#part) for more.\n"),
        ("one.md", 5, "DB031", "warning"),
        "See the gone chapter for more.",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(DANGLING))
def test_a_dangling_link_is_a_warning_and_the_pdf_is_written(
    write_book: WriteBook, tmp_path: Path, case: str
) -> None:
    dangling = DANGLING[case]
    root = write_book({"one.md": dangling.chapter})
    output = tmp_path / "out"
    result = build(root, output, "pdf")
    assert result.returncode == 0, result.stderr
    assert dangling.expected in found(result.stderr, root)
    assert dangling.printed in pdf_text(output / f"{BOOK}.pdf")


@pytest.mark.parametrize("case", sorted(DANGLING))
def test_a_dangling_link_under_strict_is_an_error_and_nothing_is_written(
    write_book: WriteBook, tmp_path: Path, case: str
) -> None:
    dangling = DANGLING[case]
    path, line, code, _ = dangling.expected
    root = write_book({"one.md": dangling.chapter})
    output = tmp_path / "out"
    result = build(root, output, "pdf", "html", strict=True)
    assert result.returncode == 1, result.stderr
    assert (path, line, code, "error") in found(result.stderr, root)
    assert "nothing was written" in result.stderr
    assert not output.exists()


@pytest.mark.slow
def test_a_failed_rebuild_leaves_the_previous_pdf_byte_for_byte(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root = write_book({"one.md": chapter("One", "A good chapter.\n")})
    output = tmp_path / "out"
    first = build(root, output, "pdf")
    assert first.returncode == 0, first.stderr
    pdf = output / f"{BOOK}.pdf"
    before = pdf.read_bytes()
    listing = sorted(p.name for p in output.iterdir())
    (root / "two.md").write_text("---\nsubtitle: No title\n---\n\nText.\n", encoding="utf-8")
    second = build(root, output, "pdf")
    assert second.returncode == 1, second.stderr
    assert ("two.md", 1, "DB014", "error") in found(second.stderr, root)
    assert pdf.read_bytes() == before
    assert sorted(p.name for p in output.iterdir()) == listing
    assert temporary_files(output) == []


@pytest.mark.parametrize("existed", [True, False], ids=["replacing a file", "new file"])
def test_a_writer_that_fails_half_way_leaves_the_destination_untouched(
    tmp_path: Path, existed: bool
) -> None:
    destination = tmp_path / "book.pdf"
    if existed:
        destination.write_bytes(b"%PDF- the previous good book")

    class WriterFailed(RuntimeError):
        pass

    def write_half_a_book() -> None:
        with atomic_output(destination) as output:
            output.write(b"%PDF- half a book")
            raise WriterFailed("layout died")

    with pytest.raises(WriterFailed):
        write_half_a_book()
    if existed:
        assert destination.read_bytes() == b"%PDF- the previous good book"
    else:
        assert not destination.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["book.pdf"] if existed else [])


@pytest.fixture
def unwritable_output(tmp_path: Path) -> Iterator[Path]:
    """An output folder that cannot be created.

    Under a normal user, a folder inside a read-only folder. As root, permissions do not
    stop writes, so a folder whose parent is a regular file (which fails for anyone).
    """
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.geteuid() != 0 and not os.access(locked, os.W_OK):
            yield locked / "out"
        else:
            blocker = tmp_path / "blocker"
            blocker.write_text("a file, not a folder\n", encoding="utf-8")
            yield blocker / "out"
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("output_format", ["html", pytest.param("pdf", marks=pytest.mark.slow)])
def test_an_unwritable_output_folder_is_a_clean_error(
    write_book: WriteBook, unwritable_output: Path, output_format: str
) -> None:
    root = write_book({"one.md": chapter("One")})
    result = build(root, unwritable_output, output_format)
    assert result.returncode == 1, result.stderr
    assert_clean_failure(result)
    assert "cannot write the output" in result.stderr
    assert not unwritable_output.exists()


def test_an_output_file_that_is_a_folder_is_a_clean_error_and_leaves_no_temporary_file(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root = write_book({"one.md": chapter("One")})
    output = tmp_path / "out"
    (output / f"{BOOK}.html").mkdir(parents=True)
    result = build(root, output, "html")
    assert result.returncode == 1, result.stderr
    assert_clean_failure(result)
    assert f"cannot write {output / BOOK}.html: is a folder there" in result.stderr
    assert temporary_files(output) == []
    assert (output / f"{BOOK}.html").is_dir()


def test_an_output_file_that_is_a_symbolic_link_is_replaced_not_followed(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root = write_book({"one.md": chapter("One")})
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file\n", encoding="utf-8")
    output = tmp_path / "out"
    output.mkdir()
    (output / f"{BOOK}.html").symlink_to(victim)
    result = build(root, output, "html")
    assert result.returncode == 0, result.stderr
    assert victim.read_text(encoding="utf-8") == "someone else's file\n"
    assert not (output / f"{BOOK}.html").is_symlink()
    assert "<html" in (output / f"{BOOK}.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", ["check", "order", "build"])
def test_a_manuscript_folder_that_does_not_exist_is_a_usage_error(
    tmp_path: Path, command: str
) -> None:
    output = tmp_path / "out"
    # Only build writes, so only build takes an output folder (issue 17).
    writes = ["-o", output] if command == "build" else []
    result = run(command, tmp_path / "no-such-manuscript", *writes, cwd=tmp_path)
    assert result.returncode == 2
    assert_clean_failure(result)
    assert "is not a folder" in result.stderr
    assert not output.exists()


# --- the network is never touched ----------------------------------------------------------------


@pytest.fixture
def connection_attempts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """Record, and refuse, every attempt to resolve a host name or open a connection."""
    attempts: list[tuple[object, ...]] = []

    def refuse(*arguments: object, **keywords: object) -> NoReturn:
        attempts.append(arguments)
        raise OSError("the test suite allows no network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


@pytest.mark.slow
def test_remote_urls_in_a_stylesheet_and_trusted_html_are_refused_without_a_connection(
    write_book: WriteBook, tmp_path: Path, connection_attempts: list[tuple[object, ...]]
) -> None:
    # A remote <img> in trusted raw HTML never gets this far: check refuses it (DB061, see
    # test_a_remote_raw_image_is_refused_even_with_trust_html). What only the writer can
    # see is a url() in a stylesheet or a trusted style attribute.
    root = write_book(
        {
            "one.md": chapter(
                "One",
                "Text.\n\n"
                '<p style="background-image: url(https://example.invalid/inline.png)">S.</p>\n',
            ),
            "house/print.css": "body { background: url(http://example.invalid/x.png); }\n"
            "h1 { font-size: 20pt; }\n",
        },
        book_toml=MINIMAL_TOML + 'styles = "house"\n',
    )
    output = tmp_path / "out"
    result = build_book(root, output, ["pdf"], ["digital"], Options(trust_html=True))
    assert connection_attempts == []
    assert result.files == (output / f"{BOOK}.pdf",)
    assert result.files[0].is_file()
    # The stylesheet's url() is left out of it before the layout sees it (DB065 at check);
    # the trusted style attribute's is refused by the layout (DB061 at its line).
    removed = [(d.code, d.path, d.line) for d in result.checked.diagnostics]
    assert ("DB065", root / "house" / "print.css", 1) in removed, removed
    refused = [(d.path, d.line, d.message) for d in result.writer_diagnostics if d.code == "DB061"]
    assert [(path, line) for path, line, _ in refused] == [(root / "one.md", 7)], refused
    assert "https://example.invalid/inline.png" in refused[0][2]


def test_a_remote_image_in_trusted_raw_html_stops_the_build_without_a_connection(
    write_book: WriteBook, tmp_path: Path, connection_attempts: list[tuple[object, ...]]
) -> None:
    root = write_book(
        {"one.md": chapter("One", 'Text.\n\n<img src="http://example.invalid/x.png">\n')}
    )
    output = tmp_path / "out"
    with pytest.raises(ManuscriptError) as raised:
        build_book(root, output, ["pdf"], ["digital"], Options(trust_html=True))
    assert connection_attempts == []
    assert [(d.code, d.path, d.line) for d in raised.value.diagnostics if d.is_error] == [
        ("DB061", root / "one.md", 7)
    ]
    assert not output.exists()


def test_a_font_file_that_is_no_font_is_reported_and_nothing_is_written(
    write_book: WriteBook, tmp_path: Path
) -> None:
    """A book's own styles folder whose font files are not fonts (text renamed .ttf, a
    program cut short, a WOFF that is none): check names each one (DB068), and a build
    stops with them before anything is written, with no traceback. Before DB068 the EPUB's
    subsetter met the first one and its traceback reached the user."""
    program = (
        Path(__file__).resolve().parents[2] / "styles/fonts/Vollkorn-Regular.ttf"
    ).read_bytes()
    root = write_book(
        {
            "one.md": chapter("One", "Text."),
            "house/fonts/Vollkorn-Regular.ttf": "this is not a font\n",
            "house/fonts/Cut.otf": program[:4000],
            "house/fonts/Web.woff2": b"wOFFnot a woff2",
            "house/fonts/Good.ttf": program,
            "house/fonts/OFL.txt": "The licence.\n",
            "house/fonts/Huge.ttf": b"",  # made sparse below
        },
        book_toml=MINIMAL_TOML + 'styles = "house"\n',
    )
    with (root / "house/fonts/Huge.ttf").open("wb") as huge:  # 65 MiB, read no further
        huge.truncate(65 * 1_048_576)
    checked = run("check", root)
    assert checked.returncode == 1
    assert_clean_failure(checked)
    assert found(checked.stderr, root) == {
        ("house/fonts/Vollkorn-Regular.ttf", None, "DB068", "error"),
        ("house/fonts/Cut.otf", None, "DB068", "error"),
        ("house/fonts/Web.woff2", None, "DB068", "error"),
        ("house/fonts/Huge.ttf", None, "DB068", "error"),
    }
    assert "65.0 MiB" in checked.stderr
    output = tmp_path / "out"
    built = build(root, output, "epub", "html")
    assert built.returncode == 1
    assert_clean_failure(built)
    assert codes(built.stderr).count("DB068") == 4
    assert not output.exists()


def _published(output: Path) -> list[str]:
    """What a build put in ``output`` for readers (not its cache, lock or leftovers)."""
    return (
        sorted(p.name for p in output.iterdir() if not p.name.startswith("."))
        if output.is_dir()
        else []
    )


def _with_house_template(write_book: WriteBook, name: str, text: str | bytes) -> Path:
    """The sample-like minimal book with ``house/NAME`` in its own styles folder."""
    return write_book(
        {"one.md": chapter("One", "Text."), f"house/{name}": text},
        book_toml=MINIMAL_TOML + 'styles = "house"\n',
    )


def test_a_template_cannot_reach_python_internals_to_run_a_command(
    write_book: WriteBook, tmp_path: Path
) -> None:
    """A book's own template is a program: in a plain Jinja2 environment this one ran a
    shell command (server-side template injection). In the sandbox it is refused at its
    line, the command never runs, and nothing is written."""
    marker = tmp_path / "ran"
    default = (Path(__file__).resolve().parents[2] / "styles/epub-chapter.xhtml.j2").read_text()
    attack = "{{ cycler.__init__.__globals__.os.popen('touch " + str(marker) + "').read() }}\n"
    root = _with_house_template(write_book, "epub-chapter.xhtml.j2", attack + default)
    output = tmp_path / "out"
    result = build(root, output, "epub")
    assert result.returncode == 1
    assert_clean_failure(result)
    assert found(result.stderr, root) == {("house/epub-chapter.xhtml.j2", 1, "DB069", "error")}
    assert "unsafe" in result.stderr
    assert not marker.exists()
    assert _published(output) == []


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("print.html.j2", "<p>\n{% if %}\n", 2),  # not Jinja2
        ("cover.html.j2", "{{ foo( }}", 1),
        ("epub.css", b"p { color: red; }\n\xff\xfe broken\n", 2),  # not UTF-8
        ("site-page.html.j2", b"<p>\xe9t\xe9</p>", 1),
        ("cover.html.j2", '<p>\n{% include "nope.html" %}', 2),  # names no template
        ("print.html.j2", '{% extends "../../../etc/passwd" %}', 1),
        ("print.css", "p { color: red; }\n" * 250_000, None),  # 4.3 MiB: too large to read
    ],
)
def test_a_styles_file_that_cannot_be_used_is_reported_by_check_at_its_line(
    write_book: WriteBook, tmp_path: Path, name: str, text: str | bytes, line: int | None
) -> None:
    root = _with_house_template(write_book, name, text)
    checked = run("check", root)
    assert checked.returncode == 1
    assert_clean_failure(checked)
    assert found(checked.stderr, root) == {(f"house/{name}", line, "DB069", "error")}
    output = tmp_path / "out"
    built = build(root, output, "pdf", "epub", "html")
    assert built.returncode == 1
    assert_clean_failure(built)
    assert not output.exists()


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("{{ book.no_such_thing }}", "no attribute"),  # fails as it renders
        ("{{ 7 ** 123456789 }}", "exponent"),  # would take the machine's time
        ("{{ 'x' * 10 ** 3 * 10 ** 3 * 10 }}", "too long"),  # and its memory
        ('{% include "no" ~ "pe.html" %}', "no styles folder has"),  # a name check cannot read
    ],
)
def test_a_template_that_fails_as_it_renders_stops_the_build_at_its_line(
    write_book: WriteBook, tmp_path: Path, expression: str, words: str
) -> None:
    default = (Path(__file__).resolve().parents[2] / "styles/epub-chapter.xhtml.j2").read_text()
    root = _with_house_template(write_book, "epub-chapter.xhtml.j2", f"\n{expression}\n{default}")
    assert run("check", root).returncode == 0  # nothing check can see
    output = tmp_path / "out"
    result = build(root, output, "epub")
    assert result.returncode == 1
    assert_clean_failure(result)
    assert found(result.stderr, root) == {("house/epub-chapter.xhtml.j2", 2, "DB069", "error")}
    assert words in result.stderr
    assert _published(output) == []


def _cut_short_jpeg(path: Path, size: tuple[int, int]) -> None:
    """A JPEG whose file stops a third of the way in, as a failed copy leaves it: its headers
    are whole, so Pillow's verify() passes it."""
    picture = Image.linear_gradient("L").resize(size).convert("RGB")
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def test_an_image_cut_short_is_refused_not_shipped_broken(
    write_book: WriteBook, tmp_path: Path
) -> None:
    """A cover and a chapter picture whose files stop part-way: check reports each (DB063)
    and nothing is written. Before, both went into the EPUB as they were, a broken cover
    for every reader and retailer."""
    root = write_book(
        {"one.md": chapter("One", "Text.\n\n![A gradient](gradient.jpg)\n")},
        book_toml=MINIMAL_TOML + '\n[epub]\ncover = "cover.jpg"\n',
    )
    _cut_short_jpeg(root / "cover.jpg", (1600, 2560))
    _cut_short_jpeg(root / "gradient.jpg", (900, 600))
    checked = run("check", root)
    assert checked.returncode == 1
    assert_clean_failure(checked)
    problems = {(path, code) for path, _, code, _ in found(checked.stderr, root)}
    assert problems == {("book.toml", "DB063"), ("one.md", "DB063")}
    assert "truncated" in checked.stderr
    output = tmp_path / "out"
    built = build(root, output, "epub", "pdf")
    assert built.returncode == 1
    assert not output.exists()


def test_a_template_that_loops_without_end_is_stopped(
    write_book: WriteBook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nested loops over long ranges would keep a build busy for days: a template renders
    for a bounded CPU time (a minute; a second here), then the build stops with DB069 at the
    template's line and writes nothing."""
    from dreambook import templates
    from dreambook.errors import BuildError

    monkeypatch.setattr(templates, "MOST_RENDER_SECONDS", 1.0)
    default = (Path(__file__).resolve().parents[2] / "styles/epub-chapter.xhtml.j2").read_text()
    endless = "{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}"
    root = _with_house_template(write_book, "epub-chapter.xhtml.j2", f"{default}\n{endless}\n")
    output = tmp_path / "out"
    with pytest.raises(BuildError) as raised:
        build_book(root, output, ["epub"])
    (problem,) = raised.value.diagnostics
    assert (problem.code, problem.path, problem.line) == (
        "DB069",
        root / "house" / "epub-chapter.xhtml.j2",
        default.count("\n") + 2,
    )
    assert "more than 1 s of CPU" in problem.message
    assert _published(output) == []


def _png_header(width: int, height: int) -> bytes:
    """A PNG claiming ``width`` × ``height`` pixels that holds a few bytes of them: what a
    decompression bomb looks like to anything that reads only its header."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)  # a start of the rows, nothing like all of them
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_pictures_of_the_styles_folder_are_checked_as_chapter_images_are(
    write_book: WriteBook, tmp_path: Path
) -> None:
    """A stylesheet's url() hands a picture of the styles folder to the layout, which decodes
    whatever it is given: check holds them to a chapter image's rules (DB064 over 50 million
    pixels, DB063 for what is no image or is cut short)."""
    root = write_book(
        {
            "one.md": chapter("One", "Text."),
            "house/print.css": "body { background: url(paper.png); }\n",
            "house/paper.png": _png_header(20_000, 20_000),
            "house/ornament.jpg": b"\xff\xd8\xff\xe0 not really a JPEG",
        },
        book_toml=MINIMAL_TOML + 'styles = "house"\n',
    )
    png(root / "house" / "fine.png")
    checked = run("check", root)
    assert checked.returncode == 1
    assert_clean_failure(checked)
    assert {(path, code) for path, _, code, _ in found(checked.stderr, root)} == {
        ("house/paper.png", "DB064"),
        ("house/ornament.jpg", "DB063"),
    }
