"""Derivative rules as data: each op is declared once, here.

(tanh's derivative: search for ``TANH =``; ``*``'s: ``MUL =``.  How a rule's nodes hold their
parents and how backward runs a rule is :mod:`autograd.kinds`'.)

A :class:`Rule` pairs a float ``forward`` with a ``vjp`` (vector-Jacobian product)
written in plain arithmetic.  The engine calls ``vjp`` with floats for the fast
first-order backward, and with :class:`~autograd.value.Value` objects when it
builds a differentiable gradient graph (``grad(..., create_graph=True)``): one
rule serves both.

``vjp(g, out, *args)`` receives the upstream gradient ``g``, the op's output
``out`` and its inputs, and returns one gradient per input.  N-ary rules
(``arity == 0``) receive their inputs as a single sequence.

``+``, ``-`` and ``*`` state their local derivatives as ``d(a, b)``, returning
``(d out/da, d out/db)``: ``mul_d`` returns ``(b, a)``.  Backward's float step calls
it on floats and adds ``g * da`` and ``g * db``; their vjp calls it too.

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

# +, - and *: ``d(a, b)`` gives (d out/da, d out/db), their local derivatives; backward's
# float step and the vjp (create_graph, the trace, gradcheck) both call it.


def add_d(a: Any, b: Any) -> tuple[float, float]:
    """d(a + b)/da = 1, d(a + b)/db = 1."""
    return 1.0, 1.0


def sub_d(a: Any, b: Any) -> tuple[float, float]:
    """d(a - b)/da = 1, d(a - b)/db = -1."""
    return 1.0, -1.0


def mul_d(a: Any, b: Any) -> tuple[Any, Any]:
    """d(a * b)/da = b, d(a * b)/db = a."""
    return b, a


ADD = Linear("+", operator.add, d=add_d, law="add distributes")
SUB = Linear("-", operator.sub, d=sub_d, law="sub distributes, negated")
MUL = Product("*", operator.mul, d=mul_d, law="mul swaps")
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
    zero is keyed by its spelling (``"-0.0"``): two dict lookups per op, where an
    ``lru_cache`` keyed by ``(type, c, sign)`` built a tuple and called ``copysign``
    for each.  A NaN is refused before it gets here.
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


# === issue 22: more ops (sin ... erf, sign, activations, minimum/maximum/clamp, %) ====
# Each vjp is plain arithmetic on floats or Values (the helpers below pick math's function
# for a number and the Value method otherwise), so grad(create_graph=True), second
# derivatives and forward mode (autograd.forward) all run from these declarations.
#
# Kinks: where an op has no derivative, its vjp picks the one PyTorch picks, a one-sided
# derivative or a subgradient, and ``kink`` says where: leaky_relu and elu at 0 send the
# left slope (as relu sends 0 there); minimum/maximum on a tie send half the gradient to
# each input (the mean of the two one-sided derivatives, torch.maximum's rule); clamp at a
# bound passes the gradient (torch.clamp's); ``%`` jumps where a % b == 0 and sends the
# derivative both sides share (1 to ``a``, -(a // b) to ``b``), as ``sign`` sends 0 at 0.

_SQRT2 = math.sqrt(2.0)
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _elementwise(name: str, f: Callable[[float], float]) -> Callable[[Any], Any]:
    def apply(x: Any) -> Any:
        return f(x) if isinstance(x, (int, float)) else getattr(x, name)()

    apply.__name__ = name
    apply.__doc__ = f"``{name}`` for floats and Values alike, so rules can use it."
    return apply


exp = _elementwise("exp", math.exp)
sqrt = _elementwise("sqrt", math.sqrt)
sin = _elementwise("sin", math.sin)
cos = _elementwise("cos", math.cos)
sinh = _elementwise("sinh", math.sinh)
cosh = _elementwise("cosh", math.cosh)
erf = _elementwise("erf", math.erf)
sigmoid = _elementwise("sigmoid", _sigmoid)


def _normal_cdf(x: Any) -> Any:
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2; for a float through erfc, exact in the far left tail."""
    if isinstance(x, (int, float)):
        return 0.5 * math.erfc(-x / _SQRT2)
    return 0.5 * (1.0 + (x * (1.0 / _SQRT2)).erf())


def _gelu(x: float) -> float:
    return x * _normal_cdf(x)


def _softplus(x: float) -> float:
    # log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
    return (x if x > 0.0 else 0.0) + math.log1p(math.exp(-abs(x)))


def _silu(x: float) -> float:
    return x * _sigmoid(x)


