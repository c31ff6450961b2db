"""Issue 22's ops: sin ... erf, the activations, minimum/maximum/clamp, %; comparisons and bool.

Every op is checked against finite differences (first and second order, on random DAGs
that use it with fan-out, tests/strategies.py) and, where PyTorch is installed, against
torch's values, first and second derivatives, and torch's convention at each kink.
Without torch those skip, except in CI (``CI`` set), where a missing torch is a failure.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

import autograd
import autograd.rules as R
from autograd import GradientError, Value, grad, gradcheck
from autograd.trace import formula
from tests.strategies import OPS, Program, programs
from tests.test_properties import _swap_in, holds
from tests.torch_check import F, needs_torch, torch

NEW_OPS = ["sin", "cos", "tan", "asin", "acos", "atan", "asinh", "acosh", "atanh", "exp2",
           "sign", "sinh", "cosh", "log1p", "expm1",
           "log2", "log10", "erf", "softplus", "gelu", "silu", "leaky_relu", "elu", "maximum",
           "minimum", "clamp", "modc", "mod"]


# --- finite differences, on random DAGs using each op ------------------------------------


def check_order_1(p: Program) -> None:
    report = gradcheck(p.f, p.leaves)
    assert report.all_ok, str(report)


def check_order_2(p: Program) -> None:
    report = gradcheck(p.f, p.leaves, order=2)
    assert report.all_ok, str(report)


@settings(max_examples=15)
@pytest.mark.parametrize("op", NEW_OPS)
@given(data=st.data())
def test_each_op_matches_finite_differences(op: str, data: st.DataObject) -> None:
    p = data.draw(programs(ops=[op, "add", "mul"], max_instrs=8))
    check_order_1(p)
    check_order_2(p)


def test_every_new_op_is_in_the_random_dags() -> None:
    assert set(NEW_OPS) <= set(OPS)


# --- the properties bite: a wrong derivative among the new rules is caught ----------------


def _wrong_sin(g: Any, out: Any, x: Any) -> tuple:
    return (g * R.cos(x) * 1.01,)  # off by 1%


_GELU_VJP = R.GELU.vjp


def _gelu_curvature_lost(g: Any, out: Any, x: Any) -> tuple:
    # Right first derivative; as a recorded graph, a constant: second derivatives miss a term.
    d = _GELU_VJP(1.0, None, x.data if isinstance(x, Value) else x)[0]
    return (g * d,)


@pytest.mark.parametrize(
    ("name", "vjp", "op", "check"),
    [("SIN", _wrong_sin, "sin", check_order_1), ("GELU", _gelu_curvature_lost, "gelu",
                                                  check_order_2)],
)
def test_a_wrong_new_rule_is_caught(name: str, vjp: Callable, op: str, check: Callable,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    search = settings(database=None, max_examples=200)
    strategy = programs(ops=[op, "add", "neg"], max_instrs=6)
    with pytest.raises(NoSuchExample):
        find(strategy, lambda p: not holds(check, p), settings=search)
    right = getattr(R, name)
    _swap_in(name, R.Rule(right.symbol, 1, right.forward, vjp, law=right.law, finite=True),
             monkeypatch)
    bad = find(strategy, lambda p: not holds(check, p), settings=search)
    assert op in bad.ops


# --- values, domains and errors --------------------------------------------------------------


def test_values_are_the_math_modules() -> None:
    x = Value(0.3)
    for name in ("sin", "cos", "tan", "asin", "acos", "atan", "asinh", "atanh", "sinh", "cosh",
                 "log1p", "expm1", "log2", "log10", "erf"):
        assert getattr(x, name)().data == getattr(math, name)(0.3), name
    assert Value(1.5).acosh().data == math.acosh(1.5) and Value(3.0).exp2().data == 8.0
    assert [Value(v).sign().data for v in (-2.0, 0.0, 0.5)] == [-1.0, 0.0, 1.0]
    assert Value(-40.0).gelu().data == -40.0 * 0.5 * math.erfc(40.0 / math.sqrt(2.0))
    assert Value(800.0).softplus().data == 800.0  # log(1 + e^800) without overflow
    assert Value(-800.0).softplus().data == math.exp(-800.0)
    assert Value(-2.0).leaky_relu().data == -0.02  # torch's default slope
    assert Value(-1.0).elu().data == math.expm1(-1.0)
    assert (Value(7.5) % 2).data == 1.5 and (Value(-7.5) % 2).data == 0.5  # Python's %
    assert (Value(7.5) % -2).data == -0.5
    assert (7.5 % Value(2.0)).data == 1.5


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: Value(1.5).asin(), ValueError, r"asin: argument must be in \[-1, 1\], got"),
        (lambda: Value(-1.5).acos(), ValueError, r"acos: argument must be in \[-1, 1\]"),
        (lambda: Value(-1.0).log1p(), ValueError, "log1p: argument must be > -1, got"),
        (lambda: Value(0.5).acosh(), ValueError, "acosh: argument must be >= 1, got"),
        (lambda: Value(1.0).atanh(), ValueError, r"atanh: argument must be in \(-1, 1\), got"),
        (lambda: Value(2000.0).exp2(), OverflowError, "exp2: result overflows a float"),
        (lambda: Value(0.0).log2(), ValueError, "log2: argument must be > 0, got"),
        (lambda: Value(-3.0).log10(), ValueError, "log10: argument must be > 0, got"),
        (lambda: Value(1000.0).sinh(), OverflowError, "sinh: result overflows a float"),
        (lambda: Value(1000.0).expm1(), OverflowError, "expm1: result overflows a float"),
        (lambda: Value(1.0) % 0, ZeroDivisionError, "%: modulo by zero, got"),
        (lambda: Value(1.0).clamp(), ValueError, "clamp: needs lo or hi"),
        (lambda: Value(1.0).clamp(2, 1), ValueError, "clamp: lo must be <= hi, got lo=2, hi=1"),
        (lambda: Value(1.0).clamp(Value(0.0), 1), TypeError, "clamp: lo must be a real number"),
        (lambda: Value(1.0).leaky_relu(float("nan")), ValueError,
         "leaky_relu: value must be finite, got nan"),
        (lambda: Value(1.0).elu("1"), TypeError, "elu: alpha must be a real number, got '1'"),
        (lambda: autograd.maximum(Value(1.0), "2"), TypeError, "maximum: expected a real number"),
    ],
)
def test_bad_input_names_the_op_and_the_value(call: Callable, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_no_finite_derivative_at_the_domain_edge() -> None:
    for out in (Value(1.0).asin(), Value(-1.0).acos(), Value(1.0).acosh()):
        with pytest.raises(GradientError, match=out.op):
            out.backward()


def test_module_level_minimum_maximum_clamp_lift_numbers() -> None:
    x = Value(2.0)
    assert autograd.maximum(x, 3).data == 3.0 and autograd.maximum(5, x).data == 5.0
    assert autograd.minimum(x, 3).data == 2.0
    assert autograd.clamp(x, 0, 1).data == 1.0 and autograd.clamp(-3.0, lo=0).data == 0.0
    assert grad(autograd.maximum(x, 1.0), x) == 1.0


def test_each_rule_declares_its_law_and_the_kinked_ones_their_kink() -> None:
    rules = [R.SIN, R.COS, R.TAN, R.ASIN, R.ACOS, R.ATAN, R.ASINH, R.ACOSH, R.ATANH, R.EXP2,
             R.SIGN, R.SINH, R.COSH, R.LOG1P, R.EXPM1,
             R.LOG2, R.LOG10, R.ERF, R.SOFTPLUS, R.GELU, R.SILU, R.MAXIMUM, R.MINIMUM, R.MOD,
             R.leaky_relu(0.1), R.elu(1.0), R.clamp(0.0, 1.0)]
    assert all(r.law for r in rules)
    kinked = {r.symbol for r in rules if r.kink is not None}
    assert kinked == {"maximum", "minimum", "%", "sign", "leaky_relu[0.1]", "elu[1]",
                      "clamp[0, 1]"}


def test_the_trace_states_the_kink_convention() -> None:
    a, b = Value(1.0, label="a"), Value(1.0, label="b")
    step = autograd.trace_backward(autograd.maximum(a, b))[0]
    assert step.locals == (0.5, 0.5)
    assert "a tie: half each" in step.law and "at its kink" in step.law
    m = a % 0.75
    assert formula(m, {a: "a", m.parents[1]: "c"}) == "a % c"
    assert formula(a.gelu(), {a: "a"}) == "gelu(a)"


# --- comparisons and truthiness --------------------------------------------------------------


def test_comparisons_read_data_and_give_plain_bools() -> None:
    a, b = Value(0.7), Value(1.8)
    assert (a < 1.8) is True and (a <= 0.7) is True and (a > b) is False and (b >= 1.8) is True
    assert (1.8 > a) is True and (2 <= b) is False  # reflected, with ints too
    assert max([a, b]) is b and min([b, a]) is a and sorted([b, a]) == [a, b]
    assert max(a, 0.5) is a
    with pytest.raises(TypeError, match="'<' not supported"):
        _ = a < "1"


def test_equality_and_hashing_stay_identity() -> None:
    a = Value(2.0)
    assert (a == 2.0) is False and (a == Value(2.0)) is False and a == a and a != Value(2.0)
    assert len({a, Value(2.0)}) == 2 and hash(a) == hash(a)


def test_bool_is_by_value_as_a_float_and_a_one_element_tensor() -> None:
    assert bool(Value(0.0)) is False and bool(Value(-0.0)) is False
    assert bool(Value(0.5)) is True
    loss, best = Value(0.2), Value(0.3)
    assert "better" if loss < best else "worse"


# --- against PyTorch ---------------------------------------------------------------------------

UNARY = {
    # name: (domain, torch function, our function)
    "sin": ((-6.0, 6.0), lambda t: torch.sin(t), Value.sin),
    "cos": ((-6.0, 6.0), lambda t: torch.cos(t), Value.cos),
    "tan": ((-1.5, 1.5), lambda t: torch.tan(t), Value.tan),
    "asin": ((-0.99, 0.99), lambda t: torch.asin(t), Value.asin),
    "acos": ((-0.99, 0.99), lambda t: torch.acos(t), Value.acos),
    "atan": ((-10.0, 10.0), lambda t: torch.atan(t), Value.atan),
    "asinh": ((-10.0, 10.0), lambda t: torch.asinh(t), Value.asinh),
    "acosh": ((1.01, 10.0), lambda t: torch.acosh(t), Value.acosh),
    "atanh": ((-0.99, 0.99), lambda t: torch.atanh(t), Value.atanh),
    "exp2": ((-5.0, 5.0), lambda t: torch.exp2(t), Value.exp2),
    "sign": ((-3.0, 3.0), lambda t: torch.sign(t), Value.sign),
    "sinh": ((-5.0, 5.0), lambda t: torch.sinh(t), Value.sinh),
    "cosh": ((-5.0, 5.0), lambda t: torch.cosh(t), Value.cosh),
    "log1p": ((-0.99, 10.0), lambda t: torch.log1p(t), Value.log1p),
    "expm1": ((-5.0, 5.0), lambda t: torch.expm1(t), Value.expm1),
    "log2": ((0.01, 100.0), lambda t: torch.log2(t), Value.log2),
    "log10": ((0.01, 100.0), lambda t: torch.log10(t), Value.log10),
    "erf": ((-4.0, 4.0), lambda t: torch.erf(t), Value.erf),
    "softplus": ((-15.0, 15.0), lambda t: F.softplus(t), Value.softplus),
    "gelu": ((-5.0, 5.0), lambda t: F.gelu(t), Value.gelu),
    "silu": ((-10.0, 10.0), lambda t: F.silu(t), Value.silu),
    "leaky_relu": ((-5.0, 5.0), lambda t: F.leaky_relu(t, 0.2), lambda v: v.leaky_relu(0.2)),
    "elu": ((-5.0, 5.0), lambda t: F.elu(t, 0.7), lambda v: v.elu(0.7)),
    "clamp": ((-3.0, 3.0), lambda t: torch.clamp(t, -1.0, 2.0), lambda v: v.clamp(-1.0, 2.0)),
    "mod": ((-9.0, 9.0), lambda t: torch.remainder(t, 2.5), lambda v: v % 2.5),
}
CLOSE = {"rel": 1e-9, "abs": 1e-12}  # torch's kernels round differently from math's


def torch_derivatives(f: Callable, xs: list[float]) -> tuple[float, list, list]:
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = f(*ts)
    first = torch.autograd.grad(out, ts, create_graph=True, allow_unused=True)
    first = [g if g is not None else torch.zeros((), dtype=torch.float64) for g in first]
    second = []
    for g in first:
        row = (torch.autograd.grad(g, ts, allow_unused=True) if g.requires_grad
               else [None] * len(ts))
        second.append([0.0 if h is None else h.item() for h in row])
    return out.item(), [g.item() for g in first], second


def our_derivatives(f: Callable, xs: list[float]) -> tuple[float, list, list]:
    vs = [Value(x) for x in xs]
    out = f(*vs)
    first = grad(out, vs, create_graph=True)
    return out.data, [g.data for g in first], [grad(g, vs) for g in first]


@needs_torch
@pytest.mark.parametrize("name", sorted(UNARY))
@given(u=st.floats(0.0, 1.0))
def test_unary_ops_agree_with_torch_to_second_order(name: str, u: float) -> None:
    (lo, hi), tf, vf = UNARY[name]
    x = lo + (hi - lo) * u
    ours, theirs = our_derivatives(vf, [x]), torch_derivatives(tf, [x])
    assert ours[0] == pytest.approx(theirs[0], **CLOSE)
    assert ours[1] == pytest.approx(theirs[1], **CLOSE)
    out = vf(Value(x))
    if not (out.rule.kink is not None and out.rule.at_kink(out)):
        # At elu's kink torch's second derivative takes the right side, its first the left:
        # ours takes the side its first derivative states (the kinks' test compares those).
        assert ours[2][0] == pytest.approx(theirs[2][0], **CLOSE)


BINARY = {
    "maximum": (lambda a, b: torch.maximum(a, b), autograd.maximum),
    "minimum": (lambda a, b: torch.minimum(a, b), autograd.minimum),
    "mod": (lambda a, b: torch.remainder(a, b), lambda a, b: a % b),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(BINARY))
@given(a=st.floats(-5.0, 5.0), b=st.one_of(st.floats(-5.0, -0.2), st.floats(0.2, 5.0)),
       tie=st.booleans())
def test_binary_ops_agree_with_torch_ties_included(name: str, a: float, b: float,
                                                   tie: bool) -> None:
    tf, vf = BINARY[name]
    xs = [b, b] if tie else [a, b]
    ours, theirs = our_derivatives(vf, xs), torch_derivatives(tf, xs)
    assert ours[0] == pytest.approx(theirs[0], **CLOSE)
    assert ours[1] == pytest.approx(theirs[1], **CLOSE)
    assert ours[2] == [pytest.approx(r, **CLOSE) for r in theirs[2]]


KINKS = [  # each op exactly at its kink: the derivative torch picks is the one we state
    ("relu", [0.0], lambda t: torch.relu(t), Value.relu),
    ("abs", [0.0], lambda t: torch.abs(t), abs),
    ("sign", [0.0], lambda t: torch.sign(t), Value.sign),
    ("leaky_relu", [0.0], lambda t: F.leaky_relu(t, 0.3), lambda v: v.leaky_relu(0.3)),
    ("elu", [0.0], lambda t: F.elu(t, 0.4), lambda v: v.elu(0.4)),
    ("clamp lo", [-1.0], lambda t: torch.clamp(t, -1.0, 1.0), lambda v: v.clamp(-1.0, 1.0)),
    ("clamp hi", [1.0], lambda t: torch.clamp(t, -1.0, 1.0), lambda v: v.clamp(-1.0, 1.0)),
    ("clamp min only", [2.0], lambda t: torch.clamp(t, min=2.0), lambda v: v.clamp(lo=2.0)),
    ("maximum", [1.5, 1.5], lambda a, b: torch.maximum(a, b), autograd.maximum),
    ("minimum", [1.5, 1.5], lambda a, b: torch.minimum(a, b), autograd.minimum),
    ("mod", [5.0, 2.5], lambda a, b: torch.remainder(a, b), lambda a, b: a % b),
    ("mod negative", [-5.0, 2.5], lambda a, b: torch.remainder(a, b), lambda a, b: a % b),
]


@needs_torch
@pytest.mark.parametrize(("name", "at", "tf", "vf"), KINKS, ids=[k[0] for k in KINKS])
def test_at_each_kink_the_convention_is_torchs(name: str, at: list, tf: Callable,
                                               vf: Callable) -> None:
    ours, theirs = our_derivatives(vf, at), torch_derivatives(tf, at)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
