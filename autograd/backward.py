"""Reverse-mode backpropagation over an iteratively built topological order.

No recursion anywhere, so graphs of any depth work under Python's default
recursion limit.  The order is a depth-first post-order that follows each
node's parents in their recorded order, so it depends only on the graph's
structure and gradients are bit-identical in every process.

Semantics (as in PyTorch): ``backward`` *sets* the gradient of every interior
node to this pass's value and *adds* to the gradient of every leaf, which
therefore accumulates across calls until it is zeroed.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import filterfalse
from operator import attrgetter
from typing import Any, Callable

from . import checks
from .checks import value
from .value import Value, enable_grad

__all__ = ["GradientError", "backward", "backward_order", "grad", "topological_order", "zero_grad"]


def _order(
    root: Value,
    leaves: bool,
    stash: dict | None = None,
    found: list | None = None,
    seen: set | None = None,
) -> list[Value]:
    """Iterative DFS post-order: every node after all of its inputs.

    ``leaves=False`` leaves out leaf nodes, which the hot backward path never
    needs to visit.  With a ``stash`` dict, every node found (leaves too) has
    its gradient zeroed, saving backward a second sweep; nonzero gradients are
    saved in ``stash`` first, and each leaf found is appended to ``found``.
    Every node found goes into ``seen`` (a new set unless given) *after* its
    gradient was stashed, so a pass stopped at any point can restore every
    gradient it changed from ``seen`` and ``stash`` alone.
    """
    if seen is None:
        seen = set()
    if stash is not None and root.grad:
        stash[root] = root.grad
        root.grad = 0.0
    seen.add(root)
    if root._rule is None:
        return [root] if leaves else []
    order: list[Value] = []
    append = order.append
    add = seen.add
    # Parents already seen are skipped in C: after the first few neurons every
    # weight has been seen, and most of a dot's inputs are never looked at here.
    unseen = seen.__contains__
    stack = [(root, filterfalse(unseen, root.parents))]
    push, pop = stack.append, stack.pop
    while stack:
        node, it = stack[-1]
        for p in it:
            if stash is not None and p.grad:
                stash[p] = p.grad
                p.grad = 0.0
            add(p)
            r = p._rule
            if r is None:
                if leaves:
                    append(p)
                elif found is not None:
                    found.append(p)
                continue
            # Value.parents inlined: this runs once per node of the graph
            ar = r.arity
            if ar == 2:
                ps = (p._a, p._b)
            elif ar == 1:
                ps = (p._a,)
            else:
                ps = p._a if p._b is None else p._a + p._b
            push((p, filterfalse(unseen, ps)))
            break
        else:
            pop()
            append(node)
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
    return _order(value(root, "topological_order", "root"), leaves=True)


def backward_order(root: Value) -> list[Value]:
    """The order backward visits nodes in: ``root`` first, each node before its inputs."""
    return _order(value(root, "backward_order", "root"), leaves=True)[::-1]


class GradientError(FloatingPointError):
    """A derivative that is infinite, or a gradient that overflows, during backward."""


def _fail(node: Value, g: float, why: str) -> GradientError:
    """The error for ``node``, shown with ``g``, the gradient the pass gave it."""
    return GradientError(f"backward through {node.op!r} at {_shown(node, g)}: {why}")


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
    with _gc_paused():
        _backward(root, seed)


def _backward(root: Value, seed: float) -> None:
    # Every node starts the pass at zero; leaves get their old gradient added
    # back at the end, so they accumulate old + (this pass's total) exactly as
    # the docs say, whatever the old value.  Whatever stops the pass, everything
    # is restored from ``seen`` and ``stash`` (see _order).
    stash: dict = {}
    seen: set = set()
    leaves: list = []
    node, g = root, seed
    try:
        order = _order(root, leaves=False, stash=stash, found=leaves, seen=seen)
        if not order:  # root is a leaf
            total = root.grad + stash.get(root, 0.0) + seed
            if total - total != 0.0:
                raise _leaf_overflow(root, total, stash.get(root, 0.0))
            root.grad = total
            return
        root.grad = seed
        for node in reversed(order):
            g = node.grad
            # A gradient is checked once, where it is read: the sum of everything
            # sent to this node.  Only on failure is the op that sent inf looked for.
            if g - g != 0.0:
                raise _overflow(node, order, _GRAD, stash.get)
            r = node._rule
            if not g and r.finite:
                # Every gradient it would send is a zero, and adding a zero changes
                # no gradient (bar a -0.0, which no pass makes): skipping is exact,
                # and most nodes behind a dead relu or a met margin get here.
                continue
            ar = r.arity
            if ar == 2:
                a = node._a
                b = node._b
                ga, gb = r.vjp(g, node.data, a.data, b.data)
                a.grad += ga
                b.grad += gb
            elif ar == 1:
                a = node._a
                (ga,) = r.vjp(g, node.data, a.data)
                a.grad += ga
            elif r.partners is not None:
                # The rule's own declaration, run without building lists: the
                # same products its vjp returns.
                first = node._a
                second = node._b
                qs, rs = r.partners(first, second)
                if len(qs) != len(first) or len(rs) != len(second):
                    raise _bad_vjp(node, (qs, rs))
                for p, q in zip(first, qs):
                    p.grad += g * q.data
                for p, q in zip(second, rs):
                    p.grad += g * q.data
            else:
                ps = node._a
                gs = r.vjp(g, node.data, [p.data for p in ps])
                if len(gs) != len(ps):  # zip would drop the rest without a word
                    raise _bad_vjp(node, gs)
                for p, gp in zip(ps, gs):
                    p.grad += gp
        for n, old in stash.items():
            if n._rule is None:
                n.grad += old
        # No op reads a leaf's total: sum them all in C, and look for the
        # culprit only if that sum is not finite.
        total = sum(map(_GRAD, leaves))
        if total - total != 0.0:
            for n in leaves:
                if n.grad - n.grad != 0.0:
                    raise _overflow(n, order, _GRAD, stash.get)
    except BaseException as e:
        late = _restore(seen, stash)
        if late is not None:
            raise late from e
        why = _explain(node, g, e)
        if why is e:
            raise
        raise why from e


def _explain(node: Value, g: float, e: BaseException) -> BaseException:
    """What a failure in ``node``'s vjp means: a rule whose vjp does not return one
    gradient per input (named as such), no finite derivative at this point
    (GradientError), or, for any other error, the error itself."""
    if isinstance(e, (ArithmeticError, ValueError, TypeError)) and not isinstance(
        e, (GradientError, _BadVjp)
    ):
        try:
            _vjp(node, g, create_graph=False)  # checks the shape of what the rule returns
        except _BadVjp as shape:
            return shape
        except BaseException:
            pass
        if not isinstance(e, TypeError):
            return _fail(node, g, f"no finite derivative here ({e})")
    return e


class _BadVjp(TypeError):
    """A rule's vjp returned something other than one gradient per input."""


