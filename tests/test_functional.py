"""autograd.functional: grad(f) nests; jacobian, hessian, hvp, vjp, jvp equal
torch.autograd.functional's on the suite's random programs (run in torch op for op).

Without torch the comparisons skip, except in CI (``CI`` set), where that is a failure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value
from autograd.functional import grad, hessian, hvp, jacobian, jvp, vjp
from tests.strategies import OPS, Program, _Floats, _Values, programs
from tests.torch_check import F, needs_torch, torch

CLOSE = {"rel": 1e-9, "abs": 1e-11}


class _Torch:
    """The instructions' functions on float64 tensors (tests/strategies.py's backends)."""

    @staticmethod
    def vsum(xs: Sequence) -> Any:
        return torch.stack(list(xs)).sum()

    @staticmethod
    def dot(ws: Sequence, xs: Sequence) -> Any:
        return _Torch.vsum([w * x for w, x in zip(ws, xs)])

    def __getattr__(self, name: str) -> Any:
        own = {"relu": torch.relu, "sigmoid": torch.sigmoid, "softplus": F.softplus,
               "gelu": F.gelu, "silu": F.silu, "leaky_relu": F.leaky_relu, "elu": F.elu,
               "clamp": torch.clamp, "maximum": torch.maximum, "minimum": torch.minimum}
        return own.get(name) or getattr(torch, name)


def torch_f(p: Program) -> Any:
    return lambda *ts: p.run(list(ts), _Torch())


def torch_all(p: Program) -> Any:
    """Every node the program computes, as a vector function of its leaves."""
    return lambda *ts: tuple(_nodes(p, list(ts), _Torch()))


def _nodes(p: Program, inputs: list, backend: Any) -> list:
    nodes = list(inputs)
    for ins in p.instrs:
        nodes.append(OPS[ins.op].apply(backend, [nodes[i] for i in ins.args], ins.const))
    return nodes[len(inputs):]


def ours_all(p: Program) -> Any:
    return lambda *vs: _nodes(p, list(vs), _Values)


def tensors(xs: Sequence[float]) -> tuple:
    return tuple(torch.tensor(x, dtype=torch.float64) for x in xs)


def floats(ts: Any) -> Any:
    if isinstance(ts, (tuple, list)):
        return [floats(t) for t in ts]
    return ts.item()


def approx(x: Any) -> Any:
    if isinstance(x, list):
        return [approx(y) for y in x]
    return pytest.approx(x, **CLOSE)


def _torch_masks_a_zero_exponent(p: Program) -> bool:
    """Whether some ``a ** b`` in ``p`` has an exponent of exactly 0.

    torch's pow backward sets d(a**b)/da to 0 where b == 0 with a mask, so its second
    derivatives lose the mixed term d2(a**b)/da db = 1/a there (valuegrad keeps it: see
    test_a_zero_exponents_mixed_second_derivative_is_kept); such programs are not compared.
    """
    nodes = list(p.leaves) + _nodes(p, list(p.leaves), _Floats)
    return any(ins.op == "powv" and math.tanh(nodes[ins.args[1]]) == 0.0 for ins in p.instrs)


@st.composite
def program_and_vector(draw: st.DrawFn) -> tuple[Program, list[float]]:
    p = draw(programs(max_instrs=10).filter(lambda p: not _torch_masks_a_zero_exponent(p)))
    return p, draw(st.lists(st.floats(-2.0, 2.0), min_size=len(p.leaves),
                            max_size=len(p.leaves)))


@needs_torch
@settings(max_examples=40)
@given(program_and_vector())
def test_hessian_hvp_and_gradient_equal_torchs(pv: tuple) -> None:
    p, v = pv
    xs = list(p.leaves)
    H = floats(torch.autograd.functional.hessian(torch_f(p), tensors(xs)))
    assert hessian(p.f, xs) == approx(H)
    out, hv = torch.autograd.functional.hvp(torch_f(p), tensors(xs), tensors(v))
    ours = hvp(p.f, xs, v)
    assert ours[0] == approx(out.item()) and ours[1] == approx(floats(hv))
    g = floats(torch.autograd.functional.vjp(torch_f(p), tensors(xs))[1])
    assert list(grad(p.f, argnums=tuple(range(len(xs))))(*xs)) == approx(g)


@needs_torch
@settings(max_examples=40)
@given(program_and_vector())
def test_jacobian_jvp_and_vjp_of_every_node_equal_torchs(pv: tuple) -> None:
    p, v = pv
    xs = list(p.leaves)
    J = floats(torch.autograd.functional.jacobian(torch_all(p), tensors(xs)))
    assert jacobian(ours_all(p), xs) == approx(J)
    assert jacobian(ours_all(p), xs, strategy="forward-mode") == approx(J)
    outs, t = torch.autograd.functional.jvp(torch_all(p), tensors(xs), tensors(v))
    ours = jvp(ours_all(p), xs, v)
    assert ours[0] == approx(floats(outs)) and ours[1] == approx(floats(t))
    w = [((i % 3) - 1.0) * 0.5 for i in range(len(p.instrs))]
    _, back = torch.autograd.functional.vjp(torch_all(p), tensors(xs), tensors(w))
    assert vjp(ours_all(p), xs, w)[1] == approx(floats(back))


# --- grad(f) nests, and the API's shapes ----------------------------------------------------


def test_grad_nests_for_higher_derivatives() -> None:
    def f(x: Value) -> Value:
        return x.sin() * x**2

    x = 0.7
    d1 = 2 * x * math.sin(x) + x * x * math.cos(x)
    d2 = 2 * math.sin(x) + 4 * x * math.cos(x) - x * x * math.sin(x)
    d3 = 6 * math.cos(x) - 6 * x * math.sin(x) - x * x * math.cos(x)
    assert grad(f)(x) == pytest.approx(d1, rel=1e-14)
    assert grad(grad(f))(x) == pytest.approx(d2, rel=1e-14)
    assert grad(grad(grad(f)))(x) == pytest.approx(d3, rel=1e-13)
    assert type(grad(grad(f))(x)) is float


@needs_torch
@given(st.floats(-2.0, 2.0))
def test_nested_grad_equals_torch_func(x: float) -> None:
    def f(x: Any) -> Any:
        return (x.tanh() if isinstance(x, Value) else torch.tanh(x)) * x * x

    tf = torch.func.grad(torch.func.grad(torch.func.grad(f)))
    assert grad(grad(grad(f)))(x) == approx(tf(torch.tensor(x, dtype=torch.float64)).item())


def test_grad_argnums_values_in_values_out_and_constants() -> None:
    def f(x: Any, y: Any) -> Any:
        return x * y.exp()

    assert grad(f)(2.0, 0.0) == 1.0
    assert grad(f, argnums=1)(2.0, 0.0) == 2.0
    assert grad(f, argnums=(0, 1))(2.0, 0.0) == (1.0, 2.0)
    x = Value(2.0)
    g = grad(f)(x, 0.0)
    assert isinstance(g, Value) and g.data == 1.0
    assert grad(lambda x: 3.0)(1.0) == 0.0  # a function that ignores its input


def test_shapes_follow_torch() -> None:
    assert jacobian(lambda x: x.sin(), 0.0) == 1.0  # one in, one out: a number
    assert jacobian(lambda x, y: x * y, [2.0, 3.0]) == [3.0, 2.0]  # several in: a list
    assert jacobian(lambda x: [x, x * 2.0], [1.0]) == [[1.0], [2.0]]  # a row per output
    assert hessian(lambda x: x**3, 2.0) == 12.0
    assert hessian(lambda x, y: x * y, [1.0, 1.0]) == [[0.0, 1.0], [1.0, 0.0]]
    assert hvp(lambda x: x**3, 2.0, 1.0) == (8.0, 12.0)
    assert vjp(lambda x: x**2, 3.0) == (9.0, 6.0)
    h = hessian(lambda x: x**3, Value(2.0))
    assert isinstance(h, Value) and h.data == 12.0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: grad(1), TypeError, "grad: f must be callable, got 1"),
        (lambda: grad(lambda x: [x, x])(1.0), TypeError,
         "grad: f must return a Value or a number, got .*; for several outputs use jacobian"),
        (lambda: grad(lambda x: x, argnums=2)(1.0), ValueError,
         "grad: argnums 2 but the function was called with 1 arguments"),
        (lambda: grad(lambda x: x, argnums=-1), ValueError, "grad: argnums must be an int >= 0"),
        (lambda: hessian(lambda x: x, []), ValueError, "hessian: needs at least one input"),
        (lambda: hvp(lambda x, y: x, [1.0, 2.0], [1.0]), ValueError,
         r"hvp: v must have one number per input \(2\)"),
        (lambda: jacobian(lambda x: x, 1.0, strategy="fwd"), ValueError,
         "jacobian: strategy must be one of"),
        (lambda: vjp(lambda x: [x, x], 1.0), ValueError, "vjp: f has 2 outputs, so v is needed"),
        (lambda: hessian(lambda x: x, "a"), TypeError, "hessian: .*got 'a'"),
    ],
)
def test_bad_input_is_named(call: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_a_zero_exponents_mixed_second_derivative_is_kept() -> None:
    # f(x) = (sigmoid(x) + 0.5) ** (2 tanh x) at 0: base 1, exponent 0. By hand,
    # (ln f)'' = 2 e' b'/b = 2 * 2 * 1/4 = 1 and (ln f)' = 0, so f''(0) = 1 (torch says 0.5).
    def f(x: Any) -> Any:
        return (x.sigmoid() + 0.5) ** (x.tanh() * 2.0)

    assert hessian(f, [0.0]) == [[pytest.approx(1.0, rel=1e-12)]]
