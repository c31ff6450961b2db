"""Smoke tests for the demos (tiny settings, so they cannot rot) and their data helpers."""

from __future__ import annotations

import re
import sys
from collections import Counter

import pytest

from demos import backprop_three, digits, graph, moons, output
from demos.datasets import load_digits, make_moons
from demos.training import confusion_matrix, format_confusion
from nn import MLP

# --- data ---------------------------------------------------------------------------------


def test_shipped_digits_load():
    X, y = load_digits()
    assert len(X) == len(y) == 1797
    assert all(len(row) == 64 for row in X)
    assert all(0.0 <= v <= 1.0 for row in X for v in row)
    assert max(v for row in X for v in row) == 1.0  # gray level 16 scales to exactly 1
    counts = Counter(y)
    assert sorted(counts) == list(range(10))
    # The class sizes of the UCI test set, as scikit-learn documents them.
    assert [counts[d] for d in range(10)] == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_make_moons_recipe():
    X, y = make_moons(50, noise=0.0, seed=3)
    assert len(X) == 50 and sorted(Counter(y).values()) == [25, 25]
    for (a, b), label in zip(X, y):
        # noiseless points lie on the unit circle (upper moon) or its shifted mirror
        cx, cy = (0.0, 0.0) if label == 0 else (1.0, 0.5)
        assert abs((a - cx) ** 2 + (b - cy) ** 2 - 1.0) < 1e-12
    assert make_moons(30, 0.1, seed=7) == make_moons(30, 0.1, seed=7)
    assert make_moons(30, 0.1, seed=7) != make_moons(30, 0.1, seed=8)
    wrong_noise = r"^make_moons: noise must be a finite number >= 0, got "
    with pytest.raises(ValueError, match=wrong_noise + "-1"):
        make_moons(10, noise=-1.0)
    with pytest.raises(TypeError, match=wrong_noise + "'a'"):
        make_moons(10, noise="a")  # was: '>=' not supported between 'str' and 'float'
    with pytest.raises(ValueError, match=r"^make_moons: n must be an int >= 2, got 1 \(int\)$"):
        make_moons(1)


def test_training_helpers():
    assert confusion_matrix([0, 1, 1], [0, 0, 1], 2) == [[1, 0], [1, 1]]


