"""Diagnostics: every problem dreambook finds in a manuscript, with a stable code.

A diagnostic names the file and line it is about and, where one helps, a hint
saying how to fix it. The code table below is the single list of codes; the
README's table of codes is written from the same entries.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path


class Severity(enum.Enum):
    """How bad a diagnostic is. Errors stop a build; warnings do unless ``--strict`` is off."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Code:
    """One entry of the code table: the stable code, a short name and its default severity."""

    code: str
    name: str
    severity: Severity
    summary: str


# fmt: off
_TABLE: tuple[Code, ...] = (
    # book.toml
    Code("DB001", "book-toml-missing", Severity.ERROR, "The manuscript folder has no book.toml."),
    Code("DB002", "book-toml-malformed", Severity.ERROR, "book.toml is not valid TOML."),
    Code("DB003", "unknown-key", Severity.ERROR, "book.toml has a key or table dreambook does not know."),
    Code("DB004", "invalid-value", Severity.ERROR, "A book.toml value has the wrong type or form."),
    Code("DB005", "start-missing", Severity.WARNING, "[book] start is not set; the first chapter file is used."),
    Code("DB006", "start-unknown", Severity.ERROR, "[book] start names no chapter of the manuscript."),
    Code("DB007", "appendix-unknown", Severity.ERROR, "[book] appendix names no chapter of the manuscript."),
    Code("DB008", "start-in-appendix", Severity.WARNING, "[book] appendix lists the start chapter."),
    # chapter files
    Code("DB010", "not-utf8", Severity.ERROR, "A chapter file is not valid UTF-8."),
    Code("DB011", "front-matter-missing", Severity.ERROR, "A chapter file does not start with YAML front matter."),
    Code("DB012", "front-matter-malformed", Severity.ERROR, "The front matter is not valid YAML or is never closed."),
    Code("DB013", "front-matter-not-mapping", Severity.ERROR, "The front matter is not a set of `key: value` lines."),
    Code("DB014", "title-missing", Severity.ERROR, "The front matter has no usable `title`."),
    Code("DB015", "front-matter-invalid", Severity.ERROR, "A front-matter value has the wrong type."),
    Code("DB016", "unknown-front-matter-key", Severity.WARNING, "The front matter has a key dreambook does not use."),
    Code("DB017", "empty-chapter-file", Severity.ERROR, "A chapter file is empty or holds only whitespace."),
    Code("DB018", "empty-chapter", Severity.WARNING, "A chapter has front matter but no text."),
    Code("DB019", "invalid-slug", Severity.ERROR, "A chapter slug is not lower-case letters, digits and hyphens."),
    # identity
    Code("DB020", "duplicate-slug", Severity.ERROR, "Two chapters have the same slug."),
    Code("DB021", "duplicate-section-id", Severity.ERROR, "Two headings would get the same section id."),
    Code("DB022", "markup-misread", Severity.WARNING, "The book would show a heading, code fence or HTML block otherwise than check reads it."),
    Code("DB023", "duplicate-title", Severity.WARNING, "Two chapters have the same title (compared as bare Next Stages titles are)."),
    Code("DB024", "placeholder-text", Severity.WARNING, "A chapter still holds text that `dreambook new` or `init` wrote as a placeholder."),
    # the scaffolding commands (`dreambook new`), reported instead of writing anything
    Code("DB025", "after-unknown", Severity.ERROR, "`dreambook new --after` names no chapter of the book."),
    Code("DB026", "title-taken", Severity.ERROR, "`dreambook new` was given the title of a chapter the book already has."),
    # links and the graph
    Code("DB030", "dangling-next-stage", Severity.WARNING, "A Next Stages item names no chapter of the book."),
    Code("DB031", "dangling-cross-reference", Severity.WARNING, "A link points to a chapter or section that does not exist."),
    Code("DB032", "ambiguous-next-stage", Severity.WARNING, "A bare-title Next Stages item matches several chapters."),
    Code("DB033", "self-link", Severity.WARNING, "A Next Stages item leads back to its own chapter."),
    Code("DB034", "duplicate-next-stage", Severity.WARNING, "A Next Stages list names the same chapter twice."),
    Code("DB035", "next-stages-empty", Severity.WARNING, "A Next Stages section holds no list items."),
    Code("DB040", "unreachable-chapter", Severity.WARNING, "No chain of Next Stages leads from the start to a chapter."),
    Code("DB045", "order-changed", Severity.WARNING, "The reading order differs from reading-order.txt."),
    Code("DB050", "layout-lost-chapter", Severity.ERROR, "The laid-out PDF is missing a chapter."),
    Code("DB051", "chapter-not-xhtml", Severity.ERROR, "A chapter's HTML (raw HTML kept with --trust-html) is not well-formed XHTML."),
    Code("DB060", "resource-outside", Severity.ERROR, "A file the build would read leads outside the manuscript folder."),
    Code("DB061", "resource-not-a-file", Severity.ERROR, "An image is a web address, file:// or data: URL, or absolute path."),
    Code("DB062", "resource-missing", Severity.ERROR, "An image file does not exist."),
    Code("DB063", "resource-not-an-image", Severity.ERROR, "An image file is not an image dreambook can read."),
    Code("DB064", "image-too-large", Severity.ERROR, "An image has too many pixels to decode safely."),
    Code("DB065", "stylesheet-reference-removed", Severity.WARNING, "A book stylesheet's @import or url() leads out of the book; it is left out."),
    Code("DB066", "svg-content-removed", Severity.WARNING, "An SVG image holds a script, handler or outside reference; it is left out."),
    Code("DB067", "output-profile-unusable", Severity.ERROR, "[print] output_profile is missing or is no CMYK printer ICC profile."),
    Code("DB068", "font-unreadable", Severity.ERROR, "A font file of the book's styles folder is not a font dreambook can read."),
    Code("DB069", "styles-file-unusable", Severity.ERROR, "A template or stylesheet of the styles folder cannot be used."),
    Code("DB070", "unsafe-html-removed", Severity.WARNING, "Raw HTML that the sanitiser removes."),
    Code("DB080", "manuscript-too-large", Severity.ERROR, "The manuscript is over the size or chapter limit."),
    Code("DB081", "chapter-too-large", Severity.ERROR, "One chapter file is over the per-chapter size limit."),
    Code("DB085", "nesting-too-deep", Severity.ERROR, "Lists, quotes, raw HTML, emphasis or links are nested too deeply."),
    # what retailers and libraries read (retail.py)
    Code("DB090", "author-missing", Severity.WARNING, "book.toml names no author."),
    Code("DB091", "language-missing", Severity.WARNING, "book.toml gives no language; \"en\" is assumed."),
    Code("DB092", "identifier-missing", Severity.WARNING, "book.toml gives no identifier a retailer can list."),
    Code("DB093", "author-sort-mismatch", Severity.WARNING, "[book] author_sort does not give one sort name per author."),
    # covers (DB100-DB109)
    Code("DB100", "isbn-check-digit", Severity.ERROR, "[book] identifier has an ISBN's shape but the wrong check digit."),
    Code("DB101", "cover-missing", Severity.WARNING, "The book has no cover image and no author to set a cover from."),
    Code("DB102", "cover-too-small", Severity.WARNING, "A cover image is smaller than retailers take (1600 × 2560 pixels)."),
    Code("DB103", "price-code-without-isbn", Severity.WARNING, "[cover] price_code is set, but the book has no ISBN to carry a barcode."),
    Code("DB104", "cover-text-unreadable", Severity.ERROR, "[cover] back_text names a Markdown file that is missing or not UTF-8."),
    Code("DB105", "cover-text-too-long", Severity.ERROR, "The back-cover text is over 64 KiB; it is not read."),
    Code("DB106", "cover-text-overflow", Severity.ERROR, "The back cover's text runs past the foot of its panel."),
    # the book's interface words (labels.py)
    Code("DB110", "labels-language-unknown", Severity.WARNING, "dreambook has no interface words in the book's language; English ones are printed."),
    Code("DB111", "label-pattern-unusable", Severity.WARNING, "A [labels] override leaves out or adds a placeholder; the language's own words are printed."),
    # catalogues and clusters (`dreambook catalogue`, `--scheduler`)
    Code("DB115", "task-timed-out", Severity.ERROR, "A layout task ran past the catalogue's task_timeout; its book fails."),
    Code("DB116", "task-lost", Severity.ERROR, "A layout task, or the inputs its tasks share, was lost with the workers that held it too often."),
    Code("DB117", "catalogue-invalid", Severity.ERROR, "The catalogue file is not valid TOML, or has an unknown key or a wrong value."),
    Code("DB118", "catalogue-book-missing", Severity.ERROR, "A [[book]] path of the catalogue is not a folder; that book fails."),
    Code("DB119", "catalogue-slug-taken", Severity.ERROR, "Two books of a catalogue would write the same output folder; the later fails."),
    # preflight of a PDF (`dreambook preflight`, and the end of every print build)
    Code("PF001", "pdf-unreadable", Severity.ERROR, "The file cannot be read as a PDF."),
    Code("PF010", "trim-box-missing", Severity.ERROR, "A page has no TrimBox."),
    Code("PF011", "bleed-box-missing", Severity.ERROR, "A page has no BleedBox."),
    Code("PF012", "bleed-too-small", Severity.ERROR, "A page bleeds less than the bleed asked for (0.125in unless given)."),
    Code("PF013", "bleed-outside-media", Severity.ERROR, "A page's BleedBox reaches outside its MediaBox."),
    Code("PF020", "font-not-embedded", Severity.ERROR, "A font is not embedded."),
    Code("PF021", "font-embedded-repeatedly", Severity.WARNING, "A font is embedded as several programs."),
    Code("PF030", "rgb-colour", Severity.ERROR, "A page draws or places an image in RGB (an error in a PDF/X file, a warning otherwise)."),
    Code("PF040", "image-resolution-low", Severity.WARNING, "An image is below 300 ppi at its placed size."),
    Code("PF041", "image-resolution-too-low", Severity.ERROR, "An image is below 150 ppi at its placed size."),
    Code("PF050", "thin-rule", Severity.WARNING, "A line is stroked thinner than 0.25 pt."),
    Code("PF060", "not-pdfx", Severity.WARNING, "The file does not declare PDF/X (GTS_PDFXVersion)."),
    Code("PF061", "output-intent-missing", Severity.ERROR, "The file has no PDF/X output intent with an ICC profile (a warning when it is not PDF/X)."),
    Code("PF070", "odd-page-count", Severity.WARNING, "The file has an odd number of pages."),
)
# fmt: on

