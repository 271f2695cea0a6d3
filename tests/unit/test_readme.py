"""The README documents what the code does: its tables and its examples stay true."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from dreambook.config import BOOK_KEYS, parse_book_toml
from dreambook.diagnostics import CODES
from dreambook.pipeline import check_manuscript
from dreambook.toml_schema import BookKey
from tests.conftest import REPO, SAMPLE_MANUSCRIPT

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_code_table_lists_every_code_with_its_name_and_severity() -> None:
    rows = re.findall(r"^\| ((?:DB|PF)\d{3}) \| `([a-z0-9-]+)` \| (error|warning) \|", README, re.M)
    documented = {code: (name, severity) for code, name, severity in rows}
    expected = {code: (entry.name, entry.severity.value) for code, entry in CODES.items()}
    assert documented == expected


def test_readme_example_chapter_is_a_valid_chapter_of_the_sample_book(tmp_path: Path) -> None:
    example = re.search(r"```markdown\n(---\n.*?)```", README, re.S)
    assert example, "the README has no example chapter"
    manuscript = tmp_path / "manuscript"
    shutil.copytree(SAMPLE_MANUSCRIPT, manuscript)
    (manuscript / "sleepwalking-through-the-house.md").write_text(example.group(1), "utf-8")
    checked = check_manuscript(manuscript)
    # The example is not linked from the sample book, so being unreachable is its only problem.
    assert [(d.code, d.path.name if d.path else None) for d in checked.diagnostics] == [
        ("DB040", "sleepwalking-through-the-house.md")
    ]
    edges = checked.graph.next_stages["sleepwalking"]
    assert [edge.target for edge in edges] == ["being-trapped", "falling"]
    assert edges[1].blurb == "the jolt that wakes you at the edge of sleep."
    targets = {(x.target, x.section_id) for x in checked.graph.cross_references["sleepwalking"]}
    assert targets == {("being-trapped", "common-scenarios"), ("sleepwalking", "dream-timestamp")}


def _key_table_row(key: BookKey) -> str:
    default = "required" if key.required else f"`{key.default_toml}`" if key.default_toml else "—"
    return f"| `[{key.table}]` | `{key.key}` | {key.kind.name} | {default} | {key.doc} |"


def test_readme_book_toml_table_lists_every_key_with_its_type_default_and_meaning() -> None:
    documented = re.findall(r"^\| `\[[a-z]+\]` \| .*$", README, re.M)
    expected = [_key_table_row(key) for key in BOOK_KEYS]
    assert documented == expected, "the README's book.toml table should read:\n" + "\n".join(
        expected
    )


def test_readme_book_toml_example_is_a_book_toml_without_problems() -> None:
    example = re.search(r"### book.toml\n\n```toml\n(.*?)```", README, re.S)
    assert example, "the README has no example book.toml"
    config, diagnostics = parse_book_toml(example.group(1), Path("book.toml"))
    assert diagnostics == []
    assert config.title == "What the Night Rehearses"
