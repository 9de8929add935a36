"""The shape of ``kg/``, read from its source with :mod:`ast` (nothing is imported): no import cycles between
modules, no private name imported from another module, a docstring on every module, an ``__init__.py`` in
every package folder, and every module named in ``docs/ARCHITECTURE.md``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "kg"
#: Folders of data files shipped inside the package, not Python packages.
DATA_FOLDERS = {"templates", "static", "__pycache__"}


def modules() -> dict[str, Path]:
    """Dotted module name → file, for every ``.py`` under ``kg/`` (a package's name for its ``__init__``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, str, int]]:
    """``(imported module, imported name or "", line)`` for every import of a ``kg`` module in ``path``, at
    any depth (inside functions too), except under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: list[tuple[str, str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == PACKAGE.name:
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub in known:  # ``from kg.pipeline import build``: the module itself
                        found.append((sub, "", node.lineno))
                    else:
                        found.append((target, alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE.name:
                    found.append((alias.name, "", node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {target for target, _, _ in imports(name, path, known) if target in known and target != name}
            for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def test_the_checker_sees_the_package() -> None:
    known = modules()
    assert {"kg", "kg.cli", "kg.api.app", "kg.pipeline.steps"} <= set(known)
    graph = import_graph()
    assert "kg.api.workers" in graph["kg.api.sparql"]  # a plain top-level import is an edge
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_no_private_name_is_imported_from_another_module() -> None:
    known = modules()
    private = [f"{path.relative_to(ROOT)}:{line}: {target}.{imported}"
               for name, path in known.items()
               for target, imported, line in imports(name, path, known)
               if imported.startswith("_") and not imported.startswith("__") and target != name]
    assert private == []


def test_every_module_has_a_docstring() -> None:
    missing = [str(path.relative_to(ROOT)) for path in modules().values()
               if ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None]
    assert missing == []


def test_every_package_folder_has_an_init() -> None:
    folders = [d for d in PACKAGE.rglob("*") if d.is_dir() and not (set(d.relative_to(PACKAGE).parts) & DATA_FOLDERS)]
    assert folders, "no package folders found"
    missing = [str(d.relative_to(ROOT)) for d in [PACKAGE, *folders] if not (d / "__init__.py").is_file()]
    assert missing == []


def test_every_module_is_named_in_the_architecture_doc() -> None:
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = []
    for name, path in modules().items():
        rel = path.relative_to(ROOT).as_posix()
        if path.name == "__init__.py":  # a package: kg/api/ or kg.api
            named = rel == "kg/__init__.py" and rel in doc or f"{path.parent.relative_to(ROOT).as_posix()}/" in doc \
                or re.search(re.escape(name) + r"\b", doc) is not None
        else:
            named = rel in doc or re.search(re.escape(name) + r"(?![\w.])", doc) is not None
        if not named:
            missing.append(rel)
    assert missing == []
