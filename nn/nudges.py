"""Nudges over a batch: each example's gradient, and their average, which is what SGD steps by.

Backprop on one example says how every weight and bias "wants" to move for that
example.  A minibatch step moves them by the *average* of those wishes (the
gradient of the mean loss), so nudges that disagree between examples cancel and
the ones they share add up: 3Blue1Brown's part 3.  :func:`batch_nudges` computes
each example's gradients with the engine (``autograd.grad`` on its own loss, the
model's ``.grad`` untouched) and their mean, per parameter and per neuron (the
gradient at each neuron's weighted input ``z``, ``dL/dz``, which is also the
gradient of its bias).  :meth:`BatchNudges.draw` shows a few examples' nudges
beside the average, on one scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from autograd import checks, enable_grad
from autograd import grad as gradients

from .image_grid import Panel, SvgPicture, draw_grid, reshape
from .layers import MLP
from .losses import cross_entropy, mse
from .run import check_model, run_layers

__all__ = ["BatchNudges", "batch_nudges"]


@dataclass(frozen=True)
class BatchNudges:
    """Per-example gradients of one minibatch and their mean.

    ``names``: the model's parameter names (``named_parameters`` order);
    ``param_grads[e][p]``: example ``e``'s ``dL_e/d param p``; ``z_grads[e][l][j]``:
    example ``e``'s ``dL_e/dz`` at neuron ``j`` of layer ``l``; ``losses[e]`` its loss.
    ``mean_param_grads`` and ``mean_z_grads`` average them over the batch: the gradient
    of the batch's mean loss.  A descent step's nudge is minus the gradient
    (:meth:`nudge`).
    """

    names: list[str]
    X: list[list[float]]
    y: list[Any]
    losses: list[float]
    param_grads: list[list[float]]
    z_grads: list[list[list[float]]]
    mean_param_grads: list[float]
    mean_z_grads: list[list[float]]
    loss: str

    @property
    def mean_loss(self) -> float:
        return math.fsum(self.losses) / len(self.losses)

    def nudge(self, name: str, example: int | None = None) -> float:
        """``-grad`` of parameter ``name``: for ``example`` (an index in the batch), or
        averaged over the batch (``None``)."""
        if name not in self.names:
            raise ValueError(f"BatchNudges.nudge: no parameter named {checks.describe(name)}")
        p = self.names.index(name)
        if example is None:
            return -self.mean_param_grads[p]
        e = checks.integer(example, "BatchNudges.nudge", "example", low=0,
                           high=len(self.losses) - 1)
        return -self.param_grads[e][p]

    def draw(self, show: int = 4, shape: tuple[int, int] | None = None,
             title: str | None = None) -> SvgPicture:
        """The first ``show`` examples' nudges, one row each, and the batch's average below.

        Columns: the example, then each layer's neuron nudges ``-dL/dz`` (one cell per
        neuron), then the output layer's weight nudges (one row per output neuron).
        Every row of a column is on one colour scale: the average's shades compare
        with the examples'.
        """
        n = len(self.losses)
        show = checks.integer(show, "BatchNudges.draw", "show", low=1, high=n)
        nin = len(self.X[0])
        if shape is None:
            side = math.isqrt(nin)
            shape = (side, side) if side * side == nin else (1, nin)
        elif not (isinstance(shape, (tuple, list)) and len(shape) == 2
                  and all(isinstance(s, int) and s > 0 for s in shape)
                  and shape[0] * shape[1] == nin):
            raise ValueError(f"BatchNudges.draw: shape must be (rows, cols) with rows * cols == "
                             f"{nin}, got {checks.describe(shape)}")
        n_layers = len(self.z_grads[0])
        last = f"layers.{n_layers - 1}."
        wcols = [i for i, name in enumerate(self.names) if name.startswith(last) and ".w." in name]
        nout = len(self.z_grads[0][-1])
        fan = len(wcols) // nout

        def out_weights(grads: list[float]) -> list[list[float]]:
            return reshape([-grads[i] for i in wcols], (nout, fan))

        zs = [self.z_grads[e] for e in range(show)] + [self.mean_z_grads]
        ws = [out_weights(self.param_grads[e]) for e in range(show)]
        ws.append(out_weights(self.mean_param_grads))
        zscale = [max((abs(g) for row in zs for g in row[li]), default=0.0)
                  for li in range(n_layers)]
        wscale = max((abs(g) for m in ws for r in m for g in r), default=0.0)
        rows = []
        for r in range(show + 1):
            mean = r == show
            x = [sum(col) / n for col in zip(*self.X)] if mean else self.X[r]
            cells = [Panel(reshape(x, shape), "ink", 1.0,
                           caption="mean image" if mean else f"label {self.y[r]}")]
            for li in range(n_layers):
                top = max(abs(g) for g in zs[r][li])
                cells.append(Panel([[-g] for g in zs[r][li]], "signed", zscale[li],
                                   highlight=mean, caption=f"max {top:.2g}",
                                   pixel=max(4.0, min(10.0, 140.0 / len(zs[r][li])))))
            cells.append(Panel(ws[r], "signed", wscale, highlight=mean,
                               caption=f"max {max(abs(g) for m in ws[r] for g in m):.2g}; "
                               f"loss {self.mean_loss if mean else self.losses[r]:.3g}"))
            rows.append(cells)
        names = [f"layers.{li}\n−dL/dz\n±{zscale[li]:.2g}" for li in range(n_layers)]
        heads = ["example", *names,
                 f"{last[:-1]} weights −grad\n(row: output, col: input)\n±{wscale:.2g}"]
        head = title or (f"Nudges of {show} examples of a batch of {n}, and the batch's average "
                         "(what one SGD step uses)")
        legend = ("colour = the direction one descent step moves it (nudge = −gradient): "
                  "blue raise, red lower; each column on one scale (±, full colour)")
        notes = [f"loss: {self.loss}; a neuron's −dL/dz is also its bias's nudge",
                 f"last row: the average over all {n} examples (framed); the examples above "
                 "are the batch's first"]
        return draw_grid(rows, title=head, legend=legend, notes=notes,
                         row_titles=[f"#{r + 1}" for r in range(show)] + ["mean"],
                         column_titles=heads)


def batch_nudges(model: MLP, X: Sequence[Sequence[float]], y: Sequence[Any], *,
                 loss: str = "cross_entropy") -> BatchNudges:
    """Each example's gradients (of its own loss) and their mean over the batch ``X, y``.

    ``loss``: ``"cross_entropy"`` (``y`` class indices, as the digits demos train)
    or ``"mse"`` (``y`` lists of desired outputs).  The model's ``.grad`` is not
    touched; the mean is exactly the gradient of the mean loss (up to rounding).
    """
    model = check_model(model, "batch_nudges")
    X = checks.sequence(X, "batch_nudges", "X", "examples")
    y = checks.sequence(y, "batch_nudges", "y", "targets")
    if not X:
        raise ValueError("batch_nudges: X is empty")
    if len(X) != len(y):
        raise ValueError(f"batch_nudges: {len(X)} examples but {len(y)} targets")
    if loss not in ("cross_entropy", "mse"):
        raise ValueError(f"batch_nudges: loss must be 'cross_entropy' or 'mse', got "
                         f"{checks.describe(loss)}")
    named = list(model.named_parameters())
    names = [name for name, _ in named]
    params = [p for _, p in named]
    losses, pgrads, zgrads = [], [], []
    xs = []
    with enable_grad():
        for x, t in zip(X, y):
            run = run_layers(model, x, who="batch_nudges")
            xs.append([v.data for v in run.inputs])
            objective = (cross_entropy(run.outputs, t) if loss == "cross_entropy"
                         else mse(run.outputs, t))
            zs = [z for layer in run for z in layer.z]
            gs = gradients(objective, params + zs)
            losses.append(objective.data)
            pgrads.append(gs[: len(params)])
            it = iter(gs[len(params):])
            zgrads.append([[next(it) for _ in layer.z] for layer in run])
    n = len(X)
    mean_p = [math.fsum(col) / n for col in zip(*pgrads)]
    mean_z = [[math.fsum(e[li][j] for e in zgrads) / n for j in range(len(zgrads[0][li]))]
              for li in range(len(zgrads[0]))]
    return BatchNudges(names, xs, list(y), losses, pgrads, zgrads, mean_p, mean_z, loss)
