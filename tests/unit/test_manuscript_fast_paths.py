"""The manuscript reader's shortcuts give the same chapters as reading without them.

To keep `check` quick on big books, the manuscript reader skips work that cannot find anything:
block rules whose marks a body lacks, inline parsing of text with no markup characters,
the YAML parser for plain 'key: value' front matter, and one process for big manuscripts.
Each test reads the same files with and without the shortcuts and wants equal results.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dreambook.manuscript import frontmatter, index, load_book, loader, read_chapter
from tests.conftest import MINIMAL_TOML

# Lines that exercise every shortcut: each block rule's marks, inline markup of every kind,
# near misses (two dashes, a lone '=' inside text), entities that decode to brackets.
LINES = [
    "Plain words and more plain words.",
    "A [link](two.md) and [a section](two.md#part-one).",
    "An ![image](figure.png) in text.",
    "Text with *emphasis*, `code` and **strong** words.",
    "A [reference link][ref] here.",
    "[ref]: two.md",
    "An entity &#91;not a link&#93; and &amp; and &#123;x&#125;.",
    "Raw <span>inline html</span> here.",
    "<div>a block of html</div>",
    "> A quotation with a [link](two.md).",
    "```",
    "~~~",
    "    indented code [not a link](two.md)",
    "---",
    "***",
    "* * *",
    "___",
    "- ***",
    "1. - - -",
    "> _ _ _",
    "   ---   ",
    "x ---",
    "===",
    "-- two dashes only",
    "x = y and a - b",
    "| a | b |",
    "|---|---|",
    "- a list item with [a link](two.md)",
    "1. an ordered item",
    "  - a nested item",
    "## A Heading",
    "## Heading {#custom-id}",
    "## Next Stages",
    "> ## Next Stages",
    "> ```",
    "  ```",
    "```python and more words",
    "<div>",
    "</div>",
    "- [Two](two.md) — onward.",
    "- Two — by its bare title.",
    "- [Missing](missing.md) — nowhere.",
    "",
    "",
]

FRONT_MATTERS = [
    "title: One",
    "title: One\nslug: one-again",
    "title: Chapter 1984\nsubtitle: A year, then another",
    "title: 'Quoted: with a colon'",
    'title: "Double quoted"',
    "title: yes",
    "title: null",
    "title: ~",
    "title: One\nending: true",
    "title: One\nending: no",
    "title: One\nending: maybe",
    "title: One\nunknown: key",
    "title: One # a comment",
    "title: [a, list]",
    "title:",
    "title: Running (fast) / slow - well!",
]


def _without_shortcuts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index, "_BLOCK_RULE_MARKS", ())
    monkeypatch.setattr(index, "_BLOCK_RULE_PATTERNS", ())
    monkeypatch.setattr(index, "_may_hold_markup", lambda text: True)
    monkeypatch.setattr(index, "_INLINE_MARKUP_RE", re.compile(""))
    monkeypatch.setattr(frontmatter, "_plain_entries", lambda source, first_line: None)


def _write(root: Path, front: str, body: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "book.toml").write_text(MINIMAL_TOML, encoding="utf-8")
    (root / "two.md").write_text("---\ntitle: Two\n---\n\n## Part One\n", encoding="utf-8")
    path = root / "one.md"
    path.write_text(f"---\n{front}\n---\n\n{body}\n", encoding="utf-8")
    return path


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    front=st.sampled_from(FRONT_MATTERS),
    lines=st.lists(st.sampled_from(LINES), min_size=1, max_size=14),
)
def test_chapters_read_the_same_with_and_without_the_shortcuts(
    tmp_path_factory: pytest.TempPathFactory, front: str, lines: list[str]
) -> None:
    root = tmp_path_factory.mktemp("book")
    path = _write(root, front, "\n".join(lines))
    quick = read_chapter(path, root, "Next Stages")
    with pytest.MonkeyPatch.context() as monkeypatch:
        _without_shortcuts(monkeypatch)
        thorough = read_chapter(path, root, "Next Stages")
    assert quick == thorough


def test_a_big_manuscript_reads_the_same_in_worker_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dreambook.bench import write_synthetic_manuscript

    root = write_synthetic_manuscript(tmp_path / "book", chapters=120, words=36_000, seed=3)
    (root / "chapter-0007.md").write_text("---\ntitle: [broken\n---\n\nText.\n", "utf-8")
    alone = load_book(root, jobs=1)
    monkeypatch.setattr(loader, "PARALLEL_READ_BYTES", 1)
    shared = load_book(root, jobs=2)
    assert shared == alone
    assert len(shared[0].chapters) == 120
    assert "DB012" in [d.code for d in shared[1]]
