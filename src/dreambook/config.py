"""book.toml -> BookConfig: every key declared once, as a typed field with its default and check.

The declarations are the fields of :class:`BookConfig`; toml_schema.py turns them into the
parse, the unknown-key check and the documentation of book.toml (:data:`BOOK_KEYS`).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Literal, cast, get_args

from dreambook.diagnostics import Diagnostic, diagnostic, line_of_byte, over_size
from dreambook.errors import ResourceOutsideError
from dreambook.fsutil import ConfinedReader
from dreambook.isbn import expected_check_digit, parse_isbn
from dreambook.labels import DEFAULT_NEXT_STAGES_HEADING, ENGLISH, LABEL_KEYS
from dreambook.toml_schema import (
    DATE,
    FLAG,
    TEXT,
    TEXT_LIST,
    TEXT_TABLE,
    KeyReader,
    Kind,
    Rejected,
    Singular,
    TableKey,
    TomlLines,
    declared_fields,
    declared_keys,
    known_tables,
    parsed,
    setting,
    toml_string,
)

BOOK_TOML = "book.toml"
# The largest book.toml read: it is read whole, and the sample book's is 3 KB.
MAX_BOOK_TOML_BYTES = 1_048_576

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


# --- the kinds of value only book.toml's own keys take ------------------------------------------

_LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")


def _language_tag(text: str) -> str:
    """Return ``text`` if it has the shape of a BCP 47 tag; raises Rejected otherwise."""
    if not _LANGUAGE_RE.match(text):
        raise Rejected("is not a BCP 47 language tag", "use a tag such as 'en', 'en-GB' or 'pt-BR'")
    return text


def _book_identifier(text: str) -> str:
    """Return ``text`` if it is a valid ISBN or a ``urn:uuid:`` URN; raises Rejected otherwise."""
    if text.casefold().startswith("urn:uuid:"):
        try:
            uuid.UUID(text[len("urn:uuid:") :])
        except ValueError:
            valid = False
        else:
            valid = True
    else:
        valid = parse_isbn(text) is not None
        expected = expected_check_digit(text)
        if not valid and expected is not None:
            raise Rejected(
                "has the wrong ISBN check digit",
                f"the last digit of this ISBN should be {expected}; check the number your "
                "ISBN agency gave you",
                code="DB100",
            )
    if not valid:
        raise Rejected(
            "is neither a valid ISBN nor a urn:uuid: URN",
            "use an ISBN-13 such as 978-0-00-000000-2 or 'urn:uuid:' followed by a UUID",
        )
    return text


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


# How the printed book sets the page after a cross-reference (see export/pdf/wording.py).
PageReferenceStyle = Literal["auto", "parentheses", "comma"]


def _page_reference_style(text: str) -> PageReferenceStyle:
    """Return ``text`` if it names a page-reference style; raises Rejected otherwise."""
    styles = get_args(PageReferenceStyle)
    if text not in styles:
        raise Rejected("is not a page-reference style", f"use one of: {', '.join(styles)}")
    return cast("PageReferenceStyle", text)


def _toml_trim_size(size: TrimSize) -> str:
    return toml_string(f"{size.width.text} x {size.height.text}")


def _read_page_multiple(reader: KeyReader, table: str, key: str) -> int | None:
    raw = reader.value(table, key)
    if raw is None:
        return None
    # TOML booleans are not counts, though Python's bool is an int.
    if (
        isinstance(raw, int)
        and not isinstance(raw, bool)
        and 1 <= raw <= 64
        and raw & (raw - 1) == 0
    ):
        return raw
    reader.report(
        "DB004",
        f"{table}.{key}",
        f"[{table}] {key} must be 1, 2, 4, 8, 16, 32 or 64",
        "ask the printer how many pages a signature holds; 2 (an even count) suits print on demand",
    )
    return None


_MARKS = ("none", "crop")


def _marks(text: str) -> str:
    """Return ``text`` if it names printer's marks dreambook draws; raises Rejected otherwise."""
    if text not in _MARKS:
        raise Rejected("is not a kind of printer's marks", 'use "none" or "crop"')
    return text


# --- covers: paper, colours, counts ---------------------------------------------------------------

# Pages per inch of the common print-on-demand book papers, from Amazon KDP's published
# spine-width figures: 0.002252 in per page on white paper, 0.0025 in per page on cream.
# Other printers' papers differ by a few per cent: [print] pages_per_inch or spine_width
# takes the printer's own figure.
PAPERS: dict[str, float] = {"white": 1 / 0.002252, "cream": 1 / 0.0025}
_COLOUR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
SPINE_DIRECTIONS = ("auto", "top-to-bottom", "bottom-to-top")


