"""Chunked, parallel layout makes the same book as one layout in one process.

The sample book is built twice, with ``--jobs 1`` (the whole book as one document) and with
``--jobs 2`` (chunks of chapters laid out by two worker processes and merged), and the two
PDFs are compared as a reader and a viewer see them: pages, the text on every page, the
outline, where every link lands, the named destinations and the page labels. Then the
chunk cache: a rebuild after an edit must equal a clean build of the edited manuscript,
and must have re-laid only the chunks the edit touched.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf
import pymupdf
import pytest

from dreambook.bench import write_synthetic_manuscript
from dreambook.export.pdf import layout
from dreambook.export.pdf.folios import PageMap, estimated_page_map, page_map_path, read_page_map
from dreambook.export.pdf.layout import ChunkedBook, PdfEdition, build_edition
from dreambook.export.pdf.variant import Variant
from dreambook.export.writer import BuildContext
from dreambook.identity import identity_of
from dreambook.pipeline import check_manuscript
from dreambook.render import render_book
from dreambook.styles import book_styles
from tests.conftest import REPO, SAMPLE_MANUSCRIPT, WriteBook, chapter
from tests.e2e.test_cli import run

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Builds:
    single: Path
    parallel: Path


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Builds]:
    """The sample book, both variants, laid out in one process and in chunks on two."""
    single = tmp_path_factory.mktemp("single")
    parallel = tmp_path_factory.mktemp("parallel")
    for output, jobs in ((single, "1"), (parallel, "2")):
        result = run(
            "build", SAMPLE_MANUSCRIPT, "-o", output, "--format", "pdf", "--variant", "all",
            "--jobs", jobs, "-v",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    # The chunked build really was chunked: its cache holds one PDF per chunk.
    chunk_folders = list((parallel / ".cache").glob("*.chunks"))
    assert len(chunk_folders) == 2
    assert all(len(list(folder.glob("*.pdf"))) >= 3 for folder in chunk_folders)
    assert not list((single / ".cache").glob("*.chunks"))
    # The interiors (the print build's cover wrap is laid out the same way either way).
    names = {p.name for p in single.glob("*.pdf") if not p.name.endswith("-cover.pdf")}
    return {name: Builds(single / name, parallel / name) for name in sorted(names)}


def _texts(path: Path) -> list[str]:
    with pymupdf.open(path) as document:
        return [page.get_text() for page in document]


def _links(path: Path) -> list[tuple[int, tuple[float, ...], int | None, str | None]]:
    with pymupdf.open(path) as document:
        return [
            (index, tuple(round(v, 1) for v in link["from"]), link.get("page"), link.get("uri"))
            for index, page in enumerate(document)
            for link in page.get_links()
        ]


def _destinations(path: Path) -> dict[str, tuple[int, float, float]]:
    with pikepdf.open(path) as pdf:
        pages = {page.obj.objgen: index for index, page in enumerate(pdf.pages)}
        tree = pikepdf.NameTree(pdf.Root.Names.Dests)
        return {
            name: (pages[target[0].objgen], round(float(target[2]), 1), round(float(target[3]), 1))
            for name, target in tree.items()
        }


@pytest.mark.parametrize("variant", ["digital", "print"])
def test_parallel_layout_has_the_same_pages_and_text(
    builds: dict[str, Builds], variant: str
) -> None:
    build = _pick(builds, variant)
    single, parallel = _texts(build.single), _texts(build.parallel)
    assert len(single) == len(parallel) > 20
    for number, (one, other) in enumerate(zip(single, parallel, strict=True), start=1):
        assert one == other, f"page {number} differs"


@pytest.mark.parametrize("variant", ["digital", "print"])
def test_parallel_layout_has_the_same_outline_links_and_destinations(
    builds: dict[str, Builds], variant: str
) -> None:
    build = _pick(builds, variant)
    with pymupdf.open(build.single) as one, pymupdf.open(build.parallel) as other:
        assert one.get_toc() == other.get_toc()
        assert len(one.get_toc()) > 14
        labels = [page.get_label() for page in one]
        assert labels == [page.get_label() for page in other]
    single_links, parallel_links = _links(build.single), _links(build.parallel)
    assert single_links == parallel_links
    if variant == "print":
        assert parallel_links == []  # a printed page has no links (PDF/X allows none)
    else:
        # Links between chunks land too: every internal link has a target page.
        internal = [link for link in parallel_links if link[3] is None]
        assert len(internal) > 100
        assert all(link[2] is not None and link[2] >= 0 for link in internal)
    assert _destinations(build.single) == _destinations(build.parallel)


def test_parallel_digital_pdf_keeps_one_structure_tree(builds: dict[str, Builds]) -> None:
    """PDF/UA: one Document element, every page and link annotation keyed in the parent tree."""
    with pikepdf.open(_pick(builds, "digital").parallel) as pdf:
        root = pdf.Root.StructTreeRoot
        (document,) = list(root.K)
        assert pikepdf.Name.Document == document.S
        numbers = root.ParentTree.Nums
        keys = [int(k) for k in numbers[::2]]
        assert keys == sorted(set(keys))
        used = [int(page.obj.StructParents) for page in pdf.pages]
        used += [
            int(annotation.StructParent)
            for page in pdf.pages
            for annotation in page.obj.get("/Annots", [])
            if "/StructParent" in annotation
        ]
        assert sorted(used) == keys
        assert int(root.ParentTreeNextKey) > max(keys)
        # Every element hangs from this one Document element, and every page it names is a
        # page of the book (none from a chunk's dropped last page).
        pages = {page.obj.objgen for page in pdf.pages}
        for element in document.K:
            assert element.P.objgen == document.objgen
            if "/Pg" in element:
                assert element.Pg.objgen in pages
        assert str(pdf.Root.Lang)
        assert "pdfuaid" in str(pdf.open_metadata())


@pytest.mark.parametrize("variant", ["digital", "print"])
def test_parallel_layout_draws_every_page_the_same(builds: dict[str, Builds], variant: str) -> None:
    """Pixel for pixel at 40 dpi: the merged fonts draw the glyphs each chunk drew."""
    build = _pick(builds, variant)
    with pymupdf.open(build.single) as one, pymupdf.open(build.parallel) as other:
        for number, (page, twin) in enumerate(zip(one, other, strict=True), start=1):
            assert page.get_pixmap(dpi=40).samples == twin.get_pixmap(dpi=40).samples, number


@pytest.mark.parametrize("variant", ["digital", "print"])
def test_parallel_layout_embeds_each_font_once_and_stays_small(
    builds: dict[str, Builds], variant: str
) -> None:
    build = _pick(builds, variant)
    programs: dict[str, set[tuple[int, int]]] = {}
    with pikepdf.open(build.parallel) as pdf:
        for page in pdf.pages:
            # The print edition's padding pages at the end have no fonts.
            for font in page.obj.Resources.get("/Font", pikepdf.Dictionary()).values():
                descriptor = font.DescendantFonts[0].FontDescriptor
                name = str(descriptor.FontName).split("+")[-1]
                programs.setdefault(name, set()).add(descriptor.FontFile2.objgen)
    assert "Vollkorn" in programs
    assert all(len(objects) == 1 for objects in programs.values()), programs
    assert build.parallel.stat().st_size <= 1.15 * build.single.stat().st_size


def _pick(builds: dict[str, Builds], variant: str) -> Builds:
    return next(
        b for name, b in builds.items() if name.endswith("-print.pdf") == (variant == "print")
    )


# --- the chunk cache -------------------------------------------------------------------------------


def _build(manuscript: Path, destination: Path) -> PdfEdition:
    """Lay out the digital PDF in chunks of about one chapter each, on two processes."""
    checked = check_manuscript(manuscript)
    book = render_book(checked.book, checked.graph, checked.reading_order)
    styles = book_styles(manuscript, checked.book.config)
    context = BuildContext(
        book=book,
        styles=styles,
        manuscript=manuscript,
        output=destination.parent,
        identity=identity_of(book.config, None),
        jobs=2,
        executor=None,
    )
    return build_edition(context, Variant.DIGITAL, destination, chunk_characters=1)


def _copy_sample(tmp_path: Path) -> Path:
    manuscript = tmp_path / "manuscript"
    shutil.copytree(SAMPLE_MANUSCRIPT, manuscript)
    return manuscript


def _edit(path: Path, old: str, new: str) -> None:
    """Replace the first ``old`` of the chapter's body (after its front matter) by ``new``."""
    text = path.read_text("utf-8")
    end = text.index("\n---", 3) + 4
    body = text[end:]
    assert old in body
    path.write_text(text[:end] + body.replace(old, new, 1), "utf-8")


