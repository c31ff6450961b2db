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
from typing import Any

from .value import Value, _to_float, enable_grad

__all__ = ["GradientError", "backward", "backward_order", "grad", "topological_order", "zero_grad"]


def _order(
    root: Value, leaves: bool, stash: dict | None = None, found: list | None = None
) -> list[Value]:
    """Iterative DFS post-order: every node after all of its inputs.

    ``leaves=False`` leaves out leaf nodes, which the hot backward path never
    needs to visit.  With a ``stash`` dict, every node found (leaves too) has
    its gradient zeroed, saving backward a second sweep; nonzero gradients are
    saved in ``stash`` first, and each leaf found is appended to ``found``.
    """
    if root._rule is None:
        return [root] if leaves else []
    if stash is not None and root.grad:
        stash[root] = root.grad
        root.grad = 0.0
    order: list[Value] = []
    append = order.append
    seen = {root}
    add = seen.add
    # Parents already seen are skipped in C: after the first few neurons every
    # weight has been seen, and most of a dot's inputs are never looked at here.
    unseen = seen.__contains__
    stack = [(root, filterfalse(unseen, root.parents))]
    push, pop = stack.append, stack.pop
    while stack:
        node, it = stack[-1]
        for p in it:
            add(p)
            if stash is not None and p.grad:
                stash[p] = p.grad
                p.grad = 0.0
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
    return _order(root, leaves=True)


def backward_order(root: Value) -> list[Value]:
    """The order backward visits nodes in: ``root`` first, each node before its inputs."""
    return _order(root, leaves=True)[::-1]


class GradientError(FloatingPointError):
    """A derivative that is infinite, or a gradient that overflows, during backward."""


def _fail(node: Value, why: str) -> GradientError:
    return GradientError(f"backward through {node.op!r} at {node!r}: {why}")


def backward(root: Value, gradient: Any = 1.0) -> None:
    """Backpropagate from ``root``, filling ``.grad`` of every node it depends on.

    Interior nodes get this pass's gradient; leaves accumulate.  Every gradient
    an op sends is checked: an infinite derivative or an overflow raises
    :class:`GradientError` naming the node, and every ``.grad`` is left as it
    was before the call.
    """
    seed = _to_float(gradient, "backward")
    with _gc_paused():
        _backward(root, seed)


def _backward(root: Value, seed: float) -> None:
    # Every node starts the pass at zero; leaves get their old gradient added
    # back at the end, so they accumulate old + (this pass's total) exactly as
    # the docs say, whatever the old value.  On failure everything is restored.
    stash: dict = {}
    leaves: list = []
    order = _order(root, leaves=False, stash=stash, found=leaves)
    if not order:  # root is a leaf
        root.grad += seed
        return
    root.grad = seed
    node = root
    try:
        for node in reversed(order):
            g = node.grad
            # A gradient is checked once, where it is read: the sum of everything
            # sent to this node.  Only on failure is the op that sent inf looked for.
            if g - g != 0.0:
                raise _overflow(node, order, stash)
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
                for p, q in zip(first, qs):
                    p.grad += g * q.data
                for p, q in zip(second, rs):
                    p.grad += g * q.data
            else:
                ps = node._a
                for p, gp in zip(ps, r.vjp(g, node.data, [p.data for p in ps])):
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
                    raise _overflow(n, order, stash)
    except BaseException as e:
        _restore(order, stash)
        if isinstance(e, GradientError) or not isinstance(e, (ArithmeticError, ValueError)):
            raise
        raise _fail(node, f"no finite derivative here ({e})") from e


def _overflow(target: Value, order: list[Value], stash: dict) -> GradientError:
    """The error for a gradient found non-finite at ``target``: it names the op
    that sent ``target`` a non-finite gradient, or else says that finite
    gradients overflowed when summed into it."""
    for node in reversed(order):
        if node is target:
            break
        ps, gs = _vjp(node, node.grad, create_graph=False)
        bad = [gp for p, gp in zip(ps, gs) if p is target and gp - gp != 0.0]
        if bad:
            sent = ", ".join(map(repr, gs)) if len(gs) <= 4 else f"{bad[0]!r} among {len(gs)}"
            return _fail(node, f"gradient overflowed ({sent})")
    if target._rule is not None:
        return _fail(target, f"the gradients sent to it overflowed when summed ({target.grad!r})")
    old = stash.get(target, 0.0)
    return GradientError(
        f"backward: the gradient of {_leaf_name(target)} overflowed ({target.grad!r}"
        + (f", with {old!r} accumulated before this pass)" if old else ")")
    )


_GRAD = attrgetter("grad")


def _leaf_name(leaf: Value) -> str:
    return f"leaf {leaf.label!r} (data {leaf.data!r})" if leaf.label else f"leaf {leaf!r}"


def _restore(order: list[Value], stash: dict) -> None:
    """Put back the gradients a failed pass found (zero unless stashed)."""
    get = stash.get
    for node in order:
        node.grad = get(node, 0.0)
        for p in node.parents:
            p.grad = get(p, 0.0)


def _vjp(node: Value, g: Any, create_graph: bool) -> tuple:
    r = node._rule
    ps = node.parents
    if create_graph:
        gs = r.vjp(g, node, *ps) if r.arity else r.vjp(g, node, ps)
    else:
        datas = [p.data for p in ps]
        gs = r.vjp(g, node.data, *datas) if r.arity else r.vjp(g, node.data, datas)
    return ps, gs


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
    single = isinstance(inputs, Value)
    xs = [inputs] if single else list(inputs)
    for x in xs:
        if not isinstance(x, Value):
            raise TypeError(f"grad: inputs must be Values, got {x!r} ({type(x).__name__})")
    with enable_grad(), _gc_paused():
        if create_graph:
            seed = gradient if isinstance(gradient, Value) else Value(gradient)
            zero: Any = Value(0.0)
        else:
            seed = _to_float(gradient, "grad")
            zero = 0.0
        grads = {output: seed}
        get = grads.get
        node = output
        try:
            for node in reversed(_order(output, leaves=False)):
                g = grads[node]
                if not create_graph and g - g != 0.0:
                    raise _fail(node, f"gradient overflowed ({g!r})")
                for p, gp in zip(*_vjp(node, g, create_graph)):
                    prev = get(p)
                    grads[p] = gp if prev is None else prev + gp
        except GradientError:
            raise
        except (ArithmeticError, ValueError) as e:
            raise _fail(node, f"no finite derivative here ({e})") from e
    out = [get(x, zero) for x in xs]
    for x, gx in zip(xs, out):
        if not create_graph and gx - gx != 0.0:
            raise FloatingPointError(f"grad: gradient of {x!r} overflowed ({gx!r})")
    return out[0] if single else out


def zero_grad(values: Sequence[Value]) -> None:
    """Reset ``.grad`` of each value to 0.0."""
    for v in values:
        v.grad = 0.0
