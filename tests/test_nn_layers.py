"""Neuron, Layer and MLP: init, forward, graph size, micrograd compatibility, bad input."""

from __future__ import annotations

import math
import random
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from autograd import Value, checks, no_grad, topological_order, vsum
from nn import MLP, Layer, Neuron, hinge_loss, init_bound, softmax

ROOT = Path(__file__).resolve().parents[1]


def _weights(layer: Layer) -> list[float]:
    return [w.data for n in layer.neurons for w in n.w]


# --- initialisation ------------------------------------------------------------------


def test_seed_makes_init_reproducible_and_never_touches_global_rng():
    random.seed(123)
    state = random.getstate()
    a = MLP(64, [32, 32, 10], seed=0)
    b = MLP(64, [32, 32, 10], seed=0)
    c = MLP(64, [32, 32, 10], rng=random.Random(0))
    Neuron(3, seed=0)
    Layer(3, 2, rng=random.Random(1))
    assert random.getstate() == state
    assert a.state_dict() == b.state_dict() == c.state_dict()
    assert a.state_dict() != MLP(64, [32, 32, 10], seed=1).state_dict()


@pytest.mark.parametrize("build", [lambda: MLP(2, [16, 16, 1]), lambda: Layer(3, 2),
                                   lambda: Neuron(3)])
def test_unseeded_init_follows_the_global_random_seed(build):
    # micrograd users reproduce a run with random.seed(...); so must we.
    random.seed(1337)
    first = build().state_dict()
    advanced = random.getstate()
    random.seed(1337)
    assert build().state_dict() == first
    assert random.getstate() == advanced  # the same single draw each time
    random.seed(1338)
    assert build().state_dict() != first


def test_unseeded_init_is_reproducible_across_processes():
    code = ("import random; random.seed(1337); from nn import MLP; "
            "print(MLP(2, [16, 16, 1]).state_dict())")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, cwd=ROOT).stdout for _ in range(2)]
    assert runs[0] == runs[1] != ""


def test_init_scale_is_he_for_relu_and_glorot_otherwise():
    m = MLP(64, [32, 32, 10], seed=0)
    first, last = m.layers[0], m.layers[2]
    ws = _weights(first)
    a_he = math.sqrt(6 / 64)
    assert init_bound("relu", 64) == a_he
    assert max(abs(w) for w in ws) <= a_he
    # U(-a, a) has variance a^2/3 = 2/fan_in; 2048 draws put the sample within ~10%.
    assert statistics.pvariance(ws) == pytest.approx(2 / 64, rel=0.15)
    a_glorot = math.sqrt(6 / (32 + 10))
    assert max(abs(w) for w in _weights(last)) <= a_glorot
    assert statistics.pvariance(_weights(last)) == pytest.approx(2 / 42, rel=0.3)
    assert all(n.b.data == 0.0 for layer in m.layers for n in layer.neurons)
    tanh = Layer(64, 64, "tanh", seed=0)
    assert statistics.pvariance(_weights(tanh)) == pytest.approx(2 / 128, rel=0.15)


def test_init_keeps_activations_in_a_sane_range_for_64_inputs():
    m = MLP(64, [32, 32, 10], seed=0)
    rng = random.Random(1)
    outs = [m.predict([rng.random() for _ in range(64)]) for _ in range(20)]
    spread = statistics.pstdev([o for out in outs for o in out])
    assert 0.05 < spread < 5.0  # micrograd's uniform(-1, 1) gives ~10x this


# --- forward -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "activation, f",
    [
        ("relu", lambda z: max(z, 0.0)),
        ("tanh", math.tanh),
        ("sigmoid", lambda z: 1 / (1 + math.exp(-z))),
        ("linear", lambda z: z),
    ],
)
def test_neuron_computes_activation_of_weighted_sum(activation, f):
    n = Neuron(3, activation, seed=0)
    for w, v in zip(n.w, [0.5, -1.0, 2.0]):
        w.data = v
    n.b.data = 0.25
    for x in ([1.0, 2.0, 3.0], [-3.0, 1.0, 0.0]):
        z = 0.5 * x[0] - 1.0 * x[1] + 2.0 * x[2] + 0.25
        assert n(x).data == pytest.approx(f(z), rel=1e-15)


