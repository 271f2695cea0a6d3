"""The preview after a save: one warm pool, pages drawn as chunks come back, only what changed.

Correctness only (no timings): the pictures the spreads view shows are those of the PDF the
build wrote, the pages that did not change are not drawn again, the workers are the same
for every build (and replaced when one dies), and ``time_save`` reports every stage.
"""

from __future__ import annotations

import json
import os
import queue
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from dreambook.export.writer import ChunkDone
from dreambook.pipeline import build_book
from dreambook.preview import Preview, _page_digests, time_save
from dreambook.workers import usable_cpus
from tests.conftest import WriteBook, chapter

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(usable_cpus() < 2, reason="the preview keeps no pool on a single CPU"),
]

PARAGRAPH = (
    "The corridor bends again, and the door you wanted is further off than it was a moment "
    "ago; the light under it changes colour as you walk. "
)


def _book(write_book: WriteBook) -> Path:
    """Four chapters of a few pages each, linked in a row."""
    files = {}
    names = ["one", "two", "three", "four"]
    for index, name in enumerate(names):
        after = names[index + 1] if index + 1 < len(names) else None
        stages = f"\n## Next Stages\n\n- [{after.title()}]({after}.md) — on.\n" if after else ""
        body = "\n\n".join(f"{PARAGRAPH * 4}{name} {n}." for n in range(12))
        files[f"{name}.md"] = chapter(name.title(), body + "\n" + stages)
    return write_book(files)


def _events(preview: Preview) -> queue.Queue[str]:
    return preview.events.subscribe()


