"""The preview server over real HTTP on 127.0.0.1: serve, rebuild on change, show errors, stop."""

from __future__ import annotations

import contextlib
import http.client
import queue
import re
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from dreambook.preview import Preview, PreviewServer
from tests.conftest import MINIMAL_TOML, WriteBook, chapter

pytestmark = pytest.mark.slow

EVENT_TIMEOUT = 120  # seconds to wait for an event: a bound, not an expectation of speed


def get(url: str) -> tuple[int, str]:
    """GET a text resource from the preview (on 127.0.0.1)."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read().decode("utf-8")


def get_bytes(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read()


class EventStream:
    """Reads the server-sent events of the preview in a thread; events arrive on a queue."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.connection.request("GET", "/__dreambook__/events")
        self.response = self.connection.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type") == "text/event-stream"
        self.events: queue.Queue[tuple[str, str]] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        event, data = "", ""
        try:
            for raw in self.response:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif not line and event:
                    self.events.put((event, data))
                    event, data = "", ""
        except (OSError, ValueError):
            return

    def next(self, wanted: str) -> str:
        """Wait for the next event called ``wanted``; return its data."""
        while True:
            event, data = self.events.get(timeout=EVENT_TIMEOUT)
            if event == wanted:
                return data

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def served(write_book: WriteBook, tmp_path: Path) -> Iterator[tuple[PreviewServer, Path]]:
    root = write_book(
        {
            "one.md": chapter(
                "One", "The first words.\n\n## Next Stages\n\n- [Two](two.md) — on.\n"
            ),
            "two.md": chapter("Two", "The second chapter.\n"),
        }
    )
    server = PreviewServer(Preview(root, tmp_path / "preview"), "127.0.0.1", 0)
    server.start()
    try:
        yield server, root
    finally:
        server.stop()
    assert not any(thread.is_alive() for thread in server.threads)


def test_preview_serves_rebuilds_reloads_shows_errors_and_stops(
    served: tuple[PreviewServer, Path],
) -> None:
    server, root = served
    assert server.url.startswith("http://127.0.0.1:")
    status, page = get(server.url)
    assert status == 200
    assert "A Small Book" in page
    assert "/__dreambook__/live.js" in page  # the reload script is injected
    status, chapter_page = get(server.url + "one.html")
    assert "The first words." in chapter_page
    stream = EventStream(server.url)
    try:
        # An edit: the HTML edition is rebuilt and open pages are told to reload, then the PDF.
        (root / "one.md").write_text(
            chapter("One", "Edited words.\n\n## Next Stages\n\n- [Two](two.md) — on.\n"), "utf-8"
        )
        assert stream.next("reload")
        assert "Edited words." in get(server.url + "one.html")[1]
        assert int(stream.next("pdf").split(":")[1].strip(" }")) >= 2
        status, spreads = get(server.url + "__dreambook__/spreads")
        assert status == 200
        assert "page-0001.png" in spreads
        status, image = get_bytes(server.url + "pages/page-0001.png")
        assert status == 200
        assert image.startswith(b"\x89PNG")
        # The cover wrap beside the spreads, drawn from the print build's cover.
        assert 'var cover = "cover.png";' in spreads
        status, wrap = get_bytes(server.url + "pages/cover.png")
        assert status == 200
        assert wrap.startswith(b"\x89PNG")
        # A broken chapter: an error event with the coded diagnostic; the last good book stays.
        (root / "two.md").write_text("---\nsubtitle: no title\n---\n\nText.\n", "utf-8")
        error = stream.next("build-error")
        assert "two.md:1: DB014 error" in error
        assert "Edited words." in get(server.url + "one.html")[1]
        # Mended: the pages reload again.
        (root / "two.md").write_text(chapter("Two", "Mended.\n"), "utf-8")
        assert stream.next("reload")
        assert "Mended." in get(server.url + "two.html")[1]
    finally:
        stream.close()


def test_preview_serves_nothing_outside_the_built_book(served: tuple[PreviewServer, Path]) -> None:
    server, _ = served
    for path in ("../../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "pages/../../one.md"):
        connection = http.client.HTTPConnection("127.0.0.1", urlsplit(server.url).port, timeout=30)
        connection.request("GET", "/" + path)
        assert connection.getresponse().status == 404, path
        connection.close()


def test_in_a_real_browser_the_page_shows_the_build_errors_over_the_last_good_book(
    served: tuple[PreviewServer, Path], tmp_path: Path
) -> None:
    import shutil
    import subprocess

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    server, root = served
    stream = EventStream(server.url)
    try:
        (root / "two.md").write_text("---\nsubtitle: no title\n---\n\nText.\n", "utf-8")
        stream.next("build-error")
    finally:
        stream.close()
    # Headless Chromium loads the page, runs the injected script, which subscribes to the
    # events and receives the last build's errors; the DOM it dumps must hold the overlay.
    # The dump is taken a while after loading; on a busy machine the event can come later,
    # so the page is loaded again, with a longer wait, up to three times.
    dom, completed = "", None
    for wait in (3000, 8000, 20000):
        completed = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={tmp_path / f'profile-{wait}'}",
             f"--timeout={wait}", "--dump-dom", server.url + "one.html"],
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        dom = completed.stdout
        if 'id="dreambook-build-errors"' in dom:
            break
    assert completed is not None
    assert "The first words." in dom, completed.stderr[-2000:]  # the last good page
    assert 'id="dreambook-build-errors"' in dom, completed.stderr[-2000:]
    assert "two.md:1: DB014 error: the front matter has no title" in dom


