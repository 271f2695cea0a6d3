"""Authoring commands: the order lock, order explanations (and later new, init, graph)."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

from tests.conftest import SAMPLE_MANUSCRIPT, WriteBook, chapter
from tests.e2e.test_cli import diagnostics_in, run


def _linked_book(write_book: WriteBook, first_items: str) -> Path:
    return write_book(
        {
            "one.md": chapter("One", f"Text.\n\n## Next Stages\n\n{first_items}"),
            "two.md": chapter("Two"),
            "three.md": chapter("Three"),
        }
    )


def test_order_write_saves_the_order_and_a_reordering_edit_is_reported(
    write_book: WriteBook,
) -> None:
    root = _linked_book(write_book, "- [Two](two.md) — a.\n- [Three](three.md) — b.\n")
    saved = run("order", root, "--write")
    assert saved.returncode == 0, saved.stderr
    lock = root / "reading-order.txt"
    slugs = [line for line in lock.read_text("utf-8").splitlines() if not line.startswith("#")]
    assert slugs == ["one", "two", "three"]
    assert run("check", "--strict", root).returncode == 0

    # Swap the two items: the derived order changes, and check names the first difference.
    (root / "one.md").write_text(
        chapter(
            "One", "Text.\n\n## Next Stages\n\n- [Three](three.md) — b.\n- [Two](two.md) — a.\n"
        ),
        "utf-8",
    )
    relaxed = run("check", root)
    assert relaxed.returncode == 0
    line_of_two = lock.read_text("utf-8").splitlines().index("two") + 1
    assert ("reading-order.txt", line_of_two, "DB045") in diagnostics_in(relaxed.stderr)
    assert "'three'" in relaxed.stderr
    assert run("check", "--strict", root).returncode == 1
    # Saving the new order settles it.
    assert run("order", "--strict", "--write", root).returncode == 0
    assert run("check", "--strict", root).returncode == 0


def test_order_explain_walks_back_to_the_start(tmp_path: Path) -> None:
    manuscript = tmp_path / "manuscript"
    shutil.copytree(SAMPLE_MANUSCRIPT, manuscript)
    result = run("order", manuscript, "--explain", "falling")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    order = run("order", manuscript).stdout.splitlines()
    position = next(row.split()[0] for row in order if row.split()[1] == "falling")
    assert lines[0].startswith(f"falling is chapter {position} of {len(order)}")
    assert lines[-1] == "why-you-keep-having-anxiety-dreams is the start chapter."
    assert all("Next Stages item" in line for line in lines[1:-1])


def test_order_explain_of_an_unknown_slug_is_a_usage_error(write_book: WriteBook) -> None:
    root = _linked_book(write_book, "- [Two](two.md) — a.\n- [Three](three.md) — b.\n")
    result = run("order", root, "--explain", "nowhere")
    assert result.returncode == 2
    assert "nowhere" in result.stderr


def test_init_makes_a_book_that_checks_and_builds_with_only_its_placeholder_to_write(
    tmp_path: Path,
) -> None:
    book = tmp_path / "mybook"
    made = run("init", book, "--title", "Night Notes: A Trial", "--author", "A. Writer")
    assert made.returncode == 0, made.stderr
    assert (book / "book.toml").is_file()
    assert (book / "styles" / "print.css").is_file()
    assert (book / "styles" / "fonts" / "OFL.txt").is_file()
    checked = run("check", book)
    assert checked.returncode == 0, checked.stderr
    # The first chapter's instructions to the author are the book's one problem: a warning,
    # so the book builds, and an error under --strict, so it is not published so.
    assert diagnostics_in(checked.stderr) == [("opening.md", 5, "DB024")]
    assert run("check", "--strict", book).returncode == 1
    built = run("build", book, "-o", tmp_path / "out", "--format", "html")
    assert built.returncode == 0, built.stderr
    page = (tmp_path / "out" / "night-notes-a-trial.html").read_text("utf-8")
    assert "Night Notes: A Trial" in page
    # A second init into the same folder refuses rather than overwriting.
    again = run("init", book)
    assert again.returncode == 2
    assert "already holds a book" in again.stderr


def test_new_after_adds_the_chapter_to_that_chapters_next_stages(tmp_path: Path) -> None:
    book = tmp_path / "mybook"
    assert run("init", book).returncode == 0
    made = run("new", "The Second Door", book, "--after", "opening")
    assert made.returncode == 0, made.stderr
    assert (book / "the-second-door.md").is_file()
    order = run("order", book)
    assert order.returncode == 0, order.stderr
    rows = [line.split()[1] for line in order.stdout.splitlines()]
    assert rows == ["opening", "the-second-door"]
    assert "(next stage of opening)" in order.stdout
    # Its own Next Stages lead back, so the graph has no dead end: the only problems left
    # are the placeholders init and new wrote, for the author to write over.
    checked = run("check", book)
    assert checked.returncode == 0, checked.stderr
    assert {code for _, _, code in diagnostics_in(checked.stderr)} == {"DB024"}
    duplicate = run("new", "The Second Door", book)
    assert duplicate.returncode == 2


def test_new_without_after_is_unreachable_until_linked(write_book: WriteBook) -> None:
    root = write_book({"one.md": chapter("One")})
    assert run("new", "Loose Thread", root).returncode == 0
    result = run("check", root)
    assert ("loose-thread.md", 1, "DB040") in diagnostics_in(result.stderr)


def test_graph_svg_has_every_chapter_and_an_arc_per_link(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ElementTree

    from dreambook.pipeline import check_manuscript
    from dreambook.render import typeset_inline

    result = run("graph", SAMPLE_MANUSCRIPT, "-o", tmp_path)
    assert result.returncode == 0, result.stderr
    (svg_path,) = tmp_path.glob("*-map.svg")
    root = ElementTree.parse(svg_path).getroot()
    namespace = "{http://www.w3.org/2000/svg}"
    labels = ["".join(text.itertext()) for text in root.iter(f"{namespace}text")]
    checked = check_manuscript(SAMPLE_MANUSCRIPT)
    # Titles as printed (curly apostrophes), numbered as the contents numbers them.
    titles = {c.slug: typeset_inline(c.title).striptags() for c in checked.book.chapters}
    for slug, (_, number) in checked.reading_order.labels().items():
        assert any(label.startswith(f"{number}. {titles[slug]}") for label in labels), slug
    solid = [p for p in root.iter(f"{namespace}path") if p.get("marker-end")]
    next_stage_edges = sum(len(edges) for edges in checked.graph.next_stages.values())
    assert len(solid) == next_stage_edges


def test_graph_dot_lists_nodes_and_edges_and_marks_unreachable_and_dead_ends(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {
            "one.md": chapter(
                "One", "See [three](three.md).\n\n## Next Stages\n\n- [Two](two.md) — on.\n"
            ),
            "two.md": chapter("Two"),
            "three.md": chapter("Three", "Alone.\n", ending="true"),
        }
    )
    result = run("graph", root, "-o", root.parent / "out", "--format", "dot")
    assert result.returncode == 0, result.stderr
    dot = (root.parent / "out" / "a-small-book-map.dot").read_text("utf-8")
    assert '"one" -> "two";' in dot
    assert '"one" -> "three" [style=dashed' in dot
    assert '"three" [label="3. Three", color="#b3261e", style=dashed]' in dot  # unreachable
    assert '"two" [label="2. Two", color="#c77700"]' in dot  # a dead end: no Next Stages


def test_html_edition_is_a_site_with_every_chapter_linked_in_reading_order(tmp_path: Path) -> None:
    from html.parser import HTMLParser
    from urllib.parse import urlsplit

    from dreambook.pipeline import check_manuscript

    class Page(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.ids: set[str] = set()
            self.links: list[tuple[str, str]] = []  # (href, rel)

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            values = dict(attrs)
            if values.get("id"):
                self.ids.add(str(values["id"]))
            if tag == "a" and values.get("href"):
                self.links.append((str(values["href"]), str(values.get("rel") or "")))

    result = run("build", SAMPLE_MANUSCRIPT, "-o", tmp_path, "--format", "html")
    assert result.returncode == 0, result.stderr
    (site,) = tmp_path.glob("*-site")
    pages = {}
    for path in site.glob("*.html"):
        page = Page()
        page.feed(path.read_text("utf-8"))
        pages[path.name] = page
    order = check_manuscript(SAMPLE_MANUSCRIPT).reading_order.slugs
    assert set(pages) == {"index.html", *(f"{slug}.html" for slug in order)}
    # Previous / next follow the reading order.
    for before, after in itertools.pairwise(order):
        assert (f"{after}.html", "next") in pages[f"{before}.html"].links
        assert (f"{before}.html", "prev") in pages[f"{after}.html"].links
    # Every link inside the book leads to a page that exists and an id on it.
    checked = 0
    for name, page in pages.items():
        for href, _ in page.links:
            parts = urlsplit(href)
            if parts.scheme:
                continue
            target = parts.path or name
            assert target in pages, (name, href)
            if parts.fragment:
                assert parts.fragment in pages[target].ids, (name, href)
            checked += 1
    assert checked > 100
    assert (site / "site.css").is_file()
    assert (site / "fonts" / "OFL.txt").is_file()
