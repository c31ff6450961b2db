"""One neuron's computation graph and its backward pass, drawn: ``python -m demos.graph``.

The neuron from micrograd's video: inputs x1 = 2, x2 = 0, weights w1 = -3,
w2 = 1, bias b = 6.8813735870195432 (chosen so that n = 0.8814 and
o = tanh(n) = 0.7071), built one op at a time so every intermediate value has
a name.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from autograd import Value, draw_dot, trace_backward
from autograd.trace import frame_paths
from demos import cli
from demos.output import write_svg, write_svgs


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        prog="python -m demos.graph",
        description="Draw a tanh neuron's computation graph and each step of its backward pass.",
    )
    p.add_argument("--out", type=Path, default=Path("out/graph"), help="output folder")
    p.add_argument("--no-frames", action="store_true",
                   help="skip the one-SVG-per-step backward frames")
    args = p.parse_args(argv)
    cli.output_folder(p, args.out)
    return args


def neuron() -> tuple[Value, list[Value]]:
    """``(o, [w1, w2, b])`` for o = tanh(x1*w1 + x2*w2 + b), each intermediate labelled."""
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1w1"
    x2w2 = x2 * w2
    x2w2.label = "x2w2"
    s = x1w1 + x2w2
    s.label = "s"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, [w1, w2, b]


@cli.command
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    o, params = neuron()
    trace = trace_backward(o)  # replays backward without touching .grad
    print(trace.table())
    print()

    o.backward()
    leaves = {v.label: v for v in trace.names if v.is_leaf}
    print("gradients after o.backward():")
    for name in ("x1", "w1", "x2", "w2", "b"):
        v = leaves[name]
        print(f"  d o / d {name:<2} = {v.grad: .4f}   (trace: {trace.grad(v): .4f})")
    print()

    title = "o = tanh(x1*w1 + x2*w2 + b) after o.backward()"
    write_svg(args.out / "neuron.svg", draw_dot(o, params=params, title=title), "computation graph")
    if not args.no_frames:
        frames = trace.frames(params=params)
        paths = frame_paths(args.out / "backward", len(frames))
        write_svgs(paths, frames, f"{len(frames)} backward-pass frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
