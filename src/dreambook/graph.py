"""The chapter graph and the reading order derived from it. Pure functions, no I/O.

Nodes are chapters (by slug). Next Stages items are the graph's edges, kept in the
author's priority order; inline links to other chapters are kept too, as a second
kind of edge (cross-references), but only Next Stages decide the reading order.

The reading order is the depth-first pre-order walk from the start chapter that
follows each chapter's Next Stages in listed order and never visits a chapter twice:
the book reads as if the reader always took the first next stage not yet read.
Chapters the walk never reaches follow in file order (each with a warning), then the
chapters that book.toml places in the appendix, in the order it lists them.
"""

from __future__ import annotations

import difflib
import enum
import functools
import posixpath
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from dreambook.diagnostics import Diagnostic, diagnostic
from dreambook.labels import ENGLISH, Labels
from dreambook.manuscript import Book, Chapter, NextStageItem
from dreambook.slugs import CLAUSE_MARK, name_key, split_after_words, strip_blurb_lead, title_key


@dataclass(frozen=True)
class NextStage:
    """A resolved Next Stages edge: read ``target`` after ``source``, because ``blurb``."""

    source: str
    target: str
    blurb: str
    line: int


@dataclass(frozen=True)
class CrossReference:
    """A resolved inline link from one chapter to a chapter or one of its sections."""

    source: str
    target: str
    section_id: str | None
    text: str
    line: int


@dataclass(frozen=True)
class ChapterGraph:
    """Chapters (slugs, in file order) and the edges between them."""

    chapters: tuple[str, ...]
    next_stages: Mapping[str, tuple[NextStage, ...]]
    cross_references: Mapping[str, tuple[CrossReference, ...]]

    def successors(self, slug: str) -> tuple[str, ...]:
        """Return the chapters that ``slug``'s Next Stages lead to, in the author's order."""
        return tuple(edge.target for edge in self.next_stages.get(slug, ()))

    def reached_from(self, slug: str) -> tuple[str, ...]:
        """Return the chapters whose Next Stages lead to ``slug``, in file order."""
        return tuple(source for source in self.chapters if slug in self.successors(source))


class Placement(enum.Enum):
    """Why a chapter sits where it does in the reading order."""

    START = "start"
    NEXT_STAGE = "next stage"
    UNREACHABLE = "unreachable"
    APPENDIX = "appendix"


@dataclass(frozen=True)
class OrderEntry:
    """One chapter's place in the reading order; ``via`` is the chapter whose Next Stages led here."""

    slug: str
    placement: Placement
    via: str | None = None


@dataclass(frozen=True)
class ReadingOrder:
    """The chapters in the order the book presents them."""

    entries: tuple[OrderEntry, ...]

    @property
    def slugs(self) -> tuple[str, ...]:
        """The chapter slugs in reading order."""
        return tuple(entry.slug for entry in self.entries)

    def labels(self, words: Labels = ENGLISH) -> dict[str, tuple[str, str]]:
        """Each chapter's (label, number): ("Chapter 1", "1"), ..., and for appendices
        ("Appendix", "A") when there is one, ("Appendix B", "B") when there are several,
        in the language of ``words`` ("Kapitel 1", "Anhang B").

        One source for every place that names a chapter by number: the chapter openings,
        the contents and the map of the book.
        """
        appendix = [e.slug for e in self.entries if e.placement is Placement.APPENDIX]
        labels: dict[str, tuple[str, str]] = {}
        number = 0
        for entry in self.entries:
            if entry.placement is Placement.APPENDIX:
                letter = chr(ord("A") + appendix.index(entry.slug) % 26)
                label = words.appendix_label(letter, several=len(appendix) > 1)
                labels[entry.slug] = (label, letter)
            else:
                number += 1
                labels[entry.slug] = (words.chapter_label(number), str(number))
        return labels


# --- resolving links ------------------------------------------------------------------------------


