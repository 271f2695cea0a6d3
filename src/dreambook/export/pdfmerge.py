"""Join the PDFs of separately laid-out chunks of a book into one PDF.

Each chunk was laid out by WeasyPrint on its own (see pdfchunks.py) and ends with one
sentinel page that is not part of the book. The merge keeps every other page, in order,
and rebuilds what WeasyPrint writes per document as one thing for the whole book:

* the named destinations (every anchor, so that links between chunks land: a link to an
  anchor in another chunk was written as a link to a stand-in anchor on the sentinel page,
  and the stand-in is dropped here in favour of the real one);
* the outline, chunk after chunk;
* the structure tree of a tagged PDF: WeasyPrint tags page by page under one Document
  element, so the chunks' per-page elements are appended in order under a single Document
  and the keys of the parent tree (one per page, one per link annotation) are renumbered;
* the document-level entries (language, XMP metadata, viewer preferences, document info),
  taken from the first chunk;
* ``/PageLabels``, roman for the front matter and arabic from the body's first page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pikepdf

# Catalog entries that describe the whole document; copied from the first chunk.
_DOCUMENT_ENTRIES = ("/Lang", "/MarkInfo", "/ViewerPreferences", "/Metadata", "/PageMode")


@dataclass(frozen=True)
class ChunkPdf:
    """One chunk's PDF and how many of its pages belong to the book (the rest are dropped)."""

    path: Path
    pages: int


def _copy(merged: pikepdf.Pdf, source: pikepdf.Pdf, item: pikepdf.Object) -> pikepdf.Object:
    """Copy ``item`` (direct or indirect) from ``source`` into ``merged``."""
    if not item.is_indirect:
        item = source.make_indirect(item)
    return merged.copy_foreign(item)


def page_labels(body_start: int) -> pikepdf.Dictionary:
    """``/PageLabels``: lower-case roman before ``body_start``, arabic from 1 after it."""
    numbers: list[Any] = []
    if body_start > 0:
        numbers += [0, pikepdf.Dictionary(S=pikepdf.Name.r)]
    numbers += [body_start, pikepdf.Dictionary(S=pikepdf.Name.D, St=1)]
    return pikepdf.Dictionary(Nums=pikepdf.Array(numbers))


class _StructureTree:
    """The merged structure tree: one Document element, a flat parent tree."""

    def __init__(self, pdf: pikepdf.Pdf) -> None:
        self.pdf = pdf
        self.root = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot))
        self.document = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.StructElem, S=pikepdf.Name.Document, K=pikepdf.Array()
            )
        )
        self.document.P = self.root
        self.root.K = pikepdf.Array([self.document])
        self.numbers = pikepdf.Array()
        self.next_key = 0

    def add_chunk(
        self, source: pikepdf.Pdf, kept: Sequence[pikepdf.Page], dropped: set[tuple[int, int]]
    ) -> None:
        """Append the elements of ``source``'s kept pages; renumber their parent-tree keys.

        ``kept`` are the pages as copied into the merged PDF, ``dropped`` the object ids of
        ``source``'s pages that were not copied.
        """
        tree = source.Root.get("/StructTreeRoot")
        if tree is None:
            return
        (document,) = list(tree.K) if isinstance(tree.K, pikepdf.Array) else [tree.K]
        parent_tree = tree.ParentTree
        if "/Kids" in parent_tree:
            raise ValueError("a chunk's structure parent tree is not flat")
        numbers = list(parent_tree.Nums)
        listed = list(document.get("/K", pikepdf.Array()))
        # Elements whose parent is the chunk's Document element: those it lists, and those
        # WeasyPrint parents to it without listing (found by climbing from the parent tree).
        tops = {element.objgen: element for element in listed}
        listed_ids = set(tops)
        climbed: set[tuple[int, int]] = set()
        for value in numbers[1::2]:
            for element in value if isinstance(value, pikepdf.Array) else [value]:
                while element.objgen not in climbed:
                    climbed.add(element.objgen)
                    parent = element.get("/P")
                    if parent is None:
                        break
                    if parent.objgen == document.objgen:
                        tops[element.objgen] = element
                        break
                    element = parent
        # Without their parent link, copies stop at these elements instead of dragging the
        # chunk's whole tree (and its dropped page) along. All links go before the first
        # copy: an element copied through another path would keep its link.
        for element in tops.values():
            del element.P
        for element in tops.values():
            page = element.get("/Pg")
            if page is not None and page.objgen in dropped:
                continue
            copied = _copy(self.pdf, source, element)
            copied.P = self.document
            if element.objgen in listed_ids:
                self.document.K.append(copied)
        offset = self.next_key
        dropped_keys = {
            int(page.obj.StructParents)
            for page in source.pages
            if page.obj.objgen in dropped and "/StructParents" in page.obj
        }
        for key, value in zip(numbers[::2], numbers[1::2], strict=True):
            if int(key) in dropped_keys:
                continue
            self.numbers.append(int(key) + offset)
            self.numbers.append(_copy(self.pdf, source, value))
            self.next_key = max(self.next_key, int(key) + offset + 1)
        for kept_page in kept:
            page_object = kept_page.obj
            if "/StructParents" in page_object:
                page_object.StructParents = int(page_object.StructParents) + offset
            for annotation in page_object.get("/Annots", pikepdf.Array()):
                if "/StructParent" in annotation:
                    annotation.StructParent = int(annotation.StructParent) + offset

    def finish(self) -> None:
        self.root.ParentTree = self.pdf.make_indirect(pikepdf.Dictionary(Nums=self.numbers))
        self.root.ParentTreeNextKey = self.next_key
        self.pdf.Root.StructTreeRoot = self.root


