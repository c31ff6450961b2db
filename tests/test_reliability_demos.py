"""What the demos promise under hostile flags, runaway numbers and Ctrl-C (issue 10: 3, 9, 16).

- Every flag that takes a number shows its range in ``--help`` and refuses a value
  outside it (both ends, NaN, infinity, 5,000 digits) at once: exit 2, naming the
  flag and the bound.
- Flags that are each in range cannot multiply into gigabytes or hours: the whole
  configuration has a budget (parameters, one step's graph, the run's work).
- Training that diverges anyway ends with one short line saying where and what to
  change; engine errors about many operands stay short.
- Ctrl-C ends any demo with ``interrupted`` and exit 130, no traceback, no files;
  a closed stdout (``| head``) ends it quietly.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograd import Value, checks, dot, vsum
from demos import backprop_three, cli, digits, graph, microgpt, mnist, moons
from demos.datasets import load_digits, load_mnist
from demos.explorer import app as explorer
from nn import MLP, train_test_split
from nn.layers import count_parameters

DEMOS = [digits, moons, backprop_three, graph, explorer, microgpt, mnist]
ROOT = Path(__file__).resolve().parent.parent


class _Parsed(Exception):
    pass


def parser_of(demo, monkeypatch) -> argparse.ArgumentParser:
    """The demo's own parser, caught as it starts parsing."""
    grabbed = {}

    def grab(self, *args, **kwargs):
        grabbed["parser"] = self
        raise _Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", grab)
    with pytest.raises(_Parsed):
        demo.parse_args([])
    monkeypatch.undo()
    return grabbed["parser"]


def numeric_flags(demo, monkeypatch) -> list[argparse.Action]:
    """Every option that takes a value other than a path or a choice."""
    return [a for a in parser_of(demo, monkeypatch)._actions
            if a.option_strings and a.type is not None and a.type is not Path and not a.choices]


RANGE = re.compile(r"\[(?:([\d,]+)\.\.([\d,]+)( each)?|(>=?) ([\d.e+-]+), <= ([\d.e+-]+))\]")


def _beyond(action: argparse.Action) -> list[tuple[str, str]]:
    """``(value, the bound the error must name)`` just outside the documented range."""
    m = RANGE.search(action.help or "")
    assert m, f"{action.option_strings[0]}: no [range] in its --help text {action.help!r}"
    if m.group(1):
        lo, hi = (int(g.replace(",", "")) for g in m.group(1, 2))
        ints = f"must be an int in [{lo:,}, {hi:,}], got "
        if m.group(3):  # per layer: --hidden
            return [(f"{hi + 1},4", f"layer 1's width {ints}{hi + 1} (int)"),
                    (f"0,{lo}", f"layer 1's width {ints}0 (int)"),
                    ("4,nan", f"layer 2's width {ints}nan (float)")]
        return [(str(hi + 1), f"{ints}{hi + 1} (int)"), (str(lo - 1), f"{ints}{lo - 1} (int)"),
                ("9" * 5000, f"{ints}an int of 5,000 digits"),
                ("-" + "9" * 5000, f"{ints}a negative int of 5,000 digits"),
                ("2.5", f"{ints}2.5 (float)"), ("nan", f"{ints}nan (float)")]
    op, lo, hi = m.group(4, 5, 6)
    reals = f"must be a finite number in {'(' if op == '>' else '['}{lo}, {hi}], got "
    bad = [(repr(float(hi) * 1.5), f"{reals}{float(hi) * 1.5!r} (float)"),
           ("nan", f"{reals}nan (float)"), ("inf", f"{reals}inf (float)"),
           ("-inf", f"{reals}-inf (float)"), ("1e308", f"{reals}1e+308 (float)"),
           ("1e999", f"{reals}inf (float)")]
    if op == ">":
        bad.append((lo, f"{reals}{lo} ({type(cli.spelled_number(lo)).__name__})"))
    bad.append((repr(float(lo) - 1.0), f"{reals}{float(lo) - 1.0!r} (float)"))
    return bad


