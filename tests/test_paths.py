"""autograd.paths: a gradient as a sum over paths, checked against brute force.

The brute force lists every path root -> target by depth-first search, multiplies
the local derivatives root first, and sorts by the key the module documents
(``-|p_L|, e_L, -|p_(L-1)|, e_(L-1), ...``), so the top ``k`` must match bit for
bit; the count must match exactly and the sum of all paths must be ``grad()``.
"""

from __future__ import annotations

import heapq
import math

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

import autograd
import autograd.paths as paths_module
from autograd import GradientPaths, Value, backward_order, dot, explain_gradient, grad, vsum
from tests.strategies import Program, programs

MAX_BRUTE = 3000  # paths listed by brute force per case; bigger cases check the count only


def brute_paths(root: Value, target: Value, limit: int = 10**6) -> list[tuple]:
    """Every path from ``root`` to ``target``: ``(nodes, locals, slots, contribution, key)``."""
    place = {v: i for i, v in enumerate(backward_order(root))}
    out = []
    stack = [((root,), (), (), 1.0, ())]
    while stack:
        nodes, ds, slots, prod, key = stack.pop()
        v = nodes[-1]
        if v is target:
            out.append((nodes, ds, slots, prod, key))
            if len(out) > limit:
                raise OverflowError("too many paths")
            continue
        for slot, (p, d) in enumerate(zip(v.parents, v._local_grads)):
            x = prod * d
            stack.append(((*nodes, p), (*ds, d), (*slots, slot), x,
                          (-abs(x), place[v], slot, *key)))
    return sorted(out, key=lambda t: t[4])


def brute_count(root: Value, target: Value) -> int:
    """Paths counted by memoised recursion from the target's side (another method)."""
    memo: dict = {}
    for v in reversed(backward_order(root)):  # inputs first
        memo[v] = 1 if v is target else sum(memo[p] for p in v.parents)
    return memo[root]


def _grads(nodes: list) -> list:
    return [n.grad.hex() for n in nodes]


def assert_adds_up(e: GradientPaths, total: float) -> None:
    """Listed contributions + remainder = total, to the rounding of one float."""
    size = abs(total) + math.fsum(abs(q.contribution) for q in e.paths)
    assert abs(math.fsum([*(q.contribution for q in e.paths), e.remainder]) - total) <= (
        1e-15 * size + 1e-300)


def check_against_brute_force(p: Program, k: int, pick: int) -> None:
    leaves = [Value(x) for x in p.leaves]
    out = p.on_values(leaves)
    order = backward_order(out)
    target = order[pick % len(order)]
    for i, n in enumerate(order):
        n.grad = 0.25 * i - 1.0  # arbitrary marks, which explain_gradient must leave alone
    before = _grads(order)
    e = explain_gradient(out, target, k)
    assert _grads(order) == before
    total = grad(out, target)
    assert e.total == total
    assert e.count == brute_count(out, target)
    assert_adds_up(e, total)
    if e.count > MAX_BRUTE:
        return
    every = brute_paths(out, target)
    assert len(every) == e.count
    everything = math.fsum(t[3] for t in every)
    scale = math.fsum(abs(t[3]) for t in every)
    assert abs(everything - total) <= 1e-12 * scale + 1e-300, (everything, total)
    top = every[:k]
    assert [(q.nodes, q.locals, q.slots) for q in e.paths] == [t[:3] for t in top]
    assert [q.contribution.hex() for q in e.paths] == [t[3].hex() for t in top]
    magnitudes = [abs(q.contribution) for q in e.paths]
    assert magnitudes == sorted(magnitudes, reverse=True)
    rest = math.fsum(t[3] for t in every[k:])
    assert abs(e.remainder - rest) <= 1e-12 * scale + 1e-300


@settings(deadline=None)
@given(programs(max_instrs=10), st.integers(1, 6), st.integers(0, 10**6))
def test_paths_match_brute_force_on_random_programs(p: Program, k: int, pick: int) -> None:
    check_against_brute_force(p, k, pick)


@settings(deadline=None)
@given(programs(max_instrs=10), st.integers(0, 10**6))
def test_the_sum_over_all_paths_is_the_gradient(p: Program, pick: int) -> None:
    leaves = [Value(x) for x in p.leaves]
    out = p.on_values(leaves)
    target = leaves[pick % len(leaves)]
    e = explain_gradient(out, target, k=MAX_BRUTE)
    if e.count <= MAX_BRUTE:  # every path listed: no remainder but rounding
        assert len(e.paths) == e.count
        scale = math.fsum(abs(q.contribution) for q in e.paths)
        assert abs(e.listed - grad(out, target)) <= 1e-12 * scale + 1e-300


# --- the checks bite ---------------------------------------------------------------------


