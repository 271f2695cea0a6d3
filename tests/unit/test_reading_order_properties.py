"""Property tests for the reading order: random chapter graphs, built directly and through the loader.

The reading order is the depth-first pre-order walk from the start chapter over each
chapter's Next Stages in listed order (never entering appendix chapters), then the
chapters the walk missed in file order, then the appendix in the order book.toml gives.
"""

from __future__ import annotations

import itertools
import posixpath
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreambook.graph import (
    ChapterGraph,
    NextStage,
    OrderEntry,
    Placement,
    ReadingOrder,
    build_graph,
    derive_reading_order,
    plan_reading_order,
)
from dreambook.manuscript import load_book

# --- random graphs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A random graph, the start chapter and the appendix as book.toml would list it."""

    graph: ChapterGraph
    start: str
    appendix: tuple[str, ...]

    @property
    def expected_appendix(self) -> tuple[str, ...]:
        """The appendix as the order must show it: known slugs, first mention, never the start."""
        known = set(self.graph.chapters)
        return tuple(dict.fromkeys(s for s in self.appendix if s in known and s != self.start))


def _graph(chapters: tuple[str, ...], successors: Mapping[str, tuple[str, ...]]) -> ChapterGraph:
    next_stages = {
        source: tuple(
            NextStage(source, target, f"from {source} to {target}", line)
            for line, target in enumerate(successors.get(source, ()), start=10)
        )
        for source in chapters
    }
    return ChapterGraph(chapters, next_stages, {source: () for source in chapters})


@st.composite
def cases(draw: st.DrawFn) -> Case:
    size = draw(st.integers(min_value=1, max_value=40))
    slugs = [f"ch{index}" for index in range(size)]
    successors: dict[str, tuple[str, ...]] = {}
    for slug in slugs:
        others = [other for other in slugs if other != slug]  # no self-loops; cycles allowed
        targets = draw(
            st.lists(st.sampled_from(others), unique=True, max_size=min(4, len(others)))
            if others
            else st.just([])
        )
        successors[slug] = tuple(targets)
    chapters = tuple(draw(st.permutations(slugs)))  # file order unrelated to slug numbering
    start = draw(st.sampled_from(slugs))
    # Appendix: some chapters (maybe the start), in any order, plus repeats and unknown slugs.
    appendix = draw(st.lists(st.sampled_from([*slugs, "not-a-chapter"]), max_size=min(8, size + 1)))
    return Case(_graph(chapters, successors), start, tuple(appendix))


def _order(case: Case) -> ReadingOrder:
    return derive_reading_order(case.graph, case.start, case.appendix)


def _walk_part(order: ReadingOrder) -> tuple[OrderEntry, ...]:
    return tuple(e for e in order.entries if e.placement in {Placement.START, Placement.NEXT_STAGE})


def _tail(order: ReadingOrder, count: int) -> tuple[OrderEntry, ...]:
    return order.entries[len(order.entries) - count :]


def _reference_walk(
    graph: ChapterGraph, start: str, skip: set[str]
) -> list[tuple[str, str | None]]:
    """The first-unread-next-stage walk, written recursively as plainly as possible."""
    walked: list[tuple[str, str | None]] = []
    seen = set(skip) | {start}

    def visit(slug: str, via: str | None) -> None:
        walked.append((slug, via))
        for target in graph.successors(slug):
            if target not in seen:
                seen.add(target)
                visit(target, slug)

    visit(start, None)
    return walked


# --- properties of derive_reading_order -------------------------------------------------------


@settings(max_examples=100)
@given(cases())
def test_every_chapter_appears_exactly_once(case: Case) -> None:
    slugs = _order(case).slugs
    assert len(slugs) == len(case.graph.chapters)
    assert sorted(slugs) == sorted(case.graph.chapters)


@settings(max_examples=100)
@given(cases())
def test_start_chapter_always_comes_first(case: Case) -> None:
    order = _order(case)
    assert order.entries[0] == OrderEntry(case.start, Placement.START)
    assert [e.placement for e in order.entries].count(Placement.START) == 1


