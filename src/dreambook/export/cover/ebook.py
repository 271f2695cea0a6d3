"""The ebook's cover picture: the front cover drawn as a JPEG of at least 1600 × 2560 pixels.

The front cover is laid out alone (cover.html.j2 without the wrap, in screen colours) and
drawn with pdfium. The picture is kept in the build's cache under a hash of what it is made
from, so the EPUB and the HTML edition of one build, and the next build of an unchanged
cover, draw it once.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import logging
import multiprocessing
import multiprocessing.process
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from dreambook.errors import DreambookError
from dreambook.export.cover.page import SCREEN, STYLESHEET, cover_html, cover_ink, cover_pdf
from dreambook.fsutil import ConfinedReader, atomic_output
from dreambook.native import NATIVE
from dreambook.workers import may_fork, quiet_fork_child, usable_cpus

if TYPE_CHECKING:
    from dreambook.export.writer import BuildContext

log = logging.getLogger(__name__)

# Retailers' smallest ebook cover (see cover_check.py); the picture is drawn at least this
# large in both directions, keeping the trim's proportions.
MIN_WIDTH = 1600
MIN_HEIGHT = 2560
# A set cover is flat colour and type: at 80 it is clean and about 85 KB at 1707 × 2560 (at
# 90 it was 104 KB, two fifths of the sample EPUB).
JPEG_QUALITY = 80
CACHE_NAME = "cover"


def _cached_path(context: BuildContext) -> Path:
    """Where the cache keeps the front cover this build sets: named by a hash of its HTML,
    its stylesheet and dreambook's version."""
    config = context.book.config
    html = cover_html(context, None, cover_ink(config, None))
    digest = hashlib.sha256(html.encode())
    digest.update(context.styles.read_bytes(STYLESHEET))
    digest.update(importlib.metadata.version("dreambook").encode())
    return context.cache_folder / CACHE_NAME / f"{digest.hexdigest()[:32]}.jpg"


def front_cover_jpeg(context: BuildContext) -> bytes:
    """The generated front cover as JPEG bytes (from the cache when unchanged).

    Raises MissingDependencyError when WeasyPrint cannot run and OSError when a style file
    cannot be read; a cache that cannot be written is skipped.
    """
    cached = _cached_path(context)
    try:
        return cached.read_bytes()
    except OSError:
        pass
    height = context.book.config.trim_size.height.points
    data = _draw(cover_pdf(context, None, None, SCREEN), height)
    try:
        for stale in cached.parent.glob("*.jpg"):
            stale.unlink()
        with atomic_output(cached) as output:
            output.write(data)
    except OSError:
        pass  # the cache is an optimisation; the cover is made all the same
    return data


def _sets_front_cover(context: BuildContext) -> bool:
    """Whether the book's cover picture is the front cover dreambook sets (the author
    gave no image, and the book names its authors: see ``cover_picture``)."""
    config = context.book.config
    return not (config.cover or config.front) and bool(config.authors)


# The drawings running in forked processes, by the cache file each makes: a writer's
# ``drawn_meanwhile`` waits for one started ahead of it (FormatSpec.ahead) rather than
# starting another.
_DRAWING: dict[Path, multiprocessing.process.BaseProcess] = {}


@contextlib.contextmanager
def drawn_meanwhile(context: BuildContext) -> Iterator[Callable[[], None]]:
    """Draw the front cover the book sets in a forked process while the block runs, so that
    ``front_cover_jpeg`` after the block takes it from the cache instead of drawing it then.
    Yields a function that waits for the drawing (a block that wants the picture before
    its end calls it first; without a drawing it returns at once).

    Only when the book's cover is one dreambook sets, it is not in the cache yet, the
    machine has a second CPU and this process may fork (workers.may_fork). The child draws
    with ``front_cover_jpeg`` itself, so the picture is the same; when it fails, or the
    cache cannot be written, the build draws the cover as it would have. A block that raises
    stops the child.
    """
    child = None
    try:
        target = _cached_path(context) if _sets_front_cover(context) else None
    except (OSError, DreambookError, UnicodeDecodeError):
        target = None  # the build meets the same error itself, where it reports it
    running = _DRAWING.get(target) if target is not None else None
    if running is not None:
        # Started ahead of this writer (FormatSpec.ahead): wait for that one.
        try:
            yield running.join
        finally:
            running.join()
        return
    if target is not None and usable_cpus() > 1 and may_fork() and not target.is_file():
        child = multiprocessing.get_context("fork").Process(
            target=_draw_ahead, args=(context, os.getpid()), daemon=True
        )
        try:
            child.start()
            _DRAWING[target] = child
        except OSError as error:
            log.info("drawing the cover in this process: %s", error)
            child = None

    def wait() -> None:
        if child is not None:
            child.join()

    finished = False
    try:
        yield wait
        finished = True
    finally:
        if child is not None:
            if not finished:
                child.kill()  # no handler runs: nothing is printed
            child.join()
            if target is not None:
                _DRAWING.pop(target, None)


def _draw_ahead(context: BuildContext, parent: int) -> None:
    """The child of ``drawn_meanwhile``: draw the cover into the cache, then end. It says
    nothing, whatever happens: the build draws the cover itself when the cache has none,
    and reports what went wrong there."""
    try:
        quiet_fork_child(parent)
        front_cover_jpeg(context)
    except BaseException:  # whatever it was, the build meets it when it draws the cover
        os._exit(1)
    os._exit(0)


def _draw(pdf: bytes, height_points: float) -> bytes:
    """The first page of ``pdf`` drawn at least MIN_WIDTH × MIN_HEIGHT, as a JPEG."""
    import pypdfium2

    with NATIVE:
        document = pypdfium2.PdfDocument(pdf)
        try:
            page = document[0]
            width_points = page.get_width()
            scale = max(MIN_WIDTH / width_points, MIN_HEIGHT / height_points)
            picture = page.render(scale=scale).to_pil().convert("RGB")
        finally:
            document.close()
    output = io.BytesIO()
    picture.save(output, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return output.getvalue()


def cover_picture_later(
    context: BuildContext, wait: Callable[[], None]
) -> tuple[str, Callable[[], bytes]] | None:
    """``cover_picture``'s file extension at once, and a function that gives its bytes
    when they are wanted (first calling ``wait``, ``drawn_meanwhile``'s)."""
    config = context.book.config
    own = config.cover or config.front
    if not own and not config.authors:
        return None

    def picture() -> bytes:
        wait()
        found = cover_picture(context)
        assert found is not None  # the same settings as above
        return found[1]

    return (Path(own).suffix.lower() if own else ".jpg"), picture


def cover_picture(context: BuildContext) -> tuple[str, bytes] | None:
    """The book's cover picture for screens, as (file extension, bytes): ``[epub] cover``,
    else ``[cover] front``, else the generated front cover when the book names its authors;
    None when there is nothing to make one of.

    ``check`` has refused an image outside the book, missing or of another type (DB060-DB063).
    Raises OSError when the image cannot be read, and as ``front_cover_jpeg``.
    """
    config = context.book.config
    own = config.cover or config.front
    if own:
        path = context.manuscript / own
        return path.suffix.lower(), ConfinedReader([context.manuscript]).read_bytes(path)
    if not config.authors:
        return None
    return ".jpg", front_cover_jpeg(context)
