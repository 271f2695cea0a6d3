"""The chapter graph: resolving Next Stages and cross-references, its diagnostics, the reading order.

Each test writes a small manuscript with the ``write_book`` fixture and runs the real
stages on it: load_book -> build_graph -> plan_reading_order (or pipeline.check_manuscript).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dreambook.diagnostics import Diagnostic, Severity
from dreambook.graph import (
    ChapterGraph,
    CrossReference,
    NextStage,
    OrderEntry,
    Placement,
    ReadingOrder,
    build_graph,
    plan_reading_order,
)
from dreambook.manuscript import Book, load_book
from dreambook.pipeline import Options, check_manuscript
from tests.conftest import WriteBook, chapter

# --- helpers ----------------------------------------------------------------------------------


def _toml(start: str | None = "one", appendix: list[str] | None = None) -> str:
    """Return a book.toml: [book] on line 1, start on line 5, appendix on line 6 (when given)."""
    lines = ["[book]", 'title = "A Small Book"', 'author = "Test Author"', 'language = "en"']
    if start is not None:
        lines.append(f'start = "{start}"')
    if appendix is not None:
        lines.append("appendix = [" + ", ".join(f'"{slug}"' for slug in appendix) + "]")
    return "\n".join(lines) + "\n"


def _next_stages(*items: str) -> str:
    """Return a chapter body that ends with a Next Stages list of ``items``."""
    listed = "\n".join(f"- {item}" for item in items)
    return f"Some text.\n\n## Next Stages\n\n{listed}\n"


def _resolve(root: Path) -> tuple[Book, ChapterGraph, ReadingOrder, list[Diagnostic]]:
    """Run load -> graph -> reading order and return everything with all diagnostics."""
    book, load_diagnostics = load_book(root)
    graph, graph_diagnostics = build_graph(book)
    order, order_diagnostics = plan_reading_order(book, graph)
    return book, graph, order, [*load_diagnostics, *graph_diagnostics, *order_diagnostics]


def _with_code(diagnostics: list[Diagnostic], code: str) -> list[Diagnostic]:
    return [d for d in diagnostics if d.code == code]


def _line_of(path: Path, needle: str) -> int:
    """Return the 1-based line of ``path`` holding ``needle`` (which must occur on exactly one line)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = [number for number, text in enumerate(lines, start=1) if needle in text]
    assert len(found) == 1, f"{needle!r} occurs on lines {found} of {path}"
    return found[0]


# --- Next Stages: the link form ---------------------------------------------------------------


def test_next_stage_links_resolve_relative_paths_across_subfolders(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages("[Two](part-a/two.md) — down a folder")),
            "part-a/two.md": chapter("Two", _next_stages("[Three](../part-b/x.md) — sideways")),
            "part-b/x.md": chapter("Three", _next_stages("[One](../one.md) — back up")),
        }
    )
    _, graph, _, diagnostics = _resolve(root)
    assert graph.successors("one") == ("two",)
    assert graph.successors("two") == ("x",)
    assert graph.successors("x") == ("one",)
    assert _with_code(diagnostics, "DB030") == []


@pytest.mark.parametrize(
    "href",
    ["part/two.md", "./part/two.md", "other/../part/two.md", "part/./two.md"],
)
def test_next_stage_link_path_is_normalised_before_matching(
    write_book: WriteBook, href: str
) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages(f"[Two]({href}) — go")),
            "part/two.md": chapter("Two"),
        }
    )
    _, graph, _, diagnostics = _resolve(root)
    assert graph.successors("one") == ("two",)
    assert _with_code(diagnostics, "DB030") == []


@pytest.mark.parametrize("separator", ["—", "–", "-", ":", " —"])
def test_link_item_blurb_drops_the_leading_dash_or_colon(
    write_book: WriteBook, separator: str
) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages(f"[Two](two.md){separator} why to go there")),
            "two.md": chapter("Two"),
        }
    )
    _, graph, _, _ = _resolve(root)
    (edge,) = graph.next_stages["one"]
    assert edge.blurb == "why to go there"