# --- hardening: only this machine's pages, only the book's files, bounded work ------------------


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreviewServer]:
    """A preview (not watching) of a book with an image whose name has a space, served with a
    short client time limit and two request slots, so that slow clients show quickly."""
    from PIL import Image

    root = tmp_path_factory.mktemp("hardened") / "manuscript"
    (root / "img").mkdir(parents=True)
    (root / "book.toml").write_text(MINIMAL_TOML, encoding="utf-8")
    (root / "one.md").write_text(chapter("One", "Words.\n\n![A dot](<img/my dot.png>)\n"), "utf-8")
    Image.new("RGB", (8, 8), (200, 30, 30)).save(root / "img" / "my dot.png")
    server = PreviewServer(
        Preview(root, root.parent / "preview"), "127.0.0.1", 0, client_timeout=1.0, max_clients=2
    )
    server.start(watch=False)
    try:
        yield server
    finally:
        server.stop()


def request(
    server: PreviewServer, path: str, host: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """GET ``path`` (sent as written) with ``host`` as the Host header (default: the server's
    own); return the status, the headers and the body."""
    port = urlsplit(server.url).port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": host or f"127.0.0.1:{port}"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_preview_refuses_requests_for_another_host_name(hardened: PreviewServer) -> None:
    port = urlsplit(hardened.url).port
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}"):
        status, _, body = request(hardened, "/one.html", host)
        assert status == 403, host
        assert b"Words." not in body
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert request(hardened, "/one.html", host)[0] == 200, host


def test_over_long_paths_are_414_without_a_traceback_and_the_server_keeps_answering(
    hardened: PreviewServer, capfd: pytest.CaptureFixture[str]
) -> None:
    for length in (8 * 1024, 65_000):
        status, _, _ = request(hardened, "/" + "a" * length)
        assert status == 414, length
        assert request(hardened, "/one.html")[0] == 200
    status, _, _ = request(hardened, "/pages/" + "b" * 3000)
    assert status == 414
    assert "Traceback" not in capfd.readouterr().err


def test_a_nul_byte_or_a_path_that_is_not_utf8_is_400(
    hardened: PreviewServer, capfd: pytest.CaptureFixture[str]
) -> None:
    for path in ("/one.html%00", "/%00", "/pages/%00x.png", "/%ff%fe.html"):
        assert request(hardened, path)[0] == 400, path
    assert request(hardened, "/one.html")[0] == 200
    assert "Traceback" not in capfd.readouterr().err


def test_request_paths_are_url_decoded(hardened: PreviewServer) -> None:
    status, page = get(hardened.url + "one.html")
    assert 'src="img/my%20dot.png"' in page  # the page asks for the image this way
    status, headers, image = request(hardened, "/img/my%20dot.png")
    assert status == 200
    assert image.startswith(b"\x89PNG")
    assert headers["Content-Type"] == "image/png"


def test_paths_that_escape_the_book_are_404(hardened: PreviewServer, tmp_path: Path) -> None:
    site = hardened.preview.site
    assert site is not None
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the browser", encoding="utf-8")
    (site / "link-out.txt").symlink_to(secret)
    for path in (
        "/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%2E%2E%2F%2E%2E%2Fetc/passwd",
        "/pages/../../manuscript/one.md", "/pages/%2e%2e/%2e%2e/manuscript/book.toml",
        "/img/..%2f..%2f..%2fmanuscript/one.md", "/link-out.txt", "//etc/passwd",
    ):  # fmt: skip
        status, _, body = request(hardened, path)
        assert status == 404, path
        assert b"not for the browser" not in body


def test_images_are_served_with_a_policy_that_runs_nothing_and_pages_with_nosniff(
    hardened: PreviewServer,
) -> None:
    _, headers, _ = request(hardened, "/img/my%20dot.png")
    assert headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, page = request(hardened, "/one.html")
    assert status == 200
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert b"/__dreambook__/live.js" in page  # the reload script is still injected and served
    status, headers, _ = request(hardened, "/__dreambook__/live.js")
    assert status == 200
    assert headers["Content-Type"].startswith("text/javascript")


