"""The README documents what the code does: its code table and its example chapter stay true."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from dreambook.diagnostics import CODES
from dreambook.pipeline import check_manuscript
from tests.conftest import REPO, SAMPLE_MANUSCRIPT

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_code_table_lists_every_code_with_its_name_and_severity() -> None:
    rows = re.findall(r"^\| (DB\d{3}) \| `([a-z0-9-]+)` \| (error|warning) \|", README, re.M)
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
