"""The text of a chapter file: decoding it, and its front matter (plain lines or YAML).

A chapter file is UTF-8 text that opens with front matter between two '---' lines: a few
'key: value' lines naming the title, an optional subtitle, slug and ending flag. Most front
matter is read without the YAML parser (see _plain_entries); anything else is read by it,
with the safe loader only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from dreambook.diagnostics import Diagnostic, diagnostic, line_of_byte
from dreambook.slugs import SLUG_PATTERN, slugify

FRONT_MATTER_KEYS = frozenset({"title", "subtitle", "slug", "ending"})

_FENCE_RE = re.compile(r"^(---|\.\.\.)\s*$")


def decode(raw: bytes, path: Path) -> tuple[str | None, list[Diagnostic]]:
    """Return the text of a chapter file with a BOM removed and line endings made LF.

    Returns None and a DB010 diagnostic for bytes that are not UTF-8; raises nothing.
    """
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
class FrontMatter:
    """What the front matter says; a value that is missing or wrong is None (ending: False)."""

    title: str | None
    subtitle: str | None
    slug: str | None
    slug_line: int
    ending: bool
    title_line: int = 1


def split_front_matter(text: str, path: Path) -> tuple[str | None, str, int, list[Diagnostic]]:
    """Return (front matter YAML or None, body, body's first file line, diagnostics).

    The YAML is None (with a DB011 or DB012 diagnostic) when the file opens no front matter
    or never closes it; raises nothing.
    """
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


def read_front_matter(
    source: str, path: Path, example_title: str | None = None
) -> tuple[FrontMatter, list[Diagnostic]]:
    """Parse the YAML front matter (safe loader only) and check every key's type.

    ``example_title`` is the title a missing-title hint suggests (the chapter's first
    heading, say); without one, the file name gives it. Returns the front matter (empty
    when it is not a YAML mapping) with its diagnostics; raises nothing.
    """
    empty = FrontMatter(None, None, None, 1, False)
    # Front matter starts on file line 2 (after the opening '---'); YAML marks are 0-based.
    first_line = 2
    entries = _plain_entries(source, first_line)
    if entries is None:
        entries, problems = _yaml_entries(source, path, first_line)
        if entries is None:
            return empty, problems
    values, lines, ending, diagnostics = _entry_values(entries, path)
    if not values.get("title"):
        diagnostics.append(
            diagnostic(
                "DB014",
                "the front matter has no title" if "title" not in lines else "the title is empty",
                path,
                lines.get("title", 1),
                f"add a line such as 'title: {example_title or title_from_file_name(path)}' "
                "to the front matter",
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
        FrontMatter(
            values.get("title"),
            values.get("subtitle"),
            slug,
            lines.get("slug", 1),
            ending,
            lines.get("title", 1),
        ),
        diagnostics,
    )


def _entry_values(
    entries: Sequence[_FrontMatterEntry], path: Path
) -> tuple[dict[str, str | None], dict[str, int], bool, list[Diagnostic]]:
    """Check every entry's key and type: (text values, each key's line, ending, diagnostics)."""
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
    return values, lines, ending, diagnostics


# Words an English title leaves lower-case unless they open it ("Running in Slow Motion").
_SMALL_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "but",
        "by",
        "for",
        "from",
        "in",
        "into",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
    ]
)


def title_from_file_name(path: Path) -> str:
    """A title made from a chapter's file name, for a hint: ``night-swim.md`` -> ``Night Swim``,
    ``running-in-slow-motion.md`` -> ``Running in Slow Motion``."""
    words = [word for word in re.split(r"[-_\s]+", path.stem) if word]
    titled = [
        word if index and word in _SMALL_WORDS else word[:1].upper() + word[1:]
        for index, word in enumerate(words)
    ]
    return " ".join(titled) or "The Chapter"
