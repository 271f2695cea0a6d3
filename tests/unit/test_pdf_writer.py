"""The PDF writer's own logic, without laying out a book: folios, wording, lost chapters."""

from __future__ import annotations

import builtins
import re
from pathlib import Path
from typing import Any

import pytest
from markupsafe import Markup

from dreambook.errors import BuildError, MissingDependencyError
from dreambook.export.pdf import layout, weasy
from dreambook.export.pdf.folios import PageMap, PageNumbers, roman
from dreambook.render import ChapterLink, NextStageEntry


def test_roman_numerals_for_front_matter_folios() -> None:
    assert [roman(n) for n in (1, 4, 9, 14, 40, 90, 400, 1994)] == [
        "i", "iv", "ix", "xiv", "xl", "xc", "cd", "mcmxciv"
    ]  # fmt: skip


def test_folios_are_roman_before_the_body_and_arabic_from_its_first_page() -> None:
    page_map = PageMap({"one": 6}, body_start=6, page_count=10)
    assert [page_map.folio(i) for i in range(10)] == [
        "i", "ii", "iii", "iv", "v", "vi", "1", "2", "3", "4"
    ]  # fmt: skip


def _entry() -> NextStageEntry:
    return NextStageEntry(
        ChapterLink("two", "two", Markup("Two")), Markup("onwards"), "one--next-1"
    )


@pytest.mark.parametrize(
    ("item_page", "target_page", "wording"),
    [
        (8, 9, "overleaf"),  # item on a recto (even index), target on its back
        (9, 10, "on the facing page"),  # verso, then the recto facing it
        (8, 7, "on the facing page"),  # recto, target on the verso facing it
        (8, 14, "p.\u00a09"),
        (9, 8, "p.\u00a03"),  # the page before a verso is the back of the leaf: not facing
    ],
)
def test_next_stage_wording_depends_on_where_the_two_pages_lie(
    item_page: int, target_page: int, wording: str
) -> None:
    page_map = PageMap({"one--next-1": item_page, "two": target_page}, body_start=6, page_count=20)
    assert PageNumbers(page_map).next_stage(_entry()) == wording


def test_before_layout_page_numbers_are_placeholders_of_realistic_width() -> None:
    pages = PageNumbers(None)
    assert pages.folio("anything") == "88"
    assert pages.next_stage(_entry()) == "p.\u00a088"


def test_page_breaks_name_the_first_block_of_each_body_page() -> None:
    page_map = PageMap(
        {"one": 2, "one--b1": 2, "one--b2": 3},
        body_start=2,
        page_count=5,
        page_tops={2: "one", 3: "one--b2", 4: "one--b5"},
    )
    breaks = page_map.page_breaks()
    assert [(b.folio, b.anchor, b.exact) for b in breaks] == [
        ("1", "one", True),
        ("2", "one--b2", True),
        ("3", "one--b5", True),
    ]


def test_a_page_where_no_block_starts_breaks_before_the_next_block() -> None:
    page_map = PageMap({}, body_start=0, page_count=3, page_tops={0: "a", 2: "c"})
    assert [(b.folio, b.anchor, b.exact) for b in page_map.page_breaks()] == [
        ("1", "a", True),
        ("2", "c", False),
        ("3", "c", True),
    ]


class _Chapter:
    def __init__(self, slug: str) -> None:
        self.slug = slug
        self.anchor = slug


class _Book:
    def __init__(self, *slugs: str) -> None:
        self.chapters = [_Chapter(slug) for slug in slugs]


def test_a_chapter_missing_from_the_layout_is_a_db050_build_error() -> None:
    page_map = PageMap({"one": 6, "two": 9}, body_start=6, page_count=12)
    with pytest.raises(BuildError) as raised:
        layout.check_nothing_lost(_Book("one", "two", "three"), page_map)  # type: ignore[arg-type]
    (found,) = raised.value.diagnostics
    assert found.code == "DB050"
    assert "'three' is missing" in found.message


def test_chapters_laid_out_out_of_order_are_a_db050_build_error() -> None:
    page_map = PageMap({"one": 9, "two": 6}, body_start=6, page_count=12)
    with pytest.raises(BuildError, match="'two' is out of order"):
        layout.check_nothing_lost(_Book("one", "two"), page_map)  # type: ignore[arg-type]


def test_missing_pango_becomes_a_clear_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = builtins.__import__

    def failing_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0': not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing_import)
    with pytest.raises(MissingDependencyError, match=re.escape("apt-get install libpango-1.0-0")):
        weasy.import_weasyprint()


def test_system_fonts_fingerprint_changes_when_a_font_file_is_added(tmp_path: Path) -> None:
    from dreambook.export.pdf.chunks import system_fonts_fingerprint

    folder = tmp_path / "fonts" / "truetype"
    folder.mkdir(parents=True)
    (folder / "One.ttf").write_bytes(b"one")
    before = system_fonts_fingerprint([str(tmp_path / "fonts")])
    assert before == system_fonts_fingerprint([str(tmp_path / "fonts")])
    (folder / "Two.otf").write_bytes(b"two")
    assert system_fonts_fingerprint([str(tmp_path / "fonts")]) != before
    assert system_fonts_fingerprint([str(tmp_path / "missing")]) != before
