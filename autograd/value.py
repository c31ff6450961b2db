"""The :class:`Value` node: a scalar that records the op that produced it.

A node holds its data, its gradient, an optional label, the :class:`Rule` that
made it and up to two parent slots.  Binary ops keep both parents inline, n-ary
ops (``sum``) keep one tuple, and ``dot`` keeps its weights and its inputs as two
tuples, which a layer's neurons share; so a node costs a few pointers instead of
micrograd's ``set`` + closure.  Nodes point only at their parents
and at shared rules: a graph has no reference cycles, and reference counting
frees it as soon as it is dropped.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any, Callable, Union

from . import checks
from . import rules as R
from .checks import describe, sequence
from .grad_mode import _grad_enabled, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .rules import Rule

Number = Union[int, float]
Operand = Union["Value", int, float]

__all__ = [
    "Value", "apply", "constant", "dot", "dot_values", "enable_grad", "is_grad_enabled",
    "no_grad", "set_grad_enabled", "vsum",
]


def _to_float(x: Any, op: str, what: str = "") -> float:
    """Check a raw number for ``op``; raise naming the op and the value otherwise.

    ``what`` names the argument (``"gradient"``); without it the message reads as
    an operand's, which may be a number or a Value.
    """
    if x.__class__ is not float and x.__class__ is not int and not isinstance(x, numbers.Real):
        if what:
            expected = f"{what} must be a real number"
        elif op in _DATA_ONLY:
            expected = "expected a real number"
        else:
            expected = "expected a real number or Value"
        hint = " (a Value: pass its .data, or use .detach())" if isinstance(x, Value) else ""
        raise TypeError(f"{op}: {expected}, got {describe(x)}{hint}")
    try:
        f = float(x)
    except OverflowError:  # ints too: float(10**400) overflows
        raise OverflowError(f"{op}: {describe(x)} is too large for a float") from None
    if f - f != 0.0:
        raise ValueError(f"{op}: value must be finite, got {x!r}")
    return f


# Calls whose argument is a number only: a Value there is a mistake, not an operand.
_DATA_ONLY = frozenset({"Value", "constant"})


_new = object.__new__
_EXACT = 2**53  # ints up to here are exact as floats
_CONSTANT = "constant"


class Value:
    """A scalar in a computation graph.

    ``Value(data, label="")``: ``.data`` and ``.grad`` are floats; ``.op`` and
    ``.parents`` say what produced it.  micrograd's ``_prev``, ``_op`` and the
    ``(data, _children, _op, label)`` signature work too.
    """

    __slots__ = ("data", "grad", "label", "_rule", "_a", "_b")

    def __init__(
        self,
        data: Number,
        _children: Iterable[Value] = (),
        _op: str = "",
        label: str = "",
    ) -> None:
        self.data = _to_float(data, "Value")
        self.grad = 0.0
        self.label = label
        if _children:
            children = _hand_built_children(_children)
            # micrograd-style hand-built node: keep the edges for pictures; its
            # derivative is unknown, so backward through it raises.
            self._rule = Rule(_op or "?", 0, lambda xs: 0.0, _opaque_vjp)
            self._a = children
        else:
            self._rule = None
            self._a = None
        self._b = None

    # --- introspection ---------------------------------------------------------

    @property
    def op(self) -> str:
        """The op's symbol (``'+'``, ``'tanh'``, ``'**2'``...), ``''`` for a leaf."""
        r = self._rule
        return "" if r is None else r.symbol

    _op = op  # micrograd's name

    @property
    def parents(self) -> tuple[Value, ...]:
        """The inputs of the op that produced this node, in order."""
        r = self._rule
        if r is None:
            return ()
        if r.arity == 1:
            return (self._a,)
        if r.arity == 2:
            return (self._a, self._b)
        return self._a if self._b is None else self._a + self._b

    @property
    def _prev(self) -> set[Value]:
        return set(self.parents)

    @property
    def rule(self) -> Rule | None:
        """The derivative rule of the op that produced this node (None for a leaf)."""
        return self._rule

    @property
    def is_leaf(self) -> bool:
        return self._rule is None

    @property
    def is_constant(self) -> bool:
        """A number an op lifted to a leaf, such as the 2 in ``x * 2``."""
        return self._rule is None and self._b is _CONSTANT

    def __repr__(self) -> str:
        lab = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{lab})"

    def __float__(self) -> float:
        return self.data

    # --- unary ops ---------------------------------------------------------------

    def exp(self) -> Value:
        return _unary(R.EXP, self)

    def log(self) -> Value:
        return _unary(R.LOG, self)

    def sqrt(self) -> Value:
        return _unary(R.SQRT, self)

    def tanh(self) -> Value:
        return _unary(R.TANH, self)

    def sigmoid(self) -> Value:
        return _unary(R.SIGMOID, self)

    def relu(self) -> Value:
        return _unary(R.RELU, self)

    def __neg__(self) -> Value:
        return _unary(R.NEG, self)

    def __abs__(self) -> Value:
        return _unary(R.ABS, self)

    def __pos__(self) -> Value:
        return self

    def __pow__(self, other: Operand, modulo: None = None) -> Value:
        if modulo is not None:
            raise TypeError("**: three-argument pow is not supported")
        if other.__class__ is Value or isinstance(other, Value):
            return _binary(R.POW, self, other)
        # Small ints stay ints (exact powers, readable "**2"); beyond 2**53 a float is as exact.
        c = other if other.__class__ is int and -_EXACT < other < _EXACT else _to_float(other, "**")
        return _unary(R.power(c), self)

    def __rpow__(self, other: Number) -> Value:
        return _unary(R.exponential(_to_float(other, "**")), self)

    # --- graph utilities ----------------------------------------------------------

    def detach(self) -> Value:
        """A new leaf with the same data (and label), cut off from the graph."""
        return Value(self.data, label=self.label)

    def backward(self, gradient: Number = 1.0) -> None:
        """Reverse-mode backprop from this node; see :func:`autograd.backward`."""
        from .backward import backward

        backward(self, gradient)

    def _backward(self) -> None:
        """One step of backprop by hand, as in micrograd's lecture: add this node's
        ``.grad`` times each local derivative to its parents' ``.grad`` (a leaf has
        none).  Call it on each node in :func:`autograd.backward_order`."""
        from .backward import _vjp

        if self._rule is not None:
            for p, gp in zip(*_vjp(self, self.grad, create_graph=False)):
                p.grad += gp


