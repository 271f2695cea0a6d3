"""The cover as HTML (styles/cover.html.j2 with cover.css) and as a laid-out PDF page.

:func:`cover_pdf` lays out the print wrap or the front cover alone with WeasyPrint, through
the PDF writer's confined :class:`~dreambook.export.pdf.weasy.Typesetter`. For the press
every colour is given in ink (``device-cmyk()``): book.toml's colours are separated with
the print edition's output profile, as the print edition's images are.
"""

from __future__ import annotations

import hashlib
import html
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markdown import Markdown
from markupsafe import Markup

from dreambook.config import BOOK_TOML, BookConfig
from dreambook.cover_check import read_back_text
from dreambook.diagnostics import Diagnostic, diagnostic
from dreambook.errors import BuildError
from dreambook.export.cover.barcode import (
    BAR_HEIGHT,
    GUARD_EXTRA,
    LEFT_QUIET,
    MM,
    MODULE,
    isbn_barcode,
)
from dreambook.export.cover.geometry import (
    SPINE_SAFETY,
    Box,
    Wrap,
    spine_carries_text,
    spine_reads_down,
)
from dreambook.export.pdf.variant import EditionTraits
from dreambook.isbn import parse_isbn

if TYPE_CHECKING:
    from dreambook.export.pdf.printfile import PrintInk
    from dreambook.export.writer import BuildContext

TEMPLATE = "cover.html.j2"
STYLESHEET = "cover.css"
# The barcode box's lettering, and its distance from the back panel's trimmed edges.
BARCODE_FONT = 8.0
# CSS pixels a point.
_PX_PER_POINT = 96 / 72
# The blurb's leading (cover.css), to say an overflow in lines.
BACK_LINE_POINTS = 15.5
BARCODE_INSET = 36.0  # 0.5 in, twice the safety margin
# The spine's lettering: at most this size, and no more than this share of the spine's
# width between its safety margins.
SPINE_FONT_MAX = 11.0
SPINE_FONT_SHARE = 0.72
# The ebook's front cover: a screen edition, no structure tree, no standard to claim.
SCREEN = EditionTraits(suffix="", bleed=False, tagged=False, pdf_variant=None)


@dataclass(frozen=True)
class Digit:
    """One human-readable digit under (or, for the add-on, over) the bars."""

    text: str
    box: Box


@dataclass(frozen=True)
class BarcodeBox:
    """The ISBN barcode as drawn: the white box (on the wrap), and inside it (positions
    relative to the box) the ISBN line, the bars and the digits."""

    box: Box
    isbn_text: str
    isbn_line: Box
    bars: tuple[Box, ...]
    digits: tuple[Digit, ...]
    font_size: float = BARCODE_FONT


@dataclass(frozen=True)
class CoverInk:
    """The cover's colours as CSS values."""

    paper: str
    text: str
    black: str
    white: str


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def separate(colour: str, profile: bytes) -> str:
    """A ``#rrggbb`` colour as the ``device-cmyk()`` the press profile makes of it
    (perceptual rendering from sRGB, as the print edition's images are separated)."""
    from PIL import Image, ImageCms

    swatch = Image.new("RGB", (1, 1), _hex_rgb(colour))
    press = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    inks = ImageCms.profileToProfile(
        swatch,
        ImageCms.createProfile("sRGB"),
        press,
        renderingIntent=ImageCms.Intent.PERCEPTUAL,
        outputMode="CMYK",
    )
    assert isinstance(inks, Image.Image)  # not converted in place
    values = inks.getpixel((0, 0))
    assert isinstance(values, tuple)
    inked = limit_ink(tuple(v / 255 for v in values))
    return "device-cmyk(" + " ".join(f"{v:.3f}" for v in inked) + ")"


# The most ink a cover colour may put down, as a fraction (2.4 = 240%): what print-on-demand
# printers ask of a full-bleed cover on uncoated stock. A dark colour separated from sRGB by
# a press profile made for coated paper can need near 300%.
TOTAL_INK_LIMIT = 2.4


def limit_ink(inks: tuple[float, ...]) -> tuple[float, float, float, float]:
    """``inks`` (C, M, Y, K from 0 to 1) with at most ``TOTAL_INK_LIMIT`` in all: the grey
    the three colours share is given to black first (grey component replacement: the
    colour stays as dark), and what is still over is taken from the colours evenly."""
    c, m, y, k = inks
    over = c + m + y + k - TOTAL_INK_LIMIT
    if over > 0:
        # Moving g of the shared grey to black takes 3g of colour and adds g of black.
        grey = min(c, m, y, 1 - k, over / 2)
        c, m, y, k = c - grey, m - grey, y - grey, k + grey
        over = c + m + y + k - TOTAL_INK_LIMIT
    if over > 0 and c + m + y > 0:
        scale = max(0.0, (c + m + y - over) / (c + m + y))
        c, m, y = c * scale, m * scale, y * scale
    return c, m, y, k


