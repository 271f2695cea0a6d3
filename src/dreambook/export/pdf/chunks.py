"""Laying out a book in chunks of whole chapters, in parallel, with a cache of laid-out chunks.

A chunk is the front matter, or a run of consecutive chapters. Every chapter opens on a
right-hand page, so every chunk does too: a chunk laid out on its own looks exactly like
its pages in the whole book, provided its page counter starts at the right folio. Each
chunk's document ends with a sentinel block that opens one more right-hand page; that
page is dropped when the chunks are merged (merge.py), so every chunk keeps an even
number of pages, with the blank left-hand page its last chapter may need.

The work for one chunk (``lay_out_chunk``) runs in a worker process, on this machine or
another (executors.py), and returns plain data and the chunk's PDF as bytes; WeasyPrint
objects never cross a process boundary, and only the build writes files. A worker that
shares no file system with the build reads the stylesheets, fonts and images from the
bundles the job is given (fsutil.FileBundle). A laid-out chunk is cached on
disk under a key made of everything that shapes it (its HTML, the stylesheets, dreambook's
and WeasyPrint's versions), and an entry is used only while every file the layout read
(fonts, images) still has the content it had, and while its PDF is the very file its
worker made: a damaged entry is a miss, never a failed build.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dreambook import __version__
from dreambook.export.pdf.folios import anchor_positions
from dreambook.export.pdf.makeup import Space, add_space, choices, page_fill
from dreambook.export.pdf.variant import Variant
from dreambook.export.pdf.weasy import Typesetter, pdf_bytes
from dreambook.fsutil import BundledFiles, FileBundle, atomic_output
from dreambook.native import NATIVE

if TYPE_CHECKING:
    from dreambook.export.pdf.printfile import PrintInk
    from dreambook.render import RenderedBook

log = logging.getLogger(__name__)

# About 6,500 words of chapter HTML, some 20 pages at 6 x 9 in. Measured on the benchmark
# book (405 pages, 2 cores): chunks of 45,000, 90,000 and 150,000 characters gave the same
# cold build (15.3-15.8 s) and PDFs within 2% of each other in size, but a one-sentence
# rebuild of the PDF took 1.5, 2.5 and 3.6 s: the edited chunk is what a rebuild lays out.
DEFAULT_CHUNK_CHARACTERS = 50_000


@dataclass(frozen=True)
class Chunk:
    """A part of the book laid out as one document: the front matter, or whole chapters."""

    index: int
    front: bool
    slugs: tuple[str, ...]


def plan_chunks(
    book: RenderedBook, chunk_characters: int = DEFAULT_CHUNK_CHARACTERS
) -> tuple[Chunk, ...]:
    """Cut the book into chunks: the front matter, then chapters in reading order.

    Chapters are gathered until a chunk holds about ``chunk_characters`` of HTML; a long
    chapter is a chunk of its own. The cut depends only on the chapters' sizes, so a small
    edit leaves the chunks as they were.
    """
    chunks = [Chunk(0, True, ())]
    current: list[str] = []
    size = 0
    for chapter in book.chapters:
        length = len(chapter.body)
        if current and size + length > chunk_characters:
            chunks.append(Chunk(len(chunks), False, tuple(current)))
            current, size = [], 0
        current.append(chapter.slug)
        size += length
    if current:
        chunks.append(Chunk(len(chunks), False, tuple(current)))
    return tuple(chunks)


@dataclass(frozen=True)
class ChunkJob:
    """Everything a worker needs to lay out one chunk (picklable)."""

    html: str
    # The page geometry (page.css.j2 rendered), then print.css, then this chunk's own rules.
    page_css: str
    stylesheet: Path
    chunk_css: str
    base_url: str
    folders: tuple[Path, ...]
    variant: Variant
    identifier: str
    # Anchors this chunk links to that live in other chunks (see merge.py).
    outside_targets: tuple[str, ...]
    # Whether to make the chunk's PDF (False when only the page positions are wanted).
    write_pdf: bool
    # The print edition's inks (stylesheet and output profile); None for the digital one.
    ink: PrintInk | None = None
    # The fill its HTML was given (makeup.py), from which the layout measures the next.
    fill: dict[str, Space] = field(default_factory=dict)
    # Make no PDF when the make-up's decisions on these pages differ from ``fill``: the
    # chunk is then laid out again (with them when its numbers held, with other numbers
    # when they did not), and this PDF would be thrown away. Making a PDF costs about
    # three quarters of the layout itself. The build asks for it only where it would take
    # those decisions (not for a chunk whose fill is settled, nor in the last layout).
    skip_pdf_when_refilled: bool = False


@dataclass(frozen=True)
class ChunkLayout:
    """What laying out a chunk found: its pages and where its anchors landed."""

    pages: int  # pages that belong to the book (the sentinel page not counted)
    anchor_pages: dict[str, int]
    page_tops: dict[int, str]
    refused: tuple[str, ...] = ()
    # Files the layout read, with the SHA-256 of their content when read.
    read_files: dict[str, str] = field(default_factory=dict)
    pdf_path: Path | None = None
    # The SHA-256 of the PDF as the worker made it ("" when it made none).
    pdf_sha256: str = ""
    # The make-up's choices its pages want (makeup.py; measured only in a layout that
    # prints page numbers, one that may write a PDF): ``fill`` keeps the choices as they
    # were, ``decided`` takes new ones (used once the page numbers held, layout.py). The
    # space added to short pages is not among them: the PDF has it (makeup.add_space).
    fill: dict[str, Space] = field(default_factory=dict)
    decided: dict[str, Space] = field(default_factory=dict)
    # The CPU seconds the worker spent laying the chunk out and writing its PDF (what the
    # benchmark adds up; 0 for a layout taken from the cache, which does not keep it).
    cpu_seconds: float = 0.0

    def to_json(self, key: str) -> str:
        """The layout as the JSON of cache entry ``key`` (its PDF's path is not kept: the
        cache knows it; the key is, so that an entry copied under another name is refused)."""
        data = asdict(self)
        data["page_tops"] = {str(k): v for k, v in self.page_tops.items()}
        data["pdf_path"] = None
        # CPU time differs from run to run: kept out, so that the cache is reproducible.
        del data["cpu_seconds"]
        data["key"] = key
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, key: str, pdf_path: Path) -> ChunkLayout:
        """The layout ``to_json(key)`` wrote, its PDF at ``pdf_path``; raises ValueError,
        KeyError, TypeError or AttributeError for malformed JSON or JSON of another key."""
        data = json.loads(text)
        if data["key"] != key:
            raise ValueError(f"the entry describes the chunk {str(data['key'])[:12]}")
        return cls(
            int(data["pages"]),
            {str(k): int(v) for k, v in data["anchor_pages"].items()},
            {int(k): str(v) for k, v in data["page_tops"].items()},
            tuple(str(u) for u in data["refused"]),
            {str(k): str(v) for k, v in data["read_files"].items()},
            pdf_path,
            str(data["pdf_sha256"]),
            _fill(data["fill"]),
            _fill(data["decided"]),
            float(data.get("cpu_seconds", 0.0)),
        )


def _fill(data: dict[str, dict[str, float]]) -> dict[str, Space]:
    return {str(k): Space(float(v["base"]), float(v["extra"])) for k, v in data.items()}


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's content, or "" when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


# --- the worker ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LaidOutChunk:
    """What a worker sends back for one chunk: the layout, and the PDF when one was asked for
    (the build writes it into the cache; ``layout.pdf_path`` is None until then)."""

    layout: ChunkLayout
    pdf: bytes | None


# Per worker process: the typesetters (stylesheets and fonts parsed once), reused for every
# chunk that process lays out. A small number: a worker of a catalogue meets many books.
_TYPESETTERS: dict[tuple[str, str, tuple[Path, ...], str, str], Typesetter] = {}
_TYPESETTERS_KEPT = 4


def _typesetter(job: ChunkJob, files: BundledFiles | None) -> Typesetter:
    key = (
        job.page_css,
        str(job.stylesheet),
        job.folders,
        job.ink.digest if job.ink is not None else "",
        files.digest if files is not None else "",
    )
    if key not in _TYPESETTERS:
        while len(_TYPESETTERS) >= _TYPESETTERS_KEPT:
            del _TYPESETTERS[next(iter(_TYPESETTERS))]
        _TYPESETTERS[key] = Typesetter(job.page_css, job.stylesheet, job.folders, job.ink, files)
    return _TYPESETTERS[key]


def lay_out_chunk(job: ChunkJob, files: Sequence[FileBundle] = ()) -> LaidOutChunk:
    """Lay out one chunk, and make its PDF when the job asks. Runs in a worker process.

    With ``files`` (a worker that shares no file system with the build), every file the
    layout reads comes from those bundles and nothing else may be read. Returns the layout
    and the PDF's bytes; writes nothing. Raises MissingDependencyError when WeasyPrint
    cannot run.
    """
    # A worker process may run several tasks on threads (a Dask worker with more than one):
    # they take turns, since the typesetters, their record of the files read and the
    # libraries beneath them are the process's own (native.py).
    with NATIVE:
        return _lay_out_chunk(job, files)


def _lay_out_chunk(job: ChunkJob, files: Sequence[FileBundle]) -> LaidOutChunk:
    started = time.process_time()
    bundled = BundledFiles(files) if files else None
    typesetter = _typesetter(job, bundled)
    fetcher = typesetter.fetcher
    fetcher.read.clear()
    fetcher.refused.clear()
    traits = job.variant.traits
    document = typesetter.render(job.html, job.base_url, traits, job.chunk_css)
    kept = len(document.pages) - 1  # the last page holds only the sentinel
    anchor_pages, page_tops = anchor_positions(document.pages[:kept])
    measured, decided = dict(job.fill), dict(job.fill)
    if job.write_pdf:
        measured = page_fill(document.pages, job.fill, decide=False)
        decided = page_fill(document.pages, job.fill)
    refilled = choices(decided) != job.fill
    data: bytes | None = None
    if job.write_pdf and not (refilled and job.skip_pdf_when_refilled):
        # The space that fills short pages goes into the laid-out boxes (makeup.add_space).
        add_space(document, measured)
        # Links to other chunks' anchors would be dropped by WeasyPrint; a stand-in anchor
        # on the sentinel page keeps them, and the merge points them at the real place.
        sentinel = document.pages[-1]
        for target in job.outside_targets:
            if target not in anchor_pages:
                sentinel.anchors.setdefault(target, (0, 0, 0, 0))
        data = pdf_bytes(document, job.identifier, traits)
    read = dict.fromkeys([*typesetter.read_by_stylesheets, *fetcher.read])
    digest = bundled.sha256 if bundled is not None else lambda path: file_digest(Path(path))
    layout = ChunkLayout(
        kept,
        anchor_pages,
        page_tops,
        tuple(dict.fromkeys(fetcher.refused)),
        {path: digest(path) for path in read},
        None,
        hashlib.sha256(data).hexdigest() if data is not None else "",
        choices(measured),
        choices(decided),
        time.process_time() - started,
    )
    return LaidOutChunk(layout, data)


# --- the cache -------------------------------------------------------------------------------------


# Where fontconfig finds the fonts of the system and of the user (its default configuration
# on Linux and the BSDs): a font added there can change which glyphs a chunk falls back to.
_FONT_FOLDERS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
)


def system_fonts_fingerprint(folders: Sequence[str] = _FONT_FOLDERS) -> str:
    """A hash of the font files installed in ``folders`` (names, sizes, modification times).

    The book's own fonts are tracked by content (``ChunkLayout.read_files``); the system's
    fonts are the fallbacks for characters the book's fonts lack, so installing or removing
    one must invalidate every cached chunk. A few hundred files take a few milliseconds.
    """
    digest = hashlib.sha256()
    for folder in folders:
        root = Path(folder).expanduser()
        # sorted() takes the whole walk first, so folders come in name order whatever the
        # file system's order.
        for directory, _, files in sorted(os.walk(root)):
            for name in sorted(files):
                path = Path(directory, name)
                with contextlib.suppress(OSError):
                    status = path.stat()
                    digest.update(f"{path}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
    return digest.hexdigest()


# What a cached chunk holds, as made by this release's code: a layout made by another
# (the short pages' space laid out rather than added to the boxes) is not used.
_LAYOUT_FORMAT = "2: space added after the layout"


def layout_environment(weasyprint_version: str, system_fonts: str, stylesheet: str) -> str:
    """A hash of what shapes every chunk of a build alike: dreambook's and WeasyPrint's
    versions, the system's fonts (``system_fonts_fingerprint()``) and the text of print.css.
    Computed once per build and given to ``chunk_key``."""
    digest = hashlib.sha256()
    for part in (__version__, _LAYOUT_FORMAT, weasyprint_version, system_fonts, stylesheet):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def chunk_key(job: ChunkJob, environment: str) -> str:
    """The cache key of a chunk: a hash of everything that shapes its pages.

    ``environment`` is the build's ``layout_environment``; the files the layout reads
    (fonts, images) are checked by content when an entry is used (``ChunkCache.get``).
    """
    digest = hashlib.sha256()
    parts = (
        environment,
        job.html,
        job.page_css,
        job.chunk_css,
        job.base_url,
        job.variant.value,
        job.identifier,
        "\n".join(job.outside_targets),
        job.ink.digest if job.ink is not None else "",
    )
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def _looks_like_pdf(path: Path) -> bool:
    """Whether the file begins as a PDF does and has an end-of-file marker near its end:
    what a reader needs to find its trailer. False when it cannot be read."""
    try:
        with path.open("rb") as stream:
            head = stream.read(5)
            stream.seek(max(0, path.stat().st_size - 1024))
            tail = stream.read()
    except OSError:
        return False
    return head == b"%PDF-" and b"%%EOF" in tail


class ChunkCache:
    """Laid-out chunks on disk: ``<key>.pdf`` with ``<key>.json`` describing its pages.

    An entry is checked before it is used: its JSON must describe its own key, and its PDF
    must have the SHA-256 the JSON recorded and look like a whole PDF. A damaged entry (a
    truncated or replaced PDF, a PDF swapped with another entry's, malformed JSON) is a miss:
    it is deleted, the chunk is laid out again, and the repair is logged at INFO.

    ``folder`` is the build's own folder for one PDF (its fills and merged fonts). The
    entries live there too, unless ``store`` names a folder shared by many builds (a
    catalogue's ``OUTPUT/.cache/chunks``): keys are content hashes, so any book may use an
    entry another laid out. A shared store is never pruned by one build (other books' entries
    live there): ``prune`` marks the entries this build used as fresh instead (their
    modification time), and the store's owner deletes what no build marked
    (``prune_store``).
    """

    def __init__(self, folder: Path, store: Path | None = None) -> None:
        self.folder = folder
        self.store = store
        self.entries = store if store is not None else folder
        self._digests: dict[str, str] = {}
        self.used: set[str] = set()

    def pdf_path(self, key: str) -> Path:
        """Where the chunk with cache key ``key`` has (or will have) its PDF."""
        return self.entries / f"{key}.pdf"

    def _digest(self, path: str) -> str:
        if path not in self._digests:
            self._digests[path] = file_digest(Path(path))
        return self._digests[path]

    def get(self, key: str) -> ChunkLayout | None:
        """The cached layout for ``key``, or None when it is missing, damaged or stale
        (a damaged entry is deleted)."""
        pdf = self.pdf_path(key)
        description = self.entries / f"{key}.json"
        try:
            text = description.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None  # never written, or its worker was stopped before the entry was
        except (OSError, ValueError) as error:
            self._discard(key, f"its description cannot be read ({error})")
            return None
        try:
            layout = ChunkLayout.from_json(text, key, pdf)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            self._discard(key, f"its description is malformed ({error!r})")
            return None
        if not layout.pdf_sha256 or file_digest(pdf) != layout.pdf_sha256:
            self._discard(key, "its PDF is missing or is not the PDF that was laid out")
            return None
        if not _looks_like_pdf(pdf):
            self._discard(key, "its PDF is not a whole PDF")
            return None
        if any(self._digest(path) != digest for path, digest in layout.read_files.items()):
            return None  # stale, not damaged: laid out again and replaced under the same key
        self.used.add(key)
        return layout

    def _discard(self, key: str, reason: str) -> None:
        """Delete the damaged entry ``key`` (its PDF and its description) and say why."""
        log.info(
            "chunk cache entry %s is damaged: %s; laying the chunk out again", key[:12], reason
        )
        for path in (self.pdf_path(key), self.entries / f"{key}.json"):
            with contextlib.suppress(OSError):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)

    def put(self, key: str, laid_out: LaidOutChunk) -> ChunkLayout:
        """Write a chunk's PDF and its description into the cache, each atomically (the
        description last: an entry without one is never used); return its layout with its
        PDF's path. Raises OSError when the cache cannot be written."""
        assert laid_out.pdf is not None
        path = self.pdf_path(key)
        with atomic_output(path) as output:
            output.write(laid_out.pdf)
        layout = dataclasses.replace(laid_out.layout, pdf_path=path)
        with atomic_output(self.entries / f"{key}.json") as output:
            output.write(layout.to_json(key).encode("utf-8"))
        self.used.add(key)
        return layout

    def prune(self) -> None:
        """Delete the entries this build did not use, so the cache does not grow forever;
        in a shared store, mark the entries it used as fresh instead (see ``prune_store``)."""
        if self.store is not None:
            for key in self.used:
                for path in (self.pdf_path(key), self.entries / f"{key}.json"):
                    with contextlib.suppress(OSError):
                        os.utime(path)
            return
        with contextlib.suppress(OSError):
            for entry in self.folder.iterdir():
                if entry.stem not in self.used and entry.suffix in (".pdf", ".json"):
                    entry.unlink(missing_ok=True)


def prune_store(store: Path, since: float) -> int:
    """Delete the entries of the shared chunk store ``store`` that no build used or wrote
    since ``since`` (a ``time.time()``); return how many files went. Call it only when
    every build that shared the store has finished and none failed: a failed book's
    entries were not marked, and the next run wants them."""
    removed = 0
    with contextlib.suppress(OSError):
        for entry in store.iterdir():
            if entry.suffix not in (".pdf", ".json"):
                continue
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime < since:
                    entry.unlink()
                    removed += 1
    return removed


def global_positions(
    chunks: Sequence[Chunk], layouts: Mapping[int, ChunkLayout]
) -> tuple[dict[str, int], dict[int, str], list[int], int]:
    """Join the chunks' page positions: anchor pages, page tops, each chunk's first page, total."""
    anchor_pages: dict[str, int] = {}
    page_tops: dict[int, str] = {}
    starts = []
    offset = 0
    for chunk in chunks:
        layout = layouts[chunk.index]
        starts.append(offset)
        for anchor, page in layout.anchor_pages.items():
            anchor_pages.setdefault(anchor, page + offset)
        for page, anchor in layout.page_tops.items():
            page_tops[page + offset] = anchor
        offset += layout.pages
    return anchor_pages, page_tops, starts, offset