def test_link_item_without_blurb_has_empty_blurb(write_book: WriteBook) -> None:
    root = write_book(
        {"one.md": chapter("One", _next_stages("[Two](two.md)")), "two.md": chapter("Two")}
    )
    _, graph, _, _ = _resolve(root)
    assert graph.next_stages["one"] == (
        NextStage("one", "two", "", _line_of(root / "one.md", "[Two](two.md)")),
    )


# --- Next Stages: the bare-title form ---------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        "Someone’s Chasing You — Again — why to go there",
        "Someone's Chasing You — Again — why to go there",
        "someone’s chasing you – again – why to go there",
        "SOMEONES CHASING YOU - AGAIN: why to go there",
        "Someone‘s  Chasing-You—Again, why to go there",
        "someone's chasing you again - why to go there",
    ],
)
def test_bare_title_matches_ignoring_case_punctuation_apostrophe_and_dash_style(
    write_book: WriteBook, item: str
) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages(item)),
            "chased.md": chapter("Someone’s Chasing You — Again"),
        }
    )
    _, graph, _, diagnostics = _resolve(root)
    (edge,) = graph.next_stages["one"]
    assert edge.target == "chased"
    assert edge.blurb == "why to go there"
    assert _with_code(diagnostics, "DB030") == []


def test_bare_title_alone_resolves_with_empty_blurb(write_book: WriteBook) -> None:
    root = write_book({"one.md": chapter("One", _next_stages("Two")), "two.md": chapter("Two")})
    _, graph, _, _ = _resolve(root)
    assert graph.next_stages["one"] == (
        NextStage("one", "two", "", _line_of(root / "one.md", "- Two")),
    )


def test_title_and_subtitle_form_resolves_and_blurb_excludes_the_subtitle(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {
            "one.md": chapter(
                "One", _next_stages("Falling — When the Ground Gives Way — the classic one")
            ),
            "falling.md": chapter("Falling", subtitle="When the Ground Gives Way"),
        }
    )
    _, graph, _, _ = _resolve(root)
    (edge,) = graph.next_stages["one"]
    assert (edge.target, edge.blurb) == ("falling", "the classic one")


def test_bare_title_of_chapter_with_subtitle_still_matches_title_alone(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages("Falling — the classic one")),
            "falling.md": chapter("Falling", subtitle="When the Ground Gives Way"),
        }
    )
    _, graph, _, _ = _resolve(root)
    (edge,) = graph.next_stages["one"]
    assert (edge.target, edge.blurb) == ("falling", "the classic one")


def test_longest_matching_title_wins(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter(
                "One", _next_stages("Falling Again — the second time", "Falling — the first time")
            ),
            "falling.md": chapter("Falling"),
            "falling-again.md": chapter("Falling Again"),
        }
    )
    _, graph, _, diagnostics = _resolve(root)
    assert [(e.target, e.blurb) for e in graph.next_stages["one"]] == [
        ("falling-again", "the second time"),
        ("falling", "the first time"),
    ]
    assert _with_code(diagnostics, "DB032") == []


def test_title_that_is_a_word_prefix_does_not_match_a_longer_word(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages("Fallingwater — a house, not a chapter")),
            "fall.md": chapter("Falling"),
        }
    )
    _, graph, _, diagnostics = _resolve(root)
    assert graph.successors("one") == ()
    assert [d.code for d in diagnostics if d.code.startswith("DB03")] == ["DB030"]


@pytest.mark.parametrize("title", ["Who Is Chasing You?", "Run!"])
def test_bare_title_ending_in_question_or_exclamation_mark_gives_a_clean_blurb(
    write_book: WriteBook, title: str
) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages(f"{title} — turn and look")),
            "target.md": chapter(title),
        }
    )
    _, graph, _, _ = _resolve(root)
    (edge,) = graph.next_stages["one"]
    assert (edge.target, edge.blurb) == ("target", "turn and look")


