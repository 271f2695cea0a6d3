"""The book's interface words in its own language: "Contents", "Chapter 3", "p. 12", "overleaf".

Every word dreambook itself prints (as opposed to the author's text) comes from one
:class:`Labels`, chosen by ``[book] language`` and overridable key by key in book.toml's
``[labels]`` table. The PDF, EPUB and HTML writers and their templates all read it from
``RenderedBook.labels`` (the map from ``BookMap.labels``); none of them keeps words of its
own. (The EPUB's accessibility summary, a sentence of package metadata, is not among them.)

What CLDR knows (how a language joins a list, how it writes a month and a year) comes
from Babel; the rest, words no locale database holds, is written here for each language
(:data:`LABEL_KEYS` names them, ``_TABLES`` gives them). A language tag with a region
(``de-AT``, ``pt-BR``) uses its own table when there is one and its language's otherwise;
a language with no table gets English, and ``check`` says so (DB110).

Patterns hold ``{name}`` placeholders (``"Chapter {number}"``, ``"p.\u00a0{page}"``); the
page reference keeps its number on the line with a no-break space.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

from dreambook.diagnostics import Diagnostic, diagnostic

if TYPE_CHECKING:
    from pathlib import Path

    from babel import Locale


@dataclass(frozen=True)
class LabelKey:
    """One key of the ``[labels]`` table: its name, what it is, and the placeholders its
    pattern must hold (``required``) or may hold (``optional``)."""

    key: str
    doc: str
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()


def _key(key: str, doc: str, required: str = "", optional: str = "") -> LabelKey:
    return LabelKey(key, doc, frozenset(required.split()), frozenset(optional.split()))


# Every interface word, in the order the README and a new book.toml list them.
LABEL_KEYS: tuple[LabelKey, ...] = (
    _key("contents", "the heading of the contents page and its name in menus"),
    _key("chapter", "a chapter's label above its title ({number})", "number"),
    _key("appendix", "the label of a book's only appendix"),
    _key("appendix_lettered", "an appendix's label when there are several ({letter})", "letter"),
    _key("reached_from", "the line under a chapter's title naming the chapters that lead to it ({chapters})", "chapters"),
    _key("next_stages", "the heading of the Next Stages box (else [book] next_stages_heading when set)"),
    _key("page", "a page reference ({page}), as in p. 12", "page"),
    _key("this_page", "a cross-reference to the page it stands on"),
    _key("overleaf", "a Next Stages target on the back of the leaf"),
    _key("facing_page", "a Next Stages target on the page opposite"),
    _key("map", "the heading of the map of the book"),
    _key("map_description", "the map drawing's text title, read by screen readers"),
    _key("map_caption", "the printed map's caption", optional="next_stages"),
    _key("map_intro", "the sentence before the EPUB's map"),
    _key("map_leads_to", "a chapter's line in the map's text list ({chapter}, {chapters})", "chapter chapters", "next_stages"),
    _key("map_no_next_stages", "the line of a chapter with no Next Stages ({chapter})", "chapter", "next_stages"),
    _key("cross_reference", "the map legend's word for a cross-reference"),
    _key("dead_end", "the map's word for a chapter that leads nowhere"),
    _key("unreachable", "the map's word for a chapter no Next Stages reach"),
    _key("notes", "the name of a chapter's footnotes in the EPUB"),
    _key("note_backlink", "the tooltip of a footnote's link back to the text ({number})", "number"),
    _key("cover", "the cover page's name in the EPUB's landmarks"),
    _key("cover_alt", "the cover image's text equivalent ({title})", "title"),
    _key("cover_alt_authors", "the same for a book with authors ({title}, {authors})", "title authors"),
    _key("title_page", "the title page's name for screen readers"),
    _key("copyright", "the copyright page's name for screen readers"),
    _key("dedication", "the dedication page's name for screen readers"),
    _key("landmarks", "the heading of the EPUB's landmarks"),
    _key("pages", "the heading of the EPUB's page list"),
    _key("font_licence", "the name of the EPUB's page holding the fonts' licence"),
    _key("start_of_content", "the EPUB landmark of the first chapter"),
    _key("published_by", "the copyright page's publisher line ({publisher})", "publisher"),
    _key("print_edition", "how the EPUB names the printed edition without an ISBN ({title})", "title"),
    _key("page_markers", "the EPUB copyright page's note on page markers ({edition})", "edition"),
    _key("set_in", "the printed colophon's typeface line"),
    _key("set_in_licensed", "the EPUB colophon's typeface line, with the font licence"),
    _key("made_with", "the colophon's last words"),
    _key("reading_order", "the name of the HTML edition's previous / next links"),
    _key("question", "the mark before each question of a FAQ section"),
)  # fmt: skip

_KEYS_BY_NAME = {key.key: key for key in LABEL_KEYS}

# --- the words ------------------------------------------------------------------------------------
# Written for dreambook, one language at a time. "\u00a0" keeps a number with its word and
# a French colon with the word before it; "\u2019" is the typographic apostrophe.

_EN: Mapping[str, str] = {
    "contents": "Contents",
    "chapter": "Chapter {number}",
    "appendix": "Appendix",
    "appendix_lettered": "Appendix {letter}",
    "reached_from": "Reached from {chapters}",
    "next_stages": "Next Stages",
    "page": "p.\u00a0{page}",
    "this_page": "this page",
    "overleaf": "overleaf",
    "facing_page": "on the facing page",
    "map": "Map of the Book",
    "map_description": "Map of the book: chapters in reading order, with the links between them",
    "map_caption": "The chapters in reading order, with the page each begins on. Solid arcs are {next_stages} links, dashed arcs cross-references.",
    "map_intro": "The chapters in reading order, and the links between them. The list after the drawing says the same in words.",
    "map_leads_to": "{chapter}: its {next_stages} lead to {chapters}",
    "map_no_next_stages": "{chapter}: no {next_stages}",
    "cross_reference": "cross-reference",
    "dead_end": "dead end",
    "unreachable": "unreachable",
    "notes": "Notes",
    "note_backlink": "Back to note {number} in the text",
    "cover": "Cover",
    "cover_alt": "Cover: {title}",
    "cover_alt_authors": "Cover: {title}, by {authors}",
    "title_page": "Title page",
    "copyright": "Copyright",
    "dedication": "Dedication",
    "landmarks": "Landmarks",
    "pages": "Pages",
    "font_licence": "Font licence",
    "start_of_content": "Start of Content",
    "published_by": "Published by {publisher}",
    "print_edition": "{title}, print edition",
    "page_markers": "The page markers in this ebook follow the printed edition ({edition}).",
    "set_in": "Set in Vollkorn.",
    "set_in_licensed": "Set in Vollkorn, under the SIL Open Font License 1.1.",
    "made_with": "Made with dreambook.",
    "reading_order": "Reading order",
    "question": "Q.",
}  # fmt: skip

_DE: Mapping[str, str] = {
    "contents": "Inhalt",
    "chapter": "Kapitel {number}",
    "appendix": "Anhang",
    "appendix_lettered": "Anhang {letter}",
    "reached_from": "Kommend von {chapters}",
    "next_stages": "Nächste Etappen",
    "page": "S.\u00a0{page}",
    "this_page": "diese Seite",
    "overleaf": "umseitig",
    "facing_page": "gegenüber",
    "map": "Karte des Buches",
    "map_description": "Karte des Buches: die Kapitel in Lesereihenfolge, mit den Verweisen zwischen ihnen",
    "map_caption": "Die Kapitel in Lesereihenfolge, mit der Seite, auf der jedes beginnt. Durchgezogene Bögen sind Verweise unter \u201e{next_stages}\u201c, gestrichelte Querverweise.",
    "map_intro": "Die Kapitel in Lesereihenfolge und die Verweise zwischen ihnen. Die Liste nach der Zeichnung sagt dasselbe in Worten.",
    "map_leads_to": "{chapter}: führt weiter zu {chapters}",
    "map_no_next_stages": "{chapter}: führt nicht weiter",
    "cross_reference": "Querverweis",
    "dead_end": "Sackgasse",
    "unreachable": "unerreichbar",
    "notes": "Anmerkungen",
    "note_backlink": "Zurück zu Anmerkung {number} im Text",
    "cover": "Umschlag",
    "cover_alt": "Umschlag: {title}",
    "cover_alt_authors": "Umschlag: {title}, von {authors}",
    "title_page": "Titelseite",
    "copyright": "Impressum",
    "dedication": "Widmung",
    "landmarks": "Wegmarken",
    "pages": "Seiten",
    "font_licence": "Schriftlizenz",
    "start_of_content": "Textbeginn",
    "published_by": "Erschienen bei {publisher}",
    "print_edition": "{title}, gedruckte Ausgabe",
    "page_markers": "Die Seitenmarken dieses E-Books folgen der gedruckten Ausgabe ({edition}).",
    "set_in": "Gesetzt aus der Vollkorn.",
    "set_in_licensed": "Gesetzt aus der Vollkorn unter der SIL Open Font License 1.1.",
    "made_with": "Erstellt mit dreambook.",
    "reading_order": "Lesereihenfolge",
    "question": "F.",
}  # fmt: skip

_FR: Mapping[str, str] = {
    "contents": "Table des matières",
    "chapter": "Chapitre {number}",
    "appendix": "Annexe",
    "appendix_lettered": "Annexe {letter}",
    "reached_from": "Venant de {chapters}",
    "next_stages": "Étapes suivantes",
    "page": "p.\u00a0{page}",
    "this_page": "cette page",
    "overleaf": "au verso",
    "facing_page": "ci-contre",
    "map": "Carte du livre",
    "map_description": "Carte du livre\u00a0: les chapitres dans l\u2019ordre de lecture, avec les liens qui les unissent",
    "map_caption": "Les chapitres dans l\u2019ordre de lecture, avec la page où chacun commence. Les arcs pleins sont les liens des «\u00a0{next_stages}\u00a0», les arcs en tirets les renvois.",
    "map_intro": "Les chapitres dans l\u2019ordre de lecture, et les liens qui les unissent. La liste qui suit le dessin dit la même chose en mots.",
    "map_leads_to": "{chapter}\u00a0: mène à {chapters}",
    "map_no_next_stages": "{chapter}\u00a0: sans suite",
    "cross_reference": "renvoi",
    "dead_end": "impasse",
    "unreachable": "inaccessible",
    "notes": "Notes",
    "note_backlink": "Retour à l\u2019appel de la note {number}",
    "cover": "Couverture",
    "cover_alt": "Couverture\u00a0: {title}",
    "cover_alt_authors": "Couverture\u00a0: {title}, par {authors}",
    "title_page": "Page de titre",
    "copyright": "Mentions légales",
    "dedication": "Dédicace",
    "landmarks": "Repères",
    "pages": "Pages",
    "font_licence": "Licence des polices",
    "start_of_content": "Début du texte",
    "published_by": "Publié par {publisher}",
    "print_edition": "{title}, édition imprimée",
    "page_markers": "Les repères de page de ce livre numérique suivent l\u2019édition imprimée ({edition}).",
    "set_in": "Composé en Vollkorn.",
    "set_in_licensed": "Composé en Vollkorn, sous la licence SIL Open Font License 1.1.",
    "made_with": "Réalisé avec dreambook.",
    "reading_order": "Ordre de lecture",
    "question": "Q.",
}  # fmt: skip

_ES: Mapping[str, str] = {
    "contents": "Índice",
    "chapter": "Capítulo {number}",
    "appendix": "Apéndice",
    "appendix_lettered": "Apéndice {letter}",
    "reached_from": "Se llega desde {chapters}",
    "next_stages": "Próximas etapas",
    "page": "pág.\u00a0{page}",
    "this_page": "esta página",
    "overleaf": "al dorso",
    "facing_page": "en la página de enfrente",
    "map": "Mapa del libro",
    "map_description": "Mapa del libro: los capítulos en orden de lectura, con los enlaces entre ellos",
    "map_caption": "Los capítulos en orden de lectura, con la página en que empieza cada uno. Los arcos continuos son enlaces de «{next_stages}»; los discontinuos, referencias cruzadas.",
    "map_intro": "Los capítulos en orden de lectura y los enlaces entre ellos. La lista que sigue al dibujo dice lo mismo con palabras.",
    "map_leads_to": "{chapter}: lleva a {chapters}",
    "map_no_next_stages": "{chapter}: sin continuación",
    "cross_reference": "referencia cruzada",
    "dead_end": "sin salida",
    "unreachable": "inalcanzable",
    "notes": "Notas",
    "note_backlink": "Volver a la llamada de la nota {number}",
    "cover": "Cubierta",
    "cover_alt": "Cubierta: {title}",
    "cover_alt_authors": "Cubierta: {title}, de {authors}",
    "title_page": "Portada",
    "copyright": "Créditos",
    "dedication": "Dedicatoria",
    "landmarks": "Puntos de referencia",
    "pages": "Páginas",
    "font_licence": "Licencia de las tipografías",
    "start_of_content": "Inicio del texto",
    "published_by": "Publicado por {publisher}",
    "print_edition": "{title}, edición impresa",
    "page_markers": "Las marcas de página de este libro electrónico siguen la edición impresa ({edition}).",
    "set_in": "Compuesto en Vollkorn.",
    "set_in_licensed": "Compuesto en Vollkorn, con la licencia SIL Open Font License 1.1.",
    "made_with": "Hecho con dreambook.",
    "reading_order": "Orden de lectura",
    "question": "P.",
}  # fmt: skip

_IT: Mapping[str, str] = {
    "contents": "Indice",
    "chapter": "Capitolo {number}",
    "appendix": "Appendice",
    "appendix_lettered": "Appendice {letter}",
    "reached_from": "Ci si arriva da {chapters}",
    "next_stages": "Tappe successive",
    "page": "p.\u00a0{page}",
    "this_page": "questa pagina",
    "overleaf": "sul retro",
    "facing_page": "a fronte",
    "map": "Mappa del libro",
    "map_description": "Mappa del libro: i capitoli in ordine di lettura, con i collegamenti tra loro",
    "map_caption": "I capitoli in ordine di lettura, con la pagina in cui inizia ciascuno. Gli archi continui sono i collegamenti delle «{next_stages}», quelli tratteggiati i rimandi.",
    "map_intro": "I capitoli in ordine di lettura e i collegamenti tra loro. L\u2019elenco dopo il disegno dice lo stesso a parole.",
    "map_leads_to": "{chapter}: porta a {chapters}",
    "map_no_next_stages": "{chapter}: senza seguito",
    "cross_reference": "rimando",
    "dead_end": "vicolo cieco",
    "unreachable": "irraggiungibile",
    "notes": "Note",
    "note_backlink": "Torna al richiamo della nota {number}",
    "cover": "Copertina",
    "cover_alt": "Copertina: {title}",
    "cover_alt_authors": "Copertina: {title}, di {authors}",
    "title_page": "Frontespizio",
    "copyright": "Crediti",
    "dedication": "Dedica",
    "landmarks": "Punti di riferimento",
    "pages": "Pagine",
    "font_licence": "Licenza dei caratteri",
    "start_of_content": "Inizio del testo",
    "published_by": "Pubblicato da {publisher}",
    "print_edition": "{title}, edizione a stampa",
    "page_markers": "I segni di pagina di questo ebook seguono l\u2019edizione a stampa ({edition}).",
    "set_in": "Composto in Vollkorn.",
    "set_in_licensed": "Composto in Vollkorn, con licenza SIL Open Font License 1.1.",
    "made_with": "Realizzato con dreambook.",
    "reading_order": "Ordine di lettura",
    "question": "D.",
}  # fmt: skip

_PT: Mapping[str, str] = {
    "contents": "Sumário",
    "chapter": "Capítulo {number}",
    "appendix": "Apêndice",
    "appendix_lettered": "Apêndice {letter}",
    "reached_from": "Vindo de {chapters}",
    "next_stages": "Próximas etapas",
    "page": "p.\u00a0{page}",
    "this_page": "esta página",
    "overleaf": "no verso",
    "facing_page": "na página ao lado",
    "map": "Mapa do livro",
    "map_description": "Mapa do livro: os capítulos em ordem de leitura, com as ligações entre eles",
    "map_caption": "Os capítulos em ordem de leitura, com a página em que cada um começa. Os arcos contínuos são ligações de \u201c{next_stages}\u201d; os tracejados, referências cruzadas.",
    "map_intro": "Os capítulos em ordem de leitura e as ligações entre eles. A lista após o desenho diz o mesmo em palavras.",
    "map_leads_to": "{chapter}: leva a {chapters}",
    "map_no_next_stages": "{chapter}: sem continuação",
    "cross_reference": "referência cruzada",
    "dead_end": "beco sem saída",
    "unreachable": "inalcançável",
    "notes": "Notas",
    "note_backlink": "Voltar à chamada da nota {number}",
    "cover": "Capa",
    "cover_alt": "Capa: {title}",
    "cover_alt_authors": "Capa: {title}, de {authors}",
    "title_page": "Folha de rosto",
    "copyright": "Créditos",
    "dedication": "Dedicatória",
    "landmarks": "Pontos de referência",
    "pages": "Páginas",
    "font_licence": "Licença das fontes",
    "start_of_content": "Início do texto",
    "published_by": "Publicado por {publisher}",
    "print_edition": "{title}, edição impressa",
    "page_markers": "As marcas de página deste livro digital seguem a edição impressa ({edition}).",
    "set_in": "Composto em Vollkorn.",
    "set_in_licensed": "Composto em Vollkorn, sob a licença SIL Open Font License 1.1.",
    "made_with": "Feito com dreambook.",
    "reading_order": "Ordem de leitura",
    "question": "P.",
}  # fmt: skip

_NL: Mapping[str, str] = {
    "contents": "Inhoud",
    "chapter": "Hoofdstuk {number}",
    "appendix": "Bijlage",
    "appendix_lettered": "Bijlage {letter}",
    "reached_from": "Bereikt vanuit {chapters}",
    "next_stages": "Volgende etappes",
    "page": "blz.\u00a0{page}",
    "this_page": "deze bladzijde",
    "overleaf": "ommezijde",
    "facing_page": "hiernaast",
    "map": "Kaart van het boek",
    "map_description": "Kaart van het boek: de hoofdstukken in leesvolgorde, met de verwijzingen ertussen",
    "map_caption": "De hoofdstukken in leesvolgorde, met de bladzijde waarop elk begint. Doorgetrokken bogen zijn verwijzingen onder \u2018{next_stages}\u2019, gestreepte bogen kruisverwijzingen.",
    "map_intro": "De hoofdstukken in leesvolgorde en de verwijzingen ertussen. De lijst na de tekening zegt hetzelfde in woorden.",
    "map_leads_to": "{chapter}: leidt naar {chapters}",
    "map_no_next_stages": "{chapter}: zonder vervolg",
    "cross_reference": "kruisverwijzing",
    "dead_end": "doodlopend",
    "unreachable": "onbereikbaar",
    "notes": "Noten",
    "note_backlink": "Terug naar noot {number} in de tekst",
    "cover": "Omslag",
    "cover_alt": "Omslag: {title}",
    "cover_alt_authors": "Omslag: {title}, door {authors}",
    "title_page": "Titelpagina",
    "copyright": "Colofon",
    "dedication": "Opdracht",
    "landmarks": "Oriëntatiepunten",
    "pages": "Bladzijden",
    "font_licence": "Lettertypelicentie",
    "start_of_content": "Begin van de tekst",
    "published_by": "Uitgegeven door {publisher}",
    "print_edition": "{title}, gedrukte uitgave",
    "page_markers": "De paginamarkeringen in dit e-boek volgen de gedrukte uitgave ({edition}).",
    "set_in": "Gezet in de Vollkorn.",
    "set_in_licensed": "Gezet in de Vollkorn, onder de SIL Open Font License 1.1.",
    "made_with": "Gemaakt met dreambook.",
    "reading_order": "Leesvolgorde",
    "question": "V.",
}  # fmt: skip

# A regional table holds only what differs from its language's: in Portugal the contents
# is the "Índice" (in Brazil that word names the index at the back).
_PT_PT: Mapping[str, str] = {"contents": "Índice"}

_TABLES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"en": _EN, "de": _DE, "fr": _FR, "es": _ES, "it": _IT, "pt": _PT, "nl": _NL, "pt-pt": _PT_PT}
)

# The Next Stages heading dreambook assumes when [book] next_stages_heading is not set.
DEFAULT_NEXT_STAGES_HEADING = "Next Stages"


def languages() -> tuple[str, ...]:
    """The languages (and regions) that have interface words of their own, as table keys."""
    return tuple(_TABLES)


def _tables_for(language: str) -> tuple[Mapping[str, str], ...] | None:
    """The tables ``language`` reads, most specific first, or None when it has none.

    ``de-AT`` reads ``de``; ``pt-PT`` reads ``pt-pt`` and then ``pt``. Tags are compared
    without regard to case, as BCP 47 says."""
    subtags = language.casefold().replace("_", "-").split("-")
    found = [
        _TABLES["-".join(subtags[:length])]
        for length in range(len(subtags), 0, -1)
        if "-".join(subtags[:length]) in _TABLES
    ]
    return tuple(found) or None


def has_words(language: str) -> bool:
    """Whether ``language`` (a BCP 47 tag) has interface words of its own (else English)."""
    return _tables_for(language) is not None


# --- Babel: what CLDR knows ----------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def babel_locale(language: str) -> Locale:
    """The Babel locale of a BCP 47 tag, falling back to its language, then to English."""
    from babel import Locale, UnknownLocaleError

    for tag in (language, language.split("-")[0], "en"):
        try:
            return Locale.parse(tag, sep="-")
        except (UnknownLocaleError, ValueError):
            continue
    raise AssertionError("Babel always knows English")  # pragma: no cover


def join_list(items: Sequence[Markup | str], language: str) -> Markup:
    """Join ``items`` (safe HTML, or plain text that is escaped) as a list in ``language`` (a BCP 47 tag): "A, B, and C" in
    American English, "A, B and C" in British English, "A, B et C" in French, "A, B und C"
    in German.

    Babel (CLDR) gives the pattern; the items go in only afterwards, so their markup is
    never escaped twice or taken apart.
    """
    from babel.lists import format_list

    if not items:
        return Markup("")
    # Private-use characters no item contains stand in for the items while Babel works.
    tokens = [chr(0xE000 + index) for index in range(len(items))]
    pattern = format_list(tokens, locale=babel_locale(language))
    joined = str(escape(pattern))
    for token, item in zip(tokens, items, strict=True):
        joined = joined.replace(token, str(escape(item)))
    return Markup(joined)


# --- the labels of one book ----------------------------------------------------------------------


@dataclass(frozen=True)
class Labels:
    """The interface words of one book (one field per :data:`LABEL_KEYS` entry), and its
    language tag for what Babel formats (lists, dates).

    Plain fields are words; the methods fill the patterns. Every value is plain text:
    templates escape it, and the methods that take HTML return Markup.
    """

    language: str
    contents: str
    chapter: str
    appendix: str
    appendix_lettered: str
    reached_from: str
    next_stages: str
    page: str
    this_page: str
    overleaf: str
    facing_page: str
    map: str
    map_description: str
    map_caption: str
    map_intro: str
    map_leads_to: str
    map_no_next_stages: str
    cross_reference: str
    dead_end: str
    unreachable: str
    notes: str
    note_backlink: str
    cover: str
    cover_alt: str
    cover_alt_authors: str
    title_page: str
    copyright: str
    dedication: str
    landmarks: str
    pages: str
    font_licence: str
    start_of_content: str
    published_by: str
    print_edition: str
    page_markers: str
    set_in: str
    set_in_licensed: str
    made_with: str
    reading_order: str
    question: str

    def fill(self, key: str, **values: str | Markup) -> Markup:
        """The pattern ``key`` with its placeholders filled, as safe HTML: plain-text values
        are escaped, Markup values go in as they are. ``{next_stages}`` is always known.

        Raises KeyError for a key that is not a label, or a placeholder not given.
        """
        pattern: str = getattr(self, _KEYS_BY_NAME[key].key)
        values.setdefault("next_stages", self.next_stages)
        return Markup(escape(pattern)).format(**values)

    def text(self, key: str, **values: str) -> str:
        """The pattern ``key`` filled with plain-text ``values``, as plain text."""
        pattern: str = getattr(self, _KEYS_BY_NAME[key].key)
        return pattern.format(**{"next_stages": self.next_stages, **values})

    def page_number(self, folio: str) -> str:
        """A page reference: "p.\u00a012", "S.\u00a012", "blz.\u00a012"."""
        return self.page.format(page=folio)

    def chapter_label(self, number: int) -> str:
        """The label of the chapter numbered ``number``: "Chapter 3", "Kapitel 3"."""
        return self.chapter.format(number=number)

    def appendix_label(self, letter: str, several: bool) -> str:
        """The label of an appendix: "Appendix" alone, or "Appendix B" among several."""
        return self.appendix_lettered.format(letter=letter) if several else self.appendix

    def join(self, items: Sequence[Markup | str]) -> Markup:
        """``items`` (safe HTML, or plain text that is escaped) joined as the book's language joins a list (CLDR)."""
        return join_list(items, self.language)

    def month_and_year(self, date: dt.date) -> str:
        """``date`` as its month and year in the book's language (CLDR): "November 2026",
        "novembre 2026", "noviembre de 2026"."""
        from babel.dates import format_skeleton

        return str(format_skeleton("yMMMM", date, locale=babel_locale(self.language)))

    def backlink_title(self) -> str:
        """``note_backlink`` as Python-Markdown's footnotes extension takes it: ``%d`` for
        the note's number, every other ``%`` doubled."""
        marker = "\ue000"  # a private-use character no label holds
        pattern = self.note_backlink.format(number=marker)
        return pattern.replace("%", "%%").replace(marker, "%d")

    def stylesheet(self) -> str:
        """CSS rules for the words the stylesheets print as generated content (the FAQ's
        question mark), to follow the book's stylesheet.

        The selectors are one element more specific than the default stylesheets' own, so
        these words win over theirs while a book's own stylesheet can still set others.
        Every character but letters, digits, spaces and full stops is written as a CSS
        escape, so no label can end the rule or a ``<style>`` element.
        """
        question = _css_string(self.question + "\u2002")
        return f'html section[data-section="faq"] h3::before {{ content: {question}; }}\n'

    def strings(self) -> tuple[str, ...]:
        """Every word of these labels as printed, placeholders taken out, and the
        stylesheet's generated words (the FAQ's mark and the en space after it): what a
        font subset must keep for the interface besides the book's text, dates and numbers.
        """
        words = [_PLACEHOLDER.sub("", getattr(self, key.key)) for key in LABEL_KEYS]
        return (*words, self.question + "\u2002")


