"""Placeholder text that ``dreambook init`` and ``dreambook new`` wrote and the author left in.

A new chapter is written from the styles' ``new-chapter.md.j2``: its house sections (the
``##`` headings) are meant to stay, every other line of it is an instruction to the author
("Open with the dream itself, ...", "Its answer."). ``new --after`` also writes a Next Stages
item into the chapter it hangs the new one on, with a blurb to be replaced. A line of a
chapter that is still exactly one of these is reported (DB024), so that a placeholder is
never printed in the book unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterable

from dreambook.diagnostics import Diagnostic, diagnostic
from dreambook.manuscript import Book, Chapter

# The blurb `new --after` gives the Next Stages item it writes (scaffold.py uses it).
LINK_BLURB = "where the reader goes from here."
CHAPTER_TEMPLATE = "new-chapter.md.j2"


def template_placeholders(template: str) -> frozenset[str]:
    """Return the placeholder lines of a new-chapter template, each stripped of spaces.

    Left out: the front matter, blank lines, Jinja2 statements and expressions (what they
    write depends on the chapter), and the ``##`` headings of the house sections. Raises
    nothing.
    """
    lines = template.split("\n")
    if lines and lines[0].strip() == "---":
        closing = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), 0)
        lines = lines[closing + 1 :]
    found = set()
    for line in lines:
        text = line.strip()
        if not text or "{%" in text or "{{" in text or "{#" in text:
            continue
        if text.startswith("## "):
            continue
        found.add(text)
    return frozenset(found)


def _placeholder_lines(chapter: Chapter, placeholders: frozenset[str]) -> list[int]:
    lines = chapter.markdown.split("\n")
    return [
        chapter.body_line + index
        for index, line in enumerate(lines)
        if line.strip() and line.strip() in placeholders
    ]


def check_placeholders(
    book: Book, template: str | None, unread: Iterable[str] = ()
) -> list[Diagnostic]:
    """Report placeholder text left in the chapters of ``book`` (DB024).

    ``template`` is the text of the book's new-chapter template (None when it cannot be
    read: then only ``new``'s Next Stages blurb is looked for). Each chapter gets at most
    one diagnostic for the template's lines, at the first one, and one for each Next Stages
    item whose blurb is still the placeholder. Chapters in ``unread`` (slugs) are skipped.
    Raises nothing.
    """
    placeholders = template_placeholders(template) if template is not None else frozenset()
    skipped = set(unread)
    diagnostics = []
    for chapter in book.chapters:
        if chapter.slug in skipped:
            continue
        found = _placeholder_lines(chapter, placeholders) if placeholders else []
        if found:
            lines = (
                "" if len(found) == 1 else f" ({len(found)} lines: {', '.join(map(str, found))})"
            )
            diagnostics.append(
                diagnostic(
                    "DB024",
                    f"the placeholder text of a new chapter is still here{lines}",
                    chapter.path,
                    found[0],
                    "write the chapter in its place; keep the '##' section headings",
                )
            )
        for item in chapter.next_stages:
            if item.after_link.strip().endswith(LINK_BLURB):
                diagnostics.append(
                    diagnostic(
                        "DB024",
                        f"this Next Stages item still has the placeholder blurb {LINK_BLURB!r}",
                        chapter.path,
                        item.line,
                        "say in a few words why the reader goes to that chapter next",
                    )
                )
    return diagnostics
