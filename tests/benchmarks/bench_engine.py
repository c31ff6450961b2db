"""Engine benchmark: valuegrad's ``autograd.Value`` vs micrograd 0.1.0's, same process, same work.

Run from the repository root (micrograd comes with the ``bench`` extra)::

    python -m tests.benchmarks.bench_engine            # or: python tests/benchmarks/bench_engine.py
    python -m tests.benchmarks.bench_engine --nodes 20000 --repeat 3   # quicker

Both engines build the same expression from the same leaves: a chain of blocks
``h = relu(acc * w + s); acc = h ** 2`` over a pool of 1,000 weight and bias leaves,
where ``s`` is a bias leaf on even blocks and the previous block's ``h`` on odd ones
(so interior nodes are shared too: a DAG, not a tree).  Every op exists in both
engines and makes exactly one node in each, so the graphs are node-for-node alike.

What it measures, and the targets (exit status 1 if one is missed):

1. memory per op node, by ``tracemalloc`` around graph construction, and again
   after backward (every node then holds a float gradient):  ours <= 1/5 of micrograd's.
   A second expression with ``-`` is reported for information: micrograd turns
   ``a - b`` into ``a + b * -1`` (two nodes and a constant), ours into one node.
2. reference cycles: a graph built and backpropagated with the cyclic GC off,
   then dropped; ``gc.collect()`` must find 0 objects for ours (micrograd's
   closures make every node a cycle, so its count is large).
3. forward + backward wall time of a ``--nodes``-node graph, best of ``--repeat``:
   ours >= 4x faster with the GC as usual (the headline).  The same with the GC
   frozen and disabled shows how much of each engine's time is the cyclic collector.

micrograd's backward recurses once per node on the longest path, so both engines are
timed in a thread with a large C stack and recursion limit.  Not a pytest test: the
figures depend on the machine, so it prints them instead of asserting in the suite.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import sys
import tracemalloc
from pathlib import Path
from typing import Any, Callable, NamedTuple

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from autograd import Value
from tests.benchmarks._common import (
    Verdicts,
    clock,
    gc_mode,
    machine,
    ms,
    require_micrograd,
    run_deep,
    table,
)

MEMORY_TARGET = 1 / 5  # ours / micrograd, bytes per op node
SPEED_TARGET = 4.0  # micrograd time / ours, forward + backward
POOL = 1000  # weight and bias leaves, reused round-robin
OPS_PER_BLOCK = 4  # *, +, relu, **2


class Engine(NamedTuple):
    name: str
    value: type
    parents: Callable[[Any], Any]


def engines() -> list[Engine]:
    require_micrograd()
    from micrograd.engine import Value as MicroValue

    return [
        Engine("valuegrad", Value, lambda v: v.parents),
        Engine("micrograd", MicroValue, lambda v: v._prev),
    ]


class Leaves(NamedTuple):
    x: Any
    ws: list
    bs: list

    def all(self) -> list:
        return [self.x, *self.ws, *self.bs]


def make_leaves(cls: type, subtract: bool = False, seed: int = 0) -> Leaves:
    """The expression's leaves; with ``subtract`` the biases are stored negated."""
    # Weights in [0.1, 0.3] keep acc in a bounded basin: no overflow at any length.
    rng = random.Random(seed)
    sign = -1.0 if subtract else 1.0
    ws = [cls(rng.uniform(0.1, 0.3)) for _ in range(POOL)]
    bs = [cls(sign * rng.uniform(-0.1, 0.4)) for _ in range(POOL)]
    return Leaves(cls(0.7), ws, bs)


def build(leaves: Leaves, blocks: int, subtract: bool = False) -> Any:
    """The benchmark expression (``subtract``: even blocks take ``- b`` instead of ``+ b``)."""
    ws, bs = leaves.ws, leaves.bs
    acc = leaves.x
    h = bs[0]
    for i in range(blocks):
        j = i % POOL
        if i % 2:
            h = (acc * ws[j] + h).relu()
        elif subtract:
            h = (acc * ws[j] - bs[j]).relu()
        else:
            h = (acc * ws[j] + bs[j]).relu()
        acc = h**2
    return acc


