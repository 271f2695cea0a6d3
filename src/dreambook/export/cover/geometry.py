"""The cover wrap's measurements: panels, spine and safety margins, in PostScript points.

A wrap is one page: the back cover on the left, the spine, the front on the right, with the
bleed all round. The spine's width comes from the interior's page count and the paper's
caliper (pages per inch), unless book.toml gives the printer's own width.
"""

from __future__ import annotations

from dataclasses import dataclass

from dreambook.config import PAPERS, BookConfig

# Text, the barcode and the author's photograph stay this far inside every trimmed edge
# and fold: printers trim and fold within about 1/8 in, and ask for at least that margin.
SAFETY = 18.0  # 0.25 in
# On the spine, text stays this far from each fold (half of what printers ask of the
# other edges, as KDP and IngramSpark do: a spine is narrow).
SPINE_SAFETY = 4.5  # 1/16 in
# Languages whose books set spine text bottom to top (the "continental" convention);
# English and the rest read top to bottom. `[cover] spine_direction` overrides it.
BOTTOM_TO_TOP_LANGUAGES = frozenset({"de", "fr", "it", "es", "pt", "nl", "pl", "cs", "ru", "hu"})


@dataclass(frozen=True)
class Box:
    """A rectangle in points, from the top left of the trimmed wrap (y grows downwards)."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        """The x of the right edge."""
        return self.left + self.width

    @property
    def bottom(self) -> float:
        """The y of the bottom edge."""
        return self.top + self.height

    def inset(self, amount: float) -> Box:
        """The box ``amount`` points smaller on every side."""
        return Box(
            self.left + amount, self.top + amount, self.width - 2 * amount, self.height - 2 * amount
        )


@dataclass(frozen=True)
class Spine:
    """The spine's width in points, how it was found (for the build's output), and the page
    count it was found from."""

    width: float
    source: str
    pages: int


@dataclass(frozen=True)
class Wrap:
    """The geometry of one cover wrap: trim panel size, bleed and spine, in points."""

    panel_width: float
    height: float
    bleed: float
    spine: Spine

    @property
    def width(self) -> float:
        """The trimmed wrap's width: back, spine and front."""
        return 2 * self.panel_width + self.spine.width

    @property
    def back(self) -> Box:
        """The back cover's trimmed panel."""
        return Box(0.0, 0.0, self.panel_width, self.height)

    @property
    def spine_box(self) -> Box:
        """The spine, between its folds."""
        return Box(self.panel_width, 0.0, self.spine.width, self.height)

    @property
    def front(self) -> Box:
        """The front cover's trimmed panel."""
        return Box(self.panel_width + self.spine.width, 0.0, self.panel_width, self.height)


def pages_per_inch(config: BookConfig) -> tuple[float, str]:
    """The caliper the spine is measured with, and where it came from (for messages)."""
    if config.pages_per_inch is not None:
        return float(config.pages_per_inch), "[print] pages_per_inch"
    return PAPERS[config.paper], f"{config.paper} paper"


def spine_for(config: BookConfig, pages: int) -> Spine:
    """The spine of a book of ``pages`` printed pages: ``[print] spine_width`` when set,
    else pages ÷ pages per inch."""
    if config.spine_width is not None:
        return Spine(config.spine_width.points, "[print] spine_width", pages)
    ppi, source = pages_per_inch(config)
    return Spine(pages / ppi * 72.0, f"{pages} pages at {ppi:.0f} pages per inch ({source})", pages)


def wrap_for(config: BookConfig, pages: int) -> Wrap:
    """The wrap of the book ``config`` describes when its interior has ``pages`` pages."""
    return Wrap(
        config.trim_size.width.points,
        config.trim_size.height.points,
        config.bleed.points,
        spine_for(config, pages),
    )


def spine_carries_text(config: BookConfig, pages: int) -> bool:
    """Whether the spine is wide enough for words: ``[cover] spine_text_min_pages`` or more
    (printers' rule of thumb: about 100; a narrower spine's text would run off the fold)."""
    return pages >= config.spine_text_min_pages


def spine_reads_down(config: BookConfig) -> bool:
    """True when the spine's text runs top to bottom (English), False for bottom to top."""
    if config.spine_direction != "auto":
        return config.spine_direction == "top-to-bottom"
    return config.language.split("-")[0].lower() not in BOTTOM_TO_TOP_LANGUAGES