def _bad_vjp(node: Value, gs: Any) -> TypeError:
    r = node._rule
    n = len(node.parents)
    return _BadVjp(
        f"backward: the vjp of rule {r.symbol!r} must return one gradient per input "
        f"({n}), got {checks.describe(gs)}"
    )


def _overflow(
    target: Value, order: list[Value], grad_of: Callable[[Value], float], old_of: Callable
) -> GradientError:
    """The error for a gradient found non-finite at ``target``: it names the op
    that sent ``target`` a non-finite gradient, or else says that finite
    gradients overflowed when summed into it.  ``grad_of`` gives each node's
    gradient in this pass, ``old_of(leaf, 0.0)`` a leaf's gradient before it."""
    for node in reversed(order):
        if node is target:
            break
        ps, gs = _vjp(node, grad_of(node), create_graph=False)
        bad = [gp for p, gp in zip(ps, gs) if p is target and gp - gp != 0.0]
        if bad:
            sent = ", ".join(map(repr, gs)) if len(gs) <= 4 else f"{bad[0]!r} among {len(gs)}"
            return _fail(node, grad_of(node), f"gradient overflowed ({sent})")
    g = grad_of(target)
    if target._rule is not None:
        return _fail(target, g, f"the gradients sent to it overflowed when summed ({g!r})")
    return _leaf_overflow(target, g, old_of(target, 0.0))


def _leaf_overflow(leaf: Value, total: float, old: float) -> GradientError:
    return GradientError(
        f"backward: the gradient of {_leaf_name(leaf)} overflowed ({total!r}"
        + (f", with {old!r} accumulated before this pass)" if old else ")")
    )


_GRAD = attrgetter("grad")


def _leaf_name(leaf: Value) -> str:
    return f"leaf {leaf.label!r} (data {leaf.data!r})" if leaf.label else f"leaf {leaf!r}"