class _TitleIndex:
    """Chapter names (title, and title with subtitle) in one matching form, longest first."""

    def __init__(self, chapters: Sequence[Chapter], key: Callable[[str], str]) -> None:
        self.key = key
        self.chapters: dict[str, list[Chapter]] = {}
        for chapter in chapters:
            names = {key(chapter.title)}
            if chapter.subtitle:
                names.add(key(f"{chapter.title} \u2014 {chapter.subtitle}"))
            for name in names:
                if name:
                    self.chapters.setdefault(name, []).append(chapter)
        # Longest names first, so that "Falling: When the Ground Gives Way" beats "Falling".
        self.names = sorted(self.chapters, key=lambda name: (-len(name.split()), name))

    def match(self, text: str) -> tuple[int, list[Chapter]] | None:
        """Return (number of words matched, chapters) for the longest name ``text`` starts with."""
        item = self.key(text)
        for name in self.names:
            if item == name or item.startswith(name + " "):
                words = sum(1 for word in name.split() if word != CLAUSE_MARK)
                return words, self.chapters[name]
        return None


class LinkKind(enum.Enum):
    """What an href in a chapter turns out to point at."""

    EXTERNAL = "external"  # a web address or another scheme: left alone
    OTHER_FILE = "other file"  # a relative link to a file that is not a chapter (a PDF, an image)
    CHAPTER = "chapter"  # a chapter of the book, or a section of one
    MISSING_CHAPTER = "missing chapter"  # a .md path that is no chapter of the book
    MISSING_SECTION = "missing section"  # a chapter that has no heading with that id
    EMPTY = "empty"  # no href at all


@dataclass(frozen=True)
class LinkTarget:
    """Where an href leads: its kind, and for chapter links the chapter and section."""

    kind: LinkKind
    chapter: Chapter | None = None
    section_id: str | None = None

    @property
    def anchor(self) -> str:
        """The book-wide anchor of the target; only for kind CHAPTER."""
        assert self.chapter is not None
        return self.chapter.anchor(self.section_id)


class LinkResolver:
    """Resolves hrefs and bare titles written in one chapter to chapters of the book.

    The graph stage uses it to build edges and report dangling links; the render stage
    uses the same resolver, so a link is resolved the same way in every output.
    """

    def __init__(self, chapters: Sequence[Chapter]) -> None:
        self.chapters = chapters
        self.by_path = {chapter.source_path.as_posix(): chapter for chapter in chapters}
        # Each chapter's folder, as links relative to its file are joined to it.
        self._folders: dict[PurePosixPath, str] = {}

    @functools.cached_property
    def title_indexes(self) -> tuple[_TitleIndex, _TitleIndex]:
        """The chapter names for ``match_title``, made on first use: a book whose Next Stages
        items are all links never needs them, and on a big book they take a while."""
        # Names are first matched with their dashes and colons in place, so "Falling — again"
        # is the chapter "Falling" and not "Falling Again"; only when that finds nothing is
        # a name matched with its punctuation ignored altogether.
        return (_TitleIndex(self.chapters, name_key), _TitleIndex(self.chapters, title_key))

    def chapter_for_path(self, source: Chapter, path: str) -> Chapter | None:
        """Return the chapter that ``path`` (relative to ``source``'s file) names, if any."""
        folder = self._folders.get(source.source_path)
        if folder is None:
            folder = self._folders[source.source_path] = source.source_path.parent.as_posix()
        joined = posixpath.normpath(posixpath.join(folder, path))
        return None if joined.startswith("../") else self.by_path.get(joined)

    def resolve(self, source: Chapter, href: str) -> LinkTarget:
        """Return where ``href``, written in ``source``, leads. Raises nothing."""
        if not href.strip():
            return LinkTarget(LinkKind.EMPTY)
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            return LinkTarget(LinkKind.EXTERNAL)
        fragment = parts.fragment or None
        if parts.path:
            if not _names_markdown(parts.path):
                return LinkTarget(LinkKind.OTHER_FILE)
            target = self.chapter_for_path(source, parts.path)
            if target is None:
                return LinkTarget(LinkKind.MISSING_CHAPTER)
        elif fragment is not None:
            target = source
        else:
            return LinkTarget(LinkKind.EMPTY)
        if fragment is not None and fragment not in target.section_ids():
            return LinkTarget(LinkKind.MISSING_SECTION, target, fragment)
        return LinkTarget(LinkKind.CHAPTER, target, fragment)

    def match_title(self, text: str) -> tuple[int, list[Chapter]] | None:
        """Return (words matched, chapters) for the longest chapter name ``text`` starts with."""
        for index in self.title_indexes:
            found = index.match(text)
            if found:
                return found
        return None