def test_neuron_is_two_nodes_dot_with_bias_then_activation():
    n = Neuron(4, "tanh", seed=0)
    x = [Value(float(i)) for i in range(4)]
    out = n(x)
    assert out.op == "tanh"
    d = out.parents[0]
    assert d.op == "dot" and d.parents[:9] == (*n.w, n.b, *x)
    one = d.parents[9]
    assert one.is_constant and one.data == 1.0
    # the same float as the unfused w·x + b, so results match micrograd's to the bit
    assert d.data == sum(w.data * v.data for w, v in zip(n.w, x)) + n.b.data
    out.backward()
    assert n.b.grad == 1.0 - out.data**2  # the bias's gradient is the dot's, times 1
    assert Neuron(4, "linear", seed=0)(x).op == "dot"


def test_forward_sees_replaced_weights_and_bias():
    n = Neuron(2, "linear", seed=0)
    n([1.0, 1.0])  # the weights and bias are now cached as one tuple
    new = Value(5.0, label="new")
    n.w[0] = new
    d = n([1.0, 1.0])
    assert d.parents[0] is new and d.data == 5.0 + n.w[1].data
    n.b = Value(0.5)
    assert n([0.0, 0.0]).data == 0.5
    n.w = [Value(1.0), Value(2.0)]  # a plain list: its edits bump no version
    assert n([1.0, 1.0]).data == 3.5
    n.w[1] = Value(-2.0)
    assert n([1.0, 1.0]).data == -0.5


def test_mlp_lifts_inputs_once_and_keeps_the_graph_small():
    m = MLP(64, [32, 32, 10], seed=0)
    out = m([0.1] * 64)
    assert isinstance(out, list) and len(out) == 10
    order = topological_order(vsum(out))
    interior = [v for v in order if not v.is_leaf]
    # relu neurons: dot, relu; linear output neurons: dot; plus the final sum
    assert len(interior) == 64 * 2 + 10 + 1
    dots = [v for v in interior if v.op == "dot"]
    first = [d for d in dots if len(d.parents) == 130]
    inputs = first[0].parents[65:]
    assert all(d.parents[65:] == inputs for d in first)  # same 65 Values, not copies
    leaves = [v for v in order if v.is_leaf]
    assert len(leaves) == m.num_parameters() + 64 + 3  # and one constant 1 per layer


def test_output_shapes_and_micrograd_single_value():
    assert isinstance(MLP(2, [16, 16, 1], seed=0)([1.0, 2.0]), Value)
    assert len(Layer(3, 4, seed=0)([1, 2, 3])) == 4
    assert isinstance(Layer(3, 1, seed=0)([1, 2, 3]), Value)
    assert isinstance(Neuron(2, seed=0)((1, 2)), Value)
    assert MLP(3, [1, 4], seed=0)(iter([1.0, 2.0, 3.0])).__class__ is list  # 1-wide hidden layer


def test_gradient_flows_to_value_inputs():
    m = MLP(2, [3, 1], activation="tanh", seed=0)
    x = [Value(0.3), Value(-0.7)]
    m(x).backward()
    assert x[0].grad != 0.0 and x[1].grad != 0.0


def test_predict_records_no_graph_and_matches_forward():
    m = MLP(5, [4, 3], seed=2)
    x = [0.1, 0.2, -0.3, 0.4, 0.5]
    assert m.predict(x) == [v.data for v in m(x)]
    with no_grad():
        assert all(v.is_leaf for v in m(x))


# --- micrograd compatibility -----------------------------------------------------------


def test_micrograd_signatures_and_defaults():
    assert Neuron(3, nonlin=True).activation == "relu"
    assert Neuron(3, nonlin=False).activation == "linear"
    assert Neuron(3).nonlin is True
    assert Layer(2, 3, nonlin=False).activation == "linear"
    m = MLP(2, [16, 16, 1])
    assert [layer.activation for layer in m.layers] == ["relu", "relu", "linear"]
    assert (m.nin, m.nouts) == (2, [16, 16, 1])