_PLACEHOLDER = re.compile(r"\{[A-Za-z_]\w*\}")


def _css_string(text: str) -> str:
    """``text`` as a double-quoted CSS string, every character but letters, digits, spaces
    and full stops escaped."""
    kept = (c if c.isalnum() or c in " ." else f"\\{ord(c):x} " for c in text)
    return '"' + "".join(kept) + '"'


def placeholders(pattern: str) -> frozenset[str]:
    """The ``{name}`` placeholders of ``pattern``. Raises ValueError for a malformed one
    (an unclosed brace, a positional ``{}``)."""
    names = set()
    for _, name, _, _ in string.Formatter().parse(pattern):
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"{{{name}}} is not a named placeholder")
        names.add(name)
    return frozenset(names)


def _pattern_problem(key: LabelKey, pattern: str) -> str | None:
    """Why ``pattern`` cannot stand for ``key``, or None when it can."""
    try:
        found = placeholders(pattern)
    except ValueError as error:
        return f"it is not a pattern dreambook can fill ({error}); write a brace as {{{{ or }}}}"
    missing = key.required - found
    unknown = found - key.required - key.optional
    if missing:
        return "it leaves out " + ", ".join(f"{{{name}}}" for name in sorted(missing))
    if unknown:
        allowed = sorted(key.required | key.optional)
        known = ", ".join(f"{{{name}}}" for name in allowed) if allowed else "none"
        return f"it names {', '.join(f'{{{n}}}' for n in sorted(unknown))} (placeholders: {known})"
    return None


