"""Where Python-Markdown put a chapter's footnotes: the calls in the text and the notes.

The footnotes extension writes each call as ``<a class="footnote-ref" href="#ID">`` (inside a
``<sup>``) and every note as an ``<li id="ID">`` of the ``<ol>`` in a ``<div
class="footnotes">`` at the end of the chapter. Each writer reshapes them its own way (the
PDF puts a note where it is called, the EPUB makes asides); :func:`find_footnotes` is the
finding both share. Elements are matched by their local name, so the same function reads an
``lxml.html`` tree and a namespaced XHTML tree.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree


@dataclass(frozen=True)
class NoteList:
    """One footnote list: its ``div.footnotes`` and its notes (``ol > li[id]``), in order."""

    block: etree._Element
    notes: tuple[etree._Element, ...]


@dataclass(frozen=True)
class Footnotes:
    """A chapter's footnotes as found, before any writer changes them.

    ``calls`` pairs every ``a.footnote-ref``, in document order, with the note its
    ``href`` names (None when no list holds that id); ``lists`` are the footnote lists.
    """

    calls: tuple[tuple[etree._Element, etree._Element | None], ...]
    lists: tuple[NoteList, ...]


def _local_name(element: etree._Element) -> str | None:
    # Comments and processing instructions have no name to match.
    return etree.QName(element).localname if isinstance(element.tag, str) else None


def has_class(element: etree._Element, name: str) -> bool:
    """Return True when ``name`` is one of the element's classes."""
    return name in str(element.get("class") or "").split()


def find_footnotes(root: etree._Element) -> Footnotes:
    """Find the footnote calls and notes in the tree under ``root``; change nothing.

    ``root`` may come from ``lxml.html`` (no namespace) or from an XHTML document (the
    XHTML namespace). Raises nothing.
    """
    lists: list[NoteList] = []
    calls: list[etree._Element] = []
    for element in root.iter():
        name = _local_name(element)
        if name == "a" and has_class(element, "footnote-ref"):
            calls.append(element)
        elif name == "div" and has_class(element, "footnotes"):
            items = (
                item
                for ordered in element
                if _local_name(ordered) == "ol"
                for item in ordered
                if _local_name(item) == "li" and item.get("id")
            )
            lists.append(NoteList(element, tuple(items)))
    by_id = {str(note.get("id")): note for found in lists for note in found.notes}
    return Footnotes(
        calls=tuple(
            (call, by_id.get(str(call.get("href", "")).removeprefix("#"))) for call in calls
        ),
        lists=tuple(lists),
    )