@pytest.fixture
def reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")


@pytest.mark.usefixtures("reproducible")
@pytest.mark.parametrize(
    "edit",
    [
        pytest.param((" the ", " the very "), id="one sentence"),
        pytest.param(
            (" the ", " the " + "long aside that fills lines and " * 300), id="pages shift"
        ),
    ],
)
def test_a_cached_rebuild_equals_a_clean_build(tmp_path: Path, edit: tuple[str, str]) -> None:
    manuscript = _copy_sample(tmp_path)
    output = tmp_path / "out" / "book.pdf"
    first = _build(manuscript, output)
    assert first.chunks > 10
    # Cold: every chunk, then again with the numbers found and the make-up's choices.
    assert first.chunks_laid_out >= 2 * first.chunks - 1
    chapter_file = sorted(p for p in manuscript.rglob("*.md") if not p.name.startswith("_"))[4]
    _edit(chapter_file, *edit)
    again = _build(manuscript, output)
    clean = _build(manuscript, tmp_path / "clean" / "book.pdf")
    assert output.read_bytes() == (tmp_path / "clean" / "book.pdf").read_bytes()
    assert again.pages == clean.pages
    # The rebuild re-laid the edited chunk and, when its pages moved, the ones after it: not
    # the whole book.
    assert 1 <= again.chunks_laid_out < first.chunks_laid_out