CODES: dict[str, Code] = {entry.code: entry for entry in _TABLE}


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in the manuscript.

    ``path`` is the file it is about (``None`` for problems with no file), ``line``
    is 1-based (``None`` when the whole file is meant). ``follows`` holds the problems that
    are only consequences of this one (a link that cannot match a chapter whose title could
    not be read): they are printed under it and not counted on their own.
    """

    severity: Severity
    code: str
    message: str
    path: Path | None = None
    line: int | None = None
    hint: str | None = None
    follows: tuple[Diagnostic, ...] = ()

    @property
    def name(self) -> str:
        """The code's short name, e.g. ``dangling-next-stage``."""
        return CODES[self.code].name

    @property
    def is_error(self) -> bool:
        """True for errors; warnings are False."""
        return self.severity is Severity.ERROR


def over_size(
    code: str, what: str, size: int, limit: int, path: Path, line: int | None, hint: str
) -> Diagnostic:
    """``code`` for the file or text ``what`` of ``size`` bytes, over its ``limit``: it is
    refused before it is read."""

    def amount(count: int, exact: str) -> str:
        mib = 1_048_576
        return f"{count / mib:{exact}} MiB" if count >= mib else f"{count / 1024:.0f} KiB"

    return diagnostic(
        code,
        f"{what} is {amount(size, '.1f')}; it may be at most {amount(limit, 'g')}, so it is "
        "not read",
        path,
        line,
        hint,
    )


