"""autograd.kinds: each rule kind alone owns its nodes' shape, and everything goes through it.

Also micrograd's hand-built ops (``out._backward = closure``), the fifth kind.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

import autograd
from autograd import (
    GradientError,
    Rule,
    Value,
    apply,
    backward_order,
    dot,
    draw_dot,
    grad,
    gradcheck,
    trace_backward,
    vsum,
)
from autograd.kinds import (
    LOCAL_GRADS,
    Bilinear,
    Binary,
    Closure,
    LocalGrads,
    Nary,
    RuleKind,
    Unary,
)

# --- a user's binary op with a kink: max(a, b), not differentiable where a == b ----------


def _max_vjp(g, out, a, b):
    return (g, 0.0 * g) if a > b else (0.0 * g, g)


MAX = Rule(
    "max", 2, max, _max_vjp, law="max routes to the larger", kink=lambda a, b: a == b, finite=True
)


def test_a_kinked_binary_rule_gradchecks_and_traces() -> None:
    # On the tie the trace once called kink(p.data) per parent, a TypeError for a
    # binary kink, while gradcheck called kink(a, b): the two disagreed.
    a, b = Value(1.5, label="a"), Value(1.5, label="b")
    out = apply(MAX, a, b) * 2.0
    t = trace_backward(out)
    (step,) = [s for s in t if s.op == "max"]
    assert "at its kink" in step.law
    assert step.locals == (0.0, 1.0)
    report = gradcheck(lambda x, y: apply(MAX, x, y) * 2.0, [1.5, 1.5])
    assert report.passed and [r.status for r in report] == ["kink", "kink"]
    away = gradcheck(lambda x, y: apply(MAX, x, y) * 2.0, [3.0, 1.0])
    assert away.all_ok
    assert "kink" not in trace_backward(apply(MAX, Value(3.0), Value(1.0)))[0].law


def test_rule_makes_the_kind_that_fits() -> None:
    assert isinstance(autograd.rules.TANH, Unary) and isinstance(MAX, Binary)
    assert isinstance(autograd.rules.SUM, Nary) and isinstance(autograd.rules.DOT, Bilinear)
    assert type(Rule("f", 0, sum, lambda g, out, xs: [g] * len(xs))) is Nary
    with pytest.raises(ValueError, match="arity must be 1, 2 or 0"):
        Rule("f", 3, max, _max_vjp)
    assert type(Binary("max", 2, max, _max_vjp)) is Binary
    with pytest.raises(ValueError, match="a Unary rule cannot have arity 2"):
        Unary("max", 2, max, _max_vjp)


def test_rule_is_a_factory_every_kind_is_an_instance_of() -> None:
    # Rule picks the kind rather than being its base class, so that the kinds can be
    # extension types in the compiled build; isinstance still reads as before.
    for kind in (Unary, Binary, Nary, Bilinear, Closure, LocalGrads):
        assert issubclass(kind, Rule) and issubclass(kind, RuleKind)
    assert isinstance(MAX, Rule) and isinstance(LOCAL_GRADS, Rule)
    assert not isinstance(max, Rule)
    with pytest.raises(TypeError, match="cannot subclass Rule, a factory of kinds"):

        class Mine(Rule):  # would silently make kinds, not Mines
            pass


def test_parents_come_from_the_kind_for_every_shape() -> None:
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    assert (a + b).parents == (a, b)
    assert a.tanh().parents == (a,)
    assert vsum([a, b, c]).parents == (a, b, c)
    assert dot([a, b], [c, a]).parents == (a, b, c, a)
    assert Value(5.0, (a, b), "?").parents == (a, b)


def test_no_module_but_the_kinds_reads_the_parent_slots() -> None:
    root = Path(autograd.__file__).parent
    slot = re.compile(r"\._[ab]\b")
    for path in root.parent.glob("*/*.py"):
        if path.parent.name not in ("autograd", "nn", "demos") or path.name == "kinds.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            # value.py keeps the constant mark on a leaf's spare slot (see is_constant)
            if slot.search(line) and not (path.name == "value.py" and "_CONSTANT" in line):
                raise AssertionError(f"{path.name}:{n} reads a parent slot: {line.strip()}")


# --- micrograd's hand-built ops ------------------------------------------------------------


def lecture_exp(x: Value) -> Value:
    """The lecture's exp, verbatim but for the imports."""
    out = Value(math.exp(x.data), (x,), "exp")

    def _backward():
        x.grad += out.data * out.grad

    out._backward = _backward
    return out


