"""nn.diagnose: each classic failure built on purpose is found and named; a healthy net is clean."""

from __future__ import annotations

import math
import random

import pytest

from autograd import Value, no_grad, vsum
from demos.datasets import load_digits
from nn import MLP, Adam, DiagnosisReport, Layer, cross_entropy, diagnose, mse, train_test_split
from nn.diagnose import (
    DEAD_UNITS,
    EXPLODING,
    SATURATED_UNITS,
    SIGMOID_BOUND,
    TANH_BOUND,
    TOO_HIGH_UPDATE_RATIO,
    VANISHING,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return train_test_split(X, y, 0.2, seed=0)  # X_train, X_test, y_train, y_test


@pytest.fixture(scope="module")
def batch(digits):
    _, X_test, _, y_test = digits
    return X_test[:150], y_test[:150]


def kinds(report: DiagnosisReport) -> list[tuple[str, str]]:
    return [(p.layer, p.kind) for p in report.problems]


def scale(layer: Layer, factor: float) -> None:
    for n in layer.neurons:
        for w in n.w:
            w.data *= factor


# --- each failure, built on purpose in a fresh model -----------------------------------------


def test_biases_at_minus_50_are_dead(batch):
    X, y = batch
    model = MLP(64, [16, 16, 10], seed=0)
    assert diagnose(model, X, y).problems == []
    for n in model.layers[1].neurons:
        n.b.data = -50.0
    report = diagnose(model, X, y)
    # Only the cause: layers.0's gradient is zero too, but because layers.1 is dead.
    assert kinds(report) == [("layers.1", "dead")]
    problem = report.problems[0]
    assert problem.value == 1.0 and report["layers.1"].dead == 1.0
    assert problem.message.startswith("layers.1: 100% of its ReLUs never fire on this batch")
    assert "learning rate" in problem.message and "\n" not in problem.message
    assert report["layers.0"].backprop == 0.0  # nothing gets through a dead layer


def test_dead_first_layer_kills_the_next_one_too(batch):
    X, y = batch
    model = MLP(64, [16, 16, 10], seed=0)
    for n in model.layers[0].neurons:
        n.b.data = -50.0
    # layers.1 reads only zeros, so its ReLUs (bias 0) never fire either.
    assert kinds(diagnose(model, X, y)) == [("layers.0", "dead"), ("layers.1", "dead")]


def test_dead_threshold(batch):
    X, y = batch
    model = MLP(64, [8, 10], seed=0)
    neurons = model.layers[0].neurons
    alive = diagnose(model, X, y)["layers.0"].dead
    assert alive < DEAD_UNITS
    killed = 0
    for n in neurons:
        n.b.data = -50.0
        killed += 1
        report = diagnose(model, X, y)
        dead = report["layers.0"].dead
        assert dead >= killed / 8
        assert (("layers.0", "dead") in kinds(report)) == (dead >= DEAD_UNITS)
        if dead >= DEAD_UNITS:
            break
    assert killed < 8  # the finding came before the whole layer was dead


def test_tanh_weights_times_30_saturate(batch):
    X, y = batch
    model = MLP(64, [16, 16, 10], activation="tanh", seed=0)
    assert diagnose(model, X, y).problems == []
    scale(model.layers[0], 30.0)
    report = diagnose(model, X, y)
    assert kinds(report) == [("layers.0", "saturated")]
    assert report["layers.0"].saturated >= SATURATED_UNITS
    message = report.problems[0].message
    assert message.startswith("layers.0: ") and "tanh units" in message and "saturated" in message


def test_sigmoid_weights_times_30_saturate(batch):
    X, y = batch
    model = MLP(64, [16, 16, 10], activation="sigmoid", seed=0)
    assert diagnose(model, X, y).problems == []
    scale(model.layers[0], 30.0)
    report = diagnose(model, X, y)
    assert ("layers.0", "saturated") in kinds(report)
    assert {k for _, k in kinds(report)} == {"saturated"}


def test_saturation_bounds_match_between_tanh_and_sigmoid():
    # sigmoid(z) = (1 + tanh(z / 2)) / 2: the same point of the same curve.
    z = 2 * math.atanh(TANH_BOUND)
    assert 1.0 / (1.0 + math.exp(z)) == pytest.approx(SIGMOID_BOUND)
    assert 1.0 - TANH_BOUND**2 < 0.06  # tanh' at the bound, of 1 at its peak
    assert 4 * SIGMOID_BOUND * (1 - SIGMOID_BOUND) < 0.06  # sigmoid', of 1/4 at its peak


def test_deep_narrow_tanh_with_small_weights_vanishes(batch):
    X, y = batch
    model = MLP(64, [8] * 8 + [10], activation="tanh", seed=0)
    for p in model.parameters():
        p.data *= 0.3
    report = diagnose(model, X, y)
    found = kinds(report)
    assert ("layers.0", "vanishing") in found
    assert {k for _, k in found} == {"vanishing"}
    assert report["layers.0"].backprop_gain < VANISHING
    # The signal shrinks layer after layer on its way back.
    gains = [s.backprop_gain for s in report.layers]
    assert gains == sorted(gains)
    factor = f"{1 / report['layers.0'].backprop_gain:,.0f}"
    assert report.problems[0].message.startswith(
        f"layers.0: the gradient reaching its neurons is {factor} times smaller than at the "
        "output (vanishing"
    )
    # Weight gradients alone would not show it: they are alike in every layer.
    norms = [s.grad_norm for s in report.layers]
    assert max(norms) / min(norms) < 10


def test_large_weights_through_many_layers_explode(batch):
    X, y = batch
    model = MLP(64, [16] * 8 + [10], seed=0)
    for p in model.parameters():
        p.data *= 3.0
    report = diagnose(model, X, y)
    found = kinds(report)
    assert found[0] == ("layers.0", "exploding")
    assert {k for _, k in found} == {"exploding"}
    assert report["layers.0"].backprop_gain > EXPLODING
    factor = f"{report['layers.0'].backprop_gain:,.0f}"
    assert report.problems[0].message.startswith(
        f"layers.0: the gradient reaching its neurons is {factor} times larger than at the "
        "output (exploding"
    )


# --- a healthy net raises nothing --------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_healthy_trained_net_has_no_finding(digits, activation):
    X_train, X_test, y_train, y_test = digits
    model = MLP(64, [16, 16, 10], activation=activation, seed=0)
    opt = Adam(model.parameters(), lr=0.01)
    rng = random.Random(0)
    n = len(X_train)
    for _ in range(2):  # two epochs over the 1,438 training digits
        order = rng.sample(range(n), n)
        for start in range(0, n, 32):
            batch = order[start : start + 32]
            loss = vsum([cross_entropy(model(X_train[i]), y_train[i]) for i in batch]) / len(batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with no_grad():
        correct = sum(
            max(range(10), key=model.predict(x).__getitem__) == t
            for x, t in zip(X_test[:200], y_test[:200])
        )
    assert correct / 200 >= 0.9  # it did learn
    report = diagnose(model, X_test[:200], y_test[:200], lr=0.01)
    assert report.problems == [], str(report)
    assert report.healthy
    assert "no problems found" in str(report)


# --- what it measures ------------------------------------------------------------------------


def test_statistics_match_a_plain_forward_and_backward(batch):
    X, y = batch
    X, y = X[:20], y[:20]
    model = MLP(64, [6, 5, 10], activation="tanh", seed=3)
    report = diagnose(model, X, y, lr=0.1)

    loss = vsum([cross_entropy(model(x), t) for x, t in zip(X, y)]) / len(X)
    model.zero_grad()
    loss.backward()
    assert report.loss == loss.data
    assert report.samples == 20 and report.loss_name == "cross_entropy"
    for li, s in enumerate(report.layers):
        layer = model.layers[li]
        ws = [w for n in layer.neurons for w in n.w]
        gnorm = math.sqrt(sum(w.grad**2 for w in ws))
        wnorm = math.sqrt(sum(w.data**2 for w in ws))
        assert s.name == f"layers.{li}" and s.units == layer.nout
        assert s.activation == layer.activation
        assert s.grad_norm == pytest.approx(gnorm, rel=1e-12)
        assert s.weight_norm == pytest.approx(wnorm, rel=1e-12)
        assert s.update_ratio == pytest.approx(0.1 * gnorm / wnorm, rel=1e-12)
        assert s.weight_grads == [w.grad for w in ws]
        assert len(s.activations) == 20 * layer.nout == len(s.backprop_grads)
    with no_grad():
        h = [model.layers[0](x) for x in X]
    acts = [v.data for row in h for v in row]
    mean = sum(acts) / len(acts)
    assert report.layers[0].mean == pytest.approx(mean, rel=1e-12)
    assert report.layers[0].std == pytest.approx(
        math.sqrt(sum((a - mean) ** 2 for a in acts) / len(acts)), rel=1e-12
    )
    # d loss / d logits of cross-entropy is (softmax - one_hot) / batch
    out = report.layers[-1]
    with no_grad():
        expected = []
        for x, t in zip(X, y):
            logits = model.predict(x)
            m = max(logits)
            e = [math.exp(v - m) for v in logits]
            expected += [(ei / sum(e) - (k == t)) / len(X) for k, ei in enumerate(e)]
    assert out.backprop_grads == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert out.backprop_gain == 1.0 and out.grad_ratio is None
    first, second = report.layers[0], report.layers[1]
    assert first.grad_ratio == pytest.approx(first.grad_norm / second.grad_norm)
    assert first.backprop_gain == pytest.approx(first.backprop / out.backprop)


def test_grads_are_left_exactly_as_they_were(batch):
    X, y = batch
    model = MLP(64, [8, 8, 10], seed=1)
    rng = random.Random(5)
    for p in model.parameters():
        p.grad = rng.uniform(-1, 1)
    before = [p.grad for p in model.parameters()]
    x0 = [Value(v) for v in X[0]]  # Value inputs keep their gradients too
    for v in x0:
        v.grad = 7.0
    report = diagnose(model, [x0, *X[1:30]], y[:30])
    assert [p.grad for p in model.parameters()] == before
    assert all(v.grad == 7.0 for v in x0)
    assert report.layers[0].grad_norm > 0.0  # it did see this pass's gradients
    # ... and they were this pass's alone, not added to the stale ones.
    fresh = diagnose(MLP(64, [8, 8, 10], seed=1), X[:30], y[:30])
    assert report.layers[0].grad_norm == pytest.approx(fresh.layers[0].grad_norm)


def test_grads_restored_when_the_loss_fails(batch):
    X, _ = batch
    model = MLP(64, [4, 10], seed=0)
    for p in model.parameters():
        p.grad = 0.5
    with pytest.raises(ValueError, match=r"diagnose: loss 'cross_entropy' failed on sample 1"):
        diagnose(model, X[:3], [1, 12, 3])
    assert all(p.grad == 0.5 for p in model.parameters())


def test_works_inside_no_grad(batch):
    X, y = batch
    model = MLP(64, [8, 10], seed=0)
    with no_grad():
        report = diagnose(model, X[:20], y[:20])
    assert report.layers[0].grad_norm > 0.0


@pytest.mark.parametrize(
    "loss, targets, nout",
    [
        ("mse", "one_hot", 10),
        ("hinge_loss", "sign", 1),
        ("binary_cross_entropy_with_logits", "bit", 1),
        (mse, "one_hot", 10),
    ],
)
def test_every_loss(batch, loss, targets, nout):
    X, y = batch
    X, y = X[:20], y[:20]
    ts = {
        "one_hot": [[float(k == t) for k in range(10)] for t in y],
        "sign": [1 if t == 3 else -1 for t in y],
        "bit": [float(t == 3) for t in y],
    }[targets]
    model = MLP(64, [8, nout], seed=0)
    report = diagnose(model, X, ts, loss=loss)
    fn = loss if callable(loss) else getattr(__import__("nn"), loss)
    outs = [model(x) for x in X]
    assert report.loss == pytest.approx(sum(fn(o, t).data for o, t in zip(outs, ts)) / len(X))
    assert report.loss_name == (loss if isinstance(loss, str) else "mse")


def test_a_callable_loss_that_leaves_outputs_out(batch):
    X, y = batch
    model = MLP(64, [8, 3], seed=0)
    for p in model.parameters():
        p.grad = 2.0
    report = diagnose(model, X[:10], y[:10], loss=lambda out, t: out[0] * out[0])
    assert all(p.grad == 2.0 for p in model.parameters())
    # outputs 1 and 2 take no part: their weights get no gradient (not the stale 2.0)
    unused = [w.grad for n in model.layers[1].neurons[1:] for w in n.w]
    assert report.layers[1].grad_norm == pytest.approx(
        math.sqrt(sum(g * g for g in report.layers[1].weight_grads))
    )
    assert all(g == 2.0 for g in unused)
    assert report.layers[1].weight_grads[8:] == [0.0] * 16


# --- showing it --------------------------------------------------------------------------------


def test_table_prints(batch, capsys):
    X, y = batch
    model = MLP(64, [16, 16, 10], seed=0)
    for n in model.layers[0].neurons:
        n.b.data = -50.0
    report = diagnose(model, X[:40], y[:40], lr=0.01)
    print(report)
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0] == f"Diagnosis of 40 samples: cross_entropy loss {report.loss:.3g}"
    assert lines[1].split() == ["layer", "act", "units", "mean", "std", "dead", "saturated",
                                "‖∇W‖", "÷", "next", "∇z", "rms", "÷", "output",
                                "lr·‖∇W‖/‖W‖"]
    assert lines[3].split()[:6] == ["layers.0", "relu", "16", "0", "0", "100%"]
    assert lines[5].split()[:3] == ["layers.2", "linear", "10"]
    assert "2 problems:" in text
    assert "  layers.0: 100% of its ReLUs never fire" in text
    assert repr(report) == "<DiagnosisReport: 3 layers, 40 samples, 2 problems>"


def test_html_for_jupyter(batch):
    X, y = batch
    model = MLP(64, [16, 10], activation="tanh", seed=0)
    scale(model.layers[0], 30.0)
    page = diagnose(model, X[:40], y[:40])._repr_html_()
    assert page.count("<tr") == 3 and "<table>" in page
    assert "<b>saturated</b>: layers.0: " in page
    assert 'style="background:#fde2e2"' in page  # the flagged layer stands out
    assert "‖∇W‖" in page


def test_plot_writes_a_png(batch, tmp_path):
    X, y = batch
    model = MLP(64, [8] * 4 + [10], activation="tanh", seed=0)
    for p in model.parameters():
        p.data *= 0.3
    report = diagnose(model, X[:60], y[:60])
    path = report.plot(tmp_path / "diagnosis.png")
    assert path == tmp_path / "diagnosis.png"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert list(tmp_path.iterdir()) == [path]  # atomically: no temp file left


def test_diagnose_does_not_import_matplotlib():
    import subprocess
    import sys

    code = (
        "import sys; from nn import MLP, diagnose; "
        "diagnose(MLP(2, [3, 2], seed=0), [[0.5, -1.0]], [1]); "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(model=Layer(64, 10, seed=0)), TypeError,
         "diagnose: model must be an nn.MLP, got Layer"),
        (dict(inputs="abc"), TypeError,
         r"^diagnose: inputs must be an iterable of samples, got 'abc' \(str\)$"),
        (dict(targets=None), TypeError,
         r"^diagnose: targets must be an iterable of samples' targets, got None \(NoneType\)$"),
        (dict(inputs=[]), ValueError, "diagnose: inputs is empty"),
        (dict(targets=[1, 2]), ValueError, "diagnose: inputs has 3 samples but targets has 2"),
        (dict(inputs=[[0.0] * 64, [0.0] * 63, [0.0] * 64]), ValueError,
         r"diagnose: inputs\[1\]: expected 64 inputs, got 63"),
        (dict(loss="crossentropy"), ValueError, "diagnose: loss must be one of 'cross_entropy'"),
        (dict(loss=3), TypeError, "diagnose: loss must be a loss name or a callable, got 3"),
        (dict(loss=lambda o, t: 1.0), TypeError, "diagnose: loss '<lambda>' must return a Value"),
        # autograd.checks.number's words, as every setting's
        (dict(lr=0), ValueError, r"^diagnose: lr must be a finite number > 0, got 0 \(int\)$"),
        (dict(lr=float("nan")), ValueError,
         r"^diagnose: lr must be a finite number > 0, got nan \(float\)$"),
        (dict(lr="0.1"), TypeError,
         r"^diagnose: lr must be a finite number > 0, got '0.1' \(str\)$"),
        (dict(lr=10**400), ValueError,
         r"^diagnose: lr must be a finite number > 0, got an int of 401 digits$"),
        (dict(targets=[1, [0.0], 2]), TypeError,
         r"diagnose: loss 'cross_entropy' failed on sample 1 \(target \[0.0\]\)"),
    ],
)
def test_bad_input_is_named(kwargs, error, message):
    args = dict(model=MLP(64, [4, 10], seed=0), inputs=[[0.0] * 64] * 3, targets=[1, 2, 3])
    args.update(kwargs)
    with pytest.raises(error, match=message):
        diagnose(args.pop("model"), args.pop("inputs"), args.pop("targets"), **args)