@pytest.mark.usefixtures("reproducible")
def test_an_unchanged_rebuild_lays_out_nothing(tmp_path: Path) -> None:
    manuscript = _copy_sample(tmp_path)
    output = tmp_path / "out" / "book.pdf"
    _build(manuscript, output)
    before = output.read_bytes()
    again = _build(manuscript, output)
    assert again.chunks_laid_out == 0
    assert output.read_bytes() == before


@pytest.mark.usefixtures("reproducible")
def test_the_cache_never_serves_a_chunk_whose_image_changed(
    write_book: WriteBook, tmp_path: Path
) -> None:
    from PIL import Image

    def picture(path: Path, size: tuple[int, int]) -> None:
        Image.new("RGB", size, (40, 80, 120)).save(path)

    pages = "A paragraph of some length that keeps the reader company. " * 30
    root = write_book(
        {
            "one.md": chapter(
                "One",
                f"{pages}\n\n![A figure](figure.png)\n\n## Next Stages\n\n- [Two](two.md) — on.\n",
            ),
            "two.md": chapter("Two", f"{pages}\n\nBack to [one](one.md).\n"),
        }
    )
    picture(root / "figure.png", (40, 30))
    output = tmp_path / "out" / "book.pdf"
    _build(root, output)
    # Same name, other content: a tall picture pushes the text onto more pages.
    picture(root / "figure.png", (40, 300))
    again = _build(root, output)
    _build(root, tmp_path / "clean" / "book.pdf")
    assert again.chunks_laid_out >= 1
    assert output.read_bytes() == (tmp_path / "clean" / "book.pdf").read_bytes()


@pytest.mark.usefixtures("reproducible")
def test_a_damaged_chunk_cache_is_laid_out_again(tmp_path: Path) -> None:
    manuscript = _copy_sample(tmp_path)
    output = tmp_path / "out" / "book.pdf"
    _build(manuscript, output)
    # Built once more, unchanged: the cache keeps just the chunks a rebuild reads (it starts
    # from each chunk's last layout), so the entries damaged below are ones it must use.
    _build(manuscript, output)
    for entry in (output.parent / ".cache").glob("*.chunks/*.json"):
        entry.write_text("{", "utf-8")
        break
    for entry in list((output.parent / ".cache").glob("*.chunks/*.pdf"))[-1:]:
        entry.unlink()
    fonts = list((output.parent / ".cache").glob("*.chunks/fonts/*.ttf"))
    assert fonts  # the united font programs are kept too; damage every one
    for entry in fonts:
        entry.write_bytes(entry.read_bytes()[:-40] + b"\0" * 40)
    again = _build(manuscript, output)
    _build(manuscript, tmp_path / "clean" / "book.pdf")
    assert 1 <= again.chunks_laid_out <= 2
    assert output.read_bytes() == (tmp_path / "clean" / "book.pdf").read_bytes()


def test_cpu_count_is_the_default_number_of_jobs() -> None:
    from dreambook.workers import usable_cpus

    assert usable_cpus() == len(os.sched_getaffinity(0))


@pytest.mark.usefixtures("reproducible")
def test_a_new_system_font_lays_every_chunk_out_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """System fonts are the fallbacks for characters the book's fonts lack: a cached chunk
    laid out before a font was installed may have drawn the wrong glyphs."""
    from dreambook.export.pdf import layout as pdf_writer
    from dreambook.export.pdf.chunks import system_fonts_fingerprint

    fonts = tmp_path / "fonts"
    fonts.mkdir()
    monkeypatch.setattr(
        pdf_writer, "system_fonts_fingerprint", lambda: system_fonts_fingerprint([str(fonts)])
    )
    manuscript = _copy_sample(tmp_path)
    output = tmp_path / "out" / "book.pdf"
    first = _build(manuscript, output)
    assert _build(manuscript, output).chunks_laid_out == 0
    (fonts / "Another.ttf").write_bytes(b"not really a font, but a new file in a font folder")
    again = _build(manuscript, output)
    assert again.chunks_laid_out >= first.chunks


