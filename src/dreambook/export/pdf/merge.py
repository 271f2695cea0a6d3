"""Join the PDFs of separately laid-out chunks of a book into one PDF, and give a PDF its
page labels.

Each chunk was laid out by WeasyPrint on its own (see chunks.py) and ends with one
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
* ``/PageLabels``, roman for the front matter and arabic from the body's first page;
* one embedded program per TrueType font instead of one per chunk (``share_font_programs``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import re
import shutil
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pikepdf
from fontTools.ttLib import TTFont, TTLibError

from dreambook.export.pdf.walk import resource_dictionaries
from dreambook.fsutil import atomic_output

log = logging.getLogger(__name__)

# Catalog entries that describe the whole document; copied from the first chunk.
_DOCUMENT_ENTRIES = (
    "/Lang", "/MarkInfo", "/ViewerPreferences", "/Metadata", "/PageMode", "/OutputIntents",
)  # fmt: skip


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


def label_pages(pdf: bytes, body_start: int, destination: BinaryIO) -> None:
    """Write ``pdf`` to ``destination`` with ``/PageLabels`` (see ``page_labels``).

    Raises pikepdf.PdfError when ``pdf`` cannot be read.
    """
    with pikepdf.open(io.BytesIO(pdf)) as document:
        document.Root.PageLabels = page_labels(body_start)
        document.save(destination, deterministic_id=True)


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


def _next_object_number(pdf: pikepdf.Pdf) -> int:
    """The number the next object added to ``pdf`` gets (a throw-away object is made to
    learn it; nothing refers to it, so it is not written)."""
    return int(pdf.make_indirect(pikepdf.Dictionary()).objgen[0]) + 1


def _take_stream_data(pdf: pikepdf.Pdf, start: int, end: int) -> None:
    """Give the streams copied into ``pdf`` as objects ``start`` to ``end`` their own data.

    qpdf copies a foreign stream's data only when the copy is written, so every chunk's PDF
    would have to stay open, all its objects parsed, until the book is saved: for a book of
    1,600 pages that doubled the merge's memory. Holding the (still compressed) bytes
    instead lets each chunk's PDF be closed as soon as it has been copied.
    """
    for number in range(start, end):
        item = pdf.get_object((number, 0))
        if isinstance(item, pikepdf.Stream):
            encoding: Any = item.get("/Filter")
            parameters: Any = item.get("/DecodeParms")
            item.write(
                item.read_raw_bytes(), filter=encoding, decode_parms=parameters, type_check=False
            )


def merge_chunks(
    chunks: Sequence[ChunkPdf],
    body_start: int,
    destination: BinaryIO,
    font_cache: Path | None = None,
) -> None:
    """Write the book made of ``chunks`` (in reading order) to ``destination``.

    ``font_cache`` is a folder where the united font programs are kept for the next merge
    (see ``share_font_programs``).

    ``body_start`` is the index of the body's first page in the merged book, where arabic
    page numbers begin. Raises pikepdf.PdfError for an unreadable chunk.
    """
    merged = pikepdf.new()
    destinations: dict[str, pikepdf.Object] = {}
    outline: list[pikepdf.OutlineItem] = []
    structure: _StructureTree | None = None
    version = "1.4"
    for index, chunk in enumerate(chunks):
        start = _next_object_number(merged)
        with pikepdf.open(chunk.path) as source:
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
            _take_stream_data(merged, start, _next_object_number(merged))
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
    share_font_programs(merged, font_cache)
    share_font_dictionaries(merged)
    share_icc_profiles(merged)
    merged.save(
        destination,
        deterministic_id=True,
        min_version=version,
        object_stream_mode=pikepdf.ObjectStreamMode.generate,
    )


@dataclass(frozen=True)
class MergeJob:
    """The merge as a task for an executor's worker (export/pdf/layout.py): the chunks'
    PDFs by path (a worker on the build's machine, which may keep the united font programs
    in ``font_cache``) or as bytes (``data``, one per chunk, for a worker elsewhere)."""

    chunks: tuple[ChunkPdf, ...]
    body_start: int
    data: tuple[bytes, ...] | None = None
    font_cache: Path | None = None


def merge_job(job: MergeJob) -> bytes:
    """The merged PDF of ``job`` (a task: writes nothing but its scratch files). Raises
    pikepdf.PdfError for an unreadable chunk."""
    output = io.BytesIO()
    if job.data is None:
        merge_chunks(job.chunks, job.body_start, output, job.font_cache)
        return output.getvalue()
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dreambook-merge-") as scratch:
        parts = []
        for index, (chunk, data) in enumerate(zip(job.chunks, job.data, strict=True)):
            path = Path(scratch, f"{index}.pdf")
            path.write_bytes(data)
            parts.append(ChunkPdf(path, chunk.pages))
        merge_chunks(parts, job.body_start, output, job.font_cache)
    return output.getvalue()


# --- one program per font ------------------------------------------------------------------------


def _is_blank(glyph: Any) -> bool:
    """Whether a glyph of the ``glyf`` table has no outline (a dropped glyph, or a space).

    Read without decompiling: fontTools gives an empty glyph ``numberOfContours`` 0 at
    once, and a glyph with an outline keeps its raw data until it is used.
    """
    return getattr(glyph, "numberOfContours", None) == 0


# The 'maxp' limits that rasterisers size their work by; the union takes the largest.
_MAXP_LIMITS = (
    "maxPoints", "maxContours", "maxCompositePoints", "maxCompositeContours", "maxZones",
    "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
    "maxStackElements", "maxSizeOfInstructions", "maxComponentElements", "maxComponentDepth",
)  # fmt: skip


def _union_of_subsets(subsets: Sequence[TTFont]) -> bytes:
    """One TrueType program holding every glyph that any of ``subsets`` holds.

    WeasyPrint subsets a font keeping every glyph at its original index (HarfBuzz's
    retain-gids), so the subsets of one font made by different chunks agree on what each
    index means, and a glyph missing from one is found at the same index in another. A
    glyph is copied as its raw data: a composite names its parts by index, which the
    subsets share. Raises KeyError for a program without TrueType outlines.
    """
    base = max(subsets, key=lambda font: len(font.getGlyphOrder()))
    order = base.getGlyphOrder()
    glyphs, metrics = base["glyf"].glyphs, base["hmtx"].metrics
    head, maxp = base["head"], base["maxp"]
    for other in subsets:
        if other is base:
            continue
        other_glyphs, other_metrics = other["glyf"].glyphs, other["hmtx"].metrics
        for index, name in enumerate(other.getGlyphOrder()):
            mine = order[index]
            if _is_blank(glyphs[mine]) and not _is_blank(other_glyphs[name]):
                glyphs[mine] = other_glyphs[name]
                metrics[mine] = other_metrics[name]
            elif metrics[mine][0] == 0 and other_metrics[name][0] != 0:
                metrics[mine] = other_metrics[name]  # a space: no outline, but an advance
        other_head, other_maxp = other["head"], other["maxp"]
        head.xMin, head.yMin = min(head.xMin, other_head.xMin), min(head.yMin, other_head.yMin)
        head.xMax, head.yMax = max(head.xMax, other_head.xMax), max(head.yMax, other_head.yMax)
        for limit in _MAXP_LIMITS:
            if hasattr(maxp, limit) and hasattr(other_maxp, limit):
                setattr(maxp, limit, max(getattr(maxp, limit), getattr(other_maxp, limit)))
    # Device metrics per glyph would describe one subset only; viewers do without them.
    for table in ("hdmx", "LTSH", "VDMX"):
        if table in base:
            del base[table]
    output = io.BytesIO()
    base.save(output)
    return output.getvalue()


def unite_programs(programs: Sequence[bytes]) -> bytes:
    """One TrueType program with every glyph of ``programs``, subsets of one font.

    Raises TTLibError or KeyError for a program that is not TrueType outlines.
    """
    # No recalculated timestamp: the same book must give the same bytes (the bounding boxes
    # are united by hand in _union_of_subsets).
    subsets = [
        TTFont(io.BytesIO(program), recalcBBoxes=False, recalcTimestamp=False)
        for program in programs
    ]
    return _union_of_subsets(subsets)


def _font_descriptors(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    """The descriptors of the fonts the pages use (WeasyPrint's Type 0 fonts), each once.

    Walking the pages' resources is much quicker than looking at every object of a
    tagged book, most of which are structure elements.
    """
    seen: dict[tuple[int, int], pikepdf.Dictionary] = {}
    for page in pdf.pages:
        fonts = page.obj.get("/Resources", pikepdf.Dictionary()).get("/Font", pikepdf.Dictionary())
        for font in fonts.values():
            for descendant in font.get("/DescendantFonts", pikepdf.Array()):
                descriptor = descendant.get("/FontDescriptor")
                if isinstance(descriptor, pikepdf.Dictionary):
                    seen.setdefault(descriptor.objgen, descriptor)
    return list(seen.values())


def _read_kept_program(path: Path) -> bytes | None:
    """A united program kept by an earlier merge, or None when it is missing or damaged
    (a damaged one is deleted, and united again by the caller)."""
    try:
        stored = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        stored, damage = b"", str(error)
    else:
        damage = "its content does not match its hash"
    data, digest = stored[:-32], stored[-32:]
    if data and hashlib.sha256(data).digest() == digest:
        return data
    log.info("united font %s in the cache is damaged: %s; uniting it again", path.name, damage)
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    return None


def share_font_programs(pdf: pikepdf.Pdf, cache: Path | None = None) -> None:
    """Embed each TrueType font once, however many chunks used it.

    Every chunk embeds its own subset of each font it uses, so a book in twelve chunks
    would carry twelve copies of its body font's common letters. The chunks' font
    descriptors are pointed at one program holding the union of their glyphs; their font
    dictionaries (widths, the ToUnicode maps that text extraction reads) stay as they are.
    A font that cannot be read this way keeps its separate programs.

    With ``cache``, each united program is kept there under a hash of the programs it was
    made from, and taken from there when the same programs come again (an edit that uses
    no new letter leaves every chunk's subsets as they were); programs this merge did not
    use are deleted from it.
    """
    by_name: dict[str, list[pikepdf.Dictionary]] = defaultdict(list)
    for descriptor in _font_descriptors(pdf):
        if "/FontFile2" in descriptor:
            # "ABCDEF+Vollkorn-Italic": the tag before '+' names the subset, not the font.
            by_name[str(descriptor.FontName).split("+", 1)[-1]].append(descriptor)
    used: set[str] = set()
    for name, descriptors in sorted(by_name.items()):
        programs = {d.FontFile2.objgen: d.FontFile2 for d in descriptors}
        if len(programs) < 2:
            continue
        sources = [program.read_bytes() for program in programs.values()]
        key = hashlib.sha256(b"".join(hashlib.sha256(s).digest() for s in sources)).hexdigest()
        kept = cache / f"{key}.ttf" if cache is not None else None
        data = _read_kept_program(kept) if kept is not None else None
        if data is None:
            try:
                data = unite_programs(sources)
            except (TTLibError, KeyError, ValueError, AssertionError) as error:
                log.info("font %s keeps one program per chunk: %s", name, error)
                continue
            if kept is not None:
                with contextlib.suppress(OSError), atomic_output(kept) as output:
                    # The program's own hash after it: a damaged file is never embedded.
                    output.write(data + hashlib.sha256(data).digest())
        used.add(f"{key}.ttf")
        shared = pdf.make_stream(data)
        shared.Length1 = len(data)
        for descriptor in descriptors:
            descriptor.FontFile2 = shared
    if cache is not None:
        with contextlib.suppress(OSError):
            for entry in cache.glob("*.ttf"):
                if entry.name not in used:
                    entry.unlink(missing_ok=True)


# --- one font dictionary per font -----------------------------------------------------------------

_CMAP_HEX = re.compile(rb"<([0-9A-Fa-f]+)>")


def _widths(array: Any) -> dict[int, Any]:
    """A CIDFont's /W array as CID -> width (both of its forms: ``c [w1 w2 ...]`` and
    ``c_first c_last w``)."""
    found: dict[int, Any] = {}
    items = list(array)
    index = 0
    while index < len(items):
        first = int(items[index])
        following = items[index + 1]
        if isinstance(following, pikepdf.Array):
            for offset, width in enumerate(following):
                found[first + offset] = width
            index += 2
        else:
            for cid in range(first, int(following) + 1):
                found[cid] = items[index + 2]
            index += 3
    return found


def _width_array(widths: dict[int, Any]) -> pikepdf.Array:
    """CID -> width as a /W array: one ``c [w ...]`` entry per run of consecutive CIDs."""
    result: list[Any] = []
    run: list[Any] = []
    start = previous = -2
    for cid in sorted(widths):
        if cid != previous + 1 and run:
            result.extend([start, pikepdf.Array(run)])
            run = []
        if not run:
            start = cid
        run.append(widths[cid])
        previous = cid
    if run:
        result.extend([start, pikepdf.Array(run)])
    return pikepdf.Array(result)


def _unicode_map(cmap: bytes) -> dict[int, bytes] | None:
    """A ToUnicode CMap's bfchar and bfrange entries as CID -> UTF-16BE hex, or None when
    it holds a form this reader does not take apart (then the fonts stay separate)."""
    found: dict[int, bytes] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        codes = _CMAP_HEX.findall(block)
        if len(codes) % 2:
            return None
        for source, target in zip(codes[::2], codes[1::2], strict=True):
            found.setdefault(int(source, 16), target)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
        for line in block.strip().splitlines():
            codes = _CMAP_HEX.findall(line)
            if b"[" in line or len(codes) != 3:
                return None
            low, high, target = int(codes[0], 16), int(codes[1], 16), int(codes[2], 16)
            width = len(codes[2])
            for offset in range(high - low + 1):
                found.setdefault(low + offset, b"%0*X" % (width, target + offset))
    return found


def _cmap_stream(pdf: pikepdf.Pdf, unicode: dict[int, bytes]) -> pikepdf.Stream:
    """A ToUnicode CMap of ``unicode`` (CID -> UTF-16BE hex), in blocks of 100 (the most
    one block may hold)."""
    lines = [
        b"/CIDInit /ProcSet findresource begin",
        b"12 dict begin",
        b"begincmap",
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        b"/CMapName /Adobe-Identity-UCS def",
        b"/CMapType 2 def",
        b"1 begincodespacerange",
        b"<0000> <FFFF>",
        b"endcodespacerange",
    ]
    cids = sorted(unicode)
    for start in range(0, len(cids), 100):
        block = cids[start : start + 100]
        lines.append(b"%d beginbfchar" % len(block))
        lines += [b"<%04X> <%s>" % (cid, unicode[cid]) for cid in block]
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return pdf.make_stream(b"\n".join(lines))


def _unitable(font: Any) -> tuple[int, int] | None:
    """The program a Type 0 font draws with, when its dictionaries can be united with
    others of the same program (Identity encodings, the forms of /W and ToUnicode read
    here); None otherwise."""
    if font.get("/Subtype") != "/Type0" or font.get("/Encoding") != "/Identity-H":
        return None
    descendants = font.get("/DescendantFonts")
    if not isinstance(descendants, pikepdf.Array) or len(descendants) != 1:
        return None
    cid_font = descendants[0]
    if cid_font.get("/CIDToGIDMap", pikepdf.Name.Identity) != "/Identity":
        return None
    descriptor = cid_font.get("/FontDescriptor")
    program = descriptor.get("/FontFile2") if descriptor is not None else None
    if not isinstance(program, pikepdf.Stream) or "/ToUnicode" not in font:
        return None
    objgen: tuple[int, int] = program.objgen
    return objgen


def _resource_dictionaries(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    """The /Font dictionaries of every page's resources and of the forms they draw."""
    found: list[pikepdf.Dictionary] = []
    for resources in resource_dictionaries(pdf):
        fonts = resources.get("/Font")
        if isinstance(fonts, pikepdf.Dictionary):
            found.append(fonts)
    return found


def share_font_dictionaries(pdf: pikepdf.Pdf) -> None:
    """Give each font one font dictionary, however many chunks used it.

    Once their programs are one (``share_font_programs``), the chunks' fonts of one face
    still are separate Type 0 fonts, each listing the widths and Unicode values of the
    glyphs its chunk used; a preflight lists such a face once per chunk, as if it were
    embedded several times. WeasyPrint keeps glyph indices (CIDs are glyph ids), so the
    same CID means the same glyph in every chunk: the first font is given the union of
    the widths and Unicode maps, and every page points at it. Fonts this cannot be done
    for stay as they are.
    """
    fonts = _resource_dictionaries(pdf)
    by_program: dict[tuple[int, int], dict[tuple[int, int], Any]] = defaultdict(dict)
    for resources in fonts:
        for font in resources.values():
            program = _unitable(font)
            if program is not None:
                by_program[program].setdefault(font.objgen, font)
    kept_for: dict[tuple[int, int], Any] = {}
    for members in by_program.values():
        if len(members) < 2:
            continue
        group = list(members.values())
        widths: dict[int, Any] = {}
        unicode: dict[int, bytes] = {}
        readable = True
        for font in group:
            cid_font = font.DescendantFonts[0]
            for cid, width in _widths(cid_font.get("/W", pikepdf.Array())).items():
                widths.setdefault(cid, width)
            mapped = _unicode_map(font.ToUnicode.read_bytes())
            if mapped is None:
                readable = False
                break
            for cid, text in mapped.items():
                unicode.setdefault(cid, text)
        if not readable:
            continue
        kept = group[0]
        kept.DescendantFonts[0].W = _width_array(widths)
        kept.ToUnicode = _cmap_stream(pdf, unicode)
        for font in group[1:]:
            kept_for[font.objgen] = kept
    if not kept_for:
        return
    for resources in fonts:
        for name in list(resources.keys()):
            font = resources[name]
            if font.objgen in kept_for:
                resources[name] = kept_for[font.objgen]


# --- one copy of each colour profile -------------------------------------------------------------


def _is_icc_profile(item: Any) -> bool:
    """Whether ``item`` is an ICC profile stream (a stream whose dictionary has /N and
    names no type: what an /ICCBased space and an output intent point to)."""
    return (
        isinstance(item, pikepdf.Stream)
        and "/N" in item.stream_dict
        and "/Type" not in item.stream_dict
        and "/Subtype" not in item.stream_dict
    )


def _repoint(item: Any, keep: dict[tuple[int, int], pikepdf.Object]) -> None:
    """Point every reference held in ``item`` (and in the direct objects inside it) to a
    duplicate profile at the copy that is kept. Only direct objects are entered, so there
    is no cycle to follow: every indirect one is visited by the caller."""
    if isinstance(item, pikepdf.Stream):
        item = item.stream_dict
    if isinstance(item, pikepdf.Dictionary):
        entries: list[tuple[Any, Any]] = [(key, item[key]) for key in item.keys()]  # noqa: SIM118 (keys() is typed str)
    elif isinstance(item, pikepdf.Array):
        entries = list(enumerate(item))
    else:
        return
    for where, value in entries:
        if not isinstance(value, pikepdf.Object):
            continue  # numbers and booleans come out as Python values
        if value.is_indirect:
            if value.objgen in keep:
                item[where] = keep[value.objgen]
        else:
            _repoint(value, keep)


def share_icc_profiles(pdf: pikepdf.Pdf) -> None:
    """Embed each ICC profile once, however many chunks embedded it.

    Every chunk of the print edition carries the output intent's CMYK profile (about
    190 KB) for its transparency groups and its own output intent; the merge keeps the
    first chunk's intent, and each duplicate is pointed at the first copy of the same
    bytes, so the unreferenced copies are not written.
    """
    first: dict[bytes, pikepdf.Object] = {}
    keep: dict[tuple[int, int], pikepdf.Object] = {}
    for item in pdf.objects:
        if _is_icc_profile(item):
            # Decoded: two chunks may have compressed the same profile differently.
            digest = hashlib.sha256(item.read_bytes()).digest()
            kept = first.setdefault(digest, item)
            if kept.objgen != item.objgen:
                keep[item.objgen] = kept
    if not keep:
        return
    for item in pdf.objects:
        _repoint(item, keep)
    _repoint(pdf.trailer, keep)
