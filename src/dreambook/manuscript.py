"""Manuscript folder -> Book: book.toml, chapter files, front matter, and a line-numbered index.

Every chapter is read once here. Besides its Markdown text, the loader records where
each heading, link, image and Next Stages item stands in the file, because the
Markdown renderer keeps no line numbers and every later diagnostic must name one.
The index comes from markdown-it-py's token line maps (a CommonMark parser that
records the source lines of each block), not from regular expressions over the text.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from dreambook.config import BookConfig, load_book_toml
from dreambook.diagnostics import Diagnostic, diagnostic, line_of_byte
from dreambook.fsutil import ConfinedFolders
from dreambook.misreadings import Misreading, find_misreadings
from dreambook.slugs import SLUG_PATTERN, slugify, strip_blurb_lead, title_key
from dreambook.workers import usable_cpus

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
_ATTR_LIST_RE = re.compile(r"[ \t]+\{:?[ \t]*([^{}\s][^{}]*)\}[ \t]*$")
_ATTR_OPENING_RE = re.compile(r"[ \t]\{[^}\s]")
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
_PARSER_OPTIONS = {"maxNesting": 4 * MAX_NESTING}
# Every body is parsed for its blocks only: inline parsing costs about as much again, and
# most paragraphs cannot hold anything the index records (see _may_hold_markup). The
# inlines that can are parsed one by one with the same rules (_inline_children).
#
# A block rule that needs text the body lacks can never match there, so the body is parsed
# without it: the same tokens, with fewer rules tried at every line.
_BLOCK_RULE_MARKS = (
    ("blockquote", (">",)),
    ("fence", ("```", "~~~")),
    ("html_block", ("<",)),
    ("reference", ("]:",)),  # the label's ']' and the ':' after it stand together
    ("table", ("|",)),  # the header row needs a '|'
)
# Rules whose need is a line of a certain shape: a thematic break is a line of three or more
# '*', '-' or '_' (spaces between allowed) after any blockquote marks and list markers, and a
# setext heading's underline is a line of '=' or '-' alone after any blockquote marks. Without
# such a line anywhere, neither rule can match. (A table's delimiter row, '|---|---|', is
# neither.)
_BLOCK_RULE_PATTERNS = (
    (
        "hr",
        re.compile(
            r"^[ \t>]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)*([*_-])(?:[ \t]*\1){2,}[ \t]*$",
            re.MULTILINE,
        ),
    ),
    ("lheading", re.compile(r"^[ \t>]*(?:=+|-+)[ \t]*$", re.MULTILINE)),
)


@functools.cache
def _block_parser(dropped_rules: frozenset[str]) -> MarkdownIt:
    parser = _IndexParser("commonmark", _PARSER_OPTIONS).enable("table")
    return parser.disable(["inline", "text_join", *sorted(dropped_rules)])


def _parse_blocks(body: str, env: dict[str, Any]) -> list[Token]:
    """Return the block tokens of ``body``; inline tokens are left without children."""
    dropped = frozenset(
        [rule for rule, marks in _BLOCK_RULE_MARKS if not any(mark in body for mark in marks)]
        + [rule for rule, pattern in _BLOCK_RULE_PATTERNS if pattern.search(body) is None]
    )
    return _block_parser(dropped).parse(body, env)


_inline_parser = _IndexParser("commonmark", _PARSER_OPTIONS).enable("table")


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
    if isinstance(node, yaml.ScalarNode) and node.tag != _YAML_NULL:
        return str(node.value)
    return None


_YAML_NULL = "tag:yaml.org,2002:null"
_YAML_BOOL = "tag:yaml.org,2002:bool"


@dataclass(frozen=True)
class _FrontMatterEntry:
    """One ``key: value`` of the front matter: the value's text (None when it is null or not
    a scalar) and whether YAML reads it as a boolean."""

    key: str
    line: int
    text: str | None
    is_bool: bool


# Most front matter is a few 'key: value' lines, and yaml.compose spends some 60 µs even on
# one of them (a tenth of checking a 2,000-chapter book), so such lines are read here. A
# value qualifies only when YAML reads it as that same plain text: it starts with a letter
# or digit and holds no quote, colon, '#', bracket or other YAML indicator. Anything else
# goes to the YAML parser.
_PLAIN_ENTRY_RE = re.compile(
    r"(title|subtitle|slug|ending): +([A-Za-z0-9][A-Za-z0-9 .,!?'()/-]*?) *"
)
# Tells, as the YAML parser would, whether a plain value means null, a boolean or text.
_YAML_RESOLVER = yaml.resolver.Resolver()


def _plain_entries(source: str, first_line: int) -> list[_FrontMatterEntry] | None:
    """Return the entries of front matter made only of plain 'key: value' lines, else None."""
    entries = []
    for number, text in enumerate(source.split("\n")):
        match = _PLAIN_ENTRY_RE.fullmatch(text)
        if match is None:
            return None
        key, value = match.groups()
        # (True, False) asks for the tag of a plain scalar; the stubs leave resolve untyped.
        resolve = _YAML_RESOLVER.resolve
        tag = resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
        entries.append(
            _FrontMatterEntry(
                key, first_line + number, None if tag == _YAML_NULL else value, tag == _YAML_BOOL
            )
        )
    return entries


def _yaml_entries(
    source: str, path: Path, first_line: int
) -> tuple[list[_FrontMatterEntry] | None, list[Diagnostic]]:
    """Parse the front matter with the YAML parser (safe loader only) into its entries.

    Returns None and the diagnostic when it is not YAML or not a mapping.
    """
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
        return None, [
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
        return None, [
            diagnostic(
                "DB013",
                "the front matter is not a mapping of 'key: value' lines",
                path,
                first_line + node.start_mark.line,
                "write it as lines such as 'title: My Chapter'",
            )
        ]
    entries = [
        _FrontMatterEntry(
            _scalar_text(key_node) or "",
            first_line + key_node.start_mark.line,
            _scalar_text(value_node),
            value_node.tag == _YAML_BOOL,
        )
        for key_node, value_node in mapping
    ]
    return entries, []


def _read_front_matter(source: str, path: Path) -> tuple[_FrontMatter, list[Diagnostic]]:
    """Parse the YAML front matter (safe loader only) and check every key's type."""
    empty = _FrontMatter(None, None, None, 1, False)
    # Front matter starts on file line 2 (after the opening '---'); YAML marks are 0-based.
    first_line = 2
    entries = _plain_entries(source, first_line)
    if entries is None:
        entries, problems = _yaml_entries(source, path, first_line)
        if entries is None:
            return empty, problems

    diagnostics: list[Diagnostic] = []
    values: dict[str, str | None] = {}
    lines: dict[str, int] = {}
    ending = False
    for entry in entries:
        key, line = entry.key, entry.line
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
            if not entry.is_bool:
                diagnostics.append(
                    diagnostic("DB015", "'ending' must be true or false", path, line)
                )
            else:
                ending = str(entry.text).lower() in {"true", "yes", "on"}
            continue
        text = entry.text
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


