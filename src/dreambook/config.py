"""book.toml -> BookConfig: one typed field per key, each with its default and its check.

``tomllib`` reports no positions for the keys it reads, so :class:`TomlLines` scans the
source once to learn on which line each table and key stands; every diagnostic about a
key then names that line.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from dreambook.diagnostics import Diagnostic, diagnostic, line_of_byte
from dreambook.isbn import parse_isbn

BOOK_TOML = "book.toml"
_T = TypeVar("_T")

# --- page geometry ------------------------------------------------------------------------------

_POINTS_PER_UNIT = {"in": 72.0, "mm": 72.0 / 25.4, "cm": 72.0 / 2.54, "pt": 1.0, "px": 0.75}
_LENGTH_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(in|mm|cm|pt|px)\s*$")
# The height starts with a digit, so the "x" of a "px" unit is never taken for the separator.
_SIZE_RE = re.compile(r"^\s*(.+?)\s*[x×*]\s*(\d.*?)\s*$")
_NAMED_TRIM_SIZES = {
    "a5": ("148mm", "210mm"),
    "a4": ("210mm", "297mm"),
    "b5": ("176mm", "250mm"),
    "us-trade": ("6in", "9in"),
    "digest": ("5.5in", "8.5in"),
}


@dataclass(frozen=True)
class Length:
    """A printed length as written (``"0.125in"``) and in PostScript points."""

    text: str
    points: float

    @property
    def css(self) -> str:
        """The length as a CSS value."""
        return self.text.replace(" ", "")


@dataclass(frozen=True)
class TrimSize:
    """The finished page size of the printed book."""

    width: Length
    height: Length

    @property
    def css(self) -> str:
        """The size as a CSS ``@page { size: ... }`` value."""
        return f"{self.width.css} {self.height.css}"


def parse_length(text: str) -> Length:
    """Return the Length for ``"6in"``, ``"3 mm"`` and the like.

    Raises ValueError when the text is not a number (zero allowed, e.g. for no bleed)
    followed by in, mm, cm, pt or px.
    """
    match = _LENGTH_RE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a length such as '6in', '148mm' or '0.125in'")
    number, unit = match.groups()
    return Length(f"{number}{unit}", float(number) * _POINTS_PER_UNIT[unit])


def parse_trim_size(text: str) -> TrimSize:
    """Return the TrimSize for ``"6in x 9in"``, ``"5.5in × 8.5in"``, ``"A5"`` and the like.

    Raises ValueError for any other form or a size of zero.
    """
    named = _NAMED_TRIM_SIZES.get(text.strip().casefold())
    if named:
        width_text, height_text = named
    else:
        match = _SIZE_RE.match(text)
        if not match:
            raise ValueError(
                f"{text!r} is not a trim size; write it as WIDTH x HEIGHT (e.g. '6in x 9in')"
                f" or use one of: {', '.join(sorted(_NAMED_TRIM_SIZES))}"
            )
        width_text, height_text = match.groups()
        # "5.5 x 8.5in": a unit written on the height alone applies to both sides.
        height_unit = _LENGTH_RE.match(height_text)
        if height_unit and re.fullmatch(r"\d+(?:\.\d+)?", width_text):
            width_text += height_unit.group(2)
    width, height = parse_length(width_text), parse_length(height_text)
    if width.points <= 0 or height.points <= 0:
        raise ValueError(f"{text!r} has a zero side")
    return TrimSize(width, height)


# --- the configuration ----------------------------------------------------------------------------

DEFAULT_TRIM_SIZE = parse_trim_size("6in x 9in")
DEFAULT_BLEED = parse_length("0.125in")
_LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True)
class BookConfig:
    """Everything book.toml says, typed, with defaults for what it leaves out."""

    title: str = "Untitled"
    subtitle: str | None = None
    authors: tuple[str, ...] = ()
    language: str = "en"
    identifier: str | None = None
    publisher: str | None = None
    date: dt.date | None = None
    rights: str | None = None
    description: str | None = None
    start: str | None = None
    appendix: tuple[str, ...] = ()
    next_stages_heading: str = "Next Stages"
    keywords: tuple[str, ...] = ()
    edition: str | None = None
    dedication: str | None = None
    styles: str | None = None
    map: bool = False
    trim_size: TrimSize = DEFAULT_TRIM_SIZE
    bleed: Length = DEFAULT_BLEED
    cover: str | None = None
    # Where each key was written, for diagnostics raised by later stages (e.g. an unknown start).
    key_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, dotted_key: str) -> int | None:
        """Return the book.toml line of ``"book.start"`` and the like, or None if it was not set."""
        return self.key_lines.get(dotted_key)


# --- where keys stand in the source ---------------------------------------------------------------

_TABLE_RE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\s*(?:#.*)?$")
_KEY_RE = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')\s*(?:\.\s*[A-Za-z0-9_\-\"']+\s*)*=")


class TomlLines:
    """Lines on which the tables and top-level keys of each table of a TOML text stand."""

    def __init__(self, source: str) -> None:
        self.lines: dict[str, int] = {}
        table = ""
        in_multiline: str | None = None
        for number, text in enumerate(source.splitlines(), start=1):
            if in_multiline:
                if text.count(in_multiline) % 2 == 1:
                    in_multiline = None
                continue
            table_match = _TABLE_RE.match(text)
            if table_match:
                table = table_match.group(1).replace(" ", "").replace('"', "").replace("'", "")
                self.lines.setdefault(table, number)
                continue
            key_match = _KEY_RE.match(text)
            if key_match:
                key = key_match.group(1).strip("\"'")
                self.lines.setdefault(f"{table}.{key}" if table else key, number)
                for quote in ('"""', "'''"):
                    if text.count(quote) % 2 == 1:
                        in_multiline = quote

    def line(self, dotted_key: str) -> int | None:
        """Return the line of ``"book.title"`` (a key) or ``"print"`` (a table), if known."""
        return self.lines.get(dotted_key)