# Memoised: a book of 2,000 chapters resolves some 6,000 links to 2,000 paths, and making a
# PurePosixPath costs more than the rest of resolving a link.
@functools.lru_cache(maxsize=4096)
def _names_markdown(path: str) -> bool:
    """True when the link path ``path`` names a Markdown file (suffix ``.md``, any case)."""
    return PurePosixPath(path).suffix.lower() == ".md"


def _section_hint(target: Chapter, fragment: str) -> str:
    close = difflib.get_close_matches(fragment, sorted(target.section_ids()), n=1)
    if close:
        return f"did you mean '#{close[0]}'? Section ids are slugs of the heading text"
    return f"section ids of {target.source_path} are slugs of its headings, e.g. '#quick-answer'"


def _dangling_link(
    source: Chapter, text: str, href: str, line: int, found: LinkTarget
) -> Diagnostic:
    """The DB031 diagnostic for a link whose target is MISSING_CHAPTER or MISSING_SECTION."""
    if found.kind is LinkKind.MISSING_SECTION and found.chapter is not None:
        return diagnostic(
            "DB031",
            f"the link [{text}]({href}) names the section '#{found.section_id}', "
            f"which {found.chapter.source_path} does not have",
            source.path,
            line,
            _section_hint(found.chapter, found.section_id or ""),
        )
    return diagnostic(
        "DB031",
        f"the link [{text}]({href}) points to {urlsplit(href).path!r}, "
        "which is not a chapter of this book",
        source.path,
        line,
        "link paths are relative to the linking file; check the file name",
    )


def _resolve_cross_references(
    chapter: Chapter, resolver: LinkResolver
) -> tuple[list[CrossReference], list[Diagnostic]]:
    references: list[CrossReference] = []
    diagnostics: list[Diagnostic] = []
    for link in chapter.links:
        found = resolver.resolve(chapter, link.href)
        if found.kind in {LinkKind.MISSING_CHAPTER, LinkKind.MISSING_SECTION}:
            diagnostics.append(_dangling_link(chapter, link.text, link.href, link.line, found))
        elif found.kind is LinkKind.CHAPTER and found.chapter is not None:
            references.append(
                CrossReference(
                    chapter.slug, found.chapter.slug, found.section_id, link.text, link.line
                )
            )
    return references, diagnostics


def _resolve_item(
    chapter: Chapter, item: NextStageItem, resolver: LinkResolver
) -> tuple[NextStage | None, list[Diagnostic]]:
    if item.href is not None:
        found = resolver.resolve(chapter, item.href)
        if found.chapter is None or found.kind not in {LinkKind.CHAPTER, LinkKind.MISSING_SECTION}:
            return None, [
                diagnostic(
                    "DB030",
                    f"the Next Stages item [{item.link_text}]({item.href}) does not lead to a "
                    "chapter of this book",
                    chapter.path,
                    item.line,
                    "link to a chapter file relative to this one, e.g. '../part/chapter.md'",
                )
            ]
        edge = NextStage(chapter.slug, found.chapter.slug, item.after_link, item.line)
        if found.kind is LinkKind.MISSING_SECTION:
            link_text = item.link_text or ""
            return edge, [_dangling_link(chapter, link_text, item.href, item.line, found)]
        return edge, []

    match = resolver.match_title(item.text)
    if match is None:
        return None, [
            diagnostic(
                "DB030",
                f"the Next Stages item {item.text!r} starts with no chapter title of this book",
                chapter.path,
                item.line,
                "start the item with a chapter's exact title, or write it as a link "
                "'[Title](file.md)'",
            )
        ]
    word_count, candidates = match
    if len(candidates) > 1:
        files = ", ".join(str(c.source_path) for c in candidates)
        return None, [
            diagnostic(
                "DB032",
                f"the Next Stages item {item.text!r} matches the title of several chapters: {files}",
                chapter.path,
                item.line,
                "write the item as a link '[Title](file.md)' to say which chapter you mean",
            )
        ]
    _, rest = split_after_words(item.text, word_count)
    blurb = strip_blurb_lead(rest)
    return NextStage(chapter.slug, candidates[0].slug, blurb, item.line), []


