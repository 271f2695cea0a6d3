"""Manuscript folder -> Book: book.toml, chapter files, front matter, and a line-numbered index.

Every chapter is read once here. Besides its Markdown text, the loader records where
each heading, link, image and Next Stages item stands in the file, because the
Markdown renderer keeps no line numbers and every later diagnostic must name one.
The index comes from markdown-it-py's token line maps (a CommonMark parser that
records the source lines of each block), not from regular expressions over the text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from dreambook.config import BookConfig, load_book_toml
from dreambook.diagnostics import Diagnostic, diagnostic, line_of_byte
from dreambook.fsutil import ConfinedFolders
from dreambook.slugs import SLUG_PATTERN, slugify, strip_blurb_lead, title_key

CHAPTER_SUFFIX = ".md"
FRONT_MATTER_KEYS = frozenset({"title", "subtitle", "slug", "ending"})


@dataclass(frozen=True)
class Heading:
    """A heading of a chapter: level 2 headings are its sections."""

    level: int
    text: str
    id: str
    line: int


@dataclass(frozen=True)
class Link:
    """An inline link as written in the chapter (``href`` with percent-escapes decoded)."""

    text: str
    href: str
    line: int


@dataclass(frozen=True)
class Image:
    """An image reference as written in the chapter."""

    src: str
    alt: str
    line: int


@dataclass(frozen=True)
class RawMarkup:
    """Markup the author wrote by hand: raw HTML (``html``) or an attribute list (``attributes``).

    Recorded so that ``check`` can say, with the line, what the HTML sanitiser will remove.
    """

    kind: str
    text: str
    line: int


@dataclass(frozen=True)
class NextStageItem:
    """One item of a Next Stages list, not yet matched to a chapter.

    ``href``/``link_text`` are set when the item is written as a link; ``after_link`` is
    the text that follows the link (or, for a bare-title item, the whole item text).
    """

    text: str
    href: str | None
    link_text: str | None
    after_link: str
    line: int


@dataclass(frozen=True)
class Chapter:
    """One chapter file, read and indexed."""

    path: Path
    source_path: PurePosixPath
    slug: str
    slug_line: int
    title: str
    subtitle: str | None
    ending: bool
    markdown: str
    body_line: int
    headings: tuple[Heading, ...]
    links: tuple[Link, ...]
    images: tuple[Image, ...]
    next_stages_line: int | None
    next_stages: tuple[NextStageItem, ...]
    raw_markup: tuple[RawMarkup, ...] = ()

    @property
    def sections(self) -> tuple[Heading, ...]:
        """The chapter's ``##`` headings, in order."""
        return tuple(h for h in self.headings if h.level == 2)

    def section_ids(self) -> frozenset[str]:
        """Every heading id of the chapter, the targets a ``#fragment`` may name."""
        return frozenset(h.id for h in self.headings)

    def anchor(self, section_id: str | None = None) -> str:
        """Return the book-wide anchor of the chapter, or of one of its sections.

        Chapter slugs never contain ``--``, so ``slug--section`` is unique in the book as
        long as slugs are unique and section ids are unique within each chapter.
        """
        return self.slug if section_id is None else f"{self.slug}--{section_id}"


@dataclass(frozen=True)
class OrderLock:
    """A saved reading order (``reading-order.txt``): slugs with the line each stands on."""

    path: Path
    entries: tuple[tuple[str, int], ...]

    @property
    def slugs(self) -> tuple[str, ...]:
        """The locked slugs, in order."""
        return tuple(slug for slug, _ in self.entries)


ORDER_LOCK = "reading-order.txt"


def read_order_lock(root: Path) -> OrderLock | None:
    """Read ``reading-order.txt`` from the manuscript folder, if there is one.

    One slug a line; blank lines and lines starting with ``#`` are ignored. A file that
    is not UTF-8 is read with replacement characters (its slugs then simply differ).
    """
    path = root / ORDER_LOCK
    if not path.is_file():
        return None
    text = path.read_bytes().decode("utf-8", errors="replace")
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        slug = line.strip()
        if slug and not slug.startswith("#"):
            entries.append((slug, number))
    return OrderLock(path, tuple(entries))


