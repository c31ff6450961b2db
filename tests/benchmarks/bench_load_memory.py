"""What loading a model file costs in memory and time, for files just under the size cap.

Run from the repository root::

    python -m tests.benchmarks.bench_load_memory              # 64 MB files, about a minute
    python -m tests.benchmarks.bench_load_memory --mb 16 --genuine

Each file is loaded by ``nn.load_model`` in a fresh interpreter, which reports its
peak resident memory (``VmHWM``) and the load's wall time.  The anchor is the
same interpreter after ``import nn`` with no load: the table gives each load's peak
above it, and that extra as a multiple of the file's size.  Hostile files
(millions of empty objects, arrays, short strings, floats, short keys) must be
refused, quickly and in memory of the order of the file itself; ``--genuine`` adds
a real MLP file of the same size (slow: it builds a million-parameter model).
``--root`` loads another checkout's valuegrad (to measure before a change).
Not a pytest test: the figures depend on the machine.  docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

from nn.serialize import MAX_VALUES

CHILD = """
import resource, sys, time
sys.path.insert(0, sys.argv[1])
import nn
t = time.perf_counter()
outcome = "anchor"
if sys.argv[2] != "-":
    try:
        outcome = f"loaded {len(nn.load_model(sys.argv[2]).parameters()):,} parameters"
    except Exception as e:
        outcome = f"{type(e).__name__}: {str(e).split(': ', 1)[1][:70]}"
try:  # this process's own peak: ru_maxrss would include its parent's, inherited at fork
    with open("/proc/self/status") as f:
        peak = next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:"))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(peak, time.perf_counter() - t, outcome, sep="\\t")
"""


def _flood(unit: str, size: int) -> str:
    """``[u,u,...,u]`` of about ``size`` bytes, ``unit`` being ``u,``."""
    n = (size - 2) // len(unit)
    return "[" + unit * (n - 1) + unit[:-1] + "]"


def _short_keys(size: int, most: int = 2**40) -> str:
    head = ('{"format": "valuegrad.model", "version": 1, "architecture": {"class": "MLP", '
            '"nin": 1, "nouts": [1], "activation": "relu", "output_activation": "linear"}, '
            '"parameters": {')
    parts, used, i = [], len(head) + 2, 0
    while True:
        item = f'"{i:x}":0,'
        if used + len(item) > size or i >= most:
            break
        parts.append(item)
        used += len(item)
        i += 1
    return head + "".join(parts)[:-1] + "}}"


def _genuine(size: int) -> str:
    """An MLP's file (as ``save`` writes it) of a little under ``size`` bytes."""
    nin = 1000
    hidden = max(1, size // (55 * (nin + 1)))  # about 55 bytes a parameter, indented
    while True:
        rng = random.Random(0)
        sizes = [nin, hidden, 10]
        params = {}
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            for j in range(b):
                for k in range(a):
                    params[f"layers.{i}.neurons.{j}.w.{k}"] = rng.uniform(-0.05, 0.05)
                params[f"layers.{i}.neurons.{j}.b"] = 0.0
        arch = {"class": "MLP", "nin": nin, "nouts": sizes[1:], "activation": "relu",
                "output_activation": "linear"}
        doc = {"format": "valuegrad.model", "version": 1, "architecture": arch,
               "parameters": params}
        text = json.dumps(doc, indent=1) + "\n"
        if len(text) <= size or hidden == 1:
            return text
        hidden = max(1, hidden * 95 // 100)


def files(size: int, genuine: bool) -> dict[str, Callable[[], str]]:
    """Each file's name and maker (made one at a time: the parent stays small)."""
    made = {
        "empty objects [{},{},...]": lambda: _flood("{},", size),
        "empty arrays [[],[],...]": lambda: _flood("[],", size),
        'short strings ["ab",...]': lambda: _flood('"ab",', size),
        "floats [1.5,1.5,...]": lambda: _flood("1.5,", size),
        'short keys {"0":0,"1":0,...}': lambda: _short_keys(size),
        # the most values the loader parses: its worst case that is not refused unread
        "short keys, MAX_VALUES - 16": lambda: _short_keys(size, MAX_VALUES - 16),
    }
    if genuine:
        made["a genuine MLP file"] = lambda: _genuine(size)
    return made


def run(root: str, path: str) -> tuple[int, float, str]:
    out = subprocess.run([sys.executable, "-c", CHILD, root, path], capture_output=True,
                         text=True, check=True).stdout
    rss, seconds, outcome = out.rstrip("\n").split("\t")
    return int(rss) * 1024, float(seconds), outcome


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mb", type=int, default=64, help="file size in MB (default 64, the cap)")
    p.add_argument("--genuine", action="store_true", help="also load a real MLP file")
    p.add_argument("--root", default=str(Path(__file__).resolve().parents[2]),
                   help="the checkout whose valuegrad loads the files")
    args = p.parse_args()
    size = min(args.mb * 2**20, 64 * 2**20)
    anchor, _, _ = run(args.root, "-")
    print(f"valuegrad from {args.root}; anchor (import nn): {anchor / 2**20:,.0f} MB")
    print(f"{'file':32} {'MB':>6} {'peak above anchor':>18} {'x size':>7} {'s':>7}  outcome")
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in files(size, args.genuine).items():
            path = os.path.join(tmp, "f.json")
            Path(path).write_text(make())
            n = os.path.getsize(path)
            peak, seconds, outcome = run(args.root, path)
            extra = max(peak - anchor, 0)
            print(f"{name:32} {n / 2**20:6.1f} {extra / 2**20:15,.0f} MB {extra / n:7.1f} "
                  f"{seconds:7.2f}  {outcome}")


if __name__ == "__main__":
    main()
