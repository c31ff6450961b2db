"""Forward mode: the derivative along one direction, in one sweep from the inputs.

Backpropagation (reverse mode) starts at the output and sends each node's gradient to
its parents: one pass gives the derivative of one output with respect to *every* input.
Forward mode runs the other way: it gives each input a tangent (how fast it moves), and
goes through the graph in the order the ops ran, each node's tangent being the sum over
its parents of (local derivative) x (parent's tangent).  One pass gives the derivative of
*every* output along *one* direction.  A network with 3,466 weights and one loss wants
reverse mode (one pass, not 3,466); a function of one input with many outputs wants this.

``jvp(f, primals, tangents)`` is JAX's: it returns ``(f(primals), directional derivative)``.
The local derivatives come from each node's rule, through the same accessor the
backward trace and gradcheck use (``node.rule.local_derivatives(node)``), so there is no
second copy of any derivative: every rule in :mod:`autograd.rules`, and every rule of
your own, works in both modes.  Given Values, the tangent is built as Values from the
rules' vjp (``rule.vjp_graph``), so it can be differentiated again
(:func:`autograd.functional.hvp`, gradcheck's second opinion at order 2).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Callable

from . import checks
from .backward import GradientError, topological_order
from .value import Value, enable_grad

__all__ = ["jvp", "sweep"]


def jvp(f: Callable[..., Any], primals: Any, tangents: Any) -> tuple[Any, Any]:
    """``(f(*primals), d/dt f(*(primals + t * tangents)) at t = 0)`` in one forward sweep.

    ``primals`` and ``tangents`` are one number (or Value) each, or two sequences of the
    same length; ``f`` takes one argument per primal and returns a Value, a number, or a
    sequence of them (then both results are lists).  Numbers in, floats out: ``f`` gets
    fresh leaves, so nothing of yours is touched.  Any primal a Value: ``f`` gets the
    primals themselves and both results are Values in their graph, differentiable again.
    An input whose tangent is 0 is held still, so an op that only it reaches is not swept
    (as JAX's symbolic zeros); where a moving input meets an op with no finite derivative
    (``sqrt`` at 0) a :class:`~autograd.GradientError` names it.
    """
    checks.function(f, "jvp", "f")
    single = not _is_sequence(primals)
    xs = [primals] if single else checks.sequence(primals, "jvp", "primals", "numbers or Values")
    ts = [tangents] if single and not _is_sequence(tangents) else checks.sequence(
        tangents, "jvp", "tangents", "numbers or Values")
    if len(ts) != len(xs):
        raise ValueError(
            f"jvp: needs one tangent per primal ({len(xs)}), got {checks.describe(tangents)}"
        )
    as_values = any(isinstance(x, Value) for x in xs) or any(isinstance(t, Value) for t in ts)
    leaves = [x if isinstance(x, Value) else Value(checks.real(x, "jvp", f"primals[{i}]"))
              for i, x in enumerate(xs)]
    for i, t in enumerate(ts):
        if not isinstance(t, Value):
            checks.real(t, "jvp", f"tangents[{i}]")
    with enable_grad():
        out = f(*leaves)
        many = _is_sequence(out)
        outs = checks.sequence(out, "jvp", "f's result", "Values or numbers") if many else [out]
        for i, o in enumerate(outs):
            if not isinstance(o, (Value, numbers.Real)) or isinstance(o, bool):
                where = f"f's result[{i}]" if many else "f's result"
                raise TypeError(
                    f"jvp: {where} must be a Value or a number, got {checks.describe(o)}"
                )
        seeds = {leaf: t for leaf, t in zip(leaves, ts) if _moves(t)}
        tangent_of = sweep(outs, seeds, as_values)
        zero = Value(0.0) if as_values else 0.0
        results = [_primal(o, as_values) for o in outs]
        derivs = [tangent_of.get(o, zero) if isinstance(o, Value) else zero for o in outs]
    if many:
        return results, derivs
    return results[0], derivs[0]


def _is_sequence(x: Any) -> bool:
    return not isinstance(x, (Value, numbers.Number, str, bytes)) and hasattr(x, "__iter__")


def _moves(t: Any) -> bool:
    return isinstance(t, Value) or t != 0.0


def _primal(o: Any, as_values: bool) -> Any:
    if as_values:
        return o if isinstance(o, Value) else Value(float(o))
    return o.data if isinstance(o, Value) else float(o)


def sweep(outs: Sequence[Any], seeds: dict, as_values: bool) -> dict:
    """One forward sweep over the graph of ``outs`` from ``seeds`` ({leaf: tangent}): each
    reached node's tangent, as floats or (``as_values``) as recorded Values."""
    return (_sweep_values if as_values else _sweep_floats)(list(outs), seeds)


def _order(outs: list) -> list[Value]:
    """Every node the outputs depend on, each after all its inputs (once)."""
    seen: set = set()
    order: list[Value] = []
    for o in outs:
        if isinstance(o, Value):
            for node in topological_order(o):
                if node not in seen:
                    seen.add(node)
                    order.append(node)
    return order


def _sweep_floats(outs: list, seeds: dict) -> dict:
    """Each reached node's tangent as a float: sum of local derivative x parent tangent."""
    tangent = {leaf: float(t) for leaf, t in seeds.items()}
    get = tangent.get
    for node in _order(outs):
        r = node.rule
        if r is None or node in tangent:
            continue
        ps = r.parents(node)
        moving = [(k, t) for k, t in enumerate(map(get, ps)) if t is not None]
        if not moving:
            continue
        ds = r.local_derivatives(node)
        acc = 0.0
        for k, t in moving:
            d = ds[k]
            if d - d != 0.0:  # NaN: no finite derivative here (or an infinite one)
                raise _no_derivative(node, ps[k])
            acc += d * t
        if acc - acc != 0.0:
            raise GradientError(f"jvp through {node.op!r} at {node!r}: the tangent overflowed")
        tangent[node] = acc
    return tangent


def _sweep_values(outs: list, seeds: dict) -> dict:
    """The same sweep with Values: each local derivative is the rule's vjp at upstream 1
    (a unary rule's vjp at the tangent itself), recorded so it can be differentiated."""
    tangent: dict = {leaf: t if isinstance(t, Value) else Value(float(t))
                     for leaf, t in seeds.items()}
    get = tangent.get
    for node in _order(outs):
        r = node.rule
        if r is None or node in tangent:
            continue
        ps = r.parents(node)
        moving = [(k, t) for k, t in enumerate(map(get, ps)) if t is not None]
        if not moving:
            continue
        try:
            if len(ps) == 1:  # vjp(g) = g * d: the tangent itself as g saves a product
                acc = r.vjp_graph(node, moving[0][1])[0]
            else:
                ds = r.vjp_graph(node, 1.0)
                acc = None
                for k, t in moving:
                    term = _times(t, ds[k])
                    acc = term if acc is None else acc + term
        except (ArithmeticError, ValueError) as e:
            raise _no_derivative(node, ps[moving[0][0]], e) from e
        if not isinstance(acc, Value):  # a rule that sent a number (a constant derivative)
            acc = Value(checks.real(acc, "jvp", "a tangent"))
        tangent[node] = acc
    return tangent


def _times(t: Value, d: Any) -> Any:
    """``t * d``, without a node for a constant local derivative of 1 or -1 (``+``, ``-``)."""
    if d.__class__ is float and (d == 1.0 or d == -1.0):
        return t if d == 1.0 else -t
    return t * d


def _no_derivative(node: Value, parent: Value, e: BaseException | None = None) -> GradientError:
    why = f" ({e})" if e is not None else ""
    return GradientError(
        f"jvp through {node.op!r} at {node!r}: no finite derivative with respect to its input "
        f"{parent!r}{why}"
    )

