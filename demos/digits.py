"""Train the explainer's network on the real 8x8 digits: ``python -m demos.digits``.

64 input neurons (one per pixel), two hidden ReLU layers, 10 outputs; softmax
cross-entropy on minibatches, Adam with a learning rate that decays linearly to
a tenth of its start. The train/test split is stratified and fixed (seed 0), so
every run is judged on the same test digits; ``--seed`` changes the initial
weights and the batch order.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from autograd import vsum
from demos import cli
from demos.datasets import balanced_subset, load_digits, smallest_split
from demos.modes import compare_modes, mode_line
from demos.output import engine_line, pyplot, save_figure, write_svg, write_text, wrote
from demos.training import Progress, confusion_matrix, format_confusion, print_diagnosis
from nn import (
    MLP,
    Adam,
    accuracy,
    argmax,
    cross_entropy,
    minibatches,
    predict_classes,
    train_test_split,
)

DEFAULT_HIDDEN = "32,32"  # a string: argparse parses it with the type, --help shows it as is
TEST_FRACTION = 0.2  # an 80/20 split
SPLIT_SEED = 0
FINAL_LR_FRACTION = 0.1  # the learning rate decays linearly to this fraction of --lr
N_DIGITS = 1797  # in demos/data/digits.csv.gz
N_CLASSES = 10


Data = tuple[list, list]  # (images as flat lists of 0..1 levels, labels)


@dataclass(frozen=True)
class DigitsDemo:
    """What sets one digit-reading demo apart (``demos.digits``, ``demos.mnist``): its command
    line's name, defaults and data; :func:`run` does the rest, the same for each."""

    prog: str
    description: str
    data_name: str  # "digits", as in "data: 1797 digits, 1437 train / 360 test"
    side: int  # the images are side x side
    n_data: int
    load: Callable[[], Data]  # every example
    out: Path
    hidden: str  # --hidden's default, as typed (--help shows it so)
    epochs: int

    @property
    def min_limit(self) -> int:
        """``--limit``'s lowest value: the fewest digits the fixed split divides with every
        class in both the training and the test set (3 a class: 2 to train on, 1 to test)."""
        return smallest_split(N_CLASSES, TEST_FRACTION)

    def examples(self, limit: int | None) -> Data:
        """Every example, or ``limit`` of them taken evenly from every class."""
        X, y = self.load()
        return (X, y) if limit is None else balanced_subset(X, y, limit)
    speedup: str = ""  # the compiled engine's, for the pure engine's hint (docs/demos.md)

    def parse_args(self, argv: Sequence[str] | None = None) -> argparse.Namespace:
        per_class = self.min_limit // N_CLASSES
        return cli.parse_mlp_training(
            argv, self.prog, self.description, nin=self.side**2, out=self.out,
            hidden=self.hidden, epochs=self.epochs, n_data=self.n_data,
            min_limit=self.min_limit,
            limit_help=f"use only N of the {self.n_data:,} digits, taken evenly from every "
            f"class (quick runs; at least {per_class} a class, so the test set has each)",
        )


