"""The :class:`Value` node: a scalar that records the op that produced it.

A node holds its data, its gradient, an optional label, the :class:`Rule` that
made it and up to two parent slots (:class:`~autograd.node.Node`).  What the
slots hold is the business of the rule's kind (:mod:`autograd.kinds`): binary
ops keep both parents inline, n-ary ops (``sum``) keep one tuple, and ``dot``
keeps its weights and its inputs as two tuples, which a layer's neurons share;
so a node costs a few pointers instead of micrograd's ``set`` + closure.  Nodes
point only at their parents and at shared rules: a graph built from these ops
has no reference cycles, and reference counting frees it as soon as it is
dropped.  (micrograd's hand-built node, ``out._backward = closure``, is the
exception: its closure refers to ``out``, as in micrograd.)

The operators are methods of :class:`Value` (``__add__``...); each op's
derivative is declared once, in :mod:`autograd.rules`.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any, Callable, Union

from . import checks
from . import rules as R
from .backward import backward
from .checks import describe, real, sequence
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .kinds import LOCAL_GRADS, Closure, Rule, RuleKind, is_finite
from .node import Node, open_value_class
from .rules import ADD, DIV, DOT, MUL, SUB

Number = Union[int, float]
Operand = Union["Value", int, float]

__all__ = [
    "Value", "apply", "clamp", "constant", "dot", "dot_unchecked", "enable_grad",
    "is_grad_enabled", "maximum", "minimum", "no_grad", "set_grad_enabled", "vsum",
]

_EXACT = 2**53  # ints up to here are exact as floats
_CONSTANT = "constant"


class Value(Node):
    """A scalar in a computation graph.

    ``Value(data, label="")``: ``.data`` and ``.grad`` are floats; ``.op`` and
    ``.parents`` say what produced it.  micrograd's ``_prev``, ``_op`` and the
    ``(data, _children, _op, label)`` signature work too, and so does microgpt's
    ``Value(data, children, local_grads)``, with its ``_children`` and ``_local_grads``.
    """

    __slots__ = ()  # Node's: _data, _grad, label, _rule and the two parent slots

    def __init__(
        self,
        data: Number,
        _children: Iterable[Value] = (),
        _op: str | Sequence[float] = "",
        label: str = "",
    ) -> None:
        self._data = real(data, "Value")
        self._grad = 0.0
        self.label = label
        self._rule = None
        if _children:
            children = _hand_built_children(_children)
            if isinstance(_op, str):
                # micrograd's hand-built node: its derivative is the closure set
                # with ``out._backward = fn``; without one, backward through it raises.
                Closure(_op or "?").record(self, children)
            else:  # microgpt's: the third argument is the local gradients
                LOCAL_GRADS.record(self, children, _local_grads(_op, len(children)))

    # --- the two numbers: always Python floats ------------------------------------
    # The engine's own code writes the floats it computed straight into ``_data``
    # and ``_grad``; what a user assigns (``p.data -= lr * p.grad``, micrograd's
    # ``x.grad += ...``) goes through these setters, which store a real number as
    # the float it equals and refuse anything else, naming the field, so both
    # engines compute in the same floats.

    @property
    def data(self) -> float:
        """The node's value."""
        return self._data

    @data.setter
    def data(self, x: float) -> None:
        self._data = x if x.__class__ is float else checks.stored(x, "Value.data")

    @property
    def grad(self) -> float:
        """d(output)/d(this node), filled in by ``backward()``."""
        return self._grad

    @grad.setter
    def grad(self, x: float) -> None:
        self._grad = x if x.__class__ is float else checks.stored(x, "Value.grad")

    # --- introspection ---------------------------------------------------------

    @property
    def op(self) -> str:
        """The op's symbol (``'+'``, ``'tanh'``, ``'**2'``...), ``''`` for a leaf."""
        r = _rule_of(self, "op")
        return "" if r is None else r.symbol

    @property
    def _op(self) -> str:
        """micrograd's name for :attr:`op`."""
        return self.op

    @property
    def parents(self) -> tuple[Value, ...]:
        """The inputs of the op that produced this node, in order."""
        r = _rule_of(self, "parents")
        return () if r is None else r.parents(self)

    @property
    def _prev(self) -> set[Value]:
        return set(self.parents)

    @property
    def _children(self) -> tuple[Value, ...]:
        """microgpt's name for :attr:`parents`."""
        return self.parents

    @property
    def _local_grads(self) -> tuple[float, ...]:
        """microgpt's: d self / d each parent, as floats (``()`` for a leaf)."""
        r = _rule_of(self, "_local_grads")
        return () if r is None else r.local_derivatives(self)

    @property
    def rule(self) -> Rule | None:
        """The derivative rule of the op that produced this node (None for a leaf)."""
        return _rule_of(self, "rule")

    @property
    def is_leaf(self) -> bool:
        return self._rule is None

    @property
    def is_constant(self) -> bool:
        """A number an op lifted to a leaf, such as the 2 in ``x * 2``."""
        # A leaf's parent slots are otherwise unset: the mark costs no memory.
        # ==, not is: an unpickled constant's mark is an equal string, not the same one
        return self._rule is None and getattr(self, "_b", None) == _CONSTANT

    def __repr__(self) -> str:
        lab = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self._data!r}, grad={self._grad!r}{lab})"

    def __float__(self) -> float:
        return self._data

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

    # --- binary ops: a number operand becomes a constant leaf ----------------------
    # ``other.__class__ is not Value`` first: one pointer compare on the common path.

    def __add__(self, other: Operand) -> Value:
        if other.__class__ is not Value and not isinstance(other, Value):
            other = _lift(other, "+")
        return _binary(ADD, self, other)

    def __radd__(self, other: Number) -> Value:
        return _binary(ADD, _reflected(other, "+"), self)

    def __sub__(self, other: Operand) -> Value:
        if other.__class__ is not Value and not isinstance(other, Value):
            other = _lift(other, "-")
        return _binary(SUB, self, other)

    def __rsub__(self, other: Number) -> Value:
        return _binary(SUB, _reflected(other, "-"), self)

    def __mul__(self, other: Operand) -> Value:
        if other.__class__ is not Value and not isinstance(other, Value):
            other = _lift(other, "*")
        return _binary(MUL, self, other)

    def __rmul__(self, other: Number) -> Value:
        return _binary(MUL, _reflected(other, "*"), self)

    def __truediv__(self, other: Operand) -> Value:
        if other.__class__ is not Value and not isinstance(other, Value):
            other = _lift(other, "/")
        return _binary(DIV, self, other)

    def __rtruediv__(self, other: Number) -> Value:
        return _binary(DIV, _reflected(other, "/"), self)

    def __pow__(self, other: Operand, modulo: None = None) -> Value:
        if modulo is not None:
            raise TypeError("**: three-argument pow is not supported")
        if other.__class__ is Value or isinstance(other, Value):
            return _binary(R.POW, self, other)
        # Small ints stay ints (exact powers, readable "**2"); beyond 2**53 a float is as exact.
        c = other if other.__class__ is int and -_EXACT < other < _EXACT else real(other, "**")
        return _unary(R.power(c), self)

    def __rpow__(self, other: Number) -> Value:
        if isinstance(other, Value):  # see _reflected
            return _binary(R.POW, other, self)
        return _unary(R.exponential(real(other, "**")), self)

    # === issue 22: more ops, comparisons and truthiness ===================================
    # Each op's derivative is its rule's, in autograd/rules.py (the section marked issue 22).

    def sin(self) -> Value:
        return _unary(R.SIN, self)

    def cos(self) -> Value:
        return _unary(R.COS, self)

    def tan(self) -> Value:
        return _unary(R.TAN, self)

    def asin(self) -> Value:
        return _unary(R.ASIN, self)

    def acos(self) -> Value:
        return _unary(R.ACOS, self)

    def atan(self) -> Value:
        return _unary(R.ATAN, self)

    def asinh(self) -> Value:
        return _unary(R.ASINH, self)

    def acosh(self) -> Value:
        return _unary(R.ACOSH, self)

    def atanh(self) -> Value:
        return _unary(R.ATANH, self)

    def sinh(self) -> Value:
        return _unary(R.SINH, self)

    def cosh(self) -> Value:
        return _unary(R.COSH, self)

    def log1p(self) -> Value:
        """``log(1 + x)``, exact for tiny ``x``."""
        return _unary(R.LOG1P, self)

    def expm1(self) -> Value:
        """``exp(x) - 1``, exact for tiny ``x``."""
        return _unary(R.EXPM1, self)

    def exp2(self) -> Value:
        """``2 ** x``."""
        return _unary(R.EXP2, self)

    def sign(self) -> Value:
        """-1, 0 or 1; its derivative is 0 (at 0 too, as in PyTorch)."""
        return _unary(R.SIGN, self)

    def log2(self) -> Value:
        return _unary(R.LOG2, self)

    def log10(self) -> Value:
        return _unary(R.LOG10, self)

    def erf(self) -> Value:
        return _unary(R.ERF, self)

    def softplus(self) -> Value:
        """``log(1 + exp(x))``, computed without overflow."""
        return _unary(R.SOFTPLUS, self)

    def gelu(self) -> Value:
        """``x * Phi(x)``, Phi the standard normal CDF (the exact, erf form)."""
        return _unary(R.GELU, self)

    def silu(self) -> Value:
        """``x * sigmoid(x)`` (also called swish)."""
        return _unary(R.SILU, self)

    def leaky_relu(self, slope: Number = 0.01) -> Value:
        """``x`` if ``x > 0`` else ``slope * x``; at 0 the derivative is ``slope`` (torch's)."""
        return _unary(R.leaky_relu(real(slope, "leaky_relu", "slope")), self)

    def elu(self, alpha: Number = 1.0) -> Value:
        """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``; at 0 the derivative is ``alpha``."""
        return _unary(R.elu(real(alpha, "elu", "alpha")), self)

    def clamp(self, lo: Number | None = None, hi: Number | None = None) -> Value:
        """``x`` limited to ``[lo, hi]`` (either bound may be None); the gradient passes
        inside and at the bounds, and is 0 outside (torch.clamp's convention)."""
        return _unary(_clamp_rule(lo, hi), self)

    def __mod__(self, other: Operand) -> Value:
        if other.__class__ is not Value and not isinstance(other, Value):
            other = _lift(other, "%")
        return _binary(R.MOD, self, other)

    def __rmod__(self, other: Number) -> Value:
        return _binary(R.MOD, _reflected(other, "%"), self)

    # Comparisons read ``.data`` and give a plain bool: nothing is recorded, as in PyTorch,
    # so ``max(values)``, ``sorted(values)`` and ``if loss < best:`` work.  ``==`` and
    # ``hash`` stay identity: graphs and optimisers key their nodes by them.

    def __lt__(self, other: Operand) -> bool:
        o = _compared(other)
        return NotImplemented if o is None else self.data < o

    def __le__(self, other: Operand) -> bool:
        o = _compared(other)
        return NotImplemented if o is None else self.data <= o

    def __gt__(self, other: Operand) -> bool:
        o = _compared(other)
        return NotImplemented if o is None else self.data > o

    def __ge__(self, other: Operand) -> bool:
        o = _compared(other)
        return NotImplemented if o is None else self.data >= o

    def __bool__(self) -> bool:
        """By value, as ``bool(torch.tensor(0.0))`` and a float: ``Value(0.0)`` is False."""
        return self.data != 0.0


    # --- graph utilities ----------------------------------------------------------

    def detach(self) -> Value:
        """A new leaf with the same data (and label), cut off from the graph."""
        return Value(self._data, label=self.label)

    def backward(self, gradient: Number = 1.0) -> None:
        """Reverse-mode backprop from this node; see :func:`autograd.backward`."""
        backward(self, gradient)

    @property
    def _backward(self) -> Callable[[], None]:
        """One step of backprop by hand, as in micrograd's lecture: calling it adds
        this node's ``.grad`` times each local derivative to its parents' ``.grad``
        (a leaf has none).  Call it on each node in :func:`autograd.backward_order`.

        Setting it, micrograd's way (``out._backward = fn``, ``fn`` a closure that
        reads ``out.grad`` and adds into the children's ``.grad``), makes ``fn``
        this node's derivative: ``backward()`` calls it.
        """
        r = _rule_of(self, "_backward")
        if r is None:
            return _no_step
        if r.__class__ is Closure and r.closure is not None:
            return r.closure
        return lambda: r.send(self, self._grad)

    @_backward.setter
    def _backward(self, fn: Callable[[], None]) -> None:
        if not callable(fn):
            raise TypeError(f"_backward: must be a function of no arguments, got {describe(fn)}")
        if _rule_of(self, "_backward") is None:
            raise ValueError(
                f"_backward: {self!r} is a leaf, with no inputs to send a gradient to; "
                "set it on a node built with _children, as Value(data, (x,), 'op')"
            )
        Closure(self._rule.symbol, fn).adopt(self)


