"""nn.data: what a class imports beside the model, from the installed package, not the demos."""

from __future__ import annotations

import hashlib
import importlib
import random
from collections import Counter

import pytest

import nn
from autograd import Value
from demos.datasets import load_digits
from nn import MLP, accuracy, argmax, minibatches, predict_classes, train_test_split


def test_split_is_seeded_stratified_and_complete():
    _X, y = load_digits()
    ids = list(range(len(y)))
    a = train_test_split(ids, y, 0.2, seed=0)
    b = train_test_split(ids, y, 0.2, seed=0)
    c = train_test_split(ids, y, 0.2, seed=1)
    assert a == b
    assert a[1] != c[1]
    train, test, y_train, y_test = a
    assert sorted(train + test) == ids
    assert [y[i] for i in test] == y_test and [y[i] for i in train] == y_train
    full, part = Counter(y), Counter(y_test)
    for d in range(10):
        assert part[d] == round(0.2 * full[d])


def test_the_split_is_the_one_the_demos_always_made():
    """Moved, not changed: the digits demo's test set is the same 359 digits as before."""
    X, y = load_digits()
    _, X_test, _, y_test = train_test_split(X, y, 0.2, seed=0)
    assert len(X_test) == 359
    assert Counter(y_test) == {0: 36, 1: 36, 2: 35, 3: 37, 4: 36, 5: 36, 6: 36, 7: 36, 8: 35, 9: 36}
    assert y_test[:12] == [6, 9, 8, 0, 4, 3, 4, 8, 4, 0, 5, 1]
    # sha256 of the test set as demos.datasets.train_test_split made it before the move
    digest = hashlib.sha256(repr((X_test, y_test)).encode()).hexdigest()
    assert digest == "bdf93086d596bfb5bcef64e909809889bd3032876c4bed1917239e280cee9986"


def test_minibatches_cover_every_index_once_in_a_seeded_order():
    batches = list(minibatches(10, 4, random.Random(0)))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(i for b in batches for i in b) == list(range(10))
    assert batches == list(minibatches(10, 4, random.Random(0)))
    assert batches != list(minibatches(10, 4, random.Random(1)))
    assert list(minibatches(0, 4, random.Random(0))) == []


def test_predictions_and_accuracy():
    model = MLP(64, [8, 10], seed=0)
    X, y = load_digits()
    X, y = X[:30], y[:30]
    classes = predict_classes(model, X)
    assert classes == [argmax(model.predict(x)) for x in X] == [model.predict_class(x) for x in X]
    assert accuracy(classes, y) == sum(c == t for c, t in zip(classes, y)) / 30
    assert accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    assert argmax([Value(1.0), Value(3.0), Value(3.0)]) == 1  # Values too; the first of a tie
    # Any model that returns a list of outputs.
    assert predict_classes(lambda x: [x[1], x[0]], [[0.0, 1.0], [2.0, 1.0]]) == [0, 1]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: train_test_split([1, 2], [0], 0.5), ValueError,
         r"^train_test_split: 2 examples but 1 labels$"),
        (lambda: train_test_split([1, 2], [0, 1], 1.5), ValueError,
         r"^train_test_split: test_fraction must be a finite number in \(0, 1\), got 1\.5 "),
        (lambda: train_test_split([1, 2], [0, 1], "a"), TypeError,
         r"^train_test_split: test_fraction must be a finite number in \(0, 1\), got 'a' "),
        (lambda: train_test_split([1, 2], [0, 1], 0.5, seed=1.5), TypeError,
         r"^train_test_split: seed must be an int >= 0 or None, got 1\.5 \(float\)$"),
        (lambda: train_test_split(None, [0, 1]), TypeError,
         r"^train_test_split: X must be an iterable of examples, got None"),
        (lambda: list(minibatches(10, 0, random.Random(0))), ValueError,
         r"^minibatches: batch_size must be an int >= 1, got 0 \(int\)$"),
        (lambda: list(minibatches(-1, 4, random.Random(0))), ValueError,
         r"^minibatches: n must be an int >= 0, got -1 \(int\)$"),
        (lambda: list(minibatches(10, 4, 0)), TypeError,
         r"^minibatches: rng must be a random\.Random, got 0 \(int\)$"),
        (lambda: accuracy([1, 2], [1]), ValueError, r"^accuracy: 2 predictions but 1 labels$"),
        (lambda: accuracy([], []), ValueError, r"^accuracy: no examples$"),
        (lambda: accuracy(3, [1]), TypeError, r"^accuracy: predicted must be an iterable"),
        (lambda: argmax([]), ValueError, r"^argmax: values is empty$"),
        (lambda: argmax(Value(1.0)), TypeError, r"^argmax: values must be an iterable"),
        (lambda: predict_classes(3, [[1.0]]), TypeError,
         r"^predict_classes: model must be callable, got 3 \(int\)$"),
    ],
)
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_moved_not_copied():
    """One owner: the demos import these from nn and no longer define them."""
    training = importlib.import_module("demos.training")
    datasets = importlib.import_module("demos.datasets")
    for name in ("minibatches", "accuracy", "predict", "argmax"):
        assert not hasattr(training, name), f"demos.training still defines {name}"
    assert not hasattr(datasets, "train_test_split")
    digits = importlib.import_module("demos.digits")
    for name in ("minibatches", "accuracy", "predict_classes", "train_test_split"):
        assert getattr(digits, name) is getattr(nn, name)