@dataclass(frozen=True)
class Book:
    """The whole manuscript: its folder, its book.toml and its chapters in file order."""

    root: Path
    config: BookConfig
    chapters: tuple[Chapter, ...]
    order_lock: OrderLock | None = None

    @property
    def book_toml(self) -> Path:
        """Path of the manuscript's book.toml."""
        return self.root / "book.toml"


# --- reading one chapter file ---------------------------------------------------------------------

_FENCE_RE = re.compile(r"^(---|\.\.\.)\s*$")
_ATTR_LIST_RE = re.compile(r"\s*\{:?\s*([^{}]*)\}\s*$")
_ATTR_ID_RE = re.compile(r"(?:^|\s)#([A-Za-z][\w\-:.]*)")

# Lists and quotes nested deeper than this are refused (DB085): no book needs them, and the
# Markdown renderer and the PDF layout both recurse once per level.
MAX_NESTING = 32


class _IndexParser(MarkdownIt):
    """markdown-it that keeps every link and image as written, whatever its scheme.

    markdown-it would drop javascript:, file: and data: targets, and check could then not
    report them; the index only records them, it never renders them.
    """

    def validateLink(self, url: str) -> bool:
        return True


# markdown-it stops nesting at maxNesting levels (a list and its item count two); beyond the
# refusal depth is enough for the index to see the depth and report it.
_markdown_parser = _IndexParser("commonmark", {"maxNesting": 4 * MAX_NESTING}).enable("table")


def _decode(raw: bytes, path: Path) -> tuple[str | None, list[Diagnostic]]:
    """Return the text of a chapter file with a BOM removed and line endings made LF."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = line_of_byte(raw, error.start)
        return None, [
            diagnostic(
                "DB010",
                f"the file is not valid UTF-8: byte 0x{raw[error.start]:02x} at byte offset "
                f"{error.start} cannot be decoded",
                path,
                line,
                "re-save the file as UTF-8 in your editor",
            )
        ]
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n"), []


@dataclass(frozen=True)
class _FrontMatter:
    title: str | None
    subtitle: str | None
    slug: str | None
    slug_line: int
    ending: bool


def _split_front_matter(text: str, path: Path) -> tuple[str | None, str, int, list[Diagnostic]]:
    """Return (front matter YAML or None, body, body's first file line, diagnostics)."""
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return (
            None,
            text,
            1,
            [
                diagnostic(
                    "DB011",
                    "the chapter has no front matter",
                    path,
                    1,
                    "start the file with a '---' line, a 'title: ...' line and another '---' line",
                )
            ],
        )
    for index in range(1, len(lines)):
        if _FENCE_RE.match(lines[index]):
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), index + 2, []
    return (
        None,
        "",
        len(lines) + 1,
        [
            diagnostic(
                "DB012",
                "the front matter opened on line 1 is never closed",
                path,
                1,
                "end the front matter with a line holding only '---'",
            )
        ],
    )


def _scalar_text(node: yaml.Node) -> str | None:
    """Return a scalar node's text as written (so ``title: 1984`` stays the text "1984")."""
    if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
        return str(node.value)
    return None