def _silu_grad(g: Any, x: Any) -> Any:
    s = sigmoid(x)
    return g * (s * (1.0 + x * (1.0 - s)))


def _in_unit(x: float) -> str | None:
    return None if -1.0 <= x <= 1.0 else "argument must be in [-1, 1]"


def _positive(x: float) -> str | None:
    return "argument must be > 0" if x <= 0.0 else None


SIN = Rule("sin", 1, math.sin, lambda g, out, x: (g * cos(x),), law="sin: cos of its input",
           finite=True)
COS = Rule("cos", 1, math.cos, lambda g, out, x: (-g * sin(x),), law="cos: -sin of its input",
           finite=True)
TAN = Rule("tan", 1, math.tan, lambda g, out, x: (g * (1.0 + out * out),), law="tan: 1 + out^2",
           finite=True)
ASIN = Rule(
    "asin", 1, math.asin, lambda g, out, x: (g / sqrt(1.0 - x * x),),
    domain=_in_unit, law="asin: 1 / sqrt(1 - x^2)",  # infinite at ±1: no finite derivative
)
ACOS = Rule(
    "acos", 1, math.acos, lambda g, out, x: (-g / sqrt(1.0 - x * x),),
    domain=_in_unit, law="acos: -1 / sqrt(1 - x^2)",
)
ATAN = Rule("atan", 1, math.atan, lambda g, out, x: (g / (1.0 + x * x),),
            law="atan: 1 / (1 + x^2)", finite=True)
ASINH = Rule("asinh", 1, math.asinh, lambda g, out, x: (g / sqrt(x * x + 1.0),),
             law="asinh: 1 / sqrt(x^2 + 1)", finite=True)
ACOSH = Rule(
    "acosh", 1, math.acosh, lambda g, out, x: (g / sqrt(x * x - 1.0),),
    domain=lambda x: "argument must be >= 1" if x < 1.0 else None,
    law="acosh: 1 / sqrt(x^2 - 1)",  # infinite at 1: no finite derivative
)
ATANH = Rule(
    "atanh", 1, math.atanh, lambda g, out, x: (g / (1.0 - x * x),),
    domain=lambda x: None if -1.0 < x < 1.0 else "argument must be in (-1, 1)",
    law="atanh: 1 / (1 - x^2)", finite=True,
)
SINH = Rule("sinh", 1, math.sinh, lambda g, out, x: (g * cosh(x),), law="sinh: cosh of its input")
COSH = Rule("cosh", 1, math.cosh, lambda g, out, x: (g * sinh(x),), law="cosh: sinh of its input")
LOG1P = Rule(
    "log1p", 1, math.log1p, lambda g, out, x: (g / (1.0 + x),),
    domain=lambda x: "argument must be > -1" if x <= -1.0 else None,
    law="log1p: 1 / (1 + x)", finite=True,
)
EXPM1 = Rule("expm1", 1, math.expm1, lambda g, out, x: (g * (out + 1.0),),
             law="expm1: out + 1", finite=True)
EXP2 = Rule("exp2", 1, lambda x: 2.0**x, lambda g, out, x: (g * (out * _LN2),),
            law="exp2: out ln 2", finite=True)
# A step: its derivative is 0 on both sides of its jump at 0, and the rule sends 0 there.
SIGN = Rule("sign", 1, sign, lambda g, out, x: (g * 0.0,), law="sign: 0 (a step)",
            kink=_at_zero, finite=True)
LOG2 = Rule("log2", 1, math.log2, lambda g, out, x: (g / (x * _LN2),), domain=_positive,
            law="log2: 1 / (x ln 2)", finite=True)
LOG10 = Rule("log10", 1, math.log10, lambda g, out, x: (g / (x * _LN10),), domain=_positive,
             law="log10: 1 / (x ln 10)", finite=True)
ERF = Rule("erf", 1, math.erf, lambda g, out, x: (g * (_TWO_OVER_SQRT_PI * exp(-(x * x))),),
           law="erf: 2/sqrt(pi) exp(-x^2)", finite=True)
SOFTPLUS = Rule("softplus", 1, _softplus, lambda g, out, x: (g * sigmoid(x),),
                law="softplus: sigmoid of its input", finite=True)
GELU = Rule(
    "gelu", 1, _gelu,
    lambda g, out, x: (g * (_normal_cdf(x) + x * (_INV_SQRT_2PI * exp(-0.5 * (x * x)))),),
    law="gelu: Phi(x) + x phi(x)", finite=True,
)
SILU = Rule("silu", 1, _silu, lambda g, out, x: (_silu_grad(g, x),),
            law="silu: s(1 + x(1 - s)), s = sigmoid(x)", finite=True)


