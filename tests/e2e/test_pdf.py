"""End to end: build the sample book's PDFs with the dreambook command and read what it wrote.

Every check reads the real PDF (PyMuPDF for text positions, links and page labels;
pikepdf for page boxes) and compares it with the manuscript or with the PDF itself, never
with numbers written into the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pymupdf
import pytest
from lxml import html as lxml_html

from dreambook.pipeline import check_manuscript
from dreambook.render import RenderedBook, render_book
from dreambook.styles import default_styles_folder
from tests.conftest import SAMPLE_MANUSCRIPT, WriteBook, chapter
from tests.e2e.test_cli import diagnostics_in, run

pytestmark = pytest.mark.slow

PAGE_REFERENCE = re.compile(r"p\.\s*([0-9ivxlcdm]+)")


@dataclass(frozen=True)
class SampleBuild:
    digital: Path
    print: Path
    book: RenderedBook


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleBuild:
    """Build the sample book once (both variants) with the installed command."""
    output = tmp_path_factory.mktemp("build")
    result = run("build", SAMPLE_MANUSCRIPT, "-o", output, "--variant", "all")
    assert result.returncode == 0, result.stderr
    checked = check_manuscript(SAMPLE_MANUSCRIPT)
    book = render_book(checked.book, checked.graph, checked.reading_order)
    return SampleBuild(output / f"{book.slug}.pdf", output / f"{book.slug}-print.pdf", book)


def normalise(text: str) -> str:
    """Text as extracted, with typographic apostrophes and soft hyphens folded, one space."""
    text = text.replace("\u2019", "'").replace("\u2010\n", "").replace("\u00ad", "")
    return " ".join(text.split())


def foot_word(page: pymupdf.Page) -> str:
    """The lowest word on the page: the folio printed in the bottom margin."""
    words = page.get_text("words")
    return str(max(words, key=lambda w: (w[3], w[0]))[4]) if words else ""


def words_inside(page: pymupdf.Page, rect: pymupdf.Rect) -> list[str]:
    """Words whose centre lies inside ``rect`` (a link's clickable area)."""
    found = []
    for x0, y0, x1, y1, word, *_ in page.get_text("words"):
        if rect.x0 - 0.5 <= (x0 + x1) / 2 <= rect.x1 + 0.5 and rect.y0 <= (y0 + y1) / 2 <= rect.y1:
            found.append(str(word))
    return found


@dataclass(frozen=True)
class InternalLink:
    page: int
    target_page: int
    name: str
    text: str


def internal_links(document: pymupdf.Document) -> Iterator[InternalLink]:
    """Every internal link, with the text under it; a link broken over lines is one link."""
    for page in document:
        group: list[dict[str, object]] = []
        for link in [*page.get_links(), None]:
            if link is not None and link.get("kind") == pymupdf.LINK_URI:
                continue
            same = (
                link is not None and group and link.get("nameddest") == group[-1].get("nameddest")
            )
            if group and not same:
                text = " ".join(
                    " ".join(words_inside(page, item["from"]))  # type: ignore[arg-type]
                    for item in group
                )
                yield InternalLink(
                    page.number,  # type: ignore[arg-type]
                    int(group[0]["page"]),  # type: ignore[call-overload]
                    str(group[0].get("nameddest", "")),
                    text,
                )
                group = []
            if link is not None:
                group.append(link)


def squash(text: str) -> str:
    """Text with every space removed and case folded: letter-spaced small caps extract as
    "ch a p t e r" (set in lower case, so that copied text has no stray capitals)."""
    return "".join(normalise(text).split()).casefold()


def opening_pages(document: pymupdf.Document, book: RenderedBook) -> dict[str, int]:
    """Page index of each chapter's opening: the page that starts with its label and title.

    Opening pages carry no running head, so their text begins with "Chapter N" and the title.
    """
    found: dict[str, int] = {}
    for rendered in book.chapters:
        opening = squash(rendered.label + rendered.title_text)
        for page in document:
            if squash(page.get_text()).startswith(opening):
                found[rendered.slug] = page.number  # type: ignore[assignment]
                break
    return found


def test_contents_numbers_are_the_folios_of_the_pages_where_chapters_open(
    sample: SampleBuild,
) -> None:
    document = pymupdf.open(sample.digital)
    contents = next(p for p in document if normalise(p.get_text()).startswith("Contents"))
    contents_text = normalise(contents.get_text())
    opening = opening_pages(document, sample.book)
    assert len(opening) == len(sample.book.chapters)
    for rendered in sample.book.chapters:
        title = re.escape(normalise(rendered.title_text))
        listed = re.search(title + r"[ .]*?(\d+)\b", contents_text)
        assert listed, f"{rendered.title_text} is not in the contents"
        page = document[opening[rendered.slug]]
        assert listed.group(1) == foot_word(page) == page.get_label(), rendered.slug


def test_every_printed_page_reference_names_the_page_of_its_target(sample: SampleBuild) -> None:
    document = pymupdf.open(sample.digital)
    referenced = [link for link in internal_links(document) if PAGE_REFERENCE.search(link.text)]
    for link in referenced:
        printed = PAGE_REFERENCE.search(link.text).group(1)  # type: ignore[union-attr]
        assert printed == document[link.target_page].get_label(), link
    # Every cross-reference, "Reached from" entry and Next Stages item printed its place:
    # "p. N", or "overleaf" / "on the facing page" when the target is that close.
    expected = sum(
        len(
            lxml_html.fragment_fromstring(str(c.body), create_parent="div").xpath(
                "//a[@class='xref']"
            )
        )
        + len(c.reached_from)
        + len(c.next_stages)
        for c in sample.book.chapters
    )
    nearby = [
        link
        for link in internal_links(document)
        if any(words in link.text for words in ("overleaf", "facing", "this page"))
    ]
    assert len(referenced) + len(nearby) == expected
    for link in nearby:
        recto = link.page % 2 == 0
        if "this page" in link.text:
            assert link.target_page == link.page, link
        elif "overleaf" in link.text:
            assert recto, link
            assert link.target_page == link.page + 1, link
        else:
            assert link.target_page == (link.page - 1 if recto else link.page + 1), link


def test_chapters_open_on_right_hand_pages_with_odd_folios(sample: SampleBuild) -> None:
    document = pymupdf.open(sample.digital)
    for slug, index in opening_pages(document, sample.book).items():
        assert index % 2 == 0, f"{slug} opens on a left-hand page"
        assert int(document[index].get_label()) % 2 == 1, slug


def test_front_matter_is_numbered_in_roman_and_the_body_from_arabic_1(sample: SampleBuild) -> None:
    document = pymupdf.open(sample.digital)
    first_chapter = opening_pages(document, sample.book)[sample.book.chapters[0].slug]
    labels = [page.get_label() for page in document]
    assert labels[first_chapter] == "1"
    roman = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"]
    assert labels[:first_chapter] == roman[:first_chapter]
    assert labels[first_chapter:] == [str(n) for n in range(1, len(labels) - first_chapter + 1)]
    # The folio printed on a page with text agrees with its label.
    contents = next(p for p in document if normalise(p.get_text()).startswith("Contents"))
    assert foot_word(contents) == contents.get_label()


def test_outline_lists_chapters_in_reading_order_with_their_sections(sample: SampleBuild) -> None:
    document = pymupdf.open(sample.digital)
    outline = document.get_toc(simple=True)
    front = {"Contents", "Map of the Book"}
    chapters = [
        (title, page) for level, title, page in outline if level == 1 and title not in front
    ]
    assert [normalise(t) for t, _ in chapters] == [
        normalise(c.title_text) for c in sample.book.chapters
    ]
    opening = opening_pages(document, sample.book)
    assert [page - 1 for _, page in chapters] == [opening[c.slug] for c in sample.book.chapters]
    first = sample.book.chapters[0]
    sections = []
    for level, title, _page in outline[outline.index([1, chapters[0][0], chapters[0][1]]) + 1 :]:
        if level == 1:
            break
        sections.append(normalise(title))
    assert sections == [normalise(s.title) for s in first.sections if s.level == 2]


def test_all_fonts_are_embedded_and_the_book_face_is_used(sample: SampleBuild) -> None:
    document = pymupdf.open(sample.digital)
    fonts = {font for page in document for font in page.get_fonts(full=True)}
    assert fonts
    assert all(font[1] != "n/a" for font in fonts), "a font is not embedded"
    assert any("Vollkorn" in font[3] for font in fonts)


def test_metadata_comes_from_book_toml(sample: SampleBuild) -> None:
    config = sample.book.config
    document = pymupdf.open(sample.digital)
    assert document.metadata["title"] == f"{config.title}: {config.subtitle}"
    assert document.metadata["author"] == ", ".join(config.authors)
    assert document.metadata["subject"] == config.description
    assert document.metadata["keywords"] == ", ".join(config.keywords)
    with pikepdf.open(sample.digital) as pdf:
        assert str(pdf.Root.Lang) == config.language


def test_every_link_annotation_has_a_valid_destination(sample: SampleBuild) -> None:
    # The print edition has no links: PDF/X allows no annotation on the page.
    assert not any(page.get_links() for page in pymupdf.open(sample.print))
    for path in (sample.digital,):
        document = pymupdf.open(path)
        count = 0
        for page in document:
            for link in page.get_links():
                count += 1
                if link["kind"] == pymupdf.LINK_URI:
                    assert str(link["uri"]).startswith(("https://", "http://", "mailto:"))
                    continue
                assert link["kind"] in (pymupdf.LINK_GOTO, pymupdf.LINK_NAMED), link
                assert 0 <= link["page"] < document.page_count, link
        assert count > 50


def box(page: pikepdf.Page, name: str) -> tuple[float, float, float, float]:
    values = page.obj.get(name, page.obj.MediaBox)
    return tuple(float(v) for v in values)  # type: ignore[return-value]


def test_print_variant_has_bleed_and_trim_boxes_and_the_digital_one_does_not(
    sample: SampleBuild,
) -> None:
    bleed = sample.book.config.bleed.points
    trim_width = sample.book.config.trim_size.width.points
    with pikepdf.open(sample.print) as pdf:
        for page in pdf.pages:
            trim, bleed_box = box(page, "/TrimBox"), box(page, "/BleedBox")
            assert trim[2] - trim[0] == pytest.approx(trim_width, abs=0.01)
            assert bleed_box[0] == pytest.approx(trim[0] - bleed, abs=0.01)
            assert bleed_box[1] == pytest.approx(trim[1] - bleed, abs=0.01)
            assert bleed_box[2] == pytest.approx(trim[2] + bleed, abs=0.01)
            assert bleed_box[3] == pytest.approx(trim[3] + bleed, abs=0.01)
    with pikepdf.open(sample.digital) as pdf:
        for page in pdf.pages:
            assert box(page, "/BleedBox") == box(page, "/TrimBox") == box(page, "/MediaBox")
            assert box(page, "/TrimBox")[2] - box(page, "/TrimBox")[0] == pytest.approx(
                trim_width, abs=0.01
            )


def test_both_variants_have_the_same_pages(sample: SampleBuild) -> None:
    digital, printed = pymupdf.open(sample.digital), pymupdf.open(sample.print)
    # The print edition may end with blank pages that pad it to an even count.
    assert digital.page_count <= printed.page_count <= digital.page_count + 1
    labels = [p.get_label() for p in printed]
    assert [p.get_label() for p in digital] == labels[: digital.page_count]


def test_a_dangling_link_prints_as_plain_text_and_is_reported(write_book: WriteBook) -> None:
    root = write_book(
        {
            "one.md": chapter(
                "One",
                "See [the lost chapter](lost.md) for more.\n\n## Next Stages\n\n"
                "- [Two](two.md) — onwards.\n",
            ),
            "two.md": chapter("Two", "The end of [the first](one.md).\n"),
        }
    )
    output = root.parent / "out"
    result = run("build", root, "-o", output)
    assert result.returncode == 0, result.stderr
    assert ("one.md", 5, "DB031") in diagnostics_in(result.stderr)
    document = pymupdf.open(output / "a-small-book.pdf")
    text = normalise(" ".join(page.get_text() for page in document))
    assert "See the lost chapter for more." in text
    links = list(internal_links(document))
    assert not any("lost" in link.text for link in links)
    # The working cross-reference in chapter two points back to chapter one's opening page.
    back = [link for link in links if link.name == "one" and "first" in link.text]
    assert len(back) == 1
    assert PAGE_REFERENCE.search(back[0].text).group(1) == document[back[0].target_page].get_label()  # type: ignore[union-attr]


def top_line(page: pymupdf.Page) -> str:
    """The text of the highest line on the page (the running head, when there is one)."""
    words = page.get_text("words")
    if not words:
        return ""
    top = min(w[1] for w in words)
    return normalise(
        " ".join(str(w[4]) for w in sorted(words, key=lambda w: w[0]) if w[1] - top < 2)
    )


def test_running_heads_book_title_left_chapter_title_right_none_on_openings(
    sample: SampleBuild,
) -> None:
    document = pymupdf.open(sample.digital)
    opening = opening_pages(document, sample.book)
    starts = [*sorted(opening.values()), document.page_count]
    book_title = normalise(sample.book.config.title)
    checked = 0
    for rendered, first, end in zip(sample.book.chapters, starts, starts[1:], strict=False):
        assert not top_line(document[first]).startswith(book_title)
        assert squash(top_line(document[first])).startswith(squash(rendered.label))
        for index in range(first + 1, end):
            page = document[index]
            if not page.get_text().strip():
                continue  # a blank page before the next chapter: no head, no folio
            expected = book_title if index % 2 == 1 else normalise(rendered.title_text)
            assert top_line(page) == expected, (rendered.slug, page.get_label())
            checked += 1
    assert checked > len(sample.book.chapters)


@pytest.mark.parametrize(
    ("trim", "width", "height"),
    [("A5", 419.53, 595.28), ("5in x 8in", 360.0, 576.0), ("5.5in × 8.5in", 396.0, 612.0)],
)
def test_trim_size_from_book_toml_sets_the_page_size(
    write_book: WriteBook, trim: str, width: float, height: float
) -> None:
    toml = (
        f'[book]\ntitle = "Trim"\nstart = "one"\n\n[print]\ntrim_size = "{trim}"\nbleed = "3mm"\n'
    )
    root = write_book({"one.md": chapter("One", "A short chapter.\n")}, book_toml=toml)
    output = root.parent / "out"
    result = run("build", root, "-o", output, "--variant", "all")
    assert result.returncode == 0, result.stderr
    with pikepdf.open(output / "trim.pdf") as pdf:
        media = box(pdf.pages[0], "/MediaBox")
        assert media[2] - media[0] == pytest.approx(width, abs=0.05)
        assert media[3] - media[1] == pytest.approx(height, abs=0.05)
    with pikepdf.open(output / "trim-print.pdf") as pdf:
        trim_box, bleed_box = box(pdf.pages[0], "/TrimBox"), box(pdf.pages[0], "/BleedBox")
        assert trim_box[2] - trim_box[0] == pytest.approx(width, abs=0.05)
        assert trim_box[0] - bleed_box[0] == pytest.approx(3 * 72 / 25.4, abs=0.05)


def test_a_book_can_restyle_itself_with_its_own_styles_folder(write_book: WriteBook) -> None:
    toml = '[book]\ntitle = "Restyled"\nstart = "one"\nstyles = "house-style"\n'
    override = "@import url(default-print.css);\n.chapter-label { display: none; }\n"
    root = write_book(
        {"one.md": chapter("One", "Plain text.\n"), "house-style/print.css": override},
        book_toml=toml,
    )
    # The override imports nothing from outside its folder, so it is a whole stylesheet of its
    # own: here, the defaults copied in beside it under another name.
    default_css = (SAMPLE_MANUSCRIPT.parent / "styles" / "print.css").read_text("utf-8")
    (root / "house-style" / "default-print.css").write_text(default_css, "utf-8")
    # A link to dreambook's own fonts (as installed) is a link a build may follow.
    (root / "house-style" / "fonts").symlink_to(default_styles_folder() / "fonts")
    output = root.parent / "out"
    result = run("build", root, "-o", output)
    assert result.returncode == 0, result.stderr
    text = squash(" ".join(page.get_text() for page in pymupdf.open(output / "restyled.pdf")))
    assert "chapter1" not in text
    assert "plaintext." in text


def test_the_map_of_the_book_gives_each_chapter_its_opening_page(sample: SampleBuild) -> None:
    assert sample.book.config.map, "the sample book shows its map"
    document = pymupdf.open(sample.digital)
    map_page = next(p for p in document if normalise(p.get_text()).startswith("Map of the Book"))
    assert map_page.get_label() in {
        "i",
        "ii",
        "iii",
        "iv",
        "v",
        "vi",
        "vii",
        "viii",
        "ix",
        "x",
        "xi",
    }
    text = normalise(map_page.get_text())
    opening = opening_pages(document, sample.book)
    for rendered in sample.book.chapters:
        folio = document[opening[rendered.slug]].get_label()
        # Numbered as the contents numbers them: "A" for the appendix.
        assert f"{rendered.number}. {normalise(rendered.title_text)} · {folio}" in text, (
            rendered.slug
        )
