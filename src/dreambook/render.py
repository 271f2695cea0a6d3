"""Chapters -> RenderedChapters: each chapter's Markdown becomes HTML once, for every output.

The PDF, EPUB and HTML writers all consume the RenderedBook made here; none of them
parses Markdown again. Everything a writer needs about links is already resolved:
cross-references are ``<a class="xref" href="#anchor">``, Next Stages and "Reached
from" are data taken from the chapter graph, and every heading has its anchor.
"""

from __future__ import annotations

import functools
import html
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markdown import Markdown
from markdown.extensions import Extension
from markdown.extensions.attr_list import AttrListExtension
from markdown.extensions.def_list import DefListExtension
from markdown.extensions.fenced_code import FencedCodeExtension
from markdown.extensions.footnotes import FootnoteExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.smarty import SmartyExtension
from markdown.extensions.tables import TableExtension
from markupsafe import Markup

from dreambook.bookmap import BookMap, build_map
from dreambook.config import BookConfig
from dreambook.graph import ChapterGraph, LinkKind, LinkResolver, LinkTarget, ReadingOrder
from dreambook.labels import ENGLISH, Labels, book_labels
from dreambook.manuscript import Book, Chapter
from dreambook.markdown_ext import (
    ChapterContext,
    DreambookExtension,
    quicken_inline_processors,
)
from dreambook.render_cache import ChapterBody, ChapterCache, ResolvedLink, chapter_key, code_digest
from dreambook.sanitize import sanitize_html
from dreambook.slugs import slugify
from dreambook.workers import may_fork, shared_with_children, usable_cpus

# fenced_code: the manuscript index (markdown-it, CommonMark) treats ``` fences as code, so
# the renderer must too, or text that check saw as code would render as live Markdown.
MARKDOWN_EXTENSIONS = (
    "footnotes", "attr_list", "def_list", "tables", "smarty", "sane_lists", "fenced_code"
)  # fmt: skip

# The cache folder's sub-folder for rendered chapters.
CHAPTER_CACHE = "chapters"


@dataclass(frozen=True)
class SectionEntry:
    """A heading of a chapter, for contents pages, navigation and the PDF outline."""

    anchor: str
    title: Markup
    level: int


@dataclass(frozen=True)
class ChapterLink:
    """A reference to a whole chapter: its slug, anchor and typeset title."""

    slug: str
    anchor: str
    title: Markup


@dataclass(frozen=True)
class NextStageEntry:
    """One item of a chapter's Next Stages, resolved: the target chapter and the blurb.

    ``ref_id`` is a book-wide id for the item itself, so a writer can tell where the item
    landed (e.g. to print "overleaf" rather than a page number).
    """

    target: ChapterLink
    blurb: Markup
    ref_id: str


@dataclass(frozen=True)
class RenderedChapter:
    """One chapter rendered to HTML, with everything the writers need beside it."""

    slug: str
    anchor: str
    label: str
    number: str
    title: Markup
    subtitle: Markup | None
    title_text: str
    body: Markup
    sections: tuple[SectionEntry, ...]
    next_stages: tuple[NextStageEntry, ...]
    reached_from: tuple[ChapterLink, ...]
    source_path: str
    # The file line the chapter's text starts on (for a writer's diagnostics).
    source_line: int = 1
    # Every id in ``body``, so writers can tell which chapter holds an anchor without
    # parsing the HTML again.
    ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RenderedBook:
    """The book ready for the writers: its settings, its file-name slug, its chapters in
    order, its map, and the interface words every writer prints (in the book's language,
    with book.toml's ``[labels]`` over them)."""

    config: BookConfig
    slug: str
    chapters: tuple[RenderedChapter, ...]
    book_map: BookMap | None = None
    labels: Labels = ENGLISH

    @property
    def title(self) -> Markup:
        """The book title, typeset."""
        return typeset_inline(self.config.title)

    @property
    def subtitle(self) -> Markup | None:
        """The book subtitle, typeset, or None."""
        return typeset_inline(self.config.subtitle) if self.config.subtitle else None


# Typographic characters themselves, not named entities: XHTML (EPUB) knows no &rsquo;.
_SMARTY: dict[str, dict[str, Any]] = {
    "smarty": {
        "substitutions": {
            "left-single-quote": "\u2018",
            "right-single-quote": "\u2019",
            "left-double-quote": "\u201c",
            "right-double-quote": "\u201d",
            "left-angle-quote": "\u00ab",
            "right-angle-quote": "\u00bb",
            "ndash": "\u2013",
            "mdash": "\u2014",
            "ellipsis": "\u2026",
        }
    }
}
# The classes behind the names: given instances, Python-Markdown need not look the names up
# among the installed packages' entry points, which took some 35 ms of every build.
_EXTENSION_CLASSES: dict[str, type[Extension]] = {
    "footnotes": FootnoteExtension,
    "attr_list": AttrListExtension,
    "def_list": DefListExtension,
    "tables": TableExtension,
    "smarty": SmartyExtension,
    "sane_lists": SaneListExtension,
    "fenced_code": FencedCodeExtension,
}


