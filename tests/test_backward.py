"""backward and grad: accumulation, repeated passes, failures, depth, memory, higher order."""

from __future__ import annotations

import gc
import math
import random
import sys
import tracemalloc

import pytest

from autograd import (
    GradientError,
    Value,
    backward_order,
    dot,
    grad,
    topological_order,
    vsum,
    zero_grad,
)
from autograd.backward import replay


def test_fan_out_accumulates() -> None:
    a = Value(3.0)
    b = a + a
    c = b * b
    c.backward()
    # c = (2a)^2: dc/db = 2b = 12, dc/da = 2 * 12 = 24
    assert (c.data, b.grad, a.grad) == (36.0, 12.0, 24.0)


def test_shared_interior_node() -> None:
    x, y = Value(0.5), Value(-1.5)
    h = x * y
    out = h.tanh() + h * h + h.exp()
    out.backward()
    dh = (1 - math.tanh(-0.75) ** 2) + 2 * -0.75 + math.exp(-0.75)
    assert h.grad == pytest.approx(dh, rel=1e-15)
    assert (x.grad, y.grad) == pytest.approx((dh * -1.5, dh * 0.5), rel=1e-15)


def test_repeated_backward_leaves_accumulate_interior_reset() -> None:
    x, y = Value(0.3), Value(-1.7)
    h = (x * y).tanh()
    out = h * x + y.exp() / (x * x + 1.0)
    nodes = topological_order(out)
    out.backward()
    first = [n.grad for n in nodes]
    out.backward()
    for n, g in zip(nodes, first):
        assert n.grad == (2.0 * g if n.is_leaf else g), n
    zero_grad([x, y])
    out.backward()
    assert (x.grad, y.grad) == (first[nodes.index(x)], first[nodes.index(y)])


def test_accumulation_adds_this_pass_total_to_the_old_value() -> None:
    # 0.1 + 0.2 + 0.3 summed onto 1e16 one by one would lose all three.
    x = Value(1.0)
    out = x * 0.1 + x * 0.2 + x * 0.3
    x.grad = 1e16
    out.backward()
    assert x.grad == 1e16 + (0.1 + 0.2 + 0.3)


def test_backward_seed_and_leaf_root() -> None:
    x = Value(2.0)
    (x * x).backward(3.0)
    assert x.grad == 12.0
    x.backward()
    x.backward(2)
    assert x.grad == 15.0
    with pytest.raises(ValueError, match="backward: value must be finite"):
        x.backward(math.nan)
    with pytest.raises(TypeError, match="backward"):
        x.backward("1")
    assert x.grad == 15.0


def test_orders() -> None:
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    topo = topological_order(d)
    assert topo[-1] is d and set(topo) == {a, b, c, d} and len(topo) == 4
    assert topo.index(c) > max(topo.index(a), topo.index(b))
    assert backward_order(d) == topo[::-1]
    assert topological_order(a) == [a]


# --- failures leave every .grad as it was --------------------------------------------


def _grads(out: Value) -> list:
    return [n.grad for n in topological_order(out)]


def test_infinite_derivative_fails_naming_the_node_and_changes_nothing() -> None:
    x, y = Value(0.0, label="x"), Value(2.0, label="y")
    out = x.sqrt() * y + y * y
    for i, n in enumerate(topological_order(out)):
        n.grad = 0.5 * i  # some earlier state, interior nodes included
    before = _grads(out)
    with pytest.raises(GradientError, match=r"backward through 'sqrt'.*no finite deriv") as info:
        out.backward()
    assert isinstance(info.value, FloatingPointError)
    assert _grads(out) == before


def test_overflowing_gradient_fails_and_changes_nothing() -> None:
    x = Value(1e300, label="x")
    out = (x * 1e-300).tanh()  # finite forward; the constant's gradient is 1e10 * x
    before = _grads(out)
    with pytest.raises(GradientError, match=r"backward through '\*'.*overflow"):
        out.backward(1e10)
    assert _grads(out) == before