def test_every_numeric_flag_documents_a_range_and_refuses_values_outside_it(
    monkeypatch, capsys, tmp_path
):
    checked = 0
    for demo in DEMOS:
        for action in numeric_flags(demo, monkeypatch):
            flag = action.option_strings[0]
            for value, bound in _beyond(action):
                start = time.perf_counter()
                with pytest.raises(SystemExit) as e:
                    demo.main([f"{flag}={value}", "--out", str(tmp_path)])
                err = capsys.readouterr().err
                assert e.value.code == 2, (demo.__name__, flag, value)
                last = err.strip().splitlines()[-1]
                # the whole line: the flag, then autograd.checks' words for the value
                assert last.endswith(f"error: argument {flag}: {bound}"), (flag, value, last)
                assert len(last) < 200  # 5,000 digits are not echoed back
                assert time.perf_counter() - start < 2.0
                checked += 1
    assert checked > 60  # digits, moons and backprop_three each have several


SIZED = [digits, mnist, moons, microgpt, backprop_three]  # the demos that run and end


def lowest_values(demo, monkeypatch) -> list[str]:
    """Every numeric flag of ``demo`` at the lowest value its ``--help`` documents, the
    hidden widths at 1 each; the real numbers (learning rates...) stay at their defaults."""
    argv = []
    for action in numeric_flags(demo, monkeypatch):
        m = RANGE.search(action.help)
        if m.group(1) is None:  # a real number's range: not a size
            continue
        low = m.group(1).replace(",", "")
        width = ",".join([low] * len(action.default.split(","))) if m.group(3) else low
        argv += [action.option_strings[0], width if m.group(3) else low]
    return argv


@pytest.mark.parametrize("demo", SIZED, ids=lambda d: d.__name__.split(".")[1])
def test_every_demo_runs_at_the_lowest_documented_value_of_every_size_flag(
    demo, monkeypatch, capsys, tmp_path
):
    argv = lowest_values(demo, monkeypatch)
    assert "--epochs" in argv or "--steps" in argv or "--top" in argv
    options = {o for a in parser_of(demo, monkeypatch)._actions for o in a.option_strings}
    argv += [o for o in ("--no-plots", "--no-svg", "--quiet") if o in options]
    assert demo.main([*argv, "--out", str(tmp_path)]) == 0, argv
    out = capsys.readouterr().out
    split = re.search(r"(\d+) train / (\d+) test", out)
    if demo in (digits, mnist):  # the smallest split still trains and tests on every class
        assert split and int(split.group(1)) >= 20 and int(split.group(2)) == 10, out
        assert re.search(r"test accuracy: [\d.]+% \(\d+ of 10 test digits\)", out), out


def test_the_lowest_limit_is_the_fewest_digits_the_split_gives_every_class_both_sides():
    from demos.datasets import balanced_subset, smallest_split

    assert smallest_split(10, 0.2) == 30 == digits.DIGITS.min_limit == mnist.MNIST.min_limit
    assert smallest_split(2, 0.5) == 4 and smallest_split(3, 0.1) == 3 * 6  # round(0.5) is 0
    X, y = load_digits()
    for n in (29, 30, 31, 45):
        X_n, y_n = balanced_subset(X, y, n)
        _, _, y_train, y_test = train_test_split(X_n, y_n, digits.TEST_FRACTION)
        every_class = set(y_train) == set(y_test) == set(range(10))
        assert every_class == (n >= 30), n


def test_training_on_an_empty_set_is_a_mistake_named_as_such_not_divergence():
    args = argparse.Namespace(epochs=1, lr=1e-2, batch_size=4, seed=0, quiet=True)
    X, y = load_digits()
    with pytest.raises(ValueError, match="train: needs examples to train on and to test on, "
                       "got 20 and 0"):
        digits.train(MLP(64, [4, 4, 10], seed=0), X[:20], y[:20], [], [], args)


@pytest.mark.parametrize(
    "parse, check, bounds, texts",
    [
        (cli.int_range(1, 500), checks.integer, dict(low=1, high=500),
         ["0", "501", "abc", "2.5", "nan", "1e3", "9" * 5000]),
        (cli.float_range(0.0, 10.0, lo_open=True), checks.number,
         dict(low=0.0, high=10.0, low_open=True), ["0", "10.5", "abc", "nan", "-inf", "9" * 5000]),
    ],
    ids=["int_range", "float_range"],
)
def test_a_flag_type_refuses_in_autograd_checks_own_words(parse, check, bounds, texts):
    """The flag types wrap the shared validators: the same decision, the same message."""
    for text in texts:
        with pytest.raises(argparse.ArgumentTypeError) as flag:
            parse(text)
        with pytest.raises((TypeError, ValueError)) as direct:
            check(cli.spelled_number(text), "op", "", **bounds)
        assert f"op:  {flag.value}" == str(direct.value)


