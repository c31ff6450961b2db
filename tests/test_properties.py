"""Properties of the engine over random expression DAGs (see tests/strategies.py)."""

from __future__ import annotations

import json
import operator
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

import autograd.rules as R
import autograd.value as value_module
from autograd import Value, grad, gradcheck, topological_order
from autograd.kinds import Linear
from tests.strategies import OPS, Instr, Program, engine_op_kind, fingerprint, programs

ROOT = Path(__file__).resolve().parents[1]


def central_difference(p: Program, i: int, h: float = 1e-6) -> float:
    step = h * max(1.0, abs(p.leaves[i]))
    up, down = list(p.leaves), list(p.leaves)
    up[i] += step
    down[i] -= step
    return (p.on_floats(up) - p.on_floats(down)) / (2.0 * step)


# --- the property bodies: plain functions, so the bite tests can reuse them ----------


def check_backward_matches_central_differences(p: Program) -> None:
    leaves = [Value(x) for x in p.leaves]
    p.on_values(leaves).backward()
    for i, leaf in enumerate(leaves):
        numeric = central_difference(p, i)
        assert abs(leaf.grad - numeric) <= 1e-6 + 1e-5 * abs(numeric), (i, leaf.grad, numeric)


def check_gradcheck_order_1(p: Program) -> None:
    report = gradcheck(p.f, p.leaves)
    assert report.all_ok, str(report)


def check_gradcheck_order_2(p: Program) -> None:
    report = gradcheck(p.f, p.leaves, order=2)
    assert report.all_ok, str(report)


def holds(check: Callable[[Program], None], p: Program) -> bool:
    try:
        check(p)
    except AssertionError:
        return False
    return True


# --- the properties -----------------------------------------------------------------


@given(programs())
def test_backward_matches_central_differences(p: Program) -> None:
    check_backward_matches_central_differences(p)


@given(programs())
def test_gradcheck_passes_on_random_programs(p: Program) -> None:
    check_gradcheck_order_1(p)


@given(programs())
def test_second_derivatives_match_differences_of_first(p: Program) -> None:
    check_gradcheck_order_2(p)


@given(programs())
def test_repeated_backward_doubles_leaves_and_resets_interior(p: Program) -> None:
    leaves = [Value(x) for x in p.leaves]
    out = p.on_values(leaves)
    nodes = topological_order(out)
    out.backward()
    once = [n.grad for n in nodes]
    out.backward()
    for n, g in zip(nodes, once):
        assert n.grad == (2.0 * g if n.is_leaf else g), (n, g)


@given(programs(), st.floats(-10.0, 10.0))
def test_grad_leaves_dot_grad_alone_and_agrees_with_backward(p: Program, marker: float) -> None:
    leaves = [Value(x) for x in p.leaves]
    out = p.on_values(leaves)
    nodes = topological_order(out)
    for n in nodes:
        n.grad = marker
    first = grad(out, leaves)
    graph = grad(out, leaves, create_graph=True)
    grad(graph[0], leaves)
    assert all(n.grad == marker for n in nodes)
    for n in nodes:
        n.grad = 0.0
    out.backward()
    assert first == [v.grad for v in leaves]
    assert [g.data for g in graph] == pytest.approx(first, rel=1e-12, abs=1e-300)


@given(programs())
def test_same_program_gives_bit_identical_gradients(p: Program) -> None:
    assert fingerprint(p) == fingerprint(p)


@settings(max_examples=4)
@given(st.lists(programs(), min_size=5, max_size=10))
def test_gradients_are_identical_in_another_process(ps: list) -> None:
    script = (
        "import json, sys\n"
        "from tests.strategies import Program, fingerprint\n"
        "print(json.dumps([fingerprint(Program.from_json(t)) for t in json.load(sys.stdin)]))\n"
    )
    seed = "1234" if os.environ.get("PYTHONHASHSEED") != "1234" else "4321"
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps([p.to_json() for p in ps]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
    )
    assert json.loads(done.stdout) == [fingerprint(p) for p in ps]


