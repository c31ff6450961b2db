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


# --- one way to run a network ---------------------------------------------------------------

# A layer's or a neuron's step: only nn/layers.py (where they are defined, and MLP._run, the
# one loop over the layers) and nn/run.py (run_layers, which keeps what MLP._run returns) call
# them; everything else runs a network through nn.run_layers or model(x).
STEPS = ("_run", "_forward", "_weighted_input", "_activate")
RUNNERS = {"nn.layers", "nn.run"}
DEMOS = {
    f"demos.{p.relative_to(ROOT / 'demos').with_suffix('').as_posix().replace('/', '.')}": p
    for p in sorted((ROOT / "demos").rglob("*.py"))
}


def _functions(tree: ast.AST):
    """``(qualified name, node)`` of every function, methods as ``Class.method``."""
    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield f"{prefix}{child.name}", child
                yield from walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)
    yield from walk(tree, "")


def _iterates_layers(it: ast.expr) -> bool:
    """``layers``, ``model.layers``, or either inside ``enumerate(...)`` or ``zip(...)``."""
    if isinstance(it, ast.Call):
        return any(_iterates_layers(a) for a in it.args)
    name = it.attr if isinstance(it, ast.Attribute) else it.id if isinstance(it, ast.Name) else ""
    return name.endswith("layers")


def _calls_on(body: list[ast.AST], target: str) -> bool:
    """Whether ``body`` calls ``target(...)`` or one of ``target``'s steps."""
    for node in (n for b in body for n in ast.walk(b)):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id == target:
                return True
            if (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
                    and f.value.id == target and (f.attr in STEPS or f.attr == "__call__")):
                return True
    return False


def layer_loops(known: dict[str, Path]) -> list[tuple[str, str]]:
    """``(module, function)`` of every loop over ``...layers`` that runs each layer."""
    found = []
    for m, path in known.items():
        for fname, fn in _functions(ast.parse(path.read_text(), str(path))):
            for node in ast.walk(fn):
                loops = []
                if isinstance(node, ast.For):
                    loops.append((node.target, node.iter, node.body))
                elif isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
                    loops += [(g.target, g.iter, [node.elt]) for g in node.generators]
                for target, it, body in loops:
                    names = [t.id for t in ast.walk(target) if isinstance(t, ast.Name)]
                    if _iterates_layers(it) and any(_calls_on(body, n) for n in names):
                        found.append((m, fname))
    return sorted(set(found))


def step_calls(known: dict[str, Path]) -> list[tuple[str, int, str]]:
    """``(module, line, step)`` of every call of a layer's or neuron's step on another object
    (``self._forward`` inside a class is that class's own business)."""
    found = []
    for m, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in STEPS
                    and not (isinstance(node.func.value, ast.Name)
                             and node.func.value.id == "self")):
                found.append((m, node.lineno, node.func.attr))
    return found


def test_mlp_run_is_the_only_loop_that_runs_the_layers() -> None:
    assert layer_loops({**ALL, **DEMOS}) == [("nn.layers", "MLP._run")]


def test_only_nn_run_and_the_layers_call_a_layer_or_neuron_step() -> None:
    outside = [c for c in step_calls({**ALL, **DEMOS}) if c[0] not in RUNNERS]
    assert not outside, f"a network run outside nn.run_layers: {outside}"
    # ... and nn.run_layers keeps what MLP's loop computed, through one call.
    assert [s for _, _, s in step_calls({"nn.run": ALL["nn.run"]})] == ["_run"]


def test_a_pre_activation_is_read_from_the_run_never_from_a_nodes_parents() -> None:
    """Code that runs networks (nn's, and the explorer's engine) reads each neuron's z from
    nn.run_layers; nn.grouping, which folds a drawn graph's nodes, is the one reader of a
    node's parents in nn."""
    known = {**{m: p for m, p in ALL.items() if m.startswith("nn")},
             "demos.explorer.engine": DEMOS["demos.explorer.engine"]}
    readers = sorted({m for m, path in known.items()
                      for node in ast.walk(ast.parse(path.read_text()))
                      if isinstance(node, ast.Attribute) and node.attr == "parents"})
    assert readers == ["nn.grouping"]


