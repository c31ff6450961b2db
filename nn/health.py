"""What ``nn.diagnose`` measures: one batch's statistics per layer, and the findings.

The classic ways a network fails to train (Karpathy's "A Recipe for Training
Neural Networks", CS231n's notes) show in statistics of one batch:

* **dead** ReLUs, which output 0 for every sample, so no gradient ever reaches
  their weights again;
* **saturated** tanh or sigmoid units, stuck near ±1 (0 or 1) where their
  derivative, and so the gradient they pass back, is nearly 0;
* **vanishing** or **exploding** gradients: the gradient that backpropagation
  sends into a layer shrinks or grows by a large factor on its way back from
  the output, so early layers learn far slower (or far faster) than late ones;
  and **exploding** activations, a layer whose outputs dwarf its inputs;
* a **learning rate too high**: a step that would move a layer's weights by
  far more than Karpathy's "about 1e-3" of their size.

Design.  Each sample goes forward through :func:`nn.run_layers`, which keeps
every layer's activations and, behind each, the neuron's weighted input
``z = w·x + b``.  One ``backward()`` of the mean loss then fills the gradients
of the weights *and* of every ``z``: the second is the signal that vanishes or
explodes.  (Weight gradients alone cannot show it: a weight's gradient is the
signal times the layer's input, and in a network of near-linear layers with
zero biases a small signal deep in the network meets a large input and a large
signal a small one, so weight gradients come out alike in every layer while
the signal itself fell by 10,000.  They are still reported, with their ratio
to the next layer's and, given ``lr``, the update-to-weight ratio.)  Every
node's ``.grad`` is saved before and restored after, so diagnosing in the
middle of a training loop changes nothing.

Every statistic is computed scaled by the largest magnitude it sums (a norm
is ``m·sqrt(Σ(x/m)²)``), so a network with weights of 1e160, whose squares
overflow a float, is measured and reported as exploding, never an
``OverflowError``.  How the findings are shown (table, HTML, plot) is
``nn.diagnose``'s; the thresholds are here, and docs/nn.md gives the reasons for each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Union

from autograd import Value, checks, enable_grad, topological_order, vsum

from .layers import MLP
from .losses import binary_cross_entropy_with_logits, cross_entropy, hinge_loss, mse
from .run import NetworkRun, check_model, run_layers

__all__ = [
    "DEAD_UNITS",
    "EXPLODING",
    "HEALTHY_UPDATE_RATIO",
    "KINDS",
    "LOSSES",
    "SATURATED_SAMPLES",
    "SATURATED_UNITS",
    "SIGMOID_BOUND",
    "TANH_BOUND",
    "TOO_HIGH_UPDATE_RATIO",
    "VANISHING",
    "LayerStats",
    "Measurement",
    "Problem",
    "findings",
    "mean_std",
    "measure",
    "norm",
    "number",
    "power",
    "rms",
    "times",
]

# --- thresholds (reasons in docs/nn.md) ----------------------------------------------------

#: A layer is reported dead when at least this fraction of its ReLUs never fire on the batch.
DEAD_UNITS = 0.5
#: A tanh unit is saturated on a sample when ``|a| > TANH_BOUND``: tanh' = 1 - a² < 0.06 there.
TANH_BOUND = 0.97
#: A sigmoid unit is saturated outside ``[SIGMOID_BOUND, 1 - SIGMOID_BOUND]``: the same point of
#: the same curve as tanh's bound (sigmoid(z) = (1 + tanh(z/2)) / 2), derivative < 6% of its peak.
SIGMOID_BOUND = (1.0 - TANH_BOUND) / 2.0
#: A unit counts as saturated when it is beyond the bound on more than this fraction of samples.
SATURATED_SAMPLES = 0.5
#: A layer is reported saturated when at least this fraction of its tanh/sigmoid units are.
SATURATED_UNITS = 0.25
#: Vanishing: the gradient reaching a layer's neurons (RMS) is below this fraction of the
#: output layer's.
VANISHING = 1e-2
#: Exploding: the gradient reaching a layer's neurons (RMS) is above this multiple of the
#: output layer's; or the layer's outputs (RMS, above 1) are above this multiple of its inputs'.
EXPLODING = 1e2
#: Karpathy's rule of thumb for the update-to-weight ratio ``lr·‖∇W‖/‖W‖``: about 1e-3.
HEALTHY_UPDATE_RATIO = 1e-3
#: Learning rate too high: a layer's update ratio is above ten times the rule.
TOO_HIGH_UPDATE_RATIO = 10 * HEALTHY_UPDATE_RATIO


Loss = Callable[[Any, Any], Value]
Output = Union[Value, list]  # what model(x) returns: one Value, or a list of them
LOSSES: dict[str, Loss] = {
    "cross_entropy": cross_entropy,
    "mse": mse,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "hinge_loss": hinge_loss,
}
_SQUASHING = ("tanh", "sigmoid")
KINDS = ("dead", "saturated", "vanishing", "exploding", "learning rate too high")


@dataclass(frozen=True)
class Problem:
    """One finding: ``layer`` (``"layers.0"``), ``kind`` (one of :data:`KINDS`), ``message``."""

    layer: str
    kind: str
    message: str
    value: float  # the measured figure the finding is about (a fraction, a ratio)

    def __str__(self) -> str:
        return self.message


@dataclass
class LayerStats:
    """What one layer did on the batch (``None`` where a figure does not apply)."""

    name: str
    activation: str
    units: int
    mean: float  # of the layer's outputs, over samples and units
    std: float
    dead: float | None  # fraction of its ReLUs that never fire; None without ReLUs
    saturated: float | None  # fraction of its tanh/sigmoid units saturated on most samples
    grad_norm: float  # ‖d loss / d weights‖ (biases left out, as in the update ratio)
    grad_ratio: float | None  # grad_norm / the next layer's; None for the last layer
    weight_norm: float
    backprop: float  # RMS of d loss / d z over samples and units: the signal into its neurons
    backprop_gain: float | None  # backprop / the output layer's; None when that is 0
    update_ratio: float | None  # lr · grad_norm / weight_norm, given lr
    forward_gain: float | None = None  # RMS of its outputs / of its inputs; None if those are 0
    # The raw numbers behind the plot.
    activations: list[float] = field(default_factory=list, repr=False)
    backprop_grads: list[float] = field(default_factory=list, repr=False)
    weight_grads: list[float] = field(default_factory=list, repr=False)


def _ratio(a: float, b: float) -> float:
    if b == 0.0:
        return math.nan if a == 0.0 else math.inf
    return a / b


def times(x: float) -> str:
    """A large factor as a learner reads it: ``2,700``, or ``1.2e+07`` past a million."""
    return f"{x:,.0f}" if x < 1e6 else f"{x:.1e}"


def power(x: float) -> str:
    """A round threshold as the rule states it: ``1e-3``."""
    return f"{x:.0e}".replace("e-0", "e-").replace("e+0", "e")


def number(x: float | None) -> str:
    """A statistic as the report writes it: 3 significant digits; ``-`` where there is none."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if x == 0.0:
        return "0"
    if math.isinf(x):
        return "inf"
    return f"{x:.3g}" if 1e-3 <= abs(x) < 1e4 else f"{x:.2e}"