def _paper(text: str) -> str:
    """Return ``text`` if it names a paper of ``PAPERS``; raises Rejected otherwise."""
    if text not in PAPERS:
        raise Rejected(
            "is not a paper dreambook knows",
            f"use one of: {', '.join(PAPERS)}; or set pages_per_inch to the printer's figure",
        )
    return text


def _colour(text: str) -> str:
    """Return a ``#rgb`` or ``#rrggbb`` colour as ``#rrggbb`` (lower case); raises Rejected."""
    if not _COLOUR_RE.match(text):
        raise Rejected("is not a colour", 'write it as "#rrggbb", such as "#1f2a44"')
    digits = text[1:].lower()
    return "#" + ("".join(c * 2 for c in digits) if len(digits) == 3 else digits)


def _price_code(text: str) -> str:
    """Return ``text`` if it is the five digits of an EAN-5 price add-on; raises Rejected."""
    if not re.fullmatch(r"\d{5}", text):
        raise Rejected(
            "is not a five-digit price code",
            'write the add-on\'s five digits, such as "51995" (US$19.95) or "90000" (no price)',
        )
    return text


def _number_kind(name: str, low: float, high: float, whole: bool) -> Kind[float]:
    """The Kind of a number from ``low`` to ``high`` (a whole number when ``whole``)."""

    def read(reader: KeyReader, table: str, key: str) -> float | None:
        raw = reader.value(table, key)
        if raw is None:
            return None
        number_types = (int,) if whole else (int, float)
        if isinstance(raw, number_types) and not isinstance(raw, bool) and low <= raw <= high:
            return raw
        reader.report(
            "DB004",
            f"{table}.{key}",
            f"[{table}] {key} must be a {name} from {low:g} to {high:g}",
        )
        return None

    return Kind(name, read, lambda number: f"{number:g}")


def _read_toc_depth(reader: KeyReader, table: str, key: str) -> int | None:
    raw = reader.value(table, key)
    if raw is None:
        return None
    # TOML booleans are not counts, though Python's bool is an int.
    if isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= 3:
        return raw
    reader.report(
        "DB004",
        f"{table}.{key}",
        f"[{table}] {key} must be 1, 2 or 3",
        "1 lists the chapters, 2 their ## sections too, 3 the ### headings below those",
    )
    return None


def _read_sort_names(reader: KeyReader, table: str, key: str) -> tuple[str, ...] | None:
    """One sort name as a string, or several (one per author, in order) as a list."""
    raw = reader.value(table, key)
    if raw is None:
        return None
    if isinstance(raw, str) and raw.strip():
        return (raw.strip(),)
    if isinstance(raw, list) and all(isinstance(v, str) and v.strip() for v in raw):
        return tuple(v.strip() for v in raw)
    reader.report(
        "DB004",
        f"{table}.{key}",
        f"[{table}] {key} must be a name or a list of names",
        f'write it as {key} = "Ellison, Mara", or a list with one name per author',
    )
    return None


def _toml_sort_names(names: tuple[str, ...]) -> str:
    if len(names) == 1:
        return toml_string(names[0])
    return "[" + ", ".join(toml_string(name) for name in names) + "]"


def _web_address(text: str) -> str:
    """Return ``text`` if it is an http(s) address; raises Rejected otherwise."""
    if not re.fullmatch(r"https?://[^\s/]+\S*", text):
        raise Rejected("is not a web address", "write the full address, starting https://")
    return text


WEB_ADDRESS = parsed("web address", _web_address, toml_string)
TOC_DEPTH: Kind[int] = Kind("1, 2 or 3", _read_toc_depth, str)
SORT_NAMES: Kind[tuple[str, ...]] = Kind(
    "name or list of names", _read_sort_names, _toml_sort_names
)
LANGUAGE = parsed("language tag", _language_tag, toml_string)
IDENTIFIER = parsed("ISBN or UUID URN", _book_identifier, toml_string)
MANUSCRIPT_PATH = parsed("path", _inside_manuscript, toml_string)
TRIM_SIZE = parsed("trim size", parse_trim_size, _toml_trim_size)
LENGTH = parsed("length", parse_length, lambda length: toml_string(length.text))
MARKS = parsed('"none" or "crop"', _marks, toml_string)
PAGE_MULTIPLE: Kind[int] = Kind("power of 2", _read_page_multiple, str)
PAGE_REFERENCE_STYLE = parsed("auto, parentheses or comma", _page_reference_style, toml_string)
PAPER = parsed("paper", _paper, toml_string)
COLOUR = parsed("colour", _colour, toml_string)
PRICE_CODE = parsed("five digits", _price_code, toml_string)
PAGES_PER_INCH = _number_kind("number", 100, 2000, whole=False)
PAGE_COUNT = _number_kind("whole number", 0, 10000, whole=True)