def test_next_stage_edges_keep_the_item_order_with_their_lines(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter(
                "One",
                _next_stages(
                    "[Charlie](c.md) — third file, first item",
                    "Alpha — first file, second item",
                    "[Bravo](b.md): second file, third item",
                ),
            ),
            "a.md": chapter("Alpha"),
            "b.md": chapter("Bravo"),
            "c.md": chapter("Charlie"),
        }
    )
    _, graph, _, _ = _resolve(root)
    one = root / "one.md"
    assert graph.next_stages["one"] == (
        NextStage("one", "c", "third file, first item", _line_of(one, "[Charlie]")),
        NextStage("one", "a", "first file, second item", _line_of(one, "Alpha —")),
        NextStage("one", "b", "second file, third item", _line_of(one, "[Bravo]")),
    )
    assert graph.successors("one") == ("c", "a", "b")


def test_text_after_the_next_stages_list_is_not_an_item(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter(
                "One",
                _next_stages("[Two](two.md) — go") + "\nA closing note about [Three](c.md).\n",
            ),
            "two.md": chapter("Two"),
            "c.md": chapter("Three"),
        }
    )
    _, graph, _, _ = _resolve(root)
    assert graph.successors("one") == ("two",)
    assert [r.target for r in graph.cross_references["one"]] == ["c"]


def test_paragraph_after_an_empty_last_item_is_not_a_next_stage(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter(
                "One",
                "Text.\n\n## Next Stages\n\n- [Two](two.md) — go\n-\n\n"
                "A closing note about [Three](c.md).\n",
            ),
            "two.md": chapter("Two"),
            "c.md": chapter("Three"),
        }
    )
    _, graph, _, _ = _resolve(root)
    assert graph.successors("one") == ("two",)


# --- cross-references -------------------------------------------------------------------------


def test_link_to_another_chapter_file_is_a_cross_reference(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter("One", "See [the other one](part/other.md) for more.\n"),
            "part/other.md": chapter("Other", "Back to [the start](../one.md).\n"),
        }
    )
    _, graph, _, diagnostics = _resolve(root)
    assert graph.cross_references["one"] == (
        CrossReference("one", "other", None, "the other one", _line_of(root / "one.md", "See")),
    )
    assert [r.target for r in graph.cross_references["other"]] == ["one"]
    assert _with_code(diagnostics, "DB031") == []


def test_link_to_a_section_of_another_chapter_keeps_the_section_id(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter("One", "Read [the answer](other.md#quick-answer).\n"),
            "other.md": chapter("Other", "## Quick Answer\n\nYes.\n"),
        }
    )
    _, graph, _, diagnostics = _resolve(root)
    assert graph.cross_references["one"] == (
        CrossReference(
            "one", "other", "quick-answer", "the answer", _line_of(root / "one.md", "Read")
        ),
    )
    assert _with_code(diagnostics, "DB031") == []


def test_fragment_only_link_refers_to_a_section_of_the_same_chapter(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {
            "one.md": chapter(
                "One", "Text.\n\n## Common Scenarios\n\nSee [above](#common-scenarios).\n"
            )
        }
    )
    _, graph, _, diagnostics = _resolve(root)
    assert graph.cross_references["one"] == (
        CrossReference(
            "one", "one", "common-scenarios", "above", _line_of(root / "one.md", "See [above]")
        ),
    )
    assert _with_code(diagnostics, "DB031") == []


def test_web_addresses_and_links_to_non_chapter_files_are_ignored(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter(
                "One",
                "Links: [web](https://example.com/missing.md), [plain](http://example.com/),\n"
                "[mail](mailto:someone@example.com), [pdf](handout.pdf), [notes](notes.txt#x),\n"
                "[image](pictures/dream.png).\n",
            )
        }
    )
    _, graph, _, diagnostics = _resolve(root)
    assert graph.cross_references["one"] == ()
    assert _with_code(diagnostics, "DB031") == []


# --- diagnostics ------------------------------------------------------------------------------


