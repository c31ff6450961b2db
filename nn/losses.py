"""Loss functions built from engine ops, so backward flows through them.

Numerically stable forms throughout: softmax and cross-entropy subtract the
largest logit's *data* as a constant (the result does not depend on the shift,
so the gradient is unchanged and exact), and binary cross-entropy uses the
softplus form that never exponentiates a large positive number.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any, Union

from autograd import Value, checks, dot, vsum

from .module import Module

Scalar = Union[Value, float, int]


def _values(x: Any, who: str, what: str) -> list[Value]:
    """``x`` (one Value/number or a sequence of them) as a non-empty list of Values."""
    items = [x] if isinstance(x, (Value, numbers.Real)) else x
    if isinstance(items, (str, bytes, dict)) or not hasattr(items, "__iter__"):
        raise TypeError(
            f"{who}: {what} must be a Value, a number or a list of them, got {checks.describe(x)}"
        )
    out = []
    for i, v in enumerate(items):
        if isinstance(v, Value):
            out.append(v)
        elif isinstance(v, numbers.Real) and not isinstance(v, bool):
            out.append(Value(v))  # type: ignore[arg-type]  # Value takes any Real
        else:
            raise TypeError(
                f"{who}: {what}[{i}] must be a Value or a number, got {checks.describe(v)}"
            )
    if not out:
        raise ValueError(f"{who}: {what} is empty")
    return out


def _same_length(a: list, b: list, who: str, names: str) -> None:
    if len(a) != len(b):
        x, y = names.split(",")
        raise ValueError(f"{who}: {x} has {len(a)} values but {y} has {len(b)}")


def mse(pred: Scalar | Sequence[Scalar], target: Scalar | Sequence[Scalar]) -> Value:
    """Mean squared error ``mean((pred_i - target_i)**2)``."""
    ps = _values(pred, "mse", "pred")
    ts = _values(target, "mse", "target")
    _same_length(ps, ts, "mse", "pred,target")
    return vsum([(p - t) ** 2 for p, t in zip(ps, ts)]) / len(ps)


def softmax(logits: Sequence[Scalar]) -> list[Value]:
    """``exp(l_i) / sum_j exp(l_j)`` as Values, stable for any finite logits."""
    ls = _values(logits, "softmax", "logits")
    m = max(v.data for v in ls)
    exps = [(v - m).exp() for v in ls]
    total = vsum(exps)
    return [e / total for e in exps]


def _class_index(target: Any, n: int, who: str) -> int:
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise TypeError(
            f"{who}: target must be a class index (int), got {target!r} ({type(target).__name__})"
        )
    if not 0 <= target < n:  # type: ignore[operator]  # an Integral compares with int
        raise ValueError(
            f"{who}: target class index {target!r} is out of range for {n} logits "
            f"(expected 0..{n - 1})"
        )
    return int(target)


def cross_entropy(logits: Sequence[Scalar], target: int) -> Value:
    """Softmax cross-entropy ``logsumexp(logits) - logits[target]`` for one sample.

    Stable for logits of +-1000: the largest logit is subtracted (as a constant) first.
    """
    ls = _values(logits, "cross_entropy", "logits")
    t = _class_index(target, len(ls), "cross_entropy")
    m = max(v.data for v in ls)
    shifted = [v - m for v in ls]
    return vsum([s.exp() for s in shifted]).log() - shifted[t]


def _bce_one(x: Value, y: Scalar) -> Value:
    # softplus(x) - x*y, with softplus written so exp never sees a large positive
    # argument; the branch is on data only, and both branches are the same smooth
    # function, so the gradient is exact everywhere (including x = 0).
    if x.data >= 0.0:
        softplus = x + ((-x).exp() + 1.0).log()
    else:
        softplus = (x.exp() + 1.0).log()
    return softplus - x * y


def binary_cross_entropy_with_logits(
    logit: Scalar | Sequence[Scalar], y: Scalar | Sequence[Scalar]
) -> Value:
    """``-(y log σ(x) + (1-y) log(1-σ(x)))`` from the logit ``x``; mean over a list.

    Targets are probabilities in [0, 1] (usually 0 or 1).
    """
    who = "binary_cross_entropy_with_logits"
    xs = _values(logit, who, "logit")
    ys = _values(y, who, "y")
    _same_length(xs, ys, who, "logit,y")
    for i, t in enumerate(ys):
        if not 0.0 <= t.data <= 1.0:
            raise ValueError(f"{who}: y[{i}] must be in [0, 1], got {t.data!r}")
    losses = [_bce_one(x, t) for x, t in zip(xs, ys)]
    return losses[0] if len(losses) == 1 else vsum(losses) / len(losses)


def hinge_loss(scores: Scalar | Sequence[Scalar], labels: int | Sequence[int]) -> Value:
    """micrograd's max-margin loss ``mean(relu(1 - y_i * score_i))`` with labels -1 or +1."""
    ss = _values(scores, "hinge_loss", "scores")
    if isinstance(labels, numbers.Real):
        ys = [labels]
    else:
        ys = checks.sequence(labels, "hinge_loss", "labels", "-1 or +1 labels")
    if len(ys) != len(ss):
        raise ValueError(f"hinge_loss: scores has {len(ss)} values but labels has {len(ys)}")
    for i, y in enumerate(ys):
        if isinstance(y, bool) or y not in (-1, 1):
            raise ValueError(f"hinge_loss: labels must be -1 or +1, got {y!r} at index {i}")
    # y is -1 or +1 (checked above), which mypy cannot see through numbers.Real
    return vsum([(1.0 - s * y).relu() for s, y in zip(ss, ys)]) / len(ss)  # type: ignore[attr-defined, operator]


def l2_penalty(params: Module | Iterable[Value], alpha: float = 1e-4) -> Value:
    """``alpha * sum(p**2)`` over ``params`` (a Module or Values), as one ``dot`` node."""
    if isinstance(params, Module):
        ps = params.parameters()
    else:
        ps = checks.sequence(params, "l2_penalty", "params", "Values (or a Module)")
    for i, p in enumerate(ps):
        checks.value(p, "l2_penalty", f"params[{i}]")
    if not ps:
        raise ValueError("l2_penalty: params is empty")
    alpha = checks.number(alpha, "l2_penalty", "alpha")
    return alpha * dot(ps, ps)