def _hand_built_children(children: Any) -> tuple[Value, ...]:
    """micrograd's ``_children`` checked: a non-Value would break every walk of the graph."""
    cs = tuple(sequence(children, "Value", "_children", "Values"))
    for i, c in enumerate(cs):
        if not isinstance(c, Value):
            raise TypeError(f"Value: _children[{i}] must be a Value, got {describe(c)}")
    return cs


def _opaque_vjp(g: Any, out: Any, xs: tuple) -> tuple:
    raise TypeError(
        "backward: this node was built by hand with _children and has no derivative rule; "
        "build it from Value ops, or give it a Rule via autograd.apply"
    )


def _lift(x: Any, op: str) -> Value:
    """Wrap a number as a constant leaf (as micrograd does)."""
    v = _new(Value)
    v.data = _to_float(x, op)
    v.grad = 0.0
    v.label = ""
    v._rule = v._a = None
    v._b = _CONSTANT  # a leaf's _b is otherwise unused: the mark costs no memory
    return v


def constant(x: Number) -> Value:
    """``x`` as a constant leaf: an input no gradient is wanted for (drawn without one)."""
    return _lift(x, "constant")


_SHOWN_OPERANDS = 4


def _operands_text(operands: tuple) -> str:
    """The operands for an error message: all of a few; of many (a dot, a sum), the largest.

    Listing every operand of a 1,000-term sum would make a message of kilobytes;
    the largest in magnitude are the ones an overflow comes from.
    """
    if len(operands) <= _SHOWN_OPERANDS:
        return ", ".join(map(repr, operands))
    largest = sorted(operands, key=lambda x: -abs(x.data))[:2]
    return f"{len(operands)} operands, the largest {', '.join(map(repr, largest))}"


