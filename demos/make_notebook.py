"""Build and run the explainer notebook: ``python -m demos.make_notebook [--check]``.

``demos/how_deep_learning_works.ipynb`` is generated from the cells below, so
a change to its text or code is an ordinary diff here.  The script writes the
cells with nbformat, executes them with nbclient the way Jupyter does (a
``python3`` kernel started in ``demos/``) and saves the notebook with its
outputs, so it reads on GitHub without being run.  Outputs are deterministic:
the network is seeded, nothing prints a time, and the address-bearing
``text/plain`` beside each picture is dropped.  Pictures wider than a notebook
page are stored scaled down to its width, so no viewer has to scroll sideways.
``--check`` executes the cells and says whether the committed notebook is what
they produce, without writing; ``tests/test_notebook.py`` checks the same.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from demos.output import strip_svg_comments

NOTEBOOK = Path(__file__).resolve().parent / "how_deep_learning_works.ipynb"
TIMEOUT = 120  # seconds per cell: far above the ~2 s the slowest one takes

MAX_WIDTH_PT = 720  # 960 px: what a notebook page shows (GitHub, JupyterLab) without scrolling
_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')


def _fit_width(svg: str) -> str:
    """Scale a picture wider than MAX_WIDTH_PT down to it (its viewBox keeps the drawing whole).

    Notebook viewers show an SVG at its own size and scroll sideways past the page's width.
    """
    m = _SIZE.search(svg)
    if m is None or float(m[1]) <= MAX_WIDTH_PT:
        return svg
    height = float(m[2]) * MAX_WIDTH_PT / float(m[1])
    return svg.replace(m[0], f'<svg width="{MAX_WIDTH_PT}pt" height="{height:.0f}pt"', 1)


Cell = tuple[str, str]  # ("markdown" | "code", source)


def md(text: str) -> Cell:
    return ("markdown", text.strip("\n"))


def code(text: str) -> Cell:
    return ("code", text.strip("\n"))


CELLS: list[Cell] = [
    md('''
# How deep learning works, run for real

IEEE Spectrum's explainer *How Deep Learning Works* draws a feed-forward network with two hidden
layers reading a hand-written digit, its connections blue for positive weights and red for
negative ones, and then walks backpropagation back through the layers in four steps for a "3".
This notebook runs that story on valuegrad, a scalar autograd engine in which every number is a
`Value` with a gradient and every weight has a name:

1. **A neuron**: its computation graph, its gradients worked by hand with the chain rule, then
   by `backward()`.
2. **The network reading a digit**: `MLP(64, [16, 16, 10])` on a real 8×8 "3".
3. **Training it** on 1,438 of the 1,797 digits that ship with the repository (359 are kept
   for testing).
4. **Backpropagation in four steps** for the "3", with the network drawn at each step and the
   weights it pushes hardest, by name.
5. **Checking the gradients** against finite differences with `gradcheck`.
6. **Forward mode**: the same gradient the other way round, and why training uses backprop.
7. **What it learned**: what each neuron looks for, why it misreads the digit it confuses most,
   and a minibatch's nudges beside their average.

Every picture speaks one colour language: **blue = positive / more positive, red = negative /
more negative**, and its legend says what is coloured there: a weight's sign, a gradient's sign,
or the direction one gradient-descent step moves a weight.

Open it from a clone of the repository after `pip install -e '.[notebook]'` (pictures need
Graphviz: `sudo apt-get install graphviz`). It runs in about 20 seconds.
'''),
    code('''
import sys
from pathlib import Path

# Jupyter starts the kernel in demos/; autograd, nn and demos live in the repository root.
here = Path.cwd()
root = next((p for p in [here, *here.parents] if (p / "demos" / "datasets.py").is_file()), None)
if root is None:
    raise RuntimeError(f"open this notebook from a clone of valuegrad (working folder: {here})")
if str(root) not in sys.path:
    sys.path.insert(0, str(root))
'''),
    code('''
import math
import random

from IPython.display import display

from autograd import Value, draw_dot, explain_gradient, gradcheck, trace_backward, vsum
from demos.backprop_three import show_digit
from demos.datasets import load_digits
from demos.digits import SPLIT_SEED, TEST_FRACTION
from nn import (
    MLP,
    SGD,
    Adam,
    accuracy,
    cross_entropy,
    draw_network,
    draw_sequence,
    format_gradients,
    minibatches,
    predict_classes,
    softmax,
    top_gradients,
    train_test_split,
)
'''),
    md('''
## 1. A neuron

A neuron multiplies each input by a weight, adds the products and a bias, and passes the sum
through an activation function. This one has two inputs and the activation tanh (it is the
neuron of micrograd's lecture: the bias is chosen so that the sum is 0.8814 and the output
0.7071). It is built one operation at a time, so that every intermediate value has a name, and
`draw_dot` draws what the engine recorded:
'''),
    code('''
x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
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
draw_dot(o, rankdir="TB", params=[w1, w2, b],
         title="o = tanh(x1*w1 + x2*w2 + b), before backward()")
'''),
    md('''
Each box is a `Value`: its label, its data and its gradient. Inputs are green, the neuron's
parameters orange, interior values grey and the output purple. Every gradient is still 0:
nothing has been backpropagated yet.

### The gradients by hand

Training needs to know how the output changes when a weight changes: the derivative of `o` with
respect to each parameter. The chain rule gets it by multiplying the local derivatives along the
path from `o` back to the parameter:

$$\\frac{\\partial o}{\\partial w_1}
  = \\frac{\\partial o}{\\partial n}\\cdot\\frac{\\partial n}{\\partial s}
    \\cdot\\frac{\\partial s}{\\partial (x_1 w_1)}\\cdot\\frac{\\partial (x_1 w_1)}{\\partial w_1}
  = (1 - o^2)\\cdot 1\\cdot 1\\cdot x_1$$

Each local derivative belongs to one operation: tanh's is 1 − tanh² = 1 − o²; a sum passes the
gradient on unchanged to each of its terms (derivative 1); a product sends each factor the other
factor (∂(x1·w1)/∂w1 = x1). With o = 0.7071, 1 − o² = 0.5, so

| value | ∂o/∂value | here |
|---|---|---|
| n, s, b | 1 − o² | 0.5 |
| w1 | (1 − o²)·x1 | 0.5 · 2 = 1 |
| x1 | (1 − o²)·w1 | 0.5 · (−3) = −1.5 |
| w2 | (1 − o²)·x2 | 0.5 · 0 = 0 |
| x2 | (1 − o²)·w2 | 0.5 · 1 = 0.5 |

The weight w2 gets no gradient at all: its input x2 is 0, so changing w2 changes nothing. The
same sums in code, with plain floats:
'''),
    code('''
do_dn = 1 - o.data**2  # tanh's local derivative at n
by_hand = {
    "n": do_dn,
    "s": do_dn * 1.0,  # n = s + b: a sum passes the gradient on unchanged
    "b": do_dn * 1.0,
    "w1": do_dn * x1.data,  # x1w1 = x1 * w1: each factor gets the other one
    "x1": do_dn * w1.data,
    "w2": do_dn * x2.data,
    "x2": do_dn * w2.data,
}
for name, g in by_hand.items():
    print(f"do/d{name:<2} = {g:+.4f}")
'''),
    md('''
### The gradients by `backward()`

`o.backward()` does the same walk for every value at once, in reverse order of computation, and
leaves each gradient in `.grad`. They agree with the hand computation (the `assert` would stop the
notebook otherwise):
'''),
    code('''
o.backward()
print("value   by hand   backward()")
for v in [n, s, b, w1, x1, w2, x2]:
    print(f"{v.label:>5}  {by_hand[v.label]:+8.4f}  {v.grad:+11.4f}")
    assert math.isclose(v.grad, by_hand[v.label], rel_tol=1e-12, abs_tol=1e-15), v.label
draw_dot(o, rankdir="TB", params=[w1, w2, b],
         title="after o.backward(): colour = each gradient's sign, blue > 0, red < 0")
'''),
    md('''
`trace_backward` replays the same pass one operation at a time: each step's upstream gradient
(the derivative of `o` with respect to that node), the local derivative for each parent, and
their product, which is what the step adds to that parent's gradient. It is the table above, in
the engine's order:
'''),
    code('''
trace_backward(o)
'''),
    md('''
## 2. The network reading a digit

The explainer's network reads an 8×8 image of a hand-written digit: 64 input neurons, one per
pixel; two hidden layers of neurons like the one above (here 16 each, with the ReLU activation,
max(0, x)); and 10 output neurons, one per digit. The repository ships 1,797 such digits
(the UCI "Optical Recognition of Handwritten Digits" test set), with gray levels scaled to
0..1. They are split once, 80% to train on and 20% to test on, as `python -m demos.digits`
splits them, and the first "3" of the test digits is the one the network will read:
'''),
    code('''
X, y = load_digits()
X_train, X_test, y_train, y_test = train_test_split(X, y, TEST_FRACTION, seed=SPLIT_SEED)
x = X_test[y_test.index(3)]
print(f"{len(X)} digits: {len(X_train)} to train on, {len(X_test)} to test on; the test \\"3\\":")
print(show_digit(x))
'''),
    code('''
model = MLP(64, [16, 16, 10], seed=0)  # seeded: the same weights on every run
print(model)
print(f"{model.num_parameters():,} parameters, each with a name such as",
      model.layers[2].neurons[3].w[5].label)
outputs = model(x)
probabilities = [p.data for p in softmax(outputs)]
print("output activations:", " ".join(f"{k}:{p:.2f}" for k, p in enumerate(probabilities)))
'''),
    md('''
The output layer's activations are the softmax of its raw outputs, so they sum to 1 and can be
read as the network's confidence in each digit. Untrained, with random weights, the network has
no idea: every digit gets about 0.1. Part 3 draws it beside the trained network.

## 3. Training it

Training shows the network the 1,438 training digits in small batches. For each batch it
measures how wrong the network is with a loss, softmax cross-entropy (the minus log of the
activation of the right output), backpropagates to get the gradient of the loss with respect
to every weight, and moves every weight a little against its gradient, here with the Adam
optimizer, whose step size falls over time. Six passes over the data take about ten seconds:
'''),
    code('''
optimizer = Adam(model.parameters(), lr=0.01)
rng = random.Random(0)  # the batch order
epochs, batch_size = 6, 32
steps = epochs * math.ceil(len(X_train) / batch_size)
step = 0
for epoch in range(1, epochs + 1):
    for batch in minibatches(len(X_train), batch_size, rng):
        optimizer.lr = 0.01 * (1 - 0.9 * step / (steps - 1))  # from 0.01 down to 0.001
        loss = vsum([cross_entropy(model(X_train[i]), y_train[i]) for i in batch]) / len(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
    test_accuracy = accuracy(predict_classes(model, X_test), y_test)
    print(f"epoch {epoch}: loss on the last batch {loss.data:.3f}, "
          f"test accuracy {test_accuracy:.1%}")
'''),
    code('''
probabilities = [p.data for p in softmax(model(x))]
print("output activations:", " ".join(f"{k}:{p:.2f}" for k, p in enumerate(probabilities)))
untrained = MLP(64, [16, 16, 10], seed=0)  # part 2's network, rebuilt from its seed
before, after = draw_sequence([untrained, model], x, titles=["untrained", "trained"])
display(before, after)  # on one scale (each legend gives it): widths and greys compare
'''),
    md('''
The input is drawn as the image it is. Each neuron is shaded by its activation for this "3"
(darker is more active; a dashed circle is exactly 0) and each connection is blue for a positive
weight and red for a negative one, wider for a larger weight; a connection from a pixel or
neuron at 0 carries nothing for this "3" and is grey. Into each first-hidden neuron only the 6
connections carrying most for this "3" (largest |weight × activation|) are drawn. Both pictures
are on one scale, so widths and greys compare by eye.

Trained, the network reads the "3" as a 3: output 3 is lit and the others are dark, and it
reads the test digits it has never seen as well. (`python -m demos.digits` trains a larger
network, `MLP(64, [32, 32, 10])`, for longer, to 97.8% on the same test digits.)

## 4. Backpropagation in four steps, for a "3"

How does one example change the weights? The explainer answers with the untrained network,
where there is something to correct, so we rebuild the network of part 2 from its seed, show it
the "3", compute the loss and backpropagate once. `backward()` fills the gradient of every
weight at once; the four steps below read them layer by layer, from the output back to the
input, as the explainer tells them, and check each step's claim against the engine's numbers.
'''),
    code('''
net = MLP(64, [16, 16, 10], seed=0)  # the untrained network of part 2
h1 = net.layers[0](x)  # first hidden layer's activations
h2 = net.layers[1](h1)  # second hidden layer's
outputs = net.layers[2](h2)  # the 10 raw outputs
loss = cross_entropy(outputs, 3)
net.zero_grad()
loss.backward()
print(f"loss = -log(activation of output 3) = {loss.data:.4f}")


def top_in_layer(layer: int, k: int = 6) -> list:
    """The parameters of one layer this "3" pushes hardest: (name, value, grad) rows."""
    return [r for r in top_gradients(net, k=None) if r[0].startswith(f"layers.{layer}.")][:k]
'''),
    md('''
### Step 1: compare the outputs with the desired ones

For a "3" the desired activations are 1 for output 3 and 0 for every other output. With softmax
cross-entropy, the gradient of the loss at each raw output is exactly the difference, current
activation minus desired: negative for output 3, which must rise (▲), positive for the others,
which must fall (▼).
'''),
    code('''
activations = [p.data for p in softmax(outputs)]
desired = [1.0 if k == 3 else 0.0 for k in range(10)]
print("output  activation  desired  gradient")
for k in range(10):
    print(f"{k:>6}  {activations[k]:10.4f}  {desired[k]:7.0f}  {outputs[k].grad:+8.4f}")
    assert math.isclose(outputs[k].grad, activations[k] - desired[k], abs_tol=1e-15)
display(draw_network(net, x, 3, step=1))
'''),
    md('''
### Step 2: the weights into the output layer

A weight from second-hidden neuron j into output k multiplies that neuron's activation a_j, so
its gradient is the gradient at output k times a_j. One gradient-descent step moves
a weight against its gradient: the weights into output 3 get more positive (blue) in proportion
to how active their neuron is, the weights into the other outputs more negative (red), and the
weights from silent neurons (a_j = 0) do not move at all. A bias is the weight of a constant
input 1, so its gradient is the output's own.
'''),
    code('''
for k, neuron in enumerate(net.layers[2].neurons):
    for j, w in enumerate(neuron.w):
        assert w.grad == outputs[k].grad * h2[j].data  # exactly: one multiplication
print(format_gradients(top_in_layer(2)))
display(draw_network(net, x, 3, step=2))
'''),
    md('''
Names such as `layers.2.neurons.3.w.1` say where each weight sits: layer 2 (the output layer),
neuron 3, weight 1, the one from second-hidden neuron 1. `trace_backward` shows where its
gradient comes from. Here it traces a small piece: output neuron 3 alone, fed copies of the
second hidden layer's activations and seeded with output 3's gradient from step 1. Its single
step is the neuron's weighted sum; each weight receives upstream × local, the local derivative
being the activation it multiplies:
'''),
    code('''
a = [Value(v.data, label=f"a{j}") for j, v in enumerate(h2)]
piece = net.layers[2].neurons[3](a)
piece.label = "output 3"
(trace_step,) = trace_backward(piece, gradient=outputs[3].grad)
print(f"{trace_step.name} = {trace_step.op}(weights, inputs); rule: {trace_step.law}")
print(f"{'weight':<24}  {'upstream':>9}  {'local':>7}  {'adds':>8}  backward() gave")
weights_in = [c for c in trace_step.contributions if c.name.startswith("layers.")]
for c in sorted(weights_in, key=lambda c: -abs(c.added))[:6]:
    print(f"{c.name:<24}  {trace_step.upstream:+9.4f}  {c.local:+7.4f}  {c.added:+8.4f}  "
          f"{c.parent.grad:+8.4f}")
    assert c.added == c.parent.grad
'''),
    md('''
### Step 3: the weights into the second hidden layer

A second-hidden neuron j first gets its own gradient: the output gradients sent back through the
current weights, the sum over k of w_kj × (gradient at output k). If the neuron is on, the ReLU
passes it through, and the weight from first-hidden neuron i into it gets that gradient times
a_i, the first hidden layer's activation; if it is off, nothing passes and its weights stay put.
'''),
    code('''
out_neurons = net.layers[2].neurons
for j in range(16):
    sent_back = sum(out_neurons[k].w[j].data * outputs[k].grad for k in range(10))
    assert math.isclose(h2[j].grad, sent_back, rel_tol=1e-12, abs_tol=1e-15)
on = [j for j in range(16) if h2[j].data > 0]
print(f"{len(on)} of 16 second-hidden neurons are on: {on}")
print(format_gradients(top_in_layer(1)))
display(draw_network(net, x, 3, step=3))
'''),
    md('''
### Step 4: the weights into the first hidden layer

The same once more, one layer further back. The input of a first-hidden neuron is the image
itself, so a weight's gradient is the neuron's gradient times its pixel's gray level: weights
from blank pixels, which are 0, do not change at all, and the weights from fully inked pixels
(gray level 1) into one neuron all get exactly that neuron's gradient.
'''),
    code('''
blank = [i for i, pixel in enumerate(x) if pixel == 0.0]
from_blank = max(abs(neuron.w[i].grad) for neuron in net.layers[0].neurons for i in blank)
print(f"{len(blank)} of 64 pixels are blank; largest |gradient| of a weight from one: {from_blank}")
print(format_gradients(top_in_layer(0)))
display(draw_network(net, x, 3, step=4))
'''),
    md('''
### Why this gradient? A sum over paths

Each step said how a gradient is made from the one before it. Unrolled, the chain rule says
what a single weight's gradient is: the sum, over every path from the loss down to the weight,
of the product of the local derivatives along the path. A first-hidden weight reaches the loss
through every second-hidden neuron and every output, so it has many paths; backpropagation
never lists them, it shares their common parts and visits each edge of the graph once.
`explain_gradient` lists the largest ones, counts them all, and gives the rest as one number.
Here is the first-hidden weight that step 4 pushes hardest:
'''),
    code('''
w = max((w for neuron in net.layers[0].neurons for w in neuron.w), key=lambda w: abs(w.grad))
loss.label = "loss"  # the tables name a node by its label, else by its neuron and op
why = explain_gradient(loss, w, k=5)
print(why)
every = explain_gradient(loss, w, k=why.count)  # all of them, listed one by one
assert len(every.paths) == every.count
assert math.isclose(math.fsum(p.contribution for p in every.paths), w.grad,
                    rel_tol=1e-12, abs_tol=1e-15)
print(f"the sum of all {every.count} paths is {every.listed:+.6f}; backward() gave {w.grad:+.6f}")
'''),
    md('''
Each row multiplies the local derivatives along one path, from the loss down: the loss's
derivative at an output (−1 directly, or the softmax probability through the sum of
exponentials), then a weight of the layer above times its ReLU's slope (0 if the neuron is off,
which silences every path through it), and last the pixel that the weight multiplies. The
picture draws those paths over the network, each hop labelled with its local derivative:
'''),
    code('''
display(draw_network(net, x, 3, explain=w))
'''),
    md('''
### One step

The four steps together are one gradient: every weight of the network has one, and these are
the largest. One step of plain gradient descent (`SGD`, each weight moved by −0.1 × its
gradient) makes the network a little more sure that this is a 3:
'''),
    code('''
print(format_gradients(top_gradients(net, k=8)))
before = softmax(outputs)[3].data
SGD(net.parameters(), lr=0.1).step()
after = softmax(net(x))[3].data
print(f"activation of output 3: {before:.4f} before the step, {after:.4f} after")
'''),
    md('''
## 5. Checking the gradients

Every gradient above came from the engine's derivative rules. `gradcheck(f, inputs)` checks
them against finite differences: it moves each input by a small h each way, evaluates `f`
again, and compares (f(x + h) − f(x − h)) / 2h with the engine's derivative. First the neuron of
part 1:
'''),
    code('''
gradcheck(lambda x1, x2, w1, w2, b: (x1 * w1 + x2 * w2 + b).tanh(), [x1, x2, w1, w2, b])
'''),
    md('''
Then the network: the loss of the "3" as a function of six weights, the two in each layer that
the four steps pushed hardest, the other weights left as they are (the network is the one after
the step). `f` puts `gradcheck`'s values in place of those six weights while it computes the
loss:
'''),
    code('''
ranked = [name for name, _, _ in top_gradients(net, k=None) if ".w." in name]  # no biases
names = []
for layer in (2, 1, 0):
    names += [name for name in ranked if name.startswith(f"layers.{layer}.")][:2]
weights = dict(net.named_parameters())
spots = []  # (the neuron's weight list, index) of each checked weight
for name in names:
    _, layer, _, neuron, _, i = name.split(".")
    spots.append((net.layers[int(layer)].neurons[int(neuron)].w, int(i)))


def loss_with(*ws: Value) -> Value:
    """The loss of the "3" with the chosen weights replaced by ``ws``."""
    for (w_list, i), w in zip(spots, ws):
        w_list[i] = w
    try:
        return cross_entropy(net(x), 3)
    finally:
        for (w_list, i), name in zip(spots, names):
            w_list[i] = weights[name]


gradcheck(loss_with, [weights[name] for name in names])
'''),
    md('''
And the gradient with respect to each of the 64 pixels, which takes every layer's weights and
ReLUs into account:
'''),
    code('''
report = gradcheck(lambda *pixels: cross_entropy(net(list(pixels)), 3), x)
print(f"{len(report)} pixels checked: {'passed' if report.passed else 'FAILED'}; "
      f"largest relative error {max(r.rel_error for r in report):.1e}")
assert report.passed
'''),
    md('''
## Where next

* `python -m demos.backprop_three` prints the four steps as tables, with more checks, and
  `--model out/digits/model.json` runs them on the network `python -m demos.digits` trains.
* [docs/pictures.md](../docs/pictures.md) explains every colour of the pictures,
  [docs/nn.md](../docs/nn.md) the networks, and [docs/gradients.md](../docs/gradients.md) the
  engine and `gradcheck`.
'''),
]


def forward_mode_cells() -> list[Cell]:
    """Part 6 (issue 22): forward mode beside reverse mode on the network of the "3"."""
    return [
        md('''
## 6. Forward mode, the other half

Backpropagation is *reverse mode*: one pass backwards from the loss gives the derivative of
the loss with respect to every weight at once. *Forward mode* runs the other way: give one
input a speed (a tangent), and one sweep in the order the operations ran carries it through
the network, each value's speed being the sum of its inputs' speeds times its local derivatives,
the very local derivatives backward uses. One sweep gives the derivative along one direction.
`jvp(f, inputs, tangents)` does it; for the first weight of part 5, it agrees with backward:
'''),
        code('''
from autograd import grad, jvp, topological_order
from autograd.forward import sweep

values = [weights[name].data for name in names]
unit = [1.0] + [0.0] * (len(names) - 1)  # move the first weight only
loss_value, forward = jvp(loss_with, values, unit)
reverse = grad(cross_entropy(net(x), 3), weights[names[0]])
print(f"d loss / d {names[0]}: forward mode {forward:.12f}, reverse mode {reverse:.12f}")
'''),
        md('''
The same number, at another price. Reverse mode took one pass for all the gradients;
forward mode needs one sweep per weight. Counting the operations each one works through
(every sweep touches the operations downstream of its weight):
'''),
        code('''
loss = cross_entropy(net(x), 3)
params = net.parameters()
ops = sum(1 for v in topological_order(loss) if not v.is_leaf)
swept = sum(sum(1 for v in sweep([loss], {p: 1.0}, False) if not v.is_leaf) for p in params)
print(f"reverse mode: 1 pass through {ops:,} operations gives all {len(params):,} gradients")
print(f"forward mode: {len(params):,} sweeps through {swept:,} operations in all "
      f"({swept / ops:,.0f} times the work)")
'''),
        md('''
A network has many weights and one loss, so it wants reverse mode: that is why training is
backpropagation. Forward mode wins the other way round, a function of few inputs with many
outputs. `python -m demos.digits` ends with the same comparison, timed, on the network it
trains.
'''),
    ]


def what_it_learned() -> list[Cell]:
    """Part 6: what each neuron of the trained network looks for, why it misreads the test
    digit it confuses most, and a minibatch's nudges beside their average."""
    return [
        md('''
## 7. What the network learned, and why it reads a digit as it does

### What each first-layer neuron looks for

A first-layer neuron adds up the 64 pixels, each times its weight, so its weights laid out as an
8×8 image are the pattern it responds to: ink on a blue (positive) weight raises its weighted
input, ink on a red (negative) one lowers it. `weight_images` lays out every neuron of the
network trained in part 3 on one colour scale, the layer's largest |weight|, so the sixteen
pictures can be compared with each other:
'''),
        code('''
from demos.digits import most_confused
from demos.training import confusion_matrix, format_confusion
from nn import batch_nudges, contributions, draw_why, saliency, top_activating, weight_images

images = weight_images(model)
print(f"{len(images.images)} neurons, {images.shape[0]}x{images.shape[1]} weights each; "
      f"colour scale ±{images.scale:.3f}")
images.draw()
'''),
        md('''
A neuron of the second hidden layer weighs the first layer's neurons, not pixels, so its weights
draw no digit. It is read by what it does instead: `top_activating` runs the network on every
test digit and ranks them, for each neuron, by its weighted input. Here are the four test digits
that excite the first six second-layer neurons most:
'''),
        code('''
top = top_activating(model, X_test, layer=1, k=4)
top.draw(X_test, neurons=range(6))
'''),
        md('''
### Why this digit? The pair the network confuses most

The confusion matrix counts, for each true digit (row), what the network read (column). Its
largest count off the diagonal is the pair it confuses most; among those test digits, we take
the one it misreads most confidently (the largest gap between the two logits):
'''),
        code('''
pred = predict_classes(model, X_test)
print(format_confusion(confusion_matrix(y_test, pred, 10)))
true, read = most_confused(y_test, pred)
misread = [i for i in range(len(X_test)) if y_test[i] == true and pred[i] == read]
k = max(misread, key=lambda i: model.predict(X_test[i])[read] - model.predict(X_test[i])[true])
digit = X_test[k]
print(f"most confused: {true} read as {read} ({len(misread)} test digits); "
      f"the most confident of them is test digit {k}:")
print(show_digit(digit))
'''),
        md('''
Three questions about it, each answered by the engine on one run of the network. **Saliency**:
how does each output's score (its logit z) change as a pixel brightens, d z / d pixel?
**Contrast**: why the wrong digit rather than the right one, d (z_read − z_true) / d pixel (blue
pixels argue for the digit read)? **Contributions**: the output's weighted input is a sum of
terms weight × activation, one per last-hidden neuron, which says which neurons voted for it.
The saliency is checked against a finite difference, and the terms against the logit:
'''),
        code('''
s = saliency(model, digit, read)
i = max(range(64), key=lambda i: abs(s[i]))
h = 1e-6
up, down = list(digit), list(digit)
up[i] += h
down[i] -= h
numeric = (model.predict(up)[read] - model.predict(down)[read]) / (2 * h)
print(f"pixel {i}: d z{read} / d pixel = {s[i]:+.6f} (engine), {numeric:+.6f} (finite difference)")
assert math.isclose(s[i], numeric, rel_tol=1e-5)
votes = contributions(model, digit, layer=2, neuron=read)
assert math.isclose(math.fsum(votes.terms) + votes.bias, model.predict(digit)[read],
                    rel_tol=1e-12, abs_tol=1e-12)
print(f"z{read} = {votes.z:+.3f} = the sum of {len(votes.terms)} terms w·a + bias "
      f"{votes.bias:+.3f}; the largest:",
      ", ".join(f"neuron {j}: {t:+.3f}" for j, t in votes.top(4)))
draw_why(model, digit, read, true)
'''),
        md('''
### Nudges over a batch

Backprop on one example says which way every weight and bias should move for that example. A
training step uses a minibatch: it moves them by the *average* of the examples' wishes, the
gradient of the batch's mean loss. `batch_nudges` computes each example's gradients and their
average, on the untrained network of part 2 and the first minibatch of 32. The picture shows
four examples' nudges and, framed, the batch's average on the same scale: where the examples
disagree the average is pale, where they agree it stays. Each neuron's nudge −dL/dz is also the
nudge to its bias:
'''),
        code('''
untrained = MLP(64, [16, 16, 10], seed=0)
batch = next(minibatches(len(X_train), 32, random.Random(0)))
nudges = batch_nudges(untrained, [X_train[i] for i in batch], [y_train[i] for i in batch])
mean_loss = vsum([cross_entropy(untrained(X_train[i]), y_train[i]) for i in batch]) / len(batch)
untrained.zero_grad()
mean_loss.backward()
for name, p, g in zip(nudges.names, untrained.parameters(), nudges.mean_param_grads):
    assert math.isclose(g, p.grad, rel_tol=1e-9, abs_tol=1e-12), name
name = "layers.2.neurons.3.b"
print(f"{name}: nudges of the first four examples",
      " ".join(f"{nudges.nudge(name, e):+.3f}" for e in range(4)),
      f"... average over 32: {nudges.nudge(name):+.4f}, which is -grad of the mean loss")
nudges.draw(show=4)
'''),
    ]