_TOML_POSITION_RE = re.compile(r"\(at line (\d+), column \d+\)")

_KNOWN_KEYS: dict[str, frozenset[str]] = {
    "book": frozenset(
        {
            "title",
            "subtitle",
            "author",
            "authors",
            "language",
            "identifier",
            "publisher",
            "date",
            "rights",
            "description",
            "start",
            "appendix",
            "next_stages_heading",
            "keywords",
            "edition",
            "dedication",
            "styles",
            "map",
        }
    ),
    "print": frozenset({"trim_size", "bleed"}),
    "epub": frozenset({"cover"}),
}


class _Reader:
    """Collects typed values and diagnostics while reading one parsed book.toml."""

    def __init__(self, path: Path, data: dict[str, Any], where: TomlLines) -> None:
        self.path = path
        self.data = data
        self.where = where
        self.diagnostics: list[Diagnostic] = []

    def report(self, code: str, key: str, message: str, hint: str | None = None) -> None:
        line = self.where.line(key) or self.where.line(key.split(".")[0])
        self.diagnostics.append(diagnostic(code, message, self.path, line, hint))

    def value(self, table: str, key: str) -> Any:
        section = self.data.get(table, {})
        return section.get(key) if isinstance(section, dict) else None

    def text(self, table: str, key: str, *, required: bool = False) -> str | None:
        raw = self.value(table, key)
        if raw is None:
            if required:
                self.report(
                    "DB004",
                    table,
                    f"[{table}] {key} is required",
                    f'add a line such as {key} = "..." under [{table}]',
                )
            return None
        if not isinstance(raw, str) or not raw.strip():
            self.report("DB004", f"{table}.{key}", f"[{table}] {key} must be a non-empty string")
            return None
        return raw.strip()

    def text_list(self, table: str, key: str) -> tuple[str, ...]:
        raw = self.value(table, key)
        if raw is None:
            return ()
        if not isinstance(raw, list) or not all(isinstance(v, str) and v.strip() for v in raw):
            self.report(
                "DB004",
                f"{table}.{key}",
                f"[{table}] {key} must be a list of strings",
                f'write it as {key} = ["first", "second"]',
            )
            return ()
        return tuple(v.strip() for v in raw)

    def flag(self, table: str, key: str) -> bool:
        raw = self.value(table, key)
        if raw is None:
            return False
        if not isinstance(raw, bool):
            self.report(
                "DB004", f"{table}.{key}", f"[{table}] {key} must be true or false", f"{key} = true"
            )
            return False
        return raw

    def parsed(self, table: str, key: str, parse: Callable[[str], _T], default: _T) -> _T:
        raw = self.text(table, key)
        if raw is None:
            return default
        try:
            return parse(raw)
        except ValueError as error:
            self.report("DB004", f"{table}.{key}", f"[{table}] {key}: {error}")
            return default


def _check_unknown_keys(reader: _Reader) -> None:
    for table, section in reader.data.items():
        if table not in _KNOWN_KEYS or not isinstance(section, dict):
            reader.report(
                "DB003",
                table,
                f"unknown table or key {table!r} in book.toml",
                f"known tables are {', '.join(f'[{t}]' for t in _KNOWN_KEYS)}",
            )
            continue
        for key in section:
            if key not in _KNOWN_KEYS[table]:
                reader.report(
                    "DB003",
                    f"{table}.{key}",
                    f"unknown key {key!r} in [{table}]",
                    f"known keys in [{table}]: {', '.join(sorted(_KNOWN_KEYS[table]))}",
                )


def _is_valid_identifier(identifier: str) -> bool:
    lowered = identifier.casefold()
    if lowered.startswith("urn:uuid:"):
        try:
            uuid.UUID(identifier[len("urn:uuid:") :])
        except ValueError:
            return False
        return True
    return parse_isbn(identifier) is not None


