"""Derivatives as functions: the calls people bring from JAX, HIPS autograd and
``torch.autograd.functional``.

``grad(f)`` is a new function that returns the gradient of ``f`` (JAX's and HIPS's
``grad``); it nests, ``grad(grad(f))`` being the second derivative, because given Values
it records its result with ``create_graph=True``.  ``jacobian``, ``hessian``, ``hvp``,
``vjp`` and ``jvp`` take ``(f, xs, ...)`` as ``torch.autograd.functional`` does, with the
same shapes of result: one input (a number or a Value) gives one derivative, a sequence
of inputs a list (a list of lists for a matrix).

The convention throughout: numbers in, floats out (``f`` gets fresh leaves, so nothing of
yours is touched); Values in, Values out, recorded so they can be differentiated again.
Everything here is :func:`autograd.grad` (reverse mode) or :func:`autograd.jvp` (forward
mode) on the graph ``f`` records: no derivative is stated here.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Callable, Union

from . import checks
from .backward import grad as _grad
from .forward import jvp, sweep
from .value import Value, enable_grad, vsum

__all__ = ["grad", "hessian", "hvp", "jacobian", "jvp", "vjp"]

Inputs = Union[Value, float, int, Sequence[Union[Value, float, int]]]

_STRATEGIES = ("reverse-mode", "forward-mode")


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The function ``x -> df/dx`` (JAX's ``grad``): ``grad(f)(x, y)`` differentiates ``f``
    with respect to its first argument, ``argnums=(0, 1)`` gives a tuple of both.

    ``f`` returns one Value (or a number, whose gradient is 0).  Called with numbers the
    gradient is a float; called with Values it is a Value, recorded, so ``grad(grad(f))``
    is the second derivative, and so on.
    """
    checks.function(f, "grad", "f")
    many = not isinstance(argnums, int)
    picked = checks.sequence(argnums, "grad", "argnums", "ints") if many else [argnums]
    nums: list[int] = [checks.integer(n, "grad", "argnums", low=0) for n in picked]

    def gradient(*args: Any) -> Any:
        for n in nums:
            if n >= len(args):
                raise ValueError(
                    f"grad: argnums {n} but the function was called with {len(args)} arguments"
                )
        as_values = any(isinstance(a, Value) for a in args)
        xs = [_input(a, "grad", f"argument {i}") for i, a in enumerate(args)]
        with enable_grad():
            out = _scalar(f(*xs), "grad")
            wrt = [xs[n] for n in nums]
            gs = _gradients(out, wrt, as_values)
        return tuple(gs) if many else gs[0]

    gradient.__name__ = f"grad_{getattr(f, '__name__', 'f')}"
    gradient.__doc__ = f"The gradient of {getattr(f, '__name__', 'f')} (autograd.functional.grad)."
    return gradient


def vjp(f: Callable[..., Any], xs: Inputs, v: Any = None) -> tuple[Any, Any]:
    """``(f(xs), v^T J)`` as ``torch.autograd.functional.vjp``: one reverse pass.

    ``v`` has one number per output of ``f`` (it may be left out for a single output).
    """
    checks.function(f, "vjp", "f")
    single, xs_list, as_values = _inputs(xs, "vjp")
    with enable_grad():
        out = f(*xs_list)
        many = _is_sequence(out)
        outs = [_scalar(o, "vjp") for o in out] if many else [_scalar(out, "vjp")]
        if v is None:
            if many and len(outs) != 1:
                raise ValueError(f"vjp: f has {len(outs)} outputs, so v is needed, got None")
            vs: list = [1.0] * len(outs)
        else:
            vs = checks.sequence(v, "vjp", "v", "numbers") if many else [v]
            if len(vs) != len(outs):
                raise ValueError(f"vjp: v must have one number per output ({len(outs)}), "
                                 f"got {checks.describe(v)}")
            vs = [x if isinstance(x, Value) else checks.real(x, "vjp", "v") for x in vs]
        total = vsum([o * w for o, w in zip(outs, vs)])
        gs = _gradients(total, xs_list, as_values)
        results = [_result(o, as_values) for o in outs]
    return (results if many else results[0]), (gs[0] if single else gs)


