"""Error forensics: what a backward pass that failed says about why.

A pass fails fast (an exception from a rule, a non-finite gradient found where it
is read) and only then looks closer, here: which op sent the non-finite gradient,
whether a rule's vjp returned the wrong shape or not a number, whether a node's
``_rule`` slot was edited by hand.  Nothing here runs on a pass that succeeds.
Used by :mod:`autograd.backward` (``backward``, ``replay``, ``grad``).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Callable

from . import checks
from .kinds import RuleKind, VjpShapeError
from .node import Node

if TYPE_CHECKING:
    from .value import Value

__all__ = [
    "GradientError", "bad_rule_slot", "explain", "gradient_error", "leaf_overflow_error",
    "not_a_number", "overflow_error",
]


class GradientError(FloatingPointError):
    """A derivative that is infinite, or a gradient that overflows, during backward."""


def gradient_error(node: Value, g: float, why: str) -> GradientError:
    """The error for ``node``, shown with ``g``, the gradient the pass gave it."""
    return GradientError(f"backward through {node.op!r} at {_shown(node, g)}: {why}")


def explain(node: Value, g: float, e: BaseException) -> BaseException:
    """What a failure in ``node``'s vjp means: a rule whose vjp does not return one
    number per input (named as such), no finite derivative at this point
    (GradientError), a ``_rule`` slot edited by hand to hold something else than a
    rule (named), or, for any other error, the error itself."""
    if isinstance(e, (TypeError, AttributeError)):
        bad = bad_rule_slot(node)
        if bad is not None:
            return bad
    if isinstance(e, (ArithmeticError, ValueError, TypeError)) and not isinstance(
        e, (GradientError, VjpShapeError)
    ):
        try:
            sent = node._rule.vjp_of(node, g)  # checks the shape of what the rule returns
        except VjpShapeError as shape:
            return shape
        except BaseException:
            sent = ()
        for gp in sent:
            if not isinstance(gp, numbers.Real):
                return not_a_number(node, gp)
        if not isinstance(e, TypeError):
            return gradient_error(node, g, f"no finite derivative here ({e})")
    return e


def bad_rule_slot(root: Value) -> TypeError | None:
    """The error for the first node behind ``root`` whose ``_rule`` slot holds
    neither a rule nor None (a node put there by hand, a cycle of them), if any.

    Walks as :func:`_order` does, but checks each slot before following it."""
    seen: set = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node in seen or not isinstance(node, Node):
            continue
        seen.add(node)
        r = node._rule
        if r is None:
            continue
        if not isinstance(r, RuleKind):
            return TypeError(
                f"backward: the _rule slot of {node!r} must hold a Rule or None, got "
                f"{checks.describe(r)} (was it set by hand?)"
            )
        try:
            stack.extend(r.parents(node))
        except Exception:  # a parent slot edited by hand: the error itself says more
            continue
    return None


def not_a_number(node: Value, sent: Any) -> TypeError:
    return TypeError(
        f"backward: the vjp of rule {node.op!r} must return a number per input, "
        f"got {checks.describe(sent)}"
    )


def overflow_error(
    target: Value, order: list[Value], grad_of: Callable[[Value], float], old_of: Callable
) -> GradientError | TypeError:
    """The error for a gradient found non-finite at ``target``: it names the op
    that sent ``target`` a non-finite gradient, or else says that finite
    gradients overflowed when summed into it.  ``grad_of`` gives each node's
    gradient in this pass, ``old_of(leaf, 0.0)`` a leaf's gradient before it."""
    for node in reversed(order):
        if node is target:
            break
        r = node._rule
        ps, gs = r.parents(node), r.vjp_of(node, grad_of(node))
        bad = [gp for p, gp in zip(ps, gs) if p is target and not checks.is_finite_real(gp)]
        if bad and not isinstance(bad[0], numbers.Real):
            return not_a_number(node, bad[0])
        if bad:
            sent = ", ".join(map(repr, gs)) if len(gs) <= 4 else f"{bad[0]!r} among {len(gs)}"
            return gradient_error(node, grad_of(node), f"gradient overflowed ({sent})")
    g = grad_of(target)
    if target._rule is not None:
        why = f"the gradients sent to it overflowed when summed ({g!r})"
        return gradient_error(target, g, why)
    return leaf_overflow_error(target, g, old_of(target, 0.0))


def leaf_overflow_error(leaf: Value, total: float, old: float) -> GradientError:
    return GradientError(
        f"backward: the gradient of {_leaf_name(leaf)} overflowed ({total!r}"
        + (f", with {old!r} accumulated before this pass)" if old else ")")
    )


def _leaf_name(leaf: Value) -> str:
    return f"leaf {leaf.label!r} (data {leaf._data!r})" if leaf.label else f"leaf {leaf!r}"


def _shown(node: Value, g: float) -> str:
    """``repr(node)`` as it reads while a pass has given it gradient ``g``."""
    lab = f", label={node.label!r}" if node.label else ""
    return f"Value(data={node._data!r}, grad={g!r}{lab})"
