"""Is this network healthy?  ``diagnose(model, inputs, targets)`` says, layer by layer.

The classic ways a network fails to train (Karpathy's "A Recipe for Training
Neural Networks", CS231n's notes) show in statistics of one batch:

* **dead** ReLUs, which output 0 for every sample, so no gradient ever reaches
  their weights again;
* **saturated** tanh or sigmoid units, stuck near ±1 (0 or 1) where their
  derivative, and so the gradient they pass back, is nearly 0;
* **vanishing** or **exploding** gradients: the gradient that backpropagation
  sends into a layer shrinks or grows by a large factor on its way back from
  the output, so early layers learn far slower (or far faster) than late ones.

Design.  The batch goes forward layer by layer (exactly as ``MLP`` runs it),
keeping every layer's outputs and, behind each, the neuron's weighted input
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

The thresholds are module constants; docs/nn.md gives the reasons for each.
Core stays pure Python: ``plot()`` imports matplotlib only when called.
"""

from __future__ import annotations

import html
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Union

from autograd import Value, checks, enable_grad, topological_order, vsum
from autograd.files import write_atomic
from autograd.table import format_table

from .layers import MLP, lift_inputs, runs_own_forward
from .losses import binary_cross_entropy_with_logits, cross_entropy, hinge_loss, mse