def _copy_outline(
    merged: pikepdf.Pdf,
    source: pikepdf.Pdf,
    items: Sequence[pikepdf.OutlineItem],
    dropped: set[tuple[int, int]],
) -> list[pikepdf.OutlineItem]:
    copies = []
    for item in items:
        destination: Any = item.destination
        if isinstance(destination, pikepdf.Array) and len(destination):
            if destination[0].objgen in dropped:
                continue
            destination = _copy(merged, source, destination)
        copy = pikepdf.OutlineItem(item.title, destination)
        copy.is_closed = item.is_closed
        copy.children.extend(_copy_outline(merged, source, item.children, dropped))
        copies.append(copy)
    return copies


def merge_chunks(chunks: Sequence[ChunkPdf], body_start: int, destination: BinaryIO) -> None:
    """Write the book made of ``chunks`` (in reading order) to ``destination``.

    ``body_start`` is the index of the body's first page in the merged book, where arabic
    page numbers begin. Raises pikepdf.PdfError for an unreadable chunk.
    """
    merged = pikepdf.new()
    destinations: dict[str, pikepdf.Object] = {}
    outline: list[pikepdf.OutlineItem] = []
    structure: _StructureTree | None = None
    version = "1.4"
    sources = []
    for index, chunk in enumerate(chunks):
        source = pikepdf.open(chunk.path)
        sources.append(source)
        version = max(version, source.pdf_version)
        if index == 0:
            for entry in _DOCUMENT_ENTRIES:
                if entry in source.Root:
                    merged.Root[entry] = _copy(merged, source, source.Root[entry])
            merged.trailer.Info = _copy(merged, source, source.trailer.Info)
            if "/StructTreeRoot" in source.Root:
                structure = _StructureTree(merged)
        dropped = {page.obj.objgen for page in source.pages[chunk.pages :]}
        first = len(merged.pages)
        for page in source.pages[: chunk.pages]:
            merged.pages.append(page)
        kept = list(merged.pages[first:])
        if structure is not None:
            structure.add_chunk(source, kept, dropped)
        names = source.Root.get("/Names")
        if names is not None and "/Dests" in names:
            for name, target in pikepdf.NameTree(names.Dests).items():
                if name in destinations or target[0].objgen in dropped:
                    continue
                destinations[name] = _copy(merged, source, target)
        with source.open_outline() as chunk_outline:
            outline += _copy_outline(merged, source, chunk_outline.root, dropped)
    if structure is not None:
        structure.finish()
    if destinations:
        tree = pikepdf.NameTree.new(merged)
        for name in sorted(destinations):
            tree[name] = destinations[name]
        merged.Root.Names = pikepdf.Dictionary(Dests=tree.obj)
    if outline:
        with merged.open_outline() as merged_outline:
            merged_outline.root.extend(outline)
    merged.Root.PageLabels = page_labels(body_start)
    merged.save(
        destination,
        deterministic_id=True,
        min_version=version,
        object_stream_mode=pikepdf.ObjectStreamMode.generate,
    )
    for source in sources:
        source.close()
