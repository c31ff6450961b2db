"""Reverse-mode backpropagation over an iteratively built topological order.

No recursion anywhere, so graphs of any depth work under Python's default
recursion limit.  The order is a depth-first post-order that follows each
node's parents in their recorded order, so it depends only on the graph's
structure and gradients are bit-identical in every process.

Semantics (as in PyTorch): ``backward`` *sets* the gradient of every interior
node to this pass's value and *adds* to the gradient of every leaf, which
therefore accumulates across calls until it is zeroed.

A pass fails fast; why it failed (which op sent an infinite gradient, a vjp of
the wrong shape) is worked out afterwards, in :mod:`autograd.forensics`.
"""

from __future__ import annotations

import gc
import math
import numbers
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Callable

from . import checks, forensics
from .checks import value
from .forensics import GradientError
from .grad_mode import enable_grad
from .kinds import is_finite
from .node import Node

if TYPE_CHECKING:  # Value calls backward: this module sits below it
    from .value import Value

__all__ = ["GradientError", "backward", "backward_order", "grad", "topological_order", "zero_grad"]


def _order(
    root: Value,
    include_leaves: bool,
    leaves_found: list | None = None,
    saved: list | None = None,
    order: list | None = None,
) -> list[Value]:
    """Iterative DFS post-order: every node after all of its inputs.

    With ``include_leaves`` the leaves are in the order; without, the hot
    backward path never puts them on the stack: each leaf is done when the node
    that first reaches it is, and appended to ``leaves_found`` (so that list is
    in no particular order).  The order is appended to ``order`` if given (so a
    caller keeps what a walk stopped midway found), else to a new list.

    With a ``saved`` list (backward's pass), the walk also sets every gradient
    it finds to ``+0.0``: one that is not ``+0.0`` already, bit for bit (a
    ``-0.0`` is kept too), goes into ``saved`` as a ``(node, old)`` pair first.
    A node is saved and zeroed before it is listed, so a pass stopped at any
    point restores every gradient it changed: ``+0.0`` to every node listed,
    then the saved pairs (see :func:`_restore`).  Zeroing in the walk spares a
    second pass over the nodes.

    One plain stack, no per-node tuples or iterators: a node popped for the
    first time goes back on the stack under a ``None`` mark, with its unseen
    parents above it, last parent first, so they are explored in their recorded
    order as a recursive DFS would; when the mark comes off, all its inputs are
    in the order and the node is due.
    """
    seen: set = set()
    if order is None:
        order = []
    append = order.append
    add = seen.add
    stack: list = [root]
    push, pop = stack.append, stack.pop
    while stack:
        node = pop()
        if node is None:  # the node under the mark has all its inputs in order
            node = pop()
            if saved is not None:
                g = node._grad
                # Only a gradient that is not +0.0 bit for bit (-0.0 is) is saved:
                # a fresh graph's are all +0.0, so its pass saves nothing.
                if g or math.copysign(1.0, g) < 0.0:
                    saved.append((node, g))
                    node._grad = 0.0
            append(node)
            continue
        if node in seen:  # a second path's copy of a node already visited
            continue
        add(node)
        r = node._rule
        if r is None:
            if include_leaves:
                append(node)
            elif leaves_found is not None:
                if saved is not None:
                    g = node._grad
                    if g or math.copysign(1.0, g) < 0.0:
                        saved.append((node, g))
                        node._grad = 0.0
                leaves_found.append(node)
            continue
        push(node)
        push(None)
        for p in reversed(r.parents(node)):
            if p in seen:
                continue
            if p._rule is None and not include_leaves:
                # A leaf is done here, not pushed and popped: a network's weights
                # are most of its nodes.
                add(p)
                if leaves_found is not None:
                    if saved is not None:
                        g = p._grad
                        if g or math.copysign(1.0, g) < 0.0:
                            saved.append((p, g))
                            p._grad = 0.0
                    leaves_found.append(p)
                continue
            push(p)
    return order


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: a pass allocates many short-lived containers that
    trigger collections over the whole (cycle-free) graph, to find nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, inputs first and ``root`` last."""
    return _order(value(root, "topological_order", "root"), include_leaves=True)


def backward_order(root: Value) -> list[Value]:
    """The order backward visits nodes in: ``root`` first, each node before its inputs."""
    return _order(value(root, "backward_order", "root"), include_leaves=True)[::-1]


def backward(root: Value, gradient: Any = 1.0) -> None:
    """Backpropagate from ``root``, filling ``.grad`` of every node it depends on.

    Interior nodes get this pass's gradient; leaves accumulate.  Every gradient
    an op sends is checked: an infinite derivative or an overflow raises
    :class:`GradientError` naming the node.  A pass that does not finish, for
    whatever reason (that error, any other exception, ``KeyboardInterrupt``),
    leaves every ``.grad`` exactly as it was before the call.  ``gradient`` (the
    seed, 1 by default) is a finite number, or a Value whose data is used.
    """
    value(root, "backward", "root")
    seed = checks.seed(gradient, "backward")
    if _pass_running.get():
        raise RuntimeError(
            "backward: called while a backward pass is running (from a rule's vjp or a "
            "_backward closure?); it would overwrite the gradients that pass is summing: "
            "compute the inner gradient with autograd.grad(), which touches no .grad"
        )
    with _gc_paused():
        # The pass runs in a copy of the context, where _run_backward raises the flag:
        # leaving the copy drops it, however the pass ends (no reset an interrupt could skip).
        copy_context().run(_run_backward, root, seed)


# Whether a backward pass is running in this thread (or task): a second one started
# from inside it (a vjp calling backward()) is refused.
_pass_running: ContextVar[bool] = ContextVar("autograd_backward_running", default=False)


def _run_backward(root: Value, seed: float) -> None:
    _pass_running.set(True)
    # Every node starts the pass at zero; leaves get their old gradient added
    # back at the end, so they accumulate old + (this pass's total) exactly as
    # the docs say, whatever the old value.  Whatever stops the pass, everything
    # is restored from the walk's lists (see _order).
    order: list = []
    saved: list = []
    leaves: list = []
    node, g = root, seed
    try:
        _order(root, False, leaves, saved, order)
        if not order:  # root is a leaf
            old = saved[0][1] if saved else 0.0
            total = root._grad + old + seed
            if not is_finite(total):
                raise forensics.leaf_overflow_error(root, total, old)
            root._grad = total
            return
        root._grad = seed
        for node in reversed(order):
            g = node._grad
            # A gradient is checked once, where it is read: the sum of everything
            # sent to this node.  Only on failure is the op that sent inf looked for.
            # (is_finite inlined: the one place a call per node was measured to cost.)
            if g - g != 0.0:
                raise forensics.overflow_error(node, order, _GRAD, _old_grads(saved))
            r = node._rule
            if not g and r.finite:
                # Every gradient it would send is a zero, and adding a zero changes
                # no gradient (bar a -0.0, which no pass makes): skipping is exact,
                # and most nodes behind a dead relu or a met margin get here.
                continue
            r.send(node, g)  # the node's kind adds g * each local derivative to its parents
        # A pass's total is never -0.0 (it sums from +0.0), so a leaf whose old
        # gradient was +0.0 (not saved) keeps it as it is.
        for n, old in saved:
            if n._rule is None:
                n._grad += old
        # No op reads a leaf's total: sum them all in C, and look for the
        # culprit only if that sum is not a finite float.
        total = sum(map(_GRAD, leaves))
        if total.__class__ is not float or not is_finite(total):
            for n in leaves:
                if not checks.is_finite_real(n._grad):
                    raise forensics.overflow_error(n, order, _GRAD, _old_grads(saved))
    except BaseException as e:
        late = _restore(order, leaves, saved)
        if late is not None:
            raise late from e
        why = forensics.explain(node, g, e)
        if why is e:
            raise
        raise why from e


def _old_grads(saved: list) -> Callable:
    """``old_of(leaf, default)``: a leaf's gradient from before the pass (for errors)."""
    return dict(saved).get


