"""The shape of the package: no import cycles, and a pipeline that knows no output format."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "dreambook"


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Every module named by an import that runs (at module level or inside a function);
    imports under ``if TYPE_CHECKING:`` are for annotations only and are left out."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            # "from package import module" names a module too.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """dreambook module -> the dreambook modules it imports."""
    files = {_module_name(path, package): path for path in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _runtime_imports(tree, module, path.name == "__init__.py")
        graph[module] = {name for name in names if name in files and name != module}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_package_has_no_import_cycle() -> None:
    assert find_cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]


def test_the_import_walk_sees_imports_inside_functions_but_not_type_checking_blocks(
    tmp_path: Path,
) -> None:
    package = tmp_path / "dreambook"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from dreambook import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from dreambook.a import f\n"
    )
    # "from dreambook import b" runs the package's __init__ and then b.
    assert import_graph(package) == {
        "dreambook": set(),
        "dreambook.a": {"dreambook", "dreambook.b"},
        "dreambook.b": set(),
    }


def test_the_pipeline_names_no_output_format() -> None:
    """Formats live in the registry (export/writer.py); the pipeline only loops over it: no
    format's name in its strings, no module of a format imported, no member such as PDF."""
    tree = ast.parse((PACKAGE / "pipeline.py").read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and isinstance(node.body[0], ast.Expr)
    }
    strings = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]
    modules = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    attributes = [node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)]
    assert "dreambook.export.writer" in modules  # the walk sees the code
    formats = re.compile(r"\b(pdf|epub|html|site|variant)s?\b", re.IGNORECASE)
    assert [text for text in strings if formats.search(text)] == []
    assert [
        m
        for m in modules
        if m and m.startswith("dreambook.export.") and m != "dreambook.export.writer"
    ] == []
    assert [a for a in attributes if a in {"PDF", "EPUB", "HTML", "DIGITAL", "PRINT"}] == []