def _read_front_matter(source: str, path: Path) -> tuple[_FrontMatter, list[Diagnostic]]:
    """Parse the YAML front matter (safe loader only) and check every key's type."""
    empty = _FrontMatter(None, None, None, 1, False)
    # Front matter starts on file line 2 (after the opening '---'); YAML marks are 0-based.
    first_line = 2
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or str(error)
        # A scanner that runs off the end (an unclosed quote or bracket) marks the end of
        # the text as the problem; the context mark then says where the quote opened.
        problem_mark = getattr(error, "problem_mark", None)
        context_mark = getattr(error, "context_mark", None)
        ran_off_end = "end of stream" in problem
        mark = (context_mark or problem_mark) if ran_off_end else (problem_mark or context_mark)
        line = first_line + mark.line if mark is not None else 1
        return empty, [
            diagnostic(
                "DB012",
                f"the front matter is not valid YAML: {problem}",
                path,
                line,
                "quote values that contain ': ' or start with a special character",
            )
        ]
    if node is None:
        mapping: list[tuple[yaml.Node, yaml.Node]] = []
    elif isinstance(node, yaml.MappingNode):
        mapping = node.value
    else:
        return empty, [
            diagnostic(
                "DB013",
                "the front matter is not a mapping of 'key: value' lines",
                path,
                first_line + node.start_mark.line,
                "write it as lines such as 'title: My Chapter'",
            )
        ]

    diagnostics: list[Diagnostic] = []
    values: dict[str, str | None] = {}
    lines: dict[str, int] = {}
    ending = False
    for key_node, value_node in mapping:
        key = _scalar_text(key_node) or ""
        line = first_line + key_node.start_mark.line
        lines[key] = line
        if key not in FRONT_MATTER_KEYS:
            diagnostics.append(
                diagnostic(
                    "DB016",
                    f"unknown front-matter key {key!r}",
                    path,
                    line,
                    f"dreambook reads only: {', '.join(sorted(FRONT_MATTER_KEYS))}",
                )
            )
            continue
        if key == "ending":
            if value_node.tag != "tag:yaml.org,2002:bool":
                diagnostics.append(
                    diagnostic("DB015", "'ending' must be true or false", path, line)
                )
            else:
                ending = str(value_node.value).lower() in {"true", "yes", "on"}
            continue
        text = _scalar_text(value_node)
        if text is None or not text.strip():
            if key != "title":
                diagnostics.append(
                    diagnostic("DB015", f"{key!r} must be a single line of text", path, line)
                )
            values[key] = None
        else:
            values[key] = " ".join(text.split())

    if not values.get("title"):
        diagnostics.append(
            diagnostic(
                "DB014",
                "the front matter has no title" if "title" not in lines else "the title is empty",
                path,
                lines.get("title", 1),
                "add a line such as 'title: Running Away From Danger' to the front matter",
            )
        )
    slug = values.get("slug")
    if slug is not None and not SLUG_PATTERN.match(slug):
        diagnostics.append(
            diagnostic(
                "DB019",
                f"the slug {slug!r} is not lower-case letters, digits and single hyphens",
                path,
                lines["slug"],
                f"use something like {slugify(slug) or 'my-chapter'!r}",
            )
        )
        slug = None
    return (
        _FrontMatter(
            values.get("title"), values.get("subtitle"), slug, lines.get("slug", 1), ending
        ),
        diagnostics,
    )


def _heading_text_and_id(raw: str) -> tuple[str, str | None]:
    """Split ``"Heading {#custom-id}"`` into its text and explicit id (attribute-list syntax)."""
    attrs = _ATTR_LIST_RE.search(raw)
    if not attrs:
        return raw.strip(), None
    explicit = _ATTR_ID_RE.search(attrs.group(1))
    return raw[: attrs.start()].strip(), explicit.group(1) if explicit else None


def _inline_text(tokens: Sequence[Token]) -> str:
    """Return the plain text of inline tokens (markup dropped, line breaks as spaces)."""
    parts: list[str] = []
    for token in tokens:
        if token.type in {"text", "code_inline"}:
            parts.append(token.content)
        elif token.type in {"softbreak", "hardbreak"}:
            parts.append(" ")
        elif token.type == "image":
            parts.append(token.content)
    return " ".join("".join(parts).split())


def _href(token: Token, name: str) -> str:
    value = token.attrs.get(name, "")
    return unquote(str(value))


@dataclass
class _Index:
    headings: list[Heading]
    links: list[Link]
    images: list[Image]
    next_stages_line: int | None
    next_stages: list[NextStageItem]
    raw_markup: list[RawMarkup] = field(default_factory=list)
    deepest: tuple[int, int] = (0, 0)  # (nesting depth, file line where it is reached)


def _line_holding(source_lines: Sequence[str], start: int, target: str) -> int:
    """Return the first line index from ``start`` whose source text holds ``target``.

    Line breaks inside a code span, an image's alt text or a link destination leave no
    break token behind, so counting break tokens alone can lag; the link's own target
    text, found in the source, says where it really stands. Returns ``start`` when the
    target is not written out (a reference-style link).
    """
    if target:
        for index in range(start, len(source_lines)):
            if target in source_lines[index] or unquote(target) in source_lines[index]:
                return index
    return start


