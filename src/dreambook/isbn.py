"""ISBNs: reading one as an author writes it, checking its check digit, and its forms.

A leaf module (no dreambook imports), so that book.toml's reader can check an identifier and
the book's identity (identity.py) can carry the ISBN, both with the one set of rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_URN_PREFIX = "urn:isbn:"
_SEPARATORS = re.compile(r"[\s-]")


@dataclass(frozen=True)
class Isbn:
    """A valid ISBN-10 or ISBN-13.

    ``written`` is the ISBN as book.toml gives it (hyphens kept: they mark the registration
    groups, which only the author's agency knows), without a ``urn:isbn:`` prefix;
    ``compact`` is the same number without hyphens or spaces, an ``X`` check digit in upper case.
    """

    written: str
    compact: str

    @property
    def isbn13(self) -> str:
        """The 13-digit form (an ISBN-10 gains the 978 prefix and a new check digit)."""
        if len(self.compact) == 13:
            return self.compact
        stem = "978" + self.compact[:9]
        return stem + _isbn13_check_digit(stem)

    @property
    def urn(self) -> str:
        """``urn:isbn:`` and the compact form, as an EPUB identifier."""
        return _URN_PREFIX + self.compact


def _isbn13_check_digit(twelve: str) -> str:
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(twelve))
    return str((10 - total % 10) % 10)


def strip_urn(text: str) -> str:
    """``text`` without a leading ``urn:isbn:`` (in any case)."""
    return text[len(_URN_PREFIX) :] if text.casefold().startswith(_URN_PREFIX) else text


def parse_isbn(text: str) -> Isbn | None:
    """Return the Isbn that ``text`` spells (``urn:isbn:`` may precede it), or None.

    None when the text is not ten or thirteen digits (hyphens and spaces allowed, an ISBN-10
    may end in X) or when its check digit is wrong. Raises nothing.
    """
    written = strip_urn(text)
    compact = _SEPARATORS.sub("", written).upper()
    if re.fullmatch(r"\d{13}", compact):
        valid = _isbn13_check_digit(compact[:12]) == compact[12]
    elif re.fullmatch(r"\d{9}[\dX]", compact):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(compact))
        valid = total % 11 == 0
    else:
        valid = False
    return Isbn(written, compact) if valid else None


def expected_check_digit(text: str) -> str | None:
    """The check digit an ISBN-shaped ``text`` (ten or thirteen digits, hyphens and spaces
    allowed, ``urn:isbn:`` before it) should end in, or None when it has no ISBN's shape.

    ``check`` names it when an identifier's last digit is wrong. Raises nothing.
    """
    compact = _SEPARATORS.sub("", strip_urn(text)).upper()
    if re.fullmatch(r"\d{13}", compact):
        return _isbn13_check_digit(compact[:12])
    if re.fullmatch(r"\d{9}[\dX]", compact):
        total = sum((10 - i) * int(c) for i, c in enumerate(compact[:9]))
        digit = -total % 11
        return "X" if digit == 10 else str(digit)
    return None