def _drained(listener: queue.Queue[str]) -> list[tuple[str, dict[str, object]]]:
    found = []
    while not listener.empty():
        head, data = listener.get().strip().split("\n", 1)
        found.append((head.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return found


def _pictures_match(preview: Preview) -> None:
    """Every page picture shows the page of the PDF written (drawn again here to compare)."""
    import pypdfium2
    from PIL import Image, ImageChops

    assert preview.pdf is not None
    document = pypdfium2.PdfDocument(str(preview.pdf))
    try:
        assert len(preview.page_images) == len(document)
        for index, name in enumerate(preview.page_images):
            expected = document[index].render(scale=1.5).to_pil().convert("RGB")
            with Image.open(preview.output / "pages" / name) as shown:
                difference = ImageChops.difference(expected, shown.convert("RGB"))
                assert difference.getbbox() is None, f"{name} is not page {index + 1}"
    finally:
        document.close()


@pytest.fixture
def previewed(write_book: WriteBook, tmp_path: Path) -> Iterator[tuple[Preview, Path]]:
    root = _book(write_book)
    preview = Preview(root, tmp_path / "preview")
    with preview.warm_pool():
        html = preview.first_build()
        preview.finish_first_build(html)
        assert preview.pdf is not None
        assert preview.page_images
        yield preview, root


def test_a_save_redraws_only_the_changed_pages_and_they_come_while_chunks_are_laid_out(
    previewed: tuple[Preview, Path],
) -> None:
    preview, root = previewed
    folder = preview.output / "pages"
    before = {name: (folder / name).stat().st_mtime_ns for name in preview.page_images}
    digests = _page_digests(preview.pdf)  # type: ignore[arg-type]
    listener = _events(preview)
    text = (root / "three.md").read_text("utf-8")
    (root / "three.md").write_text(text.replace("three 3.", "three 3, edited.", 1), "utf-8")
    preview.rebuild([root / "three.md"])
    events = _drained(listener)
    names = [name for event, data in events if event == "pages" for name in data["images"]]  # type: ignore[attr-defined]
    kinds = [event for event, _ in events]
    # The HTML edition reloads first; pictures follow, then the finished book.
    assert kinds[0] == "reload", kinds
    assert kinds[-1] == "pdf", kinds
    assert kinds.index("pages") < kinds.index("pdf")
    # Drawn while the layout went on (from a chunk's PDF), not only after it.
    assert preview.moments["chunk layouts"] >= 1
    assert "first page" in preview.moments
    after = _page_digests(preview.pdf)  # type: ignore[arg-type]
    changed = {preview.page_images[i] for i, d in enumerate(after) if digests[i] != d}
    assert changed, "the edit changed no page"
    assert changed <= set(names)
    # A page no layout of the rebuild changed was not drawn again (its file is the first
    # build's); a page an intermediate layout changed is drawn back as the book settles.
    for name in set(preview.page_images) - set(names):
        assert (folder / name).stat().st_mtime_ns == before[name], name
    # The front matter (title page, contents) lies in a chunk of its own, not laid out again.
    assert "page-0001.png" not in names
    assert len(set(names) - {"cover.png"}) < len(preview.page_images)
    _pictures_match(preview)


def test_a_page_more_or_less_changes_the_pictures_to_match(
    previewed: tuple[Preview, Path],
) -> None:
    preview, root = previewed
    pages = len(preview.page_images)
    stages = "\n## Next Stages\n\n- [Three](three.md) — on.\n"
    long = "\n\n".join(PARAGRAPH * 8 for _ in range(16))
    (root / "two.md").write_text(chapter("Two", long + "\n" + stages), "utf-8")
    preview.rebuild([root / "two.md"])
    assert len(preview.page_images) > pages
    _pictures_match(preview)
    (root / "two.md").write_text(chapter("Two", "Short now.\n" + stages), "utf-8")
    preview.rebuild([root / "two.md"])
    assert len(preview.page_images) < pages
    _pictures_match(preview)
    assert not (preview.output / "pages" / f"page-{pages:04d}.png").exists()


def _pids(preview: Preview) -> set[int]:
    assert preview.executor is not None
    return set(preview.executor.pool._processes or {})  # type: ignore[attr-defined]


def test_every_build_uses_the_one_warm_pool_and_a_dead_worker_is_replaced(
    previewed: tuple[Preview, Path],
) -> None:
    preview, root = previewed
    workers = _pids(preview)
    assert len(workers) == usable_cpus()
    (root / "one.md").write_text(
        (root / "one.md").read_text("utf-8").replace("one 1.", "one 1, again.", 1), "utf-8"
    )
    preview.rebuild([root / "one.md"])
    assert preview.last_pdf is not None
    assert preview.last_pdf.ok
    assert _pids(preview) == workers
    # A worker killed (as a crashing layout would): the next build runs on a new pool.
    os.kill(next(iter(workers)), signal.SIGKILL)
    (root / "one.md").write_text(
        (root / "one.md").read_text("utf-8").replace("one 2.", "one 2, again.", 1), "utf-8"
    )
    preview.rebuild([root / "one.md"])
    assert preview.last_pdf is not None
    assert preview.last_pdf.ok
    assert _pids(preview).isdisjoint(workers)
    _pictures_match(preview)


def test_without_the_warm_pool_each_build_makes_its_own(
    write_book: WriteBook, tmp_path: Path
) -> None:
    preview = Preview(_book(write_book), tmp_path / "preview")
    assert preview.executor is None
    preview.finish_first_build(preview.first_build())
    assert preview.pdf is not None
    assert preview.pdf.is_file()
    _pictures_match(preview)


def test_each_chunk_done_holds_the_pages_the_merged_book_has_there(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root = _book(write_book)
    seen: dict[int, list[str]] = {}

    def chunk_done(done: ChunkDone) -> None:
        assert done.variant == "digital"
        seen[done.first_page] = _page_digests(done.pdf)[: done.pages]

    result = build_book(
        root, tmp_path / "out", ("pdf",), ("digital",), jobs=2, chunk_done=chunk_done
    )
    (pdf,) = result.files
    merged = _page_digests(pdf)
    assert 0 in seen  # the front matter
    assert len(seen) >= 2  # and the chapters
    covered = sorted(
        page for first, pages in seen.items() for page in range(first, first + len(pages))
    )
    assert covered == list(range(len(merged)))
    for first, pages in seen.items():
        assert merged[first : first + len(pages)] == pages


def test_time_save_reports_every_stage(write_book: WriteBook, tmp_path: Path) -> None:
    root = _book(write_book)
    times = time_save(root, tmp_path / "work")
    for stage in (
        "html",
        "spreads",
        "draw",
        "pdf check",
        "pdf render",
        "pdf layout",
        "first build",
    ):
        assert times[stage] >= 0, stage
    assert times["html"] <= times["spreads"]
    assert times["chunk layouts"] >= 1
    assert times["pages drawn"] >= 1
    # The saved book is the copy, and the copy changed; the manuscript did not.
    assert "or so it seemed at the time" not in "".join(
        p.read_text("utf-8") for p in root.glob("*.md")
    )
    assert "or so it seemed at the time" in "".join(
        p.read_text("utf-8") for p in (tmp_path / "work" / "book").glob("*.md")
    )
