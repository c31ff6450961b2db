"""Hypothesis strategies for random expression DAGs over every engine op.

A :class:`Program` is ``k`` leaf values and a list of instructions; each
instruction applies one op to earlier nodes chosen by index, so nodes get
reused -- fan-out, where gradient accumulation bugs live.  The output is the
sum of every node nothing else consumed, so every instruction matters.

Values stay domain-safe and bounded by construction: if every operand lies in
``[-4, 4]`` so does every result (log/sqrt/pow bases go through positive
guards such as ``x*x + 0.5``, division is by ``y*y + 1``, exp's argument is
scaled...), and relu/abs only ever get operands at least ``KINK_MARGIN`` away
from 0.  The same instruction table runs on Values and on plain floats, so
finite differences see exactly the function the engine differentiates.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from hypothesis import strategies as st

import autograd
from autograd import Value

BOUND = 4.0  # every node's value lies in [-BOUND, BOUND]
KINK_MARGIN = 0.05  # relu/abs operands are at least this far from their kink at 0


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class _Floats:
    """Plain-float versions of the named functions the instructions use (written from each
    function's definition, not taken from the engine's rules)."""

    exp, log, sqrt, tanh = math.exp, math.log, math.sqrt, math.tanh
    sigmoid = staticmethod(_sigmoid)
    sin, cos, tan, asin, acos, atan = math.sin, math.cos, math.tan, math.asin, math.acos, math.atan
    sinh, cosh, log1p, expm1, erf = math.sinh, math.cosh, math.log1p, math.expm1, math.erf
    log2, log10 = math.log2, math.log10
    maximum, minimum = max, min
    asinh, acosh, atanh = math.asinh, math.acosh, math.atanh

    @staticmethod
    def exp2(x: float) -> float:
        return 2.0**x

    @staticmethod
    def sign(x: float) -> float:
        return float((x > 0.0) - (x < 0.0))

    @staticmethod
    def softplus(x: float) -> float:
        return math.log(1.0 + math.exp(x))

    @staticmethod
    def gelu(x: float) -> float:
        return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))

    @staticmethod
    def silu(x: float) -> float:
        return x / (1.0 + math.exp(-x))

    @staticmethod
    def leaky_relu(x: float, slope: float) -> float:
        return x if x > 0.0 else slope * x

    @staticmethod
    def elu(x: float, alpha: float) -> float:
        return x if x > 0.0 else alpha * (math.exp(x) - 1.0)

    @staticmethod
    def clamp(x: float, lo: float, hi: float) -> float:
        return min(max(x, lo), hi)

    @staticmethod
    def relu(x: float) -> float:
        return x if x > 0.0 else 0.0

    @staticmethod
    def vsum(xs: Sequence[float]) -> float:
        return sum(xs, 0.0)

    @staticmethod
    def dot(ws: Sequence[float], xs: Sequence[float]) -> float:
        return sum((w * x for w, x in zip(ws, xs)), 0.0)


class _Values:
    exp, log, sqrt = Value.exp, Value.log, Value.sqrt
    tanh, sigmoid, relu = Value.tanh, Value.sigmoid, Value.relu
    sin, cos, tan, asin, acos, atan = Value.sin, Value.cos, Value.tan, Value.asin, Value.acos, \
        Value.atan
    sinh, cosh, log1p, expm1, erf = Value.sinh, Value.cosh, Value.log1p, Value.expm1, Value.erf
    log2, log10 = Value.log2, Value.log10
    softplus, gelu, silu, leaky_relu, elu = Value.softplus, Value.gelu, Value.silu, \
        Value.leaky_relu, Value.elu
    clamp = Value.clamp
    asinh, acosh, atanh, exp2, sign = Value.asinh, Value.acosh, Value.atanh, Value.exp2, \
        Value.sign
    maximum, minimum = staticmethod(autograd.maximum), staticmethod(autograd.minimum)
    vsum = staticmethod(autograd.vsum)
    dot = staticmethod(autograd.dot)


class Op(NamedTuple):
    """One instruction kind: how many operands, which constant, and the formula."""

    arity: Callable[[st.DrawFn], int]  # draws the operand count
    const: st.SearchStrategy
    apply: Callable[[Any, list, float], Any]  # (backend, operands, const) -> result
    engine_ops: frozenset  # engine op symbols (Value.op) it records, guards included
    # How far the operands are from the op's kink (None: the op has none); programs()
    # keeps every kinked op at least KINK_MARGIN away.
    kink_distance: Callable[[list, float], float] | None = None


def _one(draw: st.DrawFn) -> int:
    return 1


def _two(draw: st.DrawFn) -> int:
    return 2


def _some(draw: st.DrawFn) -> int:
    return draw(st.integers(1, 4))


def _pairs(draw: st.DrawFn) -> int:
    return 2 * draw(st.integers(1, 3))


_NONE = st.just(0.0)
_B = BOUND


def _fs(*ops: str) -> frozenset:
    return frozenset(ops)


OPS: dict[str, Op] = {
    "add": Op(_two, _NONE, lambda L, a, c: (a[0] + a[1]) * 0.5, _fs("+", "*")),
    "sub": Op(_two, _NONE, lambda L, a, c: (a[0] - a[1]) * 0.5, _fs("-", "*")),
    "mul": Op(_two, _NONE, lambda L, a, c: a[0] * a[1] * (1.0 / _B), _fs("*")),
    "div": Op(_two, _NONE, lambda L, a, c: a[0] / (a[1] * a[1] + 1.0), _fs("/", "*", "+")),
    "radd": Op(_one, st.floats(-_B, _B), lambda L, a, c: (c + a[0]) * 0.5, _fs("+", "*")),
    "rsub": Op(_one, st.floats(-_B, _B), lambda L, a, c: (c - a[0]) * 0.5, _fs("-", "*")),
    "rmul": Op(_one, st.floats(-1.0, 1.0), lambda L, a, c: c * a[0], _fs("*")),
    "rdiv": Op(_one, st.floats(-_B, _B), lambda L, a, c: c / (a[0] * a[0] + 1.0), _fs("/")),
    "neg": Op(_one, _NONE, lambda L, a, c: -a[0], _fs("neg")),
    "abs": Op(_one, _NONE, lambda L, a, c: abs(a[0]), _fs("abs")),
    "relu": Op(_one, _NONE, lambda L, a, c: L.relu(a[0]), _fs("relu")),
    "exp": Op(_one, _NONE, lambda L, a, c: L.exp(a[0] * 0.25), _fs("exp")),
    "log": Op(_one, _NONE, lambda L, a, c: L.log(a[0] * a[0] + 0.5), _fs("log")),
    "sqrt": Op(_one, _NONE, lambda L, a, c: L.sqrt(a[0] * a[0] * 0.5 + 0.5), _fs("sqrt")),
    "tanh": Op(_one, _NONE, lambda L, a, c: L.tanh(a[0]), _fs("tanh")),
    "sigmoid": Op(_one, _NONE, lambda L, a, c: L.sigmoid(a[0]), _fs("sigmoid")),
    # constant real exponent on a base in (0.5, 1.5): result in (0.25, 4)
    "powc": Op(
        _one, st.floats(-2.0, 2.0), lambda L, a, c: (L.sigmoid(a[0]) + 0.5) ** c, _fs("**c")
    ),
    # constant integer exponent on a base of either sign, scaled back into range
    "powi": Op(
        _one,
        st.sampled_from([2.0, 3.0]),
        lambda L, a, c: a[0] ** int(c) * (1.0 / _B) ** (c - 1.0),
        _fs("**c"),
    ),
    "powv": Op(
        _two,
        _NONE,
        lambda L, a, c: (L.sigmoid(a[0]) + 0.5) ** (L.tanh(a[1]) * 2.0),
        _fs("**"),
    ),
    "rpow": Op(_one, st.floats(0.5, _B), lambda L, a, c: c ** L.tanh(a[0]), _fs("c**")),
    "vsum": Op(_some, _NONE, lambda L, a, c: L.vsum(a) * (1.0 / len(a)), _fs("sum", "*")),
    "dot": Op(
        _pairs,
        _NONE,
        lambda L, a, c: L.dot(a[: len(a) // 2], a[len(a) // 2 :]) * (1.0 / (2.0 * _B * len(a))),
        _fs("dot", "*"),
    ),
}


def _mod_distance(a: float, b: float) -> float:
    """How far ``a`` is from a jump of ``a % b`` (a multiple of ``b``)."""
    r = abs(a % b)
    return min(r, abs(b) - r)


# Issue 22's ops: each keeps [-BOUND, BOUND] and its domain by construction.
OPS.update({
    "sin": Op(_one, _NONE, lambda L, a, c: L.sin(a[0]), _fs("sin")),
    "cos": Op(_one, _NONE, lambda L, a, c: L.cos(a[0]), _fs("cos")),
    "tan": Op(_one, _NONE, lambda L, a, c: L.tan(a[0] * 0.3), _fs("tan", "*")),
    "asin": Op(_one, _NONE, lambda L, a, c: L.asin(a[0] * 0.2), _fs("asin", "*")),
    "acos": Op(_one, _NONE, lambda L, a, c: L.acos(a[0] * 0.2), _fs("acos", "*")),
    "atan": Op(_one, _NONE, lambda L, a, c: L.atan(a[0]), _fs("atan")),
    "asinh": Op(_one, _NONE, lambda L, a, c: L.asinh(a[0]), _fs("asinh")),
    "acosh": Op(_one, _NONE, lambda L, a, c: L.acosh(a[0] * a[0] * 0.25 + 1.05),
                _fs("acosh", "*", "+")),
    "atanh": Op(_one, _NONE, lambda L, a, c: L.atanh(a[0] * 0.2), _fs("atanh", "*")),
    "exp2": Op(_one, _NONE, lambda L, a, c: L.exp2(a[0] * 0.5), _fs("exp2", "*")),
    "sign": Op(_one, _NONE, lambda L, a, c: L.sign(a[0]), _fs("sign"), lambda a, c: abs(a[0])),
    "sinh": Op(_one, _NONE, lambda L, a, c: L.sinh(a[0] * 0.5), _fs("sinh", "*")),
    "cosh": Op(_one, _NONE, lambda L, a, c: L.cosh(a[0] * 0.5), _fs("cosh", "*")),
    "log1p": Op(_one, _NONE, lambda L, a, c: L.log1p(a[0] * 0.2), _fs("log1p", "*")),
    "expm1": Op(_one, _NONE, lambda L, a, c: L.expm1(a[0] * 0.25), _fs("expm1", "*")),
    "log2": Op(_one, _NONE, lambda L, a, c: L.log2(a[0] * a[0] * 0.5 + 0.5),
               _fs("log2", "*", "+")),
    "log10": Op(_one, _NONE, lambda L, a, c: L.log10(a[0] * a[0] + 0.5), _fs("log10", "*", "+")),
    "erf": Op(_one, _NONE, lambda L, a, c: L.erf(a[0]), _fs("erf")),
    "softplus": Op(_one, _NONE, lambda L, a, c: L.softplus(a[0] * 0.9), _fs("softplus", "*")),
    "gelu": Op(_one, _NONE, lambda L, a, c: L.gelu(a[0]), _fs("gelu")),
    "silu": Op(_one, _NONE, lambda L, a, c: L.silu(a[0]), _fs("silu")),
    "leaky_relu": Op(_one, st.floats(0.0, 0.9), lambda L, a, c: L.leaky_relu(a[0], c),
                     _fs("leaky_relu[c]"), lambda a, c: abs(a[0])),
    "elu": Op(_one, st.floats(0.1, 2.0), lambda L, a, c: L.elu(a[0], c), _fs("elu[c]"),
              lambda a, c: abs(a[0])),
    "maximum": Op(_two, _NONE, lambda L, a, c: L.maximum(a[0], a[1]), _fs("maximum"),
                  lambda a, c: abs(a[0] - a[1])),
    "minimum": Op(_two, _NONE, lambda L, a, c: L.minimum(a[0], a[1]), _fs("minimum"),
                  lambda a, c: abs(a[0] - a[1])),
    # clamp to [c - 1, c + 1]
    "clamp": Op(_one, st.floats(-3.0, 3.0), lambda L, a, c: L.clamp(a[0], c - 1.0, c + 1.0),
                _fs("clamp[c]"), lambda a, c: min(abs(a[0] - c + 1.0), abs(a[0] - c - 1.0))),
    # % by a constant of either sign, and by a Value in [0.5, 2.5]
    "modc": Op(_one, st.one_of(st.floats(-2.5, -0.5), st.floats(0.5, 2.5)),
               lambda L, a, c: a[0] % c, _fs("%"), lambda a, c: _mod_distance(a[0], c)),
    "mod": Op(_two, _NONE, lambda L, a, c: a[0] % (a[1] * a[1] * 0.125 + 0.5), _fs("%", "*", "+"),
              lambda a, c: _mod_distance(a[0], a[1] * a[1] * 0.125 + 0.5)),
})
for _name in ("abs", "relu"):
    OPS[_name] = OPS[_name]._replace(kink_distance=lambda a, c: abs(a[0]))
KINKED = tuple(name for name, op in OPS.items() if op.kink_distance is not None)


def engine_op_kind(symbol: str) -> str:
    """Group ``Value.op`` symbols: constant exponents as ``'**c'``, constant bases as ``'c**'``."""
    if symbol.startswith("**") and symbol != "**":
        return "**c"
    if symbol.endswith("**") and symbol != "**":
        return "c**"
    if symbol.endswith("]"):  # leaky_relu[0.1], elu[1], clamp[0, 1]: per constant
        return symbol.split("[")[0] + "[c]"
    return symbol


@dataclass(frozen=True)
class Instr:
    op: str
    args: tuple[int, ...]
    const: float = 0.0


@dataclass(frozen=True)
class Program:
    """``leaves`` then ``instrs``; node ``i`` is a leaf for ``i < len(leaves)``."""

    leaves: tuple[float, ...]
    instrs: tuple[Instr, ...]

    def run(self, inputs: Sequence[Any], backend: Any = _Floats) -> Any:
        nodes = list(inputs)
        for ins in self.instrs:
            nodes.append(OPS[ins.op].apply(backend, [nodes[i] for i in ins.args], ins.const))
        used = {i for ins in self.instrs for i in ins.args}
        sinks = [n for i, n in enumerate(nodes) if i not in used]
        return backend.vsum(sinks)

    def on_values(self, leaves: Sequence[Value]) -> Value:
        """The program's output built from ``leaves`` (a graph the engine can differentiate)."""
        return self.run(leaves, _Values)

    def on_floats(self, xs: Sequence[float]) -> float:
        """The same function on plain floats, for finite differences."""
        return self.run(xs, _Floats)

    def f(self, *leaves: Value) -> Value:
        """``on_values`` with one argument per leaf, the form ``gradcheck`` calls."""
        return self.on_values(leaves)

    @property
    def ops(self) -> set[str]:
        return {ins.op for ins in self.instrs}

    def to_json(self) -> str:
        instrs = [[i.op, list(i.args), i.const] for i in self.instrs]
        return json.dumps({"leaves": list(self.leaves), "instrs": instrs})

    @classmethod
    def from_json(cls, text: str) -> Program:
        d = json.loads(text)
        return cls(tuple(d["leaves"]), tuple(Instr(o, tuple(a), c) for o, a, c in d["instrs"]))