def count_ops(root: Any, parents: Callable[[Any], Any]) -> int:
    """Interior (op) nodes reachable from ``root``, iteratively."""
    seen = {id(root)}
    stack = [root]
    ops = 0
    while stack:
        node = stack.pop()
        ps = parents(node)
        if ps:
            ops += 1
        for p in ps:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return ops


def reset(leaves: Leaves) -> None:
    for v in leaves.all():
        v.grad = 0.0


# --- 1. memory -------------------------------------------------------------------------


class Memory(NamedTuple):
    ops: int
    built: int  # bytes held by the graph once built
    after: int  # bytes held once backward has filled every gradient
    peak: int  # most bytes held during backward (its own bookkeeping included)


def measure_memory(engine: Engine, blocks: int, subtract: bool) -> Memory:
    leaves = make_leaves(engine.value, subtract)
    build(leaves, 2, subtract)  # warm caches (the shared **2 rule) outside the trace
    gc.collect()
    with gc_mode("disabled"):
        tracemalloc.start()
        try:
            # A full collection also empties CPython's free lists (spare tuples, floats...),
            # which tracemalloc would otherwise count as held memory.
            gc.collect()
            base = tracemalloc.get_traced_memory()[0]
            root = build(leaves, blocks, subtract)
            gc.collect()
            built = tracemalloc.get_traced_memory()[0] - base
            tracemalloc.reset_peak()
            run_deep(root.backward)
            peak = tracemalloc.get_traced_memory()[1]
            gc.collect()
            current = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    ops = count_ops(root, engine.parents)
    del root
    gc.collect()
    return Memory(ops, built, current - base, peak - base)


# --- 2. reference cycles ----------------------------------------------------------------


def cyclic_garbage(engine: Engine, blocks: int) -> int:
    """Objects the cyclic GC finds after a built-and-backpropagated graph is dropped."""
    gc.collect()
    with gc_mode("disabled"):
        leaves = make_leaves(engine.value)
        root = build(leaves, blocks)
        if engine.value is Value:
            root.backward()  # iterative: no deep thread needed, nor any thread garbage
        else:
            run_deep(root.backward)
        del root, leaves
        return gc.collect()


# --- 3. speed ---------------------------------------------------------------------------


class Timing(NamedTuple):
    forward: float
    backward: float
    free: float  # del + gc.collect(): reclaiming the graph

    @property
    def total(self) -> float:
        return self.forward + self.backward


def time_once(leaves: Leaves, blocks: int, mode: str) -> Timing:
    """One forward + backward on a fresh graph over ``leaves``, then its release."""
    reset(leaves)
    gc.collect()
    with gc_mode(mode):
        t0 = clock()
        root = build(leaves, blocks)
        t1 = clock()
        root.backward()
        t2 = clock()
    del root
    gc.collect()
    t3 = clock()
    return Timing(t1 - t0, t2 - t1, t3 - t2)


def time_engines(engs: list[Engine], blocks: int, repeat: int, mode: str) -> dict[str, Timing]:
    """Best of ``repeat`` runs per engine; the engines take turns, so a busy spell on the
    machine hits both rather than one."""
    leaves = {e.name: make_leaves(e.value) for e in engs}
    best: dict[str, Timing] = {}
    for _ in range(repeat):
        for e in engs:
            run = run_deep(lambda e=e: time_once(leaves[e.name], blocks, mode))
            if e.name not in best or run.total < best[e.name].total:
                best[e.name] = run
    return best


def same_results(blocks: int, ours: Engine, theirs: Engine) -> tuple[bool, float]:
    """Whether both engines compute the same output, and their largest leaf-gradient gap."""
    a, b = make_leaves(ours.value), make_leaves(theirs.value)
    ra, rb = build(a, blocks), build(b, blocks)
    run_deep(ra.backward)
    run_deep(rb.backward)
    pairs = list(zip(a.all(), b.all()))
    gap = max(abs(x.grad - y.grad) for x, y in pairs)
    close = all(math.isclose(x.grad, y.grad, rel_tol=1e-9, abs_tol=1e-12) for x, y in pairs)
    return ra.data == rb.data and close, gap


# --- report -----------------------------------------------------------------------------


