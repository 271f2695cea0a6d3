"""Font programs: cutting a TrueType or OpenType program down to the glyphs some characters
need (HarfBuzz's subsetter, through uharfbuzz), and telling a font file from one that is
none. The EPUB subsets the fonts it embeds (export/epub/fonts.py); check refuses a font
file of the book's styles folder that the subsetter cannot read (resources.py, DB068).

fontTools' subsetter, used before, kept the same glyphs, features and tables of the
Vollkorn programs (compared on the sample's characters) but took 0.17-0.26 s a program,
most of it reading the layout tables; HarfBuzz takes about a millisecond.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from dreambook.diagnostics import Diagnostic, diagnostic


class FontUnreadable(Exception):
    """A font program the subsetter cannot read (not a font, or a damaged one)."""


def subset_font(content: bytes, characters: frozenset[str], features: Iterable[str]) -> bytes:
    """Return the font program ``content`` with only the glyphs ``characters`` need.

    The glyphs that ``features`` reach from those characters stay (a small capital, an
    oldstyle figure, a ligature), and so do kerning, hinting, the outline of the
    missing-glyph box and every name record. Raises FontUnreadable when ``content`` is no
    font the subsetter can read.
    """
    import uharfbuzz

    face = uharfbuzz.Face(uharfbuzz.Blob(content))
    wanted = uharfbuzz.SubsetInput()
    wanted.unicode_set.update(ord(character) for character in characters)
    wanted.layout_feature_tag_set.clear()
    wanted.layout_feature_tag_set.update(_tag(feature) for feature in features)
    wanted.name_id_set.add_range(0, 0x7FFF)
    wanted.name_lang_id_set.add_range(0, 0xFFFF)
    wanted.flags = uharfbuzz.SubsetFlags.NAME_LEGACY | uharfbuzz.SubsetFlags.NOTDEF_OUTLINE
    try:
        subset = uharfbuzz.subset(face, wanted)
    except RuntimeError as error:  # HarfBuzz's "Subsetting failed"
        raise FontUnreadable(str(error)) from error
    data: bytes = subset.blob.data
    if not data:
        raise FontUnreadable("the subset is empty")
    return data


def _tag(feature: str) -> int:
    """An OpenType feature tag (``"kern"``) as the number HarfBuzz takes."""
    return int.from_bytes(feature.encode("ascii").ljust(4)[:4], "big")


def font_problem(path: Path | None, name: str, problem: str) -> Diagnostic:
    """DB068 for the font file ``name`` (at ``path`` when known) that cannot be read as a
    font, for the reason ``problem``."""
    return diagnostic(
        "DB068",
        f"the font file {name!r} cannot be read as a font: {problem}",
        path,
        None,
        "replace it with the font's own file (TrueType .ttf, OpenType .otf, or .woff/.woff2), "
        "or remove it and the @font-face rule that names it",
    )