def test_the_network_checks_catch_a_forward_of_ones_own(tmp_path: Path) -> None:
    known = _write(tmp_path, {
        "__init__": "",
        "own": (
            "def forward(model, xs):\n"
            "    acts = [xs]\n"
            "    for layer in model.layers:\n"
            "        acts.append(layer(acts[-1]))\n"
            "    return acts\n"
            "def hidden(layers, xs):\n"
            "    return [layer._forward(xs) for layer in layers]\n"
            "def numbered(model, h):\n"
            "    for i, layer in enumerate(model.layers):\n"
            "        h = layer(h)\n"
            "    return h\n"
            "def fine(model):\n"
            "    return [layer.nout for layer in model.layers]\n"
        ),
    })
    assert layer_loops(known) == [
        ("pkg.own", "forward"), ("pkg.own", "hidden"), ("pkg.own", "numbered")
    ]
    assert step_calls(known) == [("pkg.own", 7, "_forward")]


# --- every built-in derivative is stated once, in rules.py, and both passes run it -----

def _statement(rule):
    """The function that states ``rule``'s derivative, and the name its kind reads it by:
    ``d`` (local derivatives of ``+ - *``), ``partners`` (``dot``) or the ``vjp``."""
    for name in ("d", "partners", "vjp"):
        f = getattr(rule, name, None)
        if f is not None:
            return name, f
    raise AssertionError(f"{rule!r} states no derivative")


def _rebuilt(rule, name: str, f):
    """The same kind as ``rule``, made through its public constructor with ``f`` as its
    statement."""
    from autograd.kinds import Rule

    if name == "d":
        return type(rule)(rule.symbol, rule.forward, d=f, law=rule.law)
    return Rule(rule.symbol, rule.arity, rule.forward, None if name == "partners" else f,
                domain=rule.domain, law=rule.law, kink=rule.kink,
                partners=f if name == "partners" else None, finite=rule.finite)


def _passes_that_call(rule, operands: tuple[float, ...]) -> set[str]:
    """Which passes call ``rule``'s stated derivative: backward's float step and
    ``grad(create_graph=True)``."""
    from autograd import Value, apply, grad

    name, f = _statement(rule)
    calls = []

    def counted(*args):
        calls.append(args)
        return f(*args)

    spy = _rebuilt(rule, name, counted)
    xs, expected = [Value(x) for x in operands], [Value(x) for x in operands]
    apply(rule, *expected).backward()
    apply(spy, *xs).backward()
    assert [x.grad for x in xs] == [x.grad for x in expected]  # the same bits as the rule's
    passes = {"float backward"} if calls else set()
    calls.clear()
    ys = [Value(x) for x in operands]
    grad(apply(spy, *ys), ys, create_graph=True)
    return passes | ({"create_graph"} if calls else set())


BUILT_IN = {  # symbol: rules.py's name, operands away from any kink
    "+": ("ADD", (1.5, -0.25)), "-": ("SUB", (1.5, -0.25)), "*": ("MUL", (1.5, -0.25)),
    "/": ("DIV", (1.5, -0.25)), "dot": ("DOT", (1.5, -0.25, 0.75, 2.0)),
    "tanh": ("TANH", (0.3,)), "relu": ("RELU", (0.3,)), "exp": ("EXP", (0.3,)),
}


@pytest.mark.parametrize("symbol", sorted(BUILT_IN))
def test_each_built_in_derivative_is_stated_in_rules_py_and_runs_both_passes(symbol: str) -> None:
    from autograd import rules

    name, operands = BUILT_IN[symbol]
    rule = getattr(rules, name)
    assert rule.symbol == symbol
    _, f = _statement(rule)
    assert Path(f.__code__.co_filename).resolve() == ROOT / "autograd" / "rules.py", (
        f"{symbol}: its derivative is defined in {f.__code__.co_filename}, not rules.py")
    assert _passes_that_call(rule, operands) == {"float backward", "create_graph"}


def test_a_derivative_written_outside_rules_py_or_a_send_that_skips_it_is_caught() -> None:
    import operator

    from autograd import rules
    from autograd.kinds import Product

    here = Product("*", operator.mul, d=lambda a, b: (b, a))
    assert Path(_statement(here)[1].__code__.co_filename).resolve() != ROOT / "autograd/rules.py"

    class HandWritten(Product):  # the old Product.send: the derivative written again
        def send(self, node, g):  # type: ignore[no-untyped-def]
            a, b = self.parents(node)
            a.grad += g * b.data
            b.grad += g * a.data

    spy = HandWritten("*", operator.mul, d=rules.mul_d)
    assert _passes_that_call(spy, (1.5, -0.25)) == {"create_graph"}
