"""Derivative rules as data: each op is declared once, here.

(tanh's derivative: search for ``TANH =``.  How a rule's nodes hold their
parents and how backward runs a rule is :mod:`autograd.kinds`'.)

A :class:`Rule` pairs a float ``forward`` with a ``vjp`` (vector-Jacobian product)
written in plain arithmetic.  The engine calls ``vjp`` with floats for the fast
first-order backward, and with :class:`~autograd.value.Value` objects when it
builds a differentiable gradient graph (``grad(..., create_graph=True)``): one
rule serves both.

``vjp(g, out, *args)`` receives the upstream gradient ``g``, the op's output
``out`` and its inputs, and returns one gradient per input.  N-ary rules
(``arity == 0``) receive their inputs as a single sequence.

A bilinear op (``dot``) takes its inputs in two halves and declares its
derivative as ``partners(first, second)``: two sequences, of the inputs whose
values are the local derivatives of each half's inputs (for ``dot``, the other
half).  Its ``vjp`` is made from that declaration, and backward runs the same
declaration as loops over the inputs, with no intermediate lists.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any, Callable

from .kinds import Linear, Product, Rule

__all__ = ["Rule", "exponential", "power"]


def _data(x: Any) -> float:
    return x if x.__class__ is float else float(x.data if hasattr(x, "data") else x)


def log(x: Any) -> Any:
    """``log`` for floats and Values alike, so rules can use it."""
    return math.log(x) if isinstance(x, (int, float)) else x.log()


def step(x: Any) -> float:
    """Heaviside step as a constant: its own derivative is zero almost everywhere."""
    return 1.0 if _data(x) > 0.0 else 0.0


def sign(x: Any) -> float:
    d = _data(x)
    return 1.0 if d > 0.0 else (-1.0 if d < 0.0 else 0.0)


def _sigmoid(x: float) -> float:
    # Two branches keep exp() from overflowing for large |x|.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _relu(x: float) -> float:
    return x if x > 0.0 else 0.0


def _pow(a: float, b: float) -> float:
    r = a**b
    if r.__class__ is complex:  # Python silently goes complex for (-8) ** 0.5
        raise ValueError("negative base with a non-integer exponent")
    return float(r)


def _at_zero(x: Any) -> bool:
    return _data(x) == 0.0


def _pow_domain(a: float, b: float) -> str | None:
    if a == 0.0 and b < 0.0:
        return "zero base with a negative exponent (division by zero)"
    if a < 0.0 and b != int(b):
        return "negative base with a non-integer exponent"
    return None


# --- the table ---------------------------------------------------------------

# +, - and *: their local derivatives are declared as data (see autograd.kinds).
ADD = Linear("+", operator.add, (1.0, 1.0), law="add distributes")
SUB = Linear("-", operator.sub, (1.0, -1.0), law="sub distributes, negated")
MUL = Product("*", operator.mul, law="mul swaps")
DIV = Rule(
    "/",
    2,
    operator.truediv,
    lambda g, out, a, b: (g / b, -g * out / b),
    domain=lambda a, b: "division by zero" if b == 0.0 else None,
    law="quotient rule",
    finite=True,
)


def _power_grad(g: Any, a: Any, c: Any) -> Any:
    """d(a ** c)/da = c * a ** (c - 1).

    A constant exponent 0 makes ``a ** 0`` constant: its derivative is 0, even at
    a = 0 where ``0 ** -1`` fails.  An exponent that is a Value at 0 (a gradient
    graph being recorded) keeps the formula, whose derivative in c is not 0,
    except at a = 0 too, where the formula cannot be evaluated.
    """
    if _data(c) == 0.0 and (not hasattr(c, "data") or _data(a) == 0.0):
        return g * 0.0
    return g * c * a ** (c - 1)


def _exponent_grad(g: Any, out: Any, base: Any) -> Any:
    """d(base ** x)/dx = out * log(base): 0 at base 0 (``0 ** x`` is 0 for every x > 0);
    undefined for a negative base, where ``base ** x`` is real only at whole x."""
    b = _data(base)
    if b > 0.0:
        return g * out * log(base)
    if b == 0.0 and _data(out) == 0.0:
        return g * 0.0
    raise ValueError(
        f"the exponent's derivative out*log(base) is undefined for base {b!r}; "
        "if the exponent is a constant, use a number (x ** 2) rather than a Value"
    )


POW = Rule(
    "**",
    2,
    _pow,
    lambda g, out, a, b: (_power_grad(g, a, b), _exponent_grad(g, out, a)),
    domain=_pow_domain,
    law="power rule; exponent gets out*log(base)",
)
NEG = Rule("neg", 1, operator.neg, lambda g, out, x: (-g,), law="negates", finite=True)
EXP = Rule(
    "exp", 1, math.exp, lambda g, out, x: (g * out,), law="exp: times its output", finite=True
)
LOG = Rule(
    "log",
    1,
    math.log,
    lambda g, out, x: (g / x,),
    domain=lambda x: "argument must be > 0" if x <= 0.0 else None,
    law="log: divides by its input",
    finite=True,
)
SQRT = Rule(
    "sqrt",
    1,
    math.sqrt,
    lambda g, out, x: (g / (2.0 * out),),
    domain=lambda x: "argument must be >= 0" if x < 0.0 else None,
    law="sqrt: divides by twice its output",
)
TANH = Rule(
    "tanh",
    1,
    math.tanh,
    lambda g, out, x: (g * (1.0 - out * out),),
    law="tanh: 1 - out^2",
    finite=True,
)
SIGMOID = Rule(
    "sigmoid",
    1,
    _sigmoid,
    lambda g, out, x: (g * out * (1.0 - out),),
    law="sigmoid: out(1 - out)",
    finite=True,
)
RELU = Rule(
    "relu",
    1,
    _relu,
    lambda g, out, x: (g * step(x),),
    law="relu routes (if > 0)",
    kink=_at_zero,
    finite=True,
)
ABS = Rule(
    "abs",
    1,
    abs,
    lambda g, out, x: (g * sign(x),),
    law="abs routes by sign",
    kink=_at_zero,
    finite=True,
)


def _sum_vjp(g: Any, out: Any, xs: Sequence) -> list:
    return [g] * len(xs)


def float_dot(ws: Sequence[float], xs: Sequence[float]) -> float:
    """``sum(w * x)`` over two float sequences of equal length."""
    return sum(map(operator.mul, ws, xs), 0.0)


def _dot_forward(args: Sequence[float]) -> float:
    n = len(args) // 2
    return float_dot(args[:n], args[n:])


def _dot_partners(ws: Sequence, xs: Sequence) -> tuple[Sequence, Sequence]:
    """d(sum w_i x_i)/dw_i = x_i and d/dx_i = w_i: each weight's partner is its input."""
    return xs, ws


