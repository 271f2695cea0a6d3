"""The EPUB writer's parts on small inputs: zip normalisation, dates, identifiers, XHTML trees."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import zipfile

import pytest
from lxml import etree
from lxml import html as lxml_html
from markupsafe import Markup

from dreambook.config import BookConfig
from dreambook.export.epub.documents import chapter_file_names
from dreambook.export.epub.package import normalise_package
from dreambook.export.epub.xhtml import (
    Document,
    document_properties,
    insert_page_marker,
    make_epub_notes,
    page_marker,
    parse_xhtml,
    place_page_markers,
    point_links_at_files,
    xhtml_fragment,
)
from dreambook.export.pagelist import PageBreak
from dreambook.export.writer import ChapterTrees
from dreambook.identity import identity_of
from dreambook.render import RenderedBook, RenderedChapter
from dreambook.resources import image_type

X = "{http://www.w3.org/1999/xhtml}"
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
CONTAINER = b"""<?xml version="1.0"?>
<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0">
  <rootfiles><rootfile media-type="application/oebps-package+xml" full-path="EPUB/content.opf"/></rootfiles>
</container>"""
NCX = b"""<?xml version="1.0"?>
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">
  <head><meta content="0" name="dtb:depth"/></head>
  <navMap>
    <navPoint id="a"><navLabel><text>A</text></navLabel><content src="a.xhtml"/>
      <navPoint id="b"><navLabel><text>B</text></navLabel><content src="a.xhtml#b"/></navPoint>
    </navPoint>
  </navMap>
