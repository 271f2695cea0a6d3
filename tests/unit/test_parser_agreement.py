"""The two Markdown readings of a chapter agree: the index check uses and the HTML a build renders.

manuscript/index.py indexes each chapter with markdown-it-py (headings, links, Next Stages items,
with their lines); render.py renders it with Python-Markdown, giving each rendered heading
the id the index made for it and resolving each rendered link with the same LinkResolver.
Random chapters (headings of every kind of text, in lists, quotes and code, links of every
kind, Next Stages lists) are read and rendered, and both must see the same headings, the
same link targets and the same Next Stages section. Where a construct reads differently
and cannot be made to agree, the reader must say so (DB022) and the render stay stable.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import lxml.html
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown import Markdown

from dreambook.diagnostics import Diagnostic, Severity
from dreambook.graph import LinkKind, LinkResolver
from dreambook.manuscript import Chapter, read_chapter
from dreambook.manuscript.misreadings import RAW_BLOCK_TAGS
from dreambook.pipeline import check_manuscript
from dreambook.render import ChapterRenderer
from dreambook.slugs import title_key
from tests.conftest import WriteBook, chapter

# --- the book around the generated chapter -------------------------------------------------------

OTHER = "---\ntitle: Other Place\n---\n\n## Sec\n\nText.\n\n## Second Part\n\nMore.\n"
THIRD = "---\ntitle: Third Room\n---\n\nWords.\n"

# --- heading text ---------------------------------------------------------------------------------

_WORDS = [
    "Running", "away", "from", "danger", "Can't", "don\u2019t", "caf\u00e9", "na\u00efve",
    "\u65e5\u672c", "\u00dcber", "*emphasis*", "**strong**", "_under_", "`code`", "`a # b`",
    "Q&A", "C#", "#5", "x_y", "--", "...", "'quoted'", '"double"', "(aside)", "50%", "a/b",
    "Why?", "Now!", "r\u00e9sum\u00e9", "\u2014", "e.g.", "1984", "[brackets]", "\\*",
    "[a link](other.md#sec)", "<b>bold</b>", "&amp;",
]  # fmt: skip

heading_words = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4).map(" ".join)
custom_ids = st.sampled_from(["custom-id", "my-part", "x1", "sec"])


@st.composite
def headings(draw: st.DrawFn, level: int | None = None) -> str:
    """An ATX or setext heading, maybe with closing #s or a ``{#custom-id}``."""
    level = level or draw(st.sampled_from([1, 2, 2, 2, 3, 4, 6]))
    text = draw(heading_words)
    if draw(st.booleans()):
        text += " {#" + draw(custom_ids) + "}"
    style = draw(st.sampled_from(["atx", "atx", "closed", "setext"]))
    if style == "setext" and level <= 2:
        return f"{text}\n{('=' if level == 1 else '-') * draw(st.integers(1, 12))}"
    closing = " " + "#" * draw(st.integers(1, 3)) if style == "closed" else ""
    return f"{'#' * level} {text}{closing}"


# --- links ----------------------------------------------------------------------------------------

_HREFS = [
    "other.md", "other.md#sec", "other.md#second-part", "other.md#missing", "part/third.md",
    "part/third.md#nowhere", "#local", "#sec", "#custom-id", "#running-away", "missing.md",
    "../other.md", "https://example.com/page", "https://example.com/a.md", "mailto:me@example.com",
    "notes.pdf", "other.md#s%C3%A9c", "other.md?x=1", "other&#46;md", "<other.md#sec>",
    "\\#sec", "other.md#s&#101;c",
]  # fmt: skip
_LINK_TEXT = ["the other place", "*there*", "`code`", "see this", "Other Place", "\u00e9t\u00e9"]


@st.composite
def links(draw: st.DrawFn) -> tuple[str, str | None]:
    """Return (inline markup, reference definition or None) for one link or image."""
    href = draw(st.sampled_from(_HREFS))
    text = draw(st.sampled_from(_LINK_TEXT))
    kind = draw(st.sampled_from(["inline", "inline", "titled", "reference", "autolink", "image"]))
    if kind == "titled":
        title = draw(st.sampled_from(['"A title"', "'A title'"]))
        return f"[{text}]({href} {title})", None
    if kind == "reference":
        label = draw(st.sampled_from(["ref", "Other Ref", "r2"]))
        use = draw(st.sampled_from([f"[{text}][{label}]", f"[{label}]", f"[{label.upper()}][]"]))
        return use, f"[{label}]: {href}"
    if kind == "autolink":
        return draw(st.sampled_from(["<https://example.com/x>", "<me@example.com>"])), None
    if kind == "image":
        return f"![a picture](figure.png) and [![icon](icon.png)]({href})", None
    return f"[{text}]({href})", None


