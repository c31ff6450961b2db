"""Calibrates draw_dot's layout budget: how long ``dot`` takes against what predicts it.

Run from the repository root::

    python -m tests.benchmarks.dot_budget            # about a minute; --limit to stop dot sooner
    python -m tests.benchmarks.dot_budget --refusal  # what refusing a huge graph costs

For graphs of growing size and density (fully connected layers drawn neuron by
neuron, whole small MLPs, random DAGs whose edges reach far back, polynomials that
reuse their inputs at every depth) it prints the picture's nodes, edges and ranked
nodes (``autograd.draw._layout_size``: nodes plus one per rank a long edge crosses)
and dot's wall time.  Boxes and edges alone do not predict the time (4,848 edges of
fully connected layers take a second, 480 edges of a polynomial take 50); ranked
nodes do.  The figures behind ``LAYOUT_PER_NODE`` in autograd/draw.py come from here.
With ``--refusal`` it times ``draw_dot`` refusing chains of 10^4 to 10^6 Values,
as a ratio to ordering a chain at the walk's limit (``VALUES_PER_NODE * MAX_NODES``)
in the same process: bounded, the ratio stays flat as the graph grows.
Not a pytest test: the times depend on the machine.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import time

import nn
from autograd import Value, draw_dot
from autograd.backward import topological_order
from autograd.draw import MAX_NODES, VALUES_PER_NODE, Scene, _edges, _layout_size, _scene
from autograd.grouping import consumers, default_grouping


def dot_seconds(source: str, limit: float) -> float:
    t = time.perf_counter()
    try:
        subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True,
                       timeout=limit, check=True)
    except subprocess.TimeoutExpired:
        return float("inf")
    return time.perf_counter() - t


def measure(root: Value, collapse: str) -> tuple[int, int, int]:
    order = topological_order(root)
    scene: Scene = _scene(order, consumers(order), default_grouping(), collapse, set())
    edges = _edges(scene)
    nodes = {n for e in edges for n in e}
    return len(nodes), len(edges), _layout_size(edges)


def mlp(nin: int, sizes: list) -> Value:
    out = nn.MLP(nin, sizes, seed=0)([float(i % 5) for i in range(nin)])
    return out if isinstance(out, Value) else sum(out, Value(0.0))


def random_dag(n: int, k: int, window: int | None = None) -> Value:
    """n products of k earlier values each (from the last ``window`` only, if given)."""
    rnd = random.Random(0)
    vs = [Value(rnd.random(), label=f"x{i}") for i in range(k + 1)]
    for _ in range(n):
        ps = rnd.sample(vs if window is None else vs[-window:], k)
        out = ps[0]
        for p in ps[1:]:
            out = out * p
        vs.append(out)
    return vs[-1]


def polynomial(n: int, degree: int) -> Value:
    xs = [Value(0.1 * i, label=f"x{i}") for i in range(n)]
    out = Value(0.0)
    for _ in range(degree):
        for x in xs:
            out = out + x * out
    return out


def chain(n: int) -> Value:
    v = Value(0.5)
    for _ in range(n - 1):
        v = v.tanh()
    return v


def refusal() -> None:
    anchor_root = chain(VALUES_PER_NODE * MAX_NODES)
    t = time.perf_counter()
    topological_order(anchor_root)
    anchor = time.perf_counter() - t
    print(f"anchor: ordering {VALUES_PER_NODE * MAX_NODES:,} Values, {anchor:.3f} s")
    print(f"{'values':>10s} {'refusal s':>10s} {'/ anchor':>9s}")
    for n in (10_000, 30_000, 100_000, 300_000, 1_000_000):
        root = chain(n)
        t = time.perf_counter()
        try:
            draw_dot(root)
        except ValueError:
            pass
        seconds = time.perf_counter() - t
        print(f"{n:10,d} {seconds:10.3f} {seconds / anchor:9.2f}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--limit", type=float, default=60.0, help="seconds before dot is stopped")
    p.add_argument("--refusal", action="store_true", help="only time refusing huge graphs")
    args = p.parse_args()
    if args.refusal:
        refusal()
        return
    cases = [(f"MLP(16, [{h}]*3) by neuron", mlp(16, [h] * 3), "neuron") for h in (16, 32, 48)]
    cases += [(f"MLP(4, [{h}, {h}, 1]) whole", mlp(4, [h, h, 1]), "none") for h in (8, 12)]
    cases += [
        (f"random DAG n={n} k={k} window={w}", random_dag(n, k, w), "none")
        for n, k, w in ((50, 4, None), (150, 4, None), (300, 3, 10), (200, 4, 30),
                        (60, 8, None), (100, 6, None))
    ]
    cases += [(f"polynomial n={n} degree={d}", polynomial(n, d), "none")
              for n, d in ((10, 4), (20, 4), (30, 4))]
    print(f"{'graph':36s} {'nodes':>6s} {'edges':>6s} {'ranked':>7s} {'dot s':>7s}")
    for name, root, collapse in cases:
        nodes, edges, ranked = measure(root, collapse)
        g = draw_dot(root, collapse=collapse, max_nodes=None, legend=False)
        print(f"{name:36s} {nodes:6d} {edges:6d} {ranked:7d} "
              f"{dot_seconds(g.source, args.limit):7.2f}", flush=True)


if __name__ == "__main__":
    main()