def test_micrograd_style_training_loop_reduces_hinge_loss():
    xs = [[2.0, 3.0], [3.0, -1.0], [0.5, 1.0], [1.0, 1.0]]
    ys = [1, -1, -1, 1]
    m = MLP(2, [8, 8, 1], seed=0)
    losses = []
    for _ in range(30):
        loss = hinge_loss([m(x) for x in xs], ys)
        m.zero_grad()
        loss.backward()
        for p in m.parameters():
            p.data -= 0.05 * p.grad
        losses.append(loss.data)
    assert losses[-1] < 0.5 * losses[0]


# --- bad input -------------------------------------------------------------------------


def test_wrong_input_length_says_expected_and_got():
    with pytest.raises(ValueError, match="MLP: expected 64 inputs, got 63"):
        MLP(64, [10], seed=0)([0.0] * 63)
    with pytest.raises(ValueError, match="Neuron: expected 2 inputs, got 3"):
        Neuron(2, seed=0)([1, 2, 3])
    with pytest.raises(ValueError, match="Layer: expected 3 inputs, got 1"):
        Layer(3, 2, seed=0)([1])


@pytest.mark.parametrize(
    "bad, exc, what",
    [
        ("abc", TypeError, "'abc'"),
        (None, TypeError, "None"),
        (float("nan"), ValueError, "nan"),
        (float("inf"), ValueError, "inf"),
    ],
)
def test_non_numeric_input_names_its_position(bad, exc, what):
    x = [0.0, 1.0, 2.0, 3.0]
    x[2] = bad
    with pytest.raises(exc, match=rf"MLP: input 2 must be a finite number or Value, got {what}"):
        MLP(4, [2], seed=0)(x)


def test_input_must_be_a_sequence():
    with pytest.raises(TypeError, match=r"^MLP: x must be an iterable of 2 numbers or Values, "
                                        r"got 3\.0 \(float\)$"):
        MLP(2, [1], seed=0)(3.0)
    with pytest.raises(TypeError, match=r"^MLP: x must be an iterable of 2 numbers or Values, "
                                        r"got 'ab' \(str\)$"):
        MLP(2, [1], seed=0)("ab")


_UNORDERED = [
    ({0.5: 1, -0.5: 2}, "a mapping's keys are not its values", "dict"),
    ({0.5, -0.5}, "a set's order is arbitrary", "set"),
    (frozenset({0.5, -0.5}), "a set's order is arbitrary", "frozenset"),
    ({0.5: 1, -0.5: 2}.keys(), "a set's order is arbitrary", "dict_keys"),
]


@pytest.mark.parametrize("x, why, kind", _UNORDERED, ids=[k for _, _, k in _UNORDERED])
def test_calling_a_model_on_a_dict_or_a_set_is_refused_naming_the_call_and_type(x, why, kind):
    model = MLP(2, [3, 1], seed=0)
    for call, who in ((model, "MLP"), (model.predict, "MLP.predict"), (model.layers[0], "Layer"),
                      (model.layers[0].neurons[0], "Neuron")):
        with pytest.raises(TypeError) as info:
            call(x)
        message = str(info.value)
        assert message.startswith(f"{who}: x must be an ordered iterable of 2 numbers or Values "
                                  f"({why}), got ")
        assert message.endswith(f"({kind})")


def test_a_model_takes_any_ordered_sequence_of_inputs():
    np = pytest.importorskip("numpy")
    model = MLP(3, [2, 1], seed=0)
    want = model.predict([0.5, -1.0, 2.0])
    makers = [lambda: (0.5, -1.0, 2.0), lambda: np.array([0.5, -1.0, 2.0]),
              lambda: iter([0.5, -1.0, 2.0]), lambda: (v for v in [0.5, -1.0, 2.0]),
              lambda: {"a": 0.5, "b": -1.0, "c": 2.0}.values(),
              lambda: [Value(0.5), np.float64(-1.0), 2]]
    for make in makers:
        assert model.predict(make()) == want
        assert model(make()).data == want[0]


