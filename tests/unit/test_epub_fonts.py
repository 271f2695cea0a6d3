"""What the EPUB's font subsetting reads from the stylesheet, and the subset itself."""

from __future__ import annotations

import io

import pytest
from fontTools.ttLib import TTFont

from dreambook.export.epub.fonts import (
    BASE_FEATURES,
    stylesheet_characters,
    stylesheet_features,
    subset_font,
    without_font_faces,
)
from tests.conftest import REPO, in_fresh_process

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


def _subset_both_ways() -> tuple[bool, list[bytes], list[bytes]]:
    """In a fresh interpreter: the subsets made with a forked worker, and one after another."""
    from dreambook.export.epub import fonts
    from dreambook.workers import may_fork

    forks = may_fork()
    programs = [
        (REPO / "styles" / "fonts" / name).read_bytes()
        for name in ("Vollkorn-Regular.ttf", "Vollkorn-Italic.ttf", "Vollkorn-Bold.ttf")
    ]
    characters = frozenset("The night rehearses 0123456789, again.")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fonts, "usable_cpus", lambda: 2)
        shared = fonts._subset_all(programs, characters, fonts.BASE_FEATURES)
        patch.setattr(fonts, "may_fork", lambda: False)
        alone = fonts._subset_all(programs, characters, fonts.BASE_FEATURES)
    return forks, shared, alone


def test_fonts_subset_by_forked_workers_equal_those_made_one_after_another() -> None:
    forks, shared, alone = in_fresh_process(_subset_both_ways)
    assert forks  # the fresh interpreter runs no thread: it forked its worker
    assert shared == alone
    assert len(set(shared)) == 3  # three different fonts, each subset