_GRAD = attrgetter("_grad")


def _restore(order: list, leaves: list, saved: list) -> BaseException | None:
    """Put back every gradient a pass that did not finish may have changed.

    Every node the walk listed in ``order`` or ``leaves`` had ``+0.0`` unless
    ``saved`` holds its old gradient; a node is saved before it is listed, so
    a walk stopped midway may have saved a node it did not list.  A second
    interrupt while restoring does not cut it short: it is finished first, and
    the interrupt is returned for the caller to raise.
    """
    late = None
    while True:
        try:
            for n in order:
                n._grad = 0.0
            for n in leaves:
                n._grad = 0.0
            for n, old in saved:
                n._grad = old
            return late
        except BaseException as e:  # restoring is idempotent: start again
            late = e


def replay(
    root: Value,
    seed: float,
    old_of: Callable | None = None,
    on_step: Callable[[Value, float, tuple, Any], None] | None = None,
) -> dict:
    """``backward(root, seed)`` computed into a dict, touching no ``.grad``.

    The same order, the same skip of zero gradients, the same checks in the same
    places, so the same result bit for bit and, on failure, the same error with
    the same message.  ``old_of(leaf, 0.0)`` gives the gradients leaves have
    accumulated (none by default: a pass from zero).  ``on_step(node, g, parents,
    sent)`` sees each op as it runs (``sent`` is None where backward skips it).
    Used by ``grad`` and ``trace_backward``.
    """
    old_of = old_of or (lambda leaf, default: default)
    leaves: list = []
    try:
        order = _order(root, include_leaves=False, leaves_found=leaves)
    except (TypeError, AttributeError) as e:
        why = forensics.explain(root, seed, e)
        if why is e:
            raise
        raise why from e
    if not order:  # root is a leaf
        old = old_of(root, 0.0)
        total = 0.0 + old + seed  # as backward sums it
        if not is_finite(total):
            raise forensics.leaf_overflow_error(root, total, old)
        return {root: 0.0 + seed}  # as backward gives it: a -0.0 seed gives 0.0
    grads = {root: seed}
    get = grads.get

    def grad_of(v: Value) -> float:
        return get(v, 0.0)

    node, g = root, seed
    try:
        for node in reversed(order):
            g = get(node, 0.0)
            if not checks.is_finite_real(g):
                raise forensics.overflow_error(node, order, grad_of, old_of)
            r = node._rule
            ps = r.parents(node)
            if not g and r.finite:
                sent = None
            else:
                sent = r.vjp_of(node, g)
                for p, gp in zip(ps, sent):
                    grads[p] = get(p, 0.0) + gp
            if on_step is not None:
                on_step(node, g, ps, sent)
    except (ArithmeticError, ValueError, TypeError) as e:
        why = forensics.explain(node, g, e)
        if why is e:
            raise
        raise why from e

    def with_old(v: Value) -> float:  # a leaf's .grad at the end of backward's pass
        g = get(v, 0.0)
        return g + old_of(v, 0.0) if v._rule is None else g

    for leaf in leaves:
        total = with_old(leaf)
        if not checks.is_finite_real(total):
            raise forensics.overflow_error(leaf, order, with_old, old_of)
    return grads


