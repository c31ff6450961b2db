"""micrograd's demo, reproduced: ``python -m demos.moons``.

Two interleaving half-moons (our own generator, scikit-learn's recipe), an
``MLP(2, [16, 16, 1])``, the max-margin (hinge) loss plus 1e-4 L2, and plain SGD
whose learning rate falls linearly from 1.0 to 0.1, on the full batch of 100
points, as in micrograd's ``demo.ipynb``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autograd import no_grad
from demos import cli
from demos.datasets import make_moons
from demos.output import pyplot, save_figure, wrote
from nn import MLP, SGD, accuracy, hinge_loss, l2_penalty
from nn.layers import count_parameters

L2_ALPHA = 1e-4
HIDDEN = [16, 16]
PARAMETERS = count_parameters([2, *HIDDEN, 1])
NEURONS = sum(HIDDEN) + 1
MAX_STEPS = 100_000
MAX_POINTS = 10_000
MAX_NOISE = 10.0  # the moons are 1 apart: beyond this the data is only noise
MAX_LR = 100.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        prog="python -m demos.moons",
        description="Fit MLP(2, [16, 16, 1]) to two half-moons with hinge loss and SGD.",
    )
    cli.add_int(p, "--steps", 1, MAX_STEPS, "full-batch SGD steps", default=100)
    cli.add_int(p, "--points", 2, MAX_POINTS, "how many points", default=100)
    cli.add_float(p, "--noise", 0.0, MAX_NOISE, "standard deviation of the noise", default=0.1)
    cli.add_float(p, "--lr", 0.0, MAX_LR, "starting learning rate; it falls linearly to a tenth "
                  "of this", lo_open=True, default=1.0)
    cli.add_seed(p, "data, and initial weights")
    p.add_argument("--out", type=Path, default=Path("out/moons"), help="output folder")
    p.add_argument("--no-plots", action="store_true", help="skip the decision-boundary plot")
    p.epilog = (f"Limit on the whole run: {cli.MAX_WORK:,} parameters ({PARAMETERS}) x --points "
                f"x --steps ({cli.WORK_TIME}).")
    args = p.parse_args(argv)
    cli.check_budget(
        p,
        step=(NEURONS * args.points, "--points"),
        work=(PARAMETERS * args.points * args.steps, "--points and --steps"),
    )
    if not args.no_plots:
        cli.output_folder(p, args.out)
    return args


def predict_sign(model: MLP, X: Sequence[Sequence[float]]) -> list[int]:
    """1 where the score is positive, else 0 (the data's own labels)."""
    with no_grad():
        return [int(model(x).data > 0.0) for x in X]


def plot_boundary(
    plt: Any, model: MLP, X: Sequence[list[float]], y: Sequence[int], path: Path, n: int = 80
) -> Path:
    """Shade where the model says +1 / -1 over a grid (evaluated without a graph)."""
    xs0 = [p[0] for p in X]
    xs1 = [p[1] for p in X]
    lo0, hi0 = min(xs0) - 0.5, max(xs0) + 0.5
    lo1, hi1 = min(xs1) - 0.5, max(xs1) + 0.5
    g0 = [lo0 + (hi0 - lo0) * i / (n - 1) for i in range(n)]
    g1 = [lo1 + (hi1 - lo1) * j / (n - 1) for j in range(n)]
    with no_grad():
        scores = [[model([a, b]).data for a in g0] for b in g1]
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.contourf(g0, g1, scores, levels=[-1e9, 0.0, 1e9], colors=["#f4a6a6", "#a6c8f4"], alpha=0.7)
    ax.contour(g0, g1, scores, levels=[0.0], colors="k", linewidths=1)
    for label, color, marker in ((0, "#c0392b", "o"), (1, "#2e64b5", "s")):
        pts = [p for p, t in zip(X, y) if t == label]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], c=color, marker=marker, s=22,
                   edgecolors="k", linewidths=0.5, label=f"class {'+1' if label else '-1'}")
    acc = accuracy(predict_sign(model, X), y)
    ax.set(title=f"MLP(2, [16, 16, 1]): training accuracy {acc:.0%}", xlabel="x0", ylabel="x1")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def sgd_step(model: MLP, opt: SGD, X: Sequence[list[float]], y: Sequence[int],
             signs: Sequence[int], args: argparse.Namespace, k: int) -> None:
    """Step ``k`` of full-batch SGD on hinge loss + L2, printing every tenth."""
    scores = [model(x) for x in X]
    data_loss = hinge_loss(scores, signs)
    loss = data_loss + l2_penalty(model.parameters(), L2_ALPHA)
    acc = accuracy([int(s.data > 0.0) for s in scores], y)
    opt.zero_grad()
    loss.backward()
    opt.lr = args.lr * (1.0 - 0.9 * k / args.steps)
    opt.step()
    if k % 10 == 0 or k == args.steps - 1:
        print(f"step {k:3d}: loss {loss.data:.4f} (hinge {data_loss.data:.4f}), "
              f"accuracy {acc:.0%}", flush=True)


@cli.command
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    X, y = make_moons(args.points, args.noise, seed=args.seed)
    signs = [2 * t - 1 for t in y]  # hinge loss wants labels -1 / +1
    model = MLP(2, [*HIDDEN, 1], seed=args.seed)
    opt = SGD(model.parameters(), lr=args.lr)
    print(f"data: {len(X)} points, noise {args.noise:g}, seed {args.seed}")
    print(f"model: MLP(2, [16, 16, 1]), {model.num_parameters()} parameters; hinge loss + "
          f"{L2_ALPHA:g} L2; SGD lr {args.lr:g} -> {args.lr / 10:g} over {args.steps} steps")
    k = 0
    try:
        for k in range(args.steps):
            sgd_step(model, opt, X, y, signs, args, k)
        final = accuracy(predict_sign(model, X), y)
    except cli.DIVERGENCE as e:
        raise cli.diverged(f"step {k}", e, "try a smaller --lr or --noise") from None

    plt = pyplot(enabled=not args.no_plots)
    if plt is not None:
        wrote(plot_boundary(plt, model, X, y, args.out / "decision_boundary.png"),
              "decision boundary")
    print(f"training accuracy: {final:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