def _rule_of(node: Value, op: str) -> Rule | None:
    """``node``'s rule, or None for a leaf; anything else in the slot (a node put
    there by hand, a cycle of them) is refused here, before a walk follows it."""
    r = node._rule
    if r is None or isinstance(r, RuleKind):
        return r
    raise TypeError(
        f"{op}: the _rule slot of {node!r} must hold a Rule or None, got {describe(r)} "
        "(was it set by hand?)"
    )


def _no_step() -> None:
    """A leaf's backward step: it has no parents."""


def _hand_built_children(children: Any) -> tuple[Value, ...]:
    """micrograd's ``_children`` checked: a non-Value would break every walk of the graph."""
    cs = tuple(sequence(children, "Value", "_children", "Values"))
    for i, c in enumerate(cs):
        if not isinstance(c, Value):
            raise TypeError(f"Value: _children[{i}] must be a Value, got {describe(c)}")
    return cs


def _local_grads(local_grads: Any, n: int) -> tuple[float, ...]:
    """microgpt's ``local_grads`` checked: one finite number per child."""
    gs = sequence(local_grads, "Value", "local_grads", "numbers")
    if len(gs) != n:
        raise ValueError(
            f"Value: local_grads must hold one number per child ({n}), got {describe(local_grads)}"
        )
    return tuple(real(g, "Value local_grads") for g in gs)