def test_next_stage_link_to_a_missing_file_is_db030_with_line(write_book: WriteBook) -> None:
    root = write_book({"one.md": chapter("One", _next_stages("[Gone](gone.md) — nowhere"))})
    _, graph, _, diagnostics = _resolve(root)
    (found,) = _with_code(diagnostics, "DB030")
    assert found.path == root / "one.md"
    assert found.line == _line_of(root / "one.md", "[Gone](gone.md)")
    assert found.severity is Severity.WARNING
    assert "gone.md" in found.message
    assert graph.successors("one") == ()


def test_bare_title_matching_no_chapter_is_db030_with_line(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages("[Two](two.md) — fine", "Nowhere Land — lost")),
            "two.md": chapter("Two"),
        }
    )
    _, graph, _, diagnostics = _resolve(root)
    (found,) = _with_code(diagnostics, "DB030")
    assert (found.path, found.line) == (root / "one.md", _line_of(root / "one.md", "Nowhere"))
    assert "Nowhere Land" in found.message
    assert graph.successors("one") == ("two",)


def test_next_stage_link_leaving_the_manuscript_folder_is_db030(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages("[Part](part/two.md) — go")),
            "part/two.md": chapter("Two", _next_stages("[Outside](../../x.md) — escape")),
        }
    )
    # The file exists, but outside the manuscript: it is still not a chapter of the book.
    (tmp_path / "x.md").write_text(chapter("Outside"), encoding="utf-8")
    _, graph, _, diagnostics = _resolve(root)
    (found,) = _with_code(diagnostics, "DB030")
    two = root / "part" / "two.md"
    assert (found.path, found.line) == (two, _line_of(two, "../../x.md"))
    assert graph.successors("two") == ()


def test_cross_reference_to_a_missing_file_is_db031_with_line(write_book: WriteBook) -> None:
    root = write_book(
        {"one.md": chapter("One", "First line.\n\nSee [the lost one](lost.md) too.\n")}
    )
    _, graph, _, diagnostics = _resolve(root)
    (found,) = _with_code(diagnostics, "DB031")
    assert (found.path, found.line) == (root / "one.md", _line_of(root / "one.md", "lost.md"))
    assert "lost.md" in found.message
    assert graph.cross_references["one"] == ()


def test_cross_reference_to_a_missing_section_is_db031_with_a_close_match_hint(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {
            "one.md": chapter("One", "Read [the answer](other.md#the-quick-answer).\n"),
            "other.md": chapter("Other", "## Quick Answer\n\n## Common Scenarios\n"),
        }
    )
    _, graph, _, diagnostics = _resolve(root)
    (found,) = _with_code(diagnostics, "DB031")
    assert (found.path, found.line) == (root / "one.md", _line_of(root / "one.md", "Read"))
    assert "#the-quick-answer" in found.message
    assert found.hint is not None
    assert "#quick-answer" in found.hint
    assert graph.cross_references["one"] == ()


def test_fragment_only_link_to_a_missing_section_is_db031(write_book: WriteBook) -> None:
    root = write_book({"one.md": chapter("One", "## Intro\n\nSee [there](#intor).\n")})
    _, _, _, diagnostics = _resolve(root)
    (found,) = _with_code(diagnostics, "DB031")
    assert (found.path, found.line) == (root / "one.md", _line_of(root / "one.md", "#intor"))
    assert found.hint is not None
    assert "#intro" in found.hint


def test_bare_title_shared_by_two_chapters_is_db032_and_no_edge(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages("Twins — which one?")),
            "a/twin.md": chapter("Twins"),
            "b/other-twin.md": chapter("Twins"),
        }
    )
    _, graph, _, diagnostics = _resolve(root)
    (found,) = _with_code(diagnostics, "DB032")
    assert (found.path, found.line) == (root / "one.md", _line_of(root / "one.md", "Twins"))
    assert "a/twin.md" in found.message
    assert "b/other-twin.md" in found.message
    assert _with_code(diagnostics, "DB030") == []
    assert graph.successors("one") == ()


