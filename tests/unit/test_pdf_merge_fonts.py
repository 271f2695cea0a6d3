"""Uniting the font subsets of a book's chunks into one embedded program (export/pdf/merge.py)."""

from __future__ import annotations

import io

import pikepdf
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


def test_width_arrays_read_both_forms_and_are_written_back_as_runs() -> None:
    array = pikepdf.Array([3, pikepdf.Array([500, 510]), 10, 12, 250, 5, pikepdf.Array([520])])
    widths = merge._widths(array)
    assert widths == {3: 500, 4: 510, 10: 250, 11: 250, 12: 250, 5: 520}
    written = merge._width_array(widths)
    assert merge._widths(written) == widths
    # 3, 4, 5 are one run, 10 to 12 another.
    assert len(written) == 4


def test_tounicode_maps_are_read_and_united_maps_written() -> None:
    cmap = (
        b"2 beginbfchar\n<0003> <0041>\n<0010> <00660069>\nendbfchar\n"
        b"1 beginbfrange\n<0020> <0022> <0061>\nendbfrange\n"
    )
    found = merge._unicode_map(cmap)
    assert found == {3: b"0041", 16: b"00660069", 32: b"0061", 33: b"0062", 34: b"0063"}
    assert merge._unicode_map(b"1 beginbfrange\n<0001> <0002> [<0041> <0042>]\nendbfrange") is None
    pdf = pikepdf.new()
    assert merge._unicode_map(merge._cmap_stream(pdf, found).read_bytes()) == found
