"""A step-by-step account of one backward pass.

``trace_backward(root)`` replays backpropagation in the engine's own order
(root first, each node once all its consumers are done) and records, for every
op, the upstream gradient, the local derivatives (``rule.vjp(1.0, ...)``), what
it adds to each parent and the rule it follows.  The numbers are the ones
``backward()`` produces, bit for bit.  Print it as a table, iterate over its
steps, or render one SVG frame per step.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import checks
from .backward import backward_order, replay
from .checks import value
from .draw import (
    MAX_NODES,
    DrawOptions,
    Scene,
    build_picture,
    grad_scale,
    over_budget,
    param_set,
)
from .grouping import consumers
from .render import render_svgs
from .style import fmt, label_text, visible
from .table import format_table
from .value import Value

if TYPE_CHECKING:
    import graphviz

__all__ = ["BackwardTrace", "Contribution", "TraceStep", "formula", "frame_paths", "trace_backward"]


def frame_paths(directory: str | os.PathLike, count: int, prefix: str = "step") -> list[Path]:
    """Where :meth:`BackwardTrace.render_frames` writes ``count`` frames: ``{prefix}_00.svg``...
    (numbered with at least two digits, so the files sort in order)."""
    width = max(2, len(str(count - 1)))
    return [Path(directory) / f"{prefix}_{i:0{width}d}.svg" for i in range(count)]


@dataclass(frozen=True)
class Contribution:
    """What one step sends to one parent: ``added = upstream * local``."""

    parent: Value
    name: str
    local: float  # d(node)/d(parent) at this point (±inf if beyond a float's range)
    added: float  # the gradient this step adds to the parent
    total: float  # the parent's gradient after this step (complete once all its consumers ran)
    local_text: str = ""  # ``local`` as tables show it, its value even beyond a float's range


@dataclass(frozen=True)
class TraceStep:
    """One op's share of the backward pass."""

    index: int  # 1-based, in the order backward() runs
    node: Value
    name: str
    op: str
    law: str  # the rule it follows, e.g. "mul swaps"
    upstream: float  # d(root)/d(node), complete when this step runs
    contributions: tuple[Contribution, ...]

    @property
    def locals(self) -> tuple[float, ...]:
        """The local derivatives, one per parent."""
        return tuple(c.local for c in self.contributions)


def _names(order: list) -> dict:
    """Each value's label, or ``#i`` (its index inputs-first) when it has none."""
    n = len(order)
    return {
        v: visible(label_text(v)).replace("\n", " ") or f"#{n - 1 - i}"
        for i, v in enumerate(order)
    }


def _beyond_float(node: Value, k: int, local: float, upstream: float, added: float) -> str:
    """A local derivative too large for a float (``a / b`` by a tiny ``b``: ``-a/b²``)
    while the gradient it carries is finite: its value, computed in decimal."""
    with localcontext() as ctx:
        ctx.prec, ctx.Emax, ctx.Emin = 17, 10**6, -(10**6)
        try:
            d = [Decimal(p.data) for p in node.parents]
            exact = Decimal(node.rule.vjp_on(Decimal(1), Decimal(node.data), d)[k])  # type: ignore[union-attr]  # Rule(...) makes RuleKinds (kinds.Rule is a factory)
        except Exception:  # a rule that needs floats (log...): the ratio of what it sent
            if not (upstream and math.isfinite(added)):
                return fmt(local)
            exact = Decimal(added) / Decimal(upstream)
        return f"{exact:.3e}" if exact.is_finite() else fmt(local)


def _law(node: Value, locals_: tuple) -> str:
    r = node.rule
    law = r.law or f"{r.symbol}: local derivative from its rule"  # type: ignore[union-attr]  # Rule(...) makes RuleKinds (kinds.Rule is a factory)
    if r.at_kink(node):  # type: ignore[union-attr]  # Rule(...) makes RuleKinds (kinds.Rule is a factory)
        if any(locals_):  # max(a, b) on a tie: the rule picks one side
            law += " (at its kink, where the rule picks a one-sided derivative)"
        else:
            law += " (at its kink, where the engine takes the derivative as 0)"
    return law


_INFIX = frozenset({"+", "-", "*", "/", "**", "%"})


def formula(node: Value, names: dict) -> str:
    """How ``node`` was computed, in its parents' names: ``e * c``, ``tanh(n)``, ``x**2``."""
    ps = [names[p] for p in node.parents]
    op = node.op
    if op in _INFIX and len(ps) == 2:
        return f"{ps[0]} {op} {ps[1]}"
    if op.startswith("**") and len(ps) == 1:
        return f"{ps[0]}{op}"
    if op.endswith("**") and len(ps) == 1:
        return f"{op}{ps[0]}"
    if op == "neg":
        return f"-{ps[0]}"
    args = ", ".join(ps[:4]) + (f", … ({len(ps)} inputs)" if len(ps) > 4 else "")
    return f"{op}({args})"