def _fail(rule: Rule, exc: Exception, operands: tuple) -> Exception:
    """Turn a float-level failure into an error naming the op and its operands."""
    bad = [x for x in operands if not isinstance(x.data, numbers.Real)]
    if bad:
        return TypeError(
            f"{rule.symbol}: operand {bad[0]!r} does not hold a float (was .data set by hand?)"
        )
    datas = [x.data for x in operands]
    bad = [x for x in operands if x.data - x.data != 0.0]
    if bad:
        return FloatingPointError(
            f"{rule.symbol}: operand {bad[0]!r} is not finite (was .data set by hand?)"
        )
    what = _operands_text(operands)
    if isinstance(exc, OverflowError):
        return OverflowError(f"{rule.symbol}: result overflows a float for {what}")
    reason = rule.domain(*datas) if rule.domain is not None and rule.arity else None
    reason = reason or str(exc)
    kind = ZeroDivisionError if isinstance(exc, ZeroDivisionError) else ValueError
    return kind(f"{rule.symbol}: {reason}, got {what}")


def _record(rule: Rule, data: float, a: Any, b: Any) -> Value:
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if _grad_enabled.get():
        out._rule = rule
        out._a = a
        out._b = b
    else:
        out._rule = out._a = out._b = None
    return out


def _unary(rule: Rule, x: Value) -> Value:
    xd = x.data
    try:
        data = rule.forward(xd)
    except (ArithmeticError, ValueError, TypeError) as e:  # TypeError: .data set by hand
        raise _fail(rule, e, (x,)) from None
    # The operand is checked too: .data set to inf/nan by hand would otherwise
    # pass silently through ops that map it to a finite number (tanh, relu...).
    if data - data + (xd - xd) != 0.0:
        raise _fail(rule, OverflowError(), (x,))
    return _record(rule, data, x, None)


def _binary(rule: Rule, a: Value, b: Value) -> Value:
    ad = a.data
    bd = b.data
    try:
        data = rule.forward(ad, bd)
    except (ArithmeticError, ValueError, TypeError) as e:  # TypeError: .data set by hand
        raise _fail(rule, e, (a, b)) from None
    if data - data + (ad - ad) + (bd - bd) != 0.0:  # operands too, as in _unary
        raise _fail(rule, OverflowError(), (a, b))
    return _record(rule, data, a, b)


def apply(rule: Rule, *args: Operand) -> Value:
    """Record ``rule`` applied to ``args`` (numbers become constants).

    The operands must fit the rule: one for a unary rule, two for a binary one,
    at least one for an n-ary rule, two halves of equal length for a bilinear one.
    """
    if rule.__class__ is not Rule:
        raise TypeError(f"apply: rule must be a Rule, got {describe(rule)}")
    _check_arity(rule, len(args))
    vals = [x if isinstance(x, Value) else _lift(x, rule.symbol) for x in args]
    if rule.arity == 1:
        return _unary(rule, vals[0])
    if rule.arity == 2:
        return _binary(rule, vals[0], vals[1])
    try:
        data = float(rule.forward([x.data for x in vals]))
    except (ArithmeticError, ValueError, TypeError) as e:  # TypeError: .data set by hand
        raise _fail(rule, e, vals) from None
    if data - data != 0.0:
        raise _fail(rule, OverflowError(), vals)
    if rule.partners is not None:  # a bilinear op keeps its two halves apart
        n = len(vals) // 2
        return _record(rule, data, tuple(vals[:n]), tuple(vals[n:]))
    return _record(rule, data, tuple(vals), None)


