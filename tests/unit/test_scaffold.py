"""Unit tests for scaffold.py: the book.toml that ``init`` writes follows config.BOOK_KEYS."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from dreambook import styles_check
from dreambook.config import BOOK_KEYS, parse_book_toml
from dreambook.pipeline import check_manuscript
from dreambook.scaffold import init_book, new_book_tables

_COMMENTED_KEY = re.compile(r"^# ([a-z_]+ = .*)$", re.M)
TODAY = dt.date(2026, 11, 25)


@pytest.fixture(scope="module")
def new_book_toml(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("init") / "mybook"
    init_book(folder, "Night Notes", "A. Writer", TODAY)
    return (folder / "book.toml").read_text("utf-8")


def test_init_book_toml_has_every_key_in_its_table_set_or_commented(new_book_toml: str) -> None:
    table = ""
    found: list[tuple[str, str]] = []
    for line in new_book_toml.splitlines():
        if header := re.fullmatch(r"\[([a-z]+)\]", line):
            table = header.group(1)
        elif key := re.fullmatch(r"(?:# )?([a-z_]+) = .*", line):
            found.append((table, key.group(1)))

    assert found == [(key.table, key.key) for key in BOOK_KEYS]


def test_init_book_toml_sets_what_init_knows_and_passes_without_problems(
    new_book_toml: str,
) -> None:
    config, diagnostics = parse_book_toml(new_book_toml, Path("book.toml"))

    assert diagnostics == []
    assert (config.title, config.authors, config.date) == ("Night Notes", ("A. Writer",), TODAY)
    assert config.rights == "Copyright © 2026 A. Writer"
    assert (config.start, config.styles) == ("opening", "styles")
    assert config.identifier is not None
    assert config.identifier.startswith("urn:uuid:")


def test_every_commented_key_in_init_book_toml_is_a_valid_value(new_book_toml: str) -> None:
    everything = _COMMENTED_KEY.sub(r"\1", new_book_toml)

    _, diagnostics = parse_book_toml(everything, Path("book.toml"))

    # author is set by init, so its list form may only be an alternative to it.
    assert [d.message for d in diagnostics] == ["[book] has both author and authors"]


def test_new_book_tables_refuses_a_key_book_toml_does_not_have() -> None:
    with pytest.raises(KeyError, match=r"book\.colour"):
        new_book_tables({"book.colour": "blue"})


def test_check_does_not_parse_again_the_styles_files_init_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dreambook's own styles are checked by its tests; a book's unchanged copies of them
    # (every `dreambook init` book has them) are taken as they are, a changed one is not.
    folder = tmp_path / "book"
    init_book(folder, "Night Notes", "A. Writer", TODAY)

    def parsed(*arguments: object) -> list[object]:
        raise AssertionError(f"parsed again: {arguments[0]}")

    with monkeypatch.context() as patched:
        for name in ("_text_problems", "_font_problems"):
            patched.setattr(styles_check, name, parsed)
        assert [d.code for d in check_manuscript(folder).diagnostics] == ["DB024"]
    template = folder / "styles" / "print.html.j2"
    template.write_text(template.read_text("utf-8") + "{% if %}\n", "utf-8")
    codes = [d.code for d in check_manuscript(folder).diagnostics]
    assert codes == ["DB024", "DB069"]
