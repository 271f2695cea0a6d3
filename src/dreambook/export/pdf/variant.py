"""The PDF editions and what each one means, in a module of its own so that the CLI can name
them cheaply (it imports nothing but the standard library).

Every difference between the editions is a row of ``EDITIONS``; the writer looks traits up
there instead of asking which edition it is making.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Variant(enum.Enum):
    """The two PDF editions: on-screen reading, and the printer's file with bleed and marks."""

    DIGITAL = "digital"
    PRINT = "print"

    @property
    def traits(self) -> EditionTraits:
        """What this edition means for the file and its layout (its row of ``EDITIONS``)."""
        return EDITIONS[self]


@dataclass(frozen=True)
class EditionTraits:
    """What makes one PDF edition differ from another.

    ``suffix`` goes between the book's slug and ``.pdf``; with ``bleed`` the pages extend by
    book.toml's bleed beyond the trim; ``tagged`` asks WeasyPrint for a structure tree (the
    reading order a screen reader follows); ``pdf_variant`` is the standard the file claims
    to meet, as WeasyPrint names it, or None. With ``press`` the edition is made for a
    printing press: black ink and a CMYK output intent instead of RGB, no links, the page
    count padded, crop marks when asked, and a preflight of the file (printfile.py).
    """

    suffix: str
    bleed: bool
    tagged: bool
    pdf_variant: str | None
    press: bool = False


EDITIONS: dict[Variant, EditionTraits] = {
    # Read on screens, by people and by assistive technology: tagged, PDF/UA.
    Variant.DIGITAL: EditionTraits(suffix="", bleed=False, tagged=True, pdf_variant="pdf/ua-1"),
    # For the printer, who trims the bleed off and needs no structure tree.
    # PDF/X-4: CMYK with an output intent, the boxes a printer trims by, nothing interactive.
    Variant.PRINT: EditionTraits(
        suffix="-print", bleed=True, tagged=False, pdf_variant="pdf/x-4", press=True
    ),
}
