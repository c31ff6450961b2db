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
from demos.datasets import MNIST_FEATURES, balanced_subset, load_mnist, train_test_split
from demos.digits import FINAL_LR_FRACTION, SPLIT_SEED, TEST_FRACTION, train_and_report
from nn import MLP

DEFAULT_HIDDEN = "16,16"  # 3Blue1Brown's; a string, so --help shows it as typed
SIDE = 28  # the images are 28x28
MNIST_DIGITS = 5000
MIN_LIMIT = 30  # 3 digits per class, so the 80/20 split puts one of each in the test set


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = cli.mlp_training_parser(
        "python -m demos.mnist",
        "Train 3Blue1Brown's MLP(784, [16, 16, 10]) on 5,000 28x28 MNIST digits.",
        out=Path("out/mnist"), hidden=DEFAULT_HIDDEN, epochs=5, n_data=MNIST_DIGITS,
        min_limit=MIN_LIMIT, limit_help="use only N digits, taken evenly from every class "
        "(quick runs; at least 3 a class)",
    )
    return cli.parse_mlp_training(p, argv, SIDE * SIDE, MNIST_DIGITS)


@cli.command
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    X, y = load_mnist()
    if args.limit is not None:
        X, y = balanced_subset(X, y, args.limit)  # the file is sorted by class
    X_train, X_test, y_train, y_test = train_test_split(X, y, TEST_FRACTION, seed=SPLIT_SEED)
    sizes = [*args.hidden, 10]
    model = MLP(MNIST_FEATURES, sizes, seed=args.seed)
    print(f"data: {len(X)} MNIST digits ({SIDE}x{SIDE}), {len(X_train)} train / {len(X_test)} "
          f"test (stratified 80/20 split, seed {SPLIT_SEED})")
    print(f"model: MLP({MNIST_FEATURES}, {sizes}), {model.num_parameters()} parameters; "
          f"Adam lr {args.lr:g} -> {args.lr * FINAL_LR_FRACTION:g}, batch {args.batch_size}, "
          f"{args.epochs} epochs, seed {args.seed}")

    seconds, pred, train_acc, test_acc = train_and_report(
        model, (X_train, X_test, y_train, y_test), args, side=SIDE
    )

    right = sum(p == t for p, t in zip(pred, y_test))
    print(f"\ntrained in {seconds:.1f} s; train accuracy {train_acc:.1%}; {right} of "
          f"{len(y_test)} test digits read right")
    print(f"test accuracy: {test_acc:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
