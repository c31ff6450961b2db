"""The demos' data: the shipped 8x8 and 28x28 digits, the two moons.

Standard library only; nothing is downloaded.  The train/test split is the library's
(``nn.train_test_split``), so a script outside the repository has it too.
"""

from __future__ import annotations

import csv
import gzip
import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from autograd import checks

T = TypeVar("T")

DATA = Path(__file__).resolve().parent / "data"
DIGITS_PATH = DATA / "digits.csv.gz"
DIGITS_FEATURES = 64  # 8x8 pixels, row-major
DIGITS_MAX_LEVEL = 16  # gray levels are integers 0..16
MNIST_PATH = DATA / "mnist_5k.csv.gz"
MNIST_FEATURES = 784  # 28x28 pixels, row-major
MNIST_MAX_LEVEL = 255  # gray levels are integers 0..255


def _load_images(
    path: str | Path, features: int, max_level: int, who: str
) -> tuple[list[list[float]], list[int]]:
    """Rows of ``features`` gray levels 0..max_level and a label 0..9, gzip-compressed CSV."""
    X: list[list[float]] = []
    y: list[int] = []
    with gzip.open(path, "rt", newline="") as f:
        for lineno, row in enumerate(csv.reader(f), start=1):
            if len(row) != features + 1:
                raise ValueError(
                    f"{who}: {path} line {lineno} has {len(row)} fields, "
                    f"expected {features} pixels and a label"
                )
            try:
                pixels = [int(v) for v in row[:features]]
                label = int(row[features])
            except ValueError as e:
                raise ValueError(f"{who}: {path} line {lineno}: {e}") from None
            if not all(0 <= p <= max_level for p in pixels) or not 0 <= label <= 9:
                raise ValueError(
                    f"{who}: {path} line {lineno}: gray level outside 0..{max_level} "
                    f"or label outside 0..9"
                )
            X.append([p / max_level for p in pixels])
            y.append(label)
    return X, y


def load_digits(path: str | Path = DIGITS_PATH) -> tuple[list[list[float]], list[int]]:
    """The 1,797 hand-written digits: ``(X, y)``, pixels scaled from 0..16 to 0..1, labels 0..9."""
    return _load_images(path, DIGITS_FEATURES, DIGITS_MAX_LEVEL, "load_digits")


def load_mnist(path: str | Path = MNIST_PATH) -> tuple[list[list[float]], list[int]]:
    """5,000 MNIST digits at 28x28, 500 per class in class order: ``(X, y)``, pixels scaled
    from 0..255 to 0..1, labels 0..9."""
    return _load_images(path, MNIST_FEATURES, MNIST_MAX_LEVEL, "load_mnist")


def balanced_subset(X: Sequence[T], y: Sequence[int], n: int) -> tuple[list[T], list[int]]:
    """``n`` examples taken evenly from every class, in the data's order.

    Each class gives its first ``n // k`` examples (``k`` classes), the smallest
    labels one more until ``n`` are taken (fewer if a class runs out): a quick run
    on a file sorted by class (as MNIST's is) still sees every digit.
    """
    if len(X) != len(y):
        raise ValueError(f"balanced_subset: {len(X)} examples but {len(y)} labels")
    by_class: dict[int, list[int]] = {}
    for i, label in enumerate(y):
        by_class.setdefault(label, []).append(i)
    labels = sorted(by_class)
    want = {c: n // len(labels) + (k < n % len(labels)) for k, c in enumerate(labels)}
    keep = sorted(i for c in labels for i in by_class[c][: want[c]])
    return [X[i] for i in keep], [y[i] for i in keep]


def smallest_split(n_classes: int, test_fraction: float) -> int:
    """The fewest examples, taken evenly from ``n_classes`` classes (:func:`balanced_subset`),
    that :func:`train_test_split` divides with every class in both the training and the
    test set; any more keep it so."""
    k = 1
    while round(test_fraction * k) < 1 or k - round(test_fraction * k) < 1:
        k += 1
    return k * n_classes


def _linspace(start: float, stop: float, n: int) -> list[float]:
    if n == 1:
        return [start]
    step = (stop - start) / (n - 1)
    return [start + i * step for i in range(n)]


def make_moons(
    n: int = 100, noise: float = 0.1, seed: int | None = 0
) -> tuple[list[list[float]], list[int]]:
    """Two interleaving half circles, scikit-learn's recipe: ``(X, y)`` with labels 0 and 1.

    The upper moon (label 0) gets ``n // 2`` points, the lower one the rest; the
    points are shuffled, then Gaussian noise with standard deviation ``noise`` is
    added to both coordinates.
    """
    n = checks.integer(n, "make_moons", "n", low=2)
    noise = checks.number(noise, "make_moons", "noise", low=0.0)
    seed = checks.rng_seed(seed, "make_moons")
    rng = random.Random(seed)
    n_out = n // 2
    n_in = n - n_out
    points = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, n_out)]
    points += [[1.0 - math.cos(t), 0.5 - math.sin(t)] for t in _linspace(0.0, math.pi, n_in)]
    labels = [0] * n_out + [1] * n_in
    order = list(range(n))
    rng.shuffle(order)
    X = [[points[i][0] + rng.gauss(0.0, noise), points[i][1] + rng.gauss(0.0, noise)]
         for i in order]
    y = [labels[i] for i in order]
    return X, y