@pytest.mark.parametrize("item", ["[Me](one.md) — again", "One — again"])
def test_next_stage_leading_back_to_its_own_chapter_is_db033(
    write_book: WriteBook, item: str
) -> None:
    root = write_book({"one.md": chapter("One", _next_stages(item))})
    _, graph, _, diagnostics = _resolve(root)
    (found,) = _with_code(diagnostics, "DB033")
    assert (found.path, found.line) == (root / "one.md", _line_of(root / "one.md", "again"))
    assert graph.successors("one") == ()


def test_same_target_named_twice_is_db034_on_the_second_item(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter(
                "One",
                _next_stages("[Two](two.md) — first mention", "Two — second mention"),
            ),
            "two.md": chapter("Two"),
        }
    )
    _, graph, _, diagnostics = _resolve(root)
    one = root / "one.md"
    (found,) = _with_code(diagnostics, "DB034")
    assert (found.path, found.line) == (one, _line_of(one, "second mention"))
    assert f"line {_line_of(one, 'first mention')}" in found.message
    assert graph.next_stages["one"] == (
        NextStage("one", "two", "first mention", _line_of(one, "first mention")),
    )


def test_chapter_no_next_stage_chain_reaches_is_db040_on_its_file(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages("Two")),
            "two.md": chapter("Two"),
            "part/stray.md": chapter("Stray", _next_stages("One")),
        }
    )
    _, _, order, diagnostics = _resolve(root)
    (found,) = _with_code(diagnostics, "DB040")
    assert (found.path, found.line) == (root / "part" / "stray.md", 1)
    assert found.severity is Severity.WARNING
    assert order.entries[-1] == OrderEntry("stray", Placement.UNREACHABLE)


def test_missing_start_is_db005_and_the_first_chapter_file_starts(write_book: WriteBook) -> None:
    # File order is path order: "part/alpha.md" sorts before "zebra.md".
    root = write_book(
        {
            "zebra.md": chapter("Zebra"),
            "part/alpha.md": chapter("Alpha", _next_stages("[Zebra](../zebra.md)")),
        },
        book_toml=_toml(start=None),
    )
    _, _, order, diagnostics = _resolve(root)
    (found,) = _with_code(diagnostics, "DB005")
    assert (found.path, found.line) == (root / "book.toml", 1)
    assert found.severity is Severity.WARNING
    assert order.entries == (
        OrderEntry("alpha", Placement.START),
        OrderEntry("zebra", Placement.NEXT_STAGE, "alpha"),
    )


def test_unknown_start_is_db006_on_the_start_line_and_first_file_starts(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {"b.md": chapter("Bee"), "a.md": chapter("Ay", _next_stages("Bee"))},
        book_toml=_toml(start="nope"),
    )
    _, _, order, diagnostics = _resolve(root)
    (found,) = _with_code(diagnostics, "DB006")
    assert (found.path, found.line) == (root / "book.toml", _line_of(root / "book.toml", "start"))
    assert found.severity is Severity.ERROR
    assert "'nope'" in found.message
    assert order.slugs == ("a", "b")
    assert order.entries[0].placement is Placement.START


def test_unknown_appendix_slug_is_db007_on_the_appendix_line(write_book: WriteBook) -> None:
    root = write_book(
        {"one.md": chapter("One"), "notes.md": chapter("Notes")},
        book_toml=_toml(appendix=["notes", "ghost"]),
    )
    _, _, order, diagnostics = _resolve(root)
    (found,) = _with_code(diagnostics, "DB007")
    assert found.path == root / "book.toml"
    assert found.line == _line_of(root / "book.toml", "appendix")
    assert found.severity is Severity.ERROR
    assert "'ghost'" in found.message
    assert order.slugs == ("one", "notes")


# --- the reading order ------------------------------------------------------------------------


