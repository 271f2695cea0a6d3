"""Rendered chapter bodies kept between builds, found again by a hash of what shapes them.

Converting a chapter's Markdown (Python-Markdown's inline patterns, then the sanitiser)
is most of the render stage, and a rebuild after an edit converts the same chapters
again. So each chapter's body HTML, its sections and ids are kept in the build's cache
folder (``.cache/chapters``), one file per chapter, named by a key made of everything
that shapes that HTML:

* the chapter's Markdown text, slug, source path, the headings the index found (their
  ids become anchors) and the line of its Next Stages heading;
* the render settings (raw HTML trusted or not, the footnote back-link's tooltip);
* the source of the modules that turn Markdown into the body (so a changed renderer
  never serves old HTML), and Python-Markdown's and nh3's versions.

What the chapter's links lead to depends on the rest of the book (another chapter's
path or headings), so it is not part of the key: each entry records every href it
resolved and where it led, and it is used only if every one of them still leads to
the same place. An entry that cannot be read, whose checksum does not match, or whose
shape is wrong is a miss, made again and overwritten. Entries are written to a
temporary file and renamed into place, so a reader never sees half an entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from dreambook.fsutil import FILE_MODE
from dreambook.manuscript import Chapter

log = logging.getLogger(__name__)

# Bumped when the layout of an entry changes.
SCHEMA = 1
SUFFIX = ".chapter.json"

# The modules whose code decides a chapter's body HTML.
_SHAPING_MODULES = (
    "dreambook.render",
    "dreambook.markdown_ext",
    "dreambook.sanitize",
    "dreambook.slugs",
    "dreambook.render_cache",
)


@dataclass(frozen=True)
class ResolvedLink:
    """An href the renderer resolved in a chapter: its kind (a LinkKind name) and, for a
    link to a chapter, the anchor it led to."""

    href: str
    kind: str
    anchor: str | None


@dataclass(frozen=True)
class ChapterBody:
    """A chapter's converted body: its HTML, its sections as (anchor, typeset title, level),
    every id in the HTML, and the links resolved while converting it."""

    html: str
    sections: tuple[tuple[str, str, int], ...]
    ids: tuple[str, ...]
    links: tuple[ResolvedLink, ...]


def code_digest(modules: Iterable[str] = _SHAPING_MODULES) -> str:
    """A hash of the source files of ``modules`` (already imported) and of the versions of
    the libraries that convert and clean the Markdown. Raises OSError when a module's
    source cannot be read."""
    import markdown
    import nh3

    versions = f"{SCHEMA} {markdown.__version__} {getattr(nh3, '__version__', '')}"
    digest = hashlib.sha256(versions.encode())
    for name in modules:
        source = getattr(sys.modules[name], "__file__", None)
        if source is not None:
            digest.update(Path(source).read_bytes())
    return digest.hexdigest()


def chapter_key(chapter: Chapter, settings: Iterable[str], code: str) -> str:
    """The cache key of ``chapter``'s body: a hash of its text and everything else that
    shapes its HTML (see the module's docstring), except where its links lead."""
    shape = [
        code,
        list(settings),
        chapter.slug,
        chapter.source_path.as_posix(),
        chapter.next_stages_line,
        [[h.level, h.text, h.id, h.line] for h in chapter.headings],
        chapter.markdown,
    ]
    text = json.dumps(shape, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


class ChapterCache:
    """The chapter bodies kept in ``folder`` (None: nothing is kept).

    A cache that cannot be read or written costs time, never the build: every OSError is
    logged and taken as a miss.
    """

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.used: set[str] = set()

    def get(self, key: str, resolve: Callable[[str], ResolvedLink]) -> ChapterBody | None:
        """The body kept under ``key`` if every link it resolved still resolves alike
        (``resolve`` resolves an href of the same chapter now), else None."""
        self.used.add(key)
        if self.folder is None:
            return None
        path = self.folder / f"{key}{SUFFIX}"
        try:
            data = path.read_bytes()
        except OSError:
            return None
        body = _decode(data)
        if body is None:
            log.info("the kept chapter %s is damaged; rendering it again", path.name)
            return None
        if any(resolve(link.href) != link for link in body.links):
            return None
        return body

    def put(self, key: str, body: ChapterBody) -> None:
        """Keep ``body`` under ``key`` (atomically: a reader sees the old file or the new)."""
        self.used.add(key)
        if self.folder is None:
            return
        path = self.folder / f"{key}{SUFFIX}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, _encode(body))
        except OSError as error:
            log.info("cannot keep the rendered chapter in %s: %s", self.folder, error)

    def prune(self) -> None:
        """Remove the entries this build neither read nor wrote (old versions of chapters)."""
        if self.folder is None or not self.folder.is_dir():
            return
        with contextlib.suppress(OSError):
            for entry in self.folder.glob(f"*{SUFFIX}"):
                if entry.name.removesuffix(SUFFIX) not in self.used:
                    entry.unlink(missing_ok=True)


def _encode(body: ChapterBody) -> bytes:
    """An entry's bytes: the hex SHA-256 of the JSON payload, a newline, the payload."""
    payload = json.dumps(
        {
            "html": body.html,
            "sections": [list(section) for section in body.sections],
            "ids": list(body.ids),
            "links": [[link.href, link.kind, link.anchor] for link in body.links],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8", "surrogatepass")
    return hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def _decode(data: bytes) -> ChapterBody | None:
    """The body an entry holds, or None when it is damaged (checksum, JSON or shape)."""
    checksum, _, payload = data.partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != checksum:
        return None
    try:
        fields = json.loads(payload.decode("utf-8", "surrogatepass"))
        sections = tuple((str(a), str(t), int(level)) for a, t, level in fields["sections"])
        links = tuple(
            ResolvedLink(str(href), str(kind), None if anchor is None else str(anchor))
            for href, kind, anchor in fields["links"]
        )
        html = fields["html"]
        ids = tuple(fields["ids"])
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        return None
    if not isinstance(html, str) or not all(isinstance(i, str) for i in ids):
        return None
    return ChapterBody(html, sections, ids, links)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``.

    Not flushed to disk first: an entry cut short by a crash fails its checksum and is a
    miss. The temporary name is one the next build clears away if this one is killed.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as output:
            output.write(data)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
