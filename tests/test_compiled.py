"""The optional compiled engine (``python -m autograd._build``) computes what the pure one does.

Each mode runs in its own process (``VALUEGRAD_PURE=1`` picks the ``.py``
files), trains microgpt's model a few steps and an ``nn`` MLP a few steps, takes
second derivatives, and prints every loss, parameter and gradient as
``float.hex``: the two transcripts must be equal, bit for bit.  Without a
compiled build there is nothing to compare: those tests skip, unless
``VALUEGRAD_REQUIRE_COMPILED=1`` (CI's compiled stage) makes that a failure.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

import autograd
from autograd import Value

ROOT = Path(__file__).resolve().parents[1]

TRANSCRIPT = r"""
import random
import autograd
from autograd import Value, grad
from demos import microgpt_model as M
import nn

out = [f"compiled {autograd.COMPILED}"]
names = M.load_names("demos/data/names.txt")
tok = M.Tokenizer.from_names(names)
rng = random.Random(42)
state = M.init_params(Value, tok.vocab_size, rng)
params = M.parameters(state)
opt = M.Adam(params, 1000)
docs = M.shuffled(names, rng)
for step in range(4):
    loss = M.train_step(state, opt, tok.encode(docs[step]), step)
    out.append(f"loss {float(loss).hex()}")
loss = M.loss_of(state, tok.encode(docs[4]))
loss.backward()
out += [f"{float(p.data).hex()} {float(p.grad).hex()}" for p in params]

model = nn.MLP(3, [8, 8, 1], activation="tanh", seed=0)
xs = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [-2.0, 1.0, 0.1]]
ys = [1.0, -1.0, 0.5]
for step in range(3):
    loss = nn.mse([model(x) for x in xs], ys)
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= 0.05 * p.grad
    out.append(f"mlp {loss.data.hex()}")
out += [f"mlp {p.data.hex()} {p.grad.hex()}" for p in model.parameters()]

a, b = Value(0.7), Value(-1.3)
y = (a * b).sigmoid() + (a / b).exp() - (a ** 2).log() + abs(b) ** 0.5 + (a - b).relu()
ga, gb = grad(y, [a, b], create_graph=True)
out += [f"second {float(x).hex()}" for x in grad(ga, [a, b]) + grad(gb, [a, b])]
print("\n".join(out))
"""


def _compiled_build_present() -> bool:
    folder = ROOT / "autograd"
    return any(folder.glob("value.*.so")) or any(folder.glob("value.*.pyd"))


def _need_compiled() -> None:
    if _compiled_build_present() and autograd.COMPILED:
        return
    if os.environ.get("VALUEGRAD_REQUIRE_COMPILED") == "1":
        pytest.fail("VALUEGRAD_REQUIRE_COMPILED=1, but the compiled engine is not running")
    pytest.skip("no compiled build running (python -m autograd._build)")


def _transcript(pure: bool) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "VALUEGRAD_PURE"}
    if pure:
        env["VALUEGRAD_PURE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", TRANSCRIPT],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_compiled_and_pure_engines_agree_bit_for_bit() -> None:
    if not _compiled_build_present():
        _need_compiled()
    pure, compiled = _transcript(pure=True), _transcript(pure=False)
    assert pure[0] == "compiled False" and compiled[0] == "compiled True"
    assert len(pure) == len(compiled) > 4000
    differ = [(i, p, c) for i, (p, c) in enumerate(zip(pure, compiled)) if i and p != c]
    assert not differ, f"{len(differ)} lines differ, the first: {differ[:3]}"


def test_the_pure_switch_picks_the_python_files() -> None:
    env = {**os.environ, "VALUEGRAD_PURE": "1"}
    code = "import autograd, autograd.value as v; print(autograd.COMPILED, v.__file__)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "False" and done.stdout.strip().endswith("value.py")


def test_nodes_are_untracked_by_the_cyclic_gc_in_the_compiled_engine() -> None:
    _need_compiled()
    x = Value(2.0)
    y = x * x + 1.0
    assert not gc.is_tracked(x) and not gc.is_tracked(y)


def test_a_dropped_graph_of_hand_built_closure_nodes_is_freed() -> None:
    # micrograd's own way: each out._backward closure refers to out, a reference
    # cycle that only the cyclic GC can free; the compiled engine must let it.
    def mul(a: Value, b: Value) -> Value:
        out = Value(a.data * b.data, (a, b), "*")

        def _backward() -> None:
            a.grad += b.data * out.grad
            b.grad += a.data * out.grad

        out._backward = _backward
        return out

    x = Value(3.0)
    y = mul(mul(x, x), x)
    y.backward()
    assert x.grad == 27.0
    if autograd.COMPILED:
        assert gc.is_tracked(y)
    gone = weakref.ref(y._backward)  # the closure itself, which holds the node
    del y
    gc.collect()
    assert gone() is None


def test_a_closure_set_on_a_node_made_by_an_op_is_collectable_too() -> None:
    def build() -> weakref.ref:
        x = Value(2.0)
        out = x * x

        def _backward() -> None:
            x.grad += 2 * x.data * out.grad

        out._backward = _backward  # the closure's cell holds out: a cycle
        return weakref.ref(_backward)

    gone = build()
    gc.collect()
    assert gone() is None


def test_a_build_is_stale_once_a_compiled_source_changes(tmp_path: Path) -> None:
    # Runs without a build: a folder with the sources and a stand-in extension module.
    from autograd import _pure

    for name in _pure.COMPILED_MODULES:
        shutil.copy(ROOT / "autograd" / f"{name}.py", tmp_path)
    assert _pure.stale_sources(tmp_path) == []  # no build, nothing stale
    (tmp_path / "node.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    assert _pure.stale_sources(tmp_path) == list(_pure.COMPILED_MODULES)  # nothing recorded
    (tmp_path / _pure.MANIFEST).write_text(json.dumps(_pure.source_digests(tmp_path)))
    assert _pure.stale_sources(tmp_path) == []
    rules = tmp_path / "rules.py"
    rules.write_text(rules.read_text().replace("(1.0 - out * out)", "(1.0 - out)"))
    assert _pure.stale_sources(tmp_path) == ["rules"]