CELLS[-1:-1] = forward_mode_cells()  # before "Where next"
CELLS[-1:-1] = what_it_learned()  # before "Where next", the last cell


def build() -> Any:
    """The notebook of :data:`CELLS`, not yet executed."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb.cells = [make[kind](source) for kind, source in CELLS]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:02d}"  # stable ids keep diffs of the .ipynb small
    return nb


def execute(nb: Any, timeout: int = TIMEOUT) -> Any:
    """A copy of ``nb`` run top to bottom in a fresh kernel in ``demos/``, outputs normalised.

    Raises nbclient's ``CellExecutionError`` (naming the cell) if a cell fails.
    """
    from nbclient import NotebookClient

    nb = copy.deepcopy(nb)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    nb.metadata["language_info"] = {"name": "python"}  # not the version of whoever ran it
    for cell in nb.cells:
        if "outputs" in cell:
            cell.outputs = _coalesce_streams(cell.outputs)
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/svg+xml" in data:
                data.pop("text/plain", None)  # "<...Picture object at 0x7f...>"
                # comments dropped: they repeat each title, and the stored notebook stays small
                data["image/svg+xml"] = _fit_width(strip_svg_comments(data["image/svg+xml"]))
    return nb


def _coalesce_streams(outputs: list) -> list:
    """Consecutive prints to one stream as one output: the kernel splits them as it flushes."""
    merged: list = []
    for out in outputs:
        last = merged[-1] if merged else None
        if (
            out["output_type"] == "stream"
            and last is not None
            and last["output_type"] == "stream"
            and last["name"] == out["name"]
        ):
            last["text"] += out["text"]
        else:
            merged.append(out)
    return merged


def comparable(nb: Any) -> list[tuple[str, str, list]]:
    """What must match between two runs: each cell's kind, source and outputs.

    SVG pictures count by presence, not bytes, so another Graphviz version passes.
    """
    cells = []
    for cell in nb.cells:
        outs = []
        for out in _coalesce_streams(copy.deepcopy(cell.get("outputs", []))):
            kind = out["output_type"]
            if kind == "stream":
                outs.append((kind, out["name"], out["text"]))
            elif kind in ("display_data", "execute_result"):
                data = out["data"]
                outs.append((kind, sorted(data), data.get("text/plain")))
            else:
                outs.append((kind, out.get("ename"), out.get("evalue")))
        cells.append((cell.cell_type, cell.source, outs))
    return cells


def stale_cells(stored: Any, fresh: Any) -> list[int]:
    """Indices of the cells whose kind, source or outputs differ (a cell added or lost counts)."""
    a, b = comparable(stored), comparable(fresh)
    differ = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    return differ + list(range(min(len(a), len(b)), max(len(a), len(b))))


def main(argv: Sequence[str] | None = None) -> int:
    import nbformat

    from demos import take_back_ctrl_c

    take_back_ctrl_c()  # Ctrl-C from here stops the run through KeyboardInterrupt

    p = argparse.ArgumentParser(prog="python -m demos.make_notebook", description=__doc__)
    p.add_argument("--check", action="store_true",
                   help="run the cells and compare with the committed notebook; write nothing")
    args = p.parse_args(argv)
    start = time.perf_counter()
    nb = execute(build())
    seconds = time.perf_counter() - start
    if args.check:
        stale = stale_cells(nbformat.read(NOTEBOOK, as_version=4), nb)
        if stale:
            print(f"{NOTEBOOK} is out of date (cells {stale}): run python -m demos.make_notebook",
                  file=sys.stderr)
            return 1
        print(f"{NOTEBOOK} is up to date (executed in {seconds:.1f} s)")
        return 0
    nbformat.validate(nb)
    from autograd.files import write_text_atomic

    write_text_atomic(NOTEBOOK, nbformat.writes(nb) + "\n")
    print(f"wrote {NOTEBOOK} (executed in {seconds:.1f} s, {NOTEBOOK.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