def _heading_text_and_id(raw: str, source: str) -> tuple[str, str | None]:
    """Split ``"Heading {#custom-id}"`` into its text and explicit id (attribute-list syntax).

    ``raw`` is the heading's text, ``source`` the Markdown it was read from: the renderer
    reads an attribute list only where one is written out at the end, after a space (not in
    a code span, nor as character references), and none at all after an earlier ' {'.
    """
    attrs = _ATTR_LIST_RE.search(raw)
    written = _ATTR_LIST_RE.search(source)
    if not attrs or not written or _ATTR_OPENING_RE.search(source, 0, written.start()):
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
    misreadings: tuple[Misreading, ...] = ()


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


def _may_hold_markup(text: str) -> bool:
    """Return whether inline ``text`` can hold a link, an image, raw HTML or an attribute list.

    Each of them needs a '[' or a '<' written out, or a '{' (which a character reference
    such as '&#123;' can also produce).
    """
    return "[" in text or "<" in text or "{" in text or "&" in text


# The characters that can start an inline rule of CommonMark (code span, emphasis, entity,
# escape, raw HTML, autolink, link, image); text without them parses into plain text only.
_INLINE_MARKUP_RE = re.compile(r"[`*_&\\<!\[\]]")


def _plain_text(inline: Token, env: dict[str, Any]) -> str:
    """Return the text of ``inline`` as ``_inline_text`` gives it, parsing only when needed."""
    if _INLINE_MARKUP_RE.search(inline.content) is None:
        return " ".join(inline.content.split())
    return _inline_text(_inline_children(inline, env))


def _inline_children(inline: Token, env: dict[str, Any]) -> list[Token]:
    """Return the inline tokens of ``inline``, parsing them on first use.

    ``parseInline`` runs the inline rules and text joining of a whole-document parse;
    ``env`` holds the body's reference definitions, so ``[text][label]`` still resolves.
    """
    if not inline.children and inline.content:
        inline.children = _inline_parser.parseInline(inline.content, env)[0].children
    return inline.children or []


def _index_body(body: str, body_line: int, next_stages_heading: str) -> _Index:
    """Index the headings, links, images and Next Stages items of a chapter body."""
    env: dict[str, Any] = {}
    tokens = _parse_blocks(body, env)
    # What the renderer will not render as Markdown is left out, so the index holds what
    # the book shows.
    misread = find_misreadings(tokens, body, body_line)
    index = _Index([], [], [], None, [], misreadings=misread.found)
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
        if position in misread.hidden:
            continue
        if token.type == "heading_open":
            level = int(token.tag[1])
            inline = tokens[position + 1]
            text, explicit_id = _heading_text_and_id(_plain_text(inline, env), inline.content)
            line = body_line + (token.map[0] if token.map else 0)
            index.headings.append(Heading(level, text, explicit_id or slugify(text), line))
            # Only a heading outside lists and quotes starts or ends a section.
            if level <= 2 and token.level == 0:
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
            may_hold_markup = _may_hold_markup(token.content)
            if may_hold_markup:
                _inline_children(token, env)
                _index_raw_inline(token, first_line, index.raw_markup, index.images)
            if item_line is not None and in_next_stages:
                index.next_stages.append(_next_stage_item(token, item_line, env))
                item_line = None
            elif may_hold_markup:
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