def test_reading_order_of_a_branching_cyclic_book_is_the_first_unread_next_stage_walk(
    write_book: WriteBook,
) -> None:
    # Next Stages (in listed order), start = "start", appendix = ["notes", "glossary"]:
    #   start -> m, b      m -> k, start      k -> b, y, m       b -> x, k
    #   x -> glossary      notes -> q (only an appendix chapter leads to q)
    #   y, lonely, q, glossary: no Next Stages
    # (k -> m -> k, m -> start -> m and b -> k -> b are cycles.)
    # Walk from start, always taking the first next stage not yet read:
    #   start -> m (1st of start) -> k (1st of m) -> b (1st of k) -> x (1st of b);
    #   x's only next stage is an appendix chapter, which the walk never enters; back at b,
    #   k is read already; back at k, b is read, y is not: -> y (2nd of k), a dead end;
    #   back at k, m is read; at m, start is read; at start, b is read: the walk ends.
    # Unreachable, in file order (b, glossary, k, lonely, m, notes, q, start, x, y): lonely, q.
    # Appendix, in the order book.toml lists it: notes, glossary.
    root = write_book(
        {
            "start.md": chapter("Start", _next_stages("[M](m.md) — deeper", "Bee — branch")),
            "m.md": chapter("Em", _next_stages("Kay — on", "[Back](start.md) — cycle")),
            "k.md": chapter("Kay", _next_stages("[B](b.md) — on", "Why — on", "Em — cycle")),
            "b.md": chapter("Bee", _next_stages("Ex — on", "Kay — cycle")),
            "x.md": chapter("Ex", _next_stages("Glossary — look it up")),
            "y.md": chapter("Why"),
            "notes.md": chapter("Notes", _next_stages("Queue — only from the appendix")),
            "glossary.md": chapter("Glossary"),
            "q.md": chapter("Queue"),
            "lonely.md": chapter("Lonely"),
        },
        book_toml=_toml(start="start", appendix=["notes", "glossary"]),
    )
    _, _, order, diagnostics = _resolve(root)
    assert order.entries == (
        OrderEntry("start", Placement.START),
        OrderEntry("m", Placement.NEXT_STAGE, "start"),
        OrderEntry("k", Placement.NEXT_STAGE, "m"),
        OrderEntry("b", Placement.NEXT_STAGE, "k"),
        OrderEntry("x", Placement.NEXT_STAGE, "b"),
        OrderEntry("y", Placement.NEXT_STAGE, "k"),
        OrderEntry("lonely", Placement.UNREACHABLE),
        OrderEntry("q", Placement.UNREACHABLE),
        OrderEntry("notes", Placement.APPENDIX),
        OrderEntry("glossary", Placement.APPENDIX),
    )
    assert sorted(d.path.name for d in _with_code(diagnostics, "DB040") if d.path) == [
        "lonely.md",
        "q.md",
    ]


def test_appendix_chapters_go_last_in_listed_order_without_warnings(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages("Two", "Aardvark Notes")),
            "two.md": chapter("Two"),
            "a-notes.md": chapter("Aardvark Notes"),
            "z-journal.md": chapter("Zed Journal", _next_stages("One")),
        },
        book_toml=_toml(appendix=["z-journal", "a-notes"]),
    )
    _, _, order, diagnostics = _resolve(root)
    assert order.slugs == ("one", "two", "z-journal", "a-notes")
    assert [e.placement for e in order.entries[-2:]] == [Placement.APPENDIX, Placement.APPENDIX]
    assert _with_code(diagnostics, "DB040") == []


def test_unreachable_chapters_follow_the_walk_in_file_order(write_book: WriteBook) -> None:
    # File (path) order is a/zeta.md, b/alpha.md, c.md, one.md: not slug order.
    root = write_book(
        {
            "one.md": chapter("One"),
            "c.md": chapter("Cee"),
            "b/alpha.md": chapter("Alpha", _next_stages("Cee")),
            "a/zeta.md": chapter("Zeta", _next_stages("[Alpha](../b/alpha.md)")),
        }
    )
    _, _, order, diagnostics = _resolve(root)
    assert order.entries == (
        OrderEntry("one", Placement.START),
        OrderEntry("zeta", Placement.UNREACHABLE),
        OrderEntry("alpha", Placement.UNREACHABLE),
        OrderEntry("c", Placement.UNREACHABLE),
    )
    assert [d.path for d in _with_code(diagnostics, "DB040")] == [
        root / "a" / "zeta.md",
        root / "b" / "alpha.md",
        root / "c.md",
    ]


