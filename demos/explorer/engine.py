"""The explorer's maths, all of it in the engine: the page only draws what this returns.

* :func:`digitize` turns the page's drawing (64x64 ink coverage, 0..255) into
  the model's input exactly as the UCI digits were made: a 32x32 bitmap (the
  ink's bounding box scaled to the full height and centred, as NIST normalised
  the writers' digits), its on-pixels counted in 4x4 blocks, giving 8x8 gray
  levels 0..16.
* :func:`forward_view` runs the model on one digit: probabilities, prediction
  and the network view ``nn.draw_network`` draws (weights and activations).
* :func:`step_view` is one of backprop's steps for a target: the gradients of
  softmax cross-entropy, each weight's as ``trace_backward`` states it
  (upstream gradient at its neuron's weighted input x local derivative, the
  input it multiplies), the layer the step updates, its nudges and top weights.
* :func:`sgd_step` takes one plain SGD step on one digit and reports what moved.
* :func:`evaluate` measures a model on the whole test set (accuracy, mean loss,
  how many digits it reads as each class), so a step's harm to the other
  digits shows, not only its effect on the one it learned from.
* :class:`Trainer` runs minibatch SGD (``nn.minibatches``, ``nn.SGD``, mean
  softmax cross-entropy) a chunk at a time: at most a number of steps and a
  deadline per call, so a request never trains for long; the page asks again.
  A step that overflows changes no weight (nn's engine and optimiser see to
  it) and ends training, saying so.
* :func:`paths_view` says why one weight's gradient is what it is: its largest
  paths to the loss (``autograd.explain_gradient``), hop by hop between
  neurons, with the running sum that reaches the gradient, and the network
  picture with those paths drawn (``draw_network(..., explain=)``).

Nothing here touches ``.grad`` except :func:`sgd_step` and :class:`Trainer`, which own their model;
the others only read the model, so several threads may share one.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from autograd import Value, explain_gradient, no_grad, trace_backward, vsum
from autograd.paths import count_text
from demos.cli import DIVERGENCE
from demos.output import strip_svg_comments
from nn import (
    MLP,
    SGD,
    NetworkRun,
    Scale,
    accuracy,
    argmax,
    cross_entropy,
    draw_network,
    minibatches,
    run_layers,
    softmax,
)

INK_SIDE = 64  # the page sends its drawing as 64x64 ink coverage
INK_MAX = 255
BITMAP_SIDE = 32  # the UCI digits were 32x32 bitmaps ...
BLOCK = 4  # ... whose on-pixels were counted in 4x4 blocks
SIDE = BITMAP_SIDE // BLOCK  # 8x8 inputs
LEVELS = BLOCK * BLOCK  # gray levels 0..16
ON = 128  # ink coverage from which a bitmap pixel is on
TOP_WEIGHTS = 8
TOP_MOVED = 10

_EDGE_ID = re.compile(r'<g id="(layers\.\d+\.neurons\.\d+\.w\.\d+)" class="edge">')
_XML_HEAD = re.compile(r"^.*?(?=<svg)", re.S)
WEIGHT_NAME = re.compile(r"layers\.\d{1,4}\.neurons\.\d{1,4}\.w\.\d{1,4}")


# --- the input ------------------------------------------------------------------------------


def digitize(ink: Sequence[float], fit: bool = True) -> list[int]:
    """64x64 ink coverage (row-major, 0..255) -> 64 gray levels 0..16, as the data was made.

    ``fit``: scale the ink's bounding box to the bitmap's full height (the width
    by the same factor, at most the full width) and centre it, as every digit
    in the data set fills all 8 rows; without it the drawing is used as it is.
    """
    on = [v >= ON for v in ink]
    rows = [r for r in range(INK_SIDE) if any(on[r * INK_SIDE : (r + 1) * INK_SIDE])]
    if not rows:
        return [0] * (SIDE * SIDE)
    cols = [c for c in range(INK_SIDE) if any(on[r * INK_SIDE + c] for r in rows)]
    if fit:
        top, left = rows[0], cols[0]
        h, w = rows[-1] - top + 1, cols[-1] - left + 1
        scale = max(h / BITMAP_SIDE, w / BITMAP_SIDE)  # ink pixels per bitmap pixel
    else:
        top = left = 0
        h = w = INK_SIDE
        scale = INK_SIDE / BITMAP_SIDE
    bh, bw = min(BITMAP_SIDE, round(h / scale)), min(BITMAP_SIDE, round(w / scale))
    r0, c0 = (BITMAP_SIDE - bh) // 2, (BITMAP_SIDE - bw) // 2
    levels = [0] * (SIDE * SIDE)
    for r in range(bh):
        sr = top + min(h - 1, int((r + 0.5) * scale))
        for c in range(bw):
            sc = left + min(w - 1, int((c + 0.5) * scale))
            if on[sr * INK_SIDE + sc]:
                levels[(r0 + r) // BLOCK * SIDE + (c0 + c) // BLOCK] += 1
    return levels


def model_input(pixels: Sequence[float]) -> list[float]:
    """Gray levels 0..16 -> the 0..1 the model was trained on (as ``load_digits`` scales)."""
    return [p / LEVELS for p in pixels]


# --- shared pieces ---------------------------------------------------------------------------


@dataclass
class Forward:
    """One forward pass kept layer by layer (``nn.run_layers``), and its probabilities."""

    run: NetworkRun
    probs: list[float]

    @property
    def acts(self) -> list[list[Value]]:
        """[inputs, layer 1 outputs, ..., logits], lists of Values."""
        return self.run.columns

    @property
    def prediction(self) -> int:
        return max(range(len(self.probs)), key=self.probs.__getitem__)


def forward(model: MLP, pixels: Sequence[float]) -> Forward:
    run = run_layers(model, model_input(pixels), who="explorer")
    return Forward(run, [p.data for p in softmax(run.outputs)])


def svg_of(picture: Any) -> str:
    """The picture as an SVG element to put in a page (no XML prolog, no comments)."""
    svg = picture.pipe(format="svg", encoding="utf-8")
    return strip_svg_comments(_XML_HEAD.sub("", svg, count=1))


def drawn_edges(svg: str) -> list[str]:
    """The names of the weights whose connections a network view draws."""
    return _EDGE_ID.findall(svg)


def input_name(layer: int, i: int) -> str:
    if layer == 0:
        return f"pixel x{i} (row {i // SIDE}, column {i % SIDE})"
    return f"layers.{layer - 1}.neurons.{i} (its output)"


def layer_title(model: MLP, li: int) -> str:
    n = len(model.layers)
    return "the output layer" if li == n - 1 else f"hidden layer {li + 1}"


def _weights(model: MLP) -> list[tuple[int, int, int, Value]]:
    return [
        (li, j, i, w)
        for li, layer in enumerate(model.layers)
        for j, neuron in enumerate(layer.neurons)
        for i, w in enumerate(neuron.w)
    ]


def _summary(f: Forward, target: int | None = None, loss: float | None = None) -> dict:
    out: dict[str, Any] = {"probabilities": f.probs, "prediction": f.prediction}
    if target is not None:
        out["target"] = target
        out["p_target"] = f.probs[target]
        out["loss"] = loss
    return out


# --- the views -------------------------------------------------------------------------------


SCALE_DIGITS = 20  # test digits the page's fixed scale is measured on


def page_scale(model: MLP, pixels: Sequence[Sequence[float]], labels: Sequence[int]) -> Scale:
    """The one scale every view of a page draws on (``nn.Scale``), measured once on the
    loaded model and a few test digits with their labels as targets: views of other digits,
    steps and the model after SGD steps then compare by eye (larger values draw full)."""
    xs = [model_input(p) for p in pixels[:SCALE_DIGITS]]
    return Scale.of(model, xs, list(labels[: len(xs)]))


def forward_view(
    model: MLP, pixels: Sequence[float], scale: Scale | None = None
) -> tuple[dict, Any]:
    """Probabilities, prediction and, per connection, weight x input; plus the picture to render.

    The picture is returned unrendered so a caller can render it outside a lock; it is
    drawn on ``scale`` (the page's fixed :func:`page_scale`; None: its own).
    """
    f = forward(model, pixels)
    data = _summary(f)
    data["view"] = "forward"
    data["connections"] = {
        w.label: {
            "name": w.label,
            "value": w.data,
            "input": input_name(li, i),
            "input_value": f.acts[li][i].data,
            "product": w.data * f.acts[li][i].data,
        }
        for li, j, i, w in _weights(model)
    }
    return data, draw_network(model, model_input(pixels), scale=scale)


def explanation(model: MLP, step: int, target: int) -> str:
    n = len(model.layers)
    if step == 1:
        return (
            f"Step 1: compare each output's activation (its softmax probability) with the desired "
            f"one, 1 for {target} and 0 for the others. The gradient at each raw output is "
            f"activation − desired: output {target} must rise, the others fall."
        )
    li = n - (step - 1)
    inputs = "pixel" if li == 0 else f"hidden layer {li} neuron"
    return (
        f"Step {step}: adjust the weights into {layer_title(model, li)}. Each neuron's weighted "
        f"input has a gradient (the ring: blue should rise, red fall); a weight's gradient is "
        f"that gradient × the {inputs} it multiplies, so SGD moves it by −lr × gradient. "
        + ("Weights from blank pixels (0) get no gradient." if li == 0 else
           "A ReLU neuron that is off passes no gradient back.")
    )


def step_view(
    model: MLP, pixels: Sequence[float], target: int, step: int, scale: Scale | None = None
) -> tuple[dict, Any]:
    """Backprop step ``step`` (1 = outputs, 2.. = weights into the layers, last to first),
    drawn on ``scale`` as :func:`forward_view`."""
    f = forward(model, pixels)
    logits = f.run.outputs
    loss = cross_entropy(logits, target)
    trace = trace_backward(loss)  # the numbers backward() computes, without touching .grad
    by_node = {id(s.node): s for s in trace}
    n = len(model.layers)

    def neuron_grad(li: int, j: int) -> float:
        return trace.grad(f.run.layers[li].z[j])

    connections = {}
    for li, j, i, w in _weights(model):
        z = f.run.layers[li].z[j]
        s = by_node.get(id(z))
        c = next((c for c in s.contributions if c.parent is w), None) if s else None
        upstream, local = (s.upstream, c.local) if c else (0.0, f.acts[li][i].data)
        product = c.added if c else 0.0
        connections[w.label] = {
            "name": w.label,
            "value": w.data,
            "grad": trace.grad(w),
            "upstream": upstream,
            "local": local,
            "product": product,
            "neuron": f"layers.{li}.neurons.{j}",
            "input": input_name(li, i),
        }

    data = _summary(f, target, loss.data)
    data.update(view="step", step=step, explanation=explanation(model, step, target))
    if step == 1:
        data["layer"] = {"index": n - 1, "name": "the outputs", "updates": None}
        data["nudges"] = [
            {
                "name": f"output {k}",
                "neuron": f"layers.{n - 1}.neurons.{k}",
                "activation": f.probs[k],
                "desired": 1.0 if k == target else 0.0,
                "grad": neuron_grad(n - 1, k),
            }
            for k in range(len(logits))
        ]
        data["top_weights"] = []
    else:
        li = n - (step - 1)
        data["layer"] = {"index": li, "name": layer_title(model, li), "updates": f"layers.{li}"}
        ran = f.run.layers[li]
        data["nudges"] = [
            {
                "name": f"layers.{li}.neurons.{j}",
                "neuron": f"layers.{li}.neurons.{j}",
                "activation": v.data,
                "off": act == "relu" and v.data == 0.0,
                "grad": neuron_grad(li, j),
            }
            for j, (v, act) in enumerate(zip(ran.a, ran.activations))
        ]
        ranked = sorted(
            (connections[w.label] for lj, _, _, w in _weights(model) if lj == li),
            key=lambda r: -abs(r["grad"]),
        )
        data["top_weights"] = ranked[:TOP_WEIGHTS]
    data["connections"] = connections
    picture = draw_network(model, model_input(pixels), target, step=step, scale=scale)
    return data, picture


def sgd_step(model: MLP, pixels: Sequence[float], target: int, lr: float) -> dict:
    """One plain SGD step (``p -= lr * grad``) on one digit; the model changes in place."""
    before = forward(model, pixels)
    loss = cross_entropy(before.run.outputs, target)
    model.zero_grad()
    loss.backward()
    named = model.named_parameters()
    old = [(name, p.data, p.grad) for name, p in named]
    SGD(model.parameters(), lr=lr).step()
    model.zero_grad()
    moved = [
        {"name": name, "old": o, "grad": g, "new": p.data, "change": p.data - o}
        for (name, o, g), (_, p) in zip(old, named)
    ]
    changed = sum(m["change"] != 0.0 for m in moved)
    moved.sort(key=lambda m: -abs(m["change"]))
    after = forward(model, pixels)
    after_loss = cross_entropy(after.run.outputs, target).data
    return {
        "lr": lr,
        "target": target,
        "before": _summary(before, target, loss.data),
        "after": _summary(after, target, after_loss),
        "changed": changed,
        "parameters": len(named),
        "moved": moved[:TOP_MOVED],
    }


# --- the whole test set, and training a chunk at a time --------------------------------------


def evaluate(model: MLP, X: Sequence[Sequence[float]], y: Sequence[int]) -> dict:
    """The model on every example: accuracy, mean softmax cross-entropy, and how many
    examples it reads as each class (a model ruined by a large step reads most as one)."""
    predicted, losses = [], []
    with no_grad():
        for x, t in zip(X, y):
            logits = model(x)
            predicted.append(argmax(logits))
            losses.append(cross_entropy(logits, t).data)
    read_as = [0] * model.nouts[-1]
    for k in predicted:
        read_as[k] += 1
    return {
        "accuracy": accuracy(predicted, y),
        "correct": sum(p == t for p, t in zip(predicted, y)),
        "count": len(y),
        "loss": math.fsum(losses) / len(losses),
        "read_as": read_as,
    }


class Trainer:
    """Minibatch SGD on a training set, resumable: each :meth:`run` takes a chunk of steps.

    The batches come from ``nn.minibatches`` with a seeded ``random.Random``, so
    the same settings give the same training on every run; a pass over the data
    (an epoch) starts anew when the batch size changes.
    """

    def __init__(
        self, model: MLP, X: Sequence[Sequence[float]], y: Sequence[int], seed: int = 0
    ) -> None:
        self.model = model
        self.X, self.y = X, y
        self.rng = random.Random(seed)
        self.steps = 0  # steps taken
        self.epochs = 0  # passes over the training set begun
        self.seen = 0  # examples trained on
        self._batches: Iterator[list[int]] | None = None
        self._batch_size = 0

    def _next_batch(self, batch_size: int) -> list[int]:
        if batch_size != self._batch_size:
            self._batches, self._batch_size = None, batch_size
        batch = next(self._batches, None) if self._batches is not None else None
        if batch is None:  # the first pass, or the last one ended
            self._batches = minibatches(len(self.X), batch_size, self.rng)
            self.epochs += 1
            batch = next(self._batches)
        return batch

    def run(self, lr: float, batch_size: int, max_steps: int, deadline: float) -> dict:
        """Up to ``max_steps`` SGD steps, stopping once ``time.monotonic()`` passes
        ``deadline`` (after at least one step).  Returns each step's mean batch loss, why
        it stopped (``"steps"``, ``"time"`` or ``"diverged"``) and, if it diverged, how."""
        params = self.model.parameters()
        opt = SGD(params, lr=lr)
        losses: list[float] = []
        stopped, message = "steps", None
        while len(losses) < max_steps:
            if losses and time.monotonic() >= deadline:
                stopped = "time"
                break
            batch = self._next_batch(batch_size)
            try:  # nn's engine and optimiser raise on overflow, and then change no weight
                loss = vsum([cross_entropy(self.model(self.X[i]), self.y[i]) for i in batch])
                loss = loss / len(batch)
                opt.zero_grad()
                loss.backward()
                opt.step()
            except DIVERGENCE as e:
                message = f"training step {self.steps + 1} (lr {lr}) diverged: {e}"
                stopped = "diverged"
                break
            finally:
                opt.zero_grad()
            self.steps += 1
            self.seen += len(batch)
            losses.append(loss.data)
        return {"losses": losses, "stopped": stopped, "message": message}



# --- why a weight's gradient is what it is: its paths to the loss ----------------------------


def paths_view(
    model: MLP, pixels: Sequence[float], target: int, name: str, k: int
) -> tuple[dict, Any]:
    """The ``k`` largest paths from the loss down to weight ``name``, hop by hop between
    neurons, and the network picture with them drawn.  ``name`` must be a weight."""
    weight = dict(model.named_parameters())[name]
    f = forward(model, pixels)
    loss = cross_entropy(f.acts[-1], target)
    e = explain_gradient(loss, weight, k)
    neurons = _neuron_names(model, f)
    running: list[float] = []
    paths = []
    for p in e.paths:
        running.append(p.contribution)
        paths.append({
            "contribution": p.contribution,
            "running": math.fsum(running),
            "hops": _hops(p, neurons, name),
        })
    data = {
        "view": "paths",
        "weight": name,
        "value": weight.data,
        "target": target,
        "total": e.total,
        "listed": e.listed,
        "remainder": e.remainder,
        "count": count_text(e.count),
        "others": count_text(e.others),
        "edges": e.edges,
        "comparison": e.comparison(),
        "paths": paths,
    }
    return data, draw_network(model, model_input(pixels), target, explain=name, explain_k=k)


def weight_names(model: MLP) -> set[str]:
    """The names of the model's connection weights (biases are not connections)."""
    return {w.label for _, _, _, w in _weights(model)}


def _neuron_names(model: MLP, f: Forward) -> dict:
    """Each drawn neuron's output Value -> how the page names it."""
    n = len(model.layers)
    names = {}
    for c, col in enumerate(f.acts):
        for j, v in enumerate(col):
            if c == 0:
                names[v] = f"pixel x{j}"
            elif c == n:
                names[v] = f"output {j}"
            else:
                names[v] = f"layers.{c - 1}.neurons.{j}"
    return names


def _hops(p: Any, neurons: dict, weight: str) -> list[dict]:
    """The path from the loss as hops between neurons, each with its local derivative
    (the product of the engine's local derivatives between the two)."""
    hops, d = [{"name": "loss", "local": None}], 1.0
    for node, local in zip(p.nodes[1:], p.locals):
        d *= local
        here = neurons.get(node)
        if here is not None or node is p.nodes[-1]:
            hops.append({"name": here or weight, "local": d})
            d = 1.0
    return hops