@pytest.mark.parametrize(
    "text, number",
    [("12", 12), (" +7 ", 7), ("1_000", 1000), ("2.5", 2.5), ("1e3", 1000.0), ("abc", "abc"),
     ("1__0", "1__0"), ("9" * 5000, 10**4999), ("-" + "9" * 5000, -(10**4999))],
    ids=lambda v: v[:12] if isinstance(v, str) else type(v).__name__,
)
def test_spelled_number_reads_what_int_and_float_read(text, number):
    got = cli.spelled_number(text)
    assert got == number and type(got) is type(number)


@pytest.mark.parametrize("demo", [digits, moons, backprop_three], ids=lambda d: d.__name__)
def test_help_shows_every_range(demo, capsys):
    with pytest.raises(SystemExit) as e:
        demo.main(["--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for flag in {"digits": ["--epochs", "--hidden", "--lr", "--batch-size", "--seed", "--limit"],
                 "moons": ["--steps", "--points", "--noise", "--lr", "--seed"],
                 "backprop_three": ["--hidden", "--seed", "--index", "--top", "--lr"],
                 }[demo.__name__.split(".")[-1]]:
        assert re.search(re.escape(flag) + r" [A-Z_]+ [^[]*\[", text), flag


@pytest.mark.parametrize(
    "demo, argv, flags, limit",
    [
        (digits, ["--hidden", "1024,1024"], "argument --hidden", "500,000 parameters"),
        (digits, ["--hidden", "100000,100000"], "argument --hidden", "1,024"),
        (backprop_three, ["--hidden", "1000,600"], "argument --hidden", "500,000 parameters"),
        (digits, ["--hidden", "512,512", "--batch-size", "1000"], "--hidden and --batch-size",
         "1,000,000"),
        (digits, ["--hidden", "256,256", "--epochs", "500"], "--hidden, --limit and --epochs",
         "5,000,000,000"),
        (moons, ["--steps", "100000", "--points", "10000"], "--points and --steps",
         "5,000,000,000"),
    ],
)
def test_a_configuration_beyond_the_budget_stops_at_once(demo, argv, flags, limit, capsys):
    start = time.perf_counter()
    with pytest.raises(SystemExit) as e:
        demo.parse_args(argv)  # parsing alone: the old code went on to build and train
    assert e.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert flags in last and limit.replace(" parameters", "") in last
    assert time.perf_counter() - start < 1.0


def test_the_defaults_and_large_but_sane_runs_fit_the_budget(tmp_path):
    out = ["--out", str(tmp_path)]
    for argv in ([], ["--hidden", "512,512", "--batch-size", "900", "--epochs", "5"],
                 ["--epochs", "500"], ["--hidden", "1024,256", "--batch-size", "64"]):
        digits.parse_args([*argv, *out])
    for argv in ([], ["--steps", "10000", "--points", "1000"], ["--points", "10000"]):
        moons.parse_args([*argv, *out])
    backprop_three.parse_args(["--hidden", "600,600", *out])


def test_the_limits_match_the_data():
    X, y = load_digits()
    assert len(X) == digits.N_DIGITS
    assert len(load_mnist()[0]) == mnist.MNIST_DIGITS
    _, X_test, _, _ = train_test_split(X, y, digits.TEST_FRACTION, seed=digits.SPLIT_SEED)
    assert len(X_test) == backprop_three.N_TEST
    assert count_parameters([64, 32, 32, 10]) == MLP(64, [32, 32, 10]).num_parameters()
    assert moons.PARAMETERS == MLP(2, [16, 16, 1]).num_parameters()


# --- runaway numbers: one short line --------------------------------------------------------


def test_an_error_about_many_operands_names_the_largest_not_all():
    xs = [Value(1e306, label=f"x{i}") for i in range(1000)]
    with pytest.raises(OverflowError) as info:
        vsum(xs)
    msg = str(info.value)
    assert len(msg) < 300 and "1000 operands" in msg, msg
    with pytest.raises(OverflowError) as info:
        vsum([*xs[:10], Value(1.7e308, label="big")])
    msg = str(info.value)
    assert len(msg) < 300 and "11 operands" in msg and "'big'" in msg  # the culprit is shown
    ws = [Value(1e300, label=f"w{i}") for i in range(500)]
    with pytest.raises(OverflowError) as info:
        dot(ws, [Value(1e10)] * 500)  # a neuron's dot product over 500 inputs
    assert len(str(info.value)) < 300
    with pytest.raises(OverflowError, match=r"for Value\(data=1e\+308.*Value\(data=1e\+308, "
                                            r"grad=0.0, label='b'\), Value\(data=1.0"):
        vsum([Value(1e308), Value(1e308, label="b"), Value(1.0)])  # a few: all listed, as before


@pytest.mark.parametrize(
    "demo, argv, where, advice",
    [
        (moons, ["--lr", "1e308", "--steps", "5", "--points", "4", "--no-plots"],
         "training diverged at step 1", "--lr"),
        (moons, ["--noise", "1e308", "--steps", "5", "--points", "4", "--no-plots"],
         "training diverged at step 0", "--noise"),
        (digits, ["--lr", "1e308", "--limit", "40", "--hidden", "4,4", "--epochs", "2",
                  "--no-plots", "--quiet"], "training diverged at epoch 1", "--lr"),
    ],
)
def test_training_that_diverges_ends_with_one_short_line(
    demo, argv, where, advice, monkeypatch, capsys, tmp_path
):
    # Beyond the documented bounds, so the engine really overflows.
    monkeypatch.setattr(demo, "MAX_LR", 1e308, raising=False)
    monkeypatch.setattr(cli, "MAX_LR", 1e308)  # the MLP-training demos' flags live there
    monkeypatch.setattr(demo, "MAX_NOISE", 1e308, raising=False)
    with pytest.raises(SystemExit) as e:
        demo.main([*argv, "--out", str(tmp_path / "out")])
    message = e.value.code
    assert isinstance(message, str) and message.startswith(f"error: {where}: ")
    assert "overflow" in message and advice in message
    assert "\n" not in message and len(message) < 500
    assert not list((tmp_path / "out").glob("*.json"))  # nothing saved from a diverged run


def test_a_model_file_that_overflows_is_one_line(tmp_path):
    model = MLP(64, [4, 4, 10], seed=0)
    for p in model.parameters():
        p.data = 1e300
    path = tmp_path / "huge.json"
    model.save(path)
    with pytest.raises(SystemExit) as e:
        backprop_three.main(["--model", str(path), "--no-svg"])
    message = e.value.code
    assert isinstance(message, str) and message.startswith("error: the network cannot be ")
    assert "overflow" in message and len(message) < 500


# --- Ctrl-C and closed pipes -------------------------------------------------------------------


@pytest.mark.parametrize("demo", DEMOS, ids=lambda d: d.__name__)
def test_every_demo_turns_ctrl_c_into_one_line_and_130(demo, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "parse_args", interrupted)
    try:
        with pytest.raises(SystemExit) as e:
            demo.main([])
    except KeyboardInterrupt:  # caught here, or it would stop the whole test session
        pytest.fail("KeyboardInterrupt escaped the demo's main")
    assert e.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"


@pytest.mark.parametrize("name, argv", [("digits", []), ("microgpt", []),
                                        ("explorer", ["--no-browser", "--port", "0"])])
def test_ctrl_c_while_a_demo_is_still_importing_is_one_line_and_130(name, argv, tmp_path):
    # -X importtime writes a line to stderr as each import ends: the "demos" package's line
    # says the program has started, then SIGINT comes at moments through the heavy imports
    # (the engine, nn, the data) and into main.
    for delay in (0.0, 0.01, 0.03, 0.06, 0.1, 0.2):
        proc = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-m", f"demos.{name}", *argv, "--out",
             str(tmp_path)] if name != "explorer" else
            [sys.executable, "-X", "importtime", "-m", "demos.explorer", *argv],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            for line in proc.stderr:
                if line.rstrip().endswith("| demos"):
                    break
            time.sleep(delay)
            proc.send_signal(signal.SIGINT)
            rest = proc.stderr.read()
            proc.wait(timeout=60)
        finally:
            proc.kill()
            proc.wait()
        said = [x for x in rest.splitlines() if x.strip() and not x.startswith("import time:")]
        assert (proc.returncode, said) == (130, ["interrupted"]), (name, delay, rest[-2000:])


