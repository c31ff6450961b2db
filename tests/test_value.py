"""Value: every op's forward value and derivative, micrograd compatibility, errors, no_grad."""

from __future__ import annotations

import gc
import math
import threading
from typing import Callable

import pytest

from autograd import (
    GradientError,
    Value,
    apply,
    constant,
    dot,
    enable_grad,
    grad,
    is_grad_enabled,
    no_grad,
    rules,
    vsum,
)

# (name, function of the leaves, leaf values, forward value, d out / d leaf for each leaf)
E = math.e
OPS = [
    ("add", lambda x, y: x + y, (2.0, -3.0), -1.0, (1.0, 1.0)),
    ("sub", lambda x, y: x - y, (2.0, -3.0), 5.0, (1.0, -1.0)),
    ("mul", lambda x, y: x * y, (2.0, -3.0), -6.0, (-3.0, 2.0)),
    ("div", lambda x, y: x / y, (2.0, -4.0), -0.5, (-0.25, -2.0 / 16.0)),
    ("pow", lambda x, y: x**y, (2.0, 3.0), 8.0, (12.0, 8.0 * math.log(2.0))),
    ("pow const int", lambda x: x**3, (-2.0,), -8.0, (12.0,)),
    ("pow const real", lambda x: x**-1.5, (4.0,), 0.125, (-1.5 * 4.0**-2.5,)),
    ("pow const half", lambda x: x**0.5, (9.0,), 3.0, (1.0 / 6.0,)),
    ("rpow", lambda x: 2.0**x, (3.0,), 8.0, (8.0 * math.log(2.0),)),
    # where 0 ** -1 or log(0) appears in the formula but the derivative exists
    ("pow const zero at 0", lambda x: x**0, (0.0,), 1.0, (0.0,)),
    ("pow at base 0", lambda x, y: x**y, (0.0, 2.0), 0.0, (0.0, 0.0)),
    ("rpow base 0", lambda x: 0.0**x, (3.0,), 0.0, (0.0,)),
    ("neg", lambda x: -x, (2.5,), -2.5, (-1.0,)),
    ("pos", lambda x: +x, (2.5,), 2.5, (1.0,)),
    ("exp", lambda x: x.exp(), (1.0,), E, (E,)),
    ("log", lambda x: x.log(), (4.0,), math.log(4.0), (0.25,)),
    ("sqrt", lambda x: x.sqrt(), (4.0,), 2.0, (0.25,)),
    ("tanh", lambda x: x.tanh(), (0.5,), math.tanh(0.5), (1.0 - math.tanh(0.5) ** 2,)),
    ("sigmoid", lambda x: x.sigmoid(), (0.0,), 0.5, (0.25,)),
    ("sigmoid far left", lambda x: x.sigmoid(), (-800.0,), 0.0, (0.0,)),
    ("relu +", lambda x: x.relu(), (1.5,), 1.5, (1.0,)),
    ("relu -", lambda x: x.relu(), (-1.5,), 0.0, (0.0,)),
    ("abs +", lambda x: abs(x), (1.5,), 1.5, (1.0,)),
    ("abs -", lambda x: abs(x), (-1.5,), 1.5, (-1.0,)),
    ("vsum", lambda x, y, z: vsum([x, y, z]), (1.0, 2.0, 4.0), 7.0, (1.0, 1.0, 1.0)),
    ("vsum numbers", lambda x: vsum([x, 2, 3.5]), (1.0,), 6.5, (1.0,)),
    ("dot", lambda a, b, x, y: dot([a, b], [x, y]), (1, 2, 3, 4), 11.0, (3.0, 4.0, 1.0, 2.0)),
    ("dot numbers", lambda a, b: dot([a, b], [3, -1.0]), (1.0, 2.0), 1.0, (3.0, -1.0)),
    # numbers on either side of the binary ops
    ("radd", lambda x: 2 + x, (1.5,), 3.5, (1.0,)),
    ("add number", lambda x: x + 2, (1.5,), 3.5, (1.0,)),
    ("rsub", lambda x: 2 - x, (1.5,), 0.5, (-1.0,)),
    ("sub number", lambda x: x - 2, (1.5,), -0.5, (1.0,)),
    ("rmul", lambda x: 2 * x, (1.5,), 3.0, (2.0,)),
    ("mul number", lambda x: x * 2.0, (1.5,), 3.0, (2.0,)),
    ("rdiv", lambda x: 3 / x, (2.0,), 1.5, (-0.75,)),
    ("div number", lambda x: x / 4, (2.0,), 0.5, (0.25,)),
]