def _tie(a: Any, b: Any) -> bool:
    return _data(a) == _data(b)


def _maximum_vjp(g: Any, out: Any, a: Any, b: Any) -> tuple:
    da, db = _data(a), _data(b)
    if da == db:  # the kink: half to each, torch.maximum's choice
        half = g * 0.5
        return half, half
    return (g, g * 0.0) if da > db else (g * 0.0, g)


def _minimum_vjp(g: Any, out: Any, a: Any, b: Any) -> tuple:
    da, db = _data(a), _data(b)
    if da == db:
        half = g * 0.5
        return half, half
    return (g, g * 0.0) if da < db else (g * 0.0, g)


MAXIMUM = Rule("maximum", 2, max, _maximum_vjp,
               law="maximum routes to the larger (a tie: half each)", kink=_tie, finite=True)
MINIMUM = Rule("minimum", 2, min, _minimum_vjp,
               law="minimum routes to the smaller (a tie: half each)", kink=_tie, finite=True)


def _mod_domain(a: float, b: float) -> str | None:
    return "modulo by zero" if b == 0.0 else None


def _mod_vjp(g: Any, out: Any, a: Any, b: Any) -> tuple:
    # a % b = a - b * floor(a / b), floor's derivative being 0 between its jumps.
    return g, -g * (_data(a) // _data(b))


MOD = Rule(
    "%", 2, operator.mod, _mod_vjp, domain=_mod_domain,
    law="mod: 1 to a, -(a // b) to b (jumps where a % b == 0)",
    kink=lambda a, b: b != 0.0 and a % b == 0.0,
)


def _leaky_relu_rule(slope: float) -> Rule:
    return Rule(  # type: ignore[return-value]  # Rule(...) makes RuleKinds (kinds.Rule is a factory)
        f"leaky_relu[{slope:g}]",
        1,
        lambda x: x if x > 0.0 else slope * x,
        lambda g, out, x: (g if _data(x) > 0.0 else g * slope,),
        law=f"leaky_relu routes (if > 0, else times {slope:g})",
        kink=_at_zero,
        finite=True,
    )


def _elu_rule(alpha: float) -> Rule:
    return Rule(  # type: ignore[return-value]  # Rule(...) makes RuleKinds (kinds.Rule is a factory)
        f"elu[{alpha:g}]",
        1,
        lambda x: x if x > 0.0 else alpha * math.expm1(x),
        # x <= 0: alpha e^x = out + alpha, which stays differentiable in a gradient graph.
        lambda g, out, x: (g if _data(x) > 0.0 else g * (out + alpha),),
        law=f"elu: 1 if > 0, else out + {alpha:g}",
        kink=_at_zero,  # alpha != 1: the slope jumps; alpha = 1: the curvature does
        finite=True,
    )


leaky_relu = _per_constant(_leaky_relu_rule)
leaky_relu.__doc__ = "The rule for ``leaky_relu(x, slope)`` (shared per slope)."
elu = _per_constant(_elu_rule)
elu.__doc__ = "The rule for ``elu(x, alpha)`` (shared per alpha)."

_CLAMPS: dict[tuple[str, str], Rule] = {}


def clamp(lo: float | None, hi: float | None) -> Rule:
    """The rule for ``clamp(x, lo, hi)`` (either bound may be None; shared per pair)."""
    key = (repr(lo), repr(hi))
    rule = _CLAMPS.get(key)
    if rule is None:
        if len(_CLAMPS) >= _RULES_PER_CONSTANT:
            _CLAMPS.clear()
        rule = _CLAMPS[key] = _clamp_rule(lo, hi)
    return rule


def _clamp_rule(lo: float | None, hi: float | None) -> Rule:
    low = -math.inf if lo is None else lo
    high = math.inf if hi is None else hi

    def forward(x: float) -> float:
        return low if x < low else (high if x > high else x)

    def vjp(g: Any, out: Any, x: Any) -> tuple:
        return (g if low <= _data(x) <= high else g * 0.0,)

    shown = ", ".join("" if c is None else f"{c:g}" for c in (lo, hi))
    return Rule(  # type: ignore[return-value]  # Rule(...) makes RuleKinds (kinds.Rule is a factory)
        f"clamp[{shown}]", 1, forward, vjp,
        law="clamp passes inside [lo, hi] (bounds included), else 0",
        kink=lambda x: x == low or x == high,
        finite=True,
    )
