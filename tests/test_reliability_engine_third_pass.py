"""The engine's promises from issue 18 (reliability, third pass), in both engine modes.

Each group names the issue's item: what may reach ``.data``/``.grad`` (items 8 and
13), a ``_rule`` slot edited by hand into a cycle (item 1, a crash of the compiled
engine, so run in a subprocess), ``-0.0`` gradients (item 14) and the small ones of
item 18.  Every test here failed on the code before the fix (in at least one mode),
except those marked ``# guard``, which pin what already held.
CI runs the suite in both modes; tests that compare the two modes run each in its
own process and skip without a compiled build (unless ``VALUEGRAD_REQUIRE_COMPILED=1``).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import autograd
from autograd import GradientError, Rule, Value, apply, grad, topological_order, trace_backward

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, pure: bool | None = None) -> subprocess.CompletedProcess:
    """``code`` in a new process, in this process's engine mode (or the one asked for)."""
    env = {k: v for k, v in os.environ.items() if k != "VALUEGRAD_PURE"}
    if pure or (pure is None and not autograd.COMPILED):
        env["VALUEGRAD_PURE"] = "1"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _need_build() -> None:
    folder = ROOT / "autograd"
    if any(folder.glob("value.*.so")) or any(folder.glob("value.*.pyd")):
        return
    if os.environ.get("VALUEGRAD_REQUIRE_COMPILED") == "1":
        pytest.fail("VALUEGRAD_REQUIRE_COMPILED=1, but there is no compiled build")
    pytest.skip("no compiled build (python -m autograd._build)")


def _bits(x: float) -> str:
    assert x.__class__ is float, type(x)
    return x.hex()


# --- 1. a _rule slot set by hand to a node: an error, never a crash ----------------------

_CYCLES = r"""
from autograd import Value
def attempt(name, f):
    try:
        f()
        print(name, "no error")
    except TypeError as e:
        print(name, "TypeError", "_rule" in str(e) or "Rule" in str(e))
y = Value(1.0) * 2.0
y._rule = y
for name, f in [("parents", lambda: y.parents), ("_prev", lambda: y._prev),
                ("op", lambda: y.op), ("backward", y.backward), ("rule", lambda: y.rule)]:
    attempt("self " + name, f)
y, z = Value(1.0) * 2.0, Value(3.0) + 1.0
y._rule, z._rule = z, y
for name, f in [("parents", lambda: y.parents), ("_prev", lambda: y._prev),
                ("_local_grads", lambda: z._local_grads), ("backward", y.backward)]:
    attempt("pair " + name, f)
w = Value(1.0)
top = (w * 2.0).tanh() + w
top._a._rule = top  # a cycle through the graph, found by the walk
attempt("deep backward", top.backward)
from autograd import grad
attempt("deep grad", lambda: grad(top, w))
print("grad intact", w.grad == 0.0)
"""


def test_a_rule_slot_set_by_hand_to_a_node_is_a_type_error_naming_it_never_a_crash() -> None:
    done = _run(_CYCLES)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-500:]}"
    lines = done.stdout.splitlines()
    assert len(lines) == 12, done.stdout
    for line in lines[:-1]:
        assert line.endswith("TypeError True"), line
    assert lines[-1] == "grad intact True"


def test_the_parents_of_a_node_whose_rule_slot_holds_a_node_name_the_slot() -> None:
    code = ("from autograd import Value\ny = Value(1.0) * 2.0\ny._rule = y\ntry:\n"
            "    y.parents\nexcept TypeError as e:\n    print(e)\n")
    done = _run(code)  # a process of its own: the old compiled engine crashed here
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-500:]}"
    assert re.match(r"^parents: the _rule slot of Value\(data=2\.0.* must hold a Rule or "
                    r"None, got Value\(.*\(was it set by hand\?\)$", done.stdout), done.stdout


# --- 8 and 13. what reaches .data and .grad is a Python float ------------------------------


def _float32_rule() -> Rule:
    np = pytest.importorskip("numpy")
    return Rule("f32", 1, lambda x: 2.0 * x, lambda g, out, x: (np.float32(g) * np.float32(0.1),))


def test_a_vjp_returning_a_numpy_float32_leaves_a_python_float_summed_as_doubles() -> None:
    rule = _float32_rule()
    x = Value(1.0)
    y = apply(rule, x)
    for _ in range(3):
        y.backward()
    assert x.grad.__class__ is float
    sent = float(_float32_rule().vjp(1.0, 2.0, 1.0)[0])  # float32(0.1) as a double
    assert _bits(x.grad) == _bits(sent + sent + sent)
    assert _bits(grad(y, x)) == _bits(sent)  # grad() takes it the same way


