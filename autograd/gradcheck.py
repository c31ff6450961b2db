"""Check analytic gradients against central differences.

``gradcheck(f, inputs)`` differentiates ``f`` with the engine and compares every
partial derivative with a central difference, input by input.  It knows the two
places where finite differences lie -- a kink (relu, abs at 0) and the edge of a
function's domain -- and reports them as such instead of failing blindly.

Step: input ``x`` is moved by ``h = eps * max(1, |x|)`` (relative to its scale).
Tolerance: an entry passes when ::

    |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|) + noise

where ``noise = 64 * machine_eps * max|f(x +- h)| / h`` is the rounding error a
difference quotient of values that large can carry.  With the defaults
(``eps=1e-6, atol=1e-5, rtol=1e-3``) the truncation error of the central
difference (``~h^2 f'''``) is far below the tolerance for any function with
moderate higher derivatives, while a wrong derivative rule is off by O(1).
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Union

from . import checks
from .backward import grad, topological_order
from .checks import real
from .forward import jvp
from .table import format_table
from .value import Value, enable_grad, no_grad

__all__ = ["GradcheckError", "GradcheckReport", "GradcheckRow", "gradcheck"]

Operand = Union[Value, int, float]

# Errors that mean "f is not defined here" rather than "f is broken"
# (FloatingPointError, OverflowError and ZeroDivisionError are ArithmeticErrors).
_OUTSIDE = (ArithmeticError, ValueError)
_NOISE = 64 * sys.float_info.epsilon

OK, FAIL, KINK, DOMAIN = "ok", "FAIL", "kink", "domain"


@dataclass(frozen=True)
class GradcheckRow:
    """One checked derivative: ``d f / d x_i`` (order 1) or ``d2 f / dx_i dx_j`` (order 2)."""

    name: str
    index: tuple[int, ...]
    x: float  # value of the input that was perturbed
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    status: str  # 'ok', 'FAIL', 'kink' or 'domain'
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.status != FAIL


@dataclass
class GradcheckReport:
    """The rows of one :func:`gradcheck` run; ``passed`` when no row is a FAIL."""

    rows: list[GradcheckRow]
    order: int
    eps: float
    atol: float
    rtol: float

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    @property
    def all_ok(self) -> bool:
        """Stricter than ``passed``: no row was a kink or at a domain edge either."""
        return all(r.status == OK for r in self.rows)

    @property
    def failures(self) -> list[GradcheckRow]:
        return [r for r in self.rows if not r.passed]

    def __bool__(self) -> bool:
        return self.passed

    def __iter__(self) -> Iterator[GradcheckRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> GradcheckRow:
        return self.rows[i]

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))  # IPython/Jupyter show the table, not the dataclass's fields

    def __str__(self) -> str:
        verdict = "passed" if self.passed else f"FAILED ({len(self.failures)} of {len(self.rows)})"
        verdict_line = (
            f"gradcheck order {self.order}: {verdict} "
            f"(eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g})"
        )
        head = ("input", "x", "analytic", "numeric", "rel err", "status", "note")
        rows = [
            (
                r.name,
                f"{r.x:.6g}",
                # 9 digits, not style.fmt's 4: the point is to compare them
                f"{r.analytic:.9g}",
                f"{r.numeric:.9g}",
                f"{r.rel_error:.1e}",
                r.status,
                r.note,
            )
            for r in self.rows
        ]
        return format_table(head, rows, align="lrrrrll", rule=False, title=verdict_line)


class GradcheckError(AssertionError):
    """Raised by ``gradcheck(..., raise_on_failure=True)``; ``.report`` has the details."""

    def __init__(self, report: GradcheckReport) -> None:
        super().__init__(str(report))
        self.report = report


def gradcheck(
    f: Callable[..., Value],
    inputs: Operand | Sequence[Operand],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    order: int = 1,
    raise_on_failure: bool = False,
    forward: bool = False,
) -> GradcheckReport:
    """Compare the engine's derivatives of ``f`` with central differences.

    ``f(*values)`` gets one fresh leaf Value per input (numbers, or Values whose
    ``.data`` and ``.label`` are used; the originals are never touched) and must
    return a Value.  ``order=1`` checks the gradient, ``order=2`` the Hessian
    built with ``grad(..., create_graph=True)`` against central differences of
    the gradient.  Each row's status is ``'ok'``, ``'FAIL'``, ``'kink'`` (an
    input sits on or within a step of a non-differentiable point; it passes if
    the analytic value lies between the one-sided differences, i.e. is a valid
    one-sided/sub-gradient) or ``'domain'`` (``f`` fails at ``x + h`` or
    ``x - h``; a one-sided difference is reported instead).  See the module
    docstring for the step and tolerance.  ``forward=True`` asks forward mode
    (:func:`autograd.jvp`, one sweep per input) for a second opinion: a row where it
    disagrees with reverse mode beyond the tolerance is a FAIL, whatever the differences say.
    """
    f, items, eps, atol, rtol = _checked_settings(f, inputs, eps, atol, rtol, order)
    checks.flag(raise_on_failure, "gradcheck", "raise_on_failure")
    checks.flag(forward, "gradcheck", "forward")
    xs, names = _inputs(items)
    probe = _Probe(f, names, order)
    hs = [eps * max(1.0, abs(x)) for x in xs]
    with enable_grad():
        base = probe.leaves(xs)
        out = probe.call(base)
        kinks = _kink_notes(out, base, hs)
        analytic, a_err = _analytic(out, base, order)
    tol = _Tolerance(atol, rtol)
    second = _forward_opinion(probe, xs, order) if forward and not a_err else None
    centre = probe.evaluate(xs)
    rows = []
    for j in range(len(xs)):
        shifted = _Shifted(probe, xs, j, hs[j])
        for i in range(len(centre)):
            a = analytic[j] if order == 1 else analytic[i][j]
            judged = _judge(a, a_err, centre[i], shifted.entry(i), hs[j], kinks[j], tol)
            if second is not None:
                judged = _with_forward(judged, a, second[j][i], tol)
            rows.append(_row(names, order, (i, j), xs[j], a, judged))
    rows.sort(key=lambda r: r.index)
    report = GradcheckReport(rows, order, eps, atol, rtol)
    if raise_on_failure and not report.passed:
        raise GradcheckError(report)
    return report


def _forward_opinion(probe: _Probe, xs: list[float], order: int) -> list[list[float]]:
    """Column ``j``, from forward mode: d f / d x_j (order 1, one entry) or the Hessian's
    column ``j`` (order 2: a forward sweep through the recorded gradient)."""
    n = len(xs)
    columns = []
    for j in range(n):
        unit = [1.0 if k == j else 0.0 for k in range(n)]
        if order == 1:
            columns.append([jvp(lambda *v: probe.call(list(v)), list(xs), unit)[1]])
        else:
            with enable_grad():
                leaves = probe.leaves(xs)
                _, col = jvp(lambda *v: grad(probe.call(list(v)), list(v), create_graph=True),
                             leaves, unit)
            columns.append([c.data for c in col])
    return columns


def _with_forward(judged: tuple, a: float, fwd: float, tol: _Tolerance) -> tuple:
    """``judged`` made a FAIL where forward mode disagrees with the analytic entry."""
    if abs(a - fwd) <= tol(a, fwd):
        return judged
    numeric, _, note = judged
    return numeric, FAIL, f"forward mode gives {fwd:.9g}" + (f"; {note}" if note else "")


def _inputs(items: list) -> tuple[list[float], list[str]]:
    """Each input's value as a float, and its name (its label, else ``x0``, ``x1``...)."""
    xs, names = [], []
    for i, v in enumerate(items):
        data = v.data if isinstance(v, Value) else v
        xs.append(real(data, "gradcheck", f"inputs[{i}]"))
        names.append(v.label if isinstance(v, Value) and v.label else f"x{i}")
    return xs, names


