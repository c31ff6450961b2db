"""The layers of the core: autograd below nn, no import cycles, no private names shared.

The import graph is read from the source with ``ast`` (every import counts, those
inside functions too, since a function-level import only hides a cycle; imports
under ``if TYPE_CHECKING:`` are never run and are left out).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("autograd", "nn")
# nn's names, which the engine must not know (its pictures get them through a hook).
NN_NAMES = ("neuron", "layer", "mlp", "nn")


def _modules(package: str) -> dict[str, Path]:
    return {
        (package if p.stem == "__init__" else f"{package}.{p.stem}"): p
        for p in sorted((ROOT / package).glob("*.py"))
    }


ALL = {name: path for pkg in PACKAGES for name, path in _modules(pkg).items()}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _package_of(module: str, path: Path) -> str:
    return module if path.stem == "__init__" else module.rsplit(".", 1)[0]


def imports(module: str, path: Path, known: dict[str, Path]) -> list[tuple[str, list[str]]]:
    """``(imported module, names taken from it)`` for each import in ``module``."""
    found = []
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(module, path)
                for _ in range(node.level - 1):
                    base = base.rsplit(".", 1)[0]
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names = [a.name for a in node.names]
            submodules = [n for n in names if f"{target}.{n}" in known]
            found += [(f"{target}.{n}", []) for n in submodules]
            rest = [n for n in names if n not in submodules]
            if rest or not submodules:
                found.append((target, rest))
    return found


def import_graph(known: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in known}
    for m, path in known.items():
        for target, _ in imports(m, path, known):
            if target in known and target != m:
                graph[m].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_in_autograd_or_nn() -> None:
    found = cycles(import_graph(ALL))
    assert not found, f"import cycles: {found}"


def test_autograd_imports_nothing_from_nn() -> None:
    for m, path in _modules("autograd").items():
        for target, _ in imports(m, path, ALL):
            assert target.split(".")[0] != "nn", f"{m} imports {target}"


def test_autograd_code_knows_no_names_of_nn() -> None:
    """Identifiers only: docstrings and messages may say what nn's hook does."""
    for m, path in _modules("autograd").items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Name):
                names.append(node.id)
            elif isinstance(node, ast.Attribute):
                names.append(node.attr)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.append(node.name)
            elif isinstance(node, ast.arg):
                names.append(node.arg)
            for name in names:
                words = name.lower().strip("_").split("_")
                bad = [w for w in words if w.rstrip("s") in NN_NAMES]
                assert not bad, f"{m}: line {node.lineno} uses nn's name {name!r}"


def test_no_module_takes_a_private_name_from_another() -> None:
    for m, path in ALL.items():
        for target, names in imports(m, path, ALL):
            private = [n for n in names if n.startswith("_") and target != "__future__"]
            assert not private, f"{m} imports {private} from {target}"
        # ``from . import module`` then ``module._name``: the same thing, spelled apart
        tree = ast.parse(path.read_text())
        aliases = {
            (a.asname or a.name)
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level
            for a in node.names
            if f"{_package_of(m, path)}.{a.name}" in ALL
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
            ):
                raise AssertionError(f"{m}: line {node.lineno} reads {node.value.id}.{node.attr}")


# --- the checks themselves must catch what they are for -------------------------------------


def _write(tmp: Path, files: dict[str, str]) -> dict[str, Path]:
    (tmp / "pkg").mkdir()
    out = {}
    for name, text in files.items():
        p = tmp / "pkg" / f"{name}.py"
        p.write_text(text)
        out["pkg" if name == "__init__" else f"pkg.{name}"] = p
    return out


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    known = _write(tmp_path, {
        "__init__": "",
        "a": "from .b import f\n",
        "b": "def f():\n    from .a import g\n",
        "c": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import g\n",
    })
    assert cycles(import_graph(known)) == [["pkg.a", "pkg.b"]]


@pytest.mark.parametrize("text", ["from .a import _hidden\n", "from . import a\nx = a._hidden\n"])
def test_a_private_name_taken_across_modules_is_found(tmp_path: Path, text: str) -> None:
    known = _write(tmp_path, {"__init__": "", "a": "_hidden = 1\n", "b": text})
    b = known["pkg.b"]
    names = [n for _, ns in imports("pkg.b", b, known) for n in ns]
    spelled_apart = "a._hidden" in b.read_text()
    assert "_hidden" in names or spelled_apart