@settings(max_examples=100)
@given(cases())
def test_order_is_deterministic_for_equal_inputs(case: Case) -> None:
    rebuilt = ChapterGraph(
        tuple(case.graph.chapters),
        dict(case.graph.next_stages),
        dict(case.graph.cross_references),
    )
    first = _order(case)
    assert _order(case) == first
    assert derive_reading_order(rebuilt, case.start, list(case.appendix)) == first


@settings(max_examples=100)
@given(cases(), st.data())
def test_listing_order_of_chapters_changes_only_where_unreachable_ones_go(
    case: Case, data: st.DataObject
) -> None:
    relisted = data.draw(st.permutations(case.graph.chapters))
    permuted = ChapterGraph(tuple(relisted), case.graph.next_stages, case.graph.cross_references)
    original = _order(case)
    reordered = derive_reading_order(permuted, case.start, case.appendix)

    assert _walk_part(reordered) == _walk_part(original)
    walked = {e.slug for e in _walk_part(original)}
    appendix = set(case.expected_appendix)
    unreachable = [e for e in reordered.entries if e.placement is Placement.UNREACHABLE]
    assert [e.slug for e in unreachable] == [
        s for s in relisted if s not in walked and s not in appendix
    ]
    assert _tail(reordered, len(appendix)) == _tail(original, len(appendix))


@settings(max_examples=100)
@given(cases())
def test_each_next_stage_entry_comes_via_an_earlier_entry_with_that_edge(case: Case) -> None:
    order = _order(case)
    position = {entry.slug: index for index, entry in enumerate(order.entries)}
    for index, entry in enumerate(order.entries):
        if entry.placement is Placement.NEXT_STAGE:
            assert entry.via is not None
            assert position[entry.via] < index
            assert order.entries[position[entry.via]].placement in {
                Placement.START,
                Placement.NEXT_STAGE,
            }
            assert entry.slug in case.graph.successors(entry.via)
        else:
            assert entry.via is None


@settings(max_examples=100)
@given(cases())
def test_appendix_entries_come_last_in_the_given_order(case: Case) -> None:
    order = _order(case)
    expected = case.expected_appendix
    assert _tail(order, len(expected)) == tuple(OrderEntry(s, Placement.APPENDIX) for s in expected)
    placements = [e.placement for e in order.entries]
    assert placements.count(Placement.APPENDIX) == len(expected)


@settings(max_examples=100)
@given(cases())
def test_walk_takes_the_first_unread_next_stage_then_unreachable_follow_in_file_order(
    case: Case,
) -> None:
    order = _order(case)
    expected_walk = _reference_walk(case.graph, case.start, set(case.expected_appendix))
    assert [(e.slug, e.via) for e in _walk_part(order)] == expected_walk
    walked = {slug for slug, _ in expected_walk}
    expected_unreachable = [
        OrderEntry(s, Placement.UNREACHABLE)
        for s in case.graph.chapters
        if s not in walked and s not in case.expected_appendix
    ]
    middle = order.entries[len(expected_walk) : len(order.entries) - len(case.expected_appendix)]
    assert list(middle) == expected_unreachable


# --- big graphs: cycles end, no recursion -----------------------------------------------------


def test_complete_graph_of_200_chapters_finishes_in_listed_order() -> None:
    slugs = tuple(f"ch{index:03}" for index in range(200))
    graph = _graph(slugs, {s: tuple(t for t in slugs if t != s) for s in slugs})
    order = derive_reading_order(graph, "ch000")
    # Every chapter leads to every other; the first unread next stage is always the next one.
    assert order.slugs == slugs
    assert [e.via for e in order.entries[1:]] == list(slugs[:-1])


def test_chain_far_longer_than_the_recursion_limit_is_walked_to_the_end() -> None:
    length = max(5_000, 2 * sys.getrecursionlimit())
    slugs = tuple(f"ch{index}" for index in range(length))
    successors = {a: (b,) for a, b in itertools.pairwise(slugs)}
    successors[slugs[-1]] = (slugs[0],)  # closing the chain into one big cycle
    order = derive_reading_order(_graph(slugs, successors), slugs[0])
    assert order.slugs == slugs
    assert all(e.placement is Placement.NEXT_STAGE for e in order.entries[1:])


