"""Is this network healthy?  ``diagnose(model, inputs, targets)`` says, layer by layer.

``diagnose`` runs one batch forward and backward and returns a
:class:`DiagnosisReport`: each layer's statistics (dead ReLUs, saturated units,
the gradient reaching its neurons, the update-to-weight ratio) and what looks
wrong.  What is measured, and the thresholds of each finding, live in
``nn.health``; this module shows it: a text table (``print(report)``), HTML for
Jupyter and, with matplotlib, the distributions as a PNG (``report.plot(path)``).
Core stays pure Python: ``plot()`` imports matplotlib only when called.
"""

from __future__ import annotations

import html
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograd.files import write_atomic
from autograd.style import SERIES
from autograd.table import format_table

from .health import (
    DEAD_UNITS,
    EXPLODING,
    HEALTHY_UPDATE_RATIO,
    KINDS,
    LOSSES,
    SATURATED_SAMPLES,
    SATURATED_UNITS,
    SIGMOID_BOUND,
    TANH_BOUND,
    TOO_HIGH_UPDATE_RATIO,
    VANISHING,
    LayerStats,
    Loss,
    Problem,
    measure,
    number,
    power,
)
from .layers import MLP

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
    "DiagnosisReport",
    "LayerStats",
    "Problem",
    "diagnose",
]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


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
            row = (s.name, s.activation, str(s.units), number(s.mean), number(s.std), _pct(s.dead),
                   _pct(s.saturated), number(s.grad_norm), number(s.grad_ratio), number(s.backprop),
                   number(s.backprop_gain))
            if self.lr is not None:
                row += (number(s.update_ratio),)
            rows.append(row)
        return head, rows

    def _title(self) -> str:
        return (f"Diagnosis of {self.samples} sample{'s' * (self.samples != 1)}: "
                f"{self.loss_name} loss {number(self.loss)}")

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
                         f"weights; about {power(HEALTHY_UPDATE_RATIO)} is healthy (Karpathy's "
                         f"rule of thumb), above {power(TOO_HIGH_UPDATE_RATIO)} is too high")
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
# What the plot's colours encode, said in its legend (the colour language: autograd.style).
LEGEND_TITLE = "line colour = the layer (not a sign: blue and red mean signs elsewhere)"


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
    # Layers are told apart by colours that are neither blue nor red: those mean signs.
    colors = [SERIES[i % len(SERIES)] for i in range(len(report.layers))]
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
                ax.plot(xs, ys, color=colors[i], lw=1.6 if log else 1.3,
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
    axes[0].legend(fontsize=7, loc="upper right", title=LEGEND_TITLE, title_fontsize=7)
    by_kind: dict[str, list[str]] = {}
    for p in report.problems:
        by_kind.setdefault(p.kind, []).append(p.layer)
    verdict = "; ".join(f"{k} in {', '.join(ls)}" for k, ls in by_kind.items())
    fig.suptitle(f"{report._title()}: {verdict or 'no problems found'}", fontsize=11)
    fig.tight_layout()
    return fig


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
    rate, to report the update-to-weight ratio (and flag one far above the
    healthy 1e-3).  Every ``.grad`` is left as it was.  Use a batch of a few
    hundred samples: a ReLU that fires for one class in ten looks dead on a
    batch of ten.
    """
    m = measure(model, inputs, targets, loss, lr)
    return DiagnosisReport(m.layers, m.problems, m.loss, m.samples, m.loss_name, m.lr)