class _Probe:
    """``f`` evaluated at a point: its value (order 1) or its gradient (order 2), as floats."""

    def __init__(self, f: Callable[..., Value], names: list[str], order: int) -> None:
        self.f, self.names, self.order = f, names, order

    def leaves(self, at: Sequence[float]) -> list[Value]:
        return [Value(v, label=name) for v, name in zip(at, self.names)]

    def call(self, vals: list[Value]) -> Value:
        out = self.f(*vals)
        if not isinstance(out, Value):
            raise TypeError(
                f"gradcheck: f must return a Value, got {out!r} ({type(out).__name__})"
            )
        return out

    def evaluate(self, at: Sequence[float]) -> list[float]:
        if self.order == 1:
            with no_grad():
                return [self.call(self.leaves(at)).data]
        with enable_grad():
            vals = self.leaves(at)
            return grad(self.call(vals), vals)


class _Shifted:
    """``probe`` at input ``j`` moved by ``k`` steps ``h``, each ``k`` evaluated once;
    a point where ``f`` is not defined raises its error again on every ask."""

    def __init__(self, probe: _Probe, xs: list[float], j: int, h: float) -> None:
        self.probe, self.xs, self.j, self.h = probe, xs, j, h
        self.cache: dict[int, Any] = {}

    def at(self, k: int) -> list[float]:
        if k not in self.cache:
            point = list(self.xs)
            point[self.j] += k * self.h
            try:
                self.cache[k] = self.probe.evaluate(point)
            except _OUTSIDE as e:
                self.cache[k] = e
        got = self.cache[k]
        if isinstance(got, Exception):
            raise got
        return got

    def entry(self, i: int) -> Callable[[int], float]:
        """Entry ``i`` of the evaluation, as a function of the shift ``k``."""
        return lambda k: self.at(k)[i]