DIGITS = DigitsDemo(
    prog="python -m demos.digits",
    description="Train a 64-input, two-hidden-layer, 10-output network on the 8x8 digits.",
    data_name="digits", side=8, n_data=N_DIGITS, load=load_digits, out=Path("out/digits"),
    hidden=DEFAULT_HIDDEN, epochs=8, speedup="about 1.4x",
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return DIGITS.parse_args(argv)


def train(
    model: MLP,
    X: Sequence[list[float]],
    y: Sequence[int],
    X_test: Sequence[list[float]],
    y_test: Sequence[int],
    args: argparse.Namespace,
) -> dict[str, list[float]]:
    """Minibatch Adam on softmax cross-entropy; returns the per-epoch history.

    Numbers that blow up (an overflow after too large a step) end the run with one
    line saying at which epoch, via :func:`demos.cli.diverged`.
    """
    if not X or not X_test:  # a caller's mistake, not training that diverged: said as such
        raise ValueError(f"train: needs examples to train on and to test on, got {len(X)} "
                         f"and {len(X_test)}")
    rng = random.Random(args.seed)
    opt = Adam(model.parameters(), lr=args.lr)
    history: dict[str, list[float]] = {"step_loss": [], "loss": [], "train": [], "test": []}
    for epoch in range(1, args.epochs + 1):
        try:
            run_epoch(model, opt, X, y, X_test, y_test, args, epoch, rng, history)
        except cli.DIVERGENCE as e:
            raise cli.diverged(f"epoch {epoch}", e) from None
    return history


def run_epoch(
    model: MLP, opt: Adam, X: Sequence[list[float]], y: Sequence[int],
    X_test: Sequence[list[float]], y_test: Sequence[int], args: argparse.Namespace,
    epoch: int, rng: random.Random, history: dict[str, list[float]],
) -> None:
    """One pass over the training set; appends to ``history``."""
    steps_per_epoch = -(-len(X) // args.batch_size)
    total_steps = args.epochs * steps_per_epoch
    step = (epoch - 1) * steps_per_epoch
    bar = Progress(steps_per_epoch, f"epoch {epoch}/{args.epochs}", enabled=not args.quiet)
    loss_sum = 0.0
    correct = 0
    seen = 0
    try:
        for batch in minibatches(len(X), args.batch_size, rng):
            opt.lr = args.lr * (1.0 - (1.0 - FINAL_LR_FRACTION) * step / max(1, total_steps - 1))
            logits = [model(X[i]) for i in batch]
            loss = vsum([cross_entropy(out, y[i]) for out, i in zip(logits, batch)]) / len(batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            correct += sum(argmax(out) == y[i] for out, i in zip(logits, batch))
            seen += len(batch)
            loss_sum += loss.data * len(batch)
            history["step_loss"].append(loss.data)
            bar.update(1, loss=f"{loss_sum / seen:.3f}", train=f"{correct / seen:.1%}")
        test_acc = accuracy(predict_classes(model, X_test), y_test)
    except BaseException:
        bar.close()  # end the bar's line, so the one-line error starts on its own
        raise
    history["loss"].append(loss_sum / seen)
    history["train"].append(correct / seen)
    history["test"].append(test_acc)
    summary = dict(loss=f"{loss_sum / seen:.3f}", train=f"{correct / seen:.1%}",
                   test=f"{test_acc:.1%}")
    bar.close(**summary)
    if not bar.shown and not args.quiet:
        print(f"epoch {epoch}/{args.epochs}: loss {summary['loss']}, train accuracy "
              f"{summary['train']} (during the epoch), test accuracy {summary['test']}",
              flush=True)


def plot_history(plt: Any, history: dict[str, list[float]], path: Path) -> Path:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    n_steps = len(history["step_loss"])
    epochs = len(history["loss"])
    per_epoch = n_steps / epochs
    ax1.plot([(i + 1) / per_epoch for i in range(n_steps)], history["step_loss"],
             color="0.75", lw=0.8, label="each minibatch")
    ax1.plot(range(1, epochs + 1), history["loss"], "o-", color="C0", label="epoch mean")
    ax1.set(xlabel="epoch", ylabel="cross-entropy loss", title="training loss", yscale="log")
    ax1.legend()
    ax2.plot(range(1, epochs + 1), [100 * a for a in history["train"]], "o-", label="train")
    ax2.plot(range(1, epochs + 1), [100 * a for a in history["test"]], "s-", label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    ax2.grid(alpha=0.3)
    ax2.legend(loc="lower right")
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def plot_mistakes(
    plt: Any, X: Sequence[list[float]], y: Sequence[int], pred: Sequence[int], path: Path,
    limit: int = 40, side: int = 8,
) -> Path:
    wrong = [i for i, (t, p) in enumerate(zip(y, pred)) if t != p][:limit]
    cols = 10
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 1.1 + 0.5), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong):
        ax.imshow([X[i][r * side : (r + 1) * side] for r in range(side)], cmap="gray_r",
                  vmin=0, vmax=1)
        ax.set_title(f"{y[i]} → {pred[i]}", fontsize=9, color="C3")
    n_wrong = sum(t != p for t, p in zip(y, pred))
    shown = f" (first {len(wrong)} shown)" if n_wrong > len(wrong) else ""
    title = (f"{n_wrong} of {len(y)} test digits misread{shown}: true → predicted"
             if n_wrong else f"no mistakes on the {len(y)} test digits")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def draw_three(model: MLP, X: Sequence[list[float]], y: Sequence[int], path: Path) -> Path | None:
    """The network view of the trained model reading the first "3" of the test set."""
    from nn import draw_network

    if 3 not in y:
        print('note: no "3" in the test set, so no network view')
        return None
    x = X[list(y).index(3)]
    return write_svg(path, draw_network(model, x, target=3), 'network view of a test "3"')


def most_confused(y: Sequence[int], pred: Sequence[int]) -> tuple[int, int] | None:
    """The (true, predicted) pair the confusion matrix counts most often, or None if every
    digit is read right; ties go to the smaller pair."""
    m = confusion_matrix(y, pred, N_CLASSES)
    pairs = [(m[t][p], -t, -p) for t in range(N_CLASSES) for p in range(N_CLASSES) if t != p]
    count, t, p = max(pairs)
    return None if count == 0 else (-t, -p)


def draw_what_it_sees(model: MLP, X: Sequence[list[float]], y: Sequence[int],
                      pred: Sequence[int], out: Path, side: int) -> None:
    """What each neuron looks for (first-layer weights, the test digits that excite each
    last-hidden neuron most) and why the most confused test digit is misread."""
    from nn import draw_why, top_activating, weight_images

    write_text(out / "weights_layer0.svg", weight_images(model, (side, side)).draw().svg)
    wrote(out / "weights_layer0.svg", "first-layer weights as images")
    last = len(model.layers) - 2
    if last > 0:
        top = top_activating(model, X, last, k=min(5, len(X)))
        path = out / f"top_digits_layer{last}.svg"
        write_text(path, top.draw(X, (side, side)).svg)
        wrote(path, f"test digits that excite each neuron of layers.{last} most")
    pair = most_confused(y, pred)
    if pair is None:
        print("note: no misread test digit, so no why_*.svg")
        return
    t, p = pair
    margin = [model.predict(X[i]) for i in range(len(X))]
    i = max((i for i in range(len(X)) if y[i] == t and pred[i] == p),
            key=lambda i: margin[i][p] - margin[i][t])
    path = out / f"why_{p}_not_{t}.svg"
    title = (f"Test digit {i}, a {t} read as a {p} (the most confused pair, {t} → {p}): "
             f"why {p} rather than {t}?")
    write_text(path, draw_why(model, X[i], p, t, (side, side), title=title).svg)
    wrote(path, f"why test digit {i} (a {t}) reads as a {p}")


def train_and_report(
    model: MLP, split: tuple, args: argparse.Namespace, side: int = 8
) -> tuple[float, list[int], float, float]:
    """Train ``model`` on ``split`` (X_train, X_test, y_train, y_test) as the flags say, print
    the confusion matrix (and ``--diagnose``'s reports), and write the model, the plots and the
    network view of a test "3".  Returns (seconds, test predictions, train and test accuracy).
    Shared by the 8x8 digits and MNIST (``side`` 28) demos."""
    X_train, X_test, y_train, y_test = split
    if args.diagnose:
        print_diagnosis(model, X_train, y_train, args.lr, "before training")
    start = time.perf_counter()
    history = train(model, X_train, y_train, X_test, y_test, args)
    seconds = time.perf_counter() - start
    if args.diagnose:
        print_diagnosis(model, X_train, y_train, args.lr * FINAL_LR_FRACTION, "after training")

    pred = predict_classes(model, X_test)
    test_acc = accuracy(pred, y_test)
    train_acc = accuracy(predict_classes(model, X_train), y_train)
    print("\nconfusion matrix on the test set (rows: true digit, columns: predicted):")
    print(format_confusion(confusion_matrix(y_test, pred, 10)))
    print()

    model_path = args.out / "model.json"
    model.save(model_path)
    wrote(model_path, "trained model")
    plt = pyplot(enabled=not args.no_plots)
    if plt is not None:
        wrote(plot_history(plt, history, args.out / "training.png"), "loss/accuracy plot")
        wrote(plot_mistakes(plt, X_test, y_test, pred, args.out / "mistakes.png", side=side),
              "misread test digits")
    draw_three(model, X_test, y_test, args.out / "network_3.svg")
    draw_what_it_sees(model, X_test, y_test, pred, args.out, side)
    return seconds, pred, train_acc, test_acc


def run(demo: DigitsDemo, args: argparse.Namespace) -> int:
    """A digit-reading demo's run, once its flags are parsed: data, split, model, training,
    report."""
    X, y = demo.examples(args.limit)
    X_train, X_test, y_train, y_test = train_test_split(X, y, TEST_FRACTION, seed=SPLIT_SEED)
    nin, sizes = demo.side**2, [*args.hidden, 10]
    model = MLP(nin, sizes, seed=args.seed)
    print(f"data: {len(X)} {demo.data_name}, {len(X_train)} train / {len(X_test)} test "
          f"(stratified 80/20 split, seed {SPLIT_SEED})")
    print(f"model: MLP({nin}, {sizes}), {model.num_parameters()} parameters; "
          f"Adam lr {args.lr:g} -> {args.lr * FINAL_LR_FRACTION:g}, batch {args.batch_size}, "
          f"{args.epochs} epochs, seed {args.seed}")
    print(engine_line(demo.speedup))

    seconds, pred, train_acc, test_acc = train_and_report(
        model, (X_train, X_test, y_train, y_test), args, side=demo.side
    )

    print(mode_line(compare_modes(model, X_test[0], y_test[0])))
    print(f"\ntrained in {seconds:.1f} s; train accuracy: {train_acc:.1%}")
    print(f"test accuracy: {test_acc:.1%} ({sum(p == t for p, t in zip(pred, y_test))} of "
          f"{len(y_test)} test digits)")
    return 0


@cli.command
def main(argv: Sequence[str] | None = None) -> int:
    return run(DIGITS, parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