def test_overflowing_accumulation_fails_and_changes_nothing() -> None:
    x, y = Value(0.5, label="x"), Value(1.0)
    out = x * y + y
    x.grad = 1.7e308
    y.grad = 4.0
    with pytest.raises(GradientError, match=r"gradient of leaf 'x' .*overflowed.*accumulated"):
        out.backward(1e308)
    assert (x.grad, y.grad, out.grad) == (1.7e308, 4.0, 0.0)


def test_fan_in_overflow_into_a_fresh_leaf_fails_and_changes_nothing() -> None:
    # Each path's gradient is finite; only the leaf's sum overflows, and no op reads it.
    x = Value(1e-300, label="x")
    out = x * 1.5e308 + x * 1.5e308
    with pytest.raises(GradientError, match=r"gradient of leaf 'x' \(data 1e-300\) overflowed"):
        out.backward()
    assert (x.grad, out.grad) == (0.0, 0.0)


def test_zero_gradients_are_skipped_exactly() -> None:
    # A dead relu sends 0 to the dot behind it, which backward skips: every gradient
    # must still equal, bit for bit, what the unskipped vjps give (grad() runs them all).
    import random

    from nn import MLP, hinge_loss

    rng = random.Random(3)
    m = MLP(3, [8, 8, 1], seed=3)
    xs = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(6)]
    scores = [m(x) for x in xs]
    loss = hinge_loss(scores, [1, -1, 1, -1, 1, -1]) + vsum(scores) * 0.0
    params = m.parameters()
    for p in params:
        p.grad = 0.25  # accumulates: old + this pass
    loss.backward()
    expect = grad(loss, params)
    assert [p.grad for p in params] == [0.25 + e for e in expect]
    dead = [v for v in topological_order(loss) if not v.is_leaf and v.grad == 0.0]
    assert len(dead) > 10  # the case the skip is for did occur


def test_a_zero_gradient_does_not_hide_an_infinite_derivative() -> None:
    # sqrt's derivative at 0 is infinite: 0 * inf is no number, so it still fails.
    x = Value(0.0, label="x")
    with pytest.raises(GradientError, match="sqrt"):
        (x.sqrt() * 0.0).backward()
    assert x.grad == 0.0


def test_large_finite_gradients_through_sum_do_not_overflow() -> None:
    a, b = Value(1.0), Value(2.0)
    vsum([a, b]).backward(1e308)
    assert (a.grad, b.grad) == (1e308, 1e308)


def test_grad_failure_touches_nothing() -> None:
    x = Value(0.0)
    out = x.sqrt() + x
    x.grad = 3.0
    with pytest.raises(GradientError, match="sqrt"):
        grad(out, x)
    assert x.grad == 3.0 and out.grad == 0.0


# --- grad() ---------------------------------------------------------------------------


def test_grad_returns_floats_and_leaves_dot_grad_alone() -> None:
    x, y, z = Value(2.0), Value(3.0), Value(5.0)
    out = x * y + x
    assert grad(out, x) == 4.0
    assert grad(out, [x, y, z]) == [4.0, 2.0, 0.0]
    assert grad(out, [y], gradient=2.0) == [4.0]
    assert (x.grad, y.grad, out.grad) == (0.0, 0.0, 0.0)
    with pytest.raises(TypeError, match=r"grad: inputs\[0\] must be a Value"):
        grad(out, [1.0])


CLOSED_FORMS = [
    # f, x, (f', f'', f''')
    (lambda x: x**3, 1.5, lambda x: (3 * x**2, 6 * x, 6.0)),
    (lambda x: x.exp(), 0.7, lambda x: (math.exp(x),) * 3),
    (lambda x: x.log(), 0.7, lambda x: (1 / x, -1 / x**2, 2 / x**3)),
    (
        lambda x: x.tanh(),
        0.4,
        lambda x: (
            1 - math.tanh(x) ** 2,
            -2 * math.tanh(x) * (1 - math.tanh(x) ** 2),
            (1 - math.tanh(x) ** 2) * (6 * math.tanh(x) ** 2 - 2),
        ),
    ),
    (
        lambda x: x.sigmoid(),
        -0.3,
        lambda x: (
            (s := 1 / (1 + math.exp(-x))) * (1 - s),
            s * (1 - s) * (1 - 2 * s),
            s * (1 - s) * (1 - 6 * s + 6 * s * s),
        ),
    ),
    (lambda x: x.sqrt(), 2.0, lambda x: (0.5 * x**-0.5, -0.25 * x**-1.5, 0.375 * x**-2.5)),
    (lambda x: 2.0**x, 1.3, lambda x: tuple(2.0**x * math.log(2.0) ** k for k in (1, 2, 3))),
    (lambda x: 1.0 / x, 0.8, lambda x: (-1 / x**2, 2 / x**3, -6 / x**4)),
]


