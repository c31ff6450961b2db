"""Smoke test of an installed valuegrad, run by .ci/run from outside the source tree.

``python smoke_test.py [--engine pure|compiled] [--render]`` imports ``autograd`` and
``nn`` as a user's code would, checks that they come from site-packages (not a clone),
that the version, the licence and the ``py.typed`` markers shipped, then trains a small MLP
a few steps (the loss must fall), checks its gradients with ``gradcheck`` and, with
``--render``, draws a graph to SVG with Graphviz's ``dot``.  The last line is every loss's
``repr``: two runs on the two engines must print the same bits.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import random
import sys
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=["pure", "compiled"], help="the engine that must run")
    parser.add_argument("--render", action="store_true", help="render a graph to SVG (needs dot)")
    args = parser.parse_args()

    import autograd
    import nn
    from autograd import Value, draw_dot, gradcheck, render_svg

    here = Path.cwd().resolve()
    for module in (autograd, nn):
        where = Path(module.__file__).resolve().parent
        assert "site-packages" in where.parts, f"{module.__name__} imported from {where}"
        assert (where / "py.typed").is_file(), f"{module.__name__}: no py.typed in {where}"
        assert where.parent != here, f"{module.__name__} imported from the cwd {here}"
    dist = importlib.metadata.distribution("valuegrad")
    assert autograd.__version__ == nn.__version__ == dist.version, (
        autograd.__version__, nn.__version__, dist.version)
    assert dist.metadata["License"] == "MIT" or dist.metadata["License-Expression"] == "MIT"
    assert any(str(f).endswith("LICENSE") for f in dist.files or ()), "LICENSE not installed"
    engine = "compiled" if autograd.COMPILED else "pure"
    if args.engine is not None:
        assert engine == args.engine, f"expected the {args.engine} engine, got {engine}"
    print(f"valuegrad {autograd.__version__} ({engine} engine) from {where.parent}")

    # A small MLP learns XOR-like points a few steps: the loss must fall.
    random.seed(0)
    xs = [[random.uniform(-1, 1), random.uniform(-1, 1)] for _ in range(16)]
    ys = [1.0 if a * b > 0 else -1.0 for a, b in xs]
    model = nn.MLP(2, [8, 8, 1], seed=0)
    opt = nn.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(5):
        loss = nn.mse([model(x) for x in xs], ys)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.data)
    assert losses[-1] < losses[0], f"the loss did not fall: {losses}"
    print(f"MLP(2, [8, 8, 1]), 5 SGD steps: loss {losses[0]:.4f} -> {losses[-1]:.4f}")

    report = gradcheck(lambda a, b: (a * b + a.tanh()) * b.exp(), [Value(0.3), Value(-0.7)])
    assert report.passed, report
    print("gradcheck: passed")

    if args.render:
        x = Value(2.0, label="x")
        y = (x * Value(3.0, label="w") + 1.0).tanh()
        y.backward()
        with tempfile.TemporaryDirectory() as tmp:
            out = render_svg(draw_dot(y), Path(tmp) / "graph.svg")
            text = out.read_text(encoding="utf-8")
            assert "<svg" in text and "tanh" in text, text[:200]
            print(f"draw_dot -> SVG: {len(text):,} characters")
    print("losses:", " ".join(repr(v) for v in losses))


if __name__ == "__main__":
    sys.exit(main())
