"""The print edition's settings: [print] marks, page_multiple and output_profile, and how the
output profile is read (confined to the book, checked to be a CMYK printer profile)."""

from __future__ import annotations

import os
from pathlib import Path

import pikepdf
import pytest

from dreambook.config import BookConfig, parse_book_toml
from dreambook.errors import BuildError, MissingDependencyError, ResourceOutsideError
from dreambook.export.pdf import printfile
from dreambook.export.pdf.printfile import DEFAULT_PROFILE, profile_problem, read_output_profile
from dreambook.styles import Styles, default_styles_folder

HEAD = '[book]\ntitle = "T"\n\n[print]\n'


def parse(lines: str) -> tuple[BookConfig, list[str]]:
    config, found = parse_book_toml(HEAD + lines, Path("book.toml"))
    return config, [f"{d.code} {d.message}" for d in found]


def test_defaults_are_no_marks_and_an_even_page_count() -> None:
    config, found = parse("")
    assert (config.marks, config.page_multiple, config.output_profile) == ("none", 2, None)
    assert found == []


def test_the_print_keys_are_read() -> None:
    config, found = parse('marks = "crop"\npage_multiple = 16\noutput_profile = "p/press.icc"\n')
    assert found == []
    assert (config.marks, config.page_multiple, config.output_profile) == (
        "crop",
        16,
        "p/press.icc",
    )


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('marks = "bleed"', "marks"),
        ("page_multiple = 3", "page_multiple"),
        ("page_multiple = 0", "page_multiple"),
        ("page_multiple = true", "page_multiple"),
        ('page_multiple = "16"', "page_multiple"),
        ('output_profile = "../press.icc"', "output_profile"),
    ],
)
def test_bad_print_values_are_db004_and_keep_the_default(line: str, key: str) -> None:
    config, found = parse(line + "\n")
    assert len(found) == 1
    assert found[0].startswith(f"DB004 [print] {key}")
    assert getattr(config, key) == getattr(BookConfig(), key)


def icc(space: bytes, device: bytes = b"prtr") -> bytes:
    """A 132-byte ICC header and empty tag table: enough for the header checks."""
    header = bytearray(132)
    header[12:16], header[16:20], header[36:40] = device, space, b"acsp"
    return bytes(header)


def test_profile_problem_reads_the_header() -> None:
    assert profile_problem(icc(b"CMYK")) is None
    assert "not CMYK" in (profile_problem(icc(b"RGB ", b"mntr")) or "")
    assert "output" in (profile_problem(icc(b"CMYK", b"mntr")) or "")
    assert "not an ICC profile" in (profile_problem(b"%PDF-1.7") or "")


def book(tmp_path: Path, files: dict[str, bytes], profile: str | None) -> tuple[BookConfig, Path]:
    root = tmp_path / "book"
    root.mkdir()
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    toml = HEAD + (f'output_profile = "{profile}"\n' if profile else "")
    return parse_book_toml(toml, root / "book.toml")[0], root


def styles() -> Styles:
    return Styles((default_styles_folder(),))


def test_a_book_names_its_own_cmyk_profile(tmp_path: Path) -> None:
    config, root = book(tmp_path, {"profiles/press.icc": icc(b"CMYK")}, "profiles/press.icc")
    data, source = read_output_profile(config, root, styles())
    assert data == icc(b"CMYK")
    assert source == "profiles/press.icc"


def test_an_rgb_or_missing_profile_is_db067(tmp_path: Path) -> None:
    rgb = (Path(pikepdf.__file__).parent / "pdfa" / "data" / "sRGB.icc").read_bytes()
    config, root = book(tmp_path, {"srgb.icc": rgb}, "srgb.icc")
    with pytest.raises(BuildError) as raised:
        read_output_profile(config, root, styles())
    assert [d.code for d in raised.value.diagnostics] == ["DB067"]
    assert raised.value.diagnostics[0].line == 5  # the output_profile line of book.toml
    config = parse_book_toml(HEAD + 'output_profile = "gone.icc"\n', root / "book.toml")[0]
    with pytest.raises(BuildError, match="cannot be read"):
        read_output_profile(config, root, styles())


def test_a_profile_linked_from_outside_the_book_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.icc"
    outside.write_bytes(icc(b"CMYK"))
    config, root = book(tmp_path, {}, "press.icc")
    os.symlink(outside, root / "press.icc")
    with pytest.raises(ResourceOutsideError):
        read_output_profile(config, root, styles())


def test_without_ghostscripts_profile_the_message_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(printfile, "DEFAULT_PROFILE", tmp_path / "no-such.icc")
    config, root = book(tmp_path, {}, None)
    with pytest.raises(MissingDependencyError, match="libgs-common"):
        read_output_profile(config, root, styles())


@pytest.mark.skipif(not DEFAULT_PROFILE.is_file(), reason="libgs-common is not installed")
def test_ghostscripts_profile_is_a_cmyk_printer_profile(tmp_path: Path) -> None:
    config, root = book(tmp_path, {}, None)
    data, source = read_output_profile(config, root, styles())
    assert profile_problem(data) is None
    assert source == str(DEFAULT_PROFILE)
