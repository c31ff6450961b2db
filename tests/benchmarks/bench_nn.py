"""nn benchmark: valuegrad's ``nn`` vs micrograd 0.1.0's ``micrograd.nn``, same process, same work.

Run from the repository root (micrograd comes with the ``bench`` extra)::

    python -m tests.benchmarks.bench_nn           # complete (micrograd's 100 steps: minutes)
    python -m tests.benchmarks.bench_nn --quick   # micrograd runs 10 moons steps, extrapolated
    python -m tests.benchmarks.bench_nn --micrograd-steps 25
    python tests/benchmarks/bench_nn.py           # the same, run as a file

Both models start from the same weights (ours are copied into micrograd's), see the
same inputs and compute the same losses, so the runs are checked against each other
before any time is compared.

1. one training step on one sample: ``MLP(64, [32, 32, 10])``, an 8x8 digit from
   ``demos/data`` as input, mean squared error against the one-hot label; the step is
   zero_grad, forward, loss, backward.  ms per step, best of several rounds.
   Target: ours >= 15x faster.
2. micrograd's own moons demo, end to end: ``MLP(2, [16, 16, 1])``, 100 points from
   ``demos.datasets.make_moons`` (noise 0.1), hinge loss + 1e-4 * sum(p*p), 100
   full-batch SGD steps with ``lr = 1.0 - 0.9 * k / 100``; final training accuracy of
   both.  Our run is timed before and after micrograd's and averaged.  Target: ours
   >= 40x faster.  micrograd takes minutes here, so ``--micrograd-steps N`` / ``--quick``
   run only its first N steps and extrapolate its time per step to 100 steps (said so in
   the output); our side always runs all 100.

Exit status 1 if a target is missed.  Not a pytest test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
from pathlib import Path
from typing import Any, Callable, NamedTuple

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from autograd import no_grad
from demos.datasets import load_digits, make_moons
from nn import MLP, SGD, hinge_loss, l2_penalty, mse
from tests.benchmarks._common import (
    Verdicts,
    clock,
    machine,
    ms,
    require_micrograd,
    run_deep,
    table,
)

STEP_TARGET = 15.0
MOONS_TARGET = 40.0
MOONS_STEPS = 100
MOONS_POINTS = 100
L2_ALPHA = 1e-4
SEED = 0


def micrograd_mlp(ours: MLP) -> Any:
    """micrograd's MLP of the same shape, holding a copy of ``ours``'s weights."""
    require_micrograd()
    from micrograd.nn import MLP as MicroMLP

    theirs = MicroMLP(ours.nin, ours.nouts)
    for la, lb in zip(ours.layers, theirs.layers):
        for na, nb in zip(la.neurons, lb.neurons):
            for wa, wb in zip(na.w, nb.w):
                wb.data = wa.data
            nb.b.data = na.b.data
    assert len(theirs.parameters()) == len(ours.parameters())
    return theirs


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# --- 1. one training step ----------------------------------------------------------------


def step_ours(model: MLP, x: list[float], target: list[float]) -> float:
    model.zero_grad()
    loss = mse(model(x), target)
    loss.backward()
    return loss.data


def step_micrograd(model: Any, x: list[float], target: list[float]) -> float:
    # micrograd has no loss functions: this is the usual hand-written mean squared error.
    model.zero_grad()
    out = model(x)
    loss = sum((o - t) ** 2 for o, t in zip(out, target)) * (1.0 / len(out))
    loss.backward()
    return loss.data


def per_step(steps: dict[str, tuple[Callable[[], Any], int]], rounds: int) -> dict[str, float]:
    """Seconds per step for each named ``(step, calls per round)``: the best round's mean.

    The engines take turns round by round, so a busy spell on the machine hits both;
    the cyclic GC runs as usual inside a round, as it would in training.
    """
    for step, _ in steps.values():
        step()  # warm-up
    best = dict.fromkeys(steps, math.inf)
    for _ in range(rounds):
        for name, (step, n) in steps.items():
            gc.collect()
            t0 = clock()
            for _ in range(n):
                step()
            best[name] = min(best[name], (clock() - t0) / n)
    return best


def bench_step(quick: bool, verdicts: Verdicts) -> float:
    X, y = load_digits()
    x, label = X[0], y[0]
    target = [1.0 if k == label else 0.0 for k in range(10)]
    ours = MLP(64, [32, 32, 10], seed=SEED)
    theirs = micrograd_mlp(ours)

    la, lb = step_ours(ours, x, target), step_micrograd(theirs, x, target)
    grads_agree = all(close(p.grad, q.grad) for p, q in zip(ours.parameters(), theirs.parameters()))
    verdicts.check(
        "same step",
        close(la, lb) and grads_agree,
        f"loss {la:.12g} vs {lb:.12g}, parameter gradients {'agree' if grads_agree else 'DIFFER'}",
    )

    times = per_step(
        {
            "ours": (lambda: step_ours(ours, x, target), 50 if quick else 200),
            "micrograd": (lambda: step_micrograd(theirs, x, target), 5 if quick else 20),
        },
        rounds=3 if quick else 5,
    )
    t_ours, t_theirs = times["ours"], times["micrograd"]
    ratio = t_theirs / t_ours
    print(table(
        ["engine", "ms per step"],
        [["valuegrad", ms(t_ours)], ["micrograd", ms(t_theirs)],
         ["micrograd / ours", f"{ratio:.1f}x"]],
    ))
    verdicts.check(
        f"training step >= {STEP_TARGET:g}x faster", ratio >= STEP_TARGET, f"{ratio:.1f}x"
    )
    return ratio


# --- 2. the moons demo -------------------------------------------------------------------


class Run(NamedTuple):
    seconds: float
    steps: int
    losses: list[float]  # total loss at each step, before its update
    accuracy: float  # on the training points, after the last step


def learning_rate(k: int) -> float:
    return 1.0 - 0.9 * k / MOONS_STEPS


def moons_step_ours(model: MLP, opt: SGD, X: list[list[float]], signs: list[int], k: int) -> float:
    scores = [model(x) for x in X]
    loss = hinge_loss(scores, signs) + l2_penalty(model, L2_ALPHA)
    opt.zero_grad()
    loss.backward()
    opt.lr = learning_rate(k)
    opt.step()
    return loss.data


def moons_step_micrograd(model: Any, X: list[list[float]], signs: list[int], k: int) -> float:
    # One step of the training loop of micrograd's demo.ipynb, minus its accuracy printout.
    from micrograd.engine import Value

    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    data_loss = sum((1 + -yi * si).relu() for yi, si in zip(signs, scores))
    data_loss = data_loss * (1.0 / len(scores))
    reg_loss = L2_ALPHA * sum(p * p for p in model.parameters())
    total_loss = data_loss + reg_loss
    model.zero_grad()
    total_loss.backward()
    lr = learning_rate(k)
    for p in model.parameters():
        p.data -= lr * p.grad
    return total_loss.data


def train_ours(X: list[list[float]], signs: list[int]) -> Run:
    model = MLP(2, [16, 16, 1], seed=SEED)
    opt = SGD(model, lr=1.0)
    t0 = clock()
    losses = [moons_step_ours(model, opt, X, signs, k) for k in range(MOONS_STEPS)]
    seconds = clock() - t0
    with no_grad():
        right = sum((model(x).data > 0.0) == (s > 0) for x, s in zip(X, signs))
    return Run(seconds, MOONS_STEPS, losses, right / len(X))


def train_micrograd(model: Any, X: list[list[float]], signs: list[int], steps: int) -> Run:
    from micrograd.engine import Value

    t0 = clock()
    losses = [moons_step_micrograd(model, X, signs, k) for k in range(steps)]
    seconds = clock() - t0
    right = sum((model([Value(a) for a in x]).data > 0.0) == (s > 0) for x, s in zip(X, signs))
    return Run(seconds, steps, losses, right / len(X))


def bench_moons(micrograd_steps: int, verdicts: Verdicts) -> float:
    X, y = make_moons(MOONS_POINTS, 0.1, seed=SEED)
    signs = [2 * t - 1 for t in y]
    theirs = micrograd_mlp(MLP(2, [16, 16, 1], seed=SEED))
    # Each engine runs the demo's loop as it is, its garbage collector included.  The
    # shared VM's speed drifts over minutes, so our short run is timed just before and
    # just after micrograd's long one, and the two are averaged.
    gc.collect()  # section 1's micrograd garbage, which our run must not pay for
    before = run_deep(lambda: train_ours(X, signs))
    gc.collect()
    print(f"   micrograd: running {micrograd_steps} of {MOONS_STEPS} steps ...", flush=True)
    b = run_deep(lambda: train_micrograd(theirs, X, signs, micrograd_steps))
    gc.collect()
    after = run_deep(lambda: train_ours(X, signs))
    a = before._replace(seconds=(before.seconds + after.seconds) / 2)
    print(f"   ours: {before.seconds:.2f} s before micrograd's run, {after.seconds:.2f} s after")
    extrapolated = b.steps < MOONS_STEPS
    b_total = b.seconds / b.steps * MOONS_STEPS
    ratio = b_total / a.seconds
    k = b.steps - 1
    rows = [
        ["valuegrad", MOONS_STEPS, f"{a.seconds:.2f}", ms(a.seconds / MOONS_STEPS),
         f"{a.losses[k]:.6f}", f"{a.accuracy:.0%}"],
        ["micrograd", b.steps, f"{b_total:.2f}" + (" (extrapolated)" if extrapolated else ""),
         ms(b.seconds / b.steps), f"{b.losses[k]:.6f}",
         f"{b.accuracy:.0%}" + (f" after {b.steps} steps" if extrapolated else "")],
        ["micrograd / ours", "", f"{ratio:.1f}x", "", "", ""],
    ]
    print(table(["engine", "steps run", f"s for {MOONS_STEPS} steps", "ms per step",
                 f"loss at step {k + 1}", "train accuracy"], rows))
    if extrapolated:
        print(f"   micrograd ran {b.steps} steps in {b.seconds:.2f} s; its time for "
              f"{MOONS_STEPS} steps is that per-step time x {MOONS_STEPS} (its graph is the "
              "same size every step)")
    # Same start, same data, same maths: the trajectories may part only by rounding.
    agree = sum(close(p, q) or abs(p - q) <= 1e-6 * max(1.0, abs(q)) for p, q in
                zip(a.losses, b.losses))
    verdicts.check("same training", agree == b.steps,
                   f"per-step losses agree to 1e-6 for {agree} of {b.steps} steps")
    verdicts.check(
        f"moons demo >= {MOONS_TARGET:g}x faster",
        ratio >= MOONS_TARGET,
        f"{ratio:.1f}x" + (" (micrograd extrapolated)" if extrapolated else ""),
    )
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer timing rounds; micrograd runs 10 moons steps, extrapolated")
    parser.add_argument("--micrograd-steps", type=int, default=None, metavar="N",
                        help=f"micrograd's moons steps, 1..{MOONS_STEPS} "
                        "(default all of them; 10 with --quick)")
    args = parser.parse_args(argv)
    n = args.micrograd_steps if args.micrograd_steps is not None else (10 if args.quick else 100)
    if not 1 <= n <= MOONS_STEPS:
        parser.error(f"--micrograd-steps must be in 1..{MOONS_STEPS}, got {n}")
    require_micrograd()
    verdicts = Verdicts()
    print(f"valuegrad nn vs micrograd 0.1.0 nn -- {machine()}\n")
    print("1. one training step, MLP(64, [32, 32, 10]), one digit, MSE vs one-hot")
    bench_step(args.quick, verdicts)
    print(f"\n2. micrograd's moons demo: MLP(2, [16, 16, 1]), {MOONS_POINTS} points, "
          f"hinge + {L2_ALPHA:g} L2, {MOONS_STEPS} SGD steps")
    bench_moons(n, verdicts)
    return verdicts.exit_code()


if __name__ == "__main__":
    sys.exit(main())