def test_a_slow_client_is_closed_after_the_time_limit_and_threads_are_bounded(
    hardened: PreviewServer,
) -> None:
    port = urlsplit(hardened.url).port
    assert port is not None
    # More silent clients than request slots (two): they connect and send nothing.
    silent = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(5)]
    try:
        # An ordinary request is still answered (once slots free up, within a bound).
        status, _, body = request(hardened, "/one.html")
        assert status == 200
        assert b"Words." in body
        handlers = [
            thread for thread in threading.enumerate() if "process_request_thread" in thread.name
        ]
        assert len(handlers) < len(silent)  # at most two at work (and any just ending)
        # The server closes each silent connection after its time limit: the read ends
        # (with nothing, or a reset), well before the client's own 60 seconds.
        for client in silent:
            with contextlib.suppress(ConnectionResetError):
                assert client.recv(1024) == b""
    finally:
        for client in silent:
            client.close()
    assert request(hardened, "/one.html")[0] == 200


# --- issue 17: the HTML edition first, and a terminal that says what each rebuild did ----------


class _HeldPdf(Preview):
    """A preview whose PDF layout waits until the test lets it go."""

    def __init__(self, manuscript: Path, output: Path, release: threading.Event) -> None:
        super().__init__(manuscript, output)
        self.release = release

    def build_pdf(self) -> Any:
        assert self.release.wait(timeout=EVENT_TIMEOUT)
        return super().build_pdf()


def test_the_html_edition_is_served_before_the_pdf_is_laid_out(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root = write_book({"one.md": chapter("One", "The first words.\n")})
    release = threading.Event()
    preview = _HeldPdf(root, tmp_path / "preview", release)
    server = PreviewServer(preview, "127.0.0.1", 0)
    addresses: queue.Queue[str] = queue.Queue()
    starter = threading.Thread(
        target=server.start, kwargs={"watch": False, "serving": addresses.put}
    )
    starter.start()
    try:
        url = addresses.get(timeout=EVENT_TIMEOUT)
        # The PDF is held back, and the book is served all the same.
        status, page = get(url)
        assert status == 200
        assert "A Small Book" in page
        assert preview.pdf is None
        with pytest.raises(urllib.error.HTTPError) as missing:
            get(url + "__dreambook__/book.pdf")
        assert missing.value.code == 404
    finally:
        release.set()
        starter.join(timeout=EVENT_TIMEOUT)
        server.stop()
    assert preview.pdf is not None
    assert preview.pdf.is_file()


def test_the_preview_command_prints_a_line_per_rebuild_with_its_problems(
    write_book: WriteBook, tmp_path: Path
) -> None:
    import signal
    import subprocess

    from tests.e2e.test_cli import _dreambook_command

    root = write_book(
        {
            "one.md": chapter("One", "Words.\n\n## Next Stages\n\n- [Two](two.md) — on.\n"),
            "two.md": chapter("Two"),
        }
    )
    process = subprocess.Popen(
        [*_dreambook_command(), "preview", "-o", str(tmp_path / "out")],
        cwd=root,  # inside the book's folder: the output is elsewhere
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()

    seen: list[str] = []

    def line_with(words: str) -> str:
        while True:
            try:
                line = lines.get(timeout=EVENT_TIMEOUT)
            except queue.Empty:
                pytest.fail(f"no line with {words!r}; the preview printed {seen}")
            seen.append(line)
            if words in line:
                return line

    try:
        serving = line_with("previewing")
        assert "http://127.0.0.1:" in serving
        assert "the PDF follows" in serving
        first = line_with("first build:")
        assert re.search(r"html \d+\.\d s \(check \d+\.\d s, render", first), first
        assert re.search(r"pdf \d+\.\d s .*, \d+ pages; 0 errors, 0 warnings$", first), first
        (root / "one.md").write_text(
            chapter("One", "New words.\n\n## Next Stages\n\n- [Two](two.md) — on.\n"), "utf-8"
        )
        rebuilt = line_with("rebuilt after")
        assert "one.md changed" in rebuilt
        assert re.search(r"\d+ pages; 0 errors, 0 warnings$", rebuilt), rebuilt
        (root / "two.md").write_text("---\nsubtitle: S\n---\n\nText.\n", "utf-8")
        failed = line_with("rebuilt after")
        assert "two.md changed: FAILED" in failed
        problem = lines.get(timeout=EVENT_TIMEOUT)
        assert problem.startswith("  two.md:1: DB014 error: the front matter has no title")
        assert "title: Two" in lines.get(timeout=EVENT_TIMEOUT)  # its hint, from the file name
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=EVENT_TIMEOUT)
    assert process.returncode == 0