def _resolve_next_stages(
    chapter: Chapter, resolver: LinkResolver
) -> tuple[list[NextStage], list[Diagnostic]]:
    edges: list[NextStage] = []
    diagnostics: list[Diagnostic] = []
    for item in chapter.next_stages:
        edge, found = _resolve_item(chapter, item, resolver)
        diagnostics.extend(found)
        if edge is None:
            continue
        if edge.target == chapter.slug:
            diagnostics.append(
                diagnostic(
                    "DB033",
                    "this Next Stages item leads back to its own chapter",
                    chapter.path,
                    item.line,
                    "point it at another chapter, or remove it",
                )
            )
            continue
        earlier = next((e for e in edges if e.target == edge.target), None)
        if earlier is not None:
            diagnostics.append(
                diagnostic(
                    "DB034",
                    f"this Next Stages item names {edge.target!r} again "
                    f"(already on line {earlier.line})",
                    chapter.path,
                    item.line,
                    "remove one of the two items",
                )
            )
            continue
        edges.append(edge)
    return edges, diagnostics


def build_graph(book: Book) -> tuple[ChapterGraph, list[Diagnostic]]:
    """Resolve every Next Stages item and cross-reference of ``book`` into a ChapterGraph.

    Returns the graph and the diagnostics for links that lead nowhere (DB030, DB031),
    ambiguous bare titles (DB032), self-links (DB033) and repeated items (DB034).
    Links that cannot be resolved are left out of the graph. Raises nothing.
    """
    resolver = LinkResolver(book.chapters)
    next_stages: dict[str, tuple[NextStage, ...]] = {}
    cross_references: dict[str, tuple[CrossReference, ...]] = {}
    diagnostics: list[Diagnostic] = []
    for chapter in book.chapters:
        if chapter.slug in next_stages:  # a duplicate slug, reported by the loader
            continue
        edges, found = _resolve_next_stages(chapter, resolver)
        references, more = _resolve_cross_references(chapter, resolver)
        next_stages[chapter.slug] = tuple(edges)
        cross_references[chapter.slug] = tuple(references)
        diagnostics.extend(found + more)
    graph = ChapterGraph(tuple(next_stages), next_stages, cross_references)
    return graph, diagnostics


def duplicate_titles(book: Book, unread: Iterable[str] = ()) -> list[Diagnostic]:
    """DB023 for every chapter whose title an earlier chapter (in file order) already has.

    Titles are compared as bare-title Next Stages items are matched (slugs.title_key: case,
    punctuation and dash style do not count), so two titles reported here are two that a
    reader of the contents, or a bare-title item, cannot tell apart. Chapters in ``unread``
    (slugs of chapters whose title could not be read, and which are titled after their file
    name) are left out. Raises nothing.
    """
    skipped = set(unread)
    first: dict[str, Chapter] = {}
    diagnostics = []
    for chapter in book.chapters:
        key = title_key(chapter.title)
        if chapter.slug in skipped or not key:
            continue
        earlier = first.setdefault(key, chapter)
        if earlier is chapter:
            continue
        diagnostics.append(
            diagnostic(
                "DB023",
                f"the title {chapter.title!r} is already the title of {earlier.source_path}",
                chapter.path,
                chapter.title_line,
                "give each chapter a title of its own; the contents and bare-title Next "
                "Stages items cannot tell these two apart",
            )
        )
    return diagnostics


# --- the reading order ----------------------------------------------------------------------------


def reachable(successors: Mapping[str, Sequence[str]], start: str) -> set[str]:
    """Return every chapter a chain of ``successors`` leads to from ``start`` (and ``start``)."""
    seen = {start}
    stack = [start]
    while stack:
        for successor in successors.get(stack.pop(), ()):
            if successor not in seen:
                seen.add(successor)
                stack.append(successor)
    return seen