@pytest.mark.parametrize(
    "seed, error",
    [(float("nan"), TypeError), (1.5, TypeError), (1.0, TypeError), ("abc", TypeError),
     (b"abc", TypeError), ((1, 2), TypeError), ([1], TypeError), (True, TypeError),
     (-1, ValueError)],
    ids=["nan", "1.5", "1.0", "str", "bytes", "tuple", "list", "True", "-1"],
)
def test_a_seed_that_is_not_an_int_or_none_is_refused_by_everything_that_takes_one(seed, error):
    from demos.datasets import make_moons
    from nn import train_test_split

    calls = {
        "MLP": lambda: MLP(2, [1], seed=seed),
        "Layer": lambda: Layer(2, 1, seed=seed),
        "Neuron": lambda: Neuron(2, seed=seed),
        "make_moons": lambda: make_moons(10, seed=seed),
        "train_test_split": lambda: train_test_split([1, 2], [0, 1], 0.5, seed=seed),
    }
    for who, call in calls.items():
        with pytest.raises(error) as info:
            call()
        assert str(info.value) == (f"{who}: seed must be an int >= 0 or None, "
                                   f"got {checks.describe(seed)}")
    # the microgpt demo's sampler takes a seed, never None (it adds to it)
    from demos.microgpt import generate_traced

    with pytest.raises(error) as info:
        generate_traced(None, None, seed, 1.0)  # type: ignore[arg-type]
    assert str(info.value) == f"generate_traced: seed must be an int >= 0, got " \
        f"{checks.describe(seed)}"


def test_a_seed_may_be_any_int_including_numpy_and_huge_ones():
    np = pytest.importorskip("numpy")
    assert MLP(2, [1], seed=np.int64(7)).state_dict() == MLP(2, [1], seed=7).state_dict()
    assert MLP(2, [1], seed=10**40).state_dict() != MLP(2, [1], seed=0).state_dict()
    MLP(2, [1], seed=None)  # unseeded: one draw from the global random


