"""What micrograd code does to the class and to a Value, the same in both engine modes.

micrograd's lecture and many exercise solutions add ops to the class (``Value.tanh =
tanh``): that works on the pure-Python engine and on the compiled one (CI runs this file
in both).  EurekaLabsAI's micrograd AdamW keeps its moments on the parameters (``p.m =
0``): refused in both (a node has no ``__dict__``), and a dict keyed by the Value serves.
A Value stays hashed by identity although it compares by value.
"""

from __future__ import annotations

import math

import pytest

import autograd
from autograd import Value


@pytest.fixture
def restore_value_class():
    saved = {name: Value.__dict__[name] for name in ("tanh", "__sub__") if name in Value.__dict__}
    yield
    for name in ("tanh", "__sub__", "cube"):
        if name in saved:
            setattr(Value, name, saved[name])
        elif name in Value.__dict__:
            delattr(Value, name)


def test_a_method_added_to_the_class_works(restore_value_class) -> None:
    def tanh(self: Value) -> Value:  # the lecture's hand-built op
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward() -> None:
            self.grad += (1.0 - t * t) * out.grad

        out._backward = _backward
        return out

    def cube(self: Value) -> Value:
        return self * self * self

    Value.tanh = tanh
    Value.cube = cube
    x = Value(0.5)
    y = x.tanh() + x.cube()
    y.backward()
    assert y.parents[0].op == "tanh" and y.parents[0].rule.law.startswith("the node's own")
    assert x.grad == pytest.approx(1.0 - math.tanh(0.5) ** 2 + 3 * 0.25, rel=1e-15)


def test_an_operator_replaced_on_the_class_is_used(restore_value_class) -> None:
    Value.__sub__ = lambda self, other: self + (-other)  # an exercise's own subtraction
    d = Value(3.0) - Value(1.0)
    assert d.data == 2.0 and d.op == "+"


def test_an_attribute_of_your_own_is_refused_in_both_modes_and_a_dict_serves() -> None:
    p = Value(1.0)
    with pytest.raises(AttributeError, match="'m'"):
        p.m = 0.0  # EurekaLabsAI's AdamW: no __dict__ on a node (docs/benchmarks.md: memory)
    m = {p: 0.0}  # what README's "Coming from micrograd" says to do instead
    m[p] = 0.9 * m[p] + 0.1 * 2.0
    assert m[p] == pytest.approx(0.2)


def test_still_hashed_and_compared_for_equality_by_identity() -> None:
    a, b = Value(1.0), Value(1.0)
    assert hash(a) == object.__hash__(a) and len({a, b}) == 2 and a != b
    assert isinstance(a, __import__("collections").abc.Hashable)
    assert (a < 2.0) is True  # comparisons read .data


def test_engine_classes_other_than_value_are_as_before_in_each_mode() -> None:
    kind = autograd.kinds.Unary
    if autograd.COMPILED:  # extension types: immutable, as docs/design/compiled-build.md says
        with pytest.raises(TypeError, match="immutable"):
            kind.foo = 1
    else:
        kind.foo = 1
        del kind.foo
    assert not hasattr(kind, "foo")
