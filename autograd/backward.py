"""Reverse-mode backpropagation over an iteratively built order.

No recursion anywhere, so graphs of any depth work under Python's default
recursion limit.  A node is processed once every node that consumes it has
been (Kahn's algorithm, from the output back), which gives each node its full
gradient before it passes that gradient on.  The order depends only on the
graph's structure, so gradients are bit-identical in every process.
"""

from __future__ import annotations

from typing import Any, Sequence, Union, overload

from .value import Value, _to_float, enable_grad

__all__ = ["backward", "backward_order", "grad", "topological_order", "zero_grad"]


def _parents(node: Value) -> tuple:
    ar = node._rule.arity
    if ar == 2:
        return (node._a, node._b)
    if ar == 1:
        return (node._a,)
    return node._a


def _consumer_counts(root: Value) -> dict:
    """How many times each reachable node is used as an input within the graph."""
    counts = {root: 0}
    get = counts.get
    stack = [root]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        if node._rule is None:
            continue
        for p in _parents(node):
            c = get(p)
            if c is None:
                counts[p] = 1
                push(p)
            else:
                counts[p] = c + 1
    return counts


def backward_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, each after all of its consumers (root first)."""
    counts = _consumer_counts(root)
    order = []
    ready = [root]
    while ready:
        node = ready.pop()
        order.append(node)
        if node._rule is None:
            continue
        for p in _parents(node):
            c = counts[p] - 1
            counts[p] = c
            if c == 0:
                ready.append(p)
    return order


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, inputs first and ``root`` last."""
    return backward_order(root)[::-1]


def _backprop(root: Value, seed: Any, create_graph: bool) -> tuple[list, dict]:
    """Gradients of ``root`` w.r.t. every node it depends on, as ``(order, grads)``."""
    counts = _consumer_counts(root)
    grads = {root: seed}
    get = grads.get
    order = []
    ready = [root]
    pop, push = ready.pop, ready.append
    node = root
    try:
        while ready:
            node = pop()
            order.append(node)
            r = node._rule
            if r is None:
                continue
            g = grads[node]
            ar = r.arity
            if create_graph:
                ps = _parents(node)
                gs = r.vjp(g, node, *ps) if ar else r.vjp(g, node, ps)
            elif ar == 2:
                a, b = ps = (node._a, node._b)
                gs = r.vjp(g, node.data, a.data, b.data)
            elif ar == 1:
                a = node._a
                ps = (a,)
                gs = r.vjp(g, node.data, a.data)
            else:
                ps = node._a
                gs = r.vjp(g, node.data, tuple([p.data for p in ps]))
            for p, gp in zip(ps, gs):
                if not create_graph and gp - gp != 0.0:
                    raise OverflowError(f"gradient {gp!r} sent to input {p!r}")
                prev = get(p)
                grads[p] = gp if prev is None else prev + gp
                c = counts[p] - 1
                counts[p] = c
                if c == 0:
                    push(p)
    except (ArithmeticError, ValueError) as e:
        raise FloatingPointError(
            f"backward through {node.op!r} at {node!r} failed: {e}"
        ) from e
    return order, grads


def backward(root: Value, gradient: Any = 1.0) -> None:
    """Backpropagate from ``root``, filling ``.grad`` of every node it depends on.

    Interior nodes get this pass's gradient (overwritten each call); leaves
    accumulate across calls until zeroed, as in PyTorch.  Nothing is written if
    the pass fails.
    """
    seed = _to_float(gradient, "backward")
    order, grads = _backprop(root, seed, False)
    for node in order:
        g = grads[node]
        if node._rule is None:
            total = node.grad + g
            if total - total != 0.0:
                raise OverflowError(f"backward: accumulated gradient of {node!r} overflows")
    for node in order:
        if node._rule is None:
            node.grad += grads[node]
        else:
            node.grad = grads[node]


@overload
def grad(output: Value, inputs: Value, create_graph: bool = ..., gradient: Any = ...) -> Any: ...
@overload
def grad(
    output: Value, inputs: Sequence[Value], create_graph: bool = ..., gradient: Any = ...
) -> list: ...


def grad(
    output: Value,
    inputs: Union[Value, Sequence[Value]],
    create_graph: bool = False,
    gradient: Any = 1.0,
) -> Any:
    """Gradients of ``output`` w.r.t. ``inputs``, without touching any ``.grad``.

    Returns floats, or with ``create_graph=True`` Values that are themselves
    differentiable (second derivatives, Hessian-vector products...).  An input
    that ``output`` does not depend on gets zero.
    """
    single = isinstance(inputs, Value)
    xs = [inputs] if single else list(inputs)
    for x in xs:
        if not isinstance(x, Value):
            raise TypeError(f"grad: inputs must be Values, got {x!r} ({type(x).__name__})")
    if create_graph:
        with enable_grad():
            seed = gradient if isinstance(gradient, Value) else Value(gradient)
            _, grads = _backprop(output, seed, True)
            zero = Value(0.0)
    else:
        _, grads = _backprop(output, _to_float(gradient, "grad"), False)
        zero = 0.0
    out = [grads.get(x, zero) for x in xs]
    return out[0] if single else out


def zero_grad(values: Sequence[Value]) -> None:
    """Reset ``.grad`` of each value to 0.0."""
    for v in values:
        v.grad = 0.0