def test_start_that_is_not_a_chapter_raises_key_error() -> None:
    graph = _graph(("one",), {})
    with pytest.raises(KeyError):
        derive_reading_order(graph, "two")


# --- through the real loader ------------------------------------------------------------------

_TITLES = ["Amber", "Birch", "Cedar", "Dune", "Ember", "Fjord", "Grove", "Heath"]
_FOLDERS = ["", "part-a/", "part-b/", "part-b/deeper/"]


@st.composite
def manuscripts(draw: st.DrawFn) -> tuple[dict[str, str], str, list[str], dict[str, list[str]]]:
    """Return (files, start slug, appendix slugs, intended Next Stages by slug)."""
    size = draw(st.integers(min_value=1, max_value=6))
    titles = draw(st.lists(st.sampled_from(_TITLES), min_size=size, max_size=size, unique=True))
    stems = draw(
        st.lists(
            st.text(alphabet="abcdefg", min_size=1, max_size=3),
            min_size=size,
            max_size=size,
            unique=True,
        )
    )
    paths = [draw(st.sampled_from(_FOLDERS)) + f"{stem}.md" for stem in stems]
    files: dict[str, str] = {}
    intended: dict[str, list[str]] = {}
    for index, (stem, path, title) in enumerate(zip(stems, paths, titles, strict=True)):
        others = [i for i in range(size) if i != index]
        targets = draw(st.lists(st.sampled_from(others), unique=True)) if others else []
        intended[stem] = [stems[t] for t in targets]
        items = []
        for target in targets:
            if draw(st.booleans()):
                href = posixpath.relpath(paths[target], posixpath.dirname(path) or ".")
                items.append(f"- [{titles[target]}]({href}) — read on")
            else:
                items.append(f"- {titles[target]} — read on")
        body = "Some text.\n"
        if items:
            body += "\n## Next Stages\n\n" + "\n".join(items) + "\n"
        files[path] = f"---\ntitle: {title}\n---\n\n{body}"
    start = draw(st.sampled_from(stems))
    candidates = [stem for stem in stems if stem != start]
    appendix = draw(st.lists(st.sampled_from(candidates), unique=True)) if candidates else []
    return files, start, appendix, intended


@settings(max_examples=50, deadline=None)
@given(manuscripts())
def test_loaded_manuscript_reads_in_the_first_unread_next_stage_order(
    manuscript: tuple[dict[str, str], str, list[str], dict[str, list[str]]],
) -> None:
    files, start, appendix, intended = manuscript
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        listed = ", ".join(f'"{slug}"' for slug in appendix)
        (root / "book.toml").write_text(
            f'[book]\ntitle = "Random"\nstart = "{start}"\nappendix = [{listed}]\n',
            encoding="utf-8",
        )
        for relative, text in files.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text, encoding="utf-8")
        book, load_diagnostics = load_book(root)
        graph, graph_diagnostics = build_graph(book)
        order, order_diagnostics = plan_reading_order(book, graph)

    file_order = tuple(posixpath.splitext(posixpath.basename(path))[0] for path in sorted(files))
    assert graph.chapters == file_order
    for slug, targets in intended.items():
        assert graph.successors(slug) == tuple(targets)
        assert all(edge.blurb == "read on" for edge in graph.next_stages[slug])
    assert load_diagnostics == []
    assert graph_diagnostics == []

    expected_walk = _reference_walk(graph, start, set(appendix))
    walked = {slug for slug, _ in expected_walk}
    unreachable = [s for s in file_order if s not in walked and s not in appendix]
    assert order.entries == (
        *(
            OrderEntry(slug, Placement.NEXT_STAGE if via else Placement.START, via)
            for slug, via in expected_walk
        ),
        *(OrderEntry(slug, Placement.UNREACHABLE) for slug in unreachable),
        *(OrderEntry(slug, Placement.APPENDIX) for slug in appendix),
    )
    assert sorted((d.code, d.path.name if d.path else "") for d in order_diagnostics) == sorted(
        ("DB040", posixpath.basename(path))
        for path in files
        if posixpath.splitext(posixpath.basename(path))[0] in unreachable
    )
