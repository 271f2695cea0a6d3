"""End to end: the EPUB as a retailer, a library and a reader's device take it (issue 16).

Fonts cut down to the characters the text sets, with their small capitals and oldstyle
figures; a map of the book drawn in the reader's colours and sized in ems; accessibility
metadata that claims only what the book holds; the metadata a catalogue reads, warned about
when missing; the print page list of a PDF built earlier; the NCX's page list and depth.
Every EPUB built here also goes through EPUBCheck.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from lxml import etree

from dreambook.pipeline import build_book, check_manuscript
from tests.conftest import MINIMAL_TOML, REPO, SAMPLE_MANUSCRIPT, WriteBook, chapter
from tests.e2e.test_epub import (
    NS,
    OpenedEpub,
    build,
    epubcheck_problems,
    png_bytes,
    two_chapter_files,
)

pytestmark = pytest.mark.slow

SVG = "{http://www.w3.org/2000/svg}"
# A colour written into a drawing: #rgb or #rrggbb, rgb(), hsl() or a colour name SVG knows.
_HARD_COLOUR = re.compile(
    r"#[0-9a-f]{3}(?:[0-9a-f]{3})?\b|\b(?:rgb|rgba|hsl|hsla|device-cmyk)\(|"
    r"^(?:black|white|gr[ae]y|red|orange|blue|green|silver|navy)$",
    re.I,
)
_PAINT = ("fill", "stroke", "color", "stop-color", "flood-color", "lighting-color")


@pytest.fixture(scope="module")
def sample_epub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample book as an EPUB alone, as ``dreambook build --format epub`` writes it."""
    output = tmp_path_factory.mktemp("retail")
    with pytest.MonkeyPatch.context() as environment:
        environment.delenv("SOURCE_DATE_EPOCH", raising=False)
        _, result = build(SAMPLE_MANUSCRIPT, output / "sample.epub")
    return result.path


def _text_characters(epub: OpenedEpub) -> set[str]:
    """Every character in the bodies of the EPUB's XHTML documents."""
    found: set[str] = set()
    for item in epub.manifest().values():
        if item.get("media-type") == "application/xhtml+xml":
            body = epub.document(str(item.get("href"))).find("x:body", NS)
            assert body is not None
            for text in body.itertext():
                found.update(text)
    return found


def _substitutes(font: TTFont, feature: str) -> dict[str, str]:
    """Glyph -> glyph of the single substitutions the GSUB ``feature`` makes."""
    gsub = font["GSUB"].table
    found: dict[str, str] = {}
    for record in gsub.FeatureList.FeatureRecord:
        if record.FeatureTag != feature:
            continue
        for index in record.Feature.LookupListIndex:
            for subtable in gsub.LookupList.Lookup[index].SubTable:
                if subtable.LookupType == 7:  # an extension holds the real subtable
                    subtable = subtable.ExtSubTable
                found.update(getattr(subtable, "mapping", {}) or {})
    return found


def _features(font: TTFont, table: str) -> set[str]:
    return {record.FeatureTag for record in font[table].table.FeatureList.FeatureRecord}


def test_each_embedded_font_holds_only_what_the_text_needs_and_keeps_its_features(
    sample_epub: Path,
) -> None:
    epub = OpenedEpub.open(sample_epub)
    text = _text_characters(epub)
    stylesheet = epub.read("epub.css").decode("utf-8")
    # What the stylesheet sets by itself: list arrows, the FAQ's "Q." and its spaces.
    generated = {"\u2192", "\u2002", "Q", "."}
    # A reading system's own hyphens and spaces, and both cases of every letter (small
    # capitals and case changes need them).
    allowed = text | generated | set(" \u00a0-\u2010\u00ad")
    allowed |= {c.upper() for c in allowed} | {c.lower() for c in allowed}
    fonts = [
        str(i.get("href")) for i in epub.manifest().values() if i.get("media-type") == "font/ttf"
    ]
    assert len(fonts) == 4
    for name in fonts:
        assert f"url({name})" in stylesheet
        font = TTFont(io.BytesIO(epub.read(name)))
        mapped = {chr(code) for code in font.getBestCmap()}
        assert mapped <= allowed, (name, sorted(mapped - allowed))
        # Every character of the text is kept, in every face (the text-presentation
        # selector is drawn by no font, and control characters by none either).
        drawn = {c for c in text if c.isprintable() and c != "\ufe0e"}
        assert drawn <= mapped, (name, sorted(drawn - mapped))
        assert len(font.getGlyphOrder()) < 400, name  # the full programs hold some 2,150
        # Every feature the stylesheet uses that the full program has (Vollkorn's italics
        # have no small capitals of their own).
        full = TTFont(REPO / "styles" / name)
        wanted = {"smcp", "c2sc", "onum", "lnum", "tnum", "liga"} & _features(full, "GSUB")
        assert {"onum", "liga"} <= wanted
        assert wanted <= _features(font, "GSUB"), name
        assert "kern" in _features(font, "GPOS"), name
        # The small capitals and oldstyle figures of what was kept, not only the feature
        # names: a small-caps heading and the contents' numbers draw them.
        cmap = font.getBestCmap()
        letters = [cmap[ord(c)] for c in "abcdefghijklmnopqrstuvwxyz" if ord(c) in cmap]
        assert len(letters) == 26, name
        if "smcp" in wanted:
            small_caps = _substitutes(font, "smcp")
            assert all(glyph in small_caps for glyph in letters), name
        # Vollkorn's figures are oldstyle by default: lnum turns them lining, onum back.
        lining, oldstyle = _substitutes(font, "lnum"), _substitutes(font, "onum")
        for digit in "0123456789":
            assert oldstyle[lining[cmap[ord(digit)]]] == cmap[ord(digit)], (name, digit)
        names = {record.nameID for record in font["name"].names}
        assert {0, 13} <= names, name  # copyright and licence travel with the font


