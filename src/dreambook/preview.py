"""``dreambook preview``: build the book, serve it on 127.0.0.1, rebuild on every change.

The server serves the HTML edition of the book and the print PDF, with its pages shown
as spreads. It watches the manuscript and styles folders (watchfiles); after a change it
rebuilds the HTML edition first and tells open pages to reload (server-sent events on
``/__dreambook__/events``), then lays out the PDF and tells the spreads page. When a
build fails, pages keep showing the last good book and lay an overlay over it with each
``path:line: CODE message`` and its hint; the overlay goes when the book builds again.
"""

from __future__ import annotations

import http.server
import json
import logging
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreambook.diagnostics import Diagnostic, format_diagnostic
from dreambook.errors import BuildError, DreambookError, ManuscriptError
from dreambook.export.pdf.variant import Variant
from dreambook.pipeline import Options, build_book
from dreambook.styles import default_styles_folder

log = logging.getLogger(__name__)

_PREFIX = "/__dreambook__/"
_LIVE_SCRIPT = "preview-live.js"
_SPREADS = "preview-spreads.html"


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


class Preview:
    """One book being previewed: its builds, its output folder and its open pages."""

    def __init__(self, manuscript: Path, output: Path, options: Options | None = None) -> None:
        self.manuscript = manuscript
        self.output = output
        self.options = options or Options()
        self.events = _Broadcast()
        self.stopping = threading.Event()
        self.watching = threading.Event()
        self.build_lock = threading.Lock()
        self.built_state: dict[Path, float] = {}
        self.site: Path | None = None
        self.pdf: Path | None = None
        self.page_images: list[str] = []

    # --- building -------------------------------------------------------------------------------

    def _build(self, formats: tuple[str, ...]) -> bool:
        try:
            result = build_book(
                self.manuscript, self.output, formats, (Variant.PRINT.value,), self.options
            )
        except (ManuscriptError, BuildError) as error:
            messages = _diagnostics_payload(error.diagnostics)
            self.events.send("build-error", {"diagnostics": messages})
            return False
        except DreambookError as error:
            self.events.send("build-error", {"diagnostics": [str(error)]})
            return False
        for path in result.files:
            if path.is_dir():
                self.site = path
            elif path.suffix == ".pdf":
                self.pdf = path
        return True

    def _render_pages(self) -> None:
        """Draw each page of the print PDF as an image, for the spreads view."""
        if self.pdf is None:
            return
        import pypdfium2  # imported here: only the preview draws pages

        folder = self.output / "pages"
        folder.mkdir(parents=True, exist_ok=True)
        names = []
        document = pypdfium2.PdfDocument(str(self.pdf))
        try:
            for index in range(len(document)):
                image = document[index].render(scale=1.5).to_pil()
                name = f"page-{index + 1:04d}.png"
                image.save(folder / name)
                names.append(name)
        finally:
            document.close()
        self.page_images = names

    def _state(self) -> dict[Path, float]:
        """Modification times of everything in the manuscript folder."""
        return {path: path.stat().st_mtime for path in self.manuscript.rglob("*") if path.is_file()}

    def rebuild(self) -> None:
        """Build the HTML edition and announce it, then the PDF and its pages, and announce that."""
        with self.build_lock:
            self.built_state = self._state()
            if not self._build(("html",)):
                return
            self.events.send("reload", {"what": "html"})
            if self._build(("pdf",)):
                self._render_pages()
                self.events.send("pdf", {"pages": len(self.page_images)})

    def watch(self) -> None:
        """Rebuild whenever something in the manuscript or styles folders changes, until stopped."""
        import watchfiles  # imported here: only the preview watches files

        folders = [str(self.manuscript)]
        own_styles = self.manuscript / "styles"
        if not own_styles.is_dir():
            folders.append(str(default_styles_folder()))
        # yield_on_timeout: the first (empty) round proves the watcher is registered, so
        # start() can wait for it and no save made right after starting is missed.
        for changes in watchfiles.watch(
            *folders,
            stop_event=self.stopping,
            debounce=150,
            rust_timeout=200,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            if not self.watching.is_set():
                self.watching.set()
                if self._state() != self.built_state:
                    self.rebuild()  # something changed while the watcher was starting
            if changes:
                self.rebuild()

    # --- serving --------------------------------------------------------------------------------

    def file_for(self, path: str) -> Path | None:
        """The file that answers a request path, inside the built site or the page images."""
        if self.site is None:
            return None
        relative = path.lstrip("/") or "index.html"
        if relative.startswith("pages/"):
            base = (self.output / "pages").resolve()
            candidate = (self.output / relative).resolve()
        else:
            base = self.site.resolve()
            candidate = (self.site / relative).resolve()
        if not candidate.is_relative_to(base) or not candidate.is_file():
            return None
        return candidate


def _live_script() -> bytes:
    return (default_styles_folder() / _LIVE_SCRIPT).read_bytes()


def _handler(preview: Preview) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "dreambook-preview"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.address_string(), format % args)

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            if path == _PREFIX + "events":
                self._events()
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
            types = {".html": "text/html; charset=utf-8", ".css": "text/css", ".png": "image/png",
                     ".ttf": "font/ttf", ".jpg": "image/jpeg", ".svg": "image/svg+xml"}  # fmt: skip
            content_type = types.get(file.suffix, "application/octet-stream")
            if file.suffix == ".html":
                tag = f'<script src="{_PREFIX}live.js"></script></body>'.encode()
                body = body.replace(b"</body>", tag, 1)
            self._send(200, content_type, body)

        def _spreads(self) -> None:
            template = (default_styles_folder() / _SPREADS).read_text(encoding="utf-8")
            images = json.dumps(preview.page_images)
            body = template.replace("__PAGES__", images).encode("utf-8")
            body = body.replace(
                b"</body>", f'<script src="{_PREFIX}live.js"></script></body>'.encode(), 1
            )
            self._send(200, "text/html; charset=utf-8", body)

        def _events(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            listener = preview.events.subscribe()
            try:
                self.wfile.write(b": connected\n\n")
                self.wfile.flush()
                while not preview.stopping.is_set():
                    try:
                        message = listener.get(timeout=0.5)
                    except queue.Empty:
                        continue
                    self.wfile.write(message.encode("utf-8"))
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                preview.events.unsubscribe(listener)

    return Handler


class PreviewServer:
    """The HTTP server and the watcher thread of one preview, started and stopped together."""

    def __init__(self, preview: Preview, host: str = "127.0.0.1", port: int = 0) -> None:
        self.preview = preview
        self.httpd = http.server.ThreadingHTTPServer((host, port), _handler(preview))
        self.httpd.daemon_threads = True
        self.threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """The address the book is served at."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self, watch: bool = True) -> None:
        """Build once, then serve (and watch) in background threads."""
        self.preview.rebuild()
        server = threading.Thread(target=self.httpd.serve_forever, name="preview-http")
        self.threads.append(server)
        if watch:
            self.threads.append(threading.Thread(target=self.preview.watch, name="preview-watch"))
        for thread in self.threads:
            thread.start()
        if watch:
            self.preview.watching.wait(timeout=30)

    def stop(self) -> None:
        """Stop watching and serving, and wait for the threads to end."""
        self.preview.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self.threads:
            thread.join(timeout=10)
