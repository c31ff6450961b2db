"""Forward mode (autograd.jvp) against reverse mode, on the suite's random DAGs.

Both modes read the same declarations (each rule's vjp), through different machinery:
reverse mode sends gradients from the output, forward mode sweeps tangents from the
inputs.  So they must agree to rounding, with no finite differences involved: the bound
is 1e-12 of the sum of the magnitudes of every path's contribution (a forward sweep of
|local derivative| x |tangent|), which is 1e-12 relative wherever no cancellation occurs.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

import autograd
import autograd.forward as forward_module
from autograd import GradientError, Value, grad, gradcheck, jvp, topological_order
from tests.strategies import OPS, Program, programs

REL = 1e-12


def magnitude(p: Program, tangents: list[float]) -> float:
    """Sum over paths of |local| x |tangent|: the scale of either mode's rounding."""
    leaves = [Value(x) for x in p.leaves]
    out = p.on_values(leaves)
    size = {leaf: abs(t) for leaf, t in zip(leaves, tangents)}
    for node in topological_order(out):
        if node.rule is not None:
            ds = node.rule.local_derivatives(node)
            size[node] = sum(abs(d) * size.get(q, 0.0) for d, q in zip(ds, node.parents))
    return size.get(out, 0.0)


def check_forward_equals_reverse(p: Program, tangents: list[float]) -> None:
    value, fwd = jvp(p.f, list(p.leaves), tangents)
    leaves = [Value(x) for x in p.leaves]
    out = p.on_values(leaves)
    assert value == out.data
    rev = math.fsum(g * t for g, t in zip(grad(out, leaves), tangents))
    bound = REL * magnitude(p, tangents) + 1e-300
    assert abs(fwd - rev) <= bound, (fwd, rev, bound)
    for j in range(len(leaves)):  # one input at a time: the gradient, column by column
        unit = [1.0 if k == j else 0.0 for k in range(len(leaves))]
        _, d = jvp(p.f, list(p.leaves), unit)
        g = grad(out, leaves[j])
        assert abs(d - g) <= REL * magnitude(p, unit) + 1e-300, (j, d, g)


def _tangents(n: int) -> st.SearchStrategy:
    return st.lists(st.floats(-2.0, 2.0), min_size=n, max_size=n)


@given(st.data())
def test_forward_equals_reverse_on_random_programs(data: st.DataObject) -> None:
    p = data.draw(programs())
    check_forward_equals_reverse(p, data.draw(_tangents(len(p.leaves))))


@settings(max_examples=12)
@pytest.mark.parametrize("op", sorted(OPS))
@given(data=st.data())
def test_forward_equals_reverse_for_every_rule(op: str, data: st.DataObject) -> None:
    p = data.draw(programs(ops=[op, "add", "mul"], max_instrs=8))
    check_forward_equals_reverse(p, data.draw(_tangents(len(p.leaves))))


@given(st.data())
def test_forward_over_reverse_is_the_hessian(data: st.DataObject) -> None:
    """Values in, Values out: jvp of the recorded gradient is a Hessian-vector product."""
    p = data.draw(programs(max_instrs=10))
    v = data.draw(_tangents(len(p.leaves)))
    leaves = [Value(x) for x in p.leaves]

    def gradient(*xs: Value) -> list:
        return grad(p.on_values(xs), list(xs), create_graph=True)

    _, hv = jvp(gradient, leaves, v)
    first = grad(p.on_values(leaves), leaves, create_graph=True)
    rows = [grad(g, leaves) for g in first]
    for i, row in enumerate(rows):
        want = math.fsum(h * t for h, t in zip(row, v))
        scale = math.fsum(abs(h * t) for h, t in zip(row, v))
        assert abs(hv[i].data - want) <= 1e-9 * scale + 1e-12, (i, hv[i].data, want)


# --- at kinks: both modes send the rule's stated one-sided derivative --------------------

KINKS = [
    # (function, point, the derivative each rule states there, per input)
    (lambda x: x.relu(), [0.0], [0.0]),
    (lambda x: abs(x), [0.0], [0.0]),
    (lambda x: x.sign(), [0.0], [0.0]),
    (lambda x: x.leaky_relu(0.2), [0.0], [0.2]),
    (lambda x: x.elu(0.5), [0.0], [0.5]),
    (lambda a, b: autograd.maximum(a, b), [1.5, 1.5], [0.5, 0.5]),
    (lambda a, b: autograd.minimum(a, b), [-2.0, -2.0], [0.5, 0.5]),
    (lambda x: x.clamp(-1.0, 1.0), [1.0], [1.0]),
    (lambda x: x.clamp(-1.0, 1.0), [-1.0], [1.0]),
    (lambda x: x.clamp(hi=0.0), [0.0], [1.0]),
    (lambda a, b: a % b, [3.0, 1.5], [1.0, -2.0]),
    (lambda a, b: a % b, [-3.0, 1.5], [1.0, 2.0]),
]