def book_labels(
    language: str,
    overrides: Iterable[tuple[str, str]] = (),
    next_stages_heading: str = DEFAULT_NEXT_STAGES_HEADING,
) -> Labels:
    """The labels of a book in ``language`` (a BCP 47 tag), with book.toml's ``[labels]``
    ``overrides`` (key, text) put over them.

    The Next Stages heading is the ``next_stages`` override when there is one, else
    ``[book] next_stages_heading`` when the author set it to other words than the default
    (they chose the heading and wrote it in their chapters), else the language's words.
    An override that is not a label, or whose placeholders do not fit its key (see
    :func:`label_diagnostics`), is left out. A language without words of its own gets
    English. Raises nothing.
    """
    words = dict(_EN)
    for table in reversed(_tables_for(language) or ()):
        words.update(table)
    if next_stages_heading != DEFAULT_NEXT_STAGES_HEADING:
        words["next_stages"] = next_stages_heading
    for key, text in overrides:
        declared = _KEYS_BY_NAME.get(key)
        if declared is not None and _pattern_problem(declared, text) is None:
            words[key] = text
    return Labels(language=language, **words)


def label_strings(language: str) -> tuple[str, ...]:
    """Every interface word dreambook prints in a book in ``language`` (placeholders taken
    out): the characters a subset font must keep for the interface. A book with ``[labels]``
    overrides has its own in ``RenderedBook.labels.strings()``."""
    return book_labels(language).strings()


