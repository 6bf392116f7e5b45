"""The layout's rules, checked on the source: stage packages, no import cycles, every module documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "aggregator"
STAGES = (
    "collect",
    "extract",
    "dedupe",
    "summarize",
    "revise",
    "recap",
    "deliver",
    "publish",
    "notify",
)
# In a stage package only the runner and the store may touch the database.
DB_MODULES = ("stage.py", "store.py")
# `aggregator.db.models` etc.; the clock is not the database layer.
DB_IMPORT = re.compile(r"^(sqlalchemy|aggregator\.db)(\.|$)")


def module_name(path: Path) -> str:
    """Return the dotted module name of a file under the repository root."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Return every module of the package by dotted name (migrations are scripts, not modules)."""
    return {
        module_name(p): p
        for p in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in p.relative_to(PACKAGE).parts
    }


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Return the ids of nodes under `if TYPE_CHECKING:` (they never run)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skipped


def imported_names(path: Path, *, runtime_only: bool = False) -> list[str]:
    """Return the absolute module names a file imports, at any depth (inside functions too).

    With runtime_only, imports under `if TYPE_CHECKING:` are left out (they never execute).
    """
    names: list[str] = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def import_graph() -> dict[str, set[str]]:
    """Return module -> modules whose code runs when it is imported (packages' __init__ included)."""
    mods = modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}
        for target in imported_names(path, runtime_only=True):
            parts = target.split(".")
            # Importing a.b.c runs a/__init__ and a/b/__init__ too, unless the importer is inside
            # them already (then they have started before it).
            for i in range(1, len(parts) + 1):
                prefix = ".".join(parts[:i])
                if prefix in mods and prefix not in own:
                    graph[name].add(prefix)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
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
            visit(v)
    return found


def test_layout_stage_modules_do_not_touch_the_database() -> None:
    offenders = []
    for stage in STAGES:
        folder = PACKAGE / stage
        assert (folder / "stage.py").exists(), f"aggregator/{stage}/ has no stage.py runner"
        for path in sorted(folder.rglob("*.py")):
            if path.name in DB_MODULES:
                continue
            bad = sorted({n for n in imported_names(path) if DB_IMPORT.match(n)})
            if bad:
                offenders.append(f"{path.relative_to(ROOT)} imports {', '.join(bad)}")
    assert not offenders, "only stage.py and store.py may use the database:\n" + "\n".join(
        offenders
    )


def test_layout_has_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_layout_cycle_finder_sees_imports_inside_functions(tmp_path: Path) -> None:
    # The checker itself must catch a cycle hidden in a function body.
    graph = {"a": {"b"}, "b": {"a"}, "c": set()}
    assert cycles(graph) == [["a", "b"]]
    code = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from aggregator.report import StageReport\n"
        "def f():\n    from aggregator.pipeline import run_once\n"
    )
    path = tmp_path / "m.py"
    path.write_text(code)
    assert "aggregator.pipeline" in imported_names(path, runtime_only=True)
    assert "aggregator.report" not in imported_names(path, runtime_only=True)
    assert "aggregator.report" in imported_names(path)


def named_in_architecture(rel: str) -> bool:
    """Return whether docs/architecture.md names a path (relative to aggregator/) as a whole word."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    return re.search(rf"(^|[\s`|(]){re.escape(rel)}($|[\s`|),:;])", text, re.M) is not None


@pytest.mark.parametrize("path", sorted(modules().values()), ids=lambda p: str(p.relative_to(ROOT)))
def test_layout_every_module_is_named_in_the_architecture_page(path: Path) -> None:
    rel = str(path.relative_to(PACKAGE))
    if path.name == "__init__.py":
        rel = str(path.parent.relative_to(PACKAGE)) + "/"
    if rel == "./":
        return
    assert named_in_architecture(rel), f"aggregator/{rel} is not named in docs/architecture.md"