def _holds(p: Program) -> bool:
    try:
        check_against_brute_force(p, 3, 0)
        check_against_brute_force(p, 2, len(p.leaves))
        for i in range(len(p.leaves)):
            check_against_brute_force(p, 3, -1 - i)
    except AssertionError:
        return False
    return True


def _count_square_once(v: Value) -> tuple:
    """A wrong local derivative: ``x * x`` gives the second operand none of its share."""
    ds = list(_right_locals(v))
    ps = v.parents
    for i in range(1, len(ps)):
        if ps[i] in ps[:i]:
            ds[i] = 0.0
    return tuple(ds)


_right_locals = paths_module._locals


def _largest_signed(k: int, items: list) -> list:
    """A wrong ranking: the most negative contributions instead of the largest |.|."""
    return heapq.nsmallest(k, items, key=lambda c: (c[4], c[1:4]))


@pytest.mark.parametrize(("attr", "wrong"), [("_locals", _count_square_once)])
def test_the_sum_check_catches_a_wrong_local_derivative(
    attr: str, wrong, monkeypatch: pytest.MonkeyPatch
) -> None:
    search = settings(database=None, max_examples=300)
    strategy = programs(ops=["mul", "add", "neg"], max_instrs=8)
    with pytest.raises(NoSuchExample):
        find(strategy, lambda p: not _holds(p), settings=search)
    monkeypatch.setattr(paths_module, attr, wrong)
    find(strategy, lambda p: not _holds(p), settings=search)


def test_the_ranking_check_catches_a_wrong_order(monkeypatch: pytest.MonkeyPatch) -> None:
    search = settings(database=None, max_examples=300)
    strategy = programs(ops=["mul", "add", "neg", "tanh"], max_instrs=8)
    monkeypatch.setattr(paths_module, "nsmallest", _largest_signed)
    find(strategy, lambda p: not _holds(p), settings=search)


# --- shapes that matter ------------------------------------------------------------------


def test_a_square_has_two_paths_one_per_operand() -> None:
    x = Value(3.0, label="x")
    y = x * x
    e = explain_gradient(y, x)
    assert e.count == 2 and len(e.paths) == 2
    assert [q.slots for q in e.paths] == [(0,), (1,)]
    assert [q.contribution for q in e.paths] == [3.0, 3.0]
    assert e.total == 6.0 and e.remainder == 0.0
    assert "operand 2" in str(e)


def test_a_constant_is_a_target_like_any_other() -> None:
    x = Value(1.5, label="x")
    y = x * 2.0
    two = y.parents[1]
    assert two.is_constant
    e = explain_gradient(y, two)
    assert e.count == 1 and e.paths[0].contribution == 1.5 == e.total


def test_the_root_itself_is_one_path_with_no_edges() -> None:
    x = Value(0.5)
    y = x.tanh()
    e = explain_gradient(y, y)
    assert e.count == 1 and e.paths[0].nodes == (y,) and e.paths[0].locals == ()
    assert e.total == 1.0 and e.remainder == 0.0


@pytest.mark.parametrize("op", ["relu", "abs"])
def test_a_kink_uses_the_rules_one_sided_derivative(op: str) -> None:
    x = Value(0.0, label="x")
    y = (abs(x) if op == "abs" else x.relu()) + x
    e = explain_gradient(y, x)
    local = y.parents[0].rule.local_derivatives(y.parents[0])[0]
    assert [q.contribution for q in e.paths if len(q) == 2] == [local]
    assert_adds_up(e, grad(y, x))


def test_a_dead_relu_gives_zero_contributions_listed_after_the_live_ones() -> None:
    x = Value(-2.0, label="x")
    y = x.relu() + x * 0.5
    e = explain_gradient(y, x)
    assert [q.contribution for q in e.paths] == [0.5, 0.0]


def test_dot_and_nary_nodes() -> None:
    w = [Value(0.5 * i - 1.0, label=f"w{i}") for i in range(4)]
    x = [Value(1.0 + i, label=f"x{i}") for i in range(4)]
    h = dot(w, x)
    s = vsum([h, h.tanh(), w[2]])
    e = explain_gradient(s, w[2], k=2)
    assert e.count == 3
    assert_adds_up(e, grad(s, w[2]))
    assert e.paths[0].contribution == x[2].data  # s -> h -> w2: 1 * x2
    shared = dot([x[0], x[0]], [x[0], w[0]])  # x0 three times in one node
    assert explain_gradient(shared, x[0]).count == 3


def test_microgpt_nodes_show_their_stored_local_gradients() -> None:
    a, b = Value(2.0, label="a"), Value(-1.0, label="b")
    c = Value(a.data * b.data, (a, b), (b.data, a.data))  # microgpt's mul
    d = Value(c.data ** 2, (c,), (2 * c.data,))
    e = explain_gradient(d, a)
    assert e.paths[0].locals == (2 * c.data, b.data)
    assert e.total == grad(d, a) == e.paths[0].contribution


