"""What the EPUB's font subsetting reads from the stylesheet, and the subset itself."""

from __future__ import annotations

import io

import pytest
from fontTools.ttLib import TTFont

from dreambook.export.epub.fonts import (
    BASE_FEATURES,
    stylesheet_characters,
    stylesheet_features,
    subset_fonts,
    without_font_faces,
)
from dreambook.export.epub.resources import Resource
from dreambook.fontprograms import FontUnreadable, subset_font
from tests.conftest import REPO

STYLESHEET = """
li::before { content: "\\2192\\2002"; }
h3::before { content: 'Q.' "\\"" ; }
p { font-feature-settings: "ss01" 1, 'zero'; }
@font-face { font-family: "V"; src: url(fonts/V.ttf); }
body { font-family: "V", serif; }
"""


def test_generated_content_and_named_features_are_read_from_the_stylesheet() -> None:
    assert stylesheet_characters(STYLESHEET) == {"\u2192", "\u2002", "Q", ".", '"'}
    features = stylesheet_features(STYLESHEET)
    assert features[: len(BASE_FEATURES)] == BASE_FEATURES
    assert {"ss01", "zero"} <= set(features)


def test_without_embedded_fonts_the_font_face_rules_go_and_the_rest_stays() -> None:
    plain = without_font_faces(STYLESHEET)
    assert "@font-face" not in plain
    assert "fonts/V.ttf" not in plain
    assert 'body { font-family: "V", serif; }' in plain


def test_a_subset_keeps_the_characters_asked_for_and_is_the_same_every_time() -> None:
    program = (REPO / "styles" / "fonts" / "Vollkorn-Regular.ttf").read_bytes()
    characters = frozenset("Dream 12")
    first = subset_font(program, characters, BASE_FEATURES)
    assert first == subset_font(program, characters, BASE_FEATURES)
    font = TTFont(io.BytesIO(first))
    assert {chr(c) for c in font.getBestCmap()} == set(characters)
    assert len(first) < len(program) / 10
    # Saved without the clock's date, which would differ from one build to the next.
    assert font["head"].modified == TTFont(io.BytesIO(program))["head"].modified


@pytest.mark.parametrize("name", ["Vollkorn-Regular.ttf", "Vollkorn-Italic.ttf"])
def test_a_subset_keeps_the_glyphs_fonttools_subsetter_keeps(name: str) -> None:
    """HarfBuzz's subset keeps what fontTools' subsetter (used before, and the reference
    here) keeps with the same options: every glyph, feature and table."""
    from fontTools import subset

    program = (REPO / "styles" / "fonts" / name).read_bytes()
    characters = frozenset("The night rehearses 0123456789, again: fi ff — “Quoted”. ÄÖÜ")
    features = (*BASE_FEATURES, "ss01")
    ours = TTFont(io.BytesIO(subset_font(program, characters, features)))
    options = subset.Options()
    options.layout_features = list(features)
    options.name_IDs = ["*"]
    options.name_legacy = True
    options.name_languages = ["*"]
    options.notdef_outline = True
    reference = TTFont(io.BytesIO(program))
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(character) for character in characters])
    subsetter.subset(reference)
    saved = io.BytesIO()
    reference.save(saved)  # read back, as ours is: glyph names as the file gives them
    reference = TTFont(io.BytesIO(saved.getvalue()))
    assert set(ours.getGlyphOrder()) == set(reference.getGlyphOrder())
    assert ours.getBestCmap() == reference.getBestCmap()
    for table in ("GSUB", "GPOS"):
        tags = {record.FeatureTag for record in ours[table].table.FeatureList.FeatureRecord}
        kept = {record.FeatureTag for record in reference[table].table.FeatureList.FeatureRecord}
        assert tags == kept
    assert set(ours.keys()) == set(reference.keys())
    # Every name of the original travels with the subset (the licence asks for it).
    names = {(n.platformID, n.nameID, n.langID) for n in TTFont(io.BytesIO(program))["name"].names}
    assert {(n.platformID, n.nameID, n.langID) for n in ours["name"].names} == names


@pytest.mark.parametrize(
    "content", [b"", b"not a font " * 50, (REPO / "styles" / "fonts" / "OFL.txt").read_bytes()]
)
def test_what_is_no_font_is_refused_with_its_name(content: bytes) -> None:
    program = (REPO / "styles" / "fonts" / "Vollkorn-Regular.ttf").read_bytes()
    resources = [
        Resource("fonts/Vollkorn-Regular.ttf", "font/ttf", program),
        Resource("fonts/Broken.ttf", "font/ttf", content),
    ]
    with pytest.raises(FontUnreadable, match=r"^fonts/Broken\.ttf$"):
        subset_fonts(resources, [], "p { }")
    with pytest.raises(FontUnreadable):
        subset_font(program[:5000], frozenset("a"), BASE_FEATURES)  # cut short