def _shown(node: Value, g: float) -> str:
    """``repr(node)`` as it reads while a pass has given it gradient ``g``."""
    lab = f", label={node.label!r}" if node.label else ""
    return f"Value(data={node.data!r}, grad={g!r}{lab})"


def _restore(seen: set, stash: dict) -> BaseException | None:
    """Put back every gradient a pass that did not finish may have changed.

    ``seen`` holds every node whose gradient the pass touched (zero before,
    unless in ``stash``), ``stash`` the nonzero ones.  A second interrupt while
    restoring does not cut it short: it is finished first, and the interrupt
    is returned for the caller to raise.
    """
    late = None
    while True:
        try:
            get = stash.get
            for n in seen:
                n.grad = get(n, 0.0)
            for n, old in stash.items():
                n.grad = old
            return late
        except BaseException as e:  # restoring is idempotent: start again
            late = e


def _vjp(node: Value, g: Any, create_graph: bool) -> tuple:
    """The parents of ``node`` and the gradients its rule sends them for upstream ``g``."""
    r = node._rule
    ps = node.parents
    if create_graph:
        gs = r.vjp(g, node, *ps) if r.arity else r.vjp(g, node, ps)
    else:
        datas = [p.data for p in ps]
        gs = r.vjp(g, node.data, *datas) if r.arity else r.vjp(g, node.data, datas)
    try:
        n = len(gs)
    except TypeError:
        n = -1
    if n != len(ps):
        raise _bad_vjp(node, gs)
    return ps, gs


def _replay(
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
    order = _order(root, leaves=False, found=leaves)
    if not order:  # root is a leaf
        old = old_of(root, 0.0)
        total = 0.0 + old + seed  # as backward sums it
        if total - total != 0.0:
            raise _leaf_overflow(root, total, old)
        return {root: seed}
    grads = {root: seed}
    get = grads.get

    def grad_of(v: Value) -> float:
        return get(v, 0.0)

    node, g = root, seed
    try:
        for node in reversed(order):
            g = get(node, 0.0)
            if g - g != 0.0:
                raise _overflow(node, order, grad_of, old_of)
            if not g and node._rule.finite:
                ps, sent = node.parents, None
            else:
                ps, sent = _vjp(node, g, create_graph=False)
                for p, gp in zip(ps, sent):
                    grads[p] = get(p, 0.0) + gp
            if on_step is not None:
                on_step(node, g, ps, sent)
    except (ArithmeticError, ValueError, TypeError) as e:
        why = _explain(node, g, e)
        if why is e:
            raise
        raise why from e

    def with_old(v: Value) -> float:  # a leaf's .grad at the end of backward's pass
        g = get(v, 0.0)
        return g + old_of(v, 0.0) if v._rule is None else g

    for leaf in leaves:
        total = with_old(leaf)
        if total - total != 0.0:
            raise _overflow(leaf, order, with_old, old_of)
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
    single = isinstance(inputs, Value)
    xs = checks.values(inputs, "grad", "inputs")
    checks.flag(create_graph, "grad", "create_graph")
    if not create_graph:
        # The float pass is backward's own, into a dict: it fails where backward
        # (from zero gradients) fails, with the same error.
        with _gc_paused():
            grads = _replay(output, checks.seed(gradient, "grad"))
        get = grads.get
        out = [get(x, 0.0) for x in xs]
        return out[0] if single else out
    with enable_grad(), _gc_paused():
        if isinstance(gradient, Value):
            seed = gradient
        else:
            seed = Value(checks.seed(gradient, "grad"))
        zero = Value(0.0)
        grads = {output: seed}
        get = grads.get
        node, g = output, seed
        try:
            for node in reversed(_order(output, leaves=False)):
                g = grads[node]
                for p, gp in zip(*_vjp(node, g, create_graph=True)):
                    prev = get(p)
                    grads[p] = gp if prev is None else prev + gp
        except (ArithmeticError, ValueError, TypeError) as e:
            why = _explain(node, g.data, e)
            if why is e:
                raise
            raise why from e
    out = [get(x, zero) for x in xs]
    return out[0] if single else out


def zero_grad(values: Value | Sequence[Value]) -> None:
    """Reset ``.grad`` of each value to 0.0."""
    for v in checks.values(values, "zero_grad", "values"):
        v.grad = 0.0