__all__ = [
    "DEAD_UNITS",
    "EXPLODING",
    "KINDS",
    "LOSSES",
    "SATURATED_SAMPLES",
    "SATURATED_UNITS",
    "SIGMOID_BOUND",
    "TANH_BOUND",
    "VANISHING",
    "DiagnosisReport",
    "LayerStats",
    "Problem",
    "diagnose",
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
#: output layer's.
EXPLODING = 1e2

Loss = Callable[[Any, Any], Value]
Output = Union[Value, list]  # what model(x) returns: one Value, or a list of them
LOSSES: dict[str, Loss] = {
    "cross_entropy": cross_entropy,
    "mse": mse,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "hinge_loss": hinge_loss,
}
_SQUASHING = ("tanh", "sigmoid")
KINDS = ("dead", "saturated", "vanishing", "exploding")


@dataclass(frozen=True)
class Problem:
    """One finding: ``layer`` (``"layers.0"``), ``kind`` (one of :data:`KINDS`), ``message``."""

    layer: str
    kind: str
    message: str
    value: float  # the measured figure the finding is about (a fraction, or a gradient ratio)

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
    # The raw numbers behind the plot.
    activations: list[float] = field(default_factory=list, repr=False)
    backprop_grads: list[float] = field(default_factory=list, repr=False)
    weight_grads: list[float] = field(default_factory=list, repr=False)


def _num(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if x == 0.0:
        return "0"
    if math.isinf(x):
        return "inf"
    return f"{x:.3g}" if 1e-3 <= abs(x) < 1e4 else f"{x:.2e}"


def _times(x: float) -> str:
    """A large factor as a learner reads it: ``2,700``, or ``1.2e+07`` past a million."""
    return f"{x:,.0f}" if x < 1e6 else f"{x:.1e}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _ratio(a: float, b: float) -> float:
    if b == 0.0:
        return math.nan if a == 0.0 else math.inf
    return a / b


@dataclass
class DiagnosisReport:
    """Per-layer statistics of one batch (:attr:`layers`) and what looks wrong (:attr:`problems`).

    ``print(report)`` prints a table, Jupyter shows it as HTML, ``report.plot(path)``
    writes the activation and gradient distributions per layer as a PNG.
    """

    layers: list[LayerStats]
    problems: list[Problem]
    loss: float
    samples: int
    loss_name: str
    lr: float | None = None

    _HEAD = ("layer", "act", "units", "mean", "std", "dead", "saturated",
             "‖∇W‖", "÷ next", "∇z rms", "÷ output")

    def __getitem__(self, name: str) -> LayerStats:
        """The statistics of the layer called ``name`` (``report["layers.0"]``)."""
        for s in self.layers:
            if s.name == name:
                return s
        raise KeyError(f"DiagnosisReport: no layer {name!r}; layers are "
                       f"{[s.name for s in self.layers]}")

    @property
    def healthy(self) -> bool:
        return not self.problems

    def _rows(self) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        head = self._HEAD + (("lr·‖∇W‖/‖W‖",) if self.lr is not None else ())
        rows = []
        for s in self.layers:
            row = (s.name, s.activation, str(s.units), _num(s.mean), _num(s.std), _pct(s.dead),
                   _pct(s.saturated), _num(s.grad_norm), _num(s.grad_ratio), _num(s.backprop),
                   _num(s.backprop_gain))
            if self.lr is not None:
                row += (_num(s.update_ratio),)
            rows.append(row)
        return head, rows

    def _title(self) -> str:
        return (f"Diagnosis of {self.samples} sample{'s' * (self.samples != 1)}: "
                f"{self.loss_name} loss {_num(self.loss)}")

    def _legend(self) -> list[str]:
        notes = [
            f"dead: ReLUs that never fire; saturated: tanh |a| > {TANH_BOUND:g} or sigmoid "
            f"outside [{SIGMOID_BOUND:g}, {1 - SIGMOID_BOUND:g}] on most samples",
            "‖∇W‖: norm of the weights' gradient (÷ next: over the next layer's)",
            "∇z rms: the gradient backprop sends into the layer's neurons (÷ output: over the "
            "output layer's)",
        ]
        if self.lr is not None:
            notes.append(f"lr·‖∇W‖/‖W‖ (lr = {self.lr:g}): a step's size relative to the "
                         "weights; about 1e-3 is healthy (Karpathy's rule of thumb)")
        return notes

    def __str__(self) -> str:
        head, rows = self._rows()
        table = format_table(head, rows, align="l" + "r" * (len(head) - 1))
        lines = [self._title(), table, *self._legend()]
        if self.problems:
            lines.append(f"{len(self.problems)} problem{'s' * (len(self.problems) != 1)}:")
            lines += [f"  {p.message}" for p in self.problems]
        else:
            lines.append("no problems found")
        return "\n".join(lines)

    def __repr__(self) -> str:
        n = len(self.problems)
        return (f"<DiagnosisReport: {len(self.layers)} layers, {self.samples} samples, "
                f"{n} problem{'s' * (n != 1)}>")

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))  # IPython shows the table, not the one-line repr

    def _repr_html_(self) -> str:
        e = html.escape
        head, rows = self._rows()
        cell = 'style="padding:2px 8px;text-align:{}"'
        th = "".join(f"<th {cell.format('left' if i == 0 else 'right')}>{e(h)}</th>"
                     for i, h in enumerate(head))
        flagged = {p.layer for p in self.problems}
        body = []
        for r in rows:
            style = ' style="background:#fde2e2"' if r[0] in flagged else ""
            tds = "".join(f"<td {cell.format('left' if i == 0 else 'right')}>{e(c)}</td>"
                          for i, c in enumerate(r))
            body.append(f"<tr{style}>{tds}</tr>")
        legend = "".join(f"<div style='color:#666;font-size:smaller'>{e(n)}</div>"
                         for n in self._legend())
        if self.problems:
            items = "".join(f"<li><b>{e(p.kind)}</b>: {e(p.message)}</li>" for p in self.problems)
            verdict = f"<ul>{items}</ul>"
        else:
            verdict = "<p>no problems found</p>"
        return (f"<div><b>{e(self._title())}</b><table><thead><tr>{th}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>{legend}{verdict}</div>")

    def plot(self, path: str | Path, dpi: int = 100) -> Path:
        """Write the activation and gradient distributions of every layer to ``path`` (PNG).

        Needs matplotlib (``pip install -e '.[demos]'``); the file is written atomically.
        """
        try:
            import matplotlib
        except ImportError:
            raise ModuleNotFoundError(
                "DiagnosisReport.plot: needs matplotlib (pip install -e '.[demos]')"
            ) from None
        matplotlib.use("Agg")  # never needs a display
        import matplotlib.pyplot as plt

        fig = _figure(plt, self)
        try:
            return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi))
        finally:
            plt.close(fig)


LOG_DECADES = 16  # the gradient panels span at most this many powers of ten


def _histogram(values: list[float], lo: float, hi: float, bins: int) -> tuple[list, list]:
    """Centres and densities (fraction per bin) of ``values`` within ``[lo, hi]``."""
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        if v <= hi:  # anything below lo piles up in the first bin
            counts[min(bins - 1, max(0, int((v - lo) / width)))] += 1
    n = max(1, len(values))
    return [lo + (i + 0.5) * width for i in range(bins)], [c / n for c in counts]