def cover_ink(config: BookConfig, profile: bytes | None) -> CoverInk:
    """The cover's colours: in ink for the press (``profile``), else as written."""
    if profile is None:
        return CoverInk(config.background, config.colour, "#000000", "#ffffff")
    return CoverInk(
        separate(config.background, profile),
        separate(config.colour, profile),
        # The barcode in black ink alone on unprinted paper: what a scanner reads best.
        "device-cmyk(0 0 0 1)",
        "device-cmyk(0 0 0 0)",
    )


def barcode_box(config: BookConfig, back: Box) -> BarcodeBox | None:
    """The ISBN barcode at the foot of the back panel, on the right; None when the book's
    identifier is no ISBN."""
    isbn = parse_isbn(config.identifier) if config.identifier else None
    if isbn is None:
        return None
    code = isbn_barcode(isbn.isbn13, config.price_code)
    pad = 1.5 * MM
    line_height = BARCODE_FONT * 1.25
    width = (LEFT_QUIET + code.modules) * MODULE
    bars_top = pad + line_height + 0.8 * MM
    digit_height = GUARD_EXTRA + 1.2 * MM
    height = bars_top + BAR_HEIGHT + digit_height + pad
    box = Box(
        back.right - BARCODE_INSET - width, back.bottom - BARCODE_INSET - height, width, height
    )
    origin = LEFT_QUIET * MODULE
    addon_drop = line_height  # the add-on's digits stand above its bars
    bars = []
    for bar in code.bars:
        top = bars_top + (addon_drop if bar.addon else 0.0)
        bottom = bars_top + BAR_HEIGHT + (GUARD_EXTRA if bar.guard or bar.addon else 0.0)
        bars.append(Box(origin + bar.start * MODULE, top, bar.width * MODULE, bottom - top))
    under = bars_top + BAR_HEIGHT
    digits = [Digit(code.digits[0], Box(origin - 9 * MODULE, under, 7 * MODULE, digit_height))]
    for index, digit in enumerate(code.digits[1:7]):
        digits.append(
            Digit(digit, Box(origin + (3 + 7 * index) * MODULE, under, 7 * MODULE, digit_height))
        )
    for index, digit in enumerate(code.digits[7:]):
        digits.append(
            Digit(digit, Box(origin + (50 + 7 * index) * MODULE, under, 7 * MODULE, digit_height))
        )
    if code.addon is not None:
        start = min(bar.start for bar in code.bars if bar.addon)
        for index, digit in enumerate(code.addon):
            left = origin + (start + 4 + 9 * index) * MODULE
            digits.append(Digit(digit, Box(left, bars_top, 7 * MODULE, addon_drop)))
    written = isbn.written if len(isbn.compact) == 13 else isbn.isbn13
    isbn_line = Box(0.0, pad, width, line_height)
    return BarcodeBox(box, f"ISBN {written}", isbn_line, tuple(bars), tuple(digits))


def _markdown(text: str) -> Markup:
    """A blurb's Markdown as HTML; any HTML in it is shown as text, not kept."""
    converter = Markdown(extensions=["smarty"])
    return Markup(converter.convert(html.escape(text, quote=False)))


def _file_url(manuscript: Path, relative: str | None) -> str | None:
    return None if relative is None else (manuscript.resolve() / relative).as_uri()


def spine_lettering(config: BookConfig) -> str:
    """The words on the spine: ``[cover] spine_text``, else the title and the authors."""
    if config.spine_text:
        return config.spine_text
    if not config.authors:
        return config.title
    return f"{config.title}\u2003\u00b7\u2003{' & '.join(config.authors)}"


def cover_html(context: BuildContext, wrap: Wrap | None, ink: CoverInk) -> str:
    """The cover's HTML: the whole wrap of ``wrap``, or (None) the front cover alone."""
    config = context.book.config
    manuscript = context.manuscript
    panel = Box(0.0, 0.0, config.trim_size.width.points, config.trim_size.height.points)
    variables: dict[str, object] = {
        "config": config,
        "wrap": wrap is not None,
        "ink": ink,
        "front_image": _file_url(manuscript, config.front),
        "background_image": _file_url(manuscript, config.background_image),
        "modified": context.identity.modified,
    }
    if wrap is None:
        variables |= {"size": (panel.width, panel.height), "bleed": 0.0, "front": panel}
    else:
        spine = wrap.spine_box
        lettered = spine_carries_text(config, wrap.spine.pages)
        blurb = read_back_text(config, manuscript)
        variables |= {
            "size": (wrap.width, wrap.height),
            "bleed": wrap.bleed,
            "front": wrap.front,
            "back": wrap.back,
            "spine": spine,
            "spine_text": spine_lettering(config) if lettered else None,
            "spine_down": spine_reads_down(config),
            "spine_size": min(SPINE_FONT_MAX, (spine.width - 2 * SPINE_SAFETY) * SPINE_FONT_SHARE),
            "back_html": _markdown(blurb) if blurb else None,
            "bio_html": _markdown(config.author_bio) if config.author_bio else None,
            "author_photo": _file_url(manuscript, config.author_photo),
            "barcode": barcode_box(config, wrap.back),
        }
    return context.styles.environment().get_template(TEMPLATE).render(**variables)


