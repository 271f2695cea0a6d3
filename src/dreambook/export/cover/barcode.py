"""The ISBN's EAN-13 barcode, with its optional five-digit price add-on, as bars to draw.

python-barcode encodes the EAN-13 symbol (its ``build()`` gives the modules: bar, space or
guard bar). Its SVG writer is not used as it is: it draws in RGB ``black`` on ``white``
(a print cover must be in ink), its bars are 15 mm tall where the standard symbol's are
22.85 mm, and it knows no EAN-5 add-on. So dreambook takes the library's encoding and
draws the bars itself, at the nominal size (0.33 mm modules) with the standard quiet
zones; the add-on, which the library lacks, is encoded here from the library's own L and G
digit tables and the add-on's parity rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from barcode.charsets import ean as ean_tables
from barcode.ean import EuropeanArticleNumber13

MM = 72.0 / 25.4
MODULE = 0.33 * MM  # the nominal (100 %) module of an EAN-13 symbol
BAR_HEIGHT = 22.85 * MM  # the nominal height of the symbol's bars
GUARD_EXTRA = 5 * MODULE  # guard bars run this much lower than the others
LEFT_QUIET = 11  # modules of light space before the symbol
RIGHT_QUIET = 7  # ... after it
ADDON_GAP = 9  # modules between the symbol and its add-on (the standard allows 7 to 12)
ADDON_RIGHT_QUIET = 5  # modules after the add-on

# Which digit table (A: odd parity "L", B: even parity "G") encodes each add-on digit,
# chosen by the add-on's checksum.
_ADDON_PARITY = (
    "BBAAA", "BABAA", "BAABA", "BAAAB", "ABBAA", "AABBA", "AAABB", "ABABA", "ABAAB", "AABAB",
)  # fmt: skip


@dataclass(frozen=True)
class Bar:
    """One dark bar: its left edge and width in modules from the symbol's first module, and
    whether it is a guard bar (drawn longer) or belongs to the add-on (drawn shorter)."""

    start: int
    width: int
    guard: bool = False
    addon: bool = False


@dataclass(frozen=True)
class Barcode:
    """The bars of one ISBN barcode and what is printed with them.

    ``digits`` is the EAN-13 number, ``addon`` the price code (or None); ``modules`` the
    width from the symbol's first module to the end of the right quiet zone (left quiet
    zone excluded), in modules.
    """

    digits: str
    addon: str | None
    bars: tuple[Bar, ...]
    modules: int


def _runs(pattern: str, offset: int, addon: bool) -> list[Bar]:
    """The bars of a module pattern ('1' bar, 'G' guard bar, '0' space), merged into runs."""
    bars: list[Bar] = []
    index = 0
    while index < len(pattern):
        kind = pattern[index]
        if kind == "0":
            index += 1
            continue
        end = index
        while end < len(pattern) and pattern[end] == kind:
            end += 1
        bars.append(Bar(offset + index, end - index, guard=kind == "G", addon=addon))
        index = end
    return bars


def addon_pattern(code: str) -> str:
    """The modules of a five-digit EAN-5 add-on: start guard 1011, then each digit in the
    table its parity pattern names, digits separated by 01."""
    checksum = (
        3 * sum(int(code[i]) for i in (0, 2, 4)) + 9 * sum(int(code[i]) for i in (1, 3))
    ) % 10
    parts = ["1011"]
    for index, (digit, table) in enumerate(zip(code, _ADDON_PARITY[checksum], strict=True)):
        if index:
            parts.append("01")
        parts.append(ean_tables.CODES[table][int(digit)])
    return "".join(parts)


def isbn_barcode(isbn13: str, price_code: str | None = None) -> Barcode:
    """The barcode of a 13-digit ISBN (its check digit already right) and optional add-on.

    Raises ValueError when ``isbn13`` is not 13 digits or its check digit is wrong.
    """
    symbol = EuropeanArticleNumber13(isbn13[:12], guardbar=True)
    if symbol.ean != isbn13:
        raise ValueError(f"{isbn13!r} is not an EAN-13 with the right check digit")
    pattern = symbol.build()[0]
    bars = _runs(pattern, 0, addon=False)
    modules = len(pattern) + RIGHT_QUIET
    if price_code is not None:
        start = len(pattern) + ADDON_GAP
        extra = addon_pattern(price_code)
        bars += _runs(extra, start, addon=True)
        modules = start + len(extra) + ADDON_RIGHT_QUIET
    return Barcode(isbn13, price_code, tuple(bars), modules)