@pytest.mark.parametrize(
    "error, code",
    [(MemoryError(), "error: out of memory; try smaller sizes"),
     (OSError(28, "No space left on device"), "error: [Errno 28] No space left on device")],
)
def test_running_out_of_memory_or_disk_is_one_line(error, code, monkeypatch):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(moons, "parse_args", fail)
    with pytest.raises(SystemExit) as e:
        moons.main([])
    assert e.value.code == code


def _start(*argv: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(proc: subprocess.Popen, prefix: str) -> None:
    for line in proc.stdout:
        if line.startswith(prefix):
            return
    raise AssertionError(f"no line starting {prefix!r}; stderr: {proc.stderr.read()}")


@pytest.mark.parametrize(
    "argv, started",
    [
        (["-m", "demos.moons", "--steps", "100000", "--points", "30", "--no-plots"], "step   0"),
        (["-m", "demos.digits", "--epochs", "500", "--hidden", "8,8", "--quiet"], "model:"),
    ],
    ids=["moons", "digits"],
)
def test_sigint_mid_training_exits_130_with_one_line_and_no_files(argv, started, tmp_path):
    out = tmp_path / "out"
    proc = _start(*argv, "--out", str(out))
    try:
        _wait_for(proc, started)
        time.sleep(0.3)  # inside the training loop
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err == "interrupted\n"
    assert not out.exists() or list(out.iterdir()) == []  # no partial or temp files


def test_a_closed_stdout_ends_a_demo_quietly(tmp_path):
    proc = _start("-m", "demos.moons", "--steps", "100000", "--points", "10", "--no-plots",
                  "--out", str(tmp_path))
    try:
        proc.stdout.readline()
        proc.stdout.close()  # as `| head -1` does
        err = proc.stderr.read()
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert err == ""  # not "error: [Errno 32] Broken pipe", nor "Exception ignored ..."
    assert proc.returncode == 1


def test_the_documented_ranges_are_the_ones_enforced(monkeypatch):
    table = re.findall(r"^\| (\w+) \| `(--[\w-]+)` \| (.+?) \|$",
                       (ROOT / "docs" / "demos.md").read_text(), re.M)
    assert len(table) >= 14

    def numbers(text: str) -> list[float]:
        return [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)]

    for name, flag, documented in table:
        by_name = {d.__name__.split(".")[1]: d for d in DEMOS}
        demos = [d for d in DEMOS if d is not graph] if name == "all" else [by_name[name]]
        for demo in demos:
            action = next(a for a in numeric_flags(demo, monkeypatch) if flag in a.option_strings)
            enforced = RANGE.search(action.help).group(0)
            assert numbers(documented) == numbers(enforced), (name, flag, documented, enforced)


def test_a_batch_of_pictures_that_fails_midway_reports_what_was_written_and_what_was_skipped(
    tmp_path, monkeypatch, capsys
):
    """write_svgs used to say the whole batch was skipped (and return nothing) when
    Graphviz failed on a later picture, though the earlier SVGs were on disk."""
    import graphviz

    import autograd.render
    from autograd.render import RenderTimeoutError
    from demos.output import write_svgs

    calls = []

    def first_only(source, engine, fmt, timeout):
        calls.append(source)
        if len(calls) > 1:
            raise RenderTimeoutError("dot: timed out", reason="Graphviz took too long")
        return b"<svg/>"

    monkeypatch.setattr(autograd.render, "run_graphviz", first_only)
    pictures = [graphviz.Digraph(name=f"g{i}") for i in range(3)]
    paths = [tmp_path / f"f{i}.svg" for i in range(3)]
    assert write_svgs(paths, pictures, "3 frames") == [paths[0]]
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("wrote 1 of 3 frames: ")
    assert out[1].startswith("skipped the other 2 of 3 frames: Graphviz took too long; DOT ")
    assert paths[0].exists() and not paths[1].exists()
    assert (tmp_path / "f1.dot").exists() and (tmp_path / "f2.dot").exists()