def _row(
    names: list[str], order: int, ij: tuple[int, int], x: float, a: float, judged: tuple
) -> GradcheckRow:
    """The row of entry ``ij`` (output ``i``, input ``j``): ``judged`` is ``_judge``'s verdict."""
    (i, j), (numeric, status, note) = ij, judged
    name = names[j] if order == 1 else f"{names[i]},{names[j]}"
    index = (j,) if order == 1 else (i, j)
    err = abs(a - numeric)
    rel = err / max(abs(a), abs(numeric)) if err else 0.0
    return GradcheckRow(name, index, x, a, numeric, err, rel, status, note)


def _checked_settings(
    f: Any, inputs: Any, eps: Any, atol: Any, rtol: Any, order: Any
) -> tuple[Callable[..., Value], list, float, float, float]:
    """Refuse settings under which the comparison means nothing.

    An infinite or NaN tolerance passes any derivative, and so does ``rtol >= 1``
    (``|a - n| <= max(|a|, |n|)`` holds for any two numbers of the same sign); an
    infinite, NaN or zero step gives no difference quotient, and a step of 1 or
    more (relative to the input) measures a secant, not a derivative.  A zero
    tolerance is strict, not meaningless, and is allowed.
    """
    checks.function(f, "gradcheck", "f")
    if order.__class__ is not int or order not in (1, 2):
        raise ValueError(f"gradcheck: order must be 1 or 2, got {checks.describe(order)}")
    eps = checks.number(eps, "gradcheck", "eps", low=0.0, high=1.0, low_open=True, high_open=True)
    atol = checks.number(atol, "gradcheck", "atol", low=0.0)
    rtol = checks.number(rtol, "gradcheck", "rtol", low=0.0, high=1.0, high_open=True)
    if isinstance(inputs, (Value, numbers.Real)):
        items = [inputs]
    else:
        items = checks.sequence(inputs, "gradcheck", "inputs", "numbers or Values")
    if not items:
        raise ValueError("gradcheck: needs at least one input")
    return f, items, eps, atol, rtol


class _Tolerance:
    def __init__(self, atol: float, rtol: float) -> None:
        self.atol, self.rtol = atol, rtol

    def __call__(self, a: float, b: float, noise: float = 0.0) -> float:
        return self.atol + self.rtol * max(abs(a), abs(b)) + noise


def _analytic(out: Value, leaves: list[Value], order: int) -> tuple[Any, str]:
    """The gradient (order 1) or Hessian rows (order 2), or NaNs and the error."""
    n = len(leaves)
    try:
        if order == 1:
            return grad(out, leaves), ""
        first = grad(out, leaves, create_graph=True)
        return [grad(g, leaves) for g in first], ""
    except _OUTSIDE as e:
        nan = math.nan
        return ([nan] * n if order == 1 else [[nan] * n for _ in range(n)]), str(e)