# --- command lines ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        # autograd.checks' words (demos.cli.checked), after argparse's "argument --flag: "
        (["--epochs", "0"], "argument --epochs: must be an int in [1, 500], got 0 (int)"),
        (["--hidden", "32,x"],
         "argument --hidden: layer 2's width must be an int in [1, 1,024], got 'x' (str)"),
        (["--hidden", "32"],
         "argument --hidden: the network has two hidden layers, got 1 width: '32'"),
        (["--lr", "-0.1"],
         "argument --lr: must be a finite number in (0, 10], got -0.1 (float)"),
        (["--lr", "nan"], "argument --lr: must be a finite number in (0, 10], got nan (float)"),
        (["--batch-size", "two"],
         "argument --batch-size: must be an int in [1, 1,797], got 'two' (str)"),
    ],
)
def test_digits_rejects_bad_flags(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        digits.main(argv)
    assert e.value.code == 2
    assert capsys.readouterr().err.endswith(f"error: {message}\n")


TINY = {
    digits: ["--epochs", "1", "--hidden", "4,4", "--limit", "40"],
    moons: ["--steps", "1", "--points", "4"],
    graph: [],
    backprop_three: ["--hidden", "4,4"],
}


@pytest.mark.parametrize("demo", list(TINY), ids=lambda d: d.__name__)
@pytest.mark.parametrize(
    "bad, message",
    [
        ("a_file", "argument --out: '{out}' exists and is not a folder"),
        ("a_file/sub", "argument --out: cannot create folder '{out}': Not a directory"),
        pytest.param("/proc/valuegrad-out",
                     "argument --out: cannot create folder '{out}': No such file or directory",
                     marks=pytest.mark.skipif(not sys.platform.startswith("linux"),
                                              reason="needs /proc")),
    ],
)
def test_bad_out_folder_stops_before_any_work(demo, bad, message, tmp_path, capsys):
    (tmp_path / "a_file").write_text("not a folder")
    out = tmp_path / bad
    with pytest.raises(SystemExit) as e:
        demo.main([*TINY[demo], "--out", str(out)])
    assert e.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing trained or computed first
    assert captured.err.endswith(f"error: {message.format(out=out)}\n")


def test_write_error_after_the_work_is_one_line(tmp_path, monkeypatch):
    import os

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(SystemExit) as e:
        graph.main(["--out", str(tmp_path)])
    svg = tmp_path / "neuron.svg"
    assert e.value.code == f"error: cannot write '{svg}': No space left on device"
    assert list(tmp_path.iterdir()) == []


# --- the demos, with tiny settings ---------------------------------------------------------


def test_digits_smoke(tmp_path, capsys):
    out = tmp_path / "digits"
    argv = ["--epochs", "1", "--hidden", "8,8", "--limit", "200", "--out", str(out)]
    assert digits.main(argv) == 0
    text = capsys.readouterr().out
    for name in ("model.json", "training.png", "mistakes.png", "network_3.svg"):
        assert (out / name).stat().st_size > 0, name
        assert str(out / name) in text  # every file written is reported
    assert "epoch 1/1: loss" in text  # not a terminal: one line per epoch instead of a bar
    assert "confusion matrix" in text
    assert re.search(r"test accuracy: \d+\.\d%", text.strip().splitlines()[-1])
    model = MLP.from_file(out / "model.json")
    assert model.nouts == [8, 8, 10]
    # The network view's gradients come from the loss the demo trains with.
    assert "gradients of cross_entropy(outputs, 3)" in (out / "network_3.svg").read_text()
    # What each neuron looks for, and why the most confused test digit is misread.
    for name in ("weights_layer0.svg", "top_digits_layer1.svg"):
        assert (out / name).read_text().startswith("<svg "), name
        assert str(out / name) in text
    why = re.search(r"wrote why test digit (\d+) \(a (\d)\) reads as a (\d): (\S+)", text)
    assert why is not None and why[4].endswith(f"why_{why[3]}_not_{why[2]}.svg")
    assert f"Test digit {why[1]}, a {why[2]} read as a {why[3]}" in open(why[4]).read()


def test_most_confused_is_the_largest_off_diagonal_count():
    assert digits.most_confused([1, 1, 7, 7, 7, 4], [1, 7, 1, 1, 7, 9]) == (7, 1)
    assert digits.most_confused([3, 5, 5], [5, 3, 5]) == (3, 5)  # a tie: the smaller pair
    assert digits.most_confused([2, 2], [2, 2]) is None


def test_digits_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes ``import matplotlib`` fail
    out = tmp_path / "digits"
    digits.main(["--epochs", "1", "--hidden", "4,4", "--limit", "100", "--out", str(out)])
    assert "matplotlib is not installed" in capsys.readouterr().out
    assert (out / "model.json").exists() and not (out / "training.png").exists()


def test_digits_diagnose_before_and_after(tmp_path, capsys):
    argv = ["--epochs", "1", "--hidden", "8,8", "--limit", "100", "--no-plots", "--diagnose",
            "--out", str(tmp_path)]
    assert digits.main(argv) == 0
    text = capsys.readouterr().out
    before = text.index("network health before training (nn.diagnose on the first 80 training")
    epoch = text.index("epoch 1/1: loss")
    after = text.index("network health after training")
    assert before < epoch < after < text.index("confusion matrix")
    assert text.count("layers.2  linear     10") == 2  # one table each time
    assert "lr·‖∇W‖/‖W‖ (lr = 0.01)" in text and "lr·‖∇W‖/‖W‖ (lr = 0.001)" in text


def _checked_differences(text: str) -> list[float]:
    """The relative discrepancy printed under each of the demo's ``check:`` lines."""
    return [float(m) for m in re.findall(r"relative to the largest \|gradient\| (\S+)", text)]


@pytest.mark.parametrize(
    "argv, loss_line, step1_check, picture_note",
    [
        ([], "loss = softmax cross-entropy", "activation - desired, for all 10 outputs",
         "gradients of cross_entropy(outputs, 3) = softmax"),
        (["--loss", "mse"], "loss = mean over the 10 outputs of (activation - desired)^2",
         "(2/10) p_k (e_k - sum_j p_j e_j)", "gradients of mse(softmax(outputs), one&#45;hot(3))"),
    ],
)
def test_backprop_three_untrained(tmp_path, capsys, argv, loss_line, step1_check, picture_note):
    out = tmp_path / "b3"
    assert backprop_three.main(["--hidden", "6,5", "--top", "3", "--out", str(out), *argv]) == 0
    text = capsys.readouterr().out
    assert 'labelled "3"' in text
    assert loss_line in text
    assert f"check: gradient at output k = {step1_check}\n" in text
    for step in (1, 2, 3, 4):
        assert f"Step {step}." in text
        svg = (out / f"step{step}.svg").read_text()
        assert svg.lstrip().startswith(("<?xml", "<svg"))
        assert picture_note in svg  # the pictures use the tables' loss
    diffs = _checked_differences(text)
    assert len(diffs) == text.count("check: ") == 5
    assert max(diffs) < 1e-12
    assert "more positive" in text


def test_backprop_three_loads_a_saved_model(tmp_path, capsys):
    path = tmp_path / "model.json"
    MLP(64, [5, 4, 10], seed=3).save(path)
    assert backprop_three.main(
        ["--model", str(path), "--index", "0", "--no-svg", "--out", str(tmp_path)]
    ) == 0
    text = capsys.readouterr().out
    assert f"trained model from {path}" in text and "MLP(64, [5, 4, 10])" in text
    with pytest.raises(SystemExit):
        backprop_three.main(["--model", str(tmp_path / "missing.json")])
    MLP(64, [10], seed=0).save(path)
    with pytest.raises(SystemExit, match="two hidden layers and 10 outputs"):
        backprop_three.main(["--model", str(path), "--no-svg"])


def test_moons_smoke(tmp_path, capsys):
    out = tmp_path / "moons"
    assert moons.main(["--steps", "3", "--points", "20", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "step   0: loss" in text and "step   2: loss" in text
    assert re.search(r"training accuracy: \d+\.\d%", text.strip().splitlines()[-1])
    assert (out / "decision_boundary.png").stat().st_size > 0


def test_graph_smoke(tmp_path, capsys):
    out = tmp_path / "graph"
    assert graph.main(["--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "d o / d w1 =  1.0000" in text  # tanh'(0.8814) = 0.5, times x1 = 2
    assert (out / "neuron.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    frames = sorted((out / "backward").glob("step_*.svg"))
    assert len(frames) == 6  # the seed, then one frame per op


# --- the demos learn ------------------------------------------------------------------------


def test_digits_learns(tmp_path, capsys):
    argv = ["--epochs", "3", "--limit", "600", "--hidden", "16,16", "--no-plots", "--out",
            str(tmp_path)]
    digits.main(argv)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert float(re.search(r"test accuracy: (\d+\.\d)%", last).group(1)) >= 60.0  # chance: 10%


def test_moons_defaults_reach_full_training_accuracy(tmp_path, capsys):
    moons.main(["--no-plots", "--out", str(tmp_path)])
    assert capsys.readouterr().out.strip().splitlines()[-1] == "training accuracy: 100.0%"



def test_strip_svg_comments_drops_each_comment_and_the_line_it_stood_on():
    svg = ('<svg width="8pt">\n<!-- x0 -->\n<g id="node1"><title>x0</title></g>\n'
           "<!-- a\nmultiline -->\n<text>a &lt;!-- b</text>\n</svg>\n")
    assert output.strip_svg_comments(svg) == (
        '<svg width="8pt">\n<g id="node1"><title>x0</title></g>\n<text>a &lt;!-- b</text>\n'
        "</svg>\n")


def test_the_explorer_and_the_notebook_strip_comments_with_the_one_function():
    from demos import make_notebook
    from demos.explorer import engine

    assert engine.strip_svg_comments is output.strip_svg_comments
    assert make_notebook.strip_svg_comments is output.strip_svg_comments
    for module in (engine, make_notebook):
        assert "<!--" not in "".join(map(str, vars(module).values()))  # no pattern of their own


def test_format_confusion_is_a_square_grid_from_the_one_table_formatter():
    assert format_confusion([[1234, 0, 7], [5, 6, 0], [0, 0, 12]]) == (
        "true\\pred    0    1    2\n"
        "        0 1234    0    7\n"
        "        1    5    6    0\n"
        "        2    0    0   12")
    assert format_confusion([[1, 0], [0, 1]]).splitlines()[1] == "        0   1   0"  # width >= 3


@pytest.mark.parametrize("demo", ["digits", "mnist"])
def test_digits_and_mnist_say_which_engine_ran(demo, tmp_path, capsys):
    """As demos.microgpt does; on the pure engine with the one command that compiles it."""
    import autograd
    from demos import mnist

    module = {"digits": digits, "mnist": mnist}[demo]
    module.main(["--epochs", "1", "--hidden", "4,4", "--limit", "30", "--no-plots", "--quiet",
                 "--out", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    engine = [s for s in lines if s.startswith("engine: ")]
    if autograd.COMPILED:
        assert engine == ["engine: compiled"]
    else:
        assert engine == [
            f"engine: pure Python (python -m autograd._build compiles it: "
            f"{module.__dict__[demo.upper()].speedup} faster)"
        ]