def test_the_font_licence_travels_and_the_copyright_page_links_to_it(sample_epub: Path) -> None:
    epub = OpenedEpub.open(sample_epub)
    assert b"SIL OPEN FONT LICENSE Version 1.1" in epub.read("fonts/OFL.txt")
    copyright_page = epub.document("copyright.xhtml")
    (link,) = [a for a in copyright_page.iterfind(".//x:a", NS)]
    assert link.get("href") == "font-licence.xhtml"
    licence = "".join(epub.document("font-licence.xhtml").itertext())
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert epub.spine(linear=False) == ["font-licence.xhtml"]


def test_the_footnote_back_link_is_an_arrow_the_font_has_in_text_presentation(
    sample_epub: Path,
) -> None:
    epub = OpenedEpub.open(sample_epub)
    regular = TTFont(io.BytesIO(epub.read("fonts/Vollkorn-Regular.ttf")))
    backs = [
        "".join(a.itertext())
        for name in epub.spine()
        for a in epub.document(name).iterfind(".//x:a[@role='doc-backlink']", NS)
    ]
    assert backs
    for back in backs:
        glyph, selector = back
        assert selector == "\ufe0e"  # never drawn as an emoji
        assert ord(glyph) in regular.getBestCmap()


def test_the_map_svg_has_no_hard_coded_colour_and_is_sized_in_ems(sample_epub: Path) -> None:
    page = OpenedEpub.open(sample_epub).document("map.xhtml")
    svg = page.find(f".//{SVG}svg")
    assert svg is not None
    painted = 0
    for element in svg.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.get("style") is None
        for name in _PAINT:
            value = element.get(name)
            if value is not None:
                painted += 1
                assert not _HARD_COLOUR.search(value), (element.tag, name, value)
                assert value in {"currentColor", "none"}, (element.tag, name, value)
    assert painted > 20
    assert str(svg.get("width")).endswith("em")
    assert str(svg.get("height")).endswith("em")
    # The labels are the contents' numbers and titles, typographic apostrophes included.
    labels = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text") if t.get("class")]
    assert "A. Keeping a Dream Journal" in labels
    assert "4. Being Chased by Something You Can\u2019t See" in labels
    assert not any("'" in label for label in labels)


def test_the_map_is_in_the_contents_page(sample_epub: Path) -> None:
    contents = OpenedEpub.open(sample_epub).document("contents.xhtml")
    hrefs = [str(a.get("href")) for a in contents.iterfind(".//x:a", NS)]
    assert hrefs[0] == "map.xhtml"


def test_a_book_with_no_author_is_warned_about_and_still_valid(
    write_book: WriteBook, tmp_path: Path
) -> None:
    toml = MINIMAL_TOML.replace('author = "Test Author"\n', "")
    manuscript = write_book(two_chapter_files(), toml)
    # Without an author there is no cover either (DB101 says what that costs).
    found = {d.code: d for d in check_manuscript(manuscript).diagnostics}
    assert set(found) == {"DB090", "DB101"}
    warning = found["DB090"]
    assert not warning.is_error
    assert warning.line == 2  # the book's title
    _, result = build(manuscript, tmp_path / "anonymous.epub")
    assert epubcheck_problems(result.path) == []
    assert OpenedEpub.open(result.path).metadata("creator") == []


def test_a_book_with_no_language_is_warned_about(write_book: WriteBook) -> None:
    manuscript = write_book(two_chapter_files(), MINIMAL_TOML.replace('language = "en"\n', ""))
    assert [d.code for d in check_manuscript(manuscript).diagnostics] == ["DB091"]