def _extensions(names: tuple[str, ...], configs: dict[str, dict[str, Any]]) -> list[Extension]:
    """The extensions ``names`` as instances, each with its settings from ``configs``."""
    return [_EXTENSION_CLASSES[name](**configs.get(name, {})) for name in names]


_inline_markdown = Markdown(extensions=_extensions(("smarty",), _SMARTY))
# One run at a time: a catalogue renders several books on threads of one process, and a
# Markdown instance keeps the state of the text it converts.
_inline_lock = threading.Lock()


# Text Python-Markdown and smarty give back as it is: ASCII letters and digits, spaces and
# punctuation that starts no Markdown and no smart quote, dash or ellipsis (no "..", ". .",
# no two spaces), beginning with a letter (so never a list, heading or code block) and
# ending without a space. Most titles and blurbs are such text, and skip the Markdown run.
_PLAIN_TEXT_RE = re.compile(
    r"(?!.*(?:\.\.|\. \.|  ))[A-Za-z][A-Za-z0-9,;:?(). ]*[A-Za-z0-9?.)]|[A-Za-z]"
)


# Memoised: the same short texts come again and again (section headings such as "Quick
# Answer" in every chapter, each title in the contents, Next Stages and "Reached from"), and
# a Python-Markdown run costs a quarter of a millisecond even for two words.
@functools.lru_cache(maxsize=8192)
def typeset_inline(text: str) -> Markup:
    """Return one line of manuscript text as safe HTML with typographic quotes and dashes.

    Markdown emphasis is honoured (``*word*``); any HTML in the text is escaped, so a title
    can never inject markup. Raises nothing.
    """
    if _PLAIN_TEXT_RE.fullmatch(text):
        return Markup(text)
    return _typeset_with_markdown(text)


def _typeset_with_markdown(text: str) -> Markup:
    """``typeset_inline`` by a Python-Markdown run, whatever the text."""
    with _inline_lock:
        _inline_markdown.reset()
        converted = _inline_markdown.convert(html.escape(text, quote=False))
    return Markup(converted.removeprefix("<p>").removesuffix("</p>").strip())


class ChapterRenderer:
    """Converts chapters with one configured Python-Markdown instance, reused between chapters."""

    def __init__(
        self, resolver: LinkResolver, *, trust_html: bool = False, labels: Labels = ENGLISH
    ) -> None:
        self.resolver = resolver
        self.trust_html = trust_html
        self.extension = DreambookExtension()
        # The footnote back-link's tooltip is an interface word: in the book's language.
        footnotes = {"SEPARATOR": "-", "BACKLINK_TITLE": labels.backlink_title()}
        configs = {**_SMARTY, "footnotes": footnotes}
        self.markdown = Markdown(
            extensions=[*_extensions(MARKDOWN_EXTENSIONS, configs), self.extension],
            output_format="html",
        )
        quicken_inline_processors(self.markdown)

    def body(self, chapter: Chapter) -> tuple[Markup, tuple[SectionEntry, ...], frozenset[str]]:
        """Return the chapter's body HTML, its sections (``##`` and ``###``) and its ids."""
        return _body_parts(self.convert(chapter))

    def convert(self, chapter: Chapter) -> ChapterBody:
        """Convert the chapter; return its body as the cache keeps it (render_cache.py)."""
        context = ChapterContext(chapter, self.resolver)
        self.extension.context = context
        self.markdown.reset()
        converted = self.markdown.convert(chapter.markdown)
        if not self.trust_html:
            converted = sanitize_html(converted)
        ids = frozenset(context.ids)
        # Headings of the Next Stages section left the body with it; a heading the index
        # does not know (DB022) has no text check validated.
        sections = tuple(
            (anchor, str(typeset_inline(heading.text)), heading.level)
            for anchor, heading in zip(context.heading_anchors, context.headings, strict=True)
            if heading is not None and heading.level in (2, 3) and anchor in ids
        )
        links = tuple(_resolved_link(href, found) for href, found in context.resolved)
        return ChapterBody(converted, sections, tuple(context.ids), links)


def _resolved_link(href: str, found: LinkTarget) -> ResolvedLink:
    """What the HTML took from resolving ``href``: the kind, and a chapter link's anchor."""
    anchor = found.anchor if found.kind is LinkKind.CHAPTER else None
    return ResolvedLink(href, found.kind.name, anchor)


def _body_parts(body: ChapterBody) -> tuple[Markup, tuple[SectionEntry, ...], frozenset[str]]:
    """A converted body as RenderedChapter holds it: safe HTML, sections, the set of ids."""
    sections = tuple(
        SectionEntry(anchor, Markup(title), level) for anchor, title, level in body.sections
    )
    return Markup(body.html), sections, frozenset(body.ids)


# Chapters to convert that together hold this much Markdown are shared with a forked
# worker process: converting them here would take some 0.06 s on the benchmark's machine
# (the default book's 40 chapters, 720,000 characters, take 0.21 s; shared, 0.14-0.16 s),
# more than forking one worker and sending the bodies back costs.
PARALLEL_RENDER_CHARACTERS = 200_000


