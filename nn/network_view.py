"""What the explainer's network figure shows, computed: ``network_view(model, x, target)``.

:func:`nn.draw_network` draws a :class:`NetworkView`; this module decides what is in
it and never how it looks.  It checks the arguments, runs the model on ``x`` with
:func:`nn.run_layers` and, given a ``target``, takes the gradients backprop's steps
show: of every weight and of every neuron's weighted input ``z``.

The loss behind the gradients is the one ``demos.digits`` trains with: for a
class index and a linear output layer, ``nn.cross_entropy(outputs, target)``,
whose gradient at each raw output is exactly ``softmax - one_hot``, the
explainer's "current activation minus desired".  Otherwise (a list of desired
outputs, or ``loss="mse"``) it is ``nn.mse(current, desired)``, ``current``
being the outputs or, when the output column shows them, their softmax
probabilities.  Gradients come from ``autograd.grad``, so the model's
``.grad`` is never touched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from autograd import Value, checks
from autograd import grad as gradients

from .layers import MLP
from .losses import cross_entropy, mse
from .losses import softmax as softmax_of
from .run import NetworkRun, check_model, run_layers

__all__ = ["LOSSES", "NetworkView", "Scale", "network_view"]

LOSSES = ("cross_entropy", "mse")
WHO = "draw_network"  # the public call whose arguments these are


@dataclass
class NetworkView:
    """What :func:`nn.draw_network` draws: the model's columns, and the backprop step shown."""

    model: MLP
    layers: list
    nin: int
    step: int | None
    top_k: int | None
    shape: tuple[int, int] | None
    run: NetworkRun | None  # the forward pass (None without an input)
    acts: list | None  # each column's Values, input first (None without an input)
    desired: list | None
    softmax: bool
    loss: str | None
    current: list | None  # the output column as shown
    compared: list | None  # the output column as the loss compares it
    weights: list
    wgrad: list | None  # d loss / d weight per connection
    dgrad: list | None  # d loss / d pre-activation per neuron
    active: set  # layers whose connections show their update


@dataclass(frozen=True)
class Scale:
    """The magnitudes a network picture draws at full width or shade: one per quantity.

    ``weight``: |weight| (forward view's line widths); ``grad``: |gradient| (a
    backprop step's line widths and rings); ``activation``: a hidden or output
    neuron's |activation| (its grey); ``input``: an input's |value| (a pixel's
    grey).  Anything at or above the scale is drawn full; anything non-zero at
    least faintly (:data:`autograd.style.MIN_TINT`).  Pass one ``Scale`` to every
    picture of a sequence (``draw_network(..., scale=s)``) and their widths and
    shades compare by eye; :meth:`of` measures one that covers them all.
    """

    weight: float = 1.0
    grad: float = 1.0
    activation: float = 1.0
    input: float = 1.0

    def __post_init__(self) -> None:
        for name in ("weight", "grad", "activation", "input"):
            v = checks.number(getattr(self, name), "Scale", name, low=0.0, low_open=True)
            object.__setattr__(self, name, v)

    @classmethod
    def of(cls, models: Any, xs: Any = None, targets: Any = None, *,
           loss: str | None = None, softmax: bool | None = None) -> Scale:
        """The largest of each quantity over ``models`` (one MLP or several: snapshots of one
        during training), each run on the inputs ``xs`` (a list of inputs) with ``targets``
        (one per input, or None for the forward view only)."""
        models = [models] if isinstance(models, MLP) else list(models)
        if not models:
            raise ValueError("Scale.of: needs at least one model, got none")
        xs = [None] if xs is None else list(xs)
        targets = [None] * len(xs) if targets is None else list(targets)
        if len(targets) != len(xs):
            raise ValueError(f"Scale.of: {len(targets)} targets for {len(xs)} inputs")
        top = dict.fromkeys(("weight", "grad", "activation", "input"), 0.0)
        for model in models:
            for x, t in zip(xs, targets):
                found = maxima(network_view(model, x, t, loss=loss, softmax=softmax))
                top = {k: max(m, found[k]) for k, m in top.items()}
        return cls(**{k: (m if m > 0.0 else 1.0) for k, m in top.items()})


def maxima(v: NetworkView) -> dict:
    """The largest |weight|, |gradient|, |activation| and |input| one view draws (0 if none)."""
    top = {"weight": _largest(w.data for ws in _all(v.weights) for w in ws),
           "grad": 0.0, "activation": 0.0, "input": 0.0}
    if v.wgrad is not None and v.dgrad is not None:
        top["grad"] = max(_largest(g for gs in _all(v.wgrad) for g in gs),
                          _largest(g for d in v.dgrad for g in d))
    if v.acts is not None and v.current is not None:
        top["input"] = _largest(a.data for a in v.acts[0])
        hidden = [a.data for col in v.acts[1:-1] for a in col]
        top["activation"] = _largest(hidden + ([] if v.softmax else list(v.current)))
    return top


def scale_of(v: NetworkView) -> Scale:
    """The scale of one picture on its own: its largest of each quantity."""
    return Scale(**{k: (m if m > 0.0 else 1.0) for k, m in maxima(v).items()})


def _all(layers: list) -> list:
    return [ws for layer in layers for ws in layer]


def _largest(xs: Any) -> float:
    return max((abs(x) for x in xs), default=0.0)


