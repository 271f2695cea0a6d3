"""The raw-HTML policy: what a manuscript may put into the book's HTML, and what is removed.

Python-Markdown passes raw HTML through untouched, and its attribute lists let an author
add any attribute (``{: onclick=... }``). So the rendered HTML of every chapter is
cleaned with nh3 (a maintained allow-list sanitiser) after Markdown conversion: scripts,
frames, forms, embedded objects, style and link elements, event-handler attributes and
``javascript:`` links are removed. ``check`` reports each such removal, with its line,
from the markup the loader recorded. ``--trust-html`` turns both off for manuscripts
whose authors are trusted.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import nh3

from dreambook.diagnostics import Diagnostic, diagnostic
from dreambook.manuscript import Chapter

ALLOWED_TAGS = frozenset(
    (nh3.ALLOWED_TAGS | {"section", "figure", "figcaption", "aside"}) - {"map", "area"}
)
_COMMON_ATTRIBUTES = {"id", "class", "lang", "dir", "title", "role"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attributes) for tag, attributes in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": _COMMON_ATTRIBUTES,
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height"},
    "section": {"data-section"},
    "ol": {"start", "type"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_UNSAFE_ELEMENT_RE = re.compile(
    r"<\s*(script|iframe|frame|frameset|object|embed|applet|style|link|meta|base|form|input|"
    r"button|textarea|select|svg|math|template)\b",
    re.IGNORECASE,
)
_EVENT_HANDLER_RE = re.compile(r"(?:^|[\s{\"'/])(on[a-z]+)\s*=", re.IGNORECASE)
_SCRIPT_URL_RE = re.compile(r"\b(javascript|vbscript)\s*:", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x20]+")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Images may only come from the book itself: drop any ``src`` with a scheme or host."""
    if attribute == "src" and (":" in value.split("/", 1)[0] or value.startswith(("/", "\\"))):
        return None
    return value


def sanitize_html(html: str) -> str:
    """Return ``html`` with everything outside the allow-list removed. Raises nothing."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(URL_SCHEMES),
        strip_comments=True,
        link_rel=None,
        attribute_filter=_keep_attribute,
    )


def _findings(chapter: Chapter) -> Iterator[tuple[int, str]]:
    for markup in chapter.raw_markup:
        if markup.kind == "html":
            for match in _UNSAFE_ELEMENT_RE.finditer(markup.text):
                yield markup.line, f"the raw HTML element <{match.group(1).lower()}>"
        for match in _EVENT_HANDLER_RE.finditer(markup.text):
            yield markup.line, f"the event-handler attribute {match.group(1).lower()}="
        for match in _SCRIPT_URL_RE.finditer(html.unescape(markup.text)):
            yield markup.line, f"a {match.group(1).lower()}: URL in raw HTML"
    hrefs = [(link.href, link.line) for link in chapter.links]
    hrefs += [(item.href, item.line) for item in chapter.next_stages if item.href]
    for href, line in hrefs:
        # Browsers ignore control characters and spaces inside a scheme ("java\tscript:").
        scheme = _CONTROL_RE.sub("", href).lower().split(":", 1)[0]
        if scheme in {"javascript", "vbscript"} and ":" in href:
            yield line, f"the {scheme}: link"


def check_raw_html(chapter: Chapter) -> list[Diagnostic]:
    """Return a DB070 warning for each piece of markup the sanitiser will remove from ``chapter``."""
    seen: set[tuple[int, str]] = set()
    diagnostics: list[Diagnostic] = []
    for line, what in _findings(chapter):
        if (line, what) in seen:
            continue
        seen.add((line, what))
        diagnostics.append(
            diagnostic(
                "DB070",
                f"{what} will be removed from the book",
                chapter.path,
                line,
                "dreambook keeps only safe HTML; build with --trust-html if you wrote this "
                "markup yourself and want it kept",
            )
        )
    return diagnostics
