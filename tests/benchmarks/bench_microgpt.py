"""microgpt benchmark: Karpathy's microgpt training step on its own engine vs valuegrad's ``Value``.

Run from the repository root::

    python -m tests.benchmarks.bench_microgpt              # 40 steps per engine, about a minute
    python -m tests.benchmarks.bench_microgpt --steps 10   # quicker
    python -m tests.benchmarks.bench_microgpt --profile    # also: where valuegrad's time goes
    python -m tests.benchmarks.bench_microgpt --clock cpu  # CPU time: steadier on a busy machine

The model is written once, in :mod:`demos.microgpt_model`, following microgpt's
published algorithm (n_embd 16, 4 heads, 1 layer, block size 16, Adam 0.85 / 0.99
/ 1e-8, lr 0.01 decaying linearly, one name per step).  It runs unchanged on two
``Value`` classes: :class:`MicroValue` below, microgpt's engine in its published
shape (``__slots__``, each node's children and local-gradient tuples, a recursive
topological sort), and valuegrad's ``autograd.Value``.  Only the class differs.

1. Both engines start from the same weights (one seed for the data shuffle and the
   ``gauss(0, 0.08)`` init, drawn in the same order) and train on the same names; each
   step's loss must agree to 1e-9 relative before any time is compared, or the script
   stops with exit status 2.  The engines take turns in blocks of 5 steps, so a busy
   spell on the shared machine hits both, with an untimed ``gc.collect()`` between
   blocks so that neither pays for the other's garbage (see :func:`train_both`).
   Reported: the median ms per step and the ratio.
2. Per op (``+``, ``*``, ``+ float``, ``exp``, ``**``) on 100,000 kept results, and
   backward per graph edge on a real training step's graph, against the same engine.
3. The step split into forward / backward / Adam, and with the cyclic GC frozen or
   disabled, to show what the collector costs; ``--profile`` adds the nodes per op and
   a cProfile of valuegrad's step.

Exit status 1 if valuegrad is not faster than microgpt's engine; the issue's target
of 4x is printed (met or not), not enforced, since it is reached by the optional
compiled build (``python -m autograd._build``) and the pure engine is measured too.
Not a pytest test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import math
import os
import pstats
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, NamedTuple

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from autograd import Value
from demos import microgpt_model as M
from tests.benchmarks._common import Verdicts, clock, gc_mode, machine, ms, table

NAMES = Path(__file__).resolve().parents[2] / "demos" / "data" / "names.txt"
SEED = 42
SCHEDULE = 1000  # the learning-rate decay runs over microgpt's 1,000 steps
TARGET = 4.0  # the goal: valuegrad's step 4x faster than microgpt's engine
REL_TOL = 1e-9
OPS = 10_000
CLOCKS = {"wall": clock, "cpu": time.process_time}
_clock = [clock]  # --clock cpu swaps in this process's CPU time


def now() -> float:
    return _clock[0]()


# --- the anchor: microgpt's engine in its published shape -------------------------------------


class MicroValue:
    """A scalar that keeps its children and the local gradient towards each (microgpt's engine)."""

    __slots__ = ("data", "grad", "_children", "_local_grads")

    def __init__(self, data, children=(), local_grads=()):
        self.data = data
        self.grad = 0
        self._children = children
        self._local_grads = local_grads

    def __add__(self, other):
        other = other if isinstance(other, MicroValue) else MicroValue(other)
        return MicroValue(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other):
        other = other if isinstance(other, MicroValue) else MicroValue(other)
        return MicroValue(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, k):
        return MicroValue(self.data**k, (self,), (k * self.data ** (k - 1),))

    def log(self):
        return MicroValue(math.log(self.data), (self,), (1 / self.data,))

    def exp(self):
        return MicroValue(math.exp(self.data), (self,), (math.exp(self.data),))

    def relu(self):
        return MicroValue(max(0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return other * self**-1

    def backward(self):
        topo, visited = [], set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._children:
                    build_topo(child)
                topo.append(v)

        build_topo(self)
        self.grad = 1
        for v in reversed(topo):
            for child, local_grad in zip(v._children, v._local_grads):
                child.grad += local_grad * v.grad


class Engine(NamedTuple):
    name: str
    value: type
    parents: Callable[[Any], Any]


ENGINES = [
    Engine("microgpt", MicroValue, lambda v: v._children),
    Engine("valuegrad", Value, lambda v: v.parents),
]


# --- training runs ----------------------------------------------------------------------------


class Run:
    """One engine's model, optimizer and data, from the shared seed."""

    def __init__(self, engine: Engine, names: list[str], seed: int, schedule: int) -> None:
        rng = random.Random(seed)
        self.engine = engine
        self.docs = M.shuffled(names, rng)
        self.tok = M.Tokenizer.from_names(names)
        self.state = M.init_params(engine.value, self.tok.vocab_size, rng)
        self.opt = M.Adam(M.parameters(self.state), schedule)

    def tokens(self, step: int) -> list[int]:
        return self.tok.encode(self.docs[step % len(self.docs)])

    def step(self, step: int) -> tuple[float, float]:
        """One training step: ``(loss, seconds)``."""
        tokens = self.tokens(step)
        t0 = now()
        loss = M.train_step(self.state, self.opt, tokens, step)
        return loss, now() - t0


def same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0)


BLOCK = 5  # steps an engine runs in a row before the other takes its turn


def train_both(names: list[str], steps: int) -> tuple[dict[str, list[float]], list]:
    """``steps`` steps per engine from the same start, GC as usual, in alternating blocks.

    Each engine runs ``BLOCK`` steps in a row, then the other runs the same steps,
    the first engine alternating block by block, so a busy spell on the shared machine
    hits both.  Blocks rather than single steps, and an untimed ``gc.collect()`` between
    blocks, so that neither engine's step pays for the other's garbage: microgpt's
    recursive ``build_topo`` closure leaves each graph in a reference cycle for the
    collector, which would otherwise often run in valuegrad's next step.  (This favours
    microgpt: the garbage of its last step in a block is collected off the clock.)

    Returns the seconds per step by engine and each step's pair of losses.  The losses
    are compared as soon as both are known: a disagreement stops the script before any
    time is looked at.
    """
    runs = [Run(e, names, SEED, SCHEDULE) for e in ENGINES]
    times: dict[str, list[float]] = {e.name: [] for e in ENGINES}
    losses = []
    for first in range(0, steps, BLOCK):
        block = range(first, min(first + BLOCK, steps))
        got: dict[str, list[float]] = {}
        for run in (runs if (first // BLOCK) % 2 else runs[::-1]):  # take turns going first
            gc.collect()
            got[run.engine.name] = []
            for k in block:
                loss, dt = run.step(k)
                got[run.engine.name].append(loss)
                times[run.engine.name].append(dt)
        for k, la, lb in zip(block, got["microgpt"], got["valuegrad"]):
            if not same(la, lb):
                sys.exit(
                    f"bench_microgpt: the engines disagree at step {k}: microgpt loss {la!r}, "
                    f"valuegrad loss {lb!r} (relative gap {abs(la - lb) / abs(la):.2e} > "
                    f"{REL_TOL:g}); no times are compared"
                )
            losses.append((la, lb))
    return times, losses


# --- per op -------------------------------------------------------------------------------------


def per_op(cls: type, op: str, mode: str, n: int = OPS, repeat: int = 30) -> float:
    """Seconds per op over ``n`` results kept alive (as a forward pass keeps them), best of
    ``repeat``, with the list comprehension's own loop subtracted."""
    rng = random.Random(1)
    xs = [cls(rng.uniform(0.5, 1.5)) for _ in range(n)]
    ys = [cls(rng.uniform(0.5, 1.5)) for _ in range(n)]
    fns = {
        "a + b": lambda: [a + b for a, b in zip(xs, ys)],
        "a * b": lambda: [a * b for a, b in zip(xs, ys)],
        "a + 2.0": lambda: [a + 2.0 for a, b in zip(xs, ys)],
        "a.exp()": lambda: [a.exp() for a, b in zip(xs, ys)],
        "a ** -0.5": lambda: [a**-0.5 for a, b in zip(xs, ys)],
        "a ** 2": lambda: [a**2 for a, b in zip(xs, ys)],
        "loop": lambda: [a for a, b in zip(xs, ys)],
    }

    def best(fn: Callable[[], list]) -> float:
        t = math.inf
        for _ in range(repeat):
            t0 = now()
            out = fn()
            t = min(t, now() - t0)
            del out
        return t

    gc.collect()
    with gc_mode(mode):
        return (best(fns[op]) - best(fns["loop"])) / n


OP_NAMES = ["a + b", "a * b", "a + 2.0", "a.exp()", "a ** -0.5", "a ** 2"]


def graph_stats(root: Any, parents: Callable[[Any], Any]) -> tuple[int, int, Counter]:
    """Nodes, edges and a count of nodes per op kind reachable from ``root`` (iteratively)."""
    seen = {id(root)}
    stack = [root]
    nodes = edges = 0
    kinds: Counter = Counter()
    while stack:
        v = stack.pop()
        nodes += 1
        ps = parents(v)
        edges += len(ps)
        kinds[op_kind(v)] += 1
        for p in ps:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return nodes, edges, kinds


def op_kind(v: Any) -> str:
    if isinstance(v, Value):
        return v.op or "leaf"
    if not v._children:
        return "leaf"
    return f"{len(v._children)}-ary"


def backward_per_edge(run: Run, step: int, repeat: int = 5) -> tuple[float, int, int, float]:
    """Best backward time over ``repeat`` fresh graphs of the same step, per edge.

    Returns ``(seconds per edge, nodes, edges, best backward seconds)``.
    """
    tokens = run.tokens(step)
    params = M.parameters(run.state)
    best = math.inf
    for _ in range(repeat):
        loss = M.loss_of(run.state, tokens)
        gc.collect()
        t0 = now()
        loss.backward()
        best = min(best, now() - t0)
        for p in params:
            p.grad = 0
    nodes, edges, _ = graph_stats(loss, run.engine.parents)
    return best / edges, nodes, edges, best


# --- where the step's time goes ---------------------------------------------------------------


class Split(NamedTuple):
    forward: float
    backward: float
    update: float

    @property
    def total(self) -> float:
        return self.forward + self.backward + self.update


def split_step(run: Run, steps: int, mode: str) -> Split:
    """Median forward / backward / Adam seconds over ``steps`` steps under GC ``mode``."""
    fw, bw, up = [], [], []
    with gc_mode(mode):
        for k in range(steps):
            tokens = run.tokens(k)
            t0 = now()
            loss = M.loss_of(run.state, tokens)
            t1 = now()
            loss.backward()
            t2 = now()
            run.opt.step(k)
            t3 = now()
            fw.append(t1 - t0)
            bw.append(t2 - t1)
            up.append(t3 - t2)
            del loss
    med = statistics.median
    return Split(med(fw), med(bw), med(up))


def profile_valuegrad(names: list[str], steps: int, top: int = 18) -> str:
    run = Run(ENGINES[1], names, SEED, SCHEDULE)
    prof = cProfile.Profile()
    prof.enable()
    for k in range(steps):
        run.step(k)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    return buf.getvalue()


# --- report ---------------------------------------------------------------------------------------


def load() -> tuple[float, ...]:
    try:
        return os.getloadavg()
    except OSError:  # not available on this platform
        return ()


def ns(seconds: float) -> str:
    return f"{seconds * 1e9:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="timed training steps per engine")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this process's CPU time (steadier on a busy machine)")
    parser.add_argument("--profile", action="store_true",
                        help="also print nodes per op and a cProfile of valuegrad's step")
    args = parser.parse_args(argv)
    if not 4 <= args.steps <= SCHEDULE:
        parser.error(f"--steps must be between 4 and {SCHEDULE}, got {args.steps}")
    _clock[0] = CLOCKS[args.clock]
    names = M.load_names(NAMES)
    verdicts = Verdicts()
    print(f"microgpt's step: its own engine vs valuegrad -- {machine()}")
    print(f"clock: {args.clock} time; load average {', '.join(f'{x:.1f}' for x in load())}")
    print(f"model: n_embd {M.N_EMBD}, {M.N_HEAD} heads, {M.N_LAYER} layer, block {M.BLOCK_SIZE}; "
          f"{len(names)} names from {NAMES.name}, seed {SEED}; one name per step\n")

    # 1. the same losses, then time per step
    times, losses = train_both(names, args.steps)
    print(f"1. losses agree to {REL_TOL:g} relative on all {args.steps} steps "
          "(checked before any time was compared); the first three:")
    for k, (la, lb) in enumerate(losses[:3]):
        print(f"   step {k}: microgpt {la:.15f}  valuegrad {lb:.15f}")
    med = {name: statistics.median(ts) for name, ts in times.items()}
    ratio = med["microgpt"] / med["valuegrad"]
    rows = [[name, ms(med[name]), ms(min(times[name])), ms(max(times[name]))] for name in med]
    rows.append(["microgpt / valuegrad", f"{ratio:.2f}x", "", ""])
    print(f"\n   ms per training step over {args.steps} steps (engines alternating in blocks of "
          f"{BLOCK}, gc as usual)")
    print(table(["engine", "median", "fastest", "slowest"], rows))

    # 2. per op
    print(f"\n2. ns per op, {OPS:,} results kept alive, best of 30 "
          "(the loop's own time subtracted)")
    rows = []
    for op in OP_NAMES:
        t = {(e.name, mode): per_op(e.value, op, mode)
             for mode in ("normal", "disabled") for e in ENGINES}
        rows.append([op] + [ns(t[e.name, mode]) for mode in ("normal", "disabled")
                            for e in ENGINES]
                    + [f"{t['microgpt', 'normal'] / t['valuegrad', 'normal']:.2f}x"])
    edge = {e.name: backward_per_edge(Run(e, names, SEED, SCHEDULE), 0) for e in ENGINES}
    rows.append(["backward, per edge", ns(edge["microgpt"][0]), ns(edge["valuegrad"][0]),
                 "", "", f"{edge['microgpt'][0] / edge['valuegrad'][0]:.2f}x"])
    print(table(["op", "microgpt", "valuegrad", "microgpt, no gc", "valuegrad, no gc",
                 "microgpt / valuegrad"], rows))
    for name, (_, nodes, edges, best) in edge.items():
        print(f"   step 0's graph on {name}: {nodes:,} nodes, {edges:,} edges, "
              f"backward {ms(best)} ms (best of 5)")

    # 3. where the time goes
    print("\n3. the step split (median ms over "
          f"{min(args.steps, 20)} steps per setting)")
    rows = []
    for mode in ("normal", "frozen", "disabled"):
        for e in ENGINES:
            s = split_step(Run(e, names, SEED, SCHEDULE), min(args.steps, 20), mode)
            rows.append([f"{e.name}, gc {mode}", ms(s.forward), ms(s.backward), ms(s.update),
                         ms(s.total)])
    print(table(["engine", "forward", "backward", "Adam", "total"], rows))

    if args.profile:
        run = Run(ENGINES[1], names, SEED, SCHEDULE)
        loss = M.loss_of(run.state, run.tokens(0))
        nodes, edges, kinds = graph_stats(loss, ENGINES[1].parents)
        print(f"\n4. valuegrad's graph for step 0: {nodes:,} nodes, {edges:,} edges")
        print(table(["op", "nodes"], [[k, f"{n:,}"] for k, n in kinds.most_common()]))
        run = Run(ENGINES[0], names, SEED, SCHEDULE)
        loss = M.loss_of(run.state, run.tokens(0))
        nodes, edges, kinds = graph_stats(loss, ENGINES[0].parents)
        print(f"   microgpt's graph for the same step: {nodes:,} nodes, {edges:,} edges "
              f"({', '.join(f'{k} {n:,}' for k, n in kinds.most_common())})")
        print(f"\n5. cProfile of valuegrad, {min(args.steps, 20)} steps (sorted by own time)")
        print(profile_valuegrad(names, min(args.steps, 20)))

    print()
    verdicts.check("same losses", True, f"all {args.steps} steps within {REL_TOL:g} relative")
    verdicts.check("valuegrad faster than microgpt's engine", ratio > 1.0, f"{ratio:.2f}x")
    print(f"note  the issue's target of {TARGET:g}x: {'met' if ratio >= TARGET else 'not met'} "
          f"({ratio:.2f}x); see docs/design/compiled-build.md")
    return verdicts.exit_code()


if __name__ == "__main__":
    sys.exit(main())