def test_reached_from_lists_the_chapters_leading_to_a_chapter_in_file_order(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages("Hub", "Two")),
            "two.md": chapter("Two", _next_stages("Hub")),
            "hub.md": chapter("Hub", _next_stages("Two")),
            # File order puts "a/zz-side.md" first although its slug sorts last.
            "a/zz-side.md": chapter("Side", _next_stages("Hub — from the side")),
            "lonely.md": chapter("Lonely", "Mentions [Hub](hub.md) but only inline.\n"),
        }
    )
    _, graph, _, _ = _resolve(root)
    assert graph.reached_from("hub") == ("zz-side", "one", "two")
    assert graph.reached_from("two") == ("hub", "one")
    assert graph.reached_from("lonely") == ()


def test_strict_check_turns_every_warning_into_an_error(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages("[Gone](gone.md)", "One")),
            "stray.md": chapter("Stray"),
        }
    )
    relaxed = check_manuscript(root)
    strict = check_manuscript(root, Options(strict=True))
    assert {d.code for d in relaxed.diagnostics} == {"DB030", "DB033", "DB040"}
    assert all(d.severity is Severity.WARNING for d in relaxed.diagnostics)
    assert not relaxed.has_errors
    assert [(d.code, d.path, d.line) for d in strict.diagnostics] == [
        (d.code, d.path, d.line) for d in relaxed.diagnostics
    ]
    assert all(d.severity is Severity.ERROR for d in strict.diagnostics)
    assert strict.has_errors
    assert strict.reading_order == relaxed.reading_order


# --- refinements found while reviewing the first tests ------------------------------------------


def test_a_dash_after_a_short_title_is_not_read_as_part_of_a_longer_title(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages("Falling — again and again")),
            "falling.md": chapter("Falling"),
            "again.md": chapter("Falling Again"),
        },
        book_toml=_toml(appendix=["falling", "again"]),
    )
    _, graph, _, _ = _resolve(root)
    (edge,) = graph.next_stages["one"]
    assert (edge.target, edge.blurb) == ("falling", "again and again")


def test_without_start_the_first_chapter_file_not_in_the_appendix_starts(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {"a-notes.md": chapter("Notes"), "b-first.md": chapter("First")},
        book_toml=_toml(start=None, appendix=["a-notes"]),
    )
    _, _, order, diagnostics = _resolve(root)
    assert order.slugs == ("b-first", "a-notes")
    assert [d.code for d in diagnostics] == ["DB005"]


def test_start_also_listed_in_the_appendix_is_db008_and_stays_first(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {"one.md": chapter("One", _next_stages("[Two](two.md)")), "two.md": chapter("Two")},
        book_toml=_toml(appendix=["one"]),
    )
    _, _, order, diagnostics = _resolve(root)
    assert order.slugs == ("one", "two")
    (found,) = _with_code(diagnostics, "DB008")
    assert (found.path, found.line, found.severity) == (
        root / "book.toml",
        6,
        Severity.WARNING,
    )


def test_next_stage_link_to_a_missing_section_is_db031_but_keeps_the_edge(
    write_book: WriteBook,
) -> None:
    root = write_book(
        {
            "one.md": chapter("One", _next_stages("[Two](two.md#nope) — onwards")),
            "two.md": chapter("Two", "## Quick Answer\n\nText.\n"),
        }
    )
    _, graph, _, diagnostics = _resolve(root)
    assert graph.successors("one") == ("two",)
    (found,) = _with_code(diagnostics, "DB031")
    assert (found.path, found.line) == (root / "one.md", _line_of(root / "one.md", "#nope"))
    assert "'#nope'" in found.message