def _check_arity(rule: Rule, n: int) -> None:
    """Refuse operands that do not fit ``rule``: extra ones would be silently dropped."""
    if rule.partners is not None:
        if n % 2 or not n:
            raise ValueError(
                f"{rule.symbol}: needs two halves of equal length, got {n} operands"
            )
    elif rule.arity in (1, 2):
        if n != rule.arity:
            kind = "unary" if rule.arity == 1 else "binary"
            raise TypeError(
                f"{rule.symbol}: a {kind} rule takes {rule.arity} operand"
                f"{'s' * (rule.arity == 2)}, got {n}"
            )
    elif not n:
        raise ValueError(f"{rule.symbol}: an n-ary rule needs at least one operand, got none")


def _operator_pair(rule: Rule) -> tuple[Callable[..., Value], Callable[..., Value]]:
    """Forward and reflected methods for a binary op, made in one place."""

    def forward(a: Value, b: Operand) -> Value:
        if b.__class__ is not Value and not isinstance(b, Value):  # a subclass is a Value too
            b = _lift(b, rule.symbol)
        return _binary(rule, a, b)

    def reverse(b: Value, a: Operand) -> Value:
        return _binary(rule, _lift(a, rule.symbol), b)

    return forward, reverse


Value.__add__, Value.__radd__ = _operator_pair(R.ADD)
Value.__sub__, Value.__rsub__ = _operator_pair(R.SUB)
Value.__mul__, Value.__rmul__ = _operator_pair(R.MUL)
Value.__truediv__, Value.__rtruediv__ = _operator_pair(R.DIV)


def vsum(values: Iterable[Operand]) -> Value:
    """The sum of ``values`` as one n-ary node."""
    vals = checks.sequence(values, "sum", "values", "Values or numbers")
    if not vals:
        raise ValueError("sum: needs at least one value, got an empty sequence")
    return apply(R.SUM, *vals)


def dot(weights: Iterable[Operand], inputs: Iterable[Operand]) -> Value:
    """``sum(w * x)`` as one node: a neuron's whole weighted sum."""
    ws = checks.sequence(weights, "dot", "weights", "Values or numbers")
    xs = checks.sequence(inputs, "dot", "inputs", "Values or numbers")
    n = len(ws)
    if n != len(xs):
        raise ValueError(f"dot: lengths differ, {n} weights and {len(xs)} inputs")
    if not n:
        raise ValueError("dot: needs at least one pair, got empty sequences")
    if set(map(type, ws + xs)) != _ONLY_VALUES:  # one C-level pass; lift only when needed
        return apply(R.DOT, *ws, *xs)
    return dot_values(ws, xs)


def dot_values(
    ws: Sequence[Value], xs: Sequence[Value], xdata: Sequence[float] | None = None
) -> Value:
    """:func:`dot` for callers that pass two non-empty lists of Values.

    The hot path of every neuron (``nn`` guarantees the shapes), so it skips
    ``dot``'s checks, whose type check alone costs as much as the product; a
    number among the weights still works, through ``dot``.  Tuples are kept as
    the node's parents without a copy, and ``xdata``, the inputs' ``.data``,
    lets a layer read its inputs once for all its neurons.
    """
    if len(ws) != len(xs) or not ws:
        return dot(ws, xs)  # which says what is wrong
    try:
        wd = [w.data for w in ws]
        data = R.dot_product(wd, [x.data for x in xs] if xdata is None else xdata)
    except AttributeError:  # not all Values: dot() lifts numbers and names anything else
        return dot(ws, xs)
    except TypeError as e:  # .data set by hand
        raise _fail(R.DOT, e, (*ws, *xs)) from None
    if data - data != 0.0:
        raise _fail(R.DOT, OverflowError(), (*ws, *xs))
    return _record(R.DOT, data, tuple(ws), tuple(xs))  # no copy when given tuples


_ONLY_VALUES = {Value}