def test_a_model_with_its_own_forward_is_refused():
    class Scaled(MLP):
        def __call__(self, x):
            return [2 * v for v in super().__call__(x)]

    with pytest.raises(TypeError, match="overrides the forward pass"):
        diagnose(Scaled(2, [3, 2], seed=0), [[1.0, 2.0]], [0])


def test_a_gradient_of_exactly_zero_is_vanishing_unless_a_dead_layer_explains_it():
    from nn.health import LayerStats, findings

    def layer(name, gain, dead=None):
        return LayerStats(name, "relu", 4, 0.0, 1.0, dead, None, 1.0, None, 1.0, 0.0, gain, None)

    (p,) = findings([layer("layers.0", 0.0, dead=0.0), layer("layers.1", 1.0)])
    assert (p.layer, p.kind) == ("layers.0", "vanishing")
    assert "gradient reaching its neurons is zero, unlike at the output" in p.message
    found = findings([layer("layers.0", 0.0), layer("layers.1", 0.0, dead=1.0),
                       layer("layers.2", 1.0)])
    assert [(p.layer, p.kind) for p in found] == [("layers.1", "dead")]


def test_plot_shows_the_top_decades_of_gradients_that_underflow(batch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nn.diagnose import LOG_DECADES, _figure

    X, y = batch
    model = MLP(64, [16] * 6 + [10], seed=0)
    for p in model.parameters():
        p.data *= 3.0  # logits in the thousands: softmax tails underflow to 1e-300
    report = diagnose(model, X[:60], y[:60])
    tiny = min(abs(g) for s in report.layers for g in s.backprop_grads if g)
    assert tiny < 1e-100
    fig = _figure(plt, report)
    try:
        lo, hi = fig.axes[1].get_xlim()
        assert hi - lo < LOG_DECADES + 3
        assert "piled at the left edge" in " ".join(t.get_text() for t in fig.axes[1].texts)
    finally:
        plt.close(fig)


def test_a_loss_error_with_its_own_arguments_still_names_the_sample():
    import json

    def picky(output, target):
        raise json.JSONDecodeError("no", "doc", 0)  # a ValueError that needs 3 arguments

    with pytest.raises(ValueError, match=r"diagnose: loss 'picky' failed on sample 0 \(target 1\)"):
        diagnose(MLP(2, [3, 2], seed=0), [[0.5, 1.0]], [1], loss=picky)


# --- an exploding network is reported, never an exception ------------------------------------


def test_first_layer_weights_of_1e160_are_reported_as_exploding_not_an_overflow(batch, tmp_path):
    X, y = batch
    model = MLP(64, [16, 16, 10], seed=0)
    for n in model.layers[0].neurons:
        for w in n.w:
            w.data = 1e160  # forward and backward succeed; the squares of the outputs overflow
    report = diagnose(model, X[:40], y[:40], lr=0.01)
    first = report["layers.0"]
    assert ("layers.0", "exploding") in kinds(report)
    assert first.forward_gain > EXPLODING
    assert "exploding" in str(report) and "exploding" in report._repr_html_()
    for s in report.layers:  # every statistic is a number, finite where the values are
        for v in (s.mean, s.std, s.grad_norm, s.weight_norm, s.backprop, s.update_ratio):
            assert math.isfinite(v)
    assert first.std > 1e159  # measured, not clipped
    assert report.plot(tmp_path / "exploding.png").stat().st_size > 0


def test_statistics_are_exact_at_ordinary_scales_and_finite_at_huge_ones():
    from nn.health import mean_std, norm, rms

    rng = random.Random(0)
    xs = [rng.uniform(-3, 3) for _ in range(1000)]
    mu = math.fsum(xs) / len(xs)
    assert mean_std(xs) == pytest.approx(
        (mu, math.sqrt(math.fsum((x - mu) ** 2 for x in xs) / len(xs))), rel=1e-14)
    assert norm(xs) == pytest.approx(math.sqrt(math.fsum(x * x for x in xs)), rel=1e-14)
    assert rms(xs) == pytest.approx(norm(xs) / math.sqrt(1000), rel=1e-15)
    huge = [x * 1e300 for x in xs]
    assert norm(huge) == pytest.approx(norm(xs) * 1e300, rel=1e-14)
    assert mean_std(huge)[1] == pytest.approx(mean_std(xs)[1] * 1e300, rel=1e-12)
    assert mean_std([-1e308, 1e308]) == (0.0, 1e308)  # (a - mean) would overflow
    assert norm([]) == rms([]) == 0.0 and mean_std([0.0, 0.0]) == (0.0, 0.0)


def test_a_layer_whose_outputs_dwarf_its_inputs_is_exploding_only_past_the_threshold(batch):
    X, y = batch
    model = MLP(64, [16, 10], seed=0)
    assert diagnose(model, X, y).problems == []
    gain = diagnose(model, X, y)["layers.0"].forward_gain
    scale(model.layers[0], 0.9 * EXPLODING / gain)  # relu layer: outputs scale with weights
    assert "exploding" not in {k for _, k in kinds(diagnose(model, X, y))}
    scale(model.layers[0], 1.2 / 0.9)
    report = diagnose(model, X, y)
    assert ("layers.0", "exploding") in kinds(report)
    assert report.problems[0].message.startswith(
        f"layers.0: its outputs are {report['layers.0'].forward_gain:,.0f} times larger than "
        "its inputs (RMS; exploding activations")


# --- a learning rate far above the rule of thumb ---------------------------------------------


def test_lr_half_on_an_untrained_digits_mlp_is_too_high(digits):
    X_train, _, y_train, _ = digits
    model = MLP(64, [32, 32, 10], seed=0)
    report = diagnose(model, X_train[:200], y_train[:200], lr=0.5)
    ratios = [s.update_ratio for s in report.layers]
    assert all(r > TOO_HIGH_UPDATE_RATIO for r in ratios)  # 0.032, 0.023, 0.043
    assert kinds(report) == [(f"layers.{i}", "learning rate too high") for i in range(3)]
    first = report.problems[0]
    assert first.value == ratios[0]
    assert first.message.startswith(
        f"layers.0: one step at this learning rate would move its weights by {ratios[0]:.1%} of "
        f"their size (lr·‖∇W‖/‖W‖ = {ratios[0]:.3g}, {ratios[0] / 1e-3:,.0f} times the healthy "
        "1e-3: learning rate too high")
    assert "no problems found" not in str(report)
    # The same model at a healthy rate, and without a rate: nothing to say.
    assert diagnose(model, X_train[:200], y_train[:200], lr=0.01).problems == []
    assert diagnose(model, X_train[:200], y_train[:200]).problems == []


def test_the_learning_rate_threshold_is_ten_times_the_rule():
    from nn.health import HEALTHY_UPDATE_RATIO, LayerStats, findings

    assert TOO_HIGH_UPDATE_RATIO == 10 * HEALTHY_UPDATE_RATIO == pytest.approx(1e-2)

    def layer(name, ratio):
        return LayerStats(name, "relu", 4, 0.0, 1.0, 0.0, None, 1.0, None, 1.0, 1.0, 1.0, ratio)

    below = findings([layer("layers.0", TOO_HIGH_UPDATE_RATIO), layer("layers.1", 0.0099)])
    assert below == []
    (p,) = findings([layer("layers.0", 0.0101), layer("layers.1", 1e-3)])
    assert (p.layer, p.kind, p.value) == ("layers.0", "learning rate too high", 0.0101)
    (p,) = findings([layer("layers.0", 1e158)])
    assert "1.0e+161 times the healthy" in p.message and "e+158 times their size" in p.message


def test_a_trained_net_given_too_high_a_rate_is_flagged_too(digits):
    X_train, _, y_train, _ = digits
    model = MLP(64, [16, 10], seed=0)
    opt = Adam(model.parameters(), lr=0.01)
    rng = random.Random(0)
    for _ in range(20):
        batch = rng.sample(range(len(X_train)), 32)
        opt.zero_grad()
        (vsum([cross_entropy(model(X_train[i]), y_train[i]) for i in batch]) / 32).backward()
        opt.step()
    healthy = diagnose(model, X_train[:200], y_train[:200], lr=0.01)
    assert "learning rate too high" not in {k for _, k in kinds(healthy)}
    ratio = max(s.update_ratio for s in healthy.layers)
    too_high = 0.01 * 2 * TOO_HIGH_UPDATE_RATIO / ratio  # twice past the threshold
    report = diagnose(model, X_train[:200], y_train[:200], lr=too_high)
    assert "learning rate too high" in {k for _, k in kinds(report)}