def _inside_manuscript(text: str) -> str:
    """Check that a path from book.toml is relative and stays inside the manuscript folder.

    Raises ValueError otherwise: a build reads nothing outside the manuscript and styles.
    """
    path = PurePosixPath(text.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or ":" in text:
        raise ValueError(
            f"{text!r} must be a path inside the manuscript folder, such as 'styles' or "
            "'images/cover.jpg' (no absolute paths, no '..')"
        )
    return path.as_posix()


def _parse_date(reader: _Reader) -> dt.date | None:
    raw = reader.value("book", "date")
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            pass
    reader.report(
        "DB004", "book.date", "[book] date must be a date", "write it as date = 2026-11-25"
    )
    return None


def _parse_authors(reader: _Reader) -> tuple[str, ...]:
    if reader.value("book", "author") is not None and reader.value("book", "authors") is not None:
        reader.report(
            "DB004",
            "book.authors",
            "[book] has both author and authors",
            'keep one: author = "Name" or authors = ["Name", "Name"]',
        )
    single = reader.text("book", "author")
    return (single,) if single else reader.text_list("book", "authors")


def parse_book_toml(source: str, path: Path) -> tuple[BookConfig, list[Diagnostic]]:
    """Return the BookConfig that the TOML text ``source`` describes, and its diagnostics.

    Never raises for bad content: malformed TOML, unknown keys and bad values become
    diagnostics (with the line of the key), and the returned config holds defaults in
    their place so that later stages can still check the chapters.
    """
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        position = _TOML_POSITION_RE.search(str(error))
        message = _TOML_POSITION_RE.sub("", str(error)).strip()
        return BookConfig(), [
            diagnostic(
                "DB002",
                f"book.toml is not valid TOML: {message}",
                path,
                int(position.group(1)) if position else None,
                "check quotes, brackets and '=' on that line",
            )
        ]
    reader = _Reader(path, data, TomlLines(source))
    _check_unknown_keys(reader)

    language = reader.text("book", "language") or "en"
    if not _LANGUAGE_RE.match(language):
        reader.report(
            "DB004",
            "book.language",
            f"[book] language {language!r} is not a BCP 47 language tag",
            "use a tag such as 'en', 'en-GB' or 'pt-BR'",
        )
        language = "en"
    identifier = reader.text("book", "identifier")
    if identifier is not None and not _is_valid_identifier(identifier):
        reader.report(
            "DB004",
            "book.identifier",
            f"[book] identifier {identifier!r} is neither a valid ISBN nor a urn:uuid: URN",
            "use an ISBN-13 such as 978-0-00-000000-2 or 'urn:uuid:' followed by a UUID",
        )
        identifier = None

    styles = reader.parsed("book", "styles", _inside_manuscript, None)
    cover = reader.parsed("epub", "cover", _inside_manuscript, None)
    config = BookConfig(
        title=reader.text("book", "title", required=True) or "Untitled",
        subtitle=reader.text("book", "subtitle"),
        authors=_parse_authors(reader),
        language=language,
        identifier=identifier,
        publisher=reader.text("book", "publisher"),
        date=_parse_date(reader),
        rights=reader.text("book", "rights"),
        description=reader.text("book", "description"),
        start=reader.text("book", "start"),
        appendix=reader.text_list("book", "appendix"),
        next_stages_heading=reader.text("book", "next_stages_heading") or "Next Stages",
        keywords=reader.text_list("book", "keywords"),
        edition=reader.text("book", "edition"),
        dedication=reader.text("book", "dedication"),
        styles=styles,
        map=reader.flag("book", "map"),
        trim_size=reader.parsed("print", "trim_size", parse_trim_size, DEFAULT_TRIM_SIZE),
        bleed=reader.parsed("print", "bleed", parse_length, DEFAULT_BLEED),
        cover=cover,
        key_lines=dict(reader.where.lines),
    )
    return config, reader.diagnostics


def load_book_toml(manuscript: Path) -> tuple[BookConfig, list[Diagnostic]]:
    """Read ``manuscript/book.toml`` and return its config and diagnostics.

    A missing file gives the DB001 diagnostic and a default config; a file that is not
    UTF-8 gives DB002. Raises nothing for manuscript content.
    """
    path = manuscript / BOOK_TOML
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return BookConfig(), [
            diagnostic(
                "DB001",
                "the manuscript folder has no book.toml",
                path,
                None,
                'create it with at least [book] title = "..." and start = "<first chapter slug>"',
            )
        ]
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = line_of_byte(raw, error.start)
        return BookConfig(), [
            diagnostic(
                "DB002",
                f"book.toml is not valid UTF-8 (byte offset {error.start})",
                path,
                line,
                "save the file as UTF-8",
            )
        ]
    return parse_book_toml(source, path)
