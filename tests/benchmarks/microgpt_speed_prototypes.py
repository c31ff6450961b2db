"""Prototypes for the microgpt speed work: what would each engine change save on its step?

Run from the repository root::

    python -m tests.benchmarks.microgpt_speed_prototypes

Nothing here is the engine.  Each prototype patches ``autograd.Value`` for the length of
one measurement (and restores it), checks that microgpt's losses do not change, and
reports CPU time (``time.process_time``, steadier than wall time on a shared machine),
the median or the best of several runs.  The figures back the estimates in
``docs/benchmarks.md`` (section microgpt):

1. fusing ``sum()`` chains of products into one ``dot`` node as they are built, in place,
   when reference counts prove that the accumulator and the product are temporaries
   (CPython only: the counts differ between versions, so a real change must calibrate them);
2. finding backward's order by sorting the reachable nodes by creation number instead of a
   depth-first post-order (a dict stands in for the slot a real change would add);
3. a leaner path for ``+ - * /``: the float computed inline and the node filled in one
   function, without ``_binary``, ``_record`` or the ``ContextVar`` read.
"""

from __future__ import annotations

import gc
import math
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import autograd.value as V
from autograd import Value
from autograd import rules as R
from autograd.backward import _order, backward
from demos import microgpt_model as M
from tests.benchmarks.bench_microgpt import ENGINES, NAMES, SCHEDULE, SEED, Run

clk = time.process_time
getrc = sys.getrefcount
_new = V._new
ONE = V._lift(1.0, "+")
TEMP = 3  # refcount of a temporary inside a binary-op method on CPython 3.11 (see below)
PATCHED = ("__add__", "__radd__", "__mul__", "__rmul__", "__sub__", "__rsub__",
           "__truediv__", "__rtruediv__")


@contextmanager
def patched(methods: dict[str, Callable]) -> Iterator[None]:
    saved = {k: Value.__dict__[k] for k in PATCHED}
    for k, f in methods.items():
        setattr(Value, k, f)
    try:
        yield
    finally:
        for k, f in saved.items():
            setattr(Value, k, f)


def _node(rule: R.Rule, d: float, a: Any, b: Any) -> Value:
    out = _new(Value)
    out.data = d
    out.grad = 0.0
    out.label = ""
    out._rule = rule
    out._a = a
    out._b = b
    return out


# --- 1. sum() fusion ------------------------------------------------------------------------


def _as_pair(x: Value, rc: int) -> tuple[Value, Value]:
    """A product that only the expression holds gives its two operands; anything else is
    ``x * 1`` (as nn stores a bias), so a named product keeps its own node and gradient."""
    if x._rule is R.MUL and rc <= TEMP:
        return x._a, x._b
    return x, ONE


def fusion_methods() -> dict[str, Callable]:
    plain_add = Value.__dict__["__add__"]
    plain_radd = Value.__dict__["__radd__"]

    def add(self: Value, other: Any) -> Value:
        if other.__class__ is not Value:
            return plain_add(self, other)
        # In this frame a temporary is held by the caller's stack (or sum()'s accumulator),
        # by the parameter and by getrefcount's argument: 3.  A named variable adds one.
        if (self._rule is R.DOT and type(self._a) is list and not self.label
                and getrc(self) <= TEMP):
            rc = getrc(other)  # taken here: as a call argument it would count once more
            w, x = _as_pair(other, rc)
            d = self.data + other.data
            if d - d != 0.0:
                return plain_add(self, other)  # the plain path names the error
            self._a.append(w)
            self._b.append(x)
            self.data = d
            return self
        if other._rule is R.MUL and getrc(other) <= TEMP:
            rc = getrc(self)
            w0, x0 = _as_pair(self, rc)
            return _node(R.DOT, self.data + other.data, [w0, other._a], [x0, other._b])
        return plain_add(self, other)

    def radd(self: Value, other: Any) -> Value:
        if other.__class__ is int and other == 0 and self._rule is R.MUL and getrc(self) <= TEMP:
            return _node(R.DOT, 0 + self.data, [self._a], [self._b])
        return plain_radd(self, other)

    return {"__add__": add, "__radd__": radd}


# --- 3. lean binary ops -----------------------------------------------------------------------


def lean_methods() -> dict[str, Callable]:
    out: dict[str, Callable] = {}
    for fwd, rev, rule in (("__add__", "__radd__", R.ADD), ("__mul__", "__rmul__", R.MUL),
                           ("__sub__", "__rsub__", R.SUB),
                           ("__truediv__", "__rtruediv__", R.DIV)):
        out[fwd], out[rev] = _lean_pair(rule)
    return out


