"""The cover's measurements and barcode, without laying anything out."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreambook.config import BookConfig, parse_book_toml
from dreambook.export.cover.barcode import isbn_barcode
from dreambook.export.cover.geometry import spine_carries_text, spine_reads_down, wrap_for
from dreambook.export.cover.page import barcode_box


def config_of(text: str) -> BookConfig:
    config, diagnostics = parse_book_toml('[book]\ntitle = "T"\n' + text, Path("book.toml"))
    assert diagnostics == []
    return config


def test_the_spine_is_pages_over_pages_per_inch_and_a_given_width_wins() -> None:
    # White paper: 0.002252 in of spine per page (KDP's figure).
    assert wrap_for(config_of(""), 1000).spine.width == pytest.approx(1000 * 0.002252 * 72)
    assert wrap_for(config_of('[print]\npaper = "cream"\n'), 200).spine.width == pytest.approx(36.0)
    assert wrap_for(config_of("[print]\npages_per_inch = 500\n"), 250).spine.width == pytest.approx(
        36.0
    )
    given = wrap_for(config_of('[print]\nspine_width = "0.5in"\n'), 90)
    assert given.spine.width == pytest.approx(36.0)
    assert given.spine.source == "[print] spine_width"


def test_the_wrap_is_back_spine_front_side_by_side() -> None:
    wrap = wrap_for(config_of('[print]\ntrim_size = "5in x 8in"\npages_per_inch = 444\n'), 444)
    assert (wrap.back.left, wrap.back.right) == (0.0, 360.0)
    assert (wrap.spine_box.left, wrap.spine_box.right) == (360.0, 432.0)
    assert (wrap.front.left, wrap.front.right) == (432.0, 792.0)
    assert wrap.width == pytest.approx(792.0)


def test_spine_text_from_the_threshold_up() -> None:
    config = config_of("[cover]\nspine_text_min_pages = 120\n")
    assert not spine_carries_text(config, 119)
    assert spine_carries_text(config, 120)
    assert spine_carries_text(config_of(""), 100)
    assert not spine_carries_text(config_of(""), 99)


@pytest.mark.parametrize(
    ("settings", "down"),
    [
        ("", True),
        ('language = "en-GB"\n', True),
        ('language = "de"\n', False),
        ('language = "fr-CA"\n', False),
        ('language = "de"\n[cover]\nspine_direction = "top-to-bottom"\n', True),
        ('[cover]\nspine_direction = "bottom-to-top"\n', False),
    ],
)
def test_the_spine_reads_as_the_language_does_unless_told(settings: str, down: bool) -> None:
    assert spine_reads_down(config_of(settings)) is down


def test_an_isbn10_is_barcoded_as_its_isbn13_and_the_box_fits_the_back() -> None:
    config = config_of('identifier = "0-8044-2957-X"\n[cover]\nprice_code = "90000"\n')
    wrap = wrap_for(config, 300)
    drawn = barcode_box(config, wrap.back)
    assert drawn is not None
    assert drawn.isbn_text == "ISBN 9780804429573"
    assert wrap.back.inset(18.0).left <= drawn.box.left
    assert drawn.box.right <= wrap.back.inset(18.0).right
    assert drawn.box.bottom <= wrap.back.inset(18.0).bottom
    # 13 digits under the symbol and 5 over the add-on.
    assert len(drawn.digits) == 18


def test_no_barcode_without_an_isbn() -> None:
    config = config_of('identifier = "urn:uuid:6f1c1f0e-4b7e-4d2a-9a55-3c2b8f0d7e41"\n')
    assert barcode_box(config, wrap_for(config, 100).back) is None


def test_a_wrong_check_digit_is_refused_by_the_barcode() -> None:
    with pytest.raises(ValueError, match="check digit"):
        isbn_barcode("9780306406158")


def test_a_cover_colour_puts_down_at_most_the_ink_limit_and_stays_dark() -> None:
    from dreambook.export.cover.page import TOTAL_INK_LIMIT, limit_ink

    # The default background as Ghostscript's press profile separates it: about 287%.
    heavy = (0.94, 0.81, 0.44, 0.68)
    c, m, y, k = limit_ink(heavy)
    assert c + m + y + k == pytest.approx(TOTAL_INK_LIMIT)
    assert k > 0.68  # the shared grey went to black, so it is as dark
    assert (c, m, y) < (0.94, 0.81, 0.44)
    assert max(c - 0.94, m - 0.81, y - 0.44) < 0
    # Light colours are left alone, and a rich black loses colour, not black.
    assert limit_ink((0.1, 0.2, 0.3, 0.0)) == (0.1, 0.2, 0.3, 0.0)
    rich = limit_ink((0.8, 0.8, 0.8, 1.0))
    assert rich[3] == 1.0
    assert sum(rich) == pytest.approx(TOTAL_INK_LIMIT)