def _one_of(*choices: str) -> Callable[[str], str]:
    """A reader of a string that must be one of ``choices`` (ValueError otherwise)."""

    def read(text: str) -> str:
        if text not in choices:
            raise ValueError(f"{text!r} is not one of " + ", ".join(map(repr, choices)))
        return text

    return read


SPINE_DIRECTION = parsed(
    '"auto", "top-to-bottom" or "bottom-to-top"', _one_of(*SPINE_DIRECTIONS), toml_string
)
EM_DASH = parsed('"spaced" or "closed"', _one_of("spaced", "closed"), toml_string)
CHAPTER_START = parsed('"recto" or "any"', _one_of("recto", "any"), toml_string)


# --- the configuration: every key of book.toml, declared once ----------------------------------


@dataclass(frozen=True)
class BookConfig:
    """Everything book.toml says, typed, with defaults for what it leaves out.

    Each field but ``key_lines`` declares one key (``setting``: table, kind, default, one
    line of documentation, an example). That is the only place a key is declared: the
    parse, the unknown-key check (DB003), the README's key table and the book.toml that
    ``dreambook init`` writes are all derived from these fields (see BOOK_KEYS).
    """

    title: str = setting(
        "book",
        TEXT,
        "Untitled",
        required=True,
        doc="the book's title, as printed",
        example="What the Night Rehearses",
    )
    subtitle: str | None = setting(
        "book", TEXT, None, doc="printed under the title", example="A Field Guide to Anxiety Dreams"
    )
    authors: tuple[str, ...] = setting(
        "book",
        TEXT_LIST,
        (),
        doc="the authors' names, in order (instead of author)",
        example=("First Author", "Second Author"),
        singular=Singular(
            "author", doc="the author's name (for several, use authors)", example="Mara Ellison"
        ),
    )
    author_sort: tuple[str, ...] = setting(
        "book",
        SORT_NAMES,
        (),
        doc="how catalogues sort the authors (the EPUB's file-as), one per author; when unset,"
        ' each name turned round at its last word ("Mara Ellison" -> "Ellison, Mara")',
        example=("Ellison, Mara",),
    )
    language: str = setting(
        "book", LANGUAGE, "en", doc="the book's language, a BCP 47 tag such as en-GB or pt-BR"
    )
    identifier: str | None = setting(
        "book",
        IDENTIFIER,
        None,
        doc="an ISBN-10 or ISBN-13, or urn:uuid: and a UUID; when unset, a UUID made from"
        " the title and authors",
        example="urn:uuid:6f1c1f0e-4b7e-4d2a-9a55-3c2b8f0d7e41",
    )
    publisher: str | None = setting(
        "book",
        TEXT,
        None,
        doc="the publisher, on the title and copyright pages",
        example="Dreambook Press",
    )
    date: dt.date | None = setting(
        "book",
        DATE,
        None,
        doc='the publication date: a TOML date or "YYYY-MM-DD"',
        example=dt.date(2026, 11, 25),
    )
    rights: str | None = setting(
        "book",
        TEXT,
        None,
        doc="the rights statement on the copyright page",
        example="Copyright © 2026 ...",
    )
    description: str | None = setting(
        "book",
        TEXT,
        None,
        doc="a paragraph about the book, for the metadata and the HTML edition",
        example="A paragraph about the book.",
    )
    start: str | None = setting(
        "book",
        TEXT,
        None,
        doc="the slug of the first chapter; when unset, the first chapter file (DB005)",
        example="why-you-keep-having-anxiety-dreams",
    )
    appendix: tuple[str, ...] = setting(
        "book",
        TEXT_LIST,
        (),
        doc="slugs of chapters placed last, in this order",
        example=("keeping-a-dream-journal",),
    )
    next_stages_heading: str = setting(
        "book",
        TEXT,
        DEFAULT_NEXT_STAGES_HEADING,
        doc="the heading of the Next Stages section in the chapter files; when set, the "
        "printed heading too (else the book's language's words)",
    )
    keywords: tuple[str, ...] = setting(
        "book", TEXT_LIST, (), doc="PDF keywords and EPUB subjects", example=("dreams", "sleep")
    )
    edition: str | None = setting(
        "book",
        TEXT,
        None,
        doc="printed on the copyright page with the date",
        example="First edition",
    )
    dedication: str | None = setting(
        "book", TEXT, None, doc="a dedication page in the front matter", example="For ..."
    )
    styles: str | None = setting(
        "book",
        MANUSCRIPT_PATH,
        None,
        doc="a folder inside the manuscript of your own templates and stylesheets",
        example="my-styles",
    )
    em_dash: str = setting(
        "book",
        EM_DASH,
        "spaced",
        doc='the house style of em dashes: "spaced" (word — word, the dash kept on the line '
        'of the word before it) or "closed" (word—word)',
        example="spaced",
    )
    map: bool = setting(
        "book",
        FLAG,
        False,
        doc="a Map of the Book page in the front matter (an image in the EPUB)",
        example=True,
    )
    trim_size: TrimSize = setting(
        "print",
        TRIM_SIZE,
        parse_trim_size("6in x 9in"),
        doc="the finished page size: WIDTH x HEIGHT or one of "
        + ", ".join(sorted(_NAMED_TRIM_SIZES)),
    )
    bleed: Length = setting(
        "print", LENGTH, parse_length("0.125in"), doc="the print variant's bleed on each side"
    )
    marks: str = setting(
        "print",
        MARKS,
        "none",
        doc='printer\'s marks on the print variant: "none" (what print-on-demand printers want)'
        ' or "crop" (crop marks outside the bleed, on a larger sheet)',
        example="crop",
    )
    page_multiple: int = setting(
        "print",
        PAGE_MULTIPLE,
        2,
        doc="the print variant's page count is padded with blank pages to a multiple of this",
        example=16,
    )
    output_profile: str | None = setting(
        "print",
        MANUSCRIPT_PATH,
        None,
        doc="the CMYK ICC profile of the print variant's PDF/X output intent, a path inside the"
        " manuscript folder; when unset, Ghostscript's default_cmyk.icc (Debian libgs-common)",
        example="profiles/printer.icc",
    )
    page_reference: PageReferenceStyle = setting(
        "print",
        PAGE_REFERENCE_STYLE,
        "auto",
        doc='how a cross-reference gives its page: "parentheses" (see Falling (p. 61)), "comma"'
        ' (see Falling, p. 61), or "auto": the comma inside parentheses, else parentheses',
        example="auto",
    )
    chapter_start: str = setting(
        "print",
        CHAPTER_START,
        "recto",
        doc='where a chapter opens: "recto" (a right-hand page, with a blank page before it '
        'when needed) or "any" (the next page)',
        example="recto",
    )
    paper: str = setting(
        "print",
        PAPER,
        "white",
        doc="the paper the printer uses, for the cover's spine width: "
        + ", ".join(f'"{name}" ({ppi:.0f} pages per inch)' for name, ppi in PAPERS.items()),
        example="cream",
    )
    pages_per_inch: float | None = setting(
        "print",
        PAGES_PER_INCH,
        None,
        doc="the printer's caliper as pages per inch (instead of paper's figure)",
        example=444,
    )
    spine_width: Length | None = setting(
        "print",
        LENGTH,
        None,
        doc="the cover's spine width as the printer gives it (instead of the page count and paper)",
        example=parse_length("0.5in"),
    )
    front: str | None = setting(
        "cover",
        MANUSCRIPT_PATH,
        None,
        doc="the front cover as an image, used whole (bleed included); when unset, a front"
        " cover is set from the title, subtitle and authors",
        example="images/front.jpg",
    )
    background: str = setting(
        "cover", COLOUR, "#1f2a44", doc="the colour of the generated cover", example="#1f2a44"
    )
    colour: str = setting(
        "cover", COLOUR, "#f3ead8", doc="the colour of the cover's lettering", example="#f3ead8"
    )
    background_image: str | None = setting(
        "cover",
        MANUSCRIPT_PATH,
        None,
        doc="an image behind the whole wrap (back, spine and front), a path inside the"
        " manuscript folder",
        example="images/night-sky.jpg",
    )
    back_text: str | None = setting(
        "cover",
        TEXT,
        None,
        doc="the blurb on the back cover in Markdown, or the path of a .md file inside the"
        " manuscript folder (its name starting with _, so that it is no chapter)",
        example="_back-cover.md",
    )
    author_photo: str | None = setting(
        "cover",
        MANUSCRIPT_PATH,
        None,
        doc="a photograph of the author on the back cover",
        example="images/author.jpg",
    )
    author_bio: str | None = setting(
        "cover",
        TEXT,
        None,
        doc="a few lines about the author on the back cover, in Markdown",
        example="Mara Ellison writes about sleep.",
    )
    spine_text: str | None = setting(
        "cover",
        TEXT,
        None,
        doc="the words on the spine; when unset, the title and the authors",
        example="What the Night Rehearses · Ellison",
    )
    spine_text_min_pages: float = setting(
        "cover",
        PAGE_COUNT,
        100,
        doc="the fewest pages whose spine carries words (narrower spines are left blank)",
        example=100,
    )
    spine_direction: str = setting(
        "cover",
        SPINE_DIRECTION,
        "auto",
        doc='how the spine reads: "top-to-bottom" (English), "bottom-to-top" (much of'
        ' continental Europe), or "auto": from the book\'s language',
        example="top-to-bottom",
    )
    price_code: str | None = setting(
        "cover",
        PRICE_CODE,
        None,
        doc="the five-digit price add-on beside the ISBN barcode (5 then the US price in cents,"
        " or 90000 for none)",
        example="51995",
    )
    cover: str | None = setting(
        "epub",
        MANUSCRIPT_PATH,
        None,
        doc="the cover image, a path inside the manuscript folder",
        example="images/cover.jpg",
    )
    embed_fonts: bool = setting(
        "epub",
        FLAG,
        True,
        doc="carry the stylesheet's fonts in the EPUB, cut down to the characters the book uses;"
        " false leaves the typeface to the reading system",
        example=False,
    )
    toc_depth: int | None = setting(
        "epub",
        TOC_DEPTH,
        None,
        doc="levels in the EPUB's navigation and NCX (1 chapters, 2 and their ## sections, 3 and"
        " ### headings); when unset, chapters and sections in the navigation, chapters alone in"
        " the NCX. Sections every chapter repeats are never listed",
        example=2,
    )
    certified_by: str | None = setting(
        "epub",
        TEXT,
        None,
        doc="who checked the EPUB against EPUB Accessibility 1.1 (WCAG 2.1 AA); only then does"
        " the EPUB claim conformance",
        example="Dreambook Sample Press accessibility desk",
    )
    certifier_credential: str | None = setting(
        "epub",
        TEXT,
        None,
        doc="the certifier's credential, with certified_by",
        example="DAISY Ace Certified",
    )
    certifier_report: str | None = setting(
        "epub",
        WEB_ADDRESS,
        None,
        doc="the web address of the certifier's report, with certified_by",
        example="https://example.org/a11y/report.html",
    )
    labels: tuple[tuple[str, str], ...] = setting(
        "labels",
        TEXT_TABLE,
        (),
        doc="the interface words, each key overriding the book's language's words",
        keys=tuple(TableKey(key.key, key.doc, getattr(ENGLISH, key.key)) for key in LABEL_KEYS),
    )
    # Where each key was written, for diagnostics raised by later stages (e.g. an unknown start).
    key_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, dotted_key: str) -> int | None:
        """Return the book.toml line of ``"book.start"`` and the like, or None if it was not set."""
        return self.key_lines.get(dotted_key)


