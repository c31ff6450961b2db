"""Forward mode against reverse mode on one training example: the same gradient, other costs.

Reverse mode (backpropagation) gives the loss's gradient with respect to every weight in
one pass from the loss.  Forward mode gives the derivative along one direction per sweep:
moving one weight, one sweep gives that weight's gradient, so all of them take one sweep
per weight.  :func:`compare_modes` measures both on a model and one example (the time of
forward mode for all weights is the mean time of 50 sweeps, from weights spread over every
layer, multiplied out: running all of them would take seconds to minutes), and
:func:`mode_line` says it in one line for the demos.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

from autograd import grad
from autograd.forward import sweep
from nn import MLP, cross_entropy

_REPEATS = 5  # the fastest of a few runs: the machine's noise only ever adds time
_SAMPLE = 50  # weights whose forward sweeps are timed


@dataclass(frozen=True)
class ModeComparison:
    weight: str  # the weight both modes differentiate
    forward: float  # d loss / d weight, forward mode
    reverse: float  # the same, reverse mode
    weights: int  # how many weights the model has
    reverse_seconds: float  # one backward pass: every weight's gradient
    forward_seconds: float  # one forward sweep, one weight's gradient: the mean over a sample

    @property
    def forward_all_seconds(self) -> float:
        """One sweep per weight: what forward mode needs for the whole gradient."""
        return self.forward_seconds * self.weights


def compare_modes(model: MLP, x: Sequence[float], target: int, weight: str | None = None
                  ) -> ModeComparison:
    """Both modes on ``cross_entropy(model(x), target)`` for ``weight`` (a parameter's name;
    by default the one with the largest gradient, whose derivative is worth comparing)."""
    named = model.named_parameters()
    params = [p for _, p in named]
    loss = cross_entropy(model(x), target)
    reverse_seconds, grads = _fastest(lambda: grad(loss, params))
    if weight is None:
        k = max(range(len(params)), key=lambda i: abs(grads[i]))
    else:
        k = next((i for i, (n, _) in enumerate(named) if n == weight), None)
        if k is None:
            raise ValueError(f"compare_modes: the model has no parameter {weight!r}")
    tangents = sweep([loss], {params[k]: 1.0}, False)
    # A sweep's cost depends on the weight (a first layer's reaches more of the graph), so
    # the cost of all of them is estimated from weights spread over every layer.
    sample = params[:: max(1, len(params) // _SAMPLE)]
    start = time.perf_counter()
    for p in sample:
        sweep([loss], {p: 1.0}, False)
    forward_seconds = (time.perf_counter() - start) / len(sample)
    return ModeComparison(named[k][0], tangents.get(loss, 0.0), grads[k], len(params),
                          reverse_seconds, forward_seconds)


def _fastest(run: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(_REPEATS):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def mode_line(c: ModeComparison) -> str:
    """The comparison in one line (two, wrapped)."""
    return (
        f"forward vs reverse mode on one example: d loss/d {c.weight} = {c.forward:.6g} "
        f"(forward) = {c.reverse:.6g} (reverse);\n  reverse: 1 pass, {c.reverse_seconds * 1e3:.1f} "
        f"ms, gives all {c.weights:,} gradients; forward: 1 sweep per weight, "
        f"{c.forward_seconds * 1e3:.1f} ms each, {c.weights:,} sweeps ~ "
        f"{c.forward_all_seconds:.1f} s for all ({c.forward_all_seconds / c.reverse_seconds:,.0f}x)"
    )