def test_programs_cover_every_engine_op() -> None:
    rules = {engine_op_kind(r.symbol) for r in vars(R).values() if isinstance(r, R.Rule)}
    # made per constant by R.power, R.exponential, R.leaky_relu, R.elu and R.clamp
    rules |= {"**c", "c**", "leaky_relu[c]", "elu[c]", "clamp[c]"}
    assert set().union(*(op.engine_ops for op in OPS.values())) == rules
    unshrunk = settings(database=None, phases=[Phase.generate])
    for name, op in OPS.items():
        p = find(programs(ops=[name]), lambda p, name=name: name in p.ops, settings=unshrunk)
        out = p.on_values([Value(x) for x in p.leaves])
        recorded = {engine_op_kind(n.op) for n in topological_order(out)}
        assert op.engine_ops <= recorded, name


def test_programs_have_fan_out() -> None:
    def shares(p: Program) -> bool:
        used = [i for ins in p.instrs for i in ins.args]
        return len(used) > len(set(used))

    find(programs(), shares, settings=settings(database=None))


# --- the properties bite: a wrong rule is caught --------------------------------------


def _wrong_tanh(g, out, x):
    return (g * (1.0 - out),)  # forgot to square


def _wrong_div(g, out, a, b):
    return (g / b, g * out / b)  # lost the minus sign


def _square_counts_once(g, out, a, b):
    # Drops the second operand's share when both operands are equal, as a
    # graph that stored x*x's parents in a set would: only fan-out shows it.
    return (g * b, g * a) if a != b else (g * b, 0.0)


def _tanh_second_order_constant(g, out, x):
    # Right floats; on the create_graph path treats 1 - out^2 as a constant,
    # so first derivatives pass and second derivatives miss a term.
    if isinstance(out, Value):
        return (g * (1.0 - out.data * out.data),)
    return (g * (1.0 - out * out),)


def _wrong_rule(name: str, vjp: Callable) -> R.Rule:
    """``R.<name>`` declared again with a wrong ``vjp`` (a plain binary or unary rule)."""
    right = getattr(R, name)
    return R.Rule(right.symbol, right.arity, right.forward, vjp, law=right.law, finite=True)


def _swap_in(name: str, rule: R.Rule, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the op use ``rule``: where value.py reads it (a module global, or ``R.<name>``)."""
    monkeypatch.setattr(R, name, rule)
    if hasattr(value_module, name):
        monkeypatch.setattr(value_module, name, rule)


BITES = [
    ("TANH", _wrong_rule("TANH", _wrong_tanh), "tanh", check_backward_matches_central_differences),
    ("DIV", _wrong_rule("DIV", _wrong_div), "div", check_backward_matches_central_differences),
    # + and * send their declared local derivatives, with no vjp to patch: a wrong
    # declaration, or a plain rule with a wrong vjp, is swapped in whole.
    ("MUL", _wrong_rule("MUL", _square_counts_once), "mul",
     check_backward_matches_central_differences),
    ("ADD", Linear("+", operator.add, (1.0, 0.5)), "add",
     check_backward_matches_central_differences),
    ("TANH", _wrong_rule("TANH", _wrong_tanh), "tanh", check_gradcheck_order_1),
    ("TANH", _wrong_rule("TANH", _tanh_second_order_constant), "tanh", check_gradcheck_order_2),
]


@pytest.mark.parametrize(("name", "wrong", "op", "check"), BITES)
def test_properties_catch_a_wrong_rule(
    name: str, wrong: R.Rule, op: str, check: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    search = settings(database=None, max_examples=200)
    strategy = programs(ops=[op, "add", "neg"])
    # The same search finds nothing while the rule is right...
    with pytest.raises(NoSuchExample):
        find(strategy, lambda p: not holds(check, p), settings=search)
    # ...and a counterexample that uses the op once it is wrong.
    _swap_in(name, wrong, monkeypatch)
    bad = find(strategy, lambda p: not holds(check, p), settings=search)
    assert op in bad.ops


def test_square_bug_needs_fan_out(monkeypatch: pytest.MonkeyPatch) -> None:
    _swap_in("MUL", _wrong_rule("MUL", _square_counts_once), monkeypatch)
    x, y = Value(1.5), Value(-0.5)
    (x * y).backward()
    assert (x.grad, y.grad) == (-0.5, 1.5)  # distinct operands: still right
    square = Program((1.5,), (Instr("mul", (0, 0)),))
    assert not holds(check_backward_matches_central_differences, square)