def _has(problems: list[Problem], s: LayerStats, kind: str) -> bool:
    return any(p.layer == s.name and p.kind == kind for p in problems)


def _scale(xs: Sequence[float]) -> float:
    """The largest magnitude in ``xs``: dividing by it first keeps every square <= 1."""
    return max(map(abs, xs), default=0.0)


def norm(xs: Sequence[float]) -> float:
    """``sqrt(Σ x²)``, exact to rounding, finite wherever the result is (no square overflows)."""
    m = _scale(xs)
    if m == 0.0:
        return 0.0
    return m * math.sqrt(math.fsum((x / m) ** 2 for x in xs))


def rms(xs: Sequence[float]) -> float:
    """``sqrt(Σ x² / n)``, overflow-safe as :func:`norm`; 0 for no values."""
    return norm(xs) / math.sqrt(len(xs)) if xs else 0.0


def mean_std(xs: Sequence[float]) -> tuple[float, float]:
    """The mean and (population) standard deviation, overflow-safe as :func:`norm`."""
    m = _scale(xs)
    if m == 0.0:
        return 0.0, 0.0
    scaled = [x / m for x in xs]
    mu = math.fsum(scaled) / len(xs)
    return m * mu, m * math.sqrt(math.fsum((s - mu) ** 2 for s in scaled) / len(xs))


def _check_batch(inputs: Any, targets: Any) -> tuple[list, list]:
    inputs = checks.sequence(inputs, "diagnose", "inputs", "samples")
    targets = checks.sequence(targets, "diagnose", "targets", "samples' targets")
    if not inputs:
        raise ValueError("diagnose: inputs is empty; pass a batch of samples")
    if len(inputs) != len(targets):
        raise ValueError(f"diagnose: inputs has {len(inputs)} samples but targets has "
                         f"{len(targets)}")
    return inputs, targets


