"""The one place that orders the stages: load -> graph -> reading order (-> render -> write)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dreambook.diagnostics import Diagnostic, escalate, sort_key
from dreambook.errors import UsageError
from dreambook.graph import ChapterGraph, ReadingOrder, build_graph, plan_reading_order
from dreambook.manuscript import Book, load_book


@dataclass(frozen=True)
class CheckedBook:
    """A manuscript read and resolved: the book, its graph, its reading order and every diagnostic."""

    book: Book
    graph: ChapterGraph
    reading_order: ReadingOrder
    diagnostics: tuple[Diagnostic, ...]

    @property
    def has_errors(self) -> bool:
        """True when at least one diagnostic is an error."""
        return any(d.is_error for d in self.diagnostics)


def check_manuscript(manuscript: Path, *, strict: bool = False) -> CheckedBook:
    """Read the manuscript folder, resolve its graph and reading order, and collect diagnostics.

    With ``strict`` every warning is returned as an error. Problems in the manuscript are
    diagnostics, never exceptions. Raises UsageError when ``manuscript`` is not a folder.
    """
    if not manuscript.is_dir():
        raise UsageError(f"{manuscript} is not a folder; give the path of a manuscript folder")
    book, diagnostics = load_book(manuscript)
    graph, graph_diagnostics = build_graph(book)
    order, order_diagnostics = plan_reading_order(book, graph)
    found = sorted(diagnostics + graph_diagnostics + order_diagnostics, key=sort_key)
    return CheckedBook(book, graph, order, escalate(found) if strict else tuple(found))