def lecture_mul(self: Value, other: Value) -> Value:
    out = Value(self.data * other.data, (self, other), "*")

    def _backward():
        self.grad += other.data * out.grad
        other.grad += self.data * out.grad

    out._backward = _backward
    return out


def _graph(exp, mul):
    a, b, c = Value(0.3, label="a"), Value(-1.2, label="b"), Value(2.0, label="c")
    e = exp(mul(a, b) + c)  # a hand-built node between built-in ones
    loss = mul(e.tanh(), c) + a.relu() * b
    return loss, (a, b, c)


def _same_gradients_as_the_builtins(exp, mul) -> None:
    built, leaves = _graph(Value.exp, Value.__mul__)
    hand, hand_leaves = _graph(exp, mul)
    assert hand.data == built.data
    built.backward()
    hand.backward()
    assert [v.grad for v in hand_leaves] == [v.grad for v in leaves]
    assert all(v.grad != 0.0 for v in leaves)
    # and again: leaves accumulate, interior nodes are set, as for built-in ops
    hand.backward()
    built.backward()
    assert [v.grad for v in hand_leaves] == [v.grad for v in leaves]
    hand_grads = grad(hand, list(hand_leaves))  # measured through the hand-built nodes
    assert hand_grads == grad(built, list(leaves))


def test_hand_built_exp_and_mul_give_the_builtins_gradients_bit_for_bit() -> None:
    _same_gradients_as_the_builtins(lecture_exp, lecture_mul)


def test_the_step_by_step_lecture_loop_works_on_both_kinds_of_node() -> None:
    hand, leaves = _graph(lecture_exp, lecture_mul)
    built, built_leaves = _graph(Value.exp, Value.__mul__)
    for root in (hand, built):
        root.grad = 1.0
        for node in backward_order(root):
            node._backward()
    assert [v.grad for v in leaves] == [v.grad for v in built_leaves]


def test_grad_and_trace_measure_what_the_closure_adds_and_touch_no_grad() -> None:
    hand, leaves = _graph(lecture_exp, lecture_mul)
    built, built_leaves = _graph(Value.exp, Value.__mul__)
    assert grad(hand, leaves) == grad(built, built_leaves)
    assert all(v.grad == 0.0 for v in leaves)
    t = trace_backward(hand)
    steps = {s.op: s for s in t}
    assert "closure" in steps["exp"].law
    e = steps["exp"].node
    assert steps["exp"].locals == (e.data,)  # d exp(u)/du = exp(u), as measured
    assert [t.grad(v) for v in leaves] == grad(built, built_leaves)
    assert all(v.grad == 0.0 for v in leaves) and e.grad == 0.0
    assert "closure" in t.table()


def test_a_hand_built_node_is_drawn_with_its_op() -> None:
    hand, _ = _graph(lecture_exp, lecture_mul)
    hand.backward()
    src = draw_dot(hand).source
    assert "exp" in src and src.count("->") > 10


def test_create_graph_through_a_closure_node_names_it() -> None:
    x = Value(0.5)
    y = lecture_exp(x) * x
    with pytest.raises(TypeError, match=r"create_graph=True.*'exp'.*closure"):
        grad(y, [x], create_graph=True)


def test_a_hand_built_node_without_a_closure_keeps_its_error() -> None:
    a = Value(2.0)
    c = Value(4.0, (a,), "sq")
    for run in (c.backward, lambda: grad(c, [a]), lambda: trace_backward(c), c._backward):
        with pytest.raises(TypeError, match="built by hand"):
            run()


def test_a_closure_that_fails_leaves_every_grad_as_it_was() -> None:
    a, b = Value(1.0), Value(2.0)
    a.grad, b.grad = 0.25, -1.0
    out = Value(a.data * b.data, (a, b), "*")

    def _backward():
        a.grad += b.data * out.grad
        raise KeyboardInterrupt  # after it changed a's grad

    out._backward = _backward
    root = out * 3.0 + a
    with pytest.raises(KeyboardInterrupt):
        root.backward()
    assert (a.grad, b.grad, out.grad, root.grad) == (0.25, -1.0, 0.0, 0.0)