def _link_end(children: Sequence[Token], start: int) -> int:
    """Return the index just past the ``link_close`` matching the ``link_open`` at ``start``."""
    depth, end = 1, start + 1
    while end < len(children) and depth:
        depth += {"link_open": 1, "link_close": -1}.get(children[end].type, 0)
        end += 1
    return end


def _walk_inline(inline: Token, first_line: int) -> Iterator[tuple[str, Token, int, int]]:
    """Yield (kind, token, file line, index past its end) for each link and image of an inline token."""
    children = inline.children or []
    source_lines = inline.content.split("\n")
    line = 0
    for position, child in enumerate(children):
        if child.type in {"softbreak", "hardbreak"}:
            line += 1
        elif child.type == "html_inline":
            line += child.content.count("\n")
        elif child.type == "image":
            line = _line_holding(source_lines, line, str(child.attrs.get("src", "")))
            yield "image", child, first_line + line, position + 1
        elif child.type == "link_open":
            line = _line_holding(source_lines, line, str(child.attrs.get("href", "")))
            yield "link", child, first_line + line, _link_end(children, position)


def _index_body(body: str, body_line: int, next_stages_heading: str) -> _Index:
    """Index the headings, links, images and Next Stages items of a chapter body."""
    tokens = _markdown_parser.parse(body)
    index = _Index([], [], [], None, [])
    next_stages_key = title_key(next_stages_heading)
    in_next_stages = False
    list_depth = 0
    container_depth = 0
    item_line: int | None = None
    for position, token in enumerate(tokens):
        if token.type in {"bullet_list_open", "ordered_list_open", "blockquote_open"}:
            container_depth += 1
            if container_depth > index.deepest[0]:
                index.deepest = (container_depth, body_line + (token.map[0] if token.map else 0))
        elif token.type in {"bullet_list_close", "ordered_list_close", "blockquote_close"}:
            container_depth -= 1
        if token.type == "heading_open":
            inline = tokens[position + 1]
            level = int(token.tag[1])
            raw = _inline_text(inline.children or [])
            text, explicit_id = _heading_text_and_id(raw)
            line = body_line + (token.map[0] if token.map else 0)
            index.headings.append(Heading(level, text, explicit_id or slugify(text), line))
            if level <= 2:
                in_next_stages = level == 2 and title_key(text) == next_stages_key
                if in_next_stages:
                    index.next_stages_line = line
        elif token.type in {"bullet_list_open", "ordered_list_open"}:
            list_depth += 1
        elif token.type in {"bullet_list_close", "ordered_list_close"}:
            list_depth -= 1
        elif token.type == "list_item_open" and list_depth == 1 and in_next_stages:
            item_line = body_line + (token.map[0] if token.map else 0)
        elif token.type == "list_item_close" and list_depth == 1:
            item_line = None  # an empty item has no paragraph to claim
        elif token.type == "html_block" and token.map is not None:
            line = body_line + token.map[0]
            index.raw_markup.append(RawMarkup("html", token.content, line))
            index.images.extend(_raw_images(token.content, line))
        elif token.type == "inline" and token.map is not None:
            first_line = body_line + token.map[0]
            _index_raw_inline(token, first_line, index.raw_markup, index.images)
            if item_line is not None and in_next_stages:
                index.next_stages.append(_next_stage_item(token, item_line))
                item_line = None
                continue
            children = token.children or []
            for kind, child, line, end in _walk_inline(token, first_line):
                if kind == "image":
                    alt = _inline_text(child.children or [])
                    index.images.append(Image(_href(child, "src"), alt, line))
                else:
                    text = _inline_text(children[children.index(child) + 1 : end - 1])
                    index.links.append(Link(text, _href(child, "href"), line))
    return index


_ATTRIBUTE_LIST_RE = re.compile(r"\{:?[^{}\n]*=[^{}\n]*\}")


_RAW_IMAGE_RE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.I)


def _raw_images(html: str, first_line: int) -> list[Image]:
    """Images written as raw HTML ``<img src=...>``: checked like Markdown images."""
    found = []
    for match in _RAW_IMAGE_RE.finditer(html):
        source = next(group for group in match.groups() if group is not None)
        found.append(Image(source, "", first_line + html.count("\n", 0, match.start())))
    return found