def test_a_vjp_returning_numpy_float32_gives_the_same_bits_in_both_modes() -> None:
    _need_build()
    code = ("import numpy as np\nfrom autograd import Rule, Value, apply, grad\n"
            "r = Rule('f32', 2, lambda a, b: a * b, lambda g, o, a, b: (np.float32(g) * "
            "np.float32(b), np.float32(0.3)))\n"
            "x, w = Value(0.7), Value(1.3)\ny = apply(r, x, w) + apply(r, w, x)\n"
            "for _ in range(3):\n    y.backward()\n"
            "print(type(x.grad).__name__, x.grad.hex(), w.grad.hex(), grad(y, x).hex())\n")
    pure, compiled = _run(code, pure=True), _run(code, pure=False)
    assert pure.returncode == compiled.returncode == 0, pure.stderr + compiled.stderr
    assert pure.stdout == compiled.stdout
    assert pure.stdout.startswith("float ")


# guard: held before the fix; kept so the fix cannot break it
@pytest.mark.parametrize("bad", ["3", 1j, None])
def test_a_vjp_returning_a_non_real_on_the_float_pass_is_an_error_naming_the_rule(bad: Any) -> None:
    rule = Rule("odd", 1, lambda x: x, lambda g, out, x: (bad,))
    x = Value(1.0)
    x.grad = 0.5
    y = apply(rule, x) * 2.0
    for run in (y.backward, lambda: grad(y, x), lambda: trace_backward(y)):
        with pytest.raises(TypeError, match=r"the vjp of rule 'odd' must return a number"):
            run()
    assert x.grad == 0.5


def test_a_vjp_returning_a_value_on_the_float_pass_is_refused_not_converted() -> None:
    c = Value(4.0)
    rule = Rule("leaky", 2, lambda a, b: a + b, lambda g, out, a, b: (c, g))
    x, w = Value(1.0), Value(2.0)
    with pytest.raises(TypeError, match=r"vjp of rule 'leaky' must return a number per input, "
                       r"got Value\(data=4\.0.*the float pass"):
        apply(rule, x, w).backward()
    assert (x.grad, w.grad) == (0.0, 0.0)


def test_an_nary_vjp_returning_numpy_scalars_sums_as_doubles() -> None:
    np = pytest.importorskip("numpy")
    rule = Rule("nsum", 0, lambda xs: sum(xs), lambda g, out, xs: [np.float32(g / 3)] * len(xs))
    xs = [Value(1.0), Value(2.0)]
    apply(rule, *xs).backward()
    assert [_bits(x.grad) for x in xs] == [_bits(float(np.float32(1 / 3)))] * 2


# --- 14. -0.0 gradients ----------------------------------------------------------------------


def test_negative_zero_gradients_are_restored_bit_for_bit_after_a_failed_pass() -> None:
    boom = Rule("boom", 1, lambda x: x, lambda g, out, x: (math.inf,))
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    mid = a * b
    y = apply(boom, mid) + a
    nodes = topological_order(y)
    for n in nodes:
        n.grad = -0.0
    with pytest.raises(GradientError):
        y.backward()
    assert [_bits(n.grad) for n in nodes] == ["-0x0.0p+0"] * len(nodes)


def test_a_stale_negative_zero_on_an_interior_node_agrees_with_grad_after_backward() -> None:
    x = Value(-1.0)
    dead = (x * 2.0).relu()  # gets a gradient, sends none (its input is < 0)
    inner = x * 2.0
    y = dead * 3.0
    for n in (inner, dead, y):
        n.grad = -0.0
    y.backward(0.0)  # every gradient of this pass is +0.0
    got = [_bits(n.grad) for n in (dead, y)]
    assert got == [_bits(g) for g in grad(y, [dead, y], gradient=0.0)] == ["0x0.0p+0"] * 2
    assert _bits(x.grad) == "0x0.0p+0"


# guard: held before the fix; kept so the fix cannot break it
def test_a_leaf_holding_negative_zero_accumulates_as_old_plus_this_pass() -> None:
    x = Value(3.0)
    x.grad = -0.0
    (x * 0.0).backward()  # this pass sends +0.0 * ... to x: old + new
    assert _bits(x.grad) == _bits(-0.0 + 0.0)