@pytest.mark.parametrize(
    ("fn", "xs", "value", "grads"), [op[1:] for op in OPS], ids=[op[0] for op in OPS]
)
def test_forward_value_and_derivative(fn: Callable, xs: tuple, value: float, grads: tuple) -> None:
    leaves = [Value(x) for x in xs]
    out = fn(*leaves)
    assert out.data == pytest.approx(value, rel=1e-15, abs=1e-300)
    out.backward()
    assert [v.grad for v in leaves] == pytest.approx(grads, rel=1e-14, abs=1e-300)


def test_op_symbols() -> None:
    x, y = Value(2.0), Value(3.0)
    symbols = {
        "+": x + y, "-": x - y, "*": x * y, "/": x / y, "**": x**y, "**2": x**2,
        "**0.5": x**0.5, "2.0**": 2**x, "neg": -x, "exp": x.exp(), "log": x.log(),
        "sqrt": x.sqrt(), "tanh": x.tanh(), "sigmoid": x.sigmoid(), "relu": x.relu(),
        "abs": abs(x), "sum": vsum([x, y]), "dot": dot([x], [y]),
    }  # fmt: skip
    for symbol, v in symbols.items():
        assert v.op == symbol and v._op == symbol and not v.is_leaf
        assert v.rule is not None and v.rule.symbol == symbol
    assert x.op == "" and x.is_leaf and x.rule is None and x.parents == ()
    assert (x * y).parents == (x, y) and dot([x], [y]).parents == (x, y)


def test_numbers_become_constant_leaves() -> None:
    x = Value(2.0)
    out = 3 - x
    a, b = out.parents
    assert (a.data, a.is_leaf, b) == (3.0, True, x)


# --- micrograd compatibility -------------------------------------------------------


def test_micrograd_signature_prev_op_label() -> None:
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = Value(-1.0, (a, b), "+")
    assert c._prev == {a, b} and c._op == "+" and c.data == -1.0 and c.label == ""
    d = Value(4.0, label="d")
    assert d.label == "d" and d._prev == set() and d._op == ""
    e = a * b
    e.label = "e"
    assert e._prev == {a, b} and e._op == "*" and "label='e'" in repr(e)
    assert (a * a)._prev == {a}


def test_hand_built_node_refuses_backward_and_says_why() -> None:
    a, b = Value(2.0), Value(-3.0)
    c = Value(-1.0, (a, b), "+")
    with pytest.raises(TypeError, match="built by hand"):
        c.backward()


def test_micrograd_readme_example() -> None:
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    d = e + c
    f = Value(-2.0, label="f")
    L = d * f
    L.backward()
    assert (a.grad, b.grad, c.grad, f.grad) == (6.0, -4.0, -2.0, 4.0)
    assert (L.data, L.grad, d.grad, e.grad) == (-8.0, 1.0, -2.0, -2.0)


def test_float_and_repr() -> None:
    x = Value(1.5, label="x")
    assert float(x) == 1.5 and repr(x) == "Value(data=1.5, grad=0.0, label='x')"
    assert repr(Value(2)) == "Value(data=2.0, grad=0.0)" and type(Value(2).data) is float


# --- errors: clear, naming the op and operand, nothing half-recorded ----------------


def _values_alive() -> int:
    # Until nothing more is found: a cycle through compiled objects (micrograd's
    # closure nodes, an earlier test's) may take the collector a second pass.
    while gc.collect():
        pass
    return sum(1 for o in gc.get_objects() if type(o) is Value)


def failure(fn: Callable[[], object], kind: type) -> str:
    """The message of the ``kind`` error ``fn`` raises; checks it left no Value behind."""
    before = _values_alive()
    try:
        fn()
    except kind as e:
        message = str(e)
    else:
        raise AssertionError(f"no {kind.__name__} raised")
    assert _values_alive() == before, "a failed op left a node behind"
    return message


@pytest.mark.parametrize("bad", ["1", None, 1 + 2j, [1.0]])
def test_non_numeric_data(bad: object) -> None:
    message = failure(lambda: Value(bad), TypeError)
    assert message.startswith("Value:") and repr(bad) in message


@pytest.mark.parametrize("bad", ["a", None, 2j])
def test_non_numeric_operand(bad: object) -> None:
    x = Value(1.0, label="x")
    assert "+:" in failure(lambda: x + bad, TypeError)
    assert "*:" in failure(lambda: bad * x, TypeError)
    assert repr(bad) in failure(lambda: x - bad, TypeError)
    assert "**" in failure(lambda: x**bad, TypeError)