def trace_backward(root: Value, gradient: Any = 1.0) -> BackwardTrace:
    """Replay ``root.backward(gradient)`` step by step, without touching any ``.grad``.

    The steps come from backward's own checked pass (``replay``): where
    ``backward`` would raise (an overflow, no finite derivative, a leaf whose
    accumulated gradient would overflow), this raises the same
    :class:`~autograd.GradientError`, so a trace never shows ``inf`` or ``nan``.
    """
    value(root, "trace_backward", "root")
    seed = checks.seed(gradient, "trace_backward")
    order = backward_order(root)
    names = _names(order)
    steps: list[TraceStep] = []
    totals: dict = {}

    def record(node: Value, g: float, ps: tuple, sent: Any) -> None:
        # ``sent`` is None where backward skips the op (a zero gradient, finite
        # derivatives): it adds nothing, and neither does the trace.
        # Only called once backward's own step ran (or skipped the op): a rule of
        # your own that fails at upstream 1 but not at the real one shows nan.
        locals_ = node.rule.local_derivatives(node)  # type: ignore[union-attr]  # Rule(...) makes RuleKinds (kinds.Rule is a factory)
        contribs = []
        for k, (p, local) in enumerate(zip(ps, locals_)):
            if sent is not None:
                totals[p] = totals.get(p, 0.0) + sent[k]
            added = 0.0 if sent is None else sent[k]
            text = fmt(local) if math.isfinite(local) else _beyond_float(node, k, local, g, added)
            contribs.append(Contribution(p, names[p], local, added, totals.get(p, 0.0), text))
        steps.append(
            TraceStep(
                len(steps) + 1, node, names[node], node.op, _law(node, locals_), g, tuple(contribs)
            )
        )

    grads = replay(root, seed, old_of=_accumulated, on_step=record)
    return BackwardTrace(root, seed, steps, grads, names, order)


def _accumulated(leaf: Value, default: float) -> float:
    """A leaf's gradient from earlier passes, which backward adds this pass's to."""
    return leaf.grad


class BackwardTrace:
    """The steps of one backward pass; iterate, index, print, or draw them."""

    def __init__(
        self, root: Value, seed: float, steps: list, grads: dict, names: dict, order: list
    ) -> None:
        self.root = root
        self.seed = seed
        self.steps: list[TraceStep] = steps
        self.grads: dict = grads  # Value -> its full gradient, as backward() computes it
        self.names: dict = names
        self._order = order
        # Every frame shades gradients on the final pass's scale, so colours compare across frames.
        self._scale = grad_scale(order, root, grads.get)

    def __iter__(self) -> Iterator[TraceStep]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i: int) -> TraceStep:
        return self.steps[i]

    def __repr__(self) -> str:
        return f"<BackwardTrace of {self.names[self.root]}: {len(self.steps)} steps>"

    def grad(self, v: Value) -> float:
        """The gradient of the root w.r.t. ``v`` (0.0 if the root does not depend on it)."""
        return self.grads.get(v, 0.0)

    def table(self) -> str:
        """The trace as a fixed-width text table, one row per (step, parent)."""
        head = ("step", "node", "op", "upstream", "parent", "local", "adds", "grad so far", "rule")
        rows = []
        for s in self.steps:
            for k, c in enumerate(s.contributions):
                first = k == 0
                rows.append(
                    (
                        str(s.index) if first else "",
                        s.name if first else "",
                        s.op if first else "",
                        fmt(s.upstream) if first else "",
                        c.name,
                        c.local_text or fmt(c.local),
                        fmt(c.added),
                        fmt(c.total),
                        s.law if first else "",
                    )
                )
        title = (
            f"Backward pass from {self.names[self.root]} (seed {fmt(self.seed)}): "
            f"{len(self.steps)} steps; adds = upstream × local"
        )
        return format_table(head, rows, align="lllrlrrrl", title=title)

    __str__ = table

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.table())  # IPython/Jupyter show the table, not the one-line repr

    def frames(self, rankdir: str = "LR", params: Any = None) -> list[graphviz.Digraph]:
        """One picture per step (plus the seed): the current op highlighted, grads so far.

        Frame 0 shows the seed at the root; frame ``k`` the state right after
        step ``k``, with the gradient it sends written on the edges to its parents.
        """
        order = self._order[::-1]
        scene = Scene(order, consumers(order), {})
        too_big = over_budget(scene, MAX_NODES)
        if too_big:
            raise ValueError(
                f"BackwardTrace.frames: {len(order)} values ({too_big}) is too big for one "
                "picture per step; trace a smaller graph (an intermediate Value as root), "
                "or use .table()"
            )
        base = DrawOptions(
            self.root,
            params=param_set(params),
            rankdir=rankdir,
            names=self.names,
            scale=self._scale,
        )

        def frame(**shown: Any) -> graphviz.Digraph:
            return build_picture(scene, replace(base, **shown))

        unknown = 'grad ? = not reached yet; "so far" = more consumers still to add'
        root = self.names[self.root]
        grads = {self.root: self.seed}
        out = [
            frame(
                title=f"Backward from {root}: seed d{root}/d{root} = {fmt(self.seed)}",
                grads=dict(grads),
                notes=(unknown,),
            )
        ]
        remaining = {v: len(scene.cons[v]) for v in order}
        for s in self.steps:
            for c in s.contributions:
                grads[c.parent] = c.total
                remaining[c.parent] -= 1
            sent = ", ".join(
                f"{c.name} gets {fmt(s.upstream)} × {c.local_text or fmt(c.local)} = {fmt(c.added)}"
                for c in s.contributions
            )
            out.append(
                frame(
                    title=f"Step {s.index}/{len(self.steps)}: {s.name} = "
                    f"{formula(s.node, self.names)}  ({s.law})",
                    grads=dict(grads),
                    partial={v for v, n in remaining.items() if n > 0 and v in grads},
                    current=s.node,
                    flows=[f"{c.name} += {fmt(c.added)}" for c in s.contributions],
                    notes=(sent, unknown),
                )
            )
        return out

    def render_frames(
        self, directory: str | os.PathLike, prefix: str = "step", **frame_options: Any
    ) -> list[Path]:
        """Write :meth:`frames` as ``{prefix}_00.svg``, ``{prefix}_01.svg``... to ``directory``.

        Like :func:`autograd.render_svg`, a frame Graphviz cannot render raises a
        ``RenderError`` after leaving its DOT source, and every later frame's, as ``.dot``.
        """
        frames = self.frames(**frame_options)
        return render_svgs(frames, frame_paths(directory, len(frames), prefix))
