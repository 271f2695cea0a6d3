"""``dreambook preview``: build the book, serve it on 127.0.0.1, rebuild on every change.

The server serves the HTML edition of the book and the print PDF, with its pages shown
as spreads. It starts serving as soon as the HTML edition is built; the PDF is laid out
after that, in the background. It watches the manuscript and styles folders (watchfiles);
after a change it rebuilds the HTML edition first and tells open pages to reload
(server-sent events on ``/__dreambook__/events``), then lays out the PDF and tells the
spreads page. Every PDF build lays out on one pool of workers started with the preview
(``Preview.warm_pool``); the pages of each chunk are drawn as the chunk comes back, in a
thread of their own, and the spreads page swaps in the pictures named by each ``pages``
event; a page is drawn only when what it draws (``_page_digests``) changed. When a build fails, pages keep showing the last good book and lay an overlay
over it with each ``path:line: CODE message`` and its hint; the overlay goes when the book
builds again. Each build is told, in one line, to the ``report`` function the preview is
given (the terminal's, for ``dreambook preview``): what changed, the time of each stage,
the pages, and the problems the browser shows.

The server answers only this machine's browser: a request whose ``Host`` is not the address
it listens on (``127.0.0.1``, ``localhost`` or ``[::1]`` with its port) is refused with 403,
so a web page that re-points its own name at 127.0.0.1 (DNS rebinding) cannot read the
book. Request paths are decoded and must name a file inside the built book; a path too long
(414) or not a path at all (400) is answered with an error, never with a traceback. Each
connection has a time limit and at most ``MAX_CLIENTS`` are served at once, so a client that
connects and sends nothing holds one slot for a while, not the server.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import http.server
import io
import json
import logging
import queue
import shutil
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreambook.diagnostics import Diagnostic, display_path, format_diagnostic, summarise
from dreambook.errors import BuildError, DreambookError, ManuscriptError
from dreambook.executors import LocalPool, local_pool
from dreambook.export.pdf.variant import Variant
from dreambook.export.writer import FORMATS, ChunkDone, warm_up_function
from dreambook.native import NATIVE
from dreambook.pipeline import BuildResult, Options, build_book, check_manuscript
from dreambook.styles import default_styles_folder
from dreambook.workers import usable_cpus

log = logging.getLogger(__name__)

_PREFIX = "/__dreambook__/"
_LIVE_SCRIPT = "preview-live.js"
_SPREADS = "preview-spreads.html"

CLIENT_TIMEOUT = 30.0  # seconds a connection may sit idle or half-sent before it is closed
MAX_CLIENTS = 16  # requests handled at once; more wait to be accepted
MAX_EVENT_STREAMS = 32  # open pages listening for reloads, each holding a connection
MAX_PATH_BYTES = 2048  # longer request paths are answered with 414
WATCH_START_TIMEOUT = 120.0  # seconds start() waits for the first PDF and the watcher
_KEEP_ALIVE = 15.0  # seconds between comments on a quiet event stream (finds closed pages)
# The preview lays the PDF out in chunks of about one chapter (a build's hold several): a
# save lays out one short chunk again, in fewer and shorter passes (on the sample book, a
# third of the time to the settled spreads), and few pages change while it settles.
PREVIEW_CHUNK_CHARACTERS = 12_000
PAGE_SCALE = 1.5  # page images are drawn at 1.5 px per point (108 dpi)
# PNG compression of the page images: the lowest level writes a page in half the time of
# the default, and the images only travel to this machine's browser.
_PNG_COMPRESSION = 1
_LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".css": "text/css", ".ttf": "font/ttf",
    ".otf": "font/otf", ".woff": "font/woff", ".woff2": "font/woff2", ".png": "image/png",
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
    ".svg": "image/svg+xml",
}  # fmt: skip
# An image (an SVG above all) opened on its own runs nothing and loads nothing.
_IMAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


@dataclass
class _Broadcast:
    """Server-sent events for every open page: each listener has its own queue."""

    listeners: list[queue.Queue[str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_error: str | None = None

    def subscribe(self) -> queue.Queue[str]:
        listener: queue.Queue[str] = queue.Queue()
        with self.lock:
            self.listeners.append(listener)
            if self.last_error is not None:
                listener.put(self.last_error)
        return listener

    def unsubscribe(self, listener: queue.Queue[str]) -> None:
        with self.lock:
            if listener in self.listeners:
                self.listeners.remove(listener)

    def send(self, event: str, data: object) -> None:
        message = f"event: {event}\ndata: {json.dumps(data)}\n\n"
        with self.lock:
            self.last_error = message if event == "build-error" else None
            for listener in self.listeners:
                listener.put(message)


def _diagnostics_payload(diagnostics: tuple[Diagnostic, ...]) -> list[str]:
    return [format_diagnostic(d) for d in diagnostics if d.is_error]


def _quiet(line: str) -> None:
    """The default reporter of a Preview: says nothing."""


@dataclass
class _Outcome:
    """What one build of one format did, for the rebuild's line in the terminal."""

    ok: bool
    seconds: float
    result: BuildResult | None = None
    problems: tuple[str, ...] = ()


