"""End to end: a German copy of the sample book, built to PDF, EPUB and HTML, prints every
interface word in German; a [labels] override reaches all three outputs.

The texts are read from what the build wrote (PyMuPDF for the PDF, the EPUB's XHTML with
lxml, the HTML files): every word a reader can see or a screen reader can say, which is
the text of the pages and their ``aria-label``, ``title`` and ``alt`` attributes.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymupdf
import pytest
from lxml import etree
from lxml import html as lxml_html

from dreambook.labels import ENGLISH, LABEL_KEYS, Labels, book_labels
from dreambook.pipeline import check_manuscript
from dreambook.render import RenderedBook, render_book
from tests.conftest import SAMPLE_MANUSCRIPT
from tests.e2e.test_cli import run
from tests.e2e.test_epub import epubcheck_problems
from tests.e2e.test_pdf import internal_links, normalise, squash

pytestmark = pytest.mark.slow

_SPOKEN = ("aria-label", "title", "alt")


@dataclass(frozen=True)
class Built:
    """One build of a copy of the sample book in three formats, and its rendered book."""

    book: RenderedBook
    pdf: Path
    epub: Path
    site: Path
    preview: Path

    def pdf_text(self) -> str:
        """The text of every page (the outline, which repeats the headings, is read apart)."""
        return "\n".join(page.get_text() for page in pymupdf.open(self.pdf))

    def epub_texts(self) -> Iterator[tuple[str, str]]:
        """(file name, text) of every XHTML document of the EPUB, with the spoken attributes."""
        with zipfile.ZipFile(self.epub) as archive:
            for name in archive.namelist():
                if name.endswith(".xhtml"):
                    yield name, _spoken_text(etree.fromstring(archive.read(name)))

    def html_texts(self) -> Iterator[tuple[str, str]]:
        """(file name, text) of the HTML edition's pages and the single-page preview."""
        for path in [*sorted(self.site.glob("*.html")), self.preview]:
            root = lxml_html.fromstring(path.read_bytes())
            yield path.name, _spoken_text(root)


def _spoken_text(root: etree._Element) -> str:
    """The spoken attributes of every element, then the text of the page without the
    chapter bodies (the author's words, which may well hold "notes" or "pages"): what is
    left of a chapter is its opening, its Next Stages and its notes' names."""
    parts = []
    for element in root.iter():
        if isinstance(element.tag, str):
            parts += [str(element.get(name)) for name in _SPOKEN if element.get(name)]
    for unread in root.xpath("//*[local-name()='style' or local-name()='script']"):
        unread.getparent().remove(unread)
    for chapter in root.xpath("//*[contains(concat(' ', @class, ' '), ' chapter ')]"):
        for child in list(chapter):
            kept = _local_name(child) in {"header", "nav", "aside"}
            if not kept or "footnotes" in (child.get("class") or ""):
                child.getparent().remove(child)
    return "\n".join([*parts, " ".join(root.itertext())])