def _index_raw_inline(
    inline: Token, first_line: int, found: list[RawMarkup], images: list[Image]
) -> None:
    """Record inline raw HTML (and its images) and attribute lists, with their lines."""
    line = first_line
    for child in inline.children or []:
        if child.type in {"softbreak", "hardbreak"}:
            line += 1
        elif child.type == "html_inline":
            found.append(RawMarkup("html", child.content, line))
            images.extend(_raw_images(child.content, line))
            line += child.content.count("\n")
        elif child.type == "text":
            found.extend(
                RawMarkup("attributes", match.group(), line)
                for match in _ATTRIBUTE_LIST_RE.finditer(child.content)
            )


def _next_stage_item(inline: Token, line: int) -> NextStageItem:
    """Return the Next Stages item that an item's first paragraph describes."""
    children = inline.children or []
    text = _inline_text(children)
    for kind, child, _, end in _walk_inline(inline, line):
        if kind != "link":
            continue
        link_text = _inline_text(children[children.index(child) + 1 : end - 1])
        after = strip_blurb_lead(_inline_text(children[end:]))
        return NextStageItem(text, _href(child, "href"), link_text, after, line)
    return NextStageItem(text, None, None, text, line)


def read_chapter(
    path: Path, root: Path, next_stages_heading: str = "Next Stages"
) -> tuple[Chapter, list[Diagnostic]]:
    """Read one chapter file and return it with its diagnostics.

    A chapter whose file is broken is still returned (titled after its file name, with no
    text) so that links to it do not also turn into dangling-link diagnostics; the
    diagnostics say what is wrong. Raises OSError only when the file cannot be read at all.
    """
    source_path = PurePosixPath(path.relative_to(root).as_posix())
    stem_slug = slugify(path.stem) or "chapter"
    fallback = Chapter(
        path, source_path, stem_slug, 1, path.stem, None, False, "", 1, (), (), (), None, ()
    )
    text, diagnostics = _decode(path.read_bytes(), path)
    if text is None:
        return fallback, diagnostics
    if not text.strip():
        return fallback, [
            diagnostic(
                "DB017",
                "the chapter file is empty"
                if not text
                else "the chapter file holds only whitespace",
                path,
                1,
                "write the chapter, or rename the file to start with '_' so it is skipped",
            )
        ]
    front_source, body, body_line, diagnostics = _split_front_matter(text, path)
    if front_source is None:
        return fallback, diagnostics
    front, diagnostics = _read_front_matter(front_source, path)
    index = _index_body(body, body_line, next_stages_heading)
    depth, deep_line = index.deepest
    if depth > MAX_NESTING:
        # Refused before anything else looks at it: renderers recurse once per level.
        return fallback, [
            *diagnostics,
            diagnostic(
                "DB085",
                f"lists or block quotes are nested more than {MAX_NESTING} levels deep here",
                path,
                deep_line,
                "flatten the nesting; no printed book needs more than a few levels",
            ),
        ]
    if not body.strip():
        diagnostics.append(
            diagnostic(
                "DB018",
                "the chapter has front matter but no text",
                path,
                body_line - 1,
                "write the chapter below the front matter",
            )
        )
    seen: dict[str, Heading] = {}
    for heading in index.headings:
        earlier = seen.setdefault(heading.id, heading)
        if earlier is not heading:
            diagnostics.append(
                diagnostic(
                    "DB021",
                    f"the heading {heading.text!r} gets the section id {heading.id!r}, "
                    f"already used by the heading on line {earlier.line}",
                    path,
                    heading.line,
                    "reword one heading, or give it an id of its own: '## Heading {#other-id}'",
                )
            )
    chapter = Chapter(
        path=path,
        source_path=source_path,
        slug=front.slug or stem_slug,
        slug_line=front.slug_line,
        title=front.title or path.stem,
        subtitle=front.subtitle,
        ending=front.ending,
        markdown=body,
        body_line=body_line,
        headings=tuple(index.headings),
        links=tuple(index.links),
        images=tuple(index.images),
        raw_markup=tuple(index.raw_markup),
        next_stages_line=index.next_stages_line,
        next_stages=tuple(index.next_stages),
    )
    if chapter.next_stages_line is not None and not chapter.next_stages:
        diagnostics.append(
            diagnostic(
                "DB035",
                f"the {next_stages_heading!r} section holds no list items",
                path,
                chapter.next_stages_line,
                "list the chapters to read next as '- [Title](file.md) — why to go there'",
            )
        )
    return chapter, diagnostics


