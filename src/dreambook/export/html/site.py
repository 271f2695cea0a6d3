"""RenderedBook -> the HTML edition: a small reading site, one page per chapter.

``<book>-site/index.html`` is the contents page; each chapter is ``<slug>.html`` with its
Next Stages and "Reached from" as links, and previous / next links in reading order.
Cross-references point at the page that holds their anchor. The stylesheet
(``site.css``), the fonts it uses and the images the chapters show are copied beside the
pages, so the folder can be opened from disk or put on any web server as it is.

The whole folder is written beside its destination first and swapped into place at the
end, so a failed build leaves the previous site untouched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lxml import html as lxml_html
from markupsafe import Markup

from dreambook.export.writer import ChapterTrees
from dreambook.fsutil import ConfinedFolders, ConfinedReader, apply_output_modes, staging_folder
from dreambook.render import RenderedBook, RenderedChapter
from dreambook.safe_assets import NotAnSvgError, clean_stylesheet, clean_svg
from dreambook.styles import Styles

STYLESHEET = "site.css"


@dataclass(frozen=True)
class SiteResult:
    """What the HTML edition wrote: its folder and its pages in reading order."""

    folder: Path
    pages: tuple[Path, ...]


def page_file(chapter: RenderedChapter) -> str:
    """The file name of a chapter's page."""
    return f"{chapter.slug}.html"


def anchor_files(book: RenderedBook) -> dict[str, str]:
    """Map every id in the book (chapter anchors, sections, blocks, notes) to its page file."""
    owners: dict[str, str] = {}
    for chapter in book.chapters:
        name = page_file(chapter)
        owners[chapter.anchor] = name
        for entry in chapter.next_stages:
            owners[entry.ref_id] = name
        for element_id in chapter.ids:
            owners[element_id] = name
    return owners


def _link_pages(
    chapter: RenderedChapter, root: lxml_html.HtmlElement, owners: dict[str, str]
) -> tuple[Markup, list[str]]:
    """Return the chapter body ``root`` with in-book links pointing at pages, and the images
    it shows."""
    own = page_file(chapter)
    for link in root.iter("a"):
        href = link.get("href", "")
        if href.startswith("#"):
            target = owners.get(href[1:])
            if target and target != own:
                link.set("href", f"{target}{href}")
    images = [str(image.get("src")) for image in root.iter("img") if image.get("src")]
    inner = "".join(lxml_html.tostring(child, encoding="unicode") for child in root)
    return Markup((root.text or "") + inner), images  # our own rendered HTML, re-serialised


def _copy_assets(styles: Styles, manuscript: Path, images: set[str], folder: Path) -> None:
    stylesheet = styles.path(STYLESHEET)
    cleaned, _ = clean_stylesheet(styles.reader.read_text(stylesheet))
    (folder / STYLESHEET).write_text(cleaned, encoding="utf-8")
    fonts = stylesheet.parent / "fonts"
    if fonts.is_dir():
        # File by file through the confined opener: copytree would follow links out.
        styles.reader.copy_tree(fonts, folder / "fonts")
    inside = ConfinedFolders([manuscript])
    for source in sorted(images):
        file = manuscript / source
        # check has refused images outside the book (DB060/DB061); never copy one anyway.
        if not inside.allows(file) or not file.is_file():
            continue
        destination = folder / source
        destination.parent.mkdir(parents=True, exist_ok=True)
        if file.suffix.lower() == ".svg":
            # Scripts, handlers and references out of the image never reach the site.
            try:
                destination.write_bytes(clean_svg(ConfinedReader([manuscript]).read_bytes(file))[0])
            except NotAnSvgError:
                continue  # check reports it (DB063)
        else:
            shutil.copyfile(file, destination)


def _swap_into_place(staging: Path, destination: Path) -> None:
    """Put the finished ``staging`` folder where ``destination`` is, replacing it."""
    retired = None
    if destination.exists():
        retired = staging_folder(destination, "old")
        os.replace(destination, retired / destination.name)
    os.replace(staging, destination)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def build_site(
    book: RenderedBook,
    styles: Styles,
    manuscript: Path,
    destination: Path,
    trees: ChapterTrees,
    cover: tuple[str, Callable[[], bytes]] | None = None,
) -> SiteResult:
    """Write the HTML edition into the folder ``destination``; return what was written.

    The chapter bodies come from ``trees``, the build's one parse of the rendered HTML.
    ``cover`` (a file extension, and a function giving the picture's bytes, asked for once
    the pages are written: the picture may still be being drawn) is written as
    ``cover.<ext>`` and named by every page as its social-preview image.

    Raises OSError when the folder cannot be written (the previous site is then kept).
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    template = styles.environment().get_template("site-page.html.j2")
    owners = anchor_files(book)
    files = {chapter.slug: page_file(chapter) for chapter in book.chapters}
    contents = [{"href": page_file(c), "label": c.label, "title": c.title} for c in book.chapters]
    staging = staging_folder(destination, "staging")
    cover_file = f"cover{cover[0]}" if cover is not None else None
    try:
        images: set[str] = set()
        pages: list[Path] = []
        index = template.render(
            book=book, chapter=None, body=None, previous=None, contents=contents,
            following={"href": page_file(book.chapters[0]), "title": book.chapters[0].title}
            if book.chapters else None,
            stylesheet=STYLESHEET, files=files, cover=cover_file,
        )  # fmt: skip
        (staging / "index.html").write_text(index, encoding="utf-8")
        for position, chapter in enumerate(book.chapters):
            body, shown = _link_pages(chapter, trees.body(chapter), owners)
            images.update(shown)
            before = book.chapters[position - 1] if position > 0 else None
            after = book.chapters[position + 1] if position + 1 < len(book.chapters) else None
            page = template.render(
                book=book, chapter=chapter, body=body, contents=contents,
                previous={"href": page_file(before), "title": before.title} if before
                else {"href": "index.html", "title": book.labels.contents},
                following={"href": page_file(after), "title": after.title} if after else None,
                stylesheet=STYLESHEET, files=files, cover=cover_file,
            )  # fmt: skip
            (staging / page_file(chapter)).write_text(page, encoding="utf-8")
            pages.append(destination / page_file(chapter))
        if cover is not None:
            (staging / f"cover{cover[0]}").write_bytes(cover[1]())
        _copy_assets(styles, manuscript, images, staging)
        # mkdtemp made the folder 0700 and copytree copied the installed fonts' modes: the
        # site gets the modes the umask gives, like every other output.
        apply_output_modes(staging)
        _swap_into_place(staging, destination)
    except BaseException as error:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
        if isinstance(error, OSError) and not isinstance(error.filename, str):
            # A failed write (a full disk) names no file: name the site being written.
            raise OSError(error.errno, error.strerror, str(destination)) from error
        raise
    return SiteResult(destination, tuple(pages))