def test_second_derivative_through_an_exponent_that_is_zero() -> None:
    # f = u ** v with u = sigmoid(x) + 1/2, v = 2 tanh(x): at x = 0, u = 1 and v = 0.
    # f' = f (v' ln u + v u'/u) is 0 there, but f'' = 2 v' u'/u = 2 * 2 * 1/4 = 1, which
    # needs d(v * u ** (v - 1))/dv: a Value exponent at 0 must keep the power rule's graph.
    # (Found by the property tests' `thorough` profile.)
    x = Value(0.0)
    d1 = grad((x.sigmoid() + 0.5) ** (x.tanh() * 2.0), x, create_graph=True)
    assert d1.data == 0.0
    assert grad(d1, x) == pytest.approx(1.0, rel=1e-12)
    y = Value(3.0)
    assert grad(grad(y ** Value(0.0), y, create_graph=True), y) == 0.0  # y ** 0 is 1


@pytest.mark.parametrize(("f", "x0", "derivs"), CLOSED_FORMS)
def test_second_and_third_derivatives(f, x0: float, derivs) -> None:
    x = Value(x0)
    d1 = grad(f(x), x, create_graph=True)
    d2 = grad(d1, x, create_graph=True)
    d3 = grad(d2, x)
    assert (d1.data, d2.data, d3) == pytest.approx(derivs(x0), rel=1e-12)
    assert x.grad == 0.0


def test_hessian_vector_product() -> None:
    # f = x^2 y + y^3, H = [[2y, 2x], [2x, 6y]]
    x, y = Value(1.5), Value(-2.0)
    f = x * x * y + y**3
    gx, gy = grad(f, [x, y], create_graph=True)
    assert (gx.data, gy.data) == (2 * 1.5 * -2.0, 1.5**2 + 3 * 4.0)
    v = (0.5, -1.0)
    hv = grad(gx * v[0] + gy * v[1], [x, y])
    assert hv == pytest.approx([2 * -2.0 * 0.5 + 2 * 1.5 * -1.0, 2 * 1.5 * 0.5 + 6 * -2.0 * -1.0])


def test_gradient_of_gradient_through_dot_and_sum() -> None:
    w, x = [Value(0.5), Value(-1.0)], [Value(2.0), Value(3.0)]
    out = dot(w, x).tanh() + vsum(w) * x[0]
    g = grad(out, w, create_graph=True)
    # d/dx0 of dout/dw0 = (1 - t^2) + w0 * x0 * t'' + 1
    t = math.tanh(0.5 * 2.0 - 3.0)
    expected = (1 - t * t) + 0.5 * 2.0 * (-2 * t * (1 - t * t)) + 1.0
    assert grad(g[0], x[0]) == pytest.approx(expected, rel=1e-12)


def test_create_graph_result_can_be_backpropagated() -> None:
    x = Value(1.2)
    dx = grad(x**4, x, create_graph=True)
    dx.backward()
    assert x.grad == pytest.approx(12 * 1.2**2, rel=1e-14)


# --- depth and memory -----------------------------------------------------------------


def test_a_million_node_chain_under_the_default_recursion_limit() -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        x = Value(1.0)
        y = x
        for _ in range(1_000_000):
            y = -y
        y.backward()
        assert x.grad == 1.0 and y.data == 1.0 and y.op == "neg"
        del y  # freeing it must not recurse either
    finally:
        sys.setrecursionlimit(limit)