def test_an_overflow_in_a_closure_is_a_gradient_error_naming_the_node() -> None:
    a = Value(1e300)
    out = Value(1.0, (a,), "big")

    def _backward():
        a.grad += 1e300 * out.grad * 1e300

    out._backward = _backward
    with pytest.raises(GradientError, match="'big'"):
        (out * 2.0).backward()
    assert a.grad == 0.0


def test_setting_backward_is_checked() -> None:
    with pytest.raises(TypeError, match="_backward: must be a function"):
        Value(1.0, (Value(2.0),), "f")._backward = 3
    with pytest.raises(ValueError, match="is a leaf"):
        Value(1.0)._backward = lambda: None


def test_a_closure_node_is_a_closure_kind_and_a_reference_cycle() -> None:
    x = Value(0.5)
    out = lecture_exp(x)
    assert isinstance(out.rule, Closure) and out.op == "exp" and out.parents == (x,)
    assert out._backward.__name__ == "_backward"  # the getter gives the user's closure


# --- the examples in docs/gradients.md run, and print what the page shows ---------------------


def _doc_section(title: str) -> str:
    text = (Path(__file__).resolve().parents[1] / "docs" / "gradients.md").read_text()
    return text.split(f"### {title}\n", 1)[1].split("\n### ", 1)[0]


def test_the_docs_kinked_binary_op_runs_and_prints_what_the_page_shows(capsys) -> None:
    section = _doc_section("Your own op")
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    shown = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    exec(compile(code, "docs/gradients.md", "exec"), {})
    assert capsys.readouterr().out == shown


def test_the_docs_hand_built_exp_runs() -> None:
    code = re.search(r"```python\n(.*?)```", _doc_section("micrograd's hand-built ops"), re.S)
    exec(compile(code.group(1), "docs/gradients.md", "exec"), {})


# --- microgpt's hand-built ops: Value(data, children, local_grads), the sixth kind ---------


def microgpt_exp(self: Value) -> Value:
    return Value(math.exp(self.data), (self,), (math.exp(self.data),))


def microgpt_mul(self: Value, other: Value) -> Value:
    return Value(self.data * other.data, (self, other), (other.data, self.data))


def test_microgpt_built_exp_and_mul_give_the_builtins_gradients_bit_for_bit() -> None:
    _same_gradients_as_the_builtins(microgpt_exp, microgpt_mul)


def test_a_microgpt_node_shows_its_children_and_local_grads_and_traces() -> None:
    a, b = Value(3.0, label="a"), Value(-2.0, label="b")
    out = microgpt_mul(a, b)
    assert out._children == (a, b) and out._local_grads == (-2.0, 3.0)
    assert (a * b)._children == (a, b) and (a * b)._local_grads == (-2.0, 3.0)
    assert a._children == () and a._local_grads == ()
    step = trace_backward(out).steps[0]
    assert step.locals == (-2.0, 3.0) and "local gradients" in step.law
    assert "a" in draw_dot(out).source


def test_microgpt_local_grads_are_checked() -> None:
    a = Value(1.0)
    with pytest.raises(ValueError, match=r"^Value: local_grads must hold one number per child"):
        Value(2.0, (a, a), (1.0,))
    with pytest.raises(ValueError, match="finite"):
        Value(2.0, (a,), (math.inf,))
    with pytest.raises(TypeError, match="local_grads"):
        Value(2.0, (a,), ("x",))
    with pytest.raises(TypeError, match="create_graph"):
        grad(microgpt_exp(a), [a], create_graph=True)


def test_linear_refuses_coefficients_that_are_not_two_finite_numbers() -> None:
    import operator

    from autograd.kinds import Linear

    with pytest.raises(ValueError, match=r"Linear '\+': coefficients must be two numbers, got"):
        Linear("+", operator.add, (1.0,))
    with pytest.raises(ValueError, match=r"Linear '\+': value must be finite, got nan"):
        Linear("+", operator.add, (1.0, float("nan")))
    with pytest.raises(TypeError, match=r"Linear '\+': a coefficient must be a real number"):
        Linear("+", operator.add, (1.0, "1"))
