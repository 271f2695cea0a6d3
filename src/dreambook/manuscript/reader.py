"""One chapter file -> Chapter: its text, front matter and index, with every problem found.

The file is decoded and its front matter read (frontmatter.py), its body indexed
(index.py); what is wrong with the chapter as a whole (an empty file, nesting too deep,
two headings with one id, an empty Next Stages section) is found here.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from dreambook.diagnostics import Diagnostic, diagnostic
from dreambook.fsutil import ConfinedReader
from dreambook.manuscript.frontmatter import (
    FrontMatter,
    decode,
    read_front_matter,
    split_front_matter,
)
from dreambook.manuscript.index import MAX_ELEMENT_DEPTH, MAX_NESTING, BodyIndex, index_body
from dreambook.manuscript.model import Chapter, Heading
from dreambook.slugs import slugify


def placeholder_chapter(path: Path, root: Path) -> Chapter:
    """The chapter that stands for a file that could not be read: titled after its file
    name, with no text, so that links to it are not reported as dangling as well."""
    source_path = PurePosixPath(path.relative_to(root).as_posix())
    return _placeholder(path, source_path, slugify(path.stem) or "chapter")


def _placeholder(path: Path, source_path: PurePosixPath, stem_slug: str) -> Chapter:
    return Chapter(
        path, source_path, stem_slug, 1, path.stem, None, False, "", 1, (), (), (), None, ()
    )


def read_chapter(
    path: Path,
    root: Path,
    next_stages_heading: str = "Next Stages",
    reader: ConfinedReader | None = None,
    *,
    data: bytes | None = None,
) -> tuple[Chapter, list[Diagnostic]]:
    """Read one chapter file and return it with its diagnostics.

    A chapter whose file is broken is still returned (titled after its file name, with no
    text) so that links to it do not also turn into dangling-link diagnostics; the
    diagnostics say what is wrong. The file is read through the confined opener (the
    loader has already refused a link out of ``root`` with its own DB060), ``reader`` when
    given (one confined to ``root``, shared by the chapters of a book), unless the caller
    read it already and gives its bytes as ``data``. Raises
    ResourceOutsideError when it resolves outside ``root`` and OSError when it cannot be
    read at all.
    """
    source_path = PurePosixPath(path.relative_to(root).as_posix())
    stem_slug = slugify(path.stem) or "chapter"
    if data is None:
        data = (reader or ConfinedReader([root])).read_bytes(path)
    text, diagnostics = decode(data, path)
    if text is None:
        return _placeholder(path, source_path, stem_slug), diagnostics
    if not text.strip():
        return _placeholder(path, source_path, stem_slug), [_empty_file(text, path)]
    front_source, body, body_line, diagnostics = split_front_matter(text, path)
    if front_source is None:
        return _placeholder(path, source_path, stem_slug), diagnostics
    index = index_body(body, body_line, next_stages_heading)
    # A missing title's hint suggests the chapter's own title heading ('# ...') when it has
    # one (a '##' heading is a section, no title), else one made from its file name.
    title_heading = next((h.text for h in index.headings if h.level == 1), None)
    front, diagnostics = read_front_matter(front_source, path, title_heading)
    depth, deep_line = index.deepest
    if depth > MAX_NESTING:
        # Refused before anything else looks at it: renderers recurse once per level.
        fallback = _placeholder(path, source_path, stem_slug)
        return fallback, [*diagnostics, _too_deep(path, deep_line)]
    elements, element_line = index.deepest_elements
    if elements > MAX_ELEMENT_DEPTH:
        fallback = _placeholder(path, source_path, stem_slug)
        return fallback, [*diagnostics, _elements_too_deep(path, element_line)]
    if not body.strip():
        diagnostics.append(_no_text(path, body_line))
    diagnostics += [
        diagnostic("DB022", found.message, path, found.line, found.hint)
        for found in index.misreadings
    ]
    diagnostics += _duplicate_section_ids(index.headings, path)
    chapter = _indexed_chapter(path, source_path, stem_slug, front, body, body_line, index)
    if chapter.next_stages_line is not None and not chapter.next_stages:
        diagnostics.append(_empty_next_stages(path, chapter.next_stages_line, next_stages_heading))
    return chapter, diagnostics


def _indexed_chapter(
    path: Path,
    source_path: PurePosixPath,
    stem_slug: str,
    front: FrontMatter,
    body: str,
    body_line: int,
    index: BodyIndex,
) -> Chapter:
    """The chapter a readable file describes; its file name stands in for what is missing."""
    return Chapter(
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
        title_line=front.title_line,
    )


def _empty_file(text: str, path: Path) -> Diagnostic:
    return diagnostic(
        "DB017",
        "the chapter file is empty" if not text else "the chapter file holds only whitespace",
        path,
        1,
        "write the chapter, or rename the file to start with '_' so it is skipped",
    )


def _too_deep(path: Path, line: int) -> Diagnostic:
    return diagnostic(
        "DB085",
        f"lists or block quotes are nested more than {MAX_NESTING} levels deep here",
        path,
        line,
        "flatten the nesting; no printed book needs more than a few levels",
    )


def _elements_too_deep(path: Path, line: int) -> Diagnostic:
    return diagnostic(
        "DB085",
        f"raw HTML elements, emphasis or links are nested more than {MAX_ELEMENT_DEPTH} "
        "levels deep here",
        path,
        line,
        "close the HTML elements you open, or flatten the nesting; no printed book needs "
        "more than a few levels",
    )


def _no_text(path: Path, body_line: int) -> Diagnostic:
    return diagnostic(
        "DB018",
        "the chapter has front matter but no text",
        path,
        body_line - 1,
        "write the chapter below the front matter",
    )


def _duplicate_section_ids(headings: list[Heading], path: Path) -> list[Diagnostic]:
    """Report every heading whose section id an earlier heading of the chapter already has."""
    diagnostics = []
    seen: dict[str, Heading] = {}
    for heading in headings:
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
    return diagnostics


def _empty_next_stages(path: Path, line: int, next_stages_heading: str) -> Diagnostic:
    return diagnostic(
        "DB035",
        f"the {next_stages_heading!r} section holds no list items",
        path,
        line,
        "list the chapters to read next as '- [Title](file.md) — why to go there'",
    )