def _lean_pair(rule: R.Rule) -> tuple[Callable, Callable]:
    # The rule's own float forward (operator.add...): a method generated with the
    # arithmetic inline would save that call too, so the figure is a lower bound.
    op = rule.forward
    plain = V._operator_pair(rule)

    def forward(a: Value, b: Any) -> Value:
        if b.__class__ is not Value:
            b = V._lift(b, rule.symbol)
        try:
            d = op(a.data, b.data)
        except (ArithmeticError, TypeError):
            return plain[0](a, b)  # the plain path names the error
        if d - d != 0.0:
            return plain[0](a, b)
        return _node(rule, d, a, b)

    def reverse(b: Value, a: Any) -> Value:
        return forward(V._lift(a, rule.symbol), b)

    return forward, reverse


# --- measurements ---------------------------------------------------------------------------------


def losses(engine_index: int, steps: int, methods: dict[str, Callable] | None = None
           ) -> list[float]:
    with patched(methods or {}):
        run = Run(ENGINES[engine_index], M.load_names(NAMES), SEED, SCHEDULE)
        return [run.step(k)[0] for k in range(steps)]


def best(fn: Callable[[], Any], repeat: int = 10, gc_off: bool = False) -> float:
    t = math.inf
    for _ in range(repeat):
        gc.collect()
        if gc_off:
            gc.disable()
        t0 = clk()
        r = fn()
        t = min(t, clk() - t0)
        gc.enable()
        del r
    return t * 1e3


def alternating_steps(variants: dict[str, tuple[int, dict]], steps: int) -> dict[str, float]:
    names = M.load_names(NAMES)
    runs = {k: Run(ENGINES[e], names, SEED, SCHEDULE) for k, (e, _) in variants.items()}
    times: dict[str, list[float]] = {k: [] for k in variants}
    for k in range(steps):
        for name, run in runs.items():
            with patched(variants[name][1]):
                t0 = clk()
                run.step(k)
                times[name].append(clk() - t0)
    return {k: statistics.median(v) * 1e3 for k, v in times.items()}


def order_by_creation(root: Value, seq: dict) -> list[Value]:
    seen = {root}
    stack = [root]
    out = []
    while stack:
        v = stack.pop()
        r = v._rule
        if r is None:
            continue
        out.append(v)
        ps = (v._a, v._b) if r.arity == 2 else (v._a,) if r.arity == 1 else v._a
        for p in ps:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    out.sort(key=seq.__getitem__)
    return out


def main() -> int:
    if sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 11):
        print(f"note: the fusion prototype's reference counts are calibrated for CPython 3.11; "
              f"this is {sys.implementation.name} {sys.version.split()[0]}")
    print("CPU time; every prototype checks microgpt's losses first\n")
    ref = losses(0, 8)
    for label, methods in (("sum() fusion", fusion_methods()), ("lean + - * /", lean_methods())):
        got = losses(1, 8, methods)
        gap = max(abs(a - b) / abs(a) for a, b in zip(ref, got))
        if gap > 1e-9:
            sys.exit(f"{label}: losses differ from microgpt's engine (relative gap {gap:.1e})")
        print(f"{label}: 8 steps' losses equal microgpt's to {gap:.1e} relative")

    names = M.load_names(NAMES)
    run = Run(ENGINES[1], names, SEED, SCHEDULE)
    tokens = run.tokens(0)
    plain_nodes = len(_order(M.loss_of(run.state, tokens), leaves=False))
    with patched(fusion_methods()):
        fused_nodes = len(_order(M.loss_of(run.state, tokens), leaves=False))
    print(f"\n1. step 0's interior nodes: {plain_nodes:,} plain, {fused_nodes:,} with sum() fusion")
    med = alternating_steps({"microgpt": (0, {}), "valuegrad": (1, {}),
                             "valuegrad + sum() fusion": (1, fusion_methods())}, 30)
    for k, v in med.items():
        print(f"   {k:26s} median step {v:6.1f} ms; microgpt / this {med['microgpt'] / v:.2f}x")

    loss = M.loss_of(run.state, tokens)
    params = M.parameters(run.state)
    order = _order(loss, leaves=False)
    seq = {n: i for i, n in enumerate(order)}
    assert order_by_creation(loss, seq) == order

    def full_backward() -> None:
        backward(loss)
        for p in params:
            p.grad = 0.0

    print(f"\n2. backward {best(full_backward):.1f} ms, of which the depth-first order "
          f"{best(lambda: _order(loss, leaves=False, stash={}, found=[])):.1f} ms; "
          f"order by creation number {best(lambda: order_by_creation(loss, seq)):.1f} ms")

    def forward() -> Any:
        return M.loss_of(run.state, tokens)

    plain = (best(forward), best(forward, gc_off=True))
    with patched(lean_methods()):
        lean = (best(forward), best(forward, gc_off=True))
    print(f"\n3. forward {plain[0]:.1f} ms ({plain[1]:.1f} with the GC off); with lean + - * / "
          f"{lean[0]:.1f} ms ({lean[1]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
