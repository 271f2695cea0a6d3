"""Unit tests for labels.py: the interface words of a book, chosen by its language and
overridden by book.toml's [labels]."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest
from markupsafe import Markup

from dreambook.bookmap import build_map, render_svg
from dreambook.config import BOOK_KEYS, parse_book_toml
from dreambook.graph import OrderEntry, Placement, ReadingOrder
from dreambook.labels import (
    _TABLES,
    ENGLISH,
    LABEL_KEYS,
    Labels,
    book_labels,
    has_words,
    label_diagnostics,
    label_strings,
    placeholders,
)
from dreambook.pipeline import check_manuscript
from dreambook.render import render_book
from dreambook.styles import book_styles
from tests.conftest import SAMPLE_MANUSCRIPT

# At least these languages have words of their own (issue 16).
LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl")


def test_the_labels_the_key_list_and_the_english_words_name_the_same_keys() -> None:
    fields = {field.name for field in dataclasses.fields(Labels)} - {"language"}
    assert fields == {key.key for key in LABEL_KEYS} == set(_TABLES["en"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_every_word_and_each_pattern_has_its_placeholders(
    language: str,
) -> None:
    table = _TABLES[language]
    assert set(table) == {key.key for key in LABEL_KEYS}
    for key in LABEL_KEYS:
        found = placeholders(table[key.key])
        assert key.required <= found <= key.required | key.optional, (language, key.key)


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_no_language_but_english_keeps_an_english_word(language: str) -> None:
    """A word left in English by mistake (copied from the English table) is caught: only
    names (Vollkorn, the licence) and words the languages share may repeat."""
    # French writes these as English does, and "p." is Latin's abbreviation in several.
    shared = {"Notes", "Pages", "p.\u00a0{page}", "Q."}
    same = {
        key
        for key, text in _TABLES[language].items()
        if text == _TABLES["en"][key] and text not in shared
    }
    assert same == set()


def test_page_references_use_each_language_s_abbreviation_kept_with_the_number() -> None:
    forms = {lang: book_labels(lang).page_number("12") for lang in LANGUAGES}
    assert forms == {
        "en": "p.\u00a012",
        "de": "S.\u00a012",
        "fr": "p.\u00a012",
        "es": "pág.\u00a012",
        "it": "p.\u00a012",
        "pt": "p.\u00a012",
        "nl": "blz.\u00a012",
    }


def test_a_region_falls_back_to_its_language_and_an_unknown_language_to_english() -> None:
    assert book_labels("de-AT").contents == "Inhalt"
    assert book_labels("DE-ch").contents == "Inhalt"
    assert book_labels("pt-BR").contents == "Sumário"
    # Portugal has its own word for the contents, and Portuguese for the rest.
    assert book_labels("pt-PT").contents == "Índice"
    assert book_labels("pt-PT").chapter == "Capítulo {number}"
    assert book_labels("sw").contents == "Contents"
    assert has_words("nl-BE")
    assert not has_words("sw")
    assert not has_words("deu")


def test_lists_are_joined_as_cldr_joins_them_in_the_book_s_language() -> None:
    items = [Markup("<a>A &amp; B</a>"), Markup("<a>C</a>"), Markup("<a>D</a>")]
    assert book_labels("de").join(items) == Markup("<a>A &amp; B</a>, <a>C</a> und <a>D</a>")
    assert book_labels("fr").join(items[:2]) == Markup("<a>A &amp; B</a> et <a>C</a>")
    assert book_labels("nl").join(items[:2]) == Markup("<a>A &amp; B</a> en <a>C</a>")
    assert book_labels("en-US").join(items) == Markup("<a>A &amp; B</a>, <a>C</a>, and <a>D</a>")


def test_month_and_year_are_written_as_cldr_writes_them() -> None:
    date = dt.date(2026, 3, 9)
    assert ENGLISH.month_and_year(date) == "March 2026"
    assert book_labels("de").month_and_year(date) == "März 2026"
    assert book_labels("fr").month_and_year(date) == "mars 2026"
    assert book_labels("es").month_and_year(date) == "marzo de 2026"


def test_fill_escapes_plain_text_and_keeps_markup() -> None:
    labels = book_labels("de")
    filled = labels.fill("reached_from", chapters=labels.join([Markup("<a>x</a>"), "y & z"]))
    assert filled == Markup("Kommend von <a>x</a> und y &amp; z")
    assert labels.text("published_by", publisher="A & B") == "Erschienen bei A & B"


def test_the_footnote_backlink_title_is_a_printf_pattern_for_python_markdown() -> None:
    labels = book_labels("en", [("note_backlink", "100% back to note {number}")])
    assert labels.backlink_title() == "100%% back to note %d"
    assert labels.backlink_title() % 3 == "100% back to note 3"


def test_chapter_and_appendix_labels_follow_the_language() -> None:
    order = ReadingOrder(
        (
            OrderEntry("one", Placement.START),
            OrderEntry("two", Placement.NEXT_STAGE, "one"),
            OrderEntry("a", Placement.APPENDIX),
            OrderEntry("b", Placement.APPENDIX),
        )
    )
    assert order.labels(book_labels("nl")) == {
        "one": ("Hoofdstuk 1", "1"),
        "two": ("Hoofdstuk 2", "2"),
        "a": ("Bijlage A", "A"),
        "b": ("Bijlage B", "B"),
    }
    assert order.labels()["one"] == ("Chapter 1", "1")


def test_overrides_replace_single_words_and_an_unusable_one_is_left_out() -> None:
    labels = book_labels(
        "de",
        [("contents", "Inhaltsverzeichnis"), ("page", "Seite"), ("chapter", "{number}. Kapitel")],
    )
    assert labels.contents == "Inhaltsverzeichnis"
    assert labels.chapter_label(3) == "3. Kapitel"
    assert labels.page_number("7") == "S.\u00a07"  # "Seite" has no {page}: left out


def test_the_next_stages_heading_is_the_override_else_the_author_s_heading_else_the_language_s() -> (
    None
):
    assert book_labels("de").next_stages == "Nächste Etappen"
    assert book_labels("de", (), "Weiterlesen").next_stages == "Weiterlesen"
    overridden = book_labels("de", [("next_stages", "Wohin weiter")], "Weiterlesen")
    assert overridden.next_stages == "Wohin weiter"


def test_label_strings_hold_every_word_a_subset_font_must_keep() -> None:
    german = "".join(label_strings("de"))
    for word in ("Inhalt", "Nächste Etappen", "S.\u00a0", "gegenüber", "Anmerkungen"):
        assert word in german
    assert "{" not in german
    assert "F.\u2002" in label_strings("de")
    assert len(label_strings("fr")) == len(LABEL_KEYS) + 1


def test_labels_table_is_read_from_book_toml_and_listed_key_by_key() -> None:
    source = '[book]\ntitle = "T"\n[labels]\ncontents = "Inhaltsverzeichnis"\nchapters = "x"\n'
    config, diagnostics = parse_book_toml(source, Path("book.toml"))
    assert config.labels == (("contents", "Inhaltsverzeichnis"),)
    assert [(d.code, d.line) for d in diagnostics] == [("DB003", 5)]
    listed = [key.key for key in BOOK_KEYS if key.table == "labels"]
    assert listed == [key.key for key in LABEL_KEYS]


def test_diagnostics_name_an_unknown_language_and_an_unusable_override() -> None:
    found = label_diagnostics(
        "sw",
        [("page", "Seite"), ("chapter", "Kapitel {n}"), ("map", "{")],
        Path("book.toml"),
        {"book.language": 3, "labels.page": 9},
    )
    assert [(d.code, d.line) for d in found] == [
        ("DB110", 3),
        ("DB111", 9),
        ("DB111", None),
        ("DB111", None),
    ]
    assert "{page}" in found[1].message
    assert "{n}" in found[2].message
    assert label_diagnostics("de-AT", [("contents", "Inhaltsverzeichnis")], Path("b"), {}) == []


def test_check_warns_about_a_language_without_words_and_builds_in_english(tmp_path: Path) -> None:
    manuscript = tmp_path / "manuscript"
    shutil.copytree(SAMPLE_MANUSCRIPT, manuscript)
    toml = manuscript / "book.toml"
    toml.write_text(
        toml.read_text("utf-8").replace('language = "en-US"', 'language = "sw"'), "utf-8"
    )
    checked = check_manuscript(manuscript)
    assert [d.code for d in checked.diagnostics] == ["DB110"]
    book = render_book(checked.book, checked.graph, checked.reading_order)
    assert book.labels.contents == "Contents"
    assert book.chapters[0].label == "Chapter 1"


def test_the_rendered_book_carries_the_labels_and_the_footnote_tooltip(tmp_path: Path) -> None:
    manuscript = tmp_path / "manuscript"
    shutil.copytree(SAMPLE_MANUSCRIPT, manuscript)
    toml = manuscript / "book.toml"
    text = toml.read_text("utf-8").replace('language = "en-US"', 'language = "fr"')
    toml.write_text(text + '\n[labels]\nchapter = "Rêve {number}"\n', "utf-8")
    checked = check_manuscript(manuscript)
    assert checked.diagnostics == ()
    book = render_book(checked.book, checked.graph, checked.reading_order)
    assert book.labels.contents == "Table des matières"
    assert [c.label for c in book.chapters][:2] == ["Rêve 1", "Rêve 2"]
    assert book.chapters[-1].label == "Annexe"
    bodies = "".join(str(c.body) for c in book.chapters)
    assert 'title="Retour à l’appel de la note 1"' in bodies
    assert "Jump back" not in bodies


def test_the_map_drawing_is_labelled_in_the_book_s_language(tmp_path: Path) -> None:
    manuscript = tmp_path / "manuscript"
    shutil.copytree(SAMPLE_MANUSCRIPT, manuscript)
    toml = manuscript / "book.toml"
    toml.write_text(
        toml.read_text("utf-8").replace('language = "en-US"', 'language = "nl"'), "utf-8"
    )
    checked = check_manuscript(manuscript)
    book_map = build_map(checked.book, checked.graph, checked.reading_order)
    svg = render_svg(book_map, book_styles(manuscript, checked.book.config))
    assert '<title id="book-map-title">Kaart van het boek:' in svg
    assert ">Volgende etappes</text>" in svg
    assert ">kruisverwijzing</text>" in svg
    assert "Next Stages" not in svg