def _judge(
    a: float,
    a_err: str,
    c0: float,
    probe: Callable[[int], float],
    h: float,
    kink: str,
    tol: _Tolerance,
) -> tuple[float, str, str]:
    """Numeric estimate, status and note for one analytic entry ``a``."""
    side_errors = {}
    values = {}
    for k in (1, -1):
        try:
            values[k] = probe(k)
        except _OUTSIDE as e:
            side_errors[k] = e
    if not side_errors:
        cp, cm = values[1], values[-1]
        noise = _NOISE * max(abs(cp), abs(cm), abs(c0)) / h
        central = (cp - cm) / (2.0 * h)
        fwd, bwd = (cp - c0) / h, (c0 - cm) / h
        sides = f"one-sided {bwd:.6g} | {fwd:.6g}"
        split = abs(fwd - bwd) > tol(fwd, bwd, 2.0 * noise)
        reason = kink or "one-sided differences disagree"
        if a != a:  # the engine's own derivative failed at x
            if kink or split:
                return central, KINK, f"{reason}; {sides}; {a_err}"
            return central, FAIL, f"analytic failed: {a_err}"
        close = abs(a - central) <= tol(a, central, noise)
        if kink or (not close and split):
            lo, hi = min(fwd, bwd), max(fwd, bwd)
            margin = tol(lo, hi, 2.0 * noise)
            if lo - margin <= a <= hi + margin:
                return central, KINK, f"{reason}; {sides}"
            return central, FAIL, f"{reason}; analytic outside {sides}"
        return central, (OK if close else FAIL), ""
    if len(side_errors) == 2:
        return math.nan, DOMAIN, f"f fails at x-h and x+h: {side_errors[1]}"
    k = 1 if 1 in values else -1
    c1 = values[k]
    try:  # second-order one-sided difference when x + 2kh is still inside
        estimate = k * (-3.0 * c0 + 4.0 * c1 - probe(2 * k)) / (2.0 * h)
    except _OUTSIDE:
        estimate = k * (c1 - c0) / h
    which = "forward" if k == 1 else "backward"
    outside = "x-h" if k == 1 else "x+h"
    verdict = (
        "agrees"
        if abs(a - estimate) <= tol(a, estimate)
        else "disagrees (too close to the edge to judge)"
    )
    note = f"f fails at {outside} ({side_errors[-k]}); {which} difference {verdict}"
    return estimate, DOMAIN, note + (f"; analytic failed: {a_err}" if a_err else "")


def _kink_notes(out: Value, leaves: list[Value], hs: list[float]) -> list[str]:
    """Per input: which kinked op its perturbation reaches ('' if none).

    Forward-mode tangents say how far moving input ``j`` by up to ``2h`` moves
    the input ``u`` of each kinked op; it is flagged if the op is at its kink or
    its local derivative jumps within that reach.
    """
    order = topological_order(out)
    kinked = [n for n in order if n.rule is not None and n.rule.kink is not None]  # type: ignore[attr-defined]  # Rule(...) makes RuleKinds (kinds.Rule is a factory)
    notes = [""] * len(leaves)
    if not kinked:
        return notes
    partials = {}
    for j, leaf in enumerate(leaves):
        tangent = {leaf: 1.0}
        for node in order:
            if node.rule is None:
                continue
            ps = node.parents
            if not any(p in tangent for p in ps):
                continue
            if node not in partials:
                partials[node] = node.rule.local_derivatives(node)  # type: ignore[attr-defined]  # Rule(...) makes RuleKinds (kinds.Rule is a factory)
            tangent[node] = sum(d * tangent.get(p, 0.0) for d, p in zip(partials[node], ps))
        found = []
        for node in kinked:
            found += _near_kink(node, tangent, 2.0 * hs[j])
        if found:
            more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
            notes[j] = found[0] + more
    return notes


def _near_kink(node: Value, tangent: dict, reach: float) -> list[str]:
    rule, ps = node.rule, node.parents
    moves = [abs(tangent.get(p, 0.0)) * reach for p in ps]
    if not any(m > 0.0 for m in moves):
        return []
    what = f"{rule.symbol}{f' ({node.label})' if node.label else ''} input"  # type: ignore[union-attr]  # Rule(...) makes RuleKinds (kinds.Rule is a factory)
    u = ps[0].data
    if rule.at_kink(node):  # type: ignore[union-attr]  # Rule(...) makes RuleKinds (kinds.Rule is a factory)
        return [f"{what} {u:.3g} is at its kink"]
    if rule.kink_within(node, moves[0]):  # type: ignore[union-attr]  # Rule(...) makes RuleKinds (kinds.Rule is a factory)
        return [f"{what} {u:.3g} is within {moves[0]:.1g} of its kink"]
    return []