class Preview:
    """One book being previewed: its builds, its output folder and its open pages.

    ``report`` is called with one line per build (and a line for each problem the browser
    is shown); library code prints nothing itself. Inside ``warm_pool()`` every PDF build
    lays out on one pool of worker processes, started once; without it each build starts
    its own, as ``dreambook build`` does.
    """

    def __init__(
        self,
        manuscript: Path,
        output: Path,
        options: Options | None = None,
        report: Callable[[str], None] = _quiet,
    ) -> None:
        self.manuscript = manuscript
        self.output = output
        self.options = options or Options()
        self.report = report
        self.events = _Broadcast()
        self.stopping = threading.Event()
        self.watching = threading.Event()
        self.build_lock = threading.Lock()
        self.built_state: dict[Path, float] = {}
        self.site: Path | None = None
        self.pdf: Path | None = None
        # The print cover wrap (written with every print build), and its picture.
        self.cover: Path | None = None
        self.cover_image: str | None = None
        self.page_images: list[str] = []
        # What each picture in the pages folder shows: the digest of the page drawn
        # (_page_digests), by image name; a page whose digest is unchanged is not drawn again.
        self.drawn: dict[str, str] = {}
        # The pool every build uses inside warm_pool(), and what keeps it open.
        self.executor: LocalPool | None = None
        self._pool_stack: contextlib.ExitStack | None = None
        # Seconds from the start of the last rebuild to each of its moments, and its counts
        # of chunk PDFs made and pictures drawn (rebuild()); the last PDF build's outcome.
        self.moments: dict[str, float] = {}
        self.last_pdf: _Outcome | None = None
        # The thread that draws the pages of chunks while a build lays out the others, and
        # the newest layout of each chunk it was given (by its first page).
        self._drawer: concurrent.futures.ThreadPoolExecutor | None = None
        self._newest: dict[int, object] = {}
        self._started = 0.0

    # --- the worker pool ------------------------------------------------------------------------

    @contextlib.contextmanager
    def warm_pool(self) -> Iterator[None]:
        """Keep one pool of layout workers (one per usable CPU) for the builds made inside
        the block, warmed up (WeasyPrint loaded) as soon as it starts, and stop it on leaving.

        The workers die with the thread that entered the block: enter it in the thread that
        builds for as long as the preview runs. With a single usable CPU there is no pool
        (each PDF is laid out in this process). Waits, on leaving, for a layout under way.
        """
        with contextlib.ExitStack() as stack:
            self._pool_stack = stack
            self._start_pool()
            try:
                yield
            finally:
                self.executor, self._pool_stack = None, None

    def _start_pool(self) -> None:
        """Start the kept pool (in the ExitStack of ``warm_pool``)."""
        jobs = usable_cpus()
        if self._pool_stack is None or jobs < 2:
            return
        warm_up = warm_up_function(FORMATS["pdf"])
        pool = local_pool(jobs, [warm_up] if warm_up is not None else [])
        self.executor = self._pool_stack.enter_context(pool)

    def _renew_pool(self) -> None:
        """Replace a kept pool that lost a worker (a crashed layout) with a new one."""
        if self._pool_stack is None:
            return
        self.executor = None
        with contextlib.suppress(Exception):  # the broken pool's shutdown
            self._pool_stack.close()
        self._start_pool()

    # --- building -------------------------------------------------------------------------------

    def _build(
        self, formats: tuple[str, ...], chunk_done: Callable[[ChunkDone], None] | None = None
    ) -> _Outcome:
        started = time.perf_counter()
        try:
            try:
                result = self._build_book(formats, chunk_done)
            except concurrent.futures.BrokenExecutor:
                if self.stopping.is_set() or self.executor is None:
                    raise
                # A worker of the kept pool died (the layout crashed it, or it was killed):
                # the pool is of no more use, so this build runs once more on a new one.
                log.warning("a layout worker died; starting the workers again")
                self._renew_pool()
                result = self._build_book(formats, chunk_done)
        except (ManuscriptError, BuildError) as error:
            messages = _diagnostics_payload(error.diagnostics)
            self.events.send("build-error", {"diagnostics": messages})
            problems = tuple(messages) or (summarise(error.diagnostics),)
            return _Outcome(False, time.perf_counter() - started, None, problems)
        except DreambookError as error:
            self.events.send("build-error", {"diagnostics": [str(error)]})
            return _Outcome(False, time.perf_counter() - started, None, (str(error),))
        except Exception:
            # Stopping (Ctrl-C, SIGTERM) shuts the worker pools down under a build that is
            # still running; that build's failure is no news to the author who stopped it.
            if self.stopping.is_set():
                return _Outcome(False, time.perf_counter() - started, None, ())
            raise
        for path in result.files:
            if path.is_dir():
                self.site = path
            elif path.name.endswith("-cover.pdf"):
                self.cover = path
            elif path.suffix == ".pdf":
                self.pdf = path
        return _Outcome(True, time.perf_counter() - started, result)

    def _build_book(
        self, formats: tuple[str, ...], chunk_done: Callable[[ChunkDone], None] | None
    ) -> BuildResult:
        return build_book(
            self.manuscript,
            self.output,
            formats,
            (Variant.PRINT.value,),
            self.options,
            executor=self.executor,
            chunk_done=chunk_done,
            chunk_characters=PREVIEW_CHUNK_CHARACTERS,
        )

    def _chunk_done(self, done: ChunkDone) -> None:
        """Hand the pages of a chunk just laid out to the drawing thread, which draws those
        that differ from their pictures and tells the spreads page which changed (the
        chunk's PDF shows its pages as the book will, but for what the print finish adds:
        the drawing after the layout checks every page)."""
        if done.variant != Variant.PRINT.value or not self.page_images or self._drawer is None:
            return  # the first build: the spreads page waits for the whole book
        self.moments["chunk layouts"] = self.moments.get("chunk layouts", 0) + 1
        # Read now: the cache may drop the file once the layout moves on.
        data = done.pdf.read_bytes()
        token = object()
        self._newest[done.first_page] = token
        self._drawer.submit(self._draw_chunk, data, done.first_page, done.pages, token)

    def _draw_chunk(self, data: bytes, first_page: int, pages: int, token: object) -> None:
        """Draw a chunk's pages (in the drawing thread) until a newer layout of the chunk
        comes."""
        if self._newest.get(first_page) is not token:
            return
        try:
            self._draw(data, first_page, pages, lambda: self._newest.get(first_page) is token)
        except Exception:  # a picture not drawn now is drawn after the layout
            log.debug("could not draw pages from %d on", first_page + 1, exc_info=True)

    def _draw(
        self,
        pdf: Path | bytes,
        first_page: int,
        count: int | None = None,
        wanted_still: Callable[[], bool] | None = None,
    ) -> list[str]:
        """Draw the first ``count`` pages of ``pdf`` (a file or its bytes; default: all
        pages) as the book's pages ``first_page`` onwards, each only when its picture shows
        something else, and send a "pages" event for each as it is written; return the
        names of the pictures drawn. Stops early once
        ``wanted_still`` says False (a newer layout of these pages came)."""
        import pypdfium2  # imported here: only the preview draws pages

        digests = _page_digests(pdf)
        count = len(digests) if count is None else min(count, len(digests))
        wanted = [
            (index, _page_name(first_page + index))
            for index in range(count)
            if self.drawn.get(_page_name(first_page + index)) != digests[index]
        ]
        if not wanted:
            return []
        folder = self.output / "pages"
        folder.mkdir(parents=True, exist_ok=True)
        with NATIVE:
            document = pypdfium2.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
        drawn = []
        try:
            for index, name in wanted:
                if wanted_still is not None and not wanted_still():
                    break
                with NATIVE:  # page by page: a build's cover may be drawn in between
                    image = document[index].render(scale=PAGE_SCALE).to_pil()
                    image.save(folder / name, compress_level=_PNG_COMPRESSION)
                self.drawn[name] = digests[index]
                drawn.append(name)
                # Each picture is announced as soon as it is written: page by page.
                self.events.send("pages", {"images": [name]})
                if wanted_still is not None:  # drawn from a chunk while the layout goes on
                    self.moments.setdefault("first page", time.perf_counter() - self._started)
        finally:
            with NATIVE:
                document.close()
        self.moments["pages drawn"] = self.moments.get("pages drawn", 0) + len(drawn)
        return drawn

    def _render_pages(self) -> list[str]:
        """Draw each page of the print PDF that differs from its picture (and the cover
        wrap, when it changed), for the spreads view; return the names of the pictures
        drawn."""
        if self.pdf is None:
            return []
        import pypdfium2  # imported here: only the preview draws pages

        drawn = self._draw(self.pdf, 0)
        pages = len(_page_digests(self.pdf))
        folder = self.output / "pages"
        for stale in self.page_images[pages:]:
            (folder / stale).unlink(missing_ok=True)
            self.drawn.pop(stale, None)
        self.page_images = [_page_name(index) for index in range(pages)]
        self.cover_image = None
        if self.cover is not None and self.cover.is_file():
            digest = _page_digests(self.cover)[0]
            if self.drawn.get(_COVER) != digest:
                with NATIVE:
                    wrap = pypdfium2.PdfDocument(str(self.cover))
                    try:
                        # The wrap is twice a page wide and more: drawn smaller than the pages.
                        picture = wrap[0].render(scale=0.9).to_pil()
                        picture.save(folder / _COVER, compress_level=_PNG_COMPRESSION)
                    finally:
                        wrap.close()
                self.drawn[_COVER] = digest
                drawn.append(_COVER)
                self.events.send("pages", {"images": [_COVER]})
            self.cover_image = _COVER
        return drawn

    def _state(self) -> dict[Path, float]:
        """Modification times of everything in the manuscript folder but the preview's output."""
        return {
            path: path.stat().st_mtime
            for path in self.manuscript.rglob("*")
            if path.is_file() and not self._is_output(path)
        }

    def _is_output(self, path: Path) -> bool:
        """True for a file the preview itself writes (its output may sit inside the book's
        folder when the book is the current folder: a change there is no edit)."""
        try:
            return Path(path).resolve().is_relative_to(self.output.resolve())
        except (OSError, ValueError):
            return False

    def _stages(self, outcome: _Outcome) -> str:
        if outcome.result is None:
            return f"{outcome.seconds:.1f} s"
        times = ", ".join(f"{stage} {sec:.1f} s" for stage, sec in outcome.result.timings.items())
        return f"{outcome.seconds:.1f} s ({times})"

    def _tell(self, changed: str, html: _Outcome, pdf: _Outcome | None) -> None:
        """One line for the rebuild, then each problem the browser shows, one a line
        (nothing once the preview is stopping)."""
        if self.stopping.is_set():
            return
        stamp = time.strftime("%H:%M:%S")
        if not html.ok:
            self.report(f"{stamp} {changed}: FAILED, the browser shows the last good book")
            for problem in html.problems:
                self.report(f"  {problem}")
            return
        line = f"{stamp} {changed}: html {self._stages(html)}"
        if pdf is not None and pdf.ok:
            line += f"; pdf {self._stages(pdf)}, {len(self.page_images)} pages"
        elif pdf is not None:
            line += "; the PDF FAILED"
        warnings = html.result.checked.diagnostics if html.result is not None else ()
        line += f"; {summarise(warnings)}"
        self.report(line)
        for problem in pdf.problems if pdf is not None else ():
            self.report(f"  {problem}")

    def build_html(self) -> _Outcome:
        """Build the HTML edition (taking the build lock) and tell open pages to reload."""
        with self.build_lock:
            self.built_state = self._state()
            outcome = self._build(("html",))
            if outcome.ok:
                self.events.send("reload", {"what": "html"})
            return outcome

    def build_pdf(self) -> _Outcome:
        """Lay out the print PDF and tell the spreads page: while the chunks are laid out,
        which pages were drawn again ("pages" events, from a rebuild on), then that the book
        is done ("pdf", with its page count), once every page that changed is drawn."""
        with self.build_lock:
            # Pages are drawn in a thread of their own while the layout goes on; the
            # drawing after the layout waits for it.
            with concurrent.futures.ThreadPoolExecutor(1, "preview-draw") as drawer:
                self._drawer, self._newest = drawer, {}
                try:
                    outcome = self._build(("pdf",), self._chunk_done)
                finally:
                    self._drawer = None
            self.last_pdf = outcome
            if outcome.ok:
                started = time.perf_counter()
                self._render_pages()
                self.moments["draw"] = time.perf_counter() - started
                self.events.send("pdf", {"pages": len(self.page_images)})
            return outcome

    def rebuild(self, changed: Iterable[Path] = ()) -> None:
        """Build the HTML edition and announce it, then the PDF and its pages, and announce
        that; report the whole in one line, saying which files ``changed``.

        ``moments`` then holds the seconds from the start to "html" (pages told to reload),
        "first page" (the first picture redrawn while chunks are laid out, when one was),
        "spreads" (every changed page drawn and the spreads page told), and "draw" (the
        drawing after the layout); and two counts: "chunk layouts" (chunk PDFs the layout
        made) and "pages drawn" (pictures drawn in all)."""
        # An editor's temporary file, gone again before the build, is no change to report.
        changed = [p for p in changed if Path(p).exists() or Path(p) in self.built_state]
        self.moments = {}
        self._started = time.perf_counter()
        html = self.build_html()
        self.moments["html"] = time.perf_counter() - self._started
        pdf = self.build_pdf() if html.ok else None
        if pdf is not None and pdf.ok:
            self.moments["spreads"] = time.perf_counter() - self._started
        self._tell(_what_changed(changed, self.manuscript), html, pdf)

    def first_build(self) -> _Outcome:
        """Build the HTML edition once, before serving; the PDF follows (``finish_first_build``)."""
        outcome = self.build_html()
        if not outcome.ok:
            self._tell("first build", outcome, None)
        return outcome

    def finish_first_build(self, html: _Outcome) -> None:
        """Lay out the PDF of the first build (if its HTML edition built) and report both."""
        if html.ok:
            self._tell("first build", html, self.build_pdf())

    def watch(self) -> None:
        """Rebuild whenever something in the manuscript or styles folders changes, until stopped."""
        import watchfiles  # imported here: only the preview watches files

        folders = [str(self.manuscript)]
        own_styles = self.manuscript / "styles"
        if not own_styles.is_dir():
            folders.append(str(default_styles_folder()))

        def edited(change: watchfiles.Change, path: str) -> bool:
            return watchfiles.DefaultFilter()(change, path) and not self._is_output(Path(path))

        # yield_on_timeout: the first (empty) round proves the watcher is registered, so
        # start() can wait for it and no save made right after starting is missed.
        for changes in watchfiles.watch(
            *folders,
            watch_filter=edited,
            stop_event=self.stopping,
            debounce=150,
            rust_timeout=200,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            if not self.watching.is_set():
                self.watching.set()
                now, built = self._state(), self.built_state
                if now != built:  # something changed while the watcher was starting
                    self.rebuild(p for p in now.keys() | built.keys() if now.get(p) != built.get(p))
            if changes:
                self.rebuild(Path(path) for _, path in changes)

    # --- serving --------------------------------------------------------------------------------

    def file_for(self, path: str) -> Path | None:
        """Return the file that answers the decoded request ``path``, or None.

        The file must lie inside the built site or the page images once every ``..`` and
        symbolic link is resolved; anything else, and any path the file system cannot take
        (too long, a NUL byte), is None.
        """
        if self.site is None:
            return None
        relative = path.lstrip("/") or "index.html"
        if relative.startswith("pages/"):
            folder, relative = self.output / "pages", relative.removeprefix("pages/")
        else:
            folder = self.site
        try:
            base = folder.resolve()
            candidate = (folder / relative).resolve()
            if not candidate.is_relative_to(base) or not candidate.is_file():
                return None
        except (OSError, ValueError):
            return None
        return candidate


def time_save(manuscript: Path, work: Path) -> dict[str, float]:
    """Time what the preview does after a one-sentence save, for the benchmark.

    Copies the book folder ``manuscript`` into ``work/book`` (``work`` is emptied first),
    builds it as the preview does, inside one warm pool (the HTML edition, then the print
    PDF and the pictures of its pages, into ``work/preview``), changes the first sentence
    of the chapter in the middle of the reading order, and rebuilds. Returns seconds
    from the start of the rebuild to: ``html`` (open pages told to reload), ``first
    page`` (the first redrawn page sent to the spreads view while chunks were laid out;
    absent when none was drawn before the end), ``spreads`` (every changed page
    drawn and the spreads view told); with the rebuild's stages in seconds: ``pdf check``,
    ``pdf render``, ``pdf layout`` (laying out, merging, preflight), ``pdf cover``,
    ``draw`` (pictures drawn after the layout); and two counts: ``chunk layouts`` (chunk
    PDFs the rebuild's layout made) and ``pages drawn`` (pictures drawn in all). ``first
    build`` is the seconds of the first build, pool start included. Raises UsageError when
    ``manuscript`` is no book folder, and DreambookError when either build fails.
    """
    if work.exists():
        shutil.rmtree(work)
    book = work / "book"
    shutil.copytree(manuscript, book, ignore=shutil.ignore_patterns("build", ".*"))
    checked = check_manuscript(book)
    middle = checked.reading_order.slugs[len(checked.reading_order.slugs) // 2]
    chapter = next(c for c in checked.book.chapters if c.slug == middle)
    failures: list[str] = []
    preview = Preview(book, work / "preview", report=failures.append)
    with preview.warm_pool():
        started = time.perf_counter()
        html = preview.first_build()
        preview.finish_first_build(html)
        first_build = time.perf_counter() - started
        if not html.ok or preview.pdf is None:
            raise DreambookError(f"the first build failed: {failures}")
        _edit_one_sentence(chapter.path)
        preview.rebuild([chapter.path])
    pdf = preview.last_pdf
    if pdf is None or pdf.result is None or "spreads" not in preview.moments:
        raise DreambookError(f"the rebuild failed: {failures}")
    times = dict(preview.moments)
    for stage, seconds in pdf.result.timings.items():
        times[f"pdf {'layout' if stage == 'pdf' else stage}"] = seconds
    times["first build"] = first_build
    return times


def _edit_one_sentence(path: Path) -> None:
    """Change the first sentence of the chapter at ``path``'s first paragraph (a few words
    added before its full stop)."""
    text = path.read_text("utf-8")
    body = text.index("\n---", 3) + 4 if text.startswith("---") else 0
    for line in text[body:].splitlines():
        if line and line[0].isalpha() and ". " in line:
            edited = line.replace(". ", ", or so it seemed at the time. ", 1)
            path.write_text(text[:body] + text[body:].replace(line, edited, 1), "utf-8")
            return
    path.write_text(text + "\nOne more sentence, added by a save.\n", "utf-8")


_COVER = "cover.png"


def _page_name(index: int) -> str:
    """The picture of the book's page ``index`` (counted from 0)."""
    return f"page-{index + 1:04d}.png"


def _page_digests(pdf: Path | bytes) -> list[str]:
    """A digest of what each page of ``pdf`` draws: its boxes, its content streams, the
    bytes of the images and forms it names, and its fonts (without subset tags).

    A merged book keeps its chunks' content streams as they are, so a page has one digest
    in its chunk's PDF and in the book. Raises pikepdf.PdfError for an unreadable file.
    """
    import pikepdf  # imported here: only the preview compares pages

    digests = []
    with pikepdf.open(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf) as document:
        for page in document.pages:
            digest = hashlib.sha256()
            for box in ("/MediaBox", "/CropBox"):
                digest.update(repr(page.obj.get(box)).encode())
            contents = page.obj.get("/Contents")
            streams = [contents] if isinstance(contents, pikepdf.Stream) else contents or []
            for stream in streams:
                digest.update(stream.read_bytes())
            resources = page.resources
            for kind in ("/XObject", "/Font"):
                named = resources.get(kind)
                if not isinstance(named, pikepdf.Dictionary):
                    continue
                for name in sorted(named.keys()):
                    item = named[name]
                    digest.update(name.encode())
                    if isinstance(item, pikepdf.Stream):
                        digest.update(hashlib.sha256(item.read_raw_bytes()).digest())
                    else:
                        digest.update(str(item.get("/BaseFont", "")).split("+")[-1].encode())
            digests.append(digest.hexdigest())
    return digests


def _what_changed(changed: Iterable[Path], manuscript: Path) -> str:
    """``rebuilt after one.md changed`` (or ``two.md and 3 more``) for the rebuild's line."""
    names = sorted({display_path(Path(path), manuscript) for path in changed})
    if not names:
        return "rebuilt"
    if len(names) == 1:
        return f"rebuilt after {names[0]} changed"
    return f"rebuilt after {names[0]} and {len(names) - 1} more changed"


def _live_script() -> bytes:
    return (default_styles_folder() / _LIVE_SCRIPT).read_bytes()


def _allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` headers the server answers: the local names and ``host``, with ``port``."""
    names = {*_LOCAL_NAMES, f"[{host}]" if ":" in host else host}
    allowed = {f"{name}:{port}" for name in names}
    if port == 80:  # browsers leave the default port out
        allowed |= names
    return frozenset(name.lower() for name in allowed)


class _PathError(Exception):
    """A request path the server will not look up: its HTTP status and a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _request_path(target: str) -> str:
    """Return the decoded path of a request target (query and fragment dropped).

    ``target`` is the request line's target as http.server read it (each byte one
    character). Raises _PathError: 414 when it is longer than MAX_PATH_BYTES, 400 when
    its escapes do not decode as UTF-8 or it holds a NUL.
    """
    raw = target.encode("latin-1", errors="replace")
    if len(raw) > MAX_PATH_BYTES:
        raise _PathError(414, "request path too long")
    raw = raw.split(b"?", 1)[0].split(b"#", 1)[0]
    try:
        path = urllib.parse.unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise _PathError(400, "request path is not UTF-8") from None
    if "\0" in path:
        raise _PathError(400, "request path holds a NUL byte")
    return path


def _handler(preview: Preview, client_timeout: float) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "dreambook-preview"
        # A socket time limit for every connection: reading the request, and each write
        # (an event stream only writes, and only blocks when the page stops reading).
        timeout = client_timeout

        def log_message(self, format: str, *args: Any) -> None:
            # Errors too (send_error, timeouts): the preview's terminal is the author's.
            log.debug("%s %s", self.address_string(), format % args)

        def _send(
            self, status: int, content_type: str, body: bytes, policy: str | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            if policy is not None:
                self.send_header("Content-Security-Policy", policy)
            self.end_headers()
            self.wfile.write(body)

        def _refuse(self, status: int, reason: str) -> None:
            self.close_connection = True
            self._send(status, "text/plain; charset=utf-8", reason.encode("utf-8") + b"\n")

        def do_GET(self) -> None:
            server = self.server
            assert isinstance(server, _PreviewHTTPServer)
            if self.headers.get("Host", "").strip().lower() not in server.allowed_hosts:
                self._refuse(403, "this server answers only requests for its own address")
                return
            try:
                path = _request_path(self.path)
            except _PathError as error:
                self._refuse(error.status, error.reason)
                return
            if path == _PREFIX + "events":
                self._events(server)
            elif path == _PREFIX + "live.js":
                self._send(200, "text/javascript; charset=utf-8", _live_script())
            elif path == _PREFIX + "spreads":
                self._spreads()
            elif path == _PREFIX + "book.pdf" and preview.pdf and preview.pdf.is_file():
                self._send(200, "application/pdf", preview.pdf.read_bytes())
            else:
                self._file(path)

        def _file(self, path: str) -> None:
            file = preview.file_for(path)
            if file is None:
                self._send(404, "text/plain; charset=utf-8", b"not found")
                return
            body = file.read_bytes()
            suffix = file.suffix.lower()
            content_type = _CONTENT_TYPES.get(suffix, "application/octet-stream")
            if suffix == ".html":
                tag = f'<script src="{_PREFIX}live.js"></script></body>'.encode()
                body = body.replace(b"</body>", tag, 1)
            policy = _IMAGE_POLICY if content_type.startswith("image/") else None
            self._send(200, content_type, body, policy)

        def _spreads(self) -> None:
            template = (default_styles_folder() / _SPREADS).read_text(encoding="utf-8")
            images = json.dumps(preview.page_images)
            page = template.replace("__PAGES__", images)
            body = page.replace("__COVER__", json.dumps(preview.cover_image)).encode("utf-8")
            body = body.replace(
                b"</body>", f'<script src="{_PREFIX}live.js"></script></body>'.encode(), 1
            )
            self._send(200, "text/html; charset=utf-8", body)

        def _events(self, server: _PreviewHTTPServer) -> None:
            if not server.become_event_stream():
                self._refuse(503, "too many open pages")
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.close_connection = True
            listener = preview.events.subscribe()
            try:
                self.wfile.write(b": connected\n\n")
                self.wfile.flush()
                quiet_since = time.monotonic()
                while not preview.stopping.is_set():
                    try:
                        message = listener.get(timeout=0.5)
                    except queue.Empty:
                        # A comment now and then: writing to a closed page fails, which
                        # ends this stream and frees its slot.
                        if time.monotonic() - quiet_since < _KEEP_ALIVE:
                            continue
                        message = ": keep-alive\n\n"
                    self.wfile.write(message.encode("utf-8"))
                    self.wfile.flush()
                    quiet_since = time.monotonic()
            except OSError:  # the page went away (reset, broken pipe, a write timed out)
                pass
            finally:
                preview.events.unsubscribe(listener)

    return Handler


class _PreviewHTTPServer(http.server.ThreadingHTTPServer):
    """A threading HTTP server that handles at most ``max_clients`` requests at once.

    Each connection takes a slot before its thread starts and gives it back when done;
    while every slot is taken, the accepting loop waits (new connections queue in the
    listen backlog). An event stream trades its slot for one of ``max_streams`` others,
    so open pages do not starve ordinary requests.
    """

    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[http.server.BaseHTTPRequestHandler],
        max_clients: int,
        max_streams: int,
    ) -> None:
        super().__init__(address, handler)
        self.request_slots = threading.BoundedSemaphore(max_clients)
        self.stream_slots = threading.BoundedSemaphore(max_streams)
        self.closing = threading.Event()
        self.held = threading.local()
        port = self.server_address[1]
        self.allowed_hosts = _allowed_hosts(address[0], port)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Start a thread for the connection once a request slot is free (or drop it when
        the server is stopping)."""
        while not self.request_slots.acquire(timeout=0.25):
            if self.closing.is_set():  # stopping: do not wait for a slot
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.request_slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Handle the connection, then give back the slot this thread holds."""
        self.held.slot = self.request_slots
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.held.slot.release()

    def become_event_stream(self) -> bool:
        """Move this thread from a request slot to an event stream slot; False if none is free."""
        if not self.stream_slots.acquire(blocking=False):
            return False
        self.held.slot.release()
        self.held.slot = self.stream_slots
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr; the preview logs it instead.
        log.debug("error while serving %s", client_address, exc_info=True)

    def shutdown(self) -> None:
        """Stop serving; a connection waiting for a slot is closed rather than awaited."""
        self.closing.set()
        super().shutdown()


class PreviewServer:
    """The HTTP server and the watcher thread of one preview, started and stopped together."""

    def __init__(
        self,
        preview: Preview,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        client_timeout: float = CLIENT_TIMEOUT,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.preview = preview
        handler = _handler(preview, client_timeout)
        self.httpd = _PreviewHTTPServer((host, port), handler, max_clients, MAX_EVENT_STREAMS)
        self.threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """The address the book is served at."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self, watch: bool = True, serving: Callable[[str], None] | None = None) -> None:
        """Build the HTML edition, then serve it (and watch) in background threads at once;
        the PDF is laid out after that, in the background, and the spreads follow.

        The build thread starts first: it keeps the layout workers (Preview.warm_pool) from
        now until the preview stops, so they load WeasyPrint while the HTML edition is
        built, and every later build finds them ready. ``serving`` is called with the
        address as soon as the server answers, before the PDF is laid out; start returns
        when the PDF is laid out and the watcher runs.
        """
        first: queue.Queue[_Outcome | None] = queue.Queue()
        worker = threading.Thread(
            target=self._build_in_turn, args=(first, watch), name="preview-build"
        )
        self.threads.append(worker)
        worker.start()
        html = None
        try:
            html = self.preview.first_build()
        finally:
            first.put(html)  # None: the first build raised, and the build thread ends
        server = threading.Thread(target=self.httpd.serve_forever, name="preview-http")
        self.threads.append(server)
        server.start()
        if serving is not None:
            serving(self.url)
        # Returns once the first PDF is laid out and the watcher runs (without a watcher:
        # once the PDF is laid out); meanwhile the server already answers.
        if watch:
            self.preview.watching.wait(timeout=WATCH_START_TIMEOUT)
        else:
            worker.join()

    def _build_in_turn(self, first: queue.Queue[_Outcome | None], watch: bool) -> None:
        """The build thread: the PDF of the first build, then (when ``watch``) the watcher,
        all with the one pool of workers."""
        with self.preview.warm_pool():
            html = first.get()
            if html is None:
                return
            # The PDF first, then the watcher: the watcher's first round compares the files
            # with those the first build read, so an edit made meanwhile is not missed.
            self.preview.finish_first_build(html)
            if watch:
                self.preview.watch()

    def stop(self) -> None:
        """Stop watching and serving, and wait for the threads to end. A build under way is
        not cut short (its worker processes finish their pass), so that is said first."""
        self.preview.stopping.set()
        if self.preview.build_lock.locked():
            self.preview.report("stopping once the build under way has finished its pass")
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self.threads:
            thread.join(timeout=10)