@st.composite
def paragraphs(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A paragraph of words and links, and the reference definitions its links need."""
    parts: list[str] = []
    definitions: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            markup, definition = draw(links())
            parts.append(markup)
            if definition:
                definitions.append(definition)
        else:
            parts.append(draw(heading_words))
    return " ".join(parts), definitions


# --- blocks ---------------------------------------------------------------------------------------


@st.composite
def blocks(draw: st.DrawFn) -> tuple[str, list[str]]:
    """One block of a chapter body and the reference definitions it needs."""
    kind = draw(
        st.sampled_from(
            ["heading", "heading", "paragraph", "paragraph", "list", "quote", "fence",
             "indented", "html", "nested-fence", "near-heading"]
        )
    )  # fmt: skip
    if kind == "heading":
        return draw(headings()), []
    if kind == "paragraph":
        return draw(paragraphs())
    if kind == "list":
        marker = draw(st.sampled_from(["-", "*", "1."]))
        items, definitions = [], []
        for _ in range(draw(st.integers(1, 3))):
            if draw(st.booleans()):
                # (An underlined heading in a list item is a known misreading, not drawn:
                # Python-Markdown runs the item on into the underline.)
                items.append(f"{marker} {'#' * draw(st.integers(2, 3))} {draw(heading_words)}")
            else:
                text, found = draw(paragraphs())
                items.append(f"{marker} {text}")
                definitions += found
        return "\n".join(items), definitions
    if kind == "quote":
        inner = draw(headings()) if draw(st.booleans()) else draw(paragraphs())[0]
        return "\n".join(f"> {line}" for line in inner.split("\n")), []
    if kind == "fence":
        fence = draw(st.sampled_from(["```", "~~~", "````"]))
        info = draw(st.sampled_from(["", "python", "text"]))
        return f"{fence}{info}\n## Not a heading\n[not a link](other.md)\n{fence}", []
    if kind == "indented":
        return "    ## Not a heading\n    [not a link](other.md)", []
    if kind == "html":
        tag = draw(st.sampled_from(["div", "aside", "section"]))
        return f'<{tag}>\n<p>Raw <a href="other.md">html</a></p>\n</{tag}>', []
    if kind == "nested-fence":
        prefix = draw(st.sampled_from(["> ", "  "]))
        fence = "\n".join(prefix + line for line in ["```", "## In code", "```"])
        return ("- An item\n\n" if prefix == "  " else "") + fence, []
    # Lines that look like headings to one Markdown reading and not to the other.
    return draw(
        st.sampled_from(
            ["#hashtag at the start", "   ## Indented three", "Two lines\nof setext\n=====",
             "## C#", "Para\n## Interrupting heading", "- item\n\n  ## Two-space heading",
             "<div>\n\n## Inside html\n\n</div>", "## Empty attributes {}", "##\tTabbed"]
        )
    ), []  # fmt: skip


@st.composite
def next_stages(draw: st.DrawFn) -> str:
    """A Next Stages section: linked items and bare titles, each with a blurb, now and then
    a nested list, a paragraph or a heading of its own, or the whole section in a quote."""
    items = []
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(["other.md", "part/third.md", "missing.md", "other.md#sec"]))
        title = "Other Place" if target.startswith("other") else "Third Room"
        if draw(st.booleans()):
            items.append(f"- [{title}]({target}) \u2014 go there")
        else:
            items.append(f"- {title} \u2014 by its title")
        if draw(st.integers(0, 4)) == 0:
            items.append("  - [a nested link](other.md#second-part)")
    heading = draw(
        st.sampled_from(["## Next Stages", "Next Stages\n-----------", "## Next stages"])
    )
    section = heading + "\n\n" + "\n".join(items)
    extra = draw(st.sampled_from(["", "", "See [the other place](other.md).", "### Also"]))
    section += "\n\n" + extra if extra else ""
    if draw(st.integers(0, 5)) == 0:
        return "\n".join(f"> {line}" if line else ">" for line in section.split("\n"))
    return section


@st.composite
def chapters(draw: st.DrawFn) -> str:
    """A chapter body: some blocks, duplicate headings now and then, maybe Next Stages."""
    parts: list[str] = []
    definitions: list[str] = []
    for _ in range(draw(st.integers(1, 7))):
        block, found = draw(blocks())
        parts.append(block)
        definitions += found
        if block.startswith("#") and draw(st.integers(0, 5)) == 0:
            parts.append(block)  # the same heading again
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2]))):
        parts.append(draw(next_stages()))
        if draw(st.booleans()):
            parts.append(draw(headings(level=2)) + "\n\nAfter the next stages.")
    parts += dict.fromkeys(definitions)  # a label is defined once
    return "\n\n".join(parts) + "\n"


# --- reading and rendering ------------------------------------------------------------------------


@dataclass(frozen=True)
class Readings:
    chapter: Chapter
    diagnostics: list[Diagnostic]
    resolver: LinkResolver
    anchors: list[str]  # what the renderer gave the headings, before Next Stages is dropped
    body: lxml.html.HtmlElement


def _read_and_render(body: str) -> Readings:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "part").mkdir()
        (root / "other.md").write_text(OTHER, encoding="utf-8")
        (root / "part" / "third.md").write_text(THIRD, encoding="utf-8")
        (root / "one.md").write_text(f"---\ntitle: One\n---\n\n{body}", encoding="utf-8")
        chapter, diagnostics = read_chapter(root / "one.md", root)
        others = [read_chapter(root / name, root)[0] for name in ("other.md", "part/third.md")]
    resolver = LinkResolver([chapter, *others])
    renderer = ChapterRenderer(resolver)
    html, _, _ = renderer.body(chapter)
    context = renderer.extension.context
    assert context is not None
    wrapper = lxml.html.fragment_fromstring(str(html), create_parent="div")
    return Readings(chapter, diagnostics, resolver, list(context.heading_anchors), wrapper)


def _top_level(chapter: Chapter, line: int) -> bool:
    """Whether the heading on ``line`` stands outside every list and quote (as generated)."""
    source = chapter.markdown.split("\n")[line - chapter.body_line]
    return re.match(r"(?: |>|[-*] |\d+\. )", source) is None


def _next_stages_lines(chapter: Chapter) -> set[int]:
    """The lines of every Next Stages section: from its heading to the next ``#``/``##``."""
    named = next((h for h in chapter.headings if h.line == chapter.next_stages_line), None)
    if named is None:
        return set()
    top = [h for h in chapter.headings if h.level <= 2 and _top_level(chapter, h.line)]
    lines: set[int] = set()
    for heading, following in zip(top, [*top[1:], None], strict=True):
        if heading.level == 2 and title_key(heading.text) == title_key(named.text):
            lines.update(range(heading.line, following.line if following else 10**6))
    return lines


def _rendered_links(body: lxml.html.HtmlElement) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for element in body.iter("a", "span"):
        kind = element.get("class", "")
        if kind == "xref":
            found["chapter", element.get("href", "")] += 1
        elif kind in {"external", "dangling-link"}:
            found[kind, ""] += 1
    return found


def _indexed_links(readings: Readings) -> Counter[tuple[str, str]]:
    chapter = readings.chapter
    dropped = _next_stages_lines(chapter)
    found: Counter[tuple[str, str]] = Counter()
    for link in chapter.links:
        if link.line in dropped:
            continue  # the Next Stages section is drawn from the graph, not from the body
        target = readings.resolver.resolve(chapter, link.href)
        if target.kind is LinkKind.CHAPTER:
            found["chapter", "#" + target.anchor] += 1
        elif target.kind is LinkKind.EXTERNAL:
            found["external", ""] += 1
        else:
            found["dangling-link", ""] += 1
    return found


def _assert_agreement(readings: Readings) -> None:
    chapter, body = readings.chapter, readings.body
    expected = [chapter.anchor(h.id) for h in chapter.headings]
    assert readings.anchors == expected
    dropped = _next_stages_lines(chapter)
    kept = [h for h in chapter.headings if h.line not in dropped]
    rendered = [e for e in body.iter("h1", "h2", "h3", "h4", "h5", "h6")]
    assert [e.get("id") for e in rendered] == [chapter.anchor(h.id) for h in kept]
    for element, heading in zip(rendered, kept, strict=True):
        assert element.tag == f"h{heading.level}"
        assert title_key(element.text_content()) == title_key(heading.text)
    assert _rendered_links(body) == _indexed_links(readings)


def _assert_stable(readings: Readings) -> None:
    """With DB022 given, every heading the index has keeps its id, in order; the headings
    only the renderer sees get ids of their own, which collide with nothing."""
    known = iter(readings.chapter.anchor(h.id) for h in readings.chapter.headings)
    kept = [anchor for anchor in readings.anchors if "--_heading-" not in anchor]
    assert all(anchor in known for anchor in kept)  # a subsequence, in order
    made_up = [e.get("id") for e in readings.body.iter() if "--_" in e.get("id", "")]
    assert len(made_up) == len(set(made_up))


@settings(
    max_examples=int(os.environ.get("AGREEMENT_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(chapters())
# Found in CI: the renderer ends a list at a further block indented by fewer than four
# spaces, and reads what follows indented by four as code (DB022 since).
@example(
    body="# Running\n\n# Running\n\n- item\n\n  ## Two-space heading\n\n"
    "    ## Not a heading\n    [not a link](other.md)\n"
)
def test_index_and_render_agree_on_headings_links_and_next_stages(body: str) -> None:
    readings = _read_and_render(body)
    if any(d.code == "DB022" for d in readings.diagnostics):
        _assert_stable(readings)
    else:
        _assert_agreement(readings)
    chapter = readings.chapter
    if chapter.next_stages_line is not None and len(chapter.section_ids()) == len(chapter.headings):
        section_ids = {e.get("data-section") for e in readings.body.iter("section")}
        heading = next(h for h in chapter.headings if h.line == chapter.next_stages_line)
        assert heading.id not in section_ids
        assert not any(e.get("id", "").endswith("--" + heading.id) for e in readings.body.iter())


# --- each disagreement found, kept as an example ------------------------------------------------

AGREED = [
    "#hashtag at the start of a line\n",  # Python-Markdown made it a heading
    "   ## Indented three spaces\n",  # Python-Markdown made it a paragraph
    "## C#\n\n##\tTabbed\n\n## #\n",  # '#' taken off the end of 'C#'
    "<me@example.com>\n",  # rendered as a dangling link
    "[x][ref]\n\n[ref]: other.md\n\n[ref]: other.md#sec\n",  # the last definition won
    "[entity](other&#46;md) and [another](other.md#s&#101;c)\n",  # references not decoded
    "[escaped](\\#sec)\n\n## Sec\n",  # the escape was still a placeholder when resolved
    "[escaped][r]\n\n## Sec\n\n[r]: \\#sec\n",  # and a definition's escape was kept
    "[ref] [ref] and ![icon] [ref]\n\n[ref]: other.md\n",  # one link '[text] [label]'
    "## Foo{#bar}\n\n## Foo `{#x}`\n\n## Running {braces} {#custom-id}\n",  # id from no list
    "## Next Stages\n\n- Other Place\n\n## Next Stages {#more}\n\n- Third Room\n",  # one left
    "> ## Next Stages\n>\n> - [Other Place](other.md)\n",  # a quote's heading took the items
    "## Next Stages\n\n- Other Place\n\n### Also\n",  # a dropped heading stayed in contents
]

MISREAD = [
    ("Two lines\nof setext\n=====\n", 5),
    ("Text\n\n- Foo\n  ---\n", 7),
    ("> ```\n> ## In code\n> ```\n", 5),
    ("- An item\n\n  ```\n  ## In code\n  ```\n", 7),
    ("```python title\n## x\n```\n", 5),
    ("```\n## never closed\n", 5),
    ("<div>\n\n## Inside html\n\n</div>\n", 5),
]


@pytest.mark.parametrize("body", AGREED)
def test_each_disagreement_found_reads_alike_now(body: str) -> None:
    readings = _read_and_render(body)
    assert not [d for d in readings.diagnostics if d.code == "DB022"]
    _assert_agreement(readings)


@pytest.mark.parametrize(("body", "line"), MISREAD)
def test_what_cannot_read_alike_is_reported_and_renders_stably(body: str, line: int) -> None:
    readings = _read_and_render(f"## Before\n\n{body}\n## After\n")
    assert [d.line for d in readings.diagnostics if d.code == "DB022"] == [line + 2]
    _assert_stable(readings)
    assert readings.anchors[0] == "one--before"
    # (check reads everything after a fence never closed as code, '## After' too.)
    assert readings.anchors[-1] == ("one--after" if "never" not in body else "one--_heading-3")


def test_check_reports_a_misread_heading_with_its_line(write_book: WriteBook) -> None:
    root = write_book(
        {"one.md": chapter("One", "Intro.\n\nTwo lines\nof a heading\n===========\n")}
    )
    checked = check_manuscript(root)
    (found,) = [d for d in checked.diagnostics if d.code == "DB022"]
    assert (found.path, found.line, found.severity) == (root / "one.md", 7, Severity.WARNING)
    assert found.hint
    assert "'#'" in found.hint


def test_the_raw_block_tags_are_the_renderers() -> None:
    assert frozenset(Markdown().block_level_elements) == RAW_BLOCK_TAGS
