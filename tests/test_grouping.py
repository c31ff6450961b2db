"""draw_dot's grouping hook: autograd folds graphs into boxes it is told about, nn tells it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nn
from autograd import Value, draw_dot
from autograd.grouping import Group, Grouping, default_grouping, set_default_grouping

ROOT = Path(__file__).resolve().parent.parent


def mlp_loss() -> Value:
    model = nn.MLP(16, [12, 12, 4], seed=0)
    loss = nn.cross_entropy(model([0.1 * i for i in range(16)]), 1)
    loss.backward()
    return loss


def test_importing_nn_registers_its_grouping_so_big_model_graphs_still_collapse():
    assert default_grouping() is nn.GROUPING
    loss = mlp_loss()
    assert draw_dot(loss).source == draw_dot(loss, group=nn.GROUPING).source
    assert "collapsed: one box per" in draw_dot(loss).source
    assert "relu neuron, 12 weights" in draw_dot(loss, collapse="neuron").source
    assert "12 × relu neurons" in draw_dot(loss, collapse="layer").source


def test_without_a_grouping_only_the_whole_graph_can_be_drawn(monkeypatch):
    monkeypatch.setattr("autograd.grouping._default", [None])
    loss = mlp_loss()
    with pytest.raises(ValueError, match="no grouping in use: pass group="):
        draw_dot(loss, collapse="neuron")
    with pytest.raises(ValueError, match="too big or too tangled"):
        draw_dot(loss)  # nothing to fold it into
    assert "collapsed" not in draw_dot(loss, max_nodes=None).source


def test_a_grouping_of_ones_own_folds_the_boxes_it_finds():
    xs = [Value(float(i), label=f"x{i}") for i in range(3)]
    products = [x * 2.0 for x in xs]
    total = products[0] + products[1] + products[2]

    def doubles(order, consumers):
        found = [v for v in order if v.op == "*"]
        inside = found + [p for v in found for p in v.parents if p.is_constant]
        return [Group("doubling", "the doublings", inside, found, subtitle=f"{len(found)} × 2")]

    src = draw_dot(total, group=Grouping({"double": doubles}), collapse="double").source
    assert "the doublings" in src and "3 × 2" in src and "one box per doubling" in src


def test_bad_groupings_are_named():
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"group must be an autograd\.grouping\.Grouping"):
        draw_dot(x, group=lambda order, cons: [])
    with pytest.raises(TypeError, match="set_default_grouping: expected a Grouping"):
        set_default_grouping("neurons")


def test_autograd_never_imports_nn():
    code = (
        "import sys, autograd, autograd.draw, autograd.grouping, autograd.style, "
        "autograd.render, autograd.table, autograd.trace; "
        "print(sorted(m for m in sys.modules if m == 'nn' or m.startswith('nn.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