def _convert_all(
    chapters: Sequence[Chapter], resolver: LinkResolver, trust_html: bool, labels: Labels
) -> list[ChapterBody]:
    """Each of ``chapters`` converted, in order. Shared with a forked child process
    (workers.shared_with_children) when they are long enough (``PARALLEL_RENDER_CHARACTERS``)
    and this process may fork (it runs no other thread, and has a second CPU); converted
    here one after another otherwise. The bodies are the same either way: each process
    converts with a ChapterRenderer of the same settings, which starts every chapter
    afresh."""
    if not chapters:
        return []
    renderer = ChapterRenderer(resolver, trust_html=trust_html, labels=labels)
    total = sum(len(chapter.markdown) for chapter in chapters)
    if not (
        total >= PARALLEL_RENDER_CHARACTERS
        and len(chapters) > 1
        and usable_cpus() > 1
        and may_fork()
    ):
        return [renderer.convert(chapter) for chapter in chapters]
    # Each process its own renderer: the child makes one from the settings it inherited.
    renderers = {os.getpid(): renderer}

    def convert(index: int) -> ChapterBody:
        here = renderers.get(os.getpid())
        if here is None:
            here = renderers[os.getpid()] = ChapterRenderer(
                resolver, trust_html=trust_html, labels=labels
            )
        return here.convert(chapters[index])

    return shared_with_children(len(chapters), convert)


def early_book(book: Book) -> RenderedBook:
    """The book's settings and file-name slug, before any chapter is rendered: what work
    started ahead of the writers needs (the cover picture, export/cover/ebook.py)."""
    return RenderedBook(book.config, slugify(book.config.title) or "book", ())


def render_book(
    book: Book,
    graph: ChapterGraph,
    reading_order: ReadingOrder,
    *,
    trust_html: bool = False,
    cache: Path | None = None,
) -> RenderedBook:
    """Render every chapter of a checked book, in reading order.

    Call only for a book whose check found no errors; dangling links (warnings) render as
    plain text. Unless ``trust_html``, each chapter's HTML is sanitised (see sanitize.py).
    With ``cache`` (a folder), chapter bodies converted by an earlier build are taken from
    it when nothing that shapes them changed, and this build's are kept there
    (render_cache.py); the result is the same either way. Raises nothing for manuscript
    content; a cache that cannot be read or written only costs time.
    """
    by_slug: dict[str, Chapter] = {}
    for chapter in book.chapters:
        by_slug.setdefault(chapter.slug, chapter)
    order = reading_order.slugs
    position = {slug: index for index, slug in enumerate(order)}
    links = {
        slug: ChapterLink(slug, by_slug[slug].anchor(), typeset_inline(by_slug[slug].title))
        for slug in order
    }
    words = book_labels(book.config.language, book.config.labels, book.config.next_stages_heading)
    labels = reading_order.labels(words)
    resolver = LinkResolver(book.chapters)
    try:
        code = code_digest() if cache is not None else ""
    except OSError:  # the renderer's own source unreadable: nothing safe to key on
        cache, code = None, ""
    kept = ChapterCache(cache / CHAPTER_CACHE if cache is not None else None)
    settings = (f"trust_html={trust_html}", words.backlink_title())
    keys = {slug: chapter_key(by_slug[slug], settings, code) for slug in order}
    bodies: dict[str, ChapterBody] = {}
    for slug in order:

        def resolve(href: str, chapter: Chapter = by_slug[slug]) -> ResolvedLink:
            return _resolved_link(href, resolver.resolve(chapter, href))

        found = kept.get(keys[slug], resolve)
        if found is not None:
            bodies[slug] = found
    missing = [by_slug[slug] for slug in order if slug not in bodies]
    for chapter, converted in zip(
        missing, _convert_all(missing, resolver, trust_html, words), strict=True
    ):
        bodies[chapter.slug] = converted
        kept.put(keys[chapter.slug], converted)
    rendered: list[RenderedChapter] = []
    for slug in order:
        chapter = by_slug[slug]
        body, sections, ids = _body_parts(bodies[slug])
        next_stages = tuple(
            NextStageEntry(
                links[edge.target], typeset_inline(edge.blurb), chapter.anchor(f"_next-{n}")
            )
            for n, edge in enumerate(graph.next_stages.get(slug, ()), start=1)
        )
        reached_from = tuple(
            links[source] for source in sorted(graph.reached_from(slug), key=position.__getitem__)
        )
        rendered.append(
            RenderedChapter(
                slug=slug,
                anchor=chapter.anchor(),
                label=labels[slug][0],
                number=labels[slug][1],
                title=typeset_inline(chapter.title),
                subtitle=typeset_inline(chapter.subtitle) if chapter.subtitle else None,
                title_text=chapter.title,
                body=body,
                sections=sections,
                next_stages=next_stages,
                reached_from=reached_from,
                source_path=chapter.source_path.as_posix(),
                source_line=chapter.body_line,
                ids=ids,
            )
        )
    kept.prune()
    titles = {slug: link.title.striptags() for slug, link in links.items()}
    book_map = build_map(book, graph, reading_order, titles) if book.config.map else None
    return RenderedBook(book.config, early_book(book).slug, tuple(rendered), book_map, words)
