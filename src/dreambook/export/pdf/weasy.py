"""The one place WeasyPrint is set up: imported with a clear message when it cannot run,
confined to the book's files, and given its fonts and stylesheets.

Both ways of laying out a book use :class:`Typesetter`: the whole book in this process, and
each chunk in a worker process (which keeps one per process, see chunks.py).
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from dreambook.errors import MissingDependencyError
from dreambook.export.pdf.variant import EditionTraits
from dreambook.fsutil import BundledFiles, ConfinedFolders, ConfinedReader
from dreambook.native import NATIVE
from dreambook.safe_assets import NotAnSvgError, clean_stylesheet, clean_svg

if TYPE_CHECKING:
    from dreambook.export.pdf.printfile import PrintInk

_TRAILER_ID = re.compile(rb"/ID \[\([0-9a-f]{32}\) \(([0-9a-f]{32})\)\]")
_XMP_DOCUMENT_ID = re.compile(
    rb"xmp\.did:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


def import_weasyprint() -> Any:
    """Return the weasyprint module.

    Raises MissingDependencyError (saying what to install) when WeasyPrint cannot load the
    Pango library it needs.
    """
    try:
        import weasyprint
    except OSError as error:  # WeasyPrint raises OSError when Pango cannot be loaded
        raise MissingDependencyError(
            "WeasyPrint cannot load the Pango text-layout library, which PDF output needs "
            f"({error}). On Debian or Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0"
        ) from error
    return weasyprint


def warm_up() -> None:
    """Load WeasyPrint in a worker before its first chunk arrives (raises as import_weasyprint)."""
    import_weasyprint()


class ConfinedFetcher:
    """A WeasyPrint URL fetcher that serves files from the allowed folders and nothing else.

    ``refused`` lists the URLs it would not serve, ``read`` the paths of the files it served
    (the chunk cache checks they are unchanged). With ``files`` (a worker that shares no file
    system with the build) it serves the bundled files only, from their bytes.
    """

    def __init__(
        self, weasyprint: Any, folders: ConfinedFolders, files: BundledFiles | None = None
    ) -> None:
        self.folders = folders
        self.files = files
        self.refused: list[str] = []
        self.read: list[str] = []
        base = weasyprint.urls.URLFetcher

        class Fetcher(base):  # type: ignore[misc, valid-type]
            def fetch(inner_self, url: str, headers: Any = None) -> Any:
                if self._allowed(url):
                    path = unquote(urlsplit(url).path)
                    self.read.append(path)
                    if path.lower().endswith(".svg"):
                        return self._svg(weasyprint, url, Path(path))
                    if self.files is not None:
                        return self._bundled(weasyprint, url, path)
                    return super().fetch(url, headers)
                self.refused.append(url)
                raise ValueError(f"dreambook reads no resource outside the book: {url}")

        self.fetcher = Fetcher(allowed_protocols=("file",), allow_redirects=False)

    def _svg(self, weasyprint: Any, url: str, path: Path) -> Any:
        """An SVG image as the layout gets it: cleaned of scripts, handlers and references
        out of the image (safe_assets.py). Raises ValueError (the image is left out, as
        WeasyPrint leaves out any image it cannot load) when it is no SVG."""
        try:
            data, _ = clean_svg(self._reader().read_bytes(path))
        except NotAnSvgError as error:
            raise ValueError(f"{path.name} is not an SVG image: {error.reason}") from error
        return weasyprint.urls.URLFetcherResponse(
            url, body=data, headers={"Content-Type": "image/svg+xml"}
        )

    def _reader(self) -> ConfinedReader | BundledFiles:
        return self.files if self.files is not None else ConfinedReader(self.folders.folders)

    def _bundled(self, weasyprint: Any, url: str, path: str) -> Any:
        """A bundled file as the layout gets it, typed as urllib types a local file."""
        assert self.files is not None
        kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return weasyprint.urls.URLFetcherResponse(
            url, body=self.files.read_bytes(path), headers={"Content-Type": kind}
        )

    def _allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            return False
        path = Path(unquote(parts.path))
        # A bundled file exists for the worker only if the build could read it (FileBundle).
        if self.files is not None:
            return self.files.allows(path)
        return self.folders.allows(path)


class Typesetter:
    """WeasyPrint ready to lay out pages of one book: its fetcher, fonts and two stylesheets.

    ``page_css`` is the page geometry (page.css.j2 rendered), ``stylesheet`` the path of
    print.css, ``folders`` those the layout may read files from. Parsing the stylesheets and
    loading their fonts costs a few tenths of a second, so one typesetter serves every
    layout pass (and, in a worker, every chunk of the same book). With ``ink`` (the print
    edition) its stylesheet comes after print.css, and its profile is the CMYK output intent.
    With ``files``, every file (print.css, fonts, images) is read from those bundles, not
    the disk. Raises MissingDependencyError as import_weasyprint.
    """

    def __init__(
        self,
        page_css: str,
        stylesheet: Path,
        folders: Sequence[Path],
        ink: PrintInk | None = None,
        files: BundledFiles | None = None,
    ) -> None:
        self.weasyprint = weasyprint = import_weasyprint()
        self.fetcher = ConfinedFetcher(weasyprint, ConfinedFolders(list(folders)), files)
        reader = files if files is not None else ConfinedReader(list(folders))
        stylesheet_text = clean_stylesheet(reader.read_text(stylesheet))[0]
        with NATIVE:  # parsing @font-face rules loads fonts into fontconfig
            self._load_stylesheets(page_css, stylesheet, stylesheet_text, ink)
        # The fonts and images the stylesheets read while parsed: part of every layout.
        self.read_by_stylesheets = tuple(self.fetcher.read)

    def _load_stylesheets(
        self, page_css: str, stylesheet: Path, stylesheet_text: str, ink: PrintInk | None
    ) -> None:
        weasyprint = self.weasyprint
        # @font-face rules take effect only through a FontConfiguration shared by CSS and layout.
        self.fonts = weasyprint.text.fonts.FontConfiguration()
        self.stylesheets = [
            weasyprint.CSS(
                string=page_css,
                base_url=stylesheet.parent.as_uri() + "/",
                url_fetcher=self.fetcher.fetcher,
                font_config=self.fonts,
            ),
            weasyprint.CSS(
                # Read through the confined opener, without what would reach out of the book.
                string=stylesheet_text,
                base_url=stylesheet.parent.as_uri() + "/",
                url_fetcher=self.fetcher.fetcher,
                font_config=self.fonts,
            ),
        ]
        self.ink = ink
        if ink is not None:
            self.stylesheets.append(weasyprint.CSS(string=ink.stylesheet, font_config=self.fonts))

    def render(
        self, html: str, base_url: str, traits: EditionTraits, extra_css: str | None = None
    ) -> Any:
        """Return the laid-out ``weasyprint.Document`` of ``html``.

        ``extra_css`` is a stylesheet applied after the book's (a chunk's first page number).
        """
        with NATIVE:
            return self._render(html, base_url, traits, extra_css)

    def _render(
        self, html: str, base_url: str, traits: EditionTraits, extra_css: str | None
    ) -> Any:
        stylesheets = list(self.stylesheets)
        # WeasyPrint's PDF/X variant takes the profile named "device-cmyk" as the output
        # intent. A new profile object for each document: lcms writes a profile out
        # differently once its description has been read, which the first document does,
        # and the chunks of one book must embed the same bytes to share one copy.
        color_profiles = None
        if self.ink is not None:
            color_profiles = {
                "device-cmyk": self.weasyprint.css.ColorProfile(
                    io.BytesIO(self.ink.profile),
                    self.ink.profile_source,
                    "relative-colorimetric",
                    (["c"], ["m"], ["y"], ["k"]),
                )
            }
        if extra_css is not None:
            stylesheets.append(self.weasyprint.CSS(string=extra_css, font_config=self.fonts))
        return self.weasyprint.HTML(
            string=html, base_url=base_url, url_fetcher=self.fetcher.fetcher
        ).render(
            stylesheets=stylesheets,
            font_config=self.fonts,
            pdf_tags=traits.tagged,
            color_profiles=color_profiles,
        )


def pdf_bytes(document: Any, identifier: str, traits: EditionTraits) -> bytes:
    """The PDF of a laid-out document, with ``identifier`` as its /ID and the edition's standard."""
    metadata = document.metadata
    if traits.press and not metadata.created:
        # WeasyPrint's PDF/X writer stamps the clock's time on a document without a creation
        # date, so two builds of one book would differ: the build's date stands in for it.
        metadata.created = metadata.modified
    with NATIVE:
        data: bytes = document.write_pdf(
            pdf_identifier=identifier.encode(), pdf_variant=traits.pdf_variant
        )
    if traits.press:
        # The PDF/X writer gives the XMP a random document UUID; the edition's own makes
        # every build of it the same. The XMP is not compressed, and both are 36
        # characters, so no offset in the file moves.
        # The second half of the trailer's /ID, a hash of the objects written, hashed that
        # random UUID: it becomes a hash of the file as it now is (with the /ID left out).
        document_id = uuid.UUID(bytes=hashlib.sha256(identifier.encode()).digest()[:16])
        data = _XMP_DOCUMENT_ID.sub(b"xmp.did:" + str(document_id).encode(), data, count=1)
        found = _TRAILER_ID.search(data)
        if found is not None:
            rest = data[: found.start(1)] + data[found.end(1) :]
            data = (
                data[: found.start(1)]
                + hashlib.md5(rest).hexdigest().encode()
                + rest[found.start(1) :]
            )
    return data
