"""Regenerate the pictures in docs/images/ (needs Graphviz).

Run from the repository root: ``python -m docs.images.make_pictures``.
"""

from __future__ import annotations

import random
from pathlib import Path

import nn
from autograd import Value, draw_dot, explain_gradient, grad, render_svg, trace_backward
from demos.datasets import load_digits
from demos.graph import neuron

HERE = Path(__file__).resolve().parent


def main() -> None:
    o, params = neuron()
    o.backward()
    written = [
        render_svg(
            draw_dot(o, params=params, title="A neuron: o = tanh(x1·w1 + x2·w2 + b)"),
            HERE / "neuron.svg",
        )
    ]
    frames = trace_backward(o).frames(params=params)
    written.append(render_svg(frames[4], HERE / "backward_step.svg"))

    small = nn.MLP(2, [4, 4, 1], seed=1)
    written.append(render_svg(nn.draw_network(small, [0.5, -1.0]), HERE / "network_small.svg"))
    written.append(
        render_svg(nn.draw_network(small, [0.5, -1.0], [1.0]), HERE / "network_small_backprop.svg")
    )

    xs, ys = load_digits()
    i = ys.index(3)
    digits = nn.MLP(64, [16, 16, 10], seed=0)
    written.append(render_svg(nn.draw_network(digits, xs[i], 3), HERE / "network_digit.svg"))
    written.append(
        render_svg(nn.draw_network(digits, xs[i], 3, step=2), HERE / "network_digit_step2.svg")
    )

    big = nn.MLP(64, [32, 32, 10], seed=0)
    loss = nn.cross_entropy(big(xs[i]), 3)
    loss.label = "loss"
    loss.backward()
    written.append(render_svg(loss, HERE / "mlp_graph_collapsed.svg"))
    deep = nn.MLP(64, [8, 8, 8, 8, 8, 8, 10], activation="tanh", seed=0)
    for p in deep.parameters():
        p.data *= 0.3  # deep, narrow, small weights: docs/nn.md's vanishing gradient
    written.append(nn.diagnose(deep, xs[:200], ys[:200]).plot(HERE / "diagnose_vanishing.png"))
    written += paths_pictures(digits, xs[i])
    written.append(batch_picture(xs, ys))
    for path in written:
        print(f"{path.relative_to(HERE.parents[1])}: {path.stat().st_size / 1024:.0f} KiB")


def paths_pictures(digits: nn.MLP, three: list) -> list[Path]:
    """docs/pictures.md's "A gradient's paths": a small graph and the digits network."""
    x, w, b = Value(2.0, label="x"), Value(-0.5, label="w"), Value(0.3, label="b")
    h = (x * w + b).tanh()
    h.label = "h"
    y = h * x + x * x * 0.1 - h * h
    y.label = "y"
    y.backward()
    why = explain_gradient(y, x, k=3)
    out = [render_svg(draw_dot(y, highlight=why, title="The 3 largest of 6 paths from y to x"),
                      HERE / "paths_graph.svg")]
    loss = nn.cross_entropy(digits(three), 3)
    weights = [w for neuron in digits.layers[0].neurons for w in neuron.w]
    top = max(zip(grad(loss, weights), weights), key=lambda t: abs(t[0]))[1]
    out.append(render_svg(nn.draw_network(digits, three, 3, explain=top),
                          HERE / "paths_network.svg"))
    return out


def batch_picture(xs: list, ys: list) -> Path:
    """docs/pictures.md's batch nudges: the untrained digits network on a first minibatch."""
    model = nn.MLP(64, [16, 16, 10], seed=0)
    batch = next(nn.minibatches(len(xs), 32, random.Random(0)))
    nudges = nn.batch_nudges(model, [xs[i] for i in batch], [ys[i] for i in batch])
    return nudges.draw(show=4).save(HERE / "batch_nudges.svg")


if __name__ == "__main__":
    main()
