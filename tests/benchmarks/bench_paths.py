"""explain_gradient benchmark: a gradient's top paths, timed against backward on the same graph.

Run from the repository root::

    python -m tests.benchmarks.bench_paths
    python tests/benchmarks/bench_paths.py           # the same, run as a file

1. the digits MLP: ``MLP(64, [32, 32, 10])`` on the first "3" of ``demos/data``,
   softmax cross-entropy; ``explain_gradient(loss, w, k=10)`` for a first-layer weight
   (the one with the largest |gradient|), and for comparison one ``backward()`` of the
   same loss (the anchor).
2. a chain of 100 diamonds: ``v = tanh(0.5 v) + sigmoid(-0.25 v)`` a hundred times, so
   ``2**100`` (about 1.27e30) paths from the output to the input; ``k=10``.

Each time is the best of several rounds.  Targets: each explanation well under a second
(<= 0.5 s), whatever the machine; the ratio to backward is printed for the record.
Exit status 1 if a target is missed.  Not a pytest test: the figures depend on the machine.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from autograd import Value, explain_gradient, grad
from demos.datasets import load_digits
from nn import MLP, cross_entropy
from tests.benchmarks._common import Verdicts, clock, machine, ms, table

ROUNDS = 5
TARGET_S = 0.5


def best(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        t = clock()
        fn()
        times.append(clock() - t)
    return min(times)


def digits_case() -> tuple[str, float, float, int, int]:
    X, y = load_digits()
    x = X[y.index(3)]
    model = MLP(64, [32, 32, 10], seed=0)
    loss = cross_entropy(model(x), 3)
    weights = [w for n in model.layers[0].neurons for w in n.w]
    w = max(zip(grad(loss, weights), weights), key=lambda t: abs(t[0]))[1]
    e = explain_gradient(loss, w, k=10)
    t_explain = best(lambda: explain_gradient(loss, w, k=10))
    t_backward = best(loss.backward)
    return f"digits MLP, {w.label}", t_explain, t_backward, e.count, e.edges


def diamonds_case() -> tuple[str, float, float, int, int]:
    x = Value(0.3, label="x")
    v = x
    for _ in range(100):
        v = (v * 0.5).tanh() + (v * -0.25).sigmoid()
    e = explain_gradient(v, x, k=10)
    assert e.count == 2**100
    t_explain = best(lambda: explain_gradient(v, x, k=10))
    t_backward = best(v.backward)
    return "100 diamonds, x", t_explain, t_backward, e.count, e.edges


def main() -> int:
    print(machine())
    rows, verdicts = [], Verdicts()
    for case in (digits_case, diamonds_case):
        name, t_e, t_b, count, edges = case()
        rows.append((name, f"{count:.3e}" if count > 10**9 else f"{count:,}", f"{edges:,}",
                     ms(t_e), ms(t_b), f"{t_e / t_b:.1f}x"))
        verdicts.check(name, t_e <= TARGET_S, f"explain_gradient {ms(t_e)} ms (target "
                       f"<= {TARGET_S * 1e3:.0f} ms)")
    print(table(("case", "paths", "edges", "explain ms", "backward ms", "explain / backward"),
                rows))
    return verdicts.exit_code()


if __name__ == "__main__":
    sys.exit(main())