def grad(
    output: Value,
    inputs: Value | Sequence[Value],
    create_graph: bool = False,
    gradient: Any = 1.0,
) -> Any:
    """Gradients of ``output`` w.r.t. ``inputs``, without touching any ``.grad``.

    Returns floats, or with ``create_graph=True`` Values that are themselves
    differentiable (second derivatives, Hessian-vector products...).  An input
    that ``output`` does not depend on gets zero.  A single Value in gives a
    single gradient out; a sequence gives a list.
    """
    value(output, "grad", "output")
    single = isinstance(inputs, Node)
    xs = checks.values(inputs, "grad", "inputs")
    checks.flag(create_graph, "grad", "create_graph")
    if not create_graph:
        # The float pass is backward's own, into a dict: it fails where backward
        # (from zero gradients) fails, with the same error.
        with _gc_paused():
            grads = replay(output, checks.seed(gradient, "grad"))
        get = grads.get
        out = [get(x, 0.0) for x in xs]
        return out[0] if single else out
    # This module sits below Value (Value.backward calls it): the Values of the
    # gradient graph are made with the output's own class.
    make = output.__class__
    with enable_grad(), _gc_paused():
        if isinstance(gradient, Node):
            seed = gradient
        else:
            seed = make(checks.seed(gradient, "grad"))
        grads = {output: seed}
        get = grads.get
        node, g = output, seed
        try:
            for node in reversed(_order(output, include_leaves=False)):
                g = grads[node]
                r = node._rule
                for p, gp in zip(r.parents(node), r.vjp_graph(node, g)):
                    if isinstance(gp, Node):
                        d = gp._data
                    else:  # a number: taken as the float pass takes it
                        gp = d = checks.sent(gp, r.symbol)
                    if not checks.is_finite_real(d):  # as backward checks what each op sends
                        if not isinstance(d, numbers.Real):
                            raise forensics.not_a_number(node, gp)
                        why = f"gradient overflowed ({d!r})"
                        raise forensics.gradient_error(node, g._data, why)
                    prev = get(p)
                    grads[p] = gp if prev is None else prev + gp
        except (ArithmeticError, ValueError, TypeError) as e:
            err = forensics.explain(node, g._data, e)
            if err is e:
                raise
            raise err from e
    # An input the output does not depend on gets a zero of its own: one shared
    # Value would tie every such input's later graph together.
    out = [make(0.0) if get(x) is None else get(x) for x in xs]
    return out[0] if single else out


def zero_grad(values: Value | Sequence[Value]) -> None:
    """Reset ``.grad`` of each value to 0.0."""
    for v in checks.values(values, "zero_grad", "values"):
        v._grad = 0.0