def jacobian(
    f: Callable[..., Any],
    xs: Inputs,
    create_graph: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """``J[i][j] = d f_i / d x_j``, shaped as ``torch.autograd.functional.jacobian``'s.

    One input and one output: a number; a sequence of either: a list; both: a list of
    lists (row ``i`` the gradient of output ``i``).  ``strategy="reverse-mode"`` runs one
    backward pass per output, ``"forward-mode"`` one forward sweep per input (fewer
    passes when there are fewer inputs than outputs); both give the same numbers.
    ``create_graph=True`` (or Values in) gives Values.
    """
    checks.function(f, "jacobian", "f")
    checks.flag(create_graph, "jacobian", "create_graph")
    if strategy not in _STRATEGIES:
        raise ValueError(f"jacobian: strategy must be one of {_STRATEGIES}, got {strategy!r}")
    single, xs_list, as_values = _inputs(xs, "jacobian")
    as_values = as_values or create_graph
    with enable_grad():
        out = f(*xs_list)
        many = _is_sequence(out)
        outs = [_scalar(o, "jacobian") for o in out] if many else [_scalar(out, "jacobian")]
        if strategy == "reverse-mode":
            rows = [_gradients(o, xs_list, as_values) for o in outs]
        else:  # one sweep per input over the graph recorded once
            zero = Value(0.0) if as_values else 0.0
            cols = []
            for x in xs_list:
                tangent = sweep(outs, {x: 1.0}, as_values)
                cols.append([tangent.get(o, zero) if isinstance(o, Value) else zero
                             for o in outs])
            rows = [[col[i] for col in cols] for i in range(len(outs))]
    rows = [r[0] if single else r for r in rows]
    return rows if many else rows[0]


def hessian(f: Callable[..., Any], xs: Inputs, create_graph: bool = False) -> Any:
    """``H[i][j] = d2 f / dx_i dx_j`` of a scalar ``f``, as
    ``torch.autograd.functional.hessian``: one input gives a number, several a list of lists.

    Reverse over reverse: the gradient recorded (``create_graph=True``), then one backward
    pass per input through it.
    """
    checks.function(f, "hessian", "f")
    checks.flag(create_graph, "hessian", "create_graph")
    single, xs_list, as_values = _inputs(xs, "hessian")
    with enable_grad():
        out = _scalar(f(*xs_list), "hessian")
        first = _gradients(out, xs_list, True)
        rows = [_gradients(g, xs_list, as_values or create_graph) for g in first]
    return rows[0][0] if single else rows


def hvp(f: Callable[..., Any], xs: Inputs, v: Any) -> tuple[Any, Any]:
    """``(f(xs), H v)`` as ``torch.autograd.functional.hvp``, without forming ``H``:
    the gradient recorded, then one backward pass from ``sum(g_i * v_i)``."""
    checks.function(f, "hvp", "f")
    single, xs_list, as_values = _inputs(xs, "hvp")
    vs = [v] if single and not _is_sequence(v) else checks.sequence(v, "hvp", "v", "numbers")
    if len(vs) != len(xs_list):
        raise ValueError(
            f"hvp: v must have one number per input ({len(xs_list)}), got {checks.describe(v)}"
        )
    vs = [x if isinstance(x, Value) else checks.real(x, "hvp", "v") for x in vs]
    with enable_grad():
        out = _scalar(f(*xs_list), "hvp")
        first = _gradients(out, xs_list, True)
        hv = _gradients(vsum([g * w for g, w in zip(first, vs)]), xs_list, as_values)
        result = _result(out, as_values)
    return result, (hv[0] if single else hv)


# --- helpers ------------------------------------------------------------------------------


def _is_sequence(x: Any) -> bool:
    return not isinstance(x, (Value, numbers.Number, str, bytes)) and hasattr(x, "__iter__")


def _input(x: Any, op: str, what: str) -> Value:
    """A Value as it is (its graph continues), a number as a fresh leaf."""
    return x if isinstance(x, Value) else Value(checks.real(x, op, what))


def _inputs(xs: Any, op: str) -> tuple[bool, list[Value], bool]:
    """(one input?, the inputs as Values, were any given as Values?)."""
    single = not _is_sequence(xs)
    items = [xs] if single else checks.sequence(xs, op, "xs", "numbers or Values")
    if not items:
        raise ValueError(f"{op}: needs at least one input, got an empty sequence")
    as_values = any(isinstance(x, Value) for x in items)
    return single, [_input(x, op, f"xs[{i}]") for i, x in enumerate(items)], as_values


def _scalar(out: Any, op: str) -> Any:
    if isinstance(out, Value) or (isinstance(out, numbers.Real) and not isinstance(out, bool)):
        return out
    hint = "; for several outputs use jacobian" if _is_sequence(out) and op == "grad" else ""
    raise TypeError(f"{op}: f must return a Value or a number, got {checks.describe(out)}{hint}")


def _gradients(out: Any, xs: list[Value], as_values: bool) -> list:
    """d out / d x for each x: Values (recorded) or floats; 0 where ``out`` is a number."""
    if not isinstance(out, Value):
        return [Value(0.0) if as_values else 0.0 for _ in xs]
    return _grad(out, xs, create_graph=as_values)


def _result(out: Any, as_values: bool) -> Any:
    if as_values:
        return out if isinstance(out, Value) else Value(float(out))
    return out.data if isinstance(out, Value) else float(out)

