"""What check says about covers: no cover at all, a small cover, a price without an ISBN, an
unreadable back-cover file (DB101-DB104), each at its book.toml line."""

from __future__ import annotations

import io

from PIL import Image

from dreambook.diagnostics import Diagnostic
from dreambook.pipeline import check_manuscript
from tests.conftest import WriteBook, chapter

NO_AUTHOR = '[book]\ntitle = "Anonymous"\nstart = "one"\n'


def picture(width: int, height: int) -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (width, height), (30, 40, 70)).save(data, format="JPEG")
    return data.getvalue()


def codes(found: tuple[Diagnostic, ...]) -> list[tuple[str, int | None]]:
    """(code, line) of the cover codes among ``found``."""
    return [(d.code, d.line) for d in found if d.code.startswith("DB10")]


def test_a_book_with_no_cover_image_and_no_author_is_warned(write_book: WriteBook) -> None:
    manuscript = write_book({"one.md": chapter("One")}, book_toml=NO_AUTHOR)
    assert codes(check_manuscript(manuscript).diagnostics) == [("DB101", None)]


def test_a_book_with_an_author_gets_a_cover_set_and_no_warning(write_book: WriteBook) -> None:
    manuscript = write_book({"one.md": chapter("One")})
    assert codes(check_manuscript(manuscript).diagnostics) == []


def test_a_cover_image_smaller_than_retailers_take_is_warned_at_its_line(
    write_book: WriteBook,
) -> None:
    toml = NO_AUTHOR + '\n[cover]\nfront = "front.jpg"\n'
    manuscript = write_book({"one.md": chapter("One"), "front.jpg": picture(800, 1280)}, toml)
    checked = check_manuscript(manuscript)
    assert codes(checked.diagnostics) == [("DB102", 6)]
    assert "800 × 1280" in next(d.message for d in checked.diagnostics if d.code == "DB102")


def test_a_cover_image_large_enough_is_not_warned(write_book: WriteBook) -> None:
    toml = NO_AUTHOR + '\n[epub]\ncover = "front.jpg"\n'
    manuscript = write_book({"one.md": chapter("One"), "front.jpg": picture(1600, 2560)}, toml)
    assert codes(check_manuscript(manuscript).diagnostics) == []


def test_a_price_code_without_an_isbn_is_warned(write_book: WriteBook) -> None:
    toml = '[book]\ntitle = "T"\nauthor = "A"\nstart = "one"\n[cover]\nprice_code = "51995"\n'
    manuscript = write_book({"one.md": chapter("One")}, toml)
    assert codes(check_manuscript(manuscript).diagnostics) == [("DB103", 6)]


def test_a_missing_back_cover_file_is_an_error_at_its_line(write_book: WriteBook) -> None:
    toml = '[book]\ntitle = "T"\nauthor = "A"\nstart = "one"\n[cover]\nback_text = "_blurb.md"\n'
    manuscript = write_book({"one.md": chapter("One")}, toml)
    checked = check_manuscript(manuscript)
    assert codes(checked.diagnostics) == [("DB104", 6)]
    assert checked.has_errors
    (manuscript / "_blurb.md").write_text("A *fine* book.\n", encoding="utf-8")
    assert codes(check_manuscript(manuscript).diagnostics) == []