def _walk(graph: ChapterGraph, start: str, skip: set[str]) -> Iterator[OrderEntry]:
    """Yield the depth-first pre-order from ``start``, never entering chapters in ``skip``.

    Iterative, so a chain of thousands of chapters cannot exhaust Python's stack; every
    chapter is entered at most once, so cycles end.
    """
    visited = set(skip) | {start}
    yield OrderEntry(start, Placement.START)
    stack: list[tuple[str, Iterator[str]]] = [(start, iter(graph.successors(start)))]
    while stack:
        slug, successors = stack[-1]
        for successor in successors:
            if successor not in visited and successor in graph.next_stages:
                visited.add(successor)
                yield OrderEntry(successor, Placement.NEXT_STAGE, slug)
                stack.append((successor, iter(graph.successors(successor))))
                break
        else:
            stack.pop()


def derive_reading_order(
    graph: ChapterGraph, start: str, appendix: Iterable[str] = ()
) -> ReadingOrder:
    """Return the reading order of ``graph`` walked from ``start``.

    ``appendix`` chapters go last in the order given (unknown slugs and repeats are
    ignored). Every chapter of the graph appears exactly once. Raises KeyError when
    ``start`` is not a chapter of the graph.
    """
    if start not in graph.next_stages:
        raise KeyError(start)
    appendix_slugs = list(
        dict.fromkeys(s for s in appendix if s in graph.next_stages and s != start)
    )
    entries = list(_walk(graph, start, set(appendix_slugs)))
    placed = {entry.slug for entry in entries} | set(appendix_slugs)
    entries += [OrderEntry(s, Placement.UNREACHABLE) for s in graph.chapters if s not in placed]
    entries += [OrderEntry(s, Placement.APPENDIX) for s in appendix_slugs]
    return ReadingOrder(tuple(entries))


def plan_reading_order(book: Book, graph: ChapterGraph) -> tuple[ReadingOrder, list[Diagnostic]]:
    """Return the book's reading order, checking book.toml's ``start`` and ``appendix`` first.

    Diagnostics: DB005 when ``start`` is not set (the first chapter file starts the walk),
    DB006 when it names no chapter, DB007 for an unknown appendix slug, DB008 for an appendix
    that lists the start, and DB040 for each chapter the walk cannot reach. Returns an empty
    order for a book with no chapters.
    """
    if not graph.chapters:
        return ReadingOrder(()), []
    by_slug = {chapter.slug: chapter for chapter in book.chapters}
    known = ", ".join(sorted(by_slug)[:5]) + (", ..." if len(by_slug) > 5 else "")
    start, diagnostics = _choose_start(book, graph, by_slug, known)
    diagnostics += _check_appendix(book, start, by_slug, known)
    order = derive_reading_order(graph, start, book.config.appendix)
    diagnostics += [
        _unreachable(by_slug[entry.slug], start)
        for entry in order.entries
        if entry.placement is Placement.UNREACHABLE
    ]
    return order, diagnostics


def _choose_start(
    book: Book, graph: ChapterGraph, by_slug: Mapping[str, Chapter], known: str
) -> tuple[str, list[Diagnostic]]:
    """The chapter the walk starts from: ``[book] start``, else the first chapter file
    (unless the appendix claims it), with DB005 or DB006 saying so."""
    config = book.config
    start = config.start
    if start is None:
        start = next((s for s in graph.chapters if s not in config.appendix), graph.chapters[0])
        return start, [
            diagnostic(
                "DB005",
                f"[book] start is not set; starting with the first chapter file, {start!r}",
                book.book_toml,
                config.line_of("book"),
                'add start = "<slug of the first chapter>" under [book]',
            )
        ]
    if start not in by_slug:
        return graph.chapters[0], [
            diagnostic(
                "DB006",
                f"[book] start names the chapter {start!r}, but no chapter has that slug",
                book.book_toml,
                config.line_of("book.start"),
                f"a slug is the file name without '.md' (or the front matter 'slug:'); "
                f"chapters: {known}",
            )
        ]
    return start, []


def _check_appendix(
    book: Book, start: str, by_slug: Mapping[str, Chapter], known: str
) -> list[Diagnostic]:
    """DB008 for an appendix entry that is also the start, DB007 for one no chapter has."""
    config = book.config
    diagnostics = []
    for slug in config.appendix:
        if slug == start and config.start is not None:
            diagnostics.append(
                diagnostic(
                    "DB008",
                    f"[book] appendix lists {slug!r}, which is also the start chapter; "
                    "it stays first",
                    book.book_toml,
                    config.line_of("book.appendix"),
                    "remove it from appendix, or choose another start",
                )
            )
        elif slug not in by_slug:
            diagnostics.append(
                diagnostic(
                    "DB007",
                    f"[book] appendix names {slug!r}, but no chapter has that slug",
                    book.book_toml,
                    config.line_of("book.appendix"),
                    f"chapters: {known}",
                )
            )
    return diagnostics