def test_a_micrograd_closure_is_refused_by_name() -> None:
    x = Value(0.3, label="x")
    out = Value(math.exp(x.data), (x,), "exp")

    def _backward():
        x.grad += out.data * out.grad

    out._backward = _backward
    y = out * 2.0
    with pytest.raises(TypeError, match=r"explain_gradient: node 'exp' .*_backward closure"):
        explain_gradient(y, x)
    assert explain_gradient(y, out).total == 2.0  # above the closure nothing is hidden


def test_a_chain_of_100_diamonds_has_2_to_the_100_paths() -> None:
    x = Value(0.3, label="x")
    v = x
    for _ in range(100):
        v = (v * 0.5).tanh() + (v * -0.25).sigmoid()
    e = explain_gradient(v, x, k=5)
    assert e.count == 2**100
    assert len(e.paths) == 5 and all(len(q) == 300 for q in e.paths)
    assert_adds_up(e, grad(v, x))
    assert "1,267,650,600,228,229,401,496,703,205,376 paths" in str(e)


def test_leaves_every_grad_as_it_was_bit_for_bit() -> None:
    x, y = Value(0.7), Value(-1.1)
    z = (x * y).tanh() * x
    z.backward()
    nodes = backward_order(z)
    before = _grads(nodes)
    explain_gradient(z, x)
    assert _grads(nodes) == before


def test_text_and_html() -> None:
    x = Value(2.0, label="x")
    h = (x * 3.0).tanh()
    h.label = "h"
    loss = h * x
    loss.label = "loss"
    e = explain_gradient(loss, x, k=1)
    text = str(e)
    assert "d loss / d x = 1.0001" in text and "  loss → x  " in text
    assert "the other 1 path" in text
    assert "the gradient sums 2 paths; backward visited 5 edges" in text
    assert "loss → h → *#2 → x" in str(explain_gradient(loss, x, k=2))
    page = e._repr_html_()
    assert "<table>" in page and "loss → x" in page
    assert repr(e) == "<GradientPaths d loss / d x: 1 of 2 paths>"
    assert isinstance(e, GradientPaths) and e[0] is e.paths[0] and list(e) == list(e.paths)


# --- bad arguments -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((1.0, "x", 3), TypeError, "explain_gradient: root must be a Value, got 1.0"),
        (("y", 2.0, 3), TypeError, "explain_gradient: target must be a Value, got 2.0"),
        (("y", "x", 0), ValueError, "explain_gradient: k must be an int >= 1, got 0"),
        (("y", "x", -2), ValueError, "explain_gradient: k must be an int >= 1, got -2"),
        (("y", "x", 2.5), TypeError, "explain_gradient: k must be an int >= 1, got 2.5"),
        (("y", "x", True), TypeError, "explain_gradient: k must be an int >= 1, got True"),
        (("y", "other", 3), ValueError, "explain_gradient: target is not in root's graph"),
        (("x", "y", 3), ValueError, "explain_gradient: target is not in root's graph"),
    ],
)
def test_bad_arguments_name_the_call(args: tuple, error: type, match: str) -> None:
    x = Value(1.0, label="x")
    named = {"x": x, "y": x.exp(), "other": Value(2.0)}
    with pytest.raises(error, match=match):
        explain_gradient(*[named.get(a, a) if isinstance(a, str) else a for a in args])


def test_a_non_finite_local_derivative_is_refused_by_name() -> None:
    x = Value(0.0, label="x")
    y = x.sqrt() * 0.0  # backward skips the sqrt (its upstream is 0); its local is inf
    with pytest.raises((ValueError, autograd.GradientError), match="sqrt"):
        explain_gradient(y, x)


def test_nodes_inside_a_registered_box_are_named_by_it() -> None:
    import nn  # registers its grouping: a neuron's nodes are named by the neuron

    model = nn.MLP(3, [2, 2], seed=0)
    loss = nn.mse(model([0.5, -1.0, 2.0]), [1.0, 0.0])
    loss.label = "loss"
    w = dict(model.named_parameters())["layers.0.neurons.1.w.2"]
    names = explain_gradient(loss, w, k=1).paths[0].names
    assert names[0] == "loss" and names[-1] == "layers.0.neurons.1.w.2"
    assert "layers.0.neurons.1 (dot)" in names


def test_a_k_too_large_for_the_graph_is_refused_before_the_search() -> None:
    x = Value(0.3, label="x")
    v = x
    for _ in range(30):
        v = (v * 0.5).tanh() + (v * -0.25).sigmoid()
    assert len(explain_gradient(v, x, k=300).paths) == 300  # 120 edges x 300 at most: fine
    with pytest.raises(ValueError, match=r"explain_gradient: k=100,000 would carry .* partial"):
        explain_gradient(v, x, k=100_000)