def network_view(
    model: Any, x: Any = None, target: Any = None, *, step: Any = None, top_k: Any = None,
    softmax: Any = None, loss: Any = None, input_shape: Any = None,
) -> NetworkView:
    """Check draw_network's arguments, run the forward pass and the backprop it shows."""
    model = check_model(model, WHO)
    layers = list(model.layers)
    nin = model.nin
    nout = len(layers[-1].neurons)
    if target is not None and x is None:
        raise ValueError("draw_network: a target needs the input x it is the target for")
    step = _check_step(step, len(layers), target is not None)
    if top_k is not None:
        checks.integer(top_k, "draw_network", "top_k", low=1)
    shape = _input_shape(input_shape, nin)

    run = run_layers(model, x, who=WHO) if x is not None else None
    acts = run.columns if run is not None else None
    desired, is_class = _desired(target, nout) if target is not None else (None, False)
    linear = layers[-1].neurons[0].activation == "linear"
    loss = _check_loss(loss, target, is_class, nout, linear)
    if softmax is None:
        softmax = nout > 1 and linear and (target is None or is_class)
    current = compared = None
    if acts is not None:
        probs = [v.data for v in softmax_of(acts[-1])]
        current = probs if softmax else [v.data for v in acts[-1]]
        # Cross-entropy compares the probabilities with the one-hot target, whatever is shown.
        compared = probs if loss == "cross_entropy" else current

    weights = [[list(n.w) for n in layer.neurons] for layer in layers]
    wgrad = dgrad = None
    if loss is not None:
        assert run is not None and acts is not None and desired is not None  # a loss needs x
        objective = loss_of(loss, acts[-1], target, desired, softmax)
        wgrad, dgrad = _backprop(objective, run, weights)
    active = _active_layers(step, len(layers), desired is not None)
    return NetworkView(
        model, layers, nin, step, top_k, shape, run, acts, desired, softmax, loss, current,
        compared, weights, wgrad, dgrad, active,
    )


def _check_step(step: Any, n_layers: int, has_target: bool) -> int | None:
    if step is None:
        return None
    step = checks.integer(step, "draw_network", "step", low=1, high=n_layers + 1)
    if not has_target:
        raise ValueError(f"draw_network: step={step} shows backprop, which needs x and a target")
    return step


def _desired(target: Any, nout: int) -> tuple[list[float], bool]:
    """The desired outputs, and whether ``target`` was a class index."""
    if isinstance(target, int) and not isinstance(target, bool):
        if not 0 <= target < nout:
            raise ValueError(
                f"draw_network: target class {target} is out of range for {nout} outputs"
            )
        if nout < 2:
            raise ValueError("draw_network: a class-index target needs at least 2 outputs")
        return [1.0 if j == target else 0.0 for j in range(nout)], True
    if isinstance(target, (str, bytes)) or not isinstance(target, Sequence):
        raise TypeError(
            f"draw_network: target must be a class index or a list of {nout} desired outputs, "
            f"got {target!r}"
        )
    if len(target) != nout:
        raise ValueError(f"draw_network: target has {len(target)} values for {nout} outputs")
    return [checks.number(t, "draw_network", f"target[{i}]") for i, t in enumerate(target)], False


def _check_loss(loss: Any, target: Any, is_class: bool, nout: int, linear: bool) -> str | None:
    """The loss to take gradients of (None without a target): ``loss`` or the default."""
    if loss is not None and (not isinstance(loss, str) or loss not in LOSSES):
        raise ValueError(
            f"draw_network: loss must be one of {', '.join(map(repr, LOSSES))} or None, "
            f"got {loss!r}"
        )
    if target is None:
        if loss is not None:
            raise ValueError(
                f"draw_network: loss={loss!r} is backprop's loss, which needs a target"
            )
        return None
    if loss is None:
        # What demos.digits trains a classifier with; mse for anything else.
        return "cross_entropy" if is_class and linear and nout > 1 else "mse"
    if loss == "cross_entropy" and not (is_class and nout > 1):
        raise ValueError(
            f"draw_network: loss='cross_entropy' needs a class-index target and more than one "
            f"output, got target={target!r} for {nout} output{'s' if nout > 1 else ''}"
        )
    return loss


def loss_of(loss: str, outs: list, target: Any, desired: list, softmax: bool) -> Value:
    if loss == "cross_entropy":
        return cross_entropy(outs, target)
    return mse(softmax_of(outs) if softmax else outs, desired)


def _input_shape(shape: Any, nin: int) -> tuple[int, int] | None:
    if shape is None:
        side = math.isqrt(nin)
        return (side, side) if nin >= 64 and side * side == nin else None
    if (
        not isinstance(shape, (tuple, list))
        or len(shape) != 2
        or not all(isinstance(s, int) and s > 0 for s in shape)
        or shape[0] * shape[1] != nin
    ):
        raise ValueError(
            f"draw_network: input_shape must be (rows, cols) with rows * cols == {nin}, "
            f"got {shape!r}"
        )
    return (shape[0], shape[1])


def _backprop(loss: Value, run: NetworkRun, weights: list) -> tuple[list, list]:
    """d loss / d weight per connection, and d loss / d weighted input per neuron."""
    zs = [z for layer in run for z in layer.z]
    flat = [w for layer in weights for ws in layer for w in ws]
    gs = gradients(loss, flat + zs)
    it = iter(gs[: len(flat)])
    wgrad = [[[next(it) for _ in ws] for ws in layer] for layer in weights]
    zit = iter(gs[len(flat) :])
    dgrad = [[next(zit) for _ in layer.z] for layer in run]
    return wgrad, dgrad


def _active_layers(step: int | None, n_layers: int, has_target: bool) -> set:
    """Layers whose connections show their update (all in the full backprop view)."""
    if not has_target:
        return set()
    if step is None:
        return set(range(n_layers))
    if step == 1:
        return set()
    return {n_layers - (step - 1)}