def test_authors_are_sorted_by_author_sort_or_by_their_last_word(
    write_book: WriteBook, tmp_path: Path
) -> None:
    toml = MINIMAL_TOML.replace(
        'author = "Test Author"',
        'authors = ["Mara Ellison", "Ana de la Cruz"]\nauthor_sort = ["Ellison, Mara"]',
    )
    manuscript = write_book(two_chapter_files(), toml)
    (warning,) = check_manuscript(manuscript).diagnostics
    assert warning.code == "DB093"  # one sort name for two authors
    _, result = build(manuscript, tmp_path / "two.epub")
    epub = OpenedEpub.open(result.path)
    metadata = epub.package.find("opf:metadata", NS)
    assert metadata is not None
    sort_as = {
        str(m.get("refines")): m.text
        for m in metadata.iterfind("opf:meta[@property='file-as']", NS)
    }
    creators = {f"#{c.get('id')}": c.text for c in metadata.iterfind("dc:creator", NS)}
    assert {creators[k]: v for k, v in sort_as.items()} == {
        "Mara Ellison": "Ellison, Mara",
        "Ana de la Cruz": "Cruz, Ana de la",
    }
    assert epubcheck_problems(result.path) == []


def test_conformance_is_claimed_only_with_who_certified_it(
    write_book: WriteBook, tmp_path: Path
) -> None:
    toml = MINIMAL_TOML + (
        '\n[epub]\ncertified_by = "Sample Press accessibility desk"\n'
        'certifier_credential = "Trained assessor"\n'
        'certifier_report = "https://example.org/a11y/small-book.html"\n'
    )
    manuscript = write_book(two_chapter_files(), toml)
    _, result = build(manuscript, tmp_path / "certified.epub")
    assert epubcheck_problems(result.path) == []
    epub = OpenedEpub.open(result.path)
    assert epub.metadata("dcterms:conformsTo") == ["EPUB Accessibility 1.1 - WCAG 2.1 Level AA"]
    assert epub.metadata("a11y:certifiedBy") == ["Sample Press accessibility desk"]
    assert epub.metadata("a11y:certifierCredential") == ["Trained assessor"]
    metadata = epub.package.find("opf:metadata", NS)
    assert metadata is not None
    (report,) = metadata.iterfind("opf:link[@rel='a11y:certifierReport']", NS)
    assert report.get("href") == "https://example.org/a11y/small-book.html"
    # The one picture is the cover set from the title and author, which has its text
    # equivalent: a visual access mode, and text alone suffices.
    assert epub.metadata("schema:accessMode") == ["textual", "visual"]
    assert epub.metadata("schema:accessModeSufficient") == ["textual", "textual,visual"]


def test_an_image_without_a_text_alternative_makes_text_alone_insufficient(
    write_book: WriteBook, tmp_path: Path
) -> None:
    files = two_chapter_files(
        **{
            "one.md": chapter("One", "![](pictures/plain.png)\n\n![A cover](pictures/plain.png)\n"),
            "pictures/plain.png": png_bytes(),
        }
    )
    manuscript = write_book(files)
    _, result = build(manuscript, tmp_path / "pictures.epub")
    epub = OpenedEpub.open(result.path)
    assert epub.metadata("schema:accessMode") == ["textual", "visual"]
    assert epub.metadata("schema:accessModeSufficient") == ["textual,visual"]
    assert "alternativeText" not in epub.metadata("schema:accessibilityFeature")


def test_a_book_with_a_cover_and_a_map_passes_epubcheck(
    write_book: WriteBook, tmp_path: Path
) -> None:
    toml = MINIMAL_TOML.replace('start = "one"', 'start = "one"\nmap = true') + (
        '\n[epub]\ncover = "images/cover.png"\n'
    )
    manuscript = write_book(two_chapter_files(**{"images/cover.png": png_bytes()}), toml)
    _, result = build(manuscript, tmp_path / "cover-map.epub")
    assert epubcheck_problems(result.path) == []
    epub = OpenedEpub.open(result.path)
    landmarks = epub.nav("landmarks")
    assert landmarks is not None
    kinds = [a.get("{http://www.idpf.org/2007/ops}type") for a in landmarks.iterfind(".//x:a", NS)]
    assert kinds == ["cover", "toc", "loi", "bodymatter"]
    assert "alternativeText" in epub.metadata("schema:accessibilityFeature")
    assert epub.metadata("schema:accessModeSufficient") == ["textual", "textual,visual"]