def _exercise(n: int) -> None:
    """Build a graph of about ``n`` nodes, run every kind of pass over it, drop it."""
    leaves = [Value(0.001 * i) for i in range(100)]
    out = leaves[0]
    for i in range(n // 5):  # five nodes per step: mul, add, tanh, mul and the constant
        out = (out * leaves[i % 100] + leaves[(7 * i) % 100]).tanh() * 0.5
    out.backward()
    g = grad(out, leaves[:3], create_graph=True)
    grad(g[0], leaves[:3])


def test_no_reference_cycles() -> None:
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        _exercise(100_000)
        found = gc.collect()
    finally:
        if was_enabled:
            gc.enable()
    assert found == 0


def test_memory_is_returned() -> None:
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        # A first run fills the interpreter's free lists (of tuples, floats...),
        # which keep memory by design; after it, nothing should stay.
        _exercise(20_000)
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        _exercise(20_000)
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        if was_enabled:
            gc.enable()
    assert peak - start > 2_000_000  # the graph was really there
    assert after - start < 10_000


def test_micrograd_style_backward_by_hand_matches_backward() -> None:
    # The lecture sets o.grad = 1 and calls _backward() node by node.
    x1, x2, w1, w2 = Value(2.0), Value(0.0), Value(-3.0), Value(1.0)
    o = (x1 * w1 + x2 * w2 + 6.8813735870195432).tanh()
    o.grad = 1.0
    for node in backward_order(o):
        node._backward()
    by_hand = [v.grad for v in (x1, x2, w1, w2)]
    for v in (x1, x2, w1, w2):
        v.grad = 0.0
    o.backward()
    assert by_hand == [v.grad for v in (x1, x2, w1, w2)]
    assert by_hand[0] == pytest.approx(-1.5) and by_hand[2] == pytest.approx(1.0)


def _recursive_post_order(root: Value) -> list[Value]:
    """The reference: a recursive DFS following each node's parents in their order."""
    order: list[Value] = []
    seen: set = set()

    def visit(node: Value) -> None:
        seen.add(node)
        for p in node.parents:
            if p not in seen:
                visit(p)
        order.append(node)

    visit(root)
    return order


def _random_graph(rng: random.Random) -> Value:
    """A random DAG of every rule kind, with shared nodes and repeated parents."""
    pool = [Value(rng.uniform(-1, 1)) for _ in range(4)]
    for _ in range(rng.randrange(1, 25)):
        pick = rng.random()
        if pick < 0.3:
            pool.append(rng.choice(pool) * rng.choice(pool))
        elif pick < 0.55:
            pool.append(rng.choice(pool) + rng.choice(pool))
        elif pick < 0.75:
            pool.append(rng.choice(pool).tanh())
        elif pick < 0.9:
            pool.append(vsum(rng.sample(pool, 3)))
        else:
            pool.append(dot(pool[-2:], pool[:2]))
    return pool[-1]


def test_order_is_the_recursive_dfs_post_order() -> None:
    # backward's iterative order must be exactly this one: it fixes the order
    # gradients are summed in, so every process and build gives the same bits.
    rng = random.Random(0)
    for _ in range(300):
        root = _random_graph(rng)
        want = _recursive_post_order(root)
        assert topological_order(root) == want
        assert backward_order(root) == want[::-1]
        # The float pass (backward's, into a dict) runs the ops in that order too.
        ran: list[Value] = []
        replay(root, 1.0, on_step=lambda node, g, ps, sent, ran=ran: ran.append(node))
        assert ran == [n for n in reversed(want) if not n.is_leaf]


def test_grad_of_a_leaf_with_a_negative_zero_seed_is_what_backward_gives() -> None:
    # backward adds the seed to a zero gradient (0.0 + -0.0 is 0.0); grad, a pass
    # from zero gradients, must give the same bits, not the seed itself.
    x = Value(-0.5)
    x.backward(-0.0)
    assert grad(x, x, gradient=-0.0).hex() == x.grad.hex() == "0x0.0p+0"
