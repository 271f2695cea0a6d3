"""The PDF editions, in a module of their own so that the CLI can name them cheaply."""

from __future__ import annotations

import enum


class Variant(enum.Enum):
    """The two PDF editions: on-screen reading, and the printer's file with bleed and marks."""

    DIGITAL = "digital"
    PRINT = "print"