</ncx>"""


def zip_as_ebooklib_writes_it(names: list[str]) -> bytes:
    """A zip like EbookLib's: entries dated now, in the given order, mimetype compressed."""
    contents = {
        "mimetype": b"application/epub+zip",
        "META-INF/container.xml": CONTAINER,
        "EPUB/content.opf": b"<package/>",
        "EPUB/toc.ncx": NCX,
        "EPUB/a.xhtml": b"<html/>",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(name, contents[name])
    return buffer.getvalue()


WHEN = dt.datetime(2026, 11, 25, 8, 30, 0, tzinfo=dt.UTC)


def test_normalised_zip_has_mimetype_first_stored_without_extra_field() -> None:
    written = zip_as_ebooklib_writes_it(
        ["EPUB/a.xhtml", "mimetype", "EPUB/toc.ncx", "EPUB/content.opf", "META-INF/container.xml"]
    )
    data = normalise_package(written, WHEN)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
        assert [e.filename for e in entries] == [
            "mimetype",
            "META-INF/container.xml",
            "EPUB/content.opf",
            "EPUB/a.xhtml",
            "EPUB/toc.ncx",
        ]
        assert archive.read("mimetype") == b"application/epub+zip"
    assert entries[0].compress_type == zipfile.ZIP_STORED
    assert entries[0].extra == b""
    assert all(e.compress_type == zipfile.ZIP_DEFLATED for e in entries[1:])
    # The OCF rule readers rely on: the bytes at offset 30 spell the media type.
    assert data[30:58] == b"mimetypeapplication/epub+zip"


def test_normalised_zip_entries_have_fixed_dates_modes_and_system() -> None:
    data = normalise_package(zip_as_ebooklib_writes_it(["mimetype", "META-INF/container.xml",
                                                        "EPUB/content.opf", "EPUB/a.xhtml"]), WHEN)  # fmt: skip
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for entry in archive.infolist():
            assert entry.date_time == (2026, 11, 25, 8, 30, 0)
            assert entry.create_system == 3
            assert entry.external_attr >> 16 == 0o100644


def test_normalising_gives_the_same_bytes_whatever_the_original_dates() -> None:
    names = ["mimetype", "META-INF/container.xml", "EPUB/content.opf", "EPUB/a.xhtml"]
    first = zip_as_ebooklib_writes_it(names)
    second = io.BytesIO()
    with (
        zipfile.ZipFile(second, "w", zipfile.ZIP_DEFLATED) as archive,
        zipfile.ZipFile(io.BytesIO(first)) as source,
    ):
        for info in source.infolist():
            info.date_time = (2001, 2, 3, 4, 5, 6)
            archive.writestr(info, source.read(info.filename))
    assert normalise_package(first, WHEN) == normalise_package(second.getvalue(), WHEN)
    assert normalise_package(normalise_package(first, WHEN), WHEN) == normalise_package(first, WHEN)


def test_entries_are_never_dated_before_the_zip_epoch() -> None:
    names = ["mimetype", "META-INF/container.xml", "EPUB/content.opf"]
    data = normalise_package(
        zip_as_ebooklib_writes_it(names), dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert {e.date_time for e in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_the_ncx_gets_the_depth_of_its_nav_map() -> None:
    names = ["mimetype", "META-INF/container.xml", "EPUB/content.opf", "EPUB/toc.ncx"]
    data = normalise_package(zip_as_ebooklib_writes_it(names), WHEN)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        ncx = etree.fromstring(archive.read("EPUB/toc.ncx"))
    (depth,) = ncx.iter("{http://www.daisy.org/z3986/2005/ncx/}meta")
    assert depth.get("content") == "2"


def test_a_zip_without_a_container_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
    with pytest.raises(ValueError, match="container"):
        normalise_package(buffer.getvalue(), WHEN)


def publication_identifier(config: BookConfig) -> str:
    return identity_of(config, None).urn


# --- dates and identifiers ------------------------------------------------------------------------


def test_an_isbn_becomes_a_urn_isbn_without_hyphens() -> None:
    assert publication_identifier(BookConfig(identifier="978-0-00-000000-2")) == (
        "urn:isbn:9780000000002"
    )
    assert publication_identifier(BookConfig(identifier="urn:isbn:0-306-40615-2")) == (
        "urn:isbn:0306406152"
    )


def test_a_uuid_identifier_is_kept_as_a_urn_uuid() -> None:
    config = BookConfig(identifier="urn:uuid:6F1C1F0E-4B7E-4D2A-9A55-3C2B8F0D7E41")
    assert publication_identifier(config) == "urn:uuid:6f1c1f0e-4b7e-4d2a-9a55-3c2b8f0d7e41"


def test_a_book_without_identifier_gets_a_uuid_derived_from_title_and_authors() -> None:
    one = publication_identifier(BookConfig(title="Night", authors=("A",)))
    assert one == publication_identifier(BookConfig(title="Night", authors=("A",)))
    assert one.startswith("urn:uuid:")
    assert one != publication_identifier(BookConfig(title="Day", authors=("A",)))
    assert one != publication_identifier(BookConfig(title="Night", authors=("B",)))


def _chapter(slug: str) -> RenderedChapter:
    return RenderedChapter(
        slug, slug, "Chapter", "1", Markup(slug), None, slug, Markup(""), (), (), (), f"{slug}.md"
    )


def test_chapter_files_are_numbered_in_reading_order() -> None:
    book = RenderedBook(BookConfig(), "book", tuple(_chapter(s) for s in ("start", "contents")))
    assert chapter_file_names(book) == {
        "start": "chapter-01-start.xhtml",
        "contents": "chapter-02-contents.xhtml",
    }
    many = RenderedBook(BookConfig(), "book", tuple(_chapter(f"c{n}") for n in range(120)))
    assert chapter_file_names(many)["c0"] == "chapter-001-c0.xhtml"


def test_images_are_known_by_their_bytes_not_their_names() -> None:
    assert image_type(b"\x89PNG\r\n\x1a\n....", ".jpg") == ("image/png", ".png")
    assert image_type(b"\xff\xd8\xff\xe0", ".png") == ("image/jpeg", ".jpg")
    assert image_type(b"RIFF\0\0\0\0WEBPVP8 ", ".webp") == ("image/webp", ".webp")
    assert image_type(b'<svg xmlns="http://www.w3.org/2000/svg"/>', ".svg") == (
        "image/svg+xml",
        ".svg",
    )
    assert image_type(b"%PDF-1.7", ".png") is None


# --- XHTML trees ----------------------------------------------------------------------------------


def page(body: str) -> etree._ElementTree:
    return parse_xhtml(
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
        f"<head><title>t</title></head><body>{body}</body></html>",
        "test.xhtml",
    )


def parsed(body: Markup) -> lxml_html.HtmlElement:
    """The chapter body as the build parses it once (ChapterTrees)."""
    return ChapterTrees().body(dataclasses.replace(_chapter("c"), body=body))


def test_html_from_markdown_becomes_well_formed_xhtml() -> None:
    fragment, ids = xhtml_fragment(
        parsed(
            Markup(
                '<p id="a">one<br>two&nbsp;&amp; three</p>\n<hr id="b">\n<img src="x.png" alt="">'
            )
        )
    )
    tree = page(str(fragment))
    assert ids == {"a", "b"}
    paragraph = tree.find(f".//{X}p")
    assert paragraph is not None
    assert "".join(paragraph.itertext()) == "onetwo\u00a0& three"
    assert tree.find(f".//{X}hr") is not None
    assert tree.find(f".//{X}img") is not None


def test_an_empty_body_gives_an_empty_fragment() -> None:
    assert xhtml_fragment(parsed(Markup(""))) == (Markup(""), frozenset())


def test_a_page_marker_goes_right_before_a_paragraph() -> None:
    tree = page('<section id="c"><p>first</p><p id="c--b2">second</p></section>')
    target = tree.find(f".//{X}p[@id='c--b2']")
    assert target is not None
    insert_page_marker(target, page_marker("7", "page_7"))
    insert_page_marker(target, page_marker("8", "page_8"))
    section = tree.find(f".//{X}section")
    assert section is not None
    assert [e.get("id") for e in section] == [None, "page_7", "page_8", "c--b2"]
    marker = section[1]
    assert marker.get(EPUB_TYPE) == "pagebreak"
    assert marker.get("aria-label") == "7"
    assert marker.get("role") == "doc-pagebreak"
    assert not marker.text


def test_a_page_marker_opens_a_list_item_keeping_its_text_in_order() -> None:
    tree = page('<ul><li id="i1">one <em>two</em></li></ul>')
    item = tree.find(f".//{X}li")
    assert item is not None
    insert_page_marker(item, page_marker("3", "page_3"))
    insert_page_marker(item, page_marker("4", "page_4"))
    assert [child.get("id") for child in item][:2] == ["page_3", "page_4"]
    assert item.text is None
    assert "".join(item.itertext()) == "one two"
    assert item[1].tail == "one "


def test_a_page_marker_for_a_table_row_goes_into_its_first_cell() -> None:
    tree = page('<table><tbody><tr id="r"><td>cell</td></tr></tbody></table>')
    row = tree.find(f".//{X}tr")
    assert row is not None
    insert_page_marker(row, page_marker("5", "page_5"))
    cell = tree.find(f".//{X}td")
    assert cell is not None
    assert cell[0].get("id") == "page_5"
    assert cell[0].tail == "cell"


def test_every_page_is_listed_even_when_its_anchor_is_unknown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tree = page('<section id="c"><p id="c--b1">one</p><p id="c--b2">two</p></section>')
    document = Document("c", "c.xhtml", "C", tree)
    breaks = [PageBreak("1", "c"), PageBreak("2", "c--print-only"), PageBreak("3", "c--b2")]
    pages = place_page_markers([document], breaks)
    assert pages == [("page_1", "1"), ("page_2", "2"), ("page_3", "3")]
    body = tree.find(f"{X}body")
    assert body is not None
    assert body[0].get("id") == "page_1"
    paragraph = tree.find(f".//{X}p[@id='c--b2']")
    assert paragraph is not None
    assert [e.get("id") for e in paragraph.itersiblings(preceding=True)][:2] == ["page_3", "page_2"]
    assert "c--print-only" in caplog.text


def test_page_marker_ids_never_repeat_an_id_of_the_book() -> None:
    tree = page('<section id="page_1"><p id="x">one</p></section>')
    pages = place_page_markers([Document("c", "c.xhtml", "C", tree)], [PageBreak("1", "x")])
    assert pages == [("page_1_2", "1")]


FOOTNOTES = """
<section id="c"><p>Text<sup id="c--fnref-1"><a class="footnote-ref" href="#c--fn-1">1</a></sup>.</p>
<div class="footnotes"><hr/><ol>
<li id="c--fn-1"><p>The note.\u00a0<a class="footnote-backref" href="#c--fnref-1">\u21a9</a></p></li>
</ol></div>
<nav class="next-stages"><p>next</p></nav></section>
"""


def test_footnotes_become_asides_before_the_next_stages_box() -> None:
    tree = page(FOOTNOTES)
    assert make_epub_notes(tree) == 1
    call = tree.find(f".//{X}a[@class='footnote-ref']")
    assert call is not None
    assert (call.get(EPUB_TYPE), call.get("role")) == ("noteref", "doc-noteref")
    chapter = tree.find(f"{X}body/{X}section")
    assert chapter is not None
    # As in the printed book: the notes close the text, the Next Stages box the chapter.
    notes = chapter[-2]
    assert notes.get(EPUB_TYPE) == "footnotes"
    assert chapter[-1].get("class") == "next-stages"
    (aside,) = notes
    assert aside.tag == f"{X}aside"
    assert aside.get("id") == "c--fn-1"
    assert (aside.get(EPUB_TYPE), aside.get("role")) == ("footnote", "doc-footnote")
    assert "".join(aside.itertext()).startswith("1.\u00a0The note.")
    back = aside.find(f".//{X}a")
    assert back is not None
    assert back.get("role") == "doc-backlink"
    # An arrow Vollkorn has, never Python-Markdown's hooked arrow, and no emoji.
    assert back.text == "\u2191\ufe0e"
    assert tree.find(f".//{X}div") is None
    assert tree.find(f".//{X}hr") is None


def test_links_are_pointed_at_the_file_holding_their_anchor(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tree = page(
        '<p><a class="xref" href="#b--faq">faq</a> <a class="xref" href="#a--x">here</a>'
        ' <a href="#b--gone">gone</a> <a href="#nowhere">nowhere</a>'
        ' <a class="footnote-ref" href="#a--fn-1">1</a> <a href="https://example.org/">web</a></p>'
    )
    document = Document("a", "a.xhtml", "A", tree)
    anchors = {"b--faq": "b.xhtml", "a--x": "a.xhtml", "a--fn-1": "a.xhtml"}
    point_links_at_files(document, anchors, {"a": "a.xhtml#a", "b": "b.xhtml#b"})
    hrefs = [a.get("href") for a in tree.iter(f"{X}a")]
    assert hrefs == [
        "b.xhtml#b--faq",
        "a.xhtml#a--x",
        "b.xhtml#b",
        "#a--fn-1",
        "https://example.org/",
    ]
    dangling = tree.find(f".//{X}span[@class='dangling-link']")
    assert dangling is not None
    assert dangling.text == "nowhere"
    assert "#b--gone" in caplog.text
    assert "#nowhere" in caplog.text


def test_documents_with_svg_mathml_or_scripts_declare_them() -> None:
    plain = page("<p>text</p>")
    rich = page(
        '<svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg>'
        '<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>x</mi></math>'
        '<p onclick="go()">tap</p>'
    )
    assert document_properties(plain) == []
    assert document_properties(rich) == ["mathml", "scripted", "svg"]
