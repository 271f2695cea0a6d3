"""The manuscript reader's shortcuts give the same chapters as reading without them.

To keep `check` quick on big books, the manuscript reader skips work that cannot find anything:
block rules whose marks a body lacks, inline parsing of text with no markup characters,
markdown-it altogether for a body in plain Markdown (the quick path) and for text whose only
markup is simple links, the YAML parser for plain 'key: value' front matter, and one process
for big manuscripts.
Each test reads the same files with and without the shortcuts and wants equal results.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dreambook.manuscript import frontmatter, index, load_book, loader, read_chapter
from tests.conftest import MINIMAL_TOML, in_fresh_process

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
    monkeypatch.setattr(index, "_quick_index", lambda body, body_line, heading: None)
    monkeypatch.setattr(index, "_plain_links", lambda content: None)


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


def _read_alone_and_shared(root: Path) -> bool:
    alone = load_book(root, jobs=1)
    loader.PARALLEL_READ_BYTES = 1
    shared = load_book(root, jobs=3)
    return shared == alone


def test_a_big_manuscript_reads_the_same_shared_with_forked_children(tmp_path: Path) -> None:
    from dreambook.bench import write_synthetic_manuscript

    root = write_synthetic_manuscript(tmp_path / "book", chapters=150, words=30_000, seed=5)
    (root / "chapter-0140.md").write_text("---\ntitle: [broken\n---\n\nText.\n", "utf-8")
    # A fresh interpreter runs no thread, so it forks its readers (workers.may_fork).
    assert in_fresh_process(_read_alone_and_shared, root)


# Lines near the edge of what the quick path reads (index._quick_index): each shape it reads,
# and near misses that markdown-it reads otherwise (a list marker without text, a setext
# underline, a thematic break, a table's delimiter row after a heading or inside a paragraph,
# a lazy continuation of a list item, a heading with a closing sequence).
QUICK_LINES = [
    "Plain words and more plain words.",
    "Words, then a [link](two.md) and [a section](two.md#part-one) in one line.",
    "A [link](two.md)! And an ![image](figure.png).",
    "Stop! [Two](two.md)",
    "*Emphasis* and **strong** and _under_ words.",
    "A [reference link][ref] here, and [brackets] alone.",
    'A [link with a title](two.md "Title") and a [bare link](https://example.com/x).',
    "[Two](two.md) — onward.",
    "Two — by its bare title.",
    "## A Heading",
    "## Next Stages",
    "# Title",
    "### A Smaller Heading | with a bar",
    "## Closing sequence ##",
    "####### Seven",
    "#hashtag",
    "- a list item with [a link](two.md)",
    "- [Two](two.md) — onward.",
    "- [Missing](missing.md) — nowhere.",
    "- [Two](two.md) or [One](one.md#x) — either,  then [Two](two.md).",
    "- See [Two](two.md)!",
    "- Two",
    "- **Strong.** Then words.",
    "- - nested",
    "- # heading in an item",
    "- 1. ordered in an item",
    "- ***",
    "-",
    "* a star item",
    "+ a plus item",
    "1. an ordered item",
    "2) another",
    "2024 was a year.",
    "-- two dashes",
    "--",
    "---",
    "***",
    "_ _ _",
    "===",
    "= not an underline",
    "| a | b |",
    "| Sign | Meaning |",
    "|---|---|",
    "| :-- | --: |",
    "|---|",
    "a | b",
    "--|--",
    ":-:",
    "| [Two](two.md) | cell |",
    "| one cell |",
    "|",
    "| Sign | Meaning |\n|---|---|\n| A [Two](two.md) sign. | A meaning. |\n| x | y |",
    "| a | b |\n| :-- | --: |\n| one |\n| one | two | three |",
    "|a|\n|-|\n|[Two](two.md)|",
    "| a | b |\n|---|---|\ntext after a row",
    "| a | b |\n|---|",
    "## Heading | bar\n|---|---|",
    "",
    "",
    "",
]


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(st.sampled_from(QUICK_LINES), min_size=1, max_size=16))
def test_the_quick_path_indexes_as_markdown_it_does(lines: list[str]) -> None:
    body = "\n" + "\n".join(lines) + "\n"
    quick = index._quick_index(body, 5, "Next Stages")
    with pytest.MonkeyPatch.context() as monkeypatch:
        _without_shortcuts(monkeypatch)
        thorough = index.index_body(body, 5, "Next Stages")
    if quick is not None:
        assert quick == thorough


def test_the_quick_path_reads_the_benchmarks_chapters(tmp_path: Path) -> None:
    from dreambook.bench import write_synthetic_manuscript

    # The chapters of the benchmark's graph case: the shortest it writes.
    root = write_synthetic_manuscript(tmp_path / "book", chapters=12, words=1_200, seed=5)
    for path in sorted(root.glob("*.md")):
        front, body, body_line, _ = frontmatter.split_front_matter(path.read_text("utf-8"), path)
        assert front is not None
        quick = index._quick_index(body, body_line, "Next Stages")
        assert quick is not None, path.name
        with pytest.MonkeyPatch.context() as monkeypatch:
            _without_shortcuts(monkeypatch)
            assert quick == index.index_body(body, body_line, "Next Stages")


def test_the_quick_path_refuses_every_other_white_space() -> None:
    others = {chr(code) for code in range(0x110000) if chr(code).isspace()} - {" ", "\n"}
    refused = {c for c in others if index._QUICK_REFUSED_RE.search(c)}
    assert refused == others


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab [](!)*_/#.:-—<`&\\\n", max_size=40))
def test_plain_links_are_tokens_as_markdown_it_makes_them(content: str) -> None:
    content = content.strip()
    quick = index._plain_links(content)
    if quick is not None:
        made = index._inline_parser().parseInline(content, {})[0].children or []
        assert [_fields(token) for token in quick] == [_fields(token) for token in made]


def _fields(token: object) -> dict[str, object]:
    names = ["type", "tag", "nesting", "attrs", "map", "level", "children", "content"]
    names += ["markup", "info", "meta", "block", "hidden"]
    return {name: getattr(token, name) for name in names}


def test_the_quick_path_trims_as_markdown_it_does() -> None:
    from markdown_it.common.utils import MD_TRIM_CHARS

    # Of the characters markdown-it trims, the quick path meets only these two.
    assert {c for c in MD_TRIM_CHARS if not index._QUICK_REFUSED_RE.search(c)} == {" ", "\n"}
