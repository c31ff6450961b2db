"""demos.mnist: the shipped 28x28 digits, the balanced subset, the flags and a smoke run."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from demos import digits, mnist
from demos.datasets import balanced_subset, load_mnist
from nn import MLP


def test_shipped_mnist_loads():
    X, y = load_mnist()
    assert len(X) == len(y) == 5000
    assert all(len(row) == 784 for row in X)
    assert all(0.0 <= v <= 1.0 for row in X for v in row)
    assert max(v for row in X for v in row) == 1.0  # gray level 255 scales to exactly 1
    assert Counter(y) == {d: 500 for d in range(10)}
    assert y == sorted(y)  # the file is sorted by class: why --limit takes a balanced subset


def test_load_mnist_names_a_bad_row(tmp_path):
    import gzip

    path = tmp_path / "bad.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write(",".join(["0"] * 784 + ["3"]) + "\n")
        f.write(",".join(["0"] * 783 + ["256", "3"]) + "\n")
    with pytest.raises(ValueError, match=r"load_mnist: .* line 2: gray level outside 0..255"):
        load_mnist(path)


def test_balanced_subset():
    y = [0] * 5 + [1] * 5 + [2] * 2
    X = list(range(len(y)))
    Xs, ys = balanced_subset(X, y, 7)
    assert Counter(ys) == {0: 3, 1: 2, 2: 2}
    assert Xs == [0, 1, 2, 5, 6, 10, 11]  # the first of each class, in the data's order
    assert balanced_subset(X, y, 12)[1] == [0] * 4 + [1] * 4 + [2] * 2
    assert balanced_subset(X, y, 30)[1] == y  # classes run out: fewer, never repeated
    with pytest.raises(ValueError, match="balanced_subset: 12 examples but 3 labels"):
        balanced_subset(X, [0, 1, 2], 3)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--limit", "29"], "argument --limit: must be an int in [30, 5,000], got 29 (int)"),
        (["--limit", "5001"], "argument --limit: must be an int in [30, 5,000], got 5001 (int)"),
        (["--hidden", "16"],
         "argument --hidden: the network has two hidden layers, got 1 width: '16'"),
        (["--epochs", "0"], "argument --epochs: must be an int in [1, 500], got 0 (int)"),
        (["--lr", "inf"], "argument --lr: must be a finite number in (0, 10], got inf (float)"),
    ],
)
def test_mnist_rejects_bad_flags(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        mnist.main([*argv, "--out", str(tmp_path)])
    assert e.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err


def test_mnist_bad_out_folder_stops_before_any_work(tmp_path, capsys):
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(SystemExit) as e:
        mnist.main(["--out", str(tmp_path / "a_file")])
    assert e.value.code == 2
    assert capsys.readouterr().out == ""


def test_mnist_smoke(tmp_path, capsys):
    out = tmp_path / "mnist"
    argv = ["--epochs", "1", "--hidden", "6,6", "--limit", "300", "--diagnose", "--out", str(out)]
    assert mnist.main(argv) == 0
    text = capsys.readouterr().out
    assert text.startswith("data: 300 MNIST digits (28x28), 240 train / 60 test")
    assert "model: MLP(784, [6, 6, 10]), 4822 parameters" in text
    for name in ("model.json", "training.png", "mistakes.png", "network_3.svg"):
        assert (out / name).stat().st_size > 0, name
        assert str(out / name) in text  # every file written is reported
    assert "epoch 1/1: loss" in text and "confusion matrix" in text
    assert "network health before training" in text and "network health after training" in text
    # the digits demo's report, word for word: one run() serves both
    trained, tested = text.strip().splitlines()[-2:]
    assert re.fullmatch(r"trained in \d+\.\d s; train accuracy: \d+\.\d%", trained)
    assert re.fullmatch(r"test accuracy: \d+\.\d% \(\d+ of 60 test digits\)", tested)
    assert MLP.from_file(out / "model.json").nin == 784
    svg = (out / "network_3.svg").read_text()
    assert "MLP(784, [6, 6, 10]): backpropagation for target 3" in svg
    assert svg.count("<polygon") > 784 and "<title>x783</title>" in svg  # every pixel a square
    assert ">x783</text>" not in svg  # ... not a named circle
    assert ("into each neuron, the 6 of 784 connections with the largest |gradient| are drawn"
            in svg)


def test_mnist_learns(tmp_path, capsys):
    argv = ["--epochs", "2", "--limit", "500", "--no-plots", "--quiet", "--out", str(tmp_path)]
    assert mnist.main(argv) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert float(re.match(r"test accuracy: (\d+\.\d)%", last).group(1)) >= 50.0  # chance: 10%


@pytest.mark.parametrize("module, demo", [(digits, digits.DIGITS), (mnist, mnist.MNIST)],
                         ids=["digits", "mnist"])
def test_both_digit_demos_are_one_run_with_their_own_settings(module, demo, monkeypatch):
    seen = []
    monkeypatch.setattr(module, "run", lambda d, args: seen.append((d, args)) or 0)
    assert module.main(["--quiet"]) == 0
    [(run_demo, args)] = seen
    assert run_demo is demo and args == demo.parse_args(["--quiet"])
    assert (args.epochs, ",".join(map(str, args.hidden)), args.out) == (
        demo.epochs, demo.hidden, demo.out)


def test_both_digit_demos_take_a_limit_evenly_from_every_class():
    X, y = mnist.MNIST.examples(30)
    assert len(X) == 30 and sorted(y) == sorted(list(range(10)) * 3) and len(X[0]) == 28 * 28
    X8, y8 = digits.DIGITS.examples(45)
    X_all, y_all = digits.DIGITS.examples(None)
    assert len(X_all) == digits.N_DIGITS and len(X8[0]) == 8 * 8
    assert sorted(y8) == sorted([*range(10)] * 4 + [*range(5)])  # 4 a class, then 0..4 one more
    assert (X8, y8) == balanced_subset(X_all, y_all, 45)