@st.composite
def programs(
    draw: st.DrawFn,
    max_leaves: int = 5,
    max_instrs: int = 16,
    ops: Sequence[str] = tuple(OPS),
) -> Program:
    """A random :class:`Program` using ``ops``."""
    leaves = tuple(draw(st.lists(st.floats(-3.0, 3.0), min_size=1, max_size=max_leaves)))
    values = list(leaves)
    instrs = []
    for _ in range(draw(st.integers(1, max_instrs))):
        name = draw(st.sampled_from(ops))
        op = OPS[name]
        last = len(values) - 1
        # Favouring the newest node makes deep chains; any index makes fan-out.
        index = st.one_of(st.just(last), st.integers(0, last))
        if name in ("abs", "relu", "leaky_relu", "elu", "sign"):  # kinked at 0: safe operands
            safe = [i for i, v in enumerate(values) if abs(v) >= KINK_MARGIN]
            if not safe:
                name, op = "neg", OPS["neg"]
            else:
                index = st.one_of(st.just(safe[-1]), st.sampled_from(safe))
        args = tuple(draw(index) for _ in range(op.arity(draw)))
        ins = Instr(name, args, draw(op.const))
        near = op.kink_distance
        if near is not None and near([values[i] for i in args], ins.const) < KINK_MARGIN:
            ins = Instr("neg", args[:1])  # too close to a kink for finite differences
            op = OPS["neg"]
        values.append(op.apply(_Floats, [values[i] for i in args], ins.const))
        instrs.append(ins)
    return Program(leaves, tuple(instrs))


def fingerprint(p: Program) -> list[str]:
    """Every gradient the engine gives for ``p``, as exact hex strings."""
    leaves = [Value(x) for x in p.leaves]
    out = p.on_values(leaves)
    out.backward()
    first = autograd.grad(out, leaves, create_graph=True)
    second = [autograd.grad(g, leaves) for g in first]
    floats = [out.data] + [v.grad for v in leaves] + autograd.grad(out, leaves)
    floats += [g.data for g in first] + [h for row in second for h in row]
    return [x.hex() for x in floats]