def _next_stage_item(inline: Token, line: int, env: dict[str, Any]) -> NextStageItem:
    """Return the Next Stages item that an item's first paragraph describes."""
    text = _plain_text(inline, env)
    if not inline.children:  # plain text, so no link: a bare title
        return NextStageItem(text, None, None, text, line)
    children = inline.children
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
    diagnostics += [
        diagnostic("DB022", found.message, path, found.line, found.hint)
        for found in index.misreadings
    ]
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


_ReadResult = tuple[Chapter | None, list[Diagnostic]]


def _read_chapters(
    paths: Sequence[Path], root: Path, inside: ConfinedFolders, next_stages_heading: str
) -> list[_ReadResult]:
    """Read each of ``paths`` in order: its chapter (None when it is not read) and diagnostics.

    A chapter file that is a symbolic link out of the manuscript folder is not read (DB060).
    Raises OSError for a file that cannot be read.
    """
    results: list[_ReadResult] = []
    for path in paths:
        if inside.allows(path):
            results.append(read_chapter(path, root, next_stages_heading))
            continue
        refusal = diagnostic(
            "DB060",
            f"the chapter file is a symbolic link to {os.path.realpath(path)}, "
            "outside the manuscript folder; it is not read",
            path,
            None,
            "copy the file into the manuscript folder instead of linking to it",
        )
        results.append((None, [refusal]))
    return results


# Reading in worker processes pays only when reading in this one takes well over the time a
# worker needs to start (about 0.2 s when spawned: it imports dreambook anew). This much chapter
# text takes about 0.4 s to read on a laptop core of 2024; smaller books are read here.
PARALLEL_READ_BYTES = 2 * 1024 * 1024
# Chapters per piece of work: small enough that neither side waits long for the other at
# the end, large enough that sending paths and results between processes costs little.
_CHAPTERS_PER_CHUNK = 25


def _read_chapters_in_workers(
    paths: Sequence[Path],
    root: Path,
    inside: ConfinedFolders,
    next_stages_heading: str,
    workers: int,
) -> list[_ReadResult]:
    """``_read_chapters`` shared between this process and ``workers`` worker processes."""
    # Imported here: only large manuscripts are read in worker processes.
    import concurrent.futures
    import multiprocessing
    import threading

    chunks = [
        paths[start : start + _CHAPTERS_PER_CHUNK]
        for start in range(0, len(paths), _CHAPTERS_PER_CHUNK)
    ]
    read_here: dict[int, list[_ReadResult]] = {}
    results: list[_ReadResult] = []
    # A forked worker starts at once with everything this process has imported; a spawned one
    # imports dreambook anew (a tenth of a second or more). Forking is unsafe in a process
    # that runs threads (the preview server), so only a single-threaded one forks.
    forkable = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forkable else "spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [
            pool.submit(_read_chapters, chunk, root, inside, next_stages_heading)
            for chunk in chunks
        ]
        # The workers take chunks from the front while this process reads them from the
        # back, so the work is shared however long the workers take to start. A future that
        # can still be cancelled has not been handed to a worker (they are handed in order).
        for index in reversed(range(len(chunks))):
            if not futures[index].cancel():
                break
            read_here[index] = _read_chapters(chunks[index], root, inside, next_stages_heading)
        for index, future in enumerate(futures):
            results += read_here[index] if index in read_here else future.result()
    return results


def load_book(
    root: Path, limits: Limits = Limits(), jobs: int | None = None
) -> tuple[Book, list[Diagnostic]]:
    """Read the manuscript folder ``root`` and return the Book with every diagnostic found.

    Problems in the manuscript never raise: they are returned as diagnostics, as many as
    can be found in one pass. A manuscript over ``limits`` is not read at all (DB080).
    A manuscript of more than ``PARALLEL_READ_BYTES`` of chapters is read by up to
    ``jobs`` processes (default: the CPUs this process may use, at most four), forked when
    this process runs no other thread and spawned otherwise; the result is the same however
    it is read.
    Raises OSError only for an unreadable file or folder.
    """
    config, diagnostics = load_book_toml(root)
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
    # Beyond four processes, starting one more costs about what it saves.
    processes = min(jobs or usable_cpus(), 4, len(files) // _CHAPTERS_PER_CHUNK)
    if processes > 1 and total > PARALLEL_READ_BYTES:
        results = _read_chapters_in_workers(
            files, root, inside, config.next_stages_heading, processes - 1
        )
    else:
        results = _read_chapters(files, root, inside, config.next_stages_heading)
    chapters: list[Chapter] = []
    for chapter, found in results:
        if chapter is not None:
            chapters.append(chapter)
        diagnostics.extend(found)
    diagnostics.extend(_duplicate_slugs(chapters))
    return Book(root, config, tuple(chapters), read_order_lock(root)), diagnostics
