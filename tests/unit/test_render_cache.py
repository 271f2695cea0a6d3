"""The rendered-chapter cache: a rebuild takes unchanged chapters from it, anything that
shapes a chapter's HTML makes that chapter a miss, and a damaged entry is never used."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreambook import render
from dreambook.pipeline import check_manuscript
from dreambook.render import CHAPTER_CACHE, RenderedBook, render_book
from dreambook.render_cache import SUFFIX, chapter_key, code_digest
from tests.conftest import WriteBook, chapter

FILES = {
    "one.md": chapter(
        "One",
        """\
        Opening words with a [link to two](two.md#the-middle) and a note.[^n]

        ## The Start

        Text "in quotes" -- and *emphasis*.

        [^n]: The note.

        ## Next Stages

        - [Two](two.md): onward
        """,
    ),
    "two.md": chapter(
        "Two",
        """\
        Second chapter, linking [back](one.md).

        ## The Middle

        More text.
        """,
    ),
    "three.md": chapter("Three", "Third chapter, reached from nowhere but [one](one.md).\n"),
}


def _render(manuscript: Path, cache: Path | None, **options: bool) -> RenderedBook:
    checked = check_manuscript(manuscript)
    assert not checked.has_errors, checked.diagnostics
    return render_book(checked.book, checked.graph, checked.reading_order, cache=cache, **options)


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The slugs of the chapters converted from Markdown (not taken from the cache)."""
    converted: list[str] = []
    original = render.ChapterRenderer.convert

    def counting(self: render.ChapterRenderer, chapter: render.Chapter) -> render.ChapterBody:
        converted.append(chapter.slug)
        return original(self, chapter)

    monkeypatch.setattr(render.ChapterRenderer, "convert", counting)
    return converted


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / CHAPTER_CACHE).glob(f"*{SUFFIX}"))


def test_a_rebuild_takes_every_chapter_from_the_cache_and_renders_the_same(
    write_book: WriteBook, tmp_path: Path, conversions: list[str]
) -> None:
    manuscript = write_book(FILES)
    cache = tmp_path / "cache"
    uncached = _render(manuscript, None)
    first = _render(manuscript, cache)
    assert sorted(conversions) == ["one", "one", "three", "three", "two", "two"]
    assert len(_entries(cache)) == 3
    conversions.clear()
    second = _render(manuscript, cache)
    assert conversions == []
    assert first == uncached
    assert second == uncached


def test_an_edited_chapter_is_a_miss_and_the_others_hit(
    write_book: WriteBook, tmp_path: Path, conversions: list[str]
) -> None:
    manuscript = write_book(FILES)
    cache = tmp_path / "cache"
    _render(manuscript, cache)
    (manuscript / "three.md").write_text(chapter("Three", "Changed, still [one](one.md).\n"))
    conversions.clear()
    rebuilt = _render(manuscript, cache)
    assert conversions == ["three"]
    assert rebuilt == _render(manuscript, None)
    # The old entry of the edited chapter is gone: the cache holds one entry per chapter.
    assert len(_entries(cache)) == 3


def test_a_renamed_heading_another_chapter_links_to_is_a_miss_for_the_linking_chapter(
    write_book: WriteBook, tmp_path: Path, conversions: list[str]
) -> None:
    manuscript = write_book(FILES)
    cache = tmp_path / "cache"
    before = _render(manuscript, cache)
    assert 'href="#two--the-middle"' in before.chapters[0].body
    # one.md's text is unchanged, but its link "two.md#the-middle" now leads nowhere.
    (manuscript / "two.md").write_text(FILES["two.md"].replace("The Middle", "The Centre"))
    conversions.clear()
    checked = check_manuscript(manuscript)
    after = render_book(checked.book, checked.graph, checked.reading_order, cache=cache)
    assert sorted(conversions) == ["one", "two"]
    assert 'class="dangling-link"' in after.chapters[0].body
    assert after == render_book(checked.book, checked.graph, checked.reading_order)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: data.replace(b"Opening", b"Openinh"),  # one byte changed
        lambda data: b"",
        lambda data: data.split(b"\n", 1)[0] + b"\n" + b"[]",  # wrong shape, no checksum
    ],
)
def test_a_damaged_entry_is_a_miss_and_is_written_again(
    write_book: WriteBook, tmp_path: Path, conversions: list[str], damage: object
) -> None:
    manuscript = write_book(FILES)
    cache = tmp_path / "cache"
    good = _render(manuscript, cache)
    one = next(e for e in _entries(cache) if b"Opening" in e.read_bytes())
    one.write_bytes(damage(one.read_bytes()))  # type: ignore[operator]
    conversions.clear()
    assert _render(manuscript, cache) == good
    assert conversions == ["one"]
    conversions.clear()
    assert _render(manuscript, cache) == good
    assert conversions == []