def test_without_embedded_fonts_the_stylesheet_names_none(
    write_book: WriteBook, tmp_path: Path
) -> None:
    manuscript = write_book(two_chapter_files(), MINIMAL_TOML + "\n[epub]\nembed_fonts = false\n")
    _, result = build(manuscript, tmp_path / "plain.epub")
    assert epubcheck_problems(result.path) == []
    epub = OpenedEpub.open(result.path)
    assert result.fonts == ()
    assert not [i for i in epub.manifest().values() if "font" in str(i.get("media-type"))]
    stylesheet = epub.read("epub.css").decode("utf-8")
    assert "@font-face" not in stylesheet
    assert "font-family" in stylesheet  # the rest of the stylesheet stays
    assert "Vollkorn" not in "".join(epub.document("copyright.xhtml").itertext())


def _nav_sections(path: Path) -> list[str]:
    toc = OpenedEpub.open(path).nav("toc")
    assert toc is not None
    assert len(toc.findall("x:ol/x:li", NS)) == 2
    return ["".join(a.itertext()) for a in toc.iterfind("x:ol/x:li/x:ol/x:li/x:a", NS)]


@pytest.mark.parametrize(
    ("depth", "listed"),
    [
        # By default a chapter's own sections, never the ones every chapter has.
        pytest.param("", ["Own Part"], id="default"),
        pytest.param("\n[epub]\ntoc_depth = 1\n", [], id="1"),
        pytest.param("\n[epub]\ntoc_depth = 3\n", ["Own Part", "A Question"], id="3"),
    ],
)
def test_toc_depth_sets_the_levels_of_the_navigation(
    write_book: WriteBook, tmp_path: Path, depth: str, listed: list[str]
) -> None:
    files = two_chapter_files()
    files["one.md"] = str(files["one.md"]).replace(
        "## Quick Answer", "## Own Part\n\nIts text.\n\n### A Question\n\nYes.\n\n## Quick Answer"
    )
    manuscript = write_book(files, MINIMAL_TOML + depth)
    _, result = build(manuscript, tmp_path / "toc.epub")
    assert _nav_sections(result.path) == listed[:1]
    nested = OpenedEpub.open(result.path).nav("toc")
    assert nested is not None
    deeper = [
        "".join(a.itertext()) for a in nested.iterfind(".//x:ol/x:li/x:ol/x:li/x:ol//x:a", NS)
    ]
    assert deeper == listed[1:]
    assert epubcheck_problems(result.path) == []


def test_an_epub_built_alone_takes_the_page_list_of_the_last_pdf_of_the_same_text(
    write_book: WriteBook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    manuscript = write_book(two_chapter_files())
    output = tmp_path / "out"
    build_book(manuscript, output, ["pdf"], jobs=1)
    alone = build_book(manuscript, output, ["epub"], jobs=1)
    assert alone.summaries == ()
    (path,) = output.glob("*.epub")
    assert epubcheck_problems(path) == []
    epub = OpenedEpub.open(path)
    assert epub.metadata("source") == ["A Small Book, print edition"]
    pages = epub.nav("page-list")
    assert pages is not None
    folios = ["".join(a.itertext()) for a in pages.iterfind(".//x:a", NS)]
    assert folios[:2] == ["1", "2"]
    # The NCX carries the same pages for EPUB 2 readers.
    ncx = etree.fromstring(epub.read("toc.ncx"))
    targets = ncx.findall("ncx:pageList/ncx:pageTarget", NS)
    assert [t.get("value") for t in targets] == folios
    total = ncx.find("ncx:head/ncx:meta[@name='dtb:totalPageCount']", NS)
    assert total is not None
    assert total.get("content") == str(len(folios))
    hrefs = [str(a.get("href")) for a in pages.iterfind(".//x:a", NS)]
    sources = [str(t.find("ncx:content", NS).get("src")) for t in targets]  # type: ignore[union-attr]
    assert sources == hrefs

    # Another text: the kept page map is not this book's, and the build says so.
    (manuscript / "two.md").write_text(chapter("Two", "Changed.\n", ending="true"), "utf-8")
    changed = build_book(manuscript, output, ["epub"], jobs=1)
    (note,) = changed.summaries
    assert "no print page list" in note
    assert "other text" in note
    assert OpenedEpub.open(path).nav("page-list") is None


def test_an_epub_built_into_an_empty_folder_says_why_it_has_no_page_list(
    write_book: WriteBook, tmp_path: Path
) -> None:
    manuscript = write_book(two_chapter_files())
    result = build_book(manuscript, tmp_path / "fresh", ["epub"], jobs=1)
    (note,) = result.summaries
    assert "no PDF has been built" in note


def test_without_any_source_date_the_epub_is_dated_when_it_was_built(
    write_book: WriteBook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    manuscript = write_book(two_chapter_files())
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    _, result = build(manuscript, tmp_path / "now.epub")
    (modified,) = OpenedEpub.open(result.path).metadata("dcterms:modified")
    stamp = dt.datetime.strptime(modified, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert before <= stamp <= dt.datetime.now(dt.UTC)
    assert stamp.year != 1980