@pytest.mark.parametrize(
    ("fn", "x", "kind", "words"),
    [
        (lambda x: x.log(), -1.0, ValueError, ["log", "> 0", "-1.0", "'x'"]),
        (lambda x: x.log(), 0.0, ValueError, ["log", "0.0", "'x'"]),
        (lambda x: x.sqrt(), -4.0, ValueError, ["sqrt", ">= 0", "-4.0", "'x'"]),
        (lambda x: 1.0 / x, 0.0, ZeroDivisionError, ["/", "division by zero", "'x'"]),
        (lambda x: x / 0, 3.0, ZeroDivisionError, ["/", "division by zero", "3.0"]),
        (lambda x: x**0.5, -8.0, ValueError, ["**0.5", "negative base", "-8.0", "'x'"]),
        (lambda x: x ** Value(0.5), -8.0, ValueError, ["**", "negative base", "-8.0"]),
        (lambda x: (-8.0) ** x, 0.5, ValueError, ["-8.0**", "negative base"]),
        (lambda x: x**-1, 0.0, ZeroDivisionError, ["**-1", "zero base", "'x'"]),
        (lambda x: x.exp(), 1000.0, OverflowError, ["exp", "overflow", "1000.0", "'x'"]),
        (lambda x: x * 1e200, 1e200, OverflowError, ["*", "overflow", "'x'"]),
        (lambda x: x**400, 10.0, OverflowError, ["**400", "overflow", "'x'"]),
        (lambda x: 10.0**x, 400.0, OverflowError, ["10.0**", "overflow", "'x'"]),
        (lambda x: vsum([x, 1e308]), 1e308, OverflowError, ["sum", "overflow"]),
        (lambda x: x + math.nan, 1.0, ValueError, ["+", "finite", "nan"]),
        (lambda x: x * math.inf, 1.0, ValueError, ["*", "finite", "inf"]),
        (lambda x: x**math.nan, 1.0, ValueError, ["**", "finite", "nan"]),
    ],
)
def test_bad_values_raise_naming_op_and_operand(
    fn: Callable, x: float, kind: type, words: list
) -> None:
    v = Value(x, label="x")
    message = failure(lambda: fn(v), kind)
    for word in words:
        assert word in message, (word, message)
    assert (v.data, v.grad, v.is_leaf) == (x, 0.0, True)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 10**400])
def test_non_finite_data_is_refused(bad: object) -> None:
    kind = OverflowError if isinstance(bad, int) else ValueError
    message = failure(lambda: Value(bad), kind)
    assert message.startswith("Value:")


@pytest.mark.parametrize("bad", [math.inf, math.nan])
@pytest.mark.parametrize(
    "use", [lambda x: x + 1, lambda x: 2 * x, lambda x: x.tanh(), lambda x: x.relu()]
)
def test_non_finite_data_set_by_hand_is_caught_when_used(bad: float, use: Callable) -> None:
    x = Value(1.0, label="x")
    x.data = bad
    message = failure(lambda: use(x), FloatingPointError)
    assert "not finite" in message and "'x'" in message


# --- no_grad, enable_grad, detach ---------------------------------------------------


def test_no_grad_records_nothing() -> None:
    x = Value(2.0)
    with no_grad():
        assert not is_grad_enabled()
        y = (x * x + 1.0).tanh()
        with enable_grad():
            z = x * 3.0
    assert is_grad_enabled()
    assert y.is_leaf and y.parents == () and y.data == math.tanh(5.0)
    assert z.op == "*"
    y.backward()
    assert x.grad == 0.0 and y.grad == 1.0


def test_no_grad_as_decorator_and_restores_on_error() -> None:
    @no_grad()
    def square(v: Value) -> Value:
        assert not is_grad_enabled()
        return v * v

    assert square(Value(3.0)).is_leaf and is_grad_enabled()
    with pytest.raises(ZeroDivisionError), no_grad():
        Value(1.0) / 0
    assert is_grad_enabled()


def test_no_grad_is_local_to_a_thread() -> None:
    inside, outside = threading.Barrier(2), threading.Barrier(2)
    seen = {}

    def worker() -> None:
        with no_grad():
            inside.wait()  # main thread now builds while we sit in no_grad
            seen["worker"] = (Value(1.0) * 2.0).is_leaf
            outside.wait()

    t = threading.Thread(target=worker)
    t.start()
    inside.wait()
    seen["main"] = (Value(1.0) * 2.0).is_leaf
    outside.wait()
    t.join()
    assert seen == {"worker": True, "main": False}


