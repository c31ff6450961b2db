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
from operator import attrgetter
from typing import Any

from .value import Value, _to_float, enable_grad

__all__ = ["GradientError", "backward", "backward_order", "grad", "topological_order", "zero_grad"]


def _parents(node: Value) -> tuple:
    ar = node._rule.arity
    if ar == 2:
        return (node._a, node._b)
    if ar == 1:
        return (node._a,)
    return node._a


def _order(
    root: Value, leaves: bool, stash: dict | None = None, leaf_uses: list | None = None
) -> list[Value]:
    """Iterative DFS post-order: every node after all of its inputs.

    ``leaves=False`` leaves out leaf nodes, which the hot backward path never
    needs to visit.  With a ``stash`` dict, every node found (leaves too) has
    its gradient zeroed, saving backward a second sweep; nonzero gradients are
    saved in ``stash`` first, and each use of a leaf is appended to ``leaf_uses``.
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
    stack = [(root, iter(_parents(root)))]
    push, pop = stack.append, stack.pop
    while stack:
        node, it = stack[-1]
        for p in it:
            r = p._rule
            if r is None:
                if leaves and p not in seen:
                    add(p)
                    append(p)
                elif stash is not None:
                    if p.grad:  # zeroed now, so saved once
                        stash[p] = p.grad
                        p.grad = 0.0
                    leaf_uses.append(p)  # type: ignore[union-attr]
                continue
            if p in seen:
                continue
            add(p)
            if stash is not None and p.grad:
                stash[p] = p.grad
                p.grad = 0.0
            # _parents() inlined: this loop runs once per edge of the graph
            ar = r.arity
            push((p, iter((p._a, p._b) if ar == 2 else (p._a,) if ar == 1 else p._a)))
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
    leaf_uses: list = []
    order = _order(root, leaves=False, stash=stash, leaf_uses=leaf_uses)
    if not order:  # root is a leaf
        root.grad += seed
        return
    root.grad = seed
    node = root
    try:
        for node in reversed(order):
            r = node._rule
            g = node.grad
            ar = r.arity
            if ar == 2:
                a = node._a
                b = node._b
                ga, gb = r.vjp(g, node.data, a.data, b.data)
                if ga - ga != 0.0 or gb - gb != 0.0:
                    raise _fail(node, f"gradient overflowed ({ga!r}, {gb!r})")
                a.grad += ga
                b.grad += gb
            elif ar == 1:
                a = node._a
                (ga,) = r.vjp(g, node.data, a.data)
                if ga - ga != 0.0:
                    raise _fail(node, f"gradient overflowed ({ga!r})")
                a.grad += ga
            else:
                ps = node._a
                gs = r.vjp(g, node.data, [p.data for p in ps])
                s = sum(gs)  # one C-level pass: non-finite if any element is...
                # ...or if finite elements overflow when summed, hence the recheck
                if s - s != 0.0 and any(gp - gp != 0.0 for gp in gs):
                    raise _fail(node, "gradient overflowed")
                for p, gp in zip(ps, gs):
                    p.grad += gp
        for n, old in stash.items():
            if n._rule is None:
                n.grad += old
        # No op reads a leaf's total, so the checks above never saw it: sum them
        # all in C, and look for the culprit only if that sum is not finite.
        total = sum(map(_GRAD, leaf_uses))
        if total - total != 0.0:
            for n in leaf_uses:
                if n.grad - n.grad != 0.0:
                    old = stash.get(n, 0.0)
                    raise GradientError(
                        f"backward: the gradient of {_leaf_name(n)} overflowed ({n.grad!r}"
                        + (f", with {old!r} accumulated before this pass)" if old else ")")
                    )
    except BaseException as e:
        _restore(order, stash)
        if isinstance(e, GradientError) or not isinstance(e, (ArithmeticError, ValueError)):
            raise
        raise _fail(node, f"no finite derivative here ({e})") from e


_GRAD = attrgetter("grad")


def _leaf_name(leaf: Value) -> str:
    return f"leaf {leaf.label!r} (data {leaf.data!r})" if leaf.label else f"leaf {leaf!r}"


def _restore(order: list[Value], stash: dict) -> None:
    """Put back the gradients a failed pass found (zero unless stashed)."""
    get = stash.get
    for node in order:
        node.grad = get(node, 0.0)
        for p in _parents(node):
            p.grad = get(p, 0.0)


def _vjp(node: Value, g: Any, create_graph: bool) -> tuple:
    r = node._rule
    ps = _parents(node)
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
