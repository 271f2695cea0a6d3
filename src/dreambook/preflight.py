"""Preflight: what a printer's prepress checks in a PDF, read from the file alone.

:func:`preflight` opens any PDF with pikepdf (no WeasyPrint, nothing of the build) and
returns coded findings (the PF codes of diagnostics.py), each with the file as its path and
the page as its line: page boxes and bleed, embedded fonts and how many programs each has,
the colour spaces of every page's drawing and images, each image's resolution at the size
it is placed, the thinnest stroked line, the page count's parity, and the PDF/X declaration
with its output intent. :class:`PreflightReport` also says what it saw, for a summary line.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf

from dreambook.diagnostics import Diagnostic, Severity, diagnostic, plural

# The bleed a printer asks for when the book does not say: an eighth of an inch.
DEFAULT_BLEED = 9.0
WARN_PPI = 300.0
ERROR_PPI = 150.0
THIN_RULE = 0.25
# Bleed is compared with this much slack (points): boxes are written rounded.
_SLACK = 0.01

_STROKES = {"S", "s", "B", "B*", "b", "b*"}
_FILL_OPS = {"rg": "DeviceRGB", "RG": "DeviceRGB", "k": "DeviceCMYK", "K": "DeviceCMYK"}
_GRAY_OPS = {"g", "G"}
_PDFX_RE = re.compile(rb"GTS_PDFXVersion(?:>|=\")\s*(PDF/X-[^<\"]+)")


@dataclass
class PreflightReport:
    """What preflight found: the findings, and what it saw (for the summary line)."""

    path: Path
    findings: list[Diagnostic] = field(default_factory=list)
    pages: int = 0
    pdfx: str | None = None
    colour_spaces: set[str] = field(default_factory=set)
    fonts: dict[str, int] = field(default_factory=dict)
    images: int = 0
    lowest_ppi: float | None = None
    thinnest_rule: float | None = None

    @property
    def errors(self) -> int:
        """How many findings are errors."""
        return sum(1 for finding in self.findings if finding.is_error)

    def summary(self) -> str:
        """One line: the standard, pages, colour spaces, fonts, images and the count."""
        warnings = len(self.findings) - self.errors
        parts = [
            self.pdfx or "not PDF/X",
            plural(self.pages, "page"),
            "colour: " + (", ".join(sorted(self.colour_spaces)) or "none"),
            plural(len(self.fonts), "font"),
        ]
        if self.images:
            parts.append(f"{plural(self.images, 'image')} (lowest {self.lowest_ppi:.0f} ppi)")
        if self.thinnest_rule is not None:
            parts.append(f"thinnest line {self.thinnest_rule:.2f} pt")
        counts = f"{plural(self.errors, 'error')}, {plural(warnings, 'warning')}"
        return f"preflight {self.path.name}: {'; '.join(parts)}: {counts}"


class _Finder:
    """Collects findings, each (code, message) once per page so a book of 400 pages with
    the same fault on each reports it on each page, but a page reports it only once."""

    def __init__(self, report: PreflightReport, pdfx: bool) -> None:
        self.report = report
        self.pdfx = pdfx
        self.seen: set[tuple[str, int | None, str]] = set()

    def add(
        self,
        code: str,
        message: str,
        page: int | None,
        hint: str | None = None,
        severity: Severity | None = None,
    ) -> None:
        """Report ``code`` on ``page`` (None: the whole file), at the code's own severity
        unless ``severity`` is given."""
        key = (code, page, message)
        if key in self.seen:
            return
        self.seen.add(key)
        found = diagnostic(code, message, self.report.path, page, hint)
        if severity is not None:
            found = dataclasses.replace(found, severity=severity)
        self.report.findings.append(found)


def _space_name(space: Any) -> str:
    """The colour space family of a /ColorSpace value: DeviceRGB, ICCBased RGB and so on."""
    if isinstance(space, pikepdf.Name):
        return str(space)[1:]
    if isinstance(space, pikepdf.Array) and len(space):
        family = str(space[0])[1:]
        if family == "ICCBased":
            components = int(space[1].get("/N", 0))
            return "ICCBased " + {1: "Gray", 3: "RGB", 4: "CMYK"}.get(components, "?")
        if family == "Indexed" and len(space) > 1:
            return "Indexed " + _space_name(space[1])
        if family in ("Separation", "DeviceN") and len(space) > 2:
            return f"{family} ({_space_name(space[2])})"
        return family
    return "?"


def _is_rgb(name: str) -> bool:
    return "RGB" in name


def _resolve_space(resources: Any, operand: Any) -> str:
    """The family of the colour space an operand of cs/CS names (a device space or a key
    of the resources' /ColorSpace)."""
    name = str(operand)
    if name in ("/DeviceRGB", "/DeviceCMYK", "/DeviceGray", "/Pattern"):
        return name[1:]
    spaces = resources.get("/ColorSpace") if resources is not None else None
    if spaces is not None and name in spaces:
        return _space_name(spaces[name])
    return name.lstrip("/")


def _multiply(a: list[float], b: list[float]) -> list[float]:
    """The matrix a × b (PDF's row-vector convention: a applies first)."""
    return [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]


class _PageWalker:
    """Reads one page's content (and the forms it draws), keeping the transformation to
    measure images and line widths as placed on the page."""

    def __init__(self, finder: _Finder, page_number: int) -> None:
        self.finder = finder
        self.page = page_number
        self.report = finder.report
        self.forms: set[tuple[int, int]] = set()

    def colour(self, name: str, where: str) -> None:
        self.report.colour_spaces.add(name)
        if _is_rgb(name):
            message = f"{where} uses the RGB colour space {name}"
            hint = (
                "a PDF/X file must be CMYK or grey; restate the colour as device-cmyk()"
                if self.finder.pdfx
                else "a printer separates RGB into four inks; use CMYK or grey for print"
            )
            # An error where the file promises PDF/X; elsewhere RGB is only a risk.
            severity = None if self.finder.pdfx else Severity.WARNING
            self.finder.add("PF030", message, self.page, hint, severity)

    def walk(self, content: Any, resources: Any, matrix: list[float], depth: int = 0) -> None:
        if depth > 8:  # forms drawing forms: deep enough for any real file, and no loop
            return
        stack: list[tuple[list[float], float]] = []
        ctm, line_width = matrix, 1.0
        for operands, operator in _instructions(content):
            op = str(operator)
            if op == "q":
                stack.append((ctm, line_width))
            elif op == "Q" and stack:
                ctm, line_width = stack.pop()
            elif op == "cm" and len(operands) == 6:
                ctm = _multiply([float(v) for v in operands], ctm)
            elif op == "w" and operands:
                line_width = float(operands[0])
            elif op in _STROKES:
                self.rule(line_width, ctm)
            elif op in _FILL_OPS:
                self.colour(_FILL_OPS[op], "drawing")
            elif op in _GRAY_OPS:
                self.report.colour_spaces.add("DeviceGray")
            elif op in ("cs", "CS") and operands:
                self.colour(_resolve_space(resources, operands[0]), "drawing")
            elif op == "Do" and operands:
                self.xobject(resources, operands[0], ctm, depth)
            elif op == "INLINE IMAGE" and operands:
                self.inline_image(operands[0], ctm)
            elif op == "sh" and operands:
                shadings = resources.get("/Shading") if resources is not None else None
                if shadings is not None and str(operands[0]) in shadings:
                    space = shadings[str(operands[0])].get("/ColorSpace")
                    self.colour(_space_name(space), "a shading")

    def rule(self, width: float, ctm: list[float]) -> None:
        # The width as drawn: scaled by the transformation's mean scale.
        placed = width * math.sqrt(abs(ctm[0] * ctm[3] - ctm[1] * ctm[2]))
        report = self.report
        if report.thinnest_rule is None or placed < report.thinnest_rule:
            report.thinnest_rule = placed
        if placed < THIN_RULE:
            self.finder.add(
                "PF050",
                f"a line is stroked {placed:.2f} pt wide (below {THIN_RULE} pt)",
                self.page,
                "a line this thin may break up or vanish on press; draw it at 0.25 pt or more",
            )

    def xobject(self, resources: Any, name: Any, ctm: list[float], depth: int) -> None:
        xobjects = resources.get("/XObject") if resources is not None else None
        if xobjects is None or str(name) not in xobjects:
            return
        item = xobjects[str(name)]
        subtype = item.get("/Subtype")
        if subtype == "/Image":
            self.image(item, ctm)
        elif subtype == "/Form":
            group = item.get("/Group")
            if group is not None and "/CS" in group:
                self.colour(_space_name(group.CS), "a transparency group")
            form_matrix = [float(v) for v in item.get("/Matrix", [1, 0, 0, 1, 0, 0])]
            # A form drawn several times is read each time: its placed sizes differ.
            self.walk(
                item, item.get("/Resources", resources), _multiply(form_matrix, ctm), depth + 1
            )

    def image(self, item: Any, ctm: list[float]) -> None:
        if item.get("/ImageMask") is True:
            return
        space = item.get("/ColorSpace")
        if space is not None:
            self.colour(_space_name(space), "an image")
        elif item.get("/Filter") == "/JPXDecode":
            self.report.colour_spaces.add("JPX")
        self.resolution(int(item.get("/Width", 0)), int(item.get("/Height", 0)), ctm)

    def inline_image(self, image: Any, ctm: list[float]) -> None:
        if not isinstance(image, pikepdf.PdfInlineImage):
            return
        self.colour(_space_name(image.obj.get("/ColorSpace")), "an image")
        self.resolution(int(image.width), int(image.height), ctm)

    def resolution(self, width: int, height: int, ctm: list[float]) -> None:
        # An image fills the unit square: its placed size is the transformation's columns.
        placed_w = math.hypot(ctm[0], ctm[1]) / 72
        placed_h = math.hypot(ctm[2], ctm[3]) / 72
        if placed_w <= 0 or placed_h <= 0 or width <= 0 or height <= 0:
            return
        ppi = min(width / placed_w, height / placed_h)
        report = self.report
        report.images += 1
        if report.lowest_ppi is None or ppi < report.lowest_ppi:
            report.lowest_ppi = ppi
        hint = "use an image with more pixels, or place it smaller"
        size = f"{width}×{height} px placed at {placed_w:.2f}×{placed_h:.2f} in"
        if ppi < ERROR_PPI:
            self.finder.add(
                "PF041",
                f"an image is {ppi:.0f} ppi ({size}; {ERROR_PPI:.0f} at least)",
                self.page,
                hint,
            )
        elif ppi < WARN_PPI:
            self.finder.add(
                "PF040",
                f"an image is {ppi:.0f} ppi ({size}; {WARN_PPI:.0f} wanted)",
                self.page,
                hint,
            )


def _instructions(content: Any) -> Iterator[tuple[Any, Any]]:
    """The (operands, operator) of a page or form's content; nothing when it cannot be parsed
    (PF001 is reported for a file that does not open, not for one odd stream)."""
    try:
        parsed = pikepdf.parse_content_stream(content)
    except pikepdf.PdfError:
        return iter(())
    return ((item.operands, item.operator) for item in parsed)


def _declared_pdfx(pdf: pikepdf.Pdf) -> str | None:
    """The PDF/X version the file claims: the Info entry (PDF/X-1a, -3) or the XMP (-4 on)."""
    info = pdf.trailer.get("/Info")
    if info is not None and "/GTS_PDFXVersion" in info:
        return str(info.GTS_PDFXVersion)
    metadata = pdf.Root.get("/Metadata")
    if isinstance(metadata, pikepdf.Stream):
        match = _PDFX_RE.search(metadata.read_bytes())
        if match:
            return match.group(1).decode("latin-1").strip()
    return None


def _check_intent(pdf: pikepdf.Pdf, finder: _Finder) -> None:
    intents = pdf.Root.get("/OutputIntents", pikepdf.Array())
    pdfx = [i for i in intents if i.get("/S") == "/GTS_PDFX"]
    if not pdfx:
        finder.add(
            "PF061",
            "the file has no PDF/X output intent (the printing condition its colours are for)",
            None,
            "embed the CMYK ICC profile of the press as a /GTS_PDFX output intent",
            None if finder.pdfx else Severity.WARNING,
        )
        return
    profile = pdfx[0].get("/DestOutputProfile")
    if finder.pdfx and not isinstance(profile, pikepdf.Stream):
        finder.add(
            "PF061",
            "the PDF/X output intent embeds no ICC profile (DestOutputProfile)",
            None,
            "embed the press's CMYK profile in the output intent",
        )


def _check_boxes(page: Any, number: int, bleed: float, finder: _Finder) -> None:
    if "/TrimBox" not in page:
        finder.add(
            "PF010",
            "the page has no TrimBox (where the printer cuts)",
            number,
            "a print PDF gives every page a TrimBox",
        )
        return
    trim = [float(v) for v in page.TrimBox]
    box = page.get("/BleedBox")
    if box is None:
        finder.add(
            "PF011",
            "the page has no BleedBox (no bleed beyond the trim)",
            number,
            f"extend every page {bleed:g} pt beyond its TrimBox and say so in a BleedBox",
        )
        return
    outer = [float(v) for v in box]
    # The bleed the page has on its narrowest side.
    have = min(trim[0] - outer[0], trim[1] - outer[1], outer[2] - trim[2], outer[3] - trim[3])
    if have + _SLACK < bleed:
        finder.add(
            "PF012",
            f"the page bleeds {have:g} pt beyond the trim; {bleed:g} pt is needed",
            number,
            "set [print] bleed in book.toml to the printer's bleed",
        )
    media = [float(v) for v in page.MediaBox]
    if (
        outer[0] < media[0] - _SLACK
        or outer[1] < media[1] - _SLACK
        or outer[2] > media[2] + _SLACK
        or outer[3] > media[3] + _SLACK
    ):
        finder.add("PF013", "the BleedBox reaches outside the MediaBox", number, None)


def _check_fonts(pdf: pikepdf.Pdf, finder: _Finder) -> None:
    programs: dict[str, set[tuple[int, int]]] = defaultdict(set)
    seen: set[tuple[int, int]] = set()
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Type") != "/Font":
            continue
        if obj.objgen in seen or obj.get("/Subtype") in ("/Type0", "/Type3"):
            continue  # a Type 0 font's program is its descendant's; Type 3 glyphs are drawings
        seen.add(obj.objgen)
        name = str(obj.get("/BaseFont", "/?"))[1:].split("+", 1)[-1]
        descriptor = obj.get("/FontDescriptor")
        files = []
        if descriptor is not None:
            files = [
                descriptor[k] for k in ("/FontFile", "/FontFile2", "/FontFile3") if k in descriptor
            ]
        if not files:
            finder.add(
                "PF020",
                f"the font {name} is not embedded",
                None,
                "embed every font: a printer's RIP substitutes a missing one",
            )
            continue
        programs[name].add(files[0].objgen)
    finder.report.fonts = {name: len(found) for name, found in programs.items()}
    for name, found in sorted(programs.items()):
        if len(found) > 1:
            finder.add(
                "PF021",
                f"the font {name} is embedded as {len(found)} separate programs",
                None,
                "one program per font keeps the file small and the RIP quick",
            )


def preflight(path: Path, bleed: float = DEFAULT_BLEED) -> PreflightReport:
    """Check the PDF at ``path`` for print; return what was found.

    ``bleed`` is the bleed (in points) every page must have beyond its trim. Never raises
    for a bad file: one that cannot be opened gives the PF001 finding.
    """
    report = PreflightReport(path)
    try:
        pdf = pikepdf.open(path)
    except (pikepdf.PdfError, OSError) as error:
        report.findings.append(
            diagnostic("PF001", f"the file cannot be read as a PDF: {error}", path, None)
        )
        return report
    with pdf:
        report.pdfx = _declared_pdfx(pdf)
        finder = _Finder(report, report.pdfx is not None)
        report.pages = len(pdf.pages)
        if report.pdfx is None:
            finder.add(
                "PF060",
                "the file does not declare PDF/X (GTS_PDFXVersion)",
                None,
                "build the print variant, which is PDF/X-4",
            )
        _check_intent(pdf, finder)
        _check_fonts(pdf, finder)
        for number, page in enumerate(pdf.pages, start=1):
            _check_boxes(page.obj, number, bleed, finder)
            group = page.obj.get("/Group")
            walker = _PageWalker(finder, number)
            if group is not None and "/CS" in group:
                walker.colour(_space_name(group.CS), "the page's transparency group")
            walker.walk(page, page.obj.get("/Resources"), [1, 0, 0, 1, 0, 0])
        # A single page is a sheet (a cover wrap), not a book's leaves.
        if report.pages % 2 and report.pages > 1:
            finder.add(
                "PF070",
                f"the file has an odd number of pages ({report.pages})",
                None,
                "a book's leaves have two sides: pad it with a blank page ([print] page_multiple)",
            )
    report.findings.sort(key=lambda d: (d.line or 0, d.code, d.message))
    return report