def _reflected(x: Any, op: str) -> Value:
    """The left operand of a reflected op: a number lifted, or a Value as it is.

    Python calls ``y.__rmul__(x)`` with a Value ``x`` when ``y``'s class is a
    subclass of Value; the compiled build's operator slots can too.
    """
    return x if isinstance(x, Value) else _lift(x, op)


def _lift(x: Any, op: str) -> Value:
    """Wrap a number as a constant leaf (as micrograd does)."""
    v = Value.__new__(Value)
    v._data = real(x, op)
    v._grad = 0.0
    v.label = ""
    v._rule = None
    v._b = _CONSTANT  # the constant mark (see is_constant)
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
    largest = sorted(operands, key=lambda x: -abs(x._data))[:2]
    return f"{len(operands)} operands, the largest {', '.join(map(repr, largest))}"


def _op_error(rule: Rule, exc: Exception, operands: tuple) -> Exception:
    """Turn a float-level failure into an error naming the op and its operands."""
    bad = [x for x in operands if not isinstance(x._data, numbers.Real)]
    if bad:
        return TypeError(
            f"{rule.symbol}: operand {bad[0]!r} does not hold a float (was .data set by hand?)"
        )
    datas = [x._data for x in operands]
    bad = [x for x in operands if not is_finite(x._data)]
    if bad:
        return FloatingPointError(
            f"{rule.symbol}: operand {bad[0]!r} is not finite (was .data set by hand?)"
        )
    what = _operands_text(operands)
    if isinstance(exc, OverflowError):
        return OverflowError(f"{rule.symbol}: result overflows a float for {what}")
    try:
        reason = rule.domain_on(datas) or str(exc)
    except Exception:  # a domain test of the user's that fails: the error itself says more
        reason = str(exc)
    kind = ZeroDivisionError if isinstance(exc, ZeroDivisionError) else ValueError
    return kind(f"{rule.symbol}: {reason}, got {what}")


