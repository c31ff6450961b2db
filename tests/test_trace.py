"""trace_backward: the step-by-step account must agree with backward(), number for number."""

from __future__ import annotations

import math

import pytest
from examples import micrograd_example
from graphviz_check import groups, require_dot, svg_root, texts
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import Value, dot, trace_backward, vsum
from autograd.style import HIGHLIGHT
from autograd.trace import BackwardTrace, TraceStep, formula


def assert_matches_backward(root: Value) -> BackwardTrace:
    t = trace_backward(root)
    order = autograd.topological_order(root)
    for v in order:
        v.grad = 0.0
    root.backward()
    for v in order:
        assert t.grad(v) == v.grad, (v, t.grad(v), v.grad)  # bit for bit
    for s in t:
        assert s.upstream == s.node.grad
    return t


def test_steps_of_the_micrograd_example():
    L, v = micrograd_example()
    t = trace_backward(L)
    assert isinstance(t, BackwardTrace) and len(t) == 3
    assert all(isinstance(s, TraceStep) for s in t)
    s1, s2, s3 = t
    assert (s1.name, s1.op, s1.upstream, s1.law) == ("L", "*", 1.0, "mul swaps")
    assert s1.locals == (-2.0, 4.0)  # mul swaps: dL/dd = f, dL/df = d
    assert [c.name for c in s1.contributions] == ["d", "f"]
    assert (s2.name, s2.law, s2.upstream, s2.locals) == ("d", "add distributes", -2.0, (1.0, 1.0))
    assert [c.added for c in s3.contributions] == [6.0, -4.0]
    assert t.grad(v["a"]) == 6.0 and t.grad(v["b"]) == -4.0
    assert all(x.grad == 0.0 for x in v.values())  # tracing leaves .grad alone
    assert t[0] is s1 and list(t) == t.steps


def test_trace_equals_backward_with_reuse_and_nary_ops():
    x = Value(0.7, label="x")
    w = [Value(0.3), Value(-1.1), Value(2.0)]
    h = dot(w, [x, x * x, x.tanh()])
    y = vsum([h.relu(), h.sigmoid(), (x / (h * h + 1.0)).exp(), 2.0**x, (x + 3.0) ** 1.5])
    t = assert_matches_backward(y)
    sent = {}
    for s in t:
        for c in s.contributions:
            sent[c.parent] = sent.get(c.parent, 0.0) + c.added
    assert sent[x] == pytest.approx(x.grad)
    assert {s.op for s in t} >= {"dot", "sum", "relu", "sigmoid", "exp", "/", "**1.5", "2.0**"}


def test_local_derivatives_come_from_the_rule():
    x = Value(3.0, label="x")
    y = x.tanh()
    (s,) = trace_backward(y)
    assert s.locals == (pytest.approx(1 - math.tanh(3.0) ** 2),)
    assert "tanh" in s.law


def test_relu_routes_and_names_its_kink():
    x = Value(0.0, label="x")
    (s,) = trace_backward(x.relu())
    assert s.locals == (0.0,)
    assert "routes" in s.law and "kink" in s.law
    (s,) = trace_backward(Value(2.0).relu())
    assert "kink" not in s.law and s.locals == (1.0,)


def test_a_seed_other_than_one_scales_everything():
    L, v = micrograd_example()
    t = trace_backward(L, gradient=0.5)
    assert t.grad(v["a"]) == 3.0
    with pytest.raises(TypeError, match="trace_backward"):
        trace_backward(L, gradient="x")
    with pytest.raises(TypeError, match="trace_backward: root must be a Value"):
        trace_backward(1.0)


def test_table_lists_every_step_and_rule():
    L, _ = micrograd_example()
    t = trace_backward(L)
    text = t.table()
    assert str(t) == text
    lines = text.splitlines()
    assert lines[1].split()[:4] == ["step", "node", "op", "upstream"]
    assert len(lines) == 3 + 6  # title, header, rule, one row per (step, parent)
    for word in ("mul swaps", "add distributes", "-2.0000", "6.0000"):
        assert word in text


def test_unlabelled_nodes_get_stable_names():
    x = Value(2.0)
    y = x * x + 1.0
    t = trace_backward(y)
    assert [s.name for s in t] == ["#3", "#1"]
    assert formula(t[0].node, t.names) == "#1 + #2"
    assert formula(t[1].node, t.names) == "#0 * #0"


# An expression language for hypothesis: each op combines earlier values.
UNARY = [Value.tanh, Value.relu, Value.sigmoid, abs, lambda v: v * v, lambda v: -v]
BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a * 0.5 + b]


@given(
    st.lists(st.floats(-3, 3, allow_nan=False), min_size=1, max_size=4),
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 5), st.integers(0, 99), st.integers(0, 99)),
        min_size=1,
        max_size=14,
    ),
)
def test_trace_equals_backward_on_random_graphs(inputs, ops):
    pool = [Value(x) for x in inputs]
    for unary, k, i, j in ops:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        pool.append(UNARY[k](a) if unary else BINARY[k % len(BINARY)](a, b))
    root = vsum(pool[-3:])
    assert_matches_backward(root)


def test_frames_highlight_each_step():
    L, _ = micrograd_example()
    t = trace_backward(L)
    frames = t.frames()
    assert len(frames) == len(t) + 1
    unknown = ">grad ?<"  # a value cell whose gradient is not known yet
    assert frames[0].source.count(unknown) == 6 and HIGHLIGHT not in frames[0].source
    last = frames[-1].source
    assert unknown not in last and "+= 6.0000" in last and "+= -4.0000" in last
    assert "Step 3/3: e = a * b" in last
    big = vsum([Value(float(i)) * i for i in range(300)])
    with pytest.raises(ValueError, match="table"):
        trace_backward(big).frames()


def test_frames_render_to_svg(tmp_path):
    require_dot()
    L, _ = micrograd_example()
    paths = trace_backward(L).render_frames(tmp_path / "frames")
    assert [p.name for p in paths] == ["step_00.svg", "step_01.svg", "step_02.svg", "step_03.svg"]
    svg = svg_root(paths[1].read_text(encoding="utf-8"))
    words = " ".join(texts(svg))
    assert "Step 1/3: L = d * f" in words and "+= -2.0000" in words and "+= 4.0000" in words
    hot = [
        g for g in groups(svg, "edge").values() if g.find(".//{*}path").get("stroke") == HIGHLIGHT
    ]
    assert len(hot) == 2  # d and f, the parents of the current op
    assert texts(svg).count("grad ?") == 4  # a, b, c, e are not reached yet


def test_jupyter_shows_the_trace_and_the_gradcheck_report_as_tables() -> None:
    from autograd import Value, gradcheck, trace_backward

    class Printer:  # what IPython hands to _repr_pretty_
        def __init__(self) -> None:
            self.out = ""

        def text(self, s: str) -> None:
            self.out += s

    x = Value(0.5, label="x")
    for shown in (trace_backward((x * x).tanh()), gradcheck(lambda v: v.tanh(), [x])):
        p = Printer()
        shown._repr_pretty_(p, False)
        assert p.out == str(shown) and "\n" in p.out  # the table, not a one-line repr