@pytest.mark.parametrize(("f", "at", "stated"), KINKS)
@given(st.lists(st.floats(-3.0, 3.0), min_size=2, max_size=2))
def test_at_a_kink_both_modes_send_the_stated_derivative(f, at, stated, ts) -> None:
    ts = ts[: len(at)]
    leaves = [Value(x) for x in at]
    out = f(*leaves)
    assert out.rule.at_kink(out)
    assert list(out.rule.local_derivatives(out)) == stated
    assert grad(out, leaves) == stated
    _, d = jvp(f, at, ts)
    assert d == pytest.approx(math.fsum(s * t for s, t in zip(stated, ts)), rel=1e-15, abs=0)


# --- the API -----------------------------------------------------------------------------


def test_numbers_in_floats_out_and_nothing_of_yours_is_touched() -> None:
    out, d = jvp(lambda x, y: x * y.sin(), [2.0, 0.5], [1.0, 0.0])
    assert (out, d) == (2.0 * math.sin(0.5), math.sin(0.5))
    assert type(out) is float and type(d) is float
    assert jvp(lambda x: x.exp(), 0.0, 3.0) == (1.0, 3.0)  # one primal, no lists


def test_values_in_values_out_differentiable() -> None:
    x = Value(0.7)
    out, t = jvp(lambda x: x.sin() * x, x, 1.0)
    assert isinstance(t, Value) and out.parents  # in the caller's graph
    assert t.data == pytest.approx(math.cos(0.7) * 0.7 + math.sin(0.7), rel=1e-15)
    # d/dx of the tangent is the second derivative
    assert grad(t, x) == pytest.approx(-math.sin(0.7) * 0.7 + 2.0 * math.cos(0.7), rel=1e-14)


def test_several_outputs_and_outputs_that_do_not_move() -> None:
    outs, ds = jvp(lambda x, y: [x * 2.0, y.exp(), 3.0], [1.0, 0.0], [1.0, 0.0])
    assert outs == [2.0, 1.0, 3.0]
    assert ds == [2.0, 0.0, 0.0]


def test_an_input_held_still_is_not_swept() -> None:
    # sqrt at 0 has no finite derivative: moving its input is an error, holding it still is not
    assert jvp(lambda x, y: x.sqrt() + y, [0.0, 1.0], [0.0, 1.0]) == (1.0, 1.0)
    with pytest.raises(GradientError, match=r"jvp through 'sqrt'.*no finite derivative"):
        jvp(lambda x, y: x.sqrt() + y, [0.0, 1.0], [1.0, 1.0])


def test_hand_built_nodes_work_on_floats() -> None:
    def exp(x: Value) -> Value:
        out = Value(math.exp(x.data), (x,), "exp")

        def _backward() -> None:
            x.grad += out.data * out.grad

        out._backward = _backward
        return out

    assert jvp(lambda x: exp(x * 2.0), 0.5, 1.0)[1] == 2.0 * math.e
    assert jvp(lambda x: Value(x.data ** 2, (x,), (2.0 * x.data,)), 3.0, 0.5)[1] == 3.0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: jvp(3, 1.0, 1.0), TypeError, "jvp: f must be callable, got 3"),
        (lambda: jvp(lambda x, y: x, [1.0, 2.0], [1.0]), ValueError,
         r"jvp: needs one tangent per primal \(2\), got \[1.0\]"),
        (lambda: jvp(lambda x: x, "a", 1.0), TypeError, "jvp: primals.*got 'a'"),
        (lambda: jvp(lambda x: x, 1.0, float("nan")), ValueError,
         "jvp: value must be finite, got nan"),
        (lambda: jvp(lambda x: "x", 1.0, 1.0), TypeError,
         "jvp: f's result must be a Value or a number, got 'x'"),
    ],
)
def test_bad_input_is_named(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


def test_gradcheck_takes_forward_mode_as_a_second_opinion() -> None:
    def f(x, y):
        return (x * y).sin() + x.gelu() * y

    for order in (1, 2):
        report = gradcheck(f, [0.3, -1.2], order=order, forward=True)
        assert report.all_ok, str(report)


# --- the property bites: a forward sweep that is wrong is caught --------------------------


def _overwriting_sweep(outs: list, seeds: dict) -> dict:
    """Forward mode with a fan-in bug: a node keeps only its last parent's term."""
    tangent = {leaf: float(t) for leaf, t in seeds.items()}
    for node in forward_module._order(outs):
        r = node.rule
        if r is None or node in tangent:
            continue
        ds = r.local_derivatives(node)
        terms = [d * tangent[p] for d, p in zip(ds, r.parents(node)) if p in tangent]
        if terms:
            tangent[node] = terms[-1]
    return tangent


def test_forward_equals_reverse_catches_a_wrong_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    search = settings(database=None, max_examples=200)

    def fails(p: Program) -> bool:
        try:
            check_forward_equals_reverse(p, [1.0] * len(p.leaves))
        except AssertionError:
            return True
        return False

    with pytest.raises(NoSuchExample):
        find(programs(ops=["add", "mul", "sin"]), fails, settings=search)
    monkeypatch.setattr(forward_module, "_sweep_floats", _overwriting_sweep)
    find(programs(ops=["add", "mul", "sin"]), fails, settings=search)