_DECLARED = declared_fields(fields(BookConfig))
# Every key of book.toml, in the order declared: the source of the README table and `init`.
BOOK_KEYS = declared_keys(_DECLARED)
_KNOWN_KEYS = known_tables(BOOK_KEYS)
_TOML_POSITION_RE = re.compile(r"\(at line (\d+), column \d+\)")


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
    reader = KeyReader(path, data, TomlLines(source))
    reader.check_unknown_keys(_KNOWN_KEYS)
    values = {declared.name: reader.read(declared) for declared in _DECLARED}
    return BookConfig(**values, key_lines=dict(reader.where.lines)), reader.diagnostics


def load_book_toml(manuscript: Path) -> tuple[BookConfig, list[Diagnostic]]:
    """Read ``manuscript/book.toml`` and return its config and diagnostics.

    A missing file gives the DB001 diagnostic and a default config; a file that is not
    UTF-8 gives DB002, one over ``MAX_BOOK_TOML_BYTES`` DB080 and a book.toml that links out
    of the manuscript folder DB060 (neither is read). Raises nothing for manuscript content.
    """
    path = manuscript / BOOK_TOML
    try:
        raw, size = ConfinedReader([manuscript]).read_at_most(path, MAX_BOOK_TOML_BYTES)
    except ResourceOutsideError as refused:
        return BookConfig(), list(refused.diagnostics)
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
    if raw is None:
        hint = (
            "a book.toml holds the book's settings, a few kilobytes: keep text, such as a "
            "long back-cover blurb, in its own file ([cover] back_text)"
        )
        return BookConfig(), [
            over_size("DB080", BOOK_TOML, size, MAX_BOOK_TOML_BYTES, path, None, hint)
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