def test_detach() -> None:
    x = Value(2.0, label="x")
    y = x * x
    d = y.detach()
    assert d.is_leaf and d.data == 4.0 and d is not y and d.parents == ()
    (d * x).backward()
    assert x.grad == 4.0 and d.grad == 2.0 and y.grad == 0.0


@pytest.mark.parametrize(("base", "exponent"), [(-2.0, 2.0), (0.0, 0.0)])
def test_exponent_derivative_undefined_is_a_clear_error(base: float, exponent: float) -> None:
    # a ** b as a function of b is not real off whole b for a < 0, and jumps at b = 0
    # for a = 0: the exponent has no derivative, which must be said, not returned as NaN.
    x, e = Value(base, label="x"), Value(exponent, label="e")
    out = x**e
    with pytest.raises(GradientError, match=r"'\*\*'.*exponent's derivative.*undefined for base"):
        out.backward()
    assert (x.grad, e.grad) == (0.0, 0.0)
    # with a number exponent, only the base's derivative is asked for, and it exists
    expected = exponent * base ** (exponent - 1) if exponent else 0.0
    assert grad(x**exponent, x) == pytest.approx(expected)


def test_dot_values_is_dot_without_the_checks_but_never_silently_wrong() -> None:
    from autograd.value import dot_unchecked

    ws, xs = [Value(2.0), Value(-1.0)], [Value(3.0), Value(4.0)]
    fast, checked = dot_unchecked(ws, xs), dot(ws, xs)
    assert (fast.data, fast.op, fast.parents) == (checked.data, checked.op, checked.parents)
    fast.backward()
    assert [v.grad for v in ws + xs] == [3.0, 4.0, 2.0, -1.0]
    assert dot_unchecked([Value(2.0), 0.5], xs).data == 8.0  # a number among the weights: dot's way
    with pytest.raises(ValueError, match="lengths differ, 3 weights and 2 inputs"):
        dot_unchecked([*ws, Value(1.0)], xs)  # e.g. a weight appended by hand: not truncated


def test_data_set_by_hand_to_a_non_number_is_refused_at_the_assignment_in_both_modes() -> None:
    v = Value(1.0, label="v")
    with pytest.raises(TypeError, match=r"^Value\.data: must be a real number, got 'a' \(str\)$"):
        v.data = "a"  # type: ignore[assignment]
    assert v.data == 1.0 and v.data.__class__ is float


def test_huge_int_exponents_are_floats_and_never_printed_in_full() -> None:
    assert (Value(0.5) ** (10**300)).op == "**1e+300"
    assert (Value(3.0) ** 2).op == "**2"
    with pytest.raises(OverflowError, match=r"\*\*: an int of 401 digits is too large for a float"):
        Value(0.5) ** (10**400)


def test_constant_makes_a_constant_leaf_and_checks_its_number() -> None:
    c = constant(4)
    assert c.is_constant and c.is_leaf and c.data == 4.0 and c.data.__class__ is float
    with pytest.raises(TypeError, match=r"constant: expected a real number, got '4'"):
        constant("4")
    with pytest.raises(ValueError, match="constant: value must be finite"):
        constant(float("nan"))


def test_dot_of_numbers_keeps_weights_and_inputs_in_order() -> None:
    w, x = Value(2.0), Value(5.0)
    d = dot([w, 3], [x, 7])  # numbers are lifted through apply(), which splits the halves too
    assert d.data == 31.0 and d.parents[0] is w and d.parents[2] is x
    assert [p.data for p in d.parents] == [2.0, 3.0, 5.0, 7.0]
    d.backward()
    assert (w.grad, x.grad) == (5.0, 2.0)
    with pytest.raises(ValueError, match="dot: needs two halves of equal length, got 3 operands"):
        apply(rules.DOT, w, x, 1.0)


def test_only_numbers_lifted_by_ops_are_constants() -> None:
    x = Value(2.0)
    lifted = [p for p in (x * 3).parents if p is not x]
    assert [p.is_constant for p in lifted] == [True]
    assert not x.is_constant and not x.detach().is_constant and not (x * 3).is_constant
    assert [p.is_constant for p in vsum([x, 2]).parents] == [False, True]