def cover_pdf(
    context: BuildContext, wrap: Wrap | None, ink: PrintInk | None, traits: EditionTraits
) -> bytes:
    """The cover laid out as a one-page PDF: the wrap (``wrap``) for the press, with the
    output intent of ``ink``, or the front cover alone (``wrap`` None) for screens.

    Raises MissingDependencyError when WeasyPrint cannot run, BuildError (DB104, DB060) for
    an unreadable back-cover file, (DB106) for a back cover whose text runs past its foot,
    and OSError when a style file cannot be read.
    """
    # Imported here: the HTML of the cover (and the ebook's cached picture) needs no layout.
    from dreambook.export.pdf.weasy import Typesetter, pdf_bytes

    config = context.book.config
    ground = cover_ink(config, ink.profile if ink is not None else None)
    if wrap is None:
        size = f"{config.trim_size.width.points:.3f}pt {config.trim_size.height.points:.3f}pt"
        geometry = f"@page {{ size: {size}; margin: 0; }}"
    else:
        geometry = (
            f"@page {{ size: {wrap.width:.3f}pt {wrap.height:.3f}pt; margin: 0;"
            f" bleed: {wrap.bleed:.3f}pt; }}"
        )
    folders = tuple(p.resolve() for p in (context.manuscript, *context.styles.folders))
    typesetter = Typesetter(geometry, context.styles.path(STYLESHEET), folders, ink)
    document = typesetter.render(
        cover_html(context, wrap, ground), context.manuscript.resolve().as_uri() + "/", traits
    )
    if wrap is not None and (over := back_overflow(document, wrap.back)) > 0.5:
        raise BuildError([_overflow_problem(config, over, context.manuscript / BOOK_TOML)])
    name = f"{context.identity.identifier or context.identity.title}/cover"
    return pdf_bytes(document, hashlib.sha256(name.encode()).hexdigest()[:32], traits)


def _classes(box: Any) -> set[str]:
    element = getattr(box, "element", None)
    return set((element.get("class") or "").split()) if element is not None else set()


def back_overflow(document: Any, panel: Box) -> float:
    """How far, in points, the text flowing down the back panel of the laid-out wrap
    (``section.back``: the blurb, the author's lines) runs past where it may end: the foot
    of the panel (``panel``, in points) less its padding, or the top of what stands at its
    foot beside it (the publisher's line, the barcode box). 0 when it fits, or when the
    template has no such panel."""
    page = document.pages[0]._page_box
    back = next((box for box in page.descendants() if "back" in _classes(box)), None)
    if back is None:
        return 0.0
    inside = [box for box in back.children if box.is_in_normal_flow()]
    bottoms = [
        box.position_y + box.margin_height() - box.margin_bottom
        for child in inside
        for box in child.descendants()
        if type(box).__name__ in ("LineBox", "BlockReplacedBox", "InlineReplacedBox")
    ]
    if not bottoms:
        return 0.0
    left, right = back.content_box_x(), back.content_box_x() + back.width
    # The padding its style gives (a panel laid out past the page's foot loses it there).
    padding = getattr(back.style["padding_bottom"], "value", 0.0)
    limit = panel.bottom * _PX_PER_POINT - float(padding)
    standing = [box for box in back.children if not box.is_in_normal_flow()]
    standing += [box for box in page.descendants() if "barcode-box" in _classes(box)]
    for box in standing:
        if box.position_x < right and box.position_x + box.margin_width() > left:
            limit = min(limit, box.position_y + box.margin_top)
    over = float(max(0.0, max(bottoms) - limit)) / _PX_PER_POINT
    # Text the page had no room for at all is not laid out: it counts in lines as set. (It
    # runs out only where the lines already reach past the foot of the panel's margin.)
    lines = [
        box for child in inside for box in child.descendants() if type(box).__name__ == "LineBox"
    ]
    flowing = [child.element for child in inside if getattr(child, "element", None) is not None]
    written = sum(len("".join(element.itertext()).split()) for element in flowing)
    laid = sum(
        len(getattr(box, "text", "").split()) for line in lines for box in line.descendants()
    )
    if over > 0 and lines and written > laid:
        over += (written - laid) / max(1.0, laid / len(lines)) * BACK_LINE_POINTS
    return over


def _overflow_problem(config: BookConfig, over: float, book_toml: Path) -> Diagnostic:
    """DB106 for a back cover whose text runs ``over`` points past its foot."""
    lines = max(1, round(over / BACK_LINE_POINTS))
    key = "cover.back_text" if config.back_text else "cover.author_bio"
    return diagnostic(
        "DB106",
        f"the back cover's text (the blurb and the author's lines) runs {over / 72:.2f} in, "
        f"some {lines} line{'s' if lines > 1 else ''} of the blurb, past the foot of the back "
        "panel; the printer would cut it or print it over the barcode",
        book_toml,
        config.line_of(key),
        f"shorten [cover] back_text (or author_bio) by some {lines} line"
        f"{'s' if lines > 1 else ''} ({lines * 9} words or so)",
    )