def _check_loss(loss: Any) -> tuple[Loss, str]:
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"diagnose: loss must be one of {', '.join(map(repr, LOSSES))} or "
                             f"a callable loss(output, target) -> Value, got {loss!r}")
        return LOSSES[loss], loss
    if callable(loss):
        return loss, getattr(loss, "__name__", type(loss).__name__)
    raise TypeError(f"diagnose: loss must be a loss name or a callable, got {loss!r}")


def _check_lr(lr: Any) -> float | None:
    return None if lr is None else checks.number(lr, "diagnose", "lr", low=0.0, low_open=True)


def _forward(model: MLP, inputs: list, targets: list, fn: Loss, name: str) -> tuple:
    """``(mean loss, one run per sample)``, each run from :func:`nn.run_layers`."""
    runs: list[NetworkRun] = []
    losses = []
    for i, (x, t) in enumerate(zip(inputs, targets)):
        run = run_layers(model, x, who=f"diagnose: inputs[{i}]")
        runs.append(run)
        h = run.outputs
        out: Output = h[0] if len(h) == 1 else h  # what model(x) returns
        try:
            value = fn(out, t)
        except (TypeError, ValueError) as e:
            message = f"diagnose: loss {name!r} failed on sample {i} (target {t!r}): {e}"
            try:
                error = type(e)(message)
            except Exception:  # an error class with other arguments: say it as a ValueError
                error = ValueError(message)
            raise error from None
        if not isinstance(value, Value):
            raise TypeError(f"diagnose: loss {name!r} must return a Value, got "
                            f"{type(value).__name__} for sample {i}")
        losses.append(value)
    return (losses[0] if len(losses) == 1 else vsum(losses) / len(losses)), runs


def _unit_fractions(acts: list[str], outs: list[list[float]]) -> tuple[float | None, float | None]:
    """``(dead, saturated)``: fractions of the layer's ReLUs and tanh/sigmoid units, from
    each neuron's activation function and each sample's outputs."""
    relus = dead = squash = saturated = 0
    n = len(outs)
    for j, act in enumerate(acts):
        column = [h[j] for h in outs]
        if act == "relu":
            relus += 1
            dead += all(a <= 0.0 for a in column)
        elif act in _SQUASHING:
            squash += 1
            if act == "tanh":
                beyond = sum(abs(a) > TANH_BOUND for a in column)
            else:
                beyond = sum(not SIGMOID_BOUND <= a <= 1.0 - SIGMOID_BOUND for a in column)
            saturated += beyond > SATURATED_SAMPLES * n
    return (dead / relus if relus else None), (saturated / squash if squash else None)


def _layer_stats(runs: list[NetworkRun], lr: float | None) -> list[LayerStats]:
    """Each layer's statistics over the batch, read after ``backward()``."""
    stats = []
    for li, first in enumerate(runs[0].layers):
        layer = first.layer
        outs = [run.layers[li].a_values for run in runs]
        acts = [a for h in outs for a in h]
        ins = [v.data for run in runs for v in run.layers[li].inputs]
        mean, std = mean_std(acts)
        dead, saturated = _unit_fractions(first.activations, outs)
        zgrads = [g for run in runs for g in run.layers[li].z_grads]
        wgrads = [w.grad for n in layer.neurons for w in n.w]
        gnorm = norm(wgrads)
        wnorm = norm([w.data for n in layer.neurons for w in n.w])
        in_rms, out_rms = rms(ins), rms(acts)
        stats.append(LayerStats(
            name=first.name, activation=layer.activation, units=layer.nout, mean=mean,
            std=std, dead=dead, saturated=saturated, grad_norm=gnorm, grad_ratio=None,
            weight_norm=wnorm, backprop=rms(zgrads), backprop_gain=None,
            update_ratio=None if lr is None else lr * _ratio(gnorm, wnorm),
            forward_gain=out_rms / in_rms if in_rms > 0.0 else None,
            activations=acts, backprop_grads=zgrads, weight_grads=wgrads,
        ))
    out = stats[-1].backprop
    for s, nxt in zip(stats, stats[1:]):
        s.grad_ratio = _ratio(s.grad_norm, nxt.grad_norm)
    for s in stats:
        s.backprop_gain = s.backprop / out if out > 0.0 else None
    return stats