def _node(data: float) -> Value:
    """A new node holding ``data``; its rule's kind fills in the rest (``rule.record``)."""
    out = Value.__new__(Value)
    out._data = data
    out._grad = 0.0
    out.label = ""
    return out


def _unary(rule: Rule, x: Value) -> Value:
    xd = x._data
    try:
        data = rule.forward(xd)
    except (ArithmeticError, ValueError, TypeError) as e:  # TypeError: .data set by hand
        raise _op_error(rule, e, (x,)) from None
    # The operand is checked too: .data set to inf/nan by hand would otherwise
    # pass silently through ops that map it to a finite number (tanh, relu...).
    if data - data + (xd - xd) != 0.0:  # is_finite of both, inlined: once per op
        raise _op_error(rule, OverflowError(), (x,))
    out = Value.__new__(Value)  # _node inlined: this runs once per op
    out._data = data
    out._grad = 0.0
    out.label = ""
    rule.record(out, x)
    return out


def _binary(rule: Rule, a: Value, b: Value) -> Value:
    ad = a._data
    bd = b._data
    try:
        data = rule.forward(ad, bd)
    except (ArithmeticError, ValueError, TypeError) as e:  # TypeError: .data set by hand
        raise _op_error(rule, e, (a, b)) from None
    if data - data + (ad - ad) + (bd - bd) != 0.0:  # operands too, as in _unary (inlined)
        raise _op_error(rule, OverflowError(), (a, b))
    out = Value.__new__(Value)  # _node inlined: this runs once per op
    out._data = data
    out._grad = 0.0
    out.label = ""
    rule.record(out, a, b)
    return out


