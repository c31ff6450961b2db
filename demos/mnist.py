"""3Blue1Brown's network on real 28x28 digits: ``python -m demos.mnist``.

``MLP(784, [16, 16, 10])``, the network of 3Blue1Brown's "But what is a neural
network?": 784 input neurons (one per pixel of a 28x28 MNIST digit, gray levels
scaled to 0..1), two hidden ReLU layers of 16, 10 outputs.  It trains on the
5,000 MNIST digits shipped in ``demos/data`` (500 per class) with the fixed,
stratified 80/20 split, exactly as ``demos.digits`` trains (its loop, plots and
network view are reused): softmax cross-entropy on minibatches of 32, Adam whose
learning rate falls linearly from 0.01 to 0.001, He-initialised weights.

The defaults are budgeted for the pure-Python engine: a step costs about 2 ms
per digit, so 5 epochs of 4,000 digits take about a minute on one core and end
above 90% test accuracy (see docs/demos.md for the measured figures).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from demos import cli
from demos.datasets import load_mnist
from demos.digits import DigitsDemo, run

DEFAULT_HIDDEN = "16,16"  # 3Blue1Brown's; a string, so --help shows it as typed
SIDE = 28  # the images are 28x28
MNIST_DIGITS = 5000


MNIST = DigitsDemo(
    prog="python -m demos.mnist",
    description="Train 3Blue1Brown's MLP(784, [16, 16, 10]) on 5,000 28x28 MNIST digits.",
    data_name=f"MNIST digits ({SIDE}x{SIDE})", side=SIDE, n_data=MNIST_DIGITS, load=load_mnist,
    out=Path("out/mnist"), hidden=DEFAULT_HIDDEN, epochs=5, speedup="about 1.7x",
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return MNIST.parse_args(argv)


@cli.command
def main(argv: Sequence[str] | None = None) -> int:
    return run(MNIST, parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