def findings(stats: list[LayerStats]) -> list[Problem]:
    """What looks wrong in these statistics, each finding at most once per layer and kind,
    in layer order."""
    problems = []
    for s in stats:
        if s.dead is not None and s.dead >= DEAD_UNITS:
            problems.append(Problem(s.name, "dead", (
                f"{s.name}: {s.dead:.0%} of its ReLUs never fire on this batch (dead: no "
                "gradient reaches their weights); lower the learning rate, re-initialise "
                "(He init), start biases at 0 or slightly positive, or use tanh"), s.dead))
        if s.saturated is not None and s.saturated >= SATURATED_UNITS:
            problems.append(Problem(s.name, "saturated", (
                f"{s.name}: {s.saturated:.0%} of its {s.activation} units sit at their limits "
                "on most samples (saturated: they pass back under 6% of the gradient); scale "
                "the inputs to about ±1, use smaller initial weights (Xavier), or lower the "
                "learning rate"), s.saturated))
    # A gradient that vanishes behind a dead or saturated layer is that layer's doing: report
    # the cause, not every layer before it.
    blocked = max((i for i, s in enumerate(stats)
                   if any(p.layer == s.name for p in problems)), default=-1)
    for i, s in enumerate(stats[:-1]):
        gain = s.backprop_gain
        if gain is None:
            continue
        if gain < VANISHING and i > blocked:
            problems.append(Problem(s.name, "vanishing", (
                f"{s.name}: the gradient reaching its neurons is "
                f"{times(1 / gain) + ' times smaller than' if gain else 'zero, unlike'} at the "
                "output (vanishing: it learns almost nothing); use fewer "
                "layers, relu with He init, or larger initial weights"), gain))
        elif gain > EXPLODING:
            problems.append(Problem(s.name, "exploding", (
                f"{s.name}: the gradient reaching its neurons is {times(gain)} times larger "
                "than at the output (exploding: its steps are far too big); use smaller initial "
                "weights (He/Xavier), fewer layers, or a lower learning rate"), gain))
    for s in stats:
        grew = s.forward_gain
        big = s.std > 1.0 or abs(s.mean) > 1.0  # outputs far from O(1), not just larger
        if grew is not None and grew > EXPLODING and big and not _has(problems, s, "exploding"):
            problems.append(Problem(s.name, "exploding", (
                f"{s.name}: its outputs are {times(grew)} times larger than its inputs "
                f"(RMS; exploding activations: its outputs' spread is {number(s.std)}); use "
                "smaller initial weights (He/Xavier), scale the inputs to about ±1, or lower "
                "the learning rate"), grew))
    for s in stats:
        r = s.update_ratio
        if r is not None and r > TOO_HIGH_UPDATE_RATIO:
            problems.append(Problem(s.name, "learning rate too high", (
                f"{s.name}: one step at this learning rate would move its weights by "
                f"{f'{r:.1%} of' if r < 1.0 else f'{times(r)} times'} their size "
                f"(lr·‖∇W‖/‖W‖ = {number(r)}, {times(r / HEALTHY_UPDATE_RATIO)} times the "
                f"healthy {power(HEALTHY_UPDATE_RATIO)}: learning rate too high, training jumps "
                "around or diverges); lower the learning rate"), r))
    order = {s.name: i for i, s in enumerate(stats)}
    problems.sort(key=lambda p: (order[p.layer], KINDS.index(p.kind)))
    return problems


@dataclass
class Measurement:
    """One batch's statistics per layer, its findings and its mean loss."""

    layers: list[LayerStats]
    problems: list[Problem]
    loss: float
    samples: int
    loss_name: str
    lr: float | None


def measure(
    model: MLP, inputs: Any, targets: Any, loss: str | Loss = "cross_entropy",
    lr: float | None = None,
) -> Measurement:
    """Check the arguments, run the batch forward and backward, and measure each layer.

    Every ``.grad`` is left as it was (see the module docstring).
    """
    model = check_model(model, "diagnose")
    inputs, targets = _check_batch(inputs, targets)
    fn, name = _check_loss(loss)
    lr = _check_lr(lr)
    with enable_grad():  # a diagnosis inside no_grad() still needs the graph
        total, runs = _forward(model, inputs, targets, fn, name)
        # The parameters too: a custom loss may leave some out of the graph.
        nodes = [*model.parameters(), *topological_order(total)]
        saved = [v.grad for v in nodes]
        try:
            for v in nodes:
                v.grad = 0.0  # leaves accumulate: read this pass's gradient alone
            total.backward()
            stats = _layer_stats(runs, lr)
        finally:
            for v, g in zip(reversed(nodes), reversed(saved)):
                v.grad = g  # in reverse, so a parameter listed twice ends with its first save
    return Measurement(stats, findings(stats), total.data, len(inputs), name, lr)