def _log_magnitudes(values: list[float]) -> list[float]:
    return [math.log10(abs(v)) for v in values if v != 0.0]


def _figure(plt: Any, report: DiagnosisReport) -> Any:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    flagged: dict[str, list[str]] = {}
    for p in report.problems:
        flagged.setdefault(p.layer, []).append(p.kind)
    colors = plt.get_cmap("viridis")
    n = len(report.layers)
    panels = (
        ("activations", lambda s: s.activations, False,
         "activations (layer outputs)", "value"),
        ("backprop", lambda s: s.backprop_grads, True,
         "gradient into each layer's neurons, ∂loss/∂z", "log10 |gradient|"),
        ("weights", lambda s: s.weight_grads, True,
         "gradient of each layer's weights", "log10 |gradient|"),
    )
    for ax, (_, get, log, title, xlabel) in zip(axes, panels):
        series = [(_log_magnitudes(get(s)) if log else get(s)) for s in report.layers]
        allv = [v for vs in series for v in vs]
        clipped = False
        if allv:
            lo, hi = min(allv), max(allv)
            if log:
                # Underflowed softmax tails reach 1e-300: show the top decades only.
                lo, hi = math.floor(max(lo, max(allv) - LOG_DECADES)), math.ceil(hi)
                clipped = lo > min(allv)
            if hi - lo < 1e-9:
                lo, hi = lo - 0.5, hi + 0.5
            for i, (s, vs) in enumerate(zip(report.layers, series)):
                xs, ys = _histogram(vs, lo, hi, 40)
                label = f"{s.name} ({s.activation})"
                if s.name in flagged:
                    label += ": " + ", ".join(flagged[s.name])
                ax.plot(xs, ys, color=colors(i / max(1, n - 1)), lw=1.6 if log else 1.3,
                        label=label, ls="--" if s.name in flagged else "-")
        else:
            ax.text(0.5, 0.5, "all zero", ha="center", va="center", transform=ax.transAxes)
        zeros = [sum(v == 0.0 for v in get(s)) / max(1, len(get(s))) for s in report.layers]
        note = "" if not log else (
            "exact zeros left out (" + ", ".join(f"{z:.0%}" for z in zeros) + " by layer)"
            + (f"; below 1e{lo} piled at the left edge" if allv and clipped else "")
        )
        ax.set(title=title, xlabel=xlabel, ylabel="fraction of values")
        if note:
            ax.text(0.01, 0.98, textwrap.fill(note, 60), transform=ax.transAxes, va="top",
                    fontsize=7, color="0.4")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper right")
    by_kind: dict[str, list[str]] = {}
    for p in report.problems:
        by_kind.setdefault(p.kind, []).append(p.layer)
    verdict = "; ".join(f"{k} in {', '.join(ls)}" for k, ls in by_kind.items())
    fig.suptitle(f"{report._title()}: {verdict or 'no problems found'}", fontsize=11)
    fig.tight_layout()
    return fig


# --- the diagnosis --------------------------------------------------------------------------


def _check_model(model: Any) -> MLP:
    if not isinstance(model, MLP):
        raise TypeError(f"diagnose: model must be an nn.MLP, got {type(model).__name__}")
    if not runs_own_forward(model):
        raise TypeError(
            f"diagnose: model's class {type(model).__name__} overrides the forward pass; "
            "diagnose runs model.layers in order, as MLP does, and would measure another network"
        )
    return model


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


def _pre_activation(v: Value, activation: str) -> Value:
    return v if activation == "linear" else v.parents[0]


def _forward(model: MLP, inputs: list, targets: list, fn: Loss, name: str) -> tuple:
    """``(mean loss, outputs[layer][sample] as lists of Values)``."""
    outs: list[list[list[Value]]] = [[] for _ in model.layers]
    losses = []
    for i, (x, t) in enumerate(zip(inputs, targets)):
        h = lift_inputs(x, model.nin, f"diagnose: inputs[{i}]")
        for li, layer in enumerate(model.layers):
            h = layer._forward(h)
            outs[li].append(h)
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
    return (losses[0] if len(losses) == 1 else vsum(losses) / len(losses)), outs