def test_a_wrong_shape_with_a_right_checksum_is_a_miss(
    write_book: WriteBook, tmp_path: Path, conversions: list[str]
) -> None:
    import hashlib

    manuscript = write_book(FILES)
    cache = tmp_path / "cache"
    good = _render(manuscript, cache)
    payload = b'{"html": 3, "sections": [], "ids": [], "links": []}'
    for entry in _entries(cache):
        entry.write_bytes(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
    conversions.clear()
    assert _render(manuscript, cache) == good
    assert sorted(conversions) == ["one", "three", "two"]


def test_settings_that_shape_the_html_are_misses(
    write_book: WriteBook, tmp_path: Path, conversions: list[str]
) -> None:
    manuscript = write_book(FILES)
    cache = tmp_path / "cache"
    _render(manuscript, cache)
    conversions.clear()
    trusted = _render(manuscript, cache, trust_html=True)
    assert len(conversions) == 3
    assert trusted == _render(manuscript, None, trust_html=True)


def test_the_key_covers_what_shapes_a_chapter(write_book: WriteBook) -> None:
    checked = check_manuscript(write_book(FILES))
    one = next(c for c in checked.book.chapters if c.slug == "one")
    settings = ("trust_html=False", "Back to the text")
    code = code_digest()
    key = chapter_key(one, settings, code)
    heading = one.headings[0]
    changed = [
        replace(one, markdown=one.markdown + " "),
        replace(one, slug="uno"),
        replace(one, source_path=one.source_path.with_name("elsewhere.md")),
        replace(one, next_stages_line=(one.next_stages_line or 0) + 1),
        replace(one, headings=(replace(heading, id="other"), *one.headings[1:])),
        replace(one, headings=(replace(heading, text="Other"), *one.headings[1:])),
        replace(one, headings=(replace(heading, level=3), *one.headings[1:])),
    ]
    keys = {chapter_key(c, settings, code) for c in changed}
    keys.add(chapter_key(one, ("trust_html=True", "Back to the text"), code))
    keys.add(chapter_key(one, ("trust_html=False", "Zurück zum Text"), code))
    keys.add(chapter_key(one, settings, code_digest(["dreambook.render"])))
    assert key not in keys
    assert len(keys) == len(changed) + 3
    # What does not shape the body (the title: writers take it from the chapter) keeps the key.
    assert chapter_key(replace(one, title="Another title"), settings, code) == key


@settings(max_examples=400, deadline=None)
@given(st.from_regex(render._PLAIN_TEXT_RE, fullmatch=True))
def test_text_typeset_without_markdown_is_what_markdown_gives(text: str) -> None:
    assert render.typeset_inline(text) == render._typeset_with_markdown(text)


@pytest.mark.parametrize(
    "text", ["A. B", "Wait...", "a . . . b", "Two  spaces", "Hello ", "1. First", "It's", "A--B"]
)
def test_text_markdown_would_change_takes_the_markdown_run(text: str) -> None:
    assert not render._PLAIN_TEXT_RE.fullmatch(text) or text == "A. B"
    assert render.typeset_inline(text) == render._typeset_with_markdown(text)