def per_node(n: int, ops: int) -> str:
    return f"{n / ops:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=100_000, help="op nodes per graph")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per setting (best kept)")
    args = parser.parse_args(argv)
    if args.nodes < OPS_PER_BLOCK or args.repeat < 1:
        parser.error("--nodes must be >= 4 and --repeat >= 1")
    blocks = args.nodes // OPS_PER_BLOCK
    ours, theirs = engines()
    verdicts = Verdicts()
    print(f"valuegrad vs micrograd 0.1.0 -- {machine()}")
    print(f"expression: {blocks} blocks of relu(acc * w + s) ** 2 = "
          f"{blocks * OPS_PER_BLOCK} op nodes\n")

    same, gap = same_results(blocks, ours, theirs)
    verdicts.check(
        "same work",
        same,
        f"identical output, leaf gradients agree (largest gap {gap:.1e})" if same else
        f"the engines disagree (largest leaf-gradient gap {gap:.1e})",
    )

    # 1. memory
    print("\n1. memory per op node (tracemalloc)")
    mem = {e.name: measure_memory(e, blocks, False) for e in (ours, theirs)}
    sub = {e.name: measure_memory(e, blocks, True) for e in (ours, theirs)}
    rows = []
    for name in (ours.name, theirs.name):
        m = mem[name]
        rows.append([name, m.ops, per_node(m.built, m.ops), per_node(m.after, m.ops),
                     per_node(m.peak, m.ops)])
    o, t = mem[ours.name], mem[theirs.name]
    ratio_built = (o.built / o.ops) / (t.built / t.ops)
    ratio_after = (o.after / o.ops) / (t.after / t.ops)
    rows.append(["ours / micrograd", "", f"{ratio_built:.3f}", f"{ratio_after:.3f}",
                 f"{(o.peak / o.ops) / (t.peak / t.ops):.3f}"])
    print(table(["engine", "op nodes", "B/node built", "B/node after backward",
                 "B/node peak in backward"], rows))
    verdicts.check("same graph", o.ops == t.ops, f"{o.ops} vs {t.ops} op nodes")
    so, st = sub[ours.name], sub[theirs.name]
    user_ops = blocks * OPS_PER_BLOCK
    print(
        f"\n   with '-' on even blocks: ours {so.ops} nodes, {so.built / user_ops:.0f} B per "
        f"written op; micrograd {st.ops} nodes, {st.built / user_ops:.0f} B per written op "
        f"(ratio {so.built / st.built:.3f})"
    )
    verdicts.check(
        "memory per node <= 1/5 of micrograd's",
        ratio_built <= MEMORY_TARGET and ratio_after <= MEMORY_TARGET,
        f"built {ratio_built:.3f}, after backward {ratio_after:.3f}",
    )

    # 2. cycles
    print("\n2. reference cycles (graph dropped with the GC off, then gc.collect())")
    found = {e.name: cyclic_garbage(e, blocks) for e in (ours, theirs)}
    print(table(["engine", "objects found by gc.collect()"],
                [[name, n] for name, n in found.items()]))
    verdicts.check(
        "no reference cycles",
        found[ours.name] == 0,
        f"gc.collect() found {found[ours.name]} objects (micrograd: {found[theirs.name]})",
    )

    # 3. speed
    print(f"\n3. forward + backward, best of {args.repeat} (ms)")
    rows = []
    speedup = {}
    for mode in ("normal", "frozen", "disabled"):
        tm = time_engines([ours, theirs], blocks, args.repeat, mode)
        for name, run in tm.items():
            rows.append([f"{name}, gc {mode}", ms(run.forward), ms(run.backward), ms(run.total),
                         ms(run.free)])
        speedup[mode] = tm[theirs.name].total / tm[ours.name].total
        rows.append([f"  micrograd / ours, gc {mode}", "", "", f"{speedup[mode]:.2f}x", ""])
    print(table(["engine", "forward", "backward", "total", "free (del+gc)"], rows))
    verdicts.check(
        f"forward+backward >= {SPEED_TARGET:g}x faster (gc normal)",
        speedup["normal"] >= SPEED_TARGET,
        f"{speedup['normal']:.2f}x (gc frozen {speedup['frozen']:.2f}x, "
        f"gc disabled {speedup['disabled']:.2f}x)",
    )
    return verdicts.exit_code()


if __name__ == "__main__":
    sys.exit(main())