def test_bad_construction_arguments():
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; expected one of \['elu'"):
        Neuron(3, "swish")
    with pytest.raises(ValueError, match="MLP: unknown activation 'softmax'"):
        MLP(3, [2], output_activation="softmax")
    with pytest.raises(ValueError, match="nonlin=False means activation 'linear'"):
        Neuron(3, "relu", nonlin=False)
    # autograd.checks.integer's words; a wrong type is a TypeError, as everywhere
    with pytest.raises(ValueError, match=r"^Layer: nin must be an int >= 1, got 0 \(int\)$"):
        Layer(0, 3)
    with pytest.raises(TypeError,
                       match=r"^MLP: nouts\[1\] must be an int >= 1, got 2\.5 \(float\)$"):
        MLP(3, [2, 2.5])
    with pytest.raises(TypeError,
                       match=r"^MLP: nouts must be an iterable of layer sizes, got 3 \(int\)$"):
        MLP(3, 3)
    with pytest.raises(ValueError, match="non-empty list"):
        MLP(3, [])
    with pytest.raises(ValueError, match="seed or rng, not both"):
        MLP(3, [2], seed=1, rng=random.Random(1))
    n = Neuron(2, seed=0)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        n.activation = "swish"
    assert n.activation == "relu"


def test_setting_a_layers_activation_sets_every_neurons():
    layer = Layer(3, 4, "relu", seed=0)
    layer.neurons[1].activation = "tanh"
    assert layer.activation == "mixed"
    layer.activation = "sigmoid"
    assert layer.activation == "sigmoid"
    assert [n.activation for n in layer.neurons] == ["sigmoid"] * 4
    with pytest.raises(ValueError, match=r"Layer.activation: unknown activation 'swish'"):
        layer.activation = "swish"
    assert layer.activation == "sigmoid"  # nothing changed by the refused name


# --- what predict, predict_class and predict_proba mean ----------------------------------------


def test_predict_is_the_raw_outputs_the_logits_of_a_classifier():
    model = MLP(3, [4, 3], seed=0)
    x = [0.5, -1.0, 2.0]
    assert model.predict(x) == [v.data for v in model(x)]  # unchanged: no softmax applied


def test_predict_proba_is_the_softmax_of_the_logits_and_predict_class_its_argmax():
    model = MLP(3, [4, 3], seed=0)
    for x in ([0.5, -1.0, 2.0], [0.0, 0.0, 0.0], [3.0, 1.0, -2.0]):
        p = model.predict_proba(x)
        assert p == pytest.approx([v.data for v in softmax(model(x))], rel=1e-15)
        assert math.fsum(p) == pytest.approx(1.0, rel=1e-15)
        logits = model.predict(x)
        assert model.predict_class(x) == logits.index(max(logits)) == p.index(max(p))
    # Logits of +-1000 (a saturated classifier): exact probabilities, no overflow.
    for p in model.parameters():
        p.data *= 400.0
    probs = model.predict_proba([1.0, 1.0, 1.0])
    assert all(math.isfinite(v) for v in probs) and max(probs) == 1.0


def test_one_output_is_a_binary_classifier():
    logit = MLP(2, [3, 1], seed=0)
    for x in ([0.5, -1.0], [-2.0, 3.0], [4.0, 4.0]):
        z = logit.predict(x)[0]
        p = 1.0 / (1.0 + math.exp(-z))
        assert logit.predict_proba(x) == pytest.approx([1.0 - p, p], rel=1e-15)
        assert logit.predict_class(x) == int(z > 0.0)
    prob = MLP(2, [3, 1], output_activation="sigmoid", seed=0)  # already a probability
    x = [0.5, -1.0]
    (p,) = prob.predict(x)
    assert prob.predict_proba(x) == [1.0 - p, p]
    assert prob.predict_class(x) == int(p > 0.5)


def test_predict_proba_refuses_outputs_that_are_not_logits():
    with pytest.raises(ValueError, match=r"^MLP\.predict_proba: probabilities need logits \(a "
                                         r"linear output layer\) or one sigmoid output, got "
                                         r"output activation 'tanh'$"):
        MLP(2, [3, 2], output_activation="tanh", seed=0).predict_proba([1.0, 2.0])
    with pytest.raises(ValueError, match=r"^MLP\.predict_class: expected 2 inputs, got 3$"):
        MLP(2, [3, 2], seed=0).predict_class([1.0, 2.0, 3.0])


NEW_ACTIVATIONS = ["leaky_relu", "elu", "gelu", "silu", "softplus"]  # issue 22


@pytest.mark.parametrize("act", NEW_ACTIVATIONS)
def test_the_new_activations_build_initialise_and_train(act: str) -> None:
    from nn import SGD, mse

    assert init_bound(act, 16, 4) == math.sqrt(6 / 16)  # He, as relu
    model = MLP(2, [8, 1], act, "linear", seed=1)
    assert [layer.activation for layer in model.layers] == [act, "linear"]
    assert model.layers[0](Value(0.5) for _ in range(2))[0].op.split("[")[0] == act
    xs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    ys = [0.0, 1.0, 1.0, 0.0]  # xor: no linear model fits it
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)

    def loss() -> Value:
        return mse([model(x) for x in xs], ys)

    first = loss().data
    for _ in range(150):
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert loss().data < 0.1 * first, (act, first, loss().data)


@pytest.mark.parametrize("act", NEW_ACTIVATIONS)
def test_the_new_activations_train_the_digits_network(act: str) -> None:
    # Issue 22's measure: each new activation learns the explainer's task, not only xor.
    import random

    from demos.datasets import load_digits
    from nn import SGD, accuracy, cross_entropy, minibatches, predict_classes, train_test_split

    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, 0.2, seed=0)
    X_train, y_train = X_train[:600], y_train[:600]
    model = MLP(64, [16, 10], act, "linear", seed=0)
    opt, rng = SGD(model.parameters(), lr=0.1, momentum=0.9), random.Random(0)
    for _ in range(3):
        for batch in minibatches(len(X_train), 20, rng):
            loss = vsum([cross_entropy(model(X_train[i]), y_train[i]) for i in batch])
            opt.zero_grad()
            (loss * (1.0 / len(batch))).backward()
            opt.step()
    assert accuracy(predict_classes(model, X_test), y_test) > 0.85, act