# --- 18. user rules: what forward and vjp may return; backward inside a vjp ----------------


@pytest.mark.parametrize("result", ["3", b" 7 ", bytearray(b"1"), 1j, None, [1.0]])
def test_a_rule_whose_forward_returns_a_non_number_is_refused_naming_the_rule(result: Any) -> None:
    rule = Rule("strfwd", 1, lambda x: result, lambda g, out, x: (g,))
    with pytest.raises(TypeError, match=r"^strfwd: the rule's forward must return a real "
                       r"number, got "):
        apply(rule, 1.0)


# guard: held before the fix; kept so the fix cannot break it
def test_a_rule_whose_forward_returns_a_number_of_another_type_gives_its_float() -> None:
    np = pytest.importorskip("numpy")
    for result in (3, np.float32(0.1), np.float64(0.25)):
        out = apply(Rule("num", 1, lambda x, r=result: r, lambda g, out, x: (g,)), 1.0)
        assert out.data.__class__ is float and _bits(out.data) == _bits(float(result))


@pytest.mark.parametrize("arity", [1, 2, 0])
@pytest.mark.parametrize("container", ["dict", "set", "frozenset"])
def test_a_vjp_returning_a_dict_or_a_set_is_refused_naming_the_rule(
    arity: int, container: str
) -> None:
    def vjp(g: float, out: float, *args: Any) -> Any:
        n = len(args[0]) if arity == 0 else arity
        gs = [g * (i + 1) for i in range(n)]
        return {"dict": dict.fromkeys(gs, 0.0), "set": set(gs),
                "frozenset": frozenset(gs)}[container]

    forward = {1: lambda x: x, 2: lambda a, b: a + b, 0: lambda xs: sum(xs)}[arity]
    rule = Rule("unordered", arity, forward, vjp)
    xs = [Value(1.0), Value(2.0)][: arity or 2]
    y = apply(rule, *xs) * 1.5
    message = r"the vjp of rule 'unordered' must return one gradient per input"
    for run in (y.backward, lambda: grad(y, xs), lambda: grad(y, xs, create_graph=True)):
        with pytest.raises(TypeError, match=message):
            run()
    assert [x.grad for x in xs] == [0.0] * len(xs)


def test_backward_inside_a_vjp_is_refused_naming_the_call_and_changes_nothing() -> None:
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    a.grad = 1.0

    def vjp(g: float, out: float, x: float) -> tuple:
        (a * b).backward()  # the nested pass
        return (g,)

    y = apply(Rule("nested", 1, lambda x: x, vjp), a * b) + a * 2.0
    with pytest.raises(RuntimeError, match=r"^backward: called while a backward pass is "
                       r"running .*autograd\.grad\(\)"):
        y.backward()
    assert (a.grad, b.grad) == (1.0, 0.0)
    y2 = a * b + a * 2.0  # and the thread's next pass runs as usual
    y2.backward()
    assert (a.grad, b.grad) == (1.0 + 5.0, 2.0)


# guard: held before the fix; kept so the fix cannot break it
def test_grad_inside_a_vjp_is_allowed_and_the_outer_pass_is_right() -> None:
    a, b = Value(2.0), Value(3.0)
    seen = []

    def vjp(g: float, out: float, x: float) -> tuple:
        seen.append(grad(a * b, a))  # touches no .grad
        return (g,)

    y = apply(Rule("inner-grad", 1, lambda x: x, vjp), a * b) + a * 2.0
    y.backward()
    assert seen == [3.0] and (a.grad, b.grad) == (5.0, 2.0)


# guard: held before the fix; kept so the fix cannot break it
def test_backward_after_an_interrupted_pass_still_runs() -> None:
    def vjp(g: float, out: float, x: float) -> tuple:
        raise KeyboardInterrupt

    a = Value(2.0)
    with pytest.raises(KeyboardInterrupt):
        apply(Rule("stop", 1, lambda x: x, vjp), a).backward()
    (a * 3.0).backward()  # the running-pass mark went with the interrupted pass
    assert a.grad == 3.0


def test_grad_with_create_graph_gives_each_unused_input_its_own_zero() -> None:
    x, u, v = Value(2.0), Value(5.0), Value(7.0)
    gs = grad(x * x, [x, u, v], create_graph=True)
    assert [g.data for g in gs] == [4.0, 0.0, 0.0]
    assert gs[1] is not gs[2]
    gs[1].data = 1.0  # one input's zero is its own
    assert gs[2].data == 0.0
