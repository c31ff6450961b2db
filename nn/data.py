"""What a training loop needs besides the model: a split, minibatches, predictions, accuracy.

``train_test_split`` (seeded and stratified, as scikit-learn's with ``stratify=y``),
``minibatches`` (shuffled index batches, as a PyTorch ``DataLoader`` with
``shuffle=True`` yields them), ``predict_classes`` and ``accuracy``.  Plain
Python lists in and out; the data sets themselves live with the demos
(``demos.datasets``), which need files this package does not ship.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from autograd import Value, checks, no_grad

__all__ = ["accuracy", "argmax", "minibatches", "predict_classes", "train_test_split"]

T = TypeVar("T")


def train_test_split(
    X: Sequence[T], y: Sequence[int], test_fraction: float = 0.2, seed: int | None = 0
) -> tuple[list[T], list[T], list[int], list[int]]:
    """A seeded, stratified split: ``(X_train, X_test, y_train, y_test)``.

    Each class contributes ``round(test_fraction * its count)`` examples to the
    test set, so both sets keep the class balance; within each set the order is
    shuffled. The same ``seed`` gives the same split on every machine.
    """
    X = checks.sequence(X, "train_test_split", "X", "examples")
    y = checks.sequence(y, "train_test_split", "y", "labels")
    if len(X) != len(y):
        raise ValueError(f"train_test_split: {len(X)} examples but {len(y)} labels")
    test_fraction = checks.number(
        test_fraction, "train_test_split", "test_fraction", low=0.0, high=1.0, low_open=True,
        high_open=True,
    )
    rng = random.Random(checks.rng_seed(seed, "train_test_split"))
    by_class: dict[int, list[int]] = {}
    for i, label in enumerate(y):
        by_class.setdefault(label, []).append(i)
    train_idx: list[int] = []
    test_idx: list[int] = []
    for label in sorted(by_class):
        idx = by_class[label]
        rng.shuffle(idx)
        n_test = round(test_fraction * len(idx))
        test_idx += idx[:n_test]
        train_idx += idx[n_test:]
    rng.shuffle(train_idx)
    rng.shuffle(test_idx)
    return (
        [X[i] for i in train_idx],
        [X[i] for i in test_idx],
        [y[i] for i in train_idx],
        [y[i] for i in test_idx],
    )


def minibatches(n: int, batch_size: int, rng: random.Random) -> Iterator[list[int]]:
    """Shuffled index batches covering ``range(n)`` once; the last one may be shorter.

    ``rng`` (a ``random.Random``) shuffles, so a seeded one gives the same batches
    on every run: ``for batch in minibatches(len(X), 32, random.Random(0))``.
    """
    n = checks.integer(n, "minibatches", "n", low=0)
    batch_size = checks.integer(batch_size, "minibatches", "batch_size", low=1)
    if not callable(getattr(rng, "shuffle", None)):
        raise TypeError(f"minibatches: rng must be a random.Random, got {checks.describe(rng)}")
    order = list(range(n))
    rng.shuffle(order)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def argmax(values: Sequence[Any]) -> int:
    """Index of the largest value (floats or Values); the first one on ties."""
    values = checks.sequence(values, "argmax", "values", "numbers or Values")
    if not values:
        raise ValueError("argmax: values is empty")
    datas = [v.data if isinstance(v, Value) else v for v in values]
    return max(range(len(datas)), key=datas.__getitem__)


def predict_classes(model: Any, X: Sequence[Sequence[float]]) -> list[int]:
    """Each example's predicted class, computed without recording a graph.

    An ``nn.MLP`` answers with :meth:`~nn.MLP.predict_class`; any other model, a
    callable returning a list of outputs, with the index of its largest output.
    """
    predict_class = getattr(model, "predict_class", None)
    if predict_class is None and not callable(model):
        raise TypeError(f"predict_classes: model must be callable, got {checks.describe(model)}")
    X = checks.sequence(X, "predict_classes", "X", "examples")
    with no_grad():
        if predict_class is not None:
            return [predict_class(x) for x in X]
        return [argmax(model(x)) for x in X]


def accuracy(predicted: Sequence[int], labels: Sequence[int]) -> float:
    """Fraction of predictions equal to their label."""
    predicted = checks.sequence(predicted, "accuracy", "predicted", "classes")
    labels = checks.sequence(labels, "accuracy", "labels", "classes")
    if len(predicted) != len(labels):
        raise ValueError(f"accuracy: {len(predicted)} predictions but {len(labels)} labels")
    if not labels:
        raise ValueError("accuracy: no examples")
    return sum(p == t for p, t in zip(predicted, labels)) / len(labels)
