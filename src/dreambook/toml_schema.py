"""How a book.toml key is declared, read back with its diagnostics, and written out again.

A key is declared once, as a field of a frozen dataclass whose default is :func:`setting`:
its table, the kind of value it takes, its default, one line of documentation and an
example. The parse reads each declared field (:meth:`KeyReader.read`);
:func:`declared_keys` lists the declarations as :class:`BookKey` rows, from which the
unknown-key check, the README's key table and the book.toml ``dreambook init`` writes work.

Why dataclass fields rather than a table handed to ``dataclasses.make_dataclass``: mypy
cannot see the fields of a class made at run time, and every stage reads BookConfig's
fields. Declared this way, each field keeps its written annotation, mypy checks the kind
and the default against it, and the key is still declared in one place.

``tomllib`` reports no positions for the keys it reads, so :class:`TomlLines` scans the
source once to learn on which line each table and key stands; every diagnostic about a
key then names that line.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import Field, dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from dreambook.diagnostics import Diagnostic, diagnostic

_T = TypeVar("_T")
_D = TypeVar("_D")
# The field metadata entry under which a dataclass field carries its Setting.
_SETTING = "dreambook.book_toml"


class Rejected(ValueError):
    """A value of the right type that a key refuses: what the value is not, and a hint.

    A plain ValueError from a parse reads ``[table] key: <error>``; a Rejected one reads
    ``[table] key 'value' <what>`` followed by its hint, under ``code`` (DB004 unless a
    refusal has a code of its own, such as a wrong ISBN check digit).
    """

    def __init__(self, what: str, hint: str, code: str = "DB004") -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint
        self.code = code


@dataclass(frozen=True)
class Kind(Generic[_T]):
    """One sort of book.toml value: its name in the README, how it is read and written.

    ``read`` returns the typed value of ``[table] key``, or None when the key is unset or
    its value is bad (then it has reported why); ``toml`` writes a value back as TOML.
    """

    name: str
    read: Callable[[KeyReader, str, str], _T | None]
    toml: Callable[[_T], str]


@dataclass(frozen=True)
class Singular:
    """The one-value spelling of a list key (``author`` beside ``authors``); set one of the two."""

    key: str
    doc: str
    example: str


@dataclass(frozen=True)
class TableKey:
    """One key of a table that a single field reads whole (``[labels]``): its name, its line
    of documentation and an example value (a string)."""

    key: str
    doc: str
    example: str


@dataclass(frozen=True)
class Setting(Generic[_T]):
    """What a dataclass field declares about its book.toml key (see :func:`setting`)."""

    table: str
    kind: Kind[_T]
    doc: str
    example: _T | None
    required: bool
    singular: Singular | None
    keys: tuple[TableKey, ...] = ()


def setting(
    table: str,
    kind: Kind[_T],
    default: _D,
    *,
    doc: str,
    example: _T | None = None,
    required: bool = False,
    singular: Singular | None = None,
    keys: tuple[TableKey, ...] = (),
) -> _T | _D:
    """Declare the dataclass field it is the default of as the key ``[table] <field name>``.

    Returns a dataclasses.Field (typed as the field's value, so that mypy checks ``kind`` and
    ``default`` against the field's annotation). ``default`` is the value when the key is
    unset or bad; a ``required`` key that is unset is an error. A key with a ``singular``
    also reads that one-value key as a list of one. With ``keys`` the field is the whole
    table instead: it declares those keys of ``[table]`` (each a string, documented one
    by one), and ``kind`` reads them together (see :data:`TEXT_TABLE`).
    """
    declared = Setting(table, kind, doc, example, required, singular, keys)
    return field(default=default, metadata={_SETTING: declared})


@dataclass(frozen=True)
class BookKey:
    """One key of book.toml as the parse and the documentation see it."""

    table: str
    key: str
    kind: Kind[Any]
    default: Any
    required: bool
    doc: str
    example: Any

    @property
    def default_toml(self) -> str | None:
        """The default written as TOML, or None for a required key or one with no default."""
        if self.required or self.default is None:
            return None
        return self.kind.toml(self.default)

    @property
    def example_toml(self) -> str | None:
        """The example written as TOML, or None when there is none."""
        return None if self.example is None else self.kind.toml(self.example)


def declared_fields(fields: Iterable[Field[Any]]) -> tuple[Field[Any], ...]:
    """Return the fields among ``fields`` that declare a key with :func:`setting`."""
    return tuple(candidate for candidate in fields if _SETTING in candidate.metadata)


def declared_keys(fields: Iterable[Field[Any]]) -> tuple[BookKey, ...]:
    """Return a BookKey for every key the fields declare, in the order declared.

    A field with a ``singular`` gives two keys, the singular one first.
    """
    keys: list[BookKey] = []
    for declared_field in declared_fields(fields):
        declared: Setting[Any] = declared_field.metadata[_SETTING]
        if declared.keys:
            keys += [
                BookKey(declared.table, key.key, TEXT, None, False, key.doc, key.example)
                for key in declared.keys
            ]
            continue
        one = declared.singular
        if one is not None:
            keys.append(BookKey(declared.table, one.key, TEXT, None, False, one.doc, one.example))
        keys.append(
            BookKey(
                declared.table,
                declared_field.name,
                declared.kind,
                declared_field.default,
                declared.required,
                declared.doc,
                declared.example,
            )
        )
    return tuple(keys)


def known_tables(keys: Iterable[BookKey]) -> dict[str, frozenset[str]]:
    """Return the key names of each table, the tables in the order their first key is declared."""
    tables: dict[str, set[str]] = {}
    for key in keys:
        tables.setdefault(key.table, set()).add(key.key)
    return {table: frozenset(names) for table, names in tables.items()}


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


# --- reading declared keys ----------------------------------------------------------------------


class KeyReader:
    """Collects typed values and diagnostics while reading one parsed book.toml."""

    def __init__(self, path: Path, data: dict[str, Any], where: TomlLines) -> None:
        self.path = path
        self.data = data
        self.where = where
        self.diagnostics: list[Diagnostic] = []

    def report(self, code: str, key: str, message: str, hint: str | None = None) -> None:
        """Add a diagnostic on the line of ``key`` (``"book.title"``), else of its table."""
        line = self.where.line(key) or self.where.line(key.split(".")[0])
        self.diagnostics.append(diagnostic(code, message, self.path, line, hint))

    def value(self, table: str, key: str) -> Any:
        """Return the raw TOML value of ``[table] key``, or None when it is not there."""
        section = self.data.get(table, {})
        return section.get(key) if isinstance(section, dict) else None

    def check_unknown_keys(self, known: dict[str, frozenset[str]]) -> None:
        """Report (DB003) every table and key that ``known`` does not list."""
        for table, section in self.data.items():
            if table not in known or not isinstance(section, dict):
                self.report(
                    "DB003",
                    table,
                    f"unknown table or key {table!r} in book.toml",
                    f"known tables are {', '.join(f'[{t}]' for t in known)}",
                )
                continue
            for key in section:
                if key not in known[table]:
                    self.report(
                        "DB003",
                        f"{table}.{key}",
                        f"unknown key {key!r} in [{table}]",
                        f"known keys in [{table}]: {', '.join(sorted(known[table]))}",
                    )

    def read(self, declared_field: Field[Any]) -> Any:
        """Return the value of the key that ``declared_field`` declares, or its default.

        Bad and missing-but-required values are reported and give the default.
        """
        declared: Setting[Any] = declared_field.metadata[_SETTING]
        table, key, default = declared.table, declared_field.name, declared_field.default
        if declared.keys:
            names = {table_key.key for table_key in declared.keys}
            pairs = declared.kind.read(self, table, key)
            # Keys the table does not declare are the unknown-key check's (DB003).
            return default if pairs is None else tuple(p for p in pairs if p[0] in names)
        if declared.singular is not None:
            one = self._singular(table, declared.singular.key, key)
            if one is not None:
                return (one,)
        if declared.required and self.value(table, key) is None:
            self.report(
                "DB004",
                table,
                f"[{table}] {key} is required",
                f'add a line such as {key} = "..." under [{table}]',
            )
            return default
        value = declared.kind.read(self, table, key)
        return default if value is None else value

    def _singular(self, table: str, singular: str, plural: str) -> str | None:
        if self.value(table, singular) is not None and self.value(table, plural) is not None:
            self.report(
                "DB004",
                f"{table}.{plural}",
                f"[{table}] has both {singular} and {plural}",
                f'keep one: {singular} = "Name" or {plural} = ["Name", "Name"]',
            )
        return TEXT.read(self, table, singular)


# --- the kinds of value -------------------------------------------------------------------------


def _read_text(reader: KeyReader, table: str, key: str) -> str | None:
    raw = reader.value(table, key)
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        reader.report("DB004", f"{table}.{key}", f"[{table}] {key} must be a non-empty string")
        return None
    return raw.strip()


def _read_text_list(reader: KeyReader, table: str, key: str) -> tuple[str, ...] | None:
    raw = reader.value(table, key)
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(v, str) and v.strip() for v in raw):
        reader.report(
            "DB004",
            f"{table}.{key}",
            f"[{table}] {key} must be a list of strings",
            f'write it as {key} = ["first", "second"]',
        )
        return None
    return tuple(v.strip() for v in raw)


def _read_text_table(reader: KeyReader, table: str, key: str) -> tuple[tuple[str, str], ...] | None:
    """The (key, text) pairs of the whole table ``[table]`` (``key``, the field's name, is
    not a key of it), in the order written; None when the table is absent. A value that is
    not a non-empty string is reported and left out."""
    section = reader.data.get(table)
    if not isinstance(section, dict):
        return None
    pairs = []
    for name in section:
        text = _read_text(reader, table, name)
        if text is not None:
            pairs.append((name, text))
    return tuple(pairs)


def _read_flag(reader: KeyReader, table: str, key: str) -> bool | None:
    raw = reader.value(table, key)
    if raw is None or isinstance(raw, bool):
        return raw
    reader.report(
        "DB004", f"{table}.{key}", f"[{table}] {key} must be true or false", f"{key} = true"
    )
    return None


def _read_date(reader: KeyReader, table: str, key: str) -> dt.date | None:
    raw = reader.value(table, key)
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
        "DB004",
        f"{table}.{key}",
        f"[{table}] {key} must be a date",
        f"write it as {key} = 2026-11-25",
    )
    return None


# A JSON string is a valid TOML basic string (json.dumps escapes every control character).
toml_string: Callable[[str], str] = json.dumps


def _toml_list(items: tuple[str, ...]) -> str:
    return f"[{', '.join(toml_string(item) for item in items)}]"


TEXT: Kind[str] = Kind("string", _read_text, toml_string)
TEXT_LIST: Kind[tuple[str, ...]] = Kind("list of strings", _read_text_list, _toml_list)
FLAG: Kind[bool] = Kind("true or false", _read_flag, lambda flag: "true" if flag else "false")
DATE: Kind[dt.date] = Kind("date", _read_date, dt.date.isoformat)
# A whole table of strings, declared key by key with ``setting(..., keys=...)``.
TEXT_TABLE: Kind[tuple[tuple[str, str], ...]] = Kind(
    "table of strings",
    _read_text_table,
    lambda pairs: "{" + ", ".join(f"{k} = {toml_string(v)}" for k, v in pairs) + "}",
)


def parsed(name: str, parse: Callable[[str], _T], toml: Callable[[_T], str]) -> Kind[_T]:
    """Return the Kind of a string that ``parse`` turns into a value or refuses.

    ``parse`` raises ValueError (or Rejected) for a string it does not accept; the value
    then stays at the key's default.
    """

    def read(reader: KeyReader, table: str, key: str) -> _T | None:
        text = _read_text(reader, table, key)
        if text is None:
            return None
        try:
            return parse(text)
        except Rejected as rejected:
            message = f"[{table}] {key} {text!r} {rejected.what}"
            reader.report(rejected.code, f"{table}.{key}", message, rejected.hint)
        except ValueError as error:
            reader.report("DB004", f"{table}.{key}", f"[{table}] {key}: {error}")
        return None

    return Kind(name, read, toml)