ENGLISH = book_labels("en")


def label_diagnostics(
    language: str, overrides: Iterable[tuple[str, str]], path: Path, lines: Mapping[str, int]
) -> list[Diagnostic]:
    """What ``check`` says about a book's interface words: DB110 when ``language`` has no
    words of its own (English is used), DB111 for each ``[labels]`` override whose
    placeholders do not fit its key (the language's words are used).

    ``lines`` gives the book.toml line of each dotted key (``"labels.page"``). Raises nothing.
    """
    found: list[Diagnostic] = []
    if not has_words(language):
        found.append(
            diagnostic(
                "DB110",
                f"dreambook has no interface words in {language!r}; they are printed in English",
                path,
                lines.get("book.language"),
                "write the words in a [labels] table of book.toml (each key is listed in the "
                "README), or use one of: " + ", ".join(sorted(_TABLES)),
            )
        )
    for key, text in overrides:
        declared = _KEYS_BY_NAME.get(key)
        problem = None if declared is None else _pattern_problem(declared, text)
        if declared is not None and problem is not None:
            found.append(
                diagnostic(
                    "DB111",
                    f"[labels] {key} {text!r} cannot be used: {problem}",
                    path,
                    lines.get(f"labels.{key}"),
                    f"the language's own words are printed instead; for example: "
                    f"{key} = {_EN[key]!r}",
                )
            )
    return found