def _unreachable(chapter: Chapter, start: str) -> Diagnostic:
    """DB040 for a chapter no chain of Next Stages reaches from ``start``."""
    return diagnostic(
        "DB040",
        f"no chain of Next Stages leads from {start!r} to this chapter; "
        "it is placed after the chapters that can be reached",
        chapter.path,
        1,
        "list it in another chapter's Next Stages, or in [book] appendix "
        "to place it last on purpose",
    )


# --- the order lock and explanations --------------------------------------------------------------


def check_order_lock(book: Book, order: ReadingOrder) -> list[Diagnostic]:
    """Compare the derived reading order with ``reading-order.txt``, when the book has one.

    Returns one DB045 warning at the first place where they differ, so a print edition
    never reorders silently after an edit to a link. Raises nothing.
    """
    lock = book.order_lock
    if lock is None:
        return []
    derived = order.slugs
    for position, (slug, line) in enumerate(lock.entries):
        now = derived[position] if position < len(derived) else None
        if now != slug:
            what = f"now {now!r} comes there" if now else "the book now ends before it"
            return [
                diagnostic(
                    "DB045",
                    f"the reading order changed at position {position + 1}: the lock says "
                    f"{slug!r}, but {what}",
                    lock.path,
                    line,
                    "if the new order is right, save it with 'dreambook order --write'; "
                    "'dreambook order --explain SLUG' says why a chapter sits where it does",
                )
            ]
    if len(derived) > len(lock.entries):
        extra = derived[len(lock.entries)]
        return [
            diagnostic(
                "DB045",
                f"the reading order changed: {extra!r} now follows the last locked chapter",
                lock.path,
                lock.entries[-1][1] if lock.entries else 1,
                "if the new order is right, save it with 'dreambook order --write'",
            )
        ]
    return []


def explain_position(graph: ChapterGraph, order: ReadingOrder, slug: str) -> list[str]:
    """Return sentences saying why ``slug`` sits where it does in ``order``.

    The chain of Next Stages from the start chapter to ``slug`` is walked back, and for
    each step the item's rank is given, since an earlier item is always followed first.
    Raises KeyError for a slug that is not in the order.
    """
    entries = {entry.slug: entry for entry in order.entries}
    position = {entry.slug: index + 1 for index, entry in enumerate(order.entries)}
    entry = entries[slug]
    lines = [f"{slug} is chapter {position[slug]} of {len(order.entries)} in the reading order."]
    if entry.placement is Placement.START:
        lines.append("It is the start chapter named in book.toml ([book] start).")
    elif entry.placement is Placement.APPENDIX:
        lines.append("It is listed in [book] appendix, so it is placed at the end on purpose.")
    elif entry.placement is Placement.UNREACHABLE:
        sources = [s for s in graph.chapters if slug in graph.successors(s)]
        if sources:
            lines.append(
                "No chain of Next Stages from the start reaches it: only "
                + ", ".join(sources)
                + " lead to it, and they are not reached either (or are appendix chapters)."
            )
        else:
            lines.append("No chapter lists it in its Next Stages, so the walk never reaches it.")
        lines.append("Unreachable chapters follow the reached ones in file order.")
    current = entry
    while current.placement is Placement.NEXT_STAGE and current.via is not None:
        via = current.via
        rank = graph.successors(via).index(current.slug) + 1
        earlier = graph.successors(via)[: rank - 1]
        reason = f"{current.slug} is Next Stages item {rank} of {via} (chapter {position[via]})"
        if earlier:
            reason += "; the items before it (" + ", ".join(earlier) + ") were already placed"
        lines.append(reason + ".")
        current = entries[via]
    if current is not entry and current.placement is Placement.START:
        lines.append(f"{current.slug} is the start chapter.")
    return lines
