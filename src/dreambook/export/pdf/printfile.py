"""What makes the print edition a file a printer takes as it is: inks and finishing.

Before the layout, :func:`load_print_ink` gathers the edition's inks: the print-only
stylesheet (``print-ink.css``, every colour restated in black ink) and the CMYK ICC profile
that becomes the PDF/X output intent (``[print] output_profile``, or Ghostscript's
``default_cmyk.icc`` from Debian's libgs-common). After the PDF is written,
:func:`finish_print_file` strips the links, pads the page count and, when asked, draws crop
marks outside the bleed.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf

from dreambook.config import BookConfig
from dreambook.diagnostics import diagnostic
from dreambook.errors import BuildError, MissingDependencyError, ResourceOutsideError
from dreambook.export.pdf.walk import resource_dictionaries
from dreambook.fsutil import ConfinedReader, atomic_output
from dreambook.styles import Styles

# Ghostscript's CMYK profile (Artifex's SWOP-like press characterisation), shipped by Debian's
# libgs-common under Ghostscript's licence, AGPL-3.0-or-later. dreambook does not ship it:
# it reads it from the system, and .ci/system-packages installs it.
DEFAULT_PROFILE = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")
INK_STYLESHEET = "print-ink.css"

# Crop marks: a gap beyond the bleed, so no mark reaches into what may be printed, then the
# mark itself; the sheet grows by both beyond the BleedBox.
MARK_GAP = 3.0
MARK_LENGTH = 18.0
MARK_WIDTH = 0.3


@dataclass(frozen=True)
class PrintInk:
    """The print edition's inks: the print-only stylesheet's text, and the output intent's
    ICC profile (its bytes, and where it came from, for messages)."""

    stylesheet: str
    profile: bytes
    profile_source: str

    @property
    def digest(self) -> str:
        """A hash of the stylesheet and profile (part of a chunk's cache key)."""
        digest = hashlib.sha256(self.stylesheet.encode())
        digest.update(b"\0")
        digest.update(self.profile)
        return digest.hexdigest()


def profile_problem(data: bytes) -> str | None:
    """Why ``data`` cannot be a PDF/X output intent, or None when it is a CMYK ICC profile
    of an output device (read from its 128-byte header)."""
    if len(data) < 132 or data[36:40] != b"acsp":
        return "it is not an ICC profile"
    if data[16:20] != b"CMYK":
        return f"its colour space is {data[16:20].decode('latin-1').strip()}, not CMYK"
    if data[12:16] != b"prtr":
        return "it is not the profile of an output (printer) device"
    return None


def _profile_error(message: str, config: BookConfig, manuscript: Path) -> BuildError:
    return BuildError(
        [
            diagnostic(
                "DB067",
                message,
                manuscript / "book.toml",
                config.line_of("print.output_profile"),
                "name a CMYK output profile (the printer's, or one such as FOGRA39 or SWOP) "
                "inside the manuscript folder",
            )
        ]
    )


def read_output_profile(config: BookConfig, manuscript: Path, styles: Styles) -> tuple[bytes, str]:
    """The output intent's ICC profile and where it was read from.

    ``[print] output_profile`` is read through the confined opener (inside the manuscript and
    styles folders). Raises BuildError (DB067) when it is missing or no CMYK printer profile,
    ResourceOutsideError (DB060) when it leads out of the book, and MissingDependencyError
    when it is unset and Ghostscript's profile is not installed.
    """
    if config.output_profile is None:
        try:
            data = DEFAULT_PROFILE.read_bytes()
        except OSError as error:
            raise MissingDependencyError(
                f"the print PDF needs a CMYK ICC profile for its output intent: {DEFAULT_PROFILE}"
                f" cannot be read ({error.strerror}). On Debian or Ubuntu: apt-get install "
                "libgs-common; or set [print] output_profile in book.toml"
            ) from error
        source = str(DEFAULT_PROFILE)
    else:
        path = manuscript / config.output_profile
        reader = ConfinedReader([manuscript, *styles.folders])
        try:
            data = reader.read_bytes(path, config.line_of("print.output_profile"))
        except ResourceOutsideError:
            raise
        except OSError as error:
            message = f"[print] output_profile {config.output_profile!r} cannot be read"
            raise _profile_error(f"{message} ({error.strerror})", config, manuscript) from error
        source = config.output_profile
    problem = profile_problem(data)
    if problem is not None:
        raise _profile_error(
            f"the output profile {source} is unusable: {problem}", config, manuscript
        )
    return data, source


def load_print_ink(config: BookConfig, manuscript: Path, styles: Styles) -> PrintInk:
    """The print edition's inks (see :class:`PrintInk`); raises as ``read_output_profile``,
    and OSError when the ink stylesheet cannot be read."""
    profile, source = read_output_profile(config, manuscript, styles)
    stylesheet = styles.reader.read_text(styles.path(INK_STYLESHEET))
    return PrintInk(stylesheet, profile, source)


def _padding(pages: int, multiple: int) -> int:
    return -pages % multiple


def _crop_marks(trim: list[float], bleed: list[float]) -> bytes:
    """The content stream of crop marks for a page: at each corner two lines on the trim
    edges' extensions, from ``MARK_GAP`` beyond the bleed outwards, in black ink."""
    left, bottom, right, top = trim
    b_left, b_bottom, b_right, b_top = bleed
    lines = []
    for x, outward_x in ((left, b_left - MARK_GAP), (right, b_right + MARK_GAP)):
        direction = -1 if outward_x < x else 1
        for y in (bottom, top):
            # A horizontal mark on the trim line y, out from the bleed's side.
            lines.append((outward_x, y, outward_x + direction * MARK_LENGTH, y))
    for y, outward_y in ((bottom, b_bottom - MARK_GAP), (top, b_top + MARK_GAP)):
        direction = -1 if outward_y < y else 1
        for x in (left, right):
            lines.append((x, outward_y, x, outward_y + direction * MARK_LENGTH))
    ops = [f"q {MARK_WIDTH} w 0 J /DeviceCMYK CS 0 0 0 1 SCN"]
    ops += [f"{x0:.3f} {y0:.3f} m {x1:.3f} {y1:.3f} l S" for x0, y0, x1, y1 in lines]
    ops.append("Q")
    return "\n".join(ops).encode()


def _boxes(page: pikepdf.Dictionary) -> tuple[list[float], list[float]]:
    media = [float(v) for v in page.MediaBox]
    trim = [float(v) for v in page.get("/TrimBox", page.MediaBox)]
    bleed = [float(v) for v in page.get("/BleedBox", media)]
    return trim, bleed


def _is_rgb_space(space: Any) -> bool:
    """Whether a /ColorSpace value is DeviceRGB or an RGB ICC profile."""
    return space == "/DeviceRGB" or (
        isinstance(space, pikepdf.Array)
        and len(space) == 2
        and space[0] == "/ICCBased"
        and int(space[1].get("/N", 0)) == 3
    )


def _icc_of(space: Any) -> bytes | None:
    """The ICC profile an RGB (or RGB palette) colour space names, or None for DeviceRGB."""
    if isinstance(space, pikepdf.Array) and space[0] == "/Indexed":
        space = space[1]
    if isinstance(space, pikepdf.Array) and space[0] == "/ICCBased":
        data: bytes = space[1].read_bytes()
        return data
    return None


def _rgb_images(pdf: pikepdf.Pdf) -> list[Any]:
    """The RGB images (8-bit, or palettes of RGB colours) the pages and the forms they draw
    place, each once."""
    found: dict[tuple[int, int], Any] = {}
    for resources in resource_dictionaries(pdf):
        for item in resources.get("/XObject", pikepdf.Dictionary()).values():
            if item.objgen in found or item.get("/Subtype") != "/Image":
                continue
            space: Any = item.get("/ColorSpace")
            indexed = (
                isinstance(space, pikepdf.Array) and len(space) == 4 and space[0] == "/Indexed"
            )
            if indexed and _is_rgb_space(space[1]):
                found[item.objgen] = item  # a palette image (PNG-8) of RGB colours
            elif _is_rgb_space(space) and int(item.get("/BitsPerComponent", 0)) == 8:
                found[item.objgen] = item
    return list(found.values())


def convert_images_to_cmyk(pdf: pikepdf.Pdf, profile: bytes) -> int:
    """Separate every RGB image of ``pdf`` into the inks of ``profile`` (perceptual
    rendering from sRGB, or from the image's own ICC profile); return how many there were.

    A printer would separate them anyway, with a profile of its choosing; doing it here
    makes the file PDF/X without RGB, and what the book's designer sees on screen is what
    the press's profile makes of the image. The result is stored losslessly (Flate): a
    CMYK JPEG would need Adobe's inverted-ink convention, which viewers disagree on. Soft
    masks (transparency) stay as they are.
    """
    from PIL import Image, ImageCms

    press = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    count = 0
    for item in _rgb_images(pdf):
        own = _icc_of(item.ColorSpace)
        source = (
            ImageCms.ImageCmsProfile(io.BytesIO(own))
            if own is not None
            else ImageCms.createProfile("sRGB")
        )
        picture = pikepdf.PdfImage(item).as_pil_image()
        if picture.mode != "RGB":
            picture = picture.convert("RGB")
        separated = ImageCms.profileToProfile(
            picture, source, press, renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="CMYK"
        )
        assert isinstance(separated, Image.Image)  # not converted in place
        item.write(zlib.compress(separated.tobytes()), filter=pikepdf.Name.FlateDecode)
        item.ColorSpace = pikepdf.Name.DeviceCMYK
        item.BitsPerComponent = 8
        for stale in ("/DecodeParms", "/Decode", "/Intent"):
            if stale in item:
                del item[stale]
        count += 1
    return count


def finish_print_file(
    path: Path, config: BookConfig, profile: bytes | None = None, *, pad: bool = True
) -> int:
    """Make the print PDF at ``path`` ready for the printer, in place (atomically); return
    its page count.

    Links go (a printed page has nothing to click, and PDF/X allows no annotation on the
    page); RGB images are separated into CMYK with the output ``profile`` when one is
    given (``convert_images_to_cmyk``); with ``pad`` (not for a cover, which is one sheet),
    blank pages are added at the end up to a multiple of ``[print] page_multiple``;
    with ``[print] marks = "crop"`` the sheet (MediaBox) grows beyond the BleedBox and crop
    marks are drawn there, so that no mark lies inside the bleed. Raises pikepdf.PdfError
    for an unreadable file and OSError when it cannot be written.
    """
    with pikepdf.open(io.BytesIO(path.read_bytes())) as pdf:
        for page in pdf.pages:
            if "/Annots" in page.obj:
                del page.obj.Annots
        if profile is not None:
            convert_images_to_cmyk(pdf, profile)
        last = pdf.pages[-1].obj
        for _ in range(_padding(len(pdf.pages), config.page_multiple) if pad else 0):
            blank = pdf.make_indirect(
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Page,
                    MediaBox=pikepdf.Array(last.MediaBox),
                    Resources=pikepdf.Dictionary(),
                    Contents=pdf.make_stream(b""),
                )
            )
            for box in ("/TrimBox", "/BleedBox"):
                if box in last:
                    blank[box] = pikepdf.Array(last[box])
            pdf.pages.append(pikepdf.Page(blank))
        if config.marks == "crop":
            margin = MARK_GAP + MARK_LENGTH
            for page in pdf.pages:
                trim, bleed = _boxes(page.obj)
                page.obj.MediaBox = pikepdf.Array(
                    [bleed[0] - margin, bleed[1] - margin, bleed[2] + margin, bleed[3] + margin]
                )
                # The page's own drawing is wrapped in q/Q, so the marks start from a clean
                # graphics state whatever the page left behind.
                page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
                page.contents_add(pdf.make_stream(b"\nQ\n" + _crop_marks(trim, bleed)))
        count = len(pdf.pages)
        with atomic_output(path) as output:
            pdf.save(output, deterministic_id=True)
    return count
