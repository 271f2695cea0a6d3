"""Finding footnotes: the same calls and notes in an lxml.html tree and in an XHTML tree."""

from __future__ import annotations

from lxml import etree
from lxml import html as lxml_html

from dreambook.export.notes import find_footnotes

BODY = """<p>Text<sup id="c--fnref-1"><a class="footnote-ref" href="#c--fn-1">1</a></sup>
and more<sup id="c--fnref-2"><a class="footnote-ref" href="#c--fn-9">2</a></sup>.</p>
<!-- a comment -->
<div class="footnotes"><hr/><ol>
<li id="c--fn-1"><p>The note. <a class="footnote-backref" href="#c--fnref-1">back</a></p></li>
<li id="c--fn-2"><p>Not called.</p><ul><li>inside</li></ul></li>
</ol></div>"""


def html_tree() -> etree._Element:
    return lxml_html.fragment_fromstring(BODY, create_parent="div")


def xhtml_tree() -> etree._Element:
    return etree.fromstring(f'<div xmlns="http://www.w3.org/1999/xhtml">{BODY}</div>')


def test_calls_and_notes_are_found_in_html_and_xhtml_alike() -> None:
    for root in (html_tree(), xhtml_tree()):
        found = find_footnotes(root)
        assert [call.get("href") for call, _ in found.calls] == ["#c--fn-1", "#c--fn-9"]
        assert [None if note is None else note.get("id") for _, note in found.calls] == [
            "c--fn-1",
            None,
        ]
        (notes,) = found.lists
        assert etree.QName(notes.block).localname == "div"
        assert [note.get("id") for note in notes.notes] == ["c--fn-1", "c--fn-2"]


def test_finding_changes_nothing() -> None:
    root = html_tree()
    before = lxml_html.tostring(root)
    find_footnotes(root)
    assert lxml_html.tostring(root) == before
