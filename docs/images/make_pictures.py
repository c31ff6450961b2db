"""Regenerate the pictures in docs/images/ (needs Graphviz).

Run from the repository root: ``python -m docs.images.make_pictures``.
"""

from __future__ import annotations

import io
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
    written.append(training_picture(HERE / "network_training.png"))

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


SNAPSHOTS = (0, 5, 20, 45)  # SGD steps after which the network is drawn


def training_snapshots(steps: tuple = SNAPSHOTS) -> tuple[list, list, list, list]:
    """MLP(64, [16, 16, 10]) trained by minibatch SGD on the digits (lr 0.1, 32 a batch),
    copied after each of ``steps``; with the test digits and labels."""
    X, y = load_digits()
    X_train, X_test, y_train, y_test = nn.train_test_split(X, y, 0.2, seed=0)
    model = nn.MLP(64, [16, 16, 10], seed=0)
    opt, rng, done = nn.SGD(model.parameters(), lr=0.1), random.Random(0), 0

    def copy() -> nn.MLP:
        m = nn.MLP(64, [16, 16, 10], seed=0)
        m.load_state_dict(model.state_dict())
        return m

    snaps = [copy()] if 0 in steps else []
    while done < max(steps):
        for batch in nn.minibatches(len(X_train), 32, rng):
            loss = sum((nn.cross_entropy(model(X_train[i]), y_train[i]) for i in batch),
                       start=0.0) * (1.0 / len(batch))
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done in steps:
                snaps.append(copy())
            if done == max(steps):
                break
    return snaps, list(steps), X_test, y_test


def training_picture(path: Path) -> Path:
    """docs/pictures.md's snapshots: backprop for a test "3" after 0, 5, 20 and 45 SGD
    steps, drawn by nn.draw_sequence on one scale, in a 2 x 2 grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    snaps, steps, X_test, y_test = training_snapshots()
    three = X_test[y_test.index(3)]
    titles = [f"after {k} SGD steps: test accuracy "
              f"{nn.accuracy(nn.predict_classes(m, X_test), y_test):.1%}"
              for k, m in zip(steps, snaps)]
    pictures = nn.draw_sequence(snaps, three, 3, titles=titles)
    fig, axes = plt.subplots(2, 2, figsize=(16, 15))
    for ax, picture in zip(axes.flat, pictures):
        ax.imshow(plt.imread(io.BytesIO(picture.pipe(format="png")), format="png"))
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path

def batch_picture(xs: list, ys: list) -> Path:
    """docs/pictures.md's batch nudges: the untrained digits network on a first minibatch."""
    model = nn.MLP(64, [16, 16, 10], seed=0)
    batch = next(nn.minibatches(len(xs), 32, random.Random(0)))
    nudges = nn.batch_nudges(model, [xs[i] for i in batch], [ys[i] for i in batch])
    return nudges.draw(show=4).save(HERE / "batch_nudges.svg")


if __name__ == "__main__":
    main()