def apply(rule: Rule, *args: Operand) -> Value:
    """Record ``rule`` applied to ``args`` (numbers become constants).

    The operands must fit the rule: one for a unary rule, two for a binary one,
    at least one for an n-ary rule, two halves of equal length for a bilinear one.
    """
    if not isinstance(rule, RuleKind) or rule.__class__ is Closure:
        raise TypeError(f"apply: rule must be a Rule, got {describe(rule)}")
    rule.check_operands(len(args))
    vals = [x if isinstance(x, Value) else _lift(x, rule.symbol) for x in args]
    datas = [x._data for x in vals]
    try:
        data = rule.forward_on(datas)
    except (ArithmeticError, ValueError, TypeError) as e:
        raise _op_error(rule, e, vals) from None
    if data.__class__ is not float:  # an int, a numpy scalar: its float; "3" is refused
        data = checks.forward_result(data, rule.symbol)
    if not is_finite(data) or not all(map(is_finite, datas)):
        raise _op_error(rule, OverflowError(), vals)
    out = _node(data)
    rule.record_operands(out, vals)
    return out


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
    return dot_unchecked(ws, xs)


def dot_unchecked(
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
        wd = [w._data for w in ws]
        data = R.float_dot(wd, [x._data for x in xs] if xdata is None else xdata)
    except AttributeError:  # not all Values: dot() lifts numbers and names anything else
        return dot(ws, xs)
    except TypeError as e:  # .data set by hand
        raise _op_error(DOT, e, (*ws, *xs)) from None
    if data - data != 0.0:  # is_finite inlined: once per neuron
        raise _op_error(DOT, OverflowError(), (*ws, *xs))
    out = _node(data)
    DOT.record(out, tuple(ws), tuple(xs))  # no copy when given tuples
    return out


_ONLY_VALUES = {Value}


# === issue 22: module-level ops =========================================================

open_value_class(Value)  # compiled: hashed by identity despite <, and open to new methods


def _compared(x: Any) -> Any:
    """What a Value is compared with: a Value's data, a real number, or None (not comparable)."""
    if isinstance(x, Value):
        return x.data
    return x if isinstance(x, numbers.Real) else None


def _clamp_rule(lo: Any, hi: Any) -> Rule:
    if lo is None and hi is None:
        raise ValueError("clamp: needs lo or hi (or both), got neither")
    low = None if lo is None else real(lo, "clamp", "lo")
    high = None if hi is None else real(hi, "clamp", "hi")
    if low is not None and high is not None and low > high:
        raise ValueError(f"clamp: lo must be <= hi, got lo={lo!r}, hi={hi!r}")
    return R.clamp(low, high)


def _operand(x: Any, op: str) -> Value:
    return x if isinstance(x, Value) else _lift(x, op)


def maximum(a: Operand, b: Operand) -> Value:
    """The larger of ``a`` and ``b`` (as ``torch.maximum``): on a tie each gets half the
    gradient, the mean of the two one-sided derivatives."""
    return _binary(R.MAXIMUM, _operand(a, "maximum"), _operand(b, "maximum"))


def minimum(a: Operand, b: Operand) -> Value:
    """The smaller of ``a`` and ``b`` (as ``torch.minimum``); a tie splits the gradient."""
    return _binary(R.MINIMUM, _operand(a, "minimum"), _operand(b, "minimum"))


def clamp(x: Operand, lo: Number | None = None, hi: Number | None = None) -> Value:
    """``x`` limited to ``[lo, hi]``: see :meth:`Value.clamp`."""
    return _operand(x, "clamp").clamp(lo, hi)
