"""Uniting the font subsets of a book's chunks into one embedded program (export/pdf/merge.py)."""

from __future__ import annotations

import io

import pytest
from fontTools import subset
from fontTools.ttLib import TTFont

from dreambook.export.pdf import merge
from tests.conftest import REPO

VOLLKORN = REPO / "styles" / "fonts" / "Vollkorn-Regular.ttf"


def _subset(text: str) -> TTFont:
    """A subset of Vollkorn as WeasyPrint makes one: the glyphs of ``text`` at their indices."""
    font = TTFont(VOLLKORN)
    options = subset.Options(retain_gids=True, notdef_outline=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    data = io.BytesIO()
    font.save(data)
    return TTFont(io.BytesIO(data.getvalue()), recalcBBoxes=False, recalcTimestamp=False)


def _outlined(font: TTFont) -> set[int]:
    glyphs = font["glyf"]
    return {
        index
        for index, name in enumerate(font.getGlyphOrder())
        if glyphs[name].numberOfContours != 0
    }


def test_the_union_holds_every_glyph_of_every_subset_at_its_index() -> None:
    first, second = _subset("dream"), _subset("WAKING 42")
    expected = _outlined(first) | _outlined(second)
    united = TTFont(io.BytesIO(merge._union_of_subsets([_subset("dream"), _subset("WAKING 42")])))
    assert _outlined(united) == expected
    assert len(expected) > len(_outlined(first)) > 1
    # Each glyph is the one the original font has at that index.
    original = TTFont(VOLLKORN)
    order, original_order = united.getGlyphOrder(), original.getGlyphOrder()
    for index in expected:
        mine = united["glyf"][order[index]]
        theirs = original["glyf"][original_order[index]]
        assert mine.numberOfContours == theirs.numberOfContours
        assert united["hmtx"][order[index]][0] == original["hmtx"][original_order[index]][0]


def test_the_union_is_the_same_bytes_whenever_it_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    from fontTools.ttLib.tables import _h_e_a_d

    subsets = [_subset("night"), _subset("Day")]
    programs = []
    for font in subsets:
        data = io.BytesIO()
        font.save(data)
        programs.append(data.getvalue())
    made = []
    # A second apart, as two builds of the same book would be.
    for moment in (3_000_000_000, 3_000_000_001):
        monkeypatch.setattr(_h_e_a_d, "timestampNow", lambda moment=moment: moment)
        made.append(merge.unite_programs(programs))
    assert made[0] == made[1]