SUM = Rule("sum", 0, lambda xs: sum(xs, 0.0), _sum_vjp, law="sum distributes", finite=True)
DOT = Rule(
    "dot",
    0,
    _dot_forward,
    None,  # type: ignore[arg-type]  # made from the partners, by the Bilinear kind
    law="dot: each weight gets its input, and back",
    partners=_dot_partners,
    finite=True,
)


_RULES_PER_CONSTANT = 512  # as many as the lru_cache it replaced kept


def _per_constant(make: Callable[[float], Rule]) -> Callable[[float], Rule]:
    """Share one rule per constant, among constants that act the same.

    ``0.0 == -0.0`` and ``1 == 1.0 == True`` hash alike, so a plain cache hands
    ``0.0 ** x`` the rule made for ``-0.0 ** x`` (whose output is ``-0.0``), or
    ``x ** 1.0`` the one labelled ``**1``.  So there is one table per type, and a
    zero is keyed by its spelling (``"-0.0"``).  Two dict lookups per op: an
    ``lru_cache`` keyed by ``(type, c, sign)`` cost a tuple and a ``copysign`` each
    (``x ** 2`` 605 against 400 ns, pure Python).  A NaN is refused before it gets here.
    """
    tables: dict[type, dict] = {}

    def get(c: float) -> Rule:
        table = tables.get(c.__class__)
        if table is None:
            table = tables[c.__class__] = {}
        key = c if c else repr(c)
        rule = table.get(key)
        if rule is None:
            if len(table) >= _RULES_PER_CONSTANT:  # bounded: a loop over constants
                table.clear()
            rule = table[key] = make(c)
        return rule

    get.__name__, get.__doc__ = make.__name__, make.__doc__
    return get


@_per_constant
def power(c: float) -> Rule:
    """The rule for ``x ** c`` with a constant exponent (shared per exponent)."""
    return Rule(  # type: ignore[return-value]  # Rule(...) makes RuleKinds (kinds.Rule is a factory)
        f"**{c}",
        1,
        # A float to an int power is never complex: no need for _pow's check.
        (lambda x: x**c) if c.__class__ is int else (lambda x: _pow(x, c)),
        lambda g, out, x: (_power_grad(g, x, c),),
        domain=lambda x: _pow_domain(x, c),
        law="power rule",
    )


@_per_constant
def exponential(c: float) -> Rule:
    """The rule for ``c ** x`` with a constant base (shared per base)."""
    return Rule(  # type: ignore[return-value]  # Rule(...) makes RuleKinds (kinds.Rule is a factory)
        f"{c}**",
        1,
        lambda x: _pow(c, x),
        lambda g, out, x: (_exponent_grad(g, out, c),),
        domain=lambda x: _pow_domain(c, x),
        law="exponential: times out*log(base)",
    )