# --- the whole manuscript -------------------------------------------------------------------------


def chapter_files(root: Path) -> list[Path]:
    """Return every chapter file under ``root``, sorted by relative path.

    A file or folder whose name starts with ``_`` or ``.`` is skipped, so drafts and
    notes can live beside the chapters. Sorting makes the result independent of the
    order in which the file system lists entries.
    """
    found: list[Path] = []
    for path in root.rglob(f"*{CHAPTER_SUFFIX}"):
        parts = path.relative_to(root).parts
        if any(part.startswith(("_", ".")) for part in parts):
            continue
        if path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _duplicate_slugs(chapters: Sequence[Chapter]) -> list[Diagnostic]:
    """Report every chapter whose slug another chapter already has.

    The chapter that keeps the slug is the first (in file order) whose slug comes from its
    file name; the others are reported, at their ``slug:`` line when they set one, since
    that line is what the author would change.
    """
    groups: dict[str, list[Chapter]] = {}
    for chapter in chapters:
        groups.setdefault(chapter.slug, []).append(chapter)
    diagnostics: list[Diagnostic] = []
    for slug, group in groups.items():
        if len(group) < 2:
            continue
        keeper = next((c for c in group if c.slug_line == 1), group[0])
        for chapter in group:
            if chapter is keeper:
                continue
            diagnostics.append(
                diagnostic(
                    "DB020",
                    f"the slug {slug!r} is already used by {keeper.source_path}",
                    chapter.path,
                    chapter.slug_line,
                    "rename one file, or set a different 'slug:' in its front matter",
                )
            )
    return diagnostics


@dataclass(frozen=True)
class Limits:
    """How much manuscript a build accepts. Set by whoever runs dreambook, never by book.toml,
    so that a hostile manuscript cannot raise its own limits."""

    max_chapters: int = 5_000
    max_bytes: int = 200 * 1024 * 1024


def load_book(root: Path, limits: Limits = Limits()) -> tuple[Book, list[Diagnostic]]:
    """Read the manuscript folder ``root`` and return the Book with every diagnostic found.

    Problems in the manuscript never raise: they are returned as diagnostics, as many as
    can be found in one pass. A manuscript over ``limits`` is not read at all (DB080).
    Raises OSError only for an unreadable file or folder.
    """
    config, diagnostics = load_book_toml(root)
    chapters: list[Chapter] = []
    files = chapter_files(root)
    total = sum(path.stat().st_size for path in files)
    if len(files) > limits.max_chapters or total > limits.max_bytes:
        diagnostics.append(
            diagnostic(
                "DB080",
                f"the manuscript has {len(files)} chapter files and {total / 1_048_576:.1f} MiB; "
                f"the limits are {limits.max_chapters} files and "
                f"{limits.max_bytes / 1_048_576:.0f} MiB",
                root,
                None,
                "raise the limits with --max-chapters / --max-megabytes if this book is "
                "really that large",
            )
        )
        return Book(root, config, ()), diagnostics
    inside = ConfinedFolders([root])
    for path in files:
        if not inside.allows(path):
            diagnostics.append(
                diagnostic(
                    "DB060",
                    f"the chapter file is a symbolic link to {os.path.realpath(path)}, "
                    "outside the manuscript folder; it is not read",
                    path,
                    None,
                    "copy the file into the manuscript folder instead of linking to it",
                )
            )
            continue
        chapter, found = read_chapter(path, root, config.next_stages_heading)
        chapters.append(chapter)
        diagnostics.extend(found)
    diagnostics.extend(_duplicate_slugs(chapters))
    return Book(root, config, tuple(chapters), read_order_lock(root)), diagnostics