def _unit_fractions(layer: Any, outs: list[list[Value]]) -> tuple[float | None, float | None]:
    """``(dead, saturated)``: fractions of the layer's ReLUs and tanh/sigmoid units."""
    relus = dead = squash = saturated = 0
    n = len(outs)
    for j, neuron in enumerate(layer.neurons):
        act = neuron.activation
        column = [h[j].data for h in outs]
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


def _norm(xs: list[float]) -> float:
    return math.sqrt(math.fsum(x * x for x in xs))


def _layer_stats(model: MLP, outs: list, lr: float | None) -> list[LayerStats]:
    stats = []
    for li, (layer, lo) in enumerate(zip(model.layers, outs)):
        acts = [v.data for h in lo for v in h]
        mean = math.fsum(acts) / len(acts)
        std = math.sqrt(math.fsum((a - mean) ** 2 for a in acts) / len(acts))
        dead, saturated = _unit_fractions(layer, lo)
        zgrads = [_pre_activation(h[j], n.activation).grad
                  for h in lo for j, n in enumerate(layer.neurons)]
        wgrads = [w.grad for n in layer.neurons for w in n.w]
        gnorm = _norm(wgrads)
        wnorm = _norm([w.data for n in layer.neurons for w in n.w])
        stats.append(LayerStats(
            name=f"layers.{li}", activation=layer.activation, units=layer.nout, mean=mean,
            std=std, dead=dead, saturated=saturated, grad_norm=gnorm, grad_ratio=None,
            weight_norm=wnorm, backprop=_norm(zgrads) / math.sqrt(len(zgrads)),
            backprop_gain=None,
            update_ratio=None if lr is None else lr * _ratio(gnorm, wnorm),
            activations=acts, backprop_grads=zgrads, weight_grads=wgrads,
        ))
    out = stats[-1].backprop
    for s, nxt in zip(stats, stats[1:]):
        s.grad_ratio = _ratio(s.grad_norm, nxt.grad_norm)
    for s in stats:
        s.backprop_gain = s.backprop / out if out > 0.0 else None
    return stats


def _findings(stats: list[LayerStats]) -> list[Problem]:
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
                f"{_times(1 / gain) + ' times smaller than' if gain else 'zero, unlike'} at the "
                "output (vanishing: it learns almost nothing); use fewer "
                "layers, relu with He init, or larger initial weights"), gain))
        elif gain > EXPLODING:
            problems.append(Problem(s.name, "exploding", (
                f"{s.name}: the gradient reaching its neurons is {_times(gain)} times larger "
                "than at the output (exploding: its steps are far too big); use smaller initial "
                "weights (He/Xavier), fewer layers, or a lower learning rate"), gain))
    order = {s.name: i for i, s in enumerate(stats)}
    problems.sort(key=lambda p: (order[p.layer], KINDS.index(p.kind)))
    return problems


def diagnose(
    model: MLP,
    inputs: Sequence[Sequence[float]],
    targets: Sequence[Any],
    loss: str | Loss = "cross_entropy",
    lr: float | None = None,
) -> DiagnosisReport:
    """Run one batch forward and backward and report each layer's health.

    ``inputs``: the samples; ``targets``: one per sample, as the loss takes it
    (a class index for ``"cross_entropy"``).  ``loss``: a name from
    :data:`LOSSES` or a callable ``loss(output, target) -> Value`` for one
    sample; the batch loss is the mean, as in training.  ``lr``: the learning
    rate, to report the update-to-weight ratio.  Every ``.grad`` is left as it
    was.  Use a batch of a few hundred samples: a ReLU that fires for one class
    in ten looks dead on a batch of ten.
    """
    model = _check_model(model)
    inputs, targets = _check_batch(inputs, targets)
    fn, name = _check_loss(loss)
    lr = _check_lr(lr)
    with enable_grad():  # a diagnosis inside no_grad() still needs the graph
        total, outs = _forward(model, inputs, targets, fn, name)
        # The parameters too: a custom loss may leave some out of the graph.
        nodes = [*model.parameters(), *topological_order(total)]
        saved = [v.grad for v in nodes]
        try:
            for v in nodes:
                v.grad = 0.0  # leaves accumulate: read this pass's gradient alone
            total.backward()
            stats = _layer_stats(model, outs, lr)
        finally:
            for v, g in zip(reversed(nodes), reversed(saved)):
                v.grad = g  # in reverse, so a parameter listed twice ends with its first save
    return DiagnosisReport(stats, _findings(stats), total.data, len(inputs), name, lr)