def line_of_byte(raw: bytes, offset: int) -> int:
    """Return the 1-based line of byte ``offset`` in ``raw``, counting LF, CRLF and lone CR breaks."""
    prefix = raw[:offset].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return prefix.count(b"\n") + 1


def not_utf8(path: Path, raw: bytes, error: UnicodeDecodeError) -> Diagnostic:
    """DB069 for a template or stylesheet of the styles folders, ``path``, whose bytes ``raw``
    are not UTF-8 (``error`` says where)."""
    return diagnostic(
        "DB069",
        f"{path.name} is not UTF-8 text ({error.reason} at byte {error.start})",
        path,
        line_of_byte(raw, error.start),
        "save it as UTF-8 in your editor, or remove it from the book's styles folder to use "
        "dreambook's own",
    )


def diagnostic(
    code: str,
    message: str,
    path: Path | None = None,
    line: int | None = None,
    hint: str | None = None,
) -> Diagnostic:
    """Return a Diagnostic for ``code`` with the severity the code table gives it.

    Raises KeyError for a code that is not in the table, so a typo in a code is caught
    by the first test that reaches it.
    """
    return Diagnostic(CODES[code].severity, code, message, path, line, hint)


def escalate(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Return the diagnostics with every warning turned into an error (``--strict``)."""
    return tuple(replace(d, severity=Severity.ERROR) for d in diagnostics)


def sort_key(d: Diagnostic) -> tuple[str, int, int, str, str]:
    """Order diagnostics by file, then errors before warnings (the cause of a file's trouble
    is read first), then line and code, so output is stable."""
    return (str(d.path or ""), 0 if d.is_error else 1, d.line or 0, d.code, d.message)


def display_path(path: Path, base: Path | None = None) -> str:
    """Return ``path`` relative to ``base`` (default: the working directory) when it lies inside it."""
    start = base if base is not None else Path.cwd()
    try:
        relative = os.path.relpath(path, start)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative


def _where(d: Diagnostic, base: Path | None) -> str:
    if d.path is None:
        return ""
    where = display_path(d.path, base)
    if d.line is not None:
        where += f":{d.line}"
    return where + ": "


def format_diagnostic(d: Diagnostic, base: Path | None = None) -> str:
    """Return ``path:line: CODE severity: message`` with an indented hint line when there is
    one, and an indented ``because of this:`` line for each problem that follows from it."""
    text = f"{_where(d, base)}{d.code} {d.severity.value}: {d.message}"
    if d.hint:
        text += f"\n    hint: {d.hint}"
    for consequence in d.follows:
        text += f"\n    because of this: {_where(consequence, base)}{consequence.code} "
        text += consequence.message
    return text


def summarise(diagnostics: Iterable[Diagnostic]) -> str:
    """Return a one-line count such as ``2 errors, 1 warning``."""
    items = list(diagnostics)
    errors = sum(1 for d in items if d.is_error)
    warnings = len(items) - errors
    return f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"


def plural(count: int, word: str) -> str:
    """``count`` and the English ``word``, plural unless the count is one: "1 page", "2 pages"."""
    return f"{count} {word}{'' if count == 1 else 's'}"
