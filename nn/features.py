"""What each neuron looks for: its weights as an image, and the examples that excite it most.

A first-layer neuron computes ``z = w·x + b`` over the pixels, so its 64 (or 784)
weights, laid out as the image they multiply, *are* the pattern it responds to:
ink on a positive (blue) weight raises ``z``, ink on a negative (red) one lowers
it.  :func:`weight_images` returns those images for a layer, all on one
symmetric scale (the layer's largest ``|weight|``), so two neurons' pictures are
comparable by eye.

A deeper neuron's weights index other neurons, not pixels, so it is read by its
effect instead: :func:`top_activating` runs the network on a set of examples and
ranks them, for each neuron of a layer, by the neuron's weighted input ``z``.
Both return data; their ``draw`` methods give a picture (:mod:`nn.image_grid`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from autograd import checks, no_grad

from .image_grid import Panel, SvgPicture, draw_grid, reshape
from .layers import MLP
from .run import check_model, run_layers

__all__ = ["TopActivating", "WeightImages", "image_shape", "top_activating", "weight_images"]


def image_shape(shape: Any, n: int, who: str) -> tuple[int, int]:
    """``shape`` as (rows, cols) with ``rows * cols == n``; ``None``: square if ``n`` is a
    square, else one row."""
    if shape is None:
        side = math.isqrt(n)
        return (side, side) if side * side == n else (1, n)
    if (
        not isinstance(shape, (tuple, list))
        or len(shape) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
    ):
        raise TypeError(f"{who}: shape must be (rows, cols), two ints > 0, got "
                        f"{checks.describe(shape)}")
    if shape[0] * shape[1] != n:
        raise ValueError(f"{who}: shape {tuple(shape)} holds {shape[0] * shape[1]} pixels but "
                         f"the layer reads {n} inputs")
    return (shape[0], shape[1])


@dataclass(frozen=True)
class WeightImages:
    """One layer's incoming weights, neuron by neuron, as images.

    ``images[j][r][c]`` is neuron ``j``'s weight on input ``r * cols + c``;
    ``biases[j]`` its bias; ``scale`` the layer's largest ``|weight|``, the one
    symmetric colour scale every image is drawn on (``-scale`` full red, ``+scale``
    full blue).
    """

    layer: int
    shape: tuple[int, int]
    images: list[list[list[float]]]
    biases: list[float]
    scale: float

    def draw(self, columns: int = 8, title: str | None = None) -> SvgPicture:
        """The images in a gallery, ``columns`` a row, each titled with its neuron."""
        columns = checks.integer(columns, "WeightImages.draw", "columns", low=1)
        n = len(self.images)
        panels = [
            Panel(img, "signed", self.scale, f"n{j}", f"b {self.biases[j]:+.2f}")
            for j, img in enumerate(self.images)
        ]
        rows = [panels[i : i + columns] for i in range(0, n, columns)]
        rows_, cols_ = self.shape
        head = title or (f"What each neuron of layers.{self.layer} looks for: its {rows_ * cols_} "
                         f"incoming weights as a {rows_}x{cols_} image")
        legend = (f"colour = the weight's sign: blue positive (ink there raises the neuron's z), "
                  f"red negative (lowers it); one scale for all {n} neurons, full colour at "
                  f"|weight| = {self.scale:.3g}")
        return draw_grid(rows, title=head, legend=legend,
                         notes=["under each: the neuron's bias b"])


def weight_images(model: MLP, shape: tuple[int, int] | None = None, *,
                  layer: int = 0) -> WeightImages:
    """Each neuron's incoming weights in ``layer`` (the first by default) as a ``shape``
    image (default: square when the layer's fan-in is a square number: 8x8, 28x28)."""
    model = check_model(model, "weight_images")
    li = checks.integer(layer, "weight_images", "layer", low=0, high=len(model.layers) - 1)
    neurons = model.layers[li].neurons
    fan_in = len(neurons[0].w)
    rows, cols = image_shape(shape, fan_in, "weight_images")
    images = [reshape([w.data for w in n.w], (rows, cols)) for n in neurons]
    scale = max((abs(w.data) for n in neurons for w in n.w), default=0.0)
    return WeightImages(li, (rows, cols), images, [n.b.data for n in neurons], scale)


@dataclass(frozen=True)
class TopActivating:
    """For each neuron of ``layer``, the examples with the largest weighted input ``z``.

    ``indices[j]``: positions in ``X`` of neuron ``j``'s top ``k`` examples, highest
    ``z`` first (ties: the earlier example); ``z[j]`` and ``a[j]``: the neuron's
    weighted input and activation on each.  A ReLU neuron's ``a`` is 0 when ``z < 0``:
    ranking by ``z`` also orders the examples that leave it off.
    """

    layer: int
    k: int
    indices: list[list[int]]
    z: list[list[float]]
    a: list[list[float]]

    def draw(self, X: Sequence[Sequence[float]], shape: tuple[int, int] | None = None,
             title: str | None = None, neurons: Sequence[int] | None = None) -> SvgPicture:
        """One row per neuron (all, or those listed in ``neurons``): its top examples from
        ``X`` (the set it was ranked on)."""
        X = checks.sequence(X, "TopActivating.draw", "X", "examples")
        n = len(self.indices)
        if neurons is None:
            chosen = list(range(n))
        else:
            chosen = checks.sequence(neurons, "TopActivating.draw", "neurons", "neuron indices")
            for j in chosen:
                checks.integer(j, "TopActivating.draw", "neurons[...]", low=0, high=n - 1)
        last = max((i for row in self.indices for i in row), default=-1)
        if last >= len(X):
            raise ValueError(f"TopActivating.draw: X has {len(X)} examples but the ranking "
                             f"refers to example {last}: pass the X it was computed on")
        nin = len(X[0]) if X else 0
        rows_, cols_ = image_shape(shape, nin, "TopActivating.draw")
        rows = []
        for j in chosen:
            idx, zs, acts = self.indices[j], self.z[j], self.a[j]
            rows.append([
                Panel(reshape(list(X[i]), (rows_, cols_)), "ink", 1.0,
                      f"n{j} #{r + 1}" if r == 0 else f"#{r + 1}",
                      f"a {a:.2f}" if a == z else f"a {a:.2f}, z {z:.2f}")
                for r, (i, z, a) in enumerate(zip(idx, zs, acts))
            ])
        head = title or (f"The {self.k} examples that excite each neuron of layers.{self.layer} "
                         "most (largest weighted input z)")
        ink = "colour = ink, no sign: the example's pixels (white 0, black 1)"
        return draw_grid(rows, title=head, legend=ink,
                         notes=["under each: the neuron's activation a on that example (and "
                                "its z where they differ: a neuron that is off)"],
                         side=48)


def top_activating(model: MLP, X: Sequence[Sequence[float]], layer: int,
                   k: int = 5) -> TopActivating:
    """Rank the examples ``X`` for each neuron of ``layer`` by its weighted input ``z``.

    Runs the network once per example without recording a graph.
    """
    model = check_model(model, "top_activating")
    li = checks.integer(layer, "top_activating", "layer", low=0, high=len(model.layers) - 1)
    X = checks.sequence(X, "top_activating", "X", "examples")
    if not X:
        raise ValueError("top_activating: X is empty")
    k = checks.integer(k, "top_activating", "k", low=1, high=len(X))
    zs, acts = [], []
    with no_grad():
        for x in X:
            step = run_layers(model, x, who="top_activating").layers[li]
            zs.append(step.z_values)
            acts.append(step.a_values)
    n = len(zs[0])
    indices, z_top, a_top = [], [], []
    for j in range(n):
        order = sorted(range(len(X)), key=lambda i: (-zs[i][j], i))[:k]
        indices.append(order)
        z_top.append([zs[i][j] for i in order])
        a_top.append([acts[i][j] for i in order])
    return TopActivating(li, k, indices, z_top, a_top)