def _local_name(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _copy_sample(folder: Path, language: str, labels: str = "") -> Path:
    manuscript = folder / "manuscript"
    shutil.copytree(SAMPLE_MANUSCRIPT, manuscript)
    toml = manuscript / "book.toml"
    text = toml.read_text("utf-8").replace('language = "en-US"', f'language = "{language}"')
    toml.write_text(text + labels, "utf-8")
    return manuscript


def _build(folder: Path, manuscript: Path) -> Built:
    output = folder / "out"
    formats = ("--format", "pdf", "--format", "epub", "--format", "html")
    result = run("build", manuscript, "-o", output, *formats, "--jobs", "1")
    assert result.returncode == 0, result.stderr
    checked = check_manuscript(manuscript)
    book = render_book(checked.book, checked.graph, checked.reading_order)
    stem = output / book.slug
    return Built(
        book,
        stem.with_suffix(".pdf"),
        stem.with_suffix(".epub"),
        output / f"{book.slug}-site",
        stem.with_suffix(".html"),
    )


@pytest.fixture(scope="module")
def german(tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("german")
    return _build(folder, _copy_sample(folder, "de"))


def _words(text: str) -> str:
    """Text with typographic apostrophes and soft hyphens folded, one space, case folded."""
    return normalise(text).casefold()


def _english_fragments() -> set[str]:
    """The English interface words as they are printed: each pattern's text between its
    placeholders (case folded), three letters or more."""
    fragments = set()
    for key in LABEL_KEYS:
        for piece in re.split(r"\{[a-z_]+\}", getattr(ENGLISH, key.key)):
            words = _words(piece).strip(" :,.()")
            if len(words) >= 3:
                fragments.add(words)
    return fragments


def _author_text(book: RenderedBook, bodies: bool) -> str:
    """The author's words that the book prints (with the chapter bodies, or without): a
    word there is not an interface word."""
    config = book.config
    parts = [config.title, config.subtitle or "", config.rights or "", config.description or ""]
    parts += [config.dedication or "", config.edition or "", config.publisher or ""]
    parts += list(config.authors)
    for chapter in book.chapters:
        parts += [chapter.title_text, str(chapter.subtitle or "")]
        parts += [entry.blurb.striptags() for entry in chapter.next_stages]
        if bodies:
            parts.append(lxml_html.fragment_fromstring(str(chapter.body), "div").text_content())
        else:  # the body's headings are in the EPUB's navigation
            parts += [section.title.striptags() for section in chapter.sections]
    return _words(" ".join(parts))


def _count(haystack: str, fragment: str) -> int:
    """How often ``fragment`` stands in ``haystack`` as whole words."""
    return len(re.findall(rf"(?<!\w){re.escape(fragment)}(?!\w)", haystack))


def _english_left(text: str, author: str) -> dict[str, int]:
    """The English interface words in ``text`` (matched as whole words, case folded) that
    stand there more often than in the author's text ``author``, with how many more."""
    words = _words(text)
    extra = {f: _count(words, f) - _count(author, f) for f in _english_fragments()}
    return {fragment: count for fragment, count in extra.items() if count > 0}


def test_the_german_pdf_prints_no_english_interface_word(german: Built) -> None:
    text = german.pdf_text()
    # The body is printed once, so an interface word may stand only as often as the
    # author wrote it.
    assert _english_left(text, _author_text(german.book, bodies=True)) == {}
    squashed = squash(text)
    for word in ("Inhalt", "Karte des Buches", "Kommend von", "Nächste Etappen", "Kapitel 1"):
        assert squash(word) in squashed, word
    # The FAQ's questions are marked as German marks a question ("F." for "Frage").
    assert re.search(r"^F\.\s", text, re.M)
    assert not re.search(r"^Q\.\s", text, re.M)
    # The bookmarks too: the front matter's headings are German.
    outline = [entry[1] for entry in pymupdf.open(german.pdf).get_toc()]
    assert outline[:2] == ["Inhalt", "Karte des Buches"]


def test_the_german_pdf_s_page_references_name_the_pages_of_their_targets(german: Built) -> None:
    document = pymupdf.open(german.pdf)
    links = list(internal_links(document))
    german_page = re.compile(r"S\.\s*([0-9ivxlcdm]+)")
    referenced = [link for link in links if german_page.search(link.text)]
    for link in referenced:
        printed = german_page.search(link.text).group(1)  # type: ignore[union-attr]
        assert printed == document[link.target_page].get_label(), link
    labels = german.book.labels
    near = (labels.this_page, labels.overleaf, labels.facing_page)
    nearby = [link for link in links if any(words in link.text for words in near)]
    # Every cross-reference, "Kommend von" entry and Next Stages item printed its place.
    expected = sum(
        len(lxml_html.fragment_fromstring(str(c.body), "div").xpath("//a[@class='xref']"))
        + len(c.reached_from)
        + len(c.next_stages)
        for c in german.book.chapters
    )
    assert len(referenced) + len(nearby) == expected
    assert not [link for link in links if re.search(r"\bp\.\s*\d", link.text)]


def test_the_german_pdf_joins_lists_with_und(german: Built) -> None:
    text = " ".join(german.pdf_text().split())
    # A chapter reached from two chapters or more: "Kommend von A (S. 7) und B (S. 53)".
    assert re.search(r"Kommend von (?:[^()]+\(S\. \d+\),? )+und ", text)


def test_the_german_epub_and_html_say_no_english_interface_word(german: Built) -> None:
    allowed = _author_text(german.book, bodies=False)
    for name, text in [*german.epub_texts(), *german.html_texts()]:
        assert {f for f in _english_left(text, "") if _count(allowed, f) == 0} == set(), name
    epub = dict(german.epub_texts())
    nav = next(text for name, text in epub.items() if name.endswith("nav.xhtml"))
    for word in ("Inhalt", "Wegmarken", "Seiten", "Textbeginn"):
        assert word in nav, word
    chapters = " ".join(text for name, text in epub.items() if "chapter-" in name)
    for word in ("Kapitel 1", "Anhang", "Kommend von", "Nächste Etappen", "Anmerkungen"):
        assert word in chapters, word
    assert "Zurück zu Anmerkung 1 im Text" in chapters  # a footnote back-link's title
    with zipfile.ZipFile(german.epub) as archive:
        stylesheet = archive.read("EPUB/epub.css").decode("utf-8")
    assert stylesheet.rstrip().endswith('h3::before { content: "F.\\2002 "; }')
    site = dict(german.html_texts())
    assert "Lesereihenfolge" in site["index.html"]
    assert re.search(r"Kommend von [^\n]* und ", " ".join(site.values()))


def test_the_german_epub_passes_epubcheck(german: Built) -> None:
    assert epubcheck_problems(german.epub) == []


def test_labels_overrides_reach_the_pdf_the_epub_and_the_html(tmp_path: Path) -> None:
    overrides = '\n[labels]\nnext_stages = "Wohin weiter"\npage = "Seite {page}"\n'
    built = _build(tmp_path, _copy_sample(tmp_path, "de-AT", overrides))
    labels: Labels = built.book.labels
    assert labels == book_labels("de-AT", built.book.config.labels)
    assert (labels.next_stages, labels.contents) == ("Wohin weiter", "Inhalt")
    pdf = built.pdf_text()
    assert "Wohin weiter" in pdf
    assert "Nächste Etappen" not in pdf
    assert re.search(r"Seite\s\d+", pdf)
    assert not re.search(r"\bS\.\s\d", pdf)
    for name, text in [*built.epub_texts(), *built.html_texts()]:
        assert "Nächste Etappen" not in text, name
    epub = " ".join(text for _, text in built.epub_texts())
    site = " ".join(text for _, text in built.html_texts())
    assert "Wohin weiter" in epub
    assert "Wohin weiter" in site