@pytest.mark.usefixtures("reproducible")
def test_an_edited_stylesheet_lays_every_chunk_out_again(tmp_path: Path) -> None:
    manuscript = _copy_sample(tmp_path)
    own = manuscript / "my-styles"
    own.mkdir()
    stylesheet = own / "print.css"
    stylesheet.write_text((REPO / "styles" / "print.css").read_text("utf-8"), "utf-8")
    toml = manuscript / "book.toml"
    toml.write_text(
        toml.read_text("utf-8").replace("[book]\n", '[book]\nstyles = "my-styles"\n', 1)
    )
    output = tmp_path / "out" / "book.pdf"
    first = _build(manuscript, output)
    assert _build(manuscript, output).chunks_laid_out == 0
    stylesheet.write_text(stylesheet.read_text("utf-8") + "\np { letter-spacing: 0.02em; }\n")
    again = _build(manuscript, output)
    _build(manuscript, tmp_path / "clean" / "book.pdf")
    assert again.chunks_laid_out >= first.chunks
    assert output.read_bytes() == (tmp_path / "clean" / "book.pdf").read_bytes()


@pytest.mark.usefixtures("reproducible")
def test_no_chunk_makes_a_pdf_in_a_layout_the_make_up_lays_out_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk's PDF costs about three quarters of its layout (issue 18): a layout whose
    make-up decisions ask for another fill makes none. (One whose numbers then move may
    have made one: that is known only once every chunk is back.)"""
    laid: list[tuple[int, dict[str, object], bool]] = []
    original = ChunkedBook._lay_out_on_workers

    def recording(self: ChunkedBook, todo: Sequence[Any]) -> None:
        original(self, todo)
        for item in todo:
            made = self.current[item.index][1].pdf_path is not None
            laid.append((item.index, dict(item.job.fill), made))

    monkeypatch.setattr(ChunkedBook, "_lay_out_on_workers", recording)
    # Plain text and many loose lines: layouts whose space above headings held but whose
    # paragraphs are tightened after.
    manuscript = write_synthetic_manuscript(tmp_path / "book", chapters=6, words=12_000)
    edition = _build(manuscript, tmp_path / "out" / "book.pdf")
    assert edition.chunks_laid_out == len(laid) > 2 * edition.chunks  # make-up was done
    thrown_away = [
        (index, n)
        for n, (index, fill, made) in enumerate(laid)
        if made and any(i == index and f != fill for i, f, _ in laid[n + 1 :])
    ]
    assert not thrown_away
    # Every chunk's last layout made the PDF the book was merged from.
    last = {index: made for index, _, made in laid}
    assert len(last) == edition.chunks
    assert all(last.values())


@pytest.mark.usefixtures("reproducible")
def test_a_cold_build_guesses_the_later_chapters_from_the_pages_of_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plain benchmark text sets some 2,100 characters of HTML a page where the first
    guess counts 1,800: after the first chunks of chapters are laid out, the other chunks
    print numbers guessed at the density measured on them (issue 18)."""
    guesses: list[PageMap] = []

    def spying(*arguments: Any) -> PageMap:
        guesses.append(estimated_page_map(*arguments))
        return guesses[-1]

    monkeypatch.setattr(layout, "estimated_page_map", spying)
    manuscript = write_synthetic_manuscript(tmp_path / "book", chapters=12, words=24_000)
    output = tmp_path / "out" / "book.pdf"
    edition = _build(manuscript, output)
    first, second = guesses  # the guess before any layout, and the one after the first wave
    final = read_page_map(page_map_path(output.parent / ".cache", output))
    assert final is not None
    chapters = [f"chapter-{n:04d}" for n in range(1, 13)]
    body = {anchor: final.anchor_pages[anchor] - final.body_start for anchor in chapters}
    off = {anchor: abs(second.anchor_pages[anchor] - page) for anchor, page in body.items()}
    assert max(off.values()) <= 2, off
    # The fixed density's guess is off by more for the last chapters.
    assert abs(first.anchor_pages[chapters[-1]] - body[chapters[-1]]) > off[chapters[-1]]
    assert edition.pages == final.page_count
