"""The microgpt demo (a few steps, so it cannot rot), its weights file, and the shared model code.

The model code is run on valuegrad's ``Value`` and on microgpt's own engine (the
benchmark's anchor) to check the one claim the README makes for it: swapping the
engine changes nothing but speed.
"""

from __future__ import annotations

import json
import math
import random
import re

import pytest

from autograd import Value
from demos import microgpt
from demos import microgpt_model as M
from tests.benchmarks.bench_microgpt import MicroValue

NAMES = M.load_names(microgpt.NAMES)


def test_shipped_names():
    assert len(NAMES) == 5163 == len(set(NAMES))
    assert all(re.fullmatch("[a-z]+", n) for n in NAMES)
    tok = M.Tokenizer.from_names(NAMES)
    assert tok.vocab_size == 27 and tok.bos == 26
    assert tok.encode("emma") == [26, 4, 12, 12, 0, 26]
    assert tok.decode(tok.encode("emma")) == "emma"
    with pytest.raises(ValueError, match="encode: character 'É' is not in the vocabulary"):
        tok.encode("Émile")


def test_parameters_have_microgpt_shapes_and_names():
    tok = M.Tokenizer.from_names(NAMES)
    state = M.init_params(Value, tok.vocab_size, random.Random(0))
    assert len(M.parameters(state)) == 4192  # microgpt's count for a 27-token vocabulary
    names = [n for n, _ in M.named_parameters(state)]
    assert names[0] == "wte[0,0]" and "layer0.attn_wq[3,7]" in names
    assert names[-1] == "layer0.mlp_fc2[15,63]"
    assert microgpt.describe("layer0.attn_wq[5,7]", tok) == "head 1 query[1] from dim 7"


def _train(value: type, steps: int) -> tuple[list[float], list[float]]:
    rng = random.Random(7)
    docs = M.shuffled(NAMES, rng)
    tok = M.Tokenizer.from_names(NAMES)
    state = M.init_params(value, tok.vocab_size, rng)
    opt = M.Adam(M.parameters(state), 100)
    losses = [M.train_step(state, opt, tok.encode(docs[k]), k) for k in range(steps)]
    return losses, [p.data for p in M.parameters(state)]


def test_same_model_code_same_numbers_on_both_engines():
    """The benchmark's premise: only the Value class differs, and the numbers do not."""
    ours, w_ours = _train(Value, 3)
    theirs, w_theirs = _train(MicroValue, 3)
    assert all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(ours, theirs))
    assert max(abs(a - b) for a, b in zip(w_ours, w_theirs)) < 1e-12
    assert ours[0] == pytest.approx(math.log(27), abs=0.3)  # near a uniform guess at first


def test_attention_is_causal_and_sums_to_one():
    tok = M.Tokenizer.from_names(NAMES)
    state = M.init_params(Value, tok.vocab_size, random.Random(1))
    cache = M.Cache(attention=[])
    ids = M.sample(state, tok, random.Random(2), cache=cache)
    assert len(cache.attention) in (len(ids) + 1, M.BLOCK_SIZE)
    for t, layers in enumerate(cache.attention):
        for head in layers[0]:
            assert len(head) == t + 1  # position t sees keys 0..t, never the future
            assert math.fsum(head) == pytest.approx(1.0, abs=1e-12)


# --- the demo ---------------------------------------------------------------------------------


def test_microgpt_smoke_then_sample_only(tmp_path, capsys):
    out = tmp_path / "mg"
    assert microgpt.main(["--steps", "4", "--samples", "3", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "4,192 parameters" in text
    assert "step 4/4: loss" in text  # samples on the way (not a terminal: plain lines)
    assert re.search(r"trained 4 steps in \d+\.\d s", text)
    assert re.search(r"sample  3: \S+", text)
    for name in ("weights.json", "loss.png", "attention.png", "attention_head.svg",
                 "top_gradients.txt"):
        assert (out / name).stat().st_size > 0, name
        assert str(out / name) in text  # every file written is reported
    table = (out / "top_gradients.txt").read_text()
    assert re.search(r"\n *1  (wte|wpe|lm_head|layer0\.\w+)\[\d+,\d+\] ", table)
    svg = (out / "attention_head.svg").read_text()
    assert "head " in svg and "out[0]" in svg and "a1: weight on" in svg

    # the weights load back, and sample the same names as at the end of training
    assert microgpt.main(["--sample-only", "--samples", "3", "--out", str(out)]) == 0
    again = capsys.readouterr().out
    assert "trained 4 steps" in again
    trained = re.findall(r"sample +\d+: (\S+)", text.split("new names")[1])
    assert re.findall(r"sample +\d+: (\S+)", again) == trained


@pytest.mark.parametrize("n", [1, 7, microgpt.SMOOTHING, 3 * microgpt.SMOOTHING + 1])
def test_the_reported_loss_is_the_last_point_of_the_plotted_curve(n):
    losses = [math.sin(i) + 2.0 for i in range(n)]
    tail = losses[-microgpt.SMOOTHING:]
    assert microgpt.recent_loss(losses) == sum(tail) / len(tail)
    curve = microgpt.moving_average(losses, microgpt.SMOOTHING)
    assert microgpt.recent_loss(losses) == pytest.approx(curve[-1], rel=1e-12)


def test_every_loss_the_run_prints_is_recent_loss(tmp_path, capsys, monkeypatch):
    seen = []
    real = microgpt.recent_loss

    def spy(losses):
        seen.append(list(losses))
        return real(losses)

    monkeypatch.setattr(microgpt, "recent_loss", spy)
    assert microgpt.main(["--steps", "3", "--samples", "1", "--no-plots", "--out",
                          str(tmp_path)]) == 0
    text = capsys.readouterr().out
    # one per step (the bar), one at its close, one in the summary
    assert [len(x) for x in seen] == [1, 2, 3, 3, 3]
    assert f"step 3/3: loss {real(seen[-1]):.3f} (mean of the last 3)" in text
    assert f"loss {real(seen[-1]):.3f} (mean of the last 3 steps" in text


def test_weights_round_trip_exactly(tmp_path):
    tok = M.Tokenizer.from_names(NAMES)
    state = M.init_params(Value, tok.vocab_size, random.Random(3))
    path = tmp_path / "w.json"
    microgpt.save_weights(path, microgpt.weights_document(state, tok, 5, 3, 3.1))
    loaded, tok2, trained = microgpt.load_weights(path)
    assert tok2 == tok and trained["steps"] == 5
    assert [p.data for p in M.parameters(loaded)] == [p.data for p in M.parameters(state)]


def _corrupt(doc: dict, how: str) -> str:
    if how == "truncated":
        return json.dumps(doc)[:100]
    if how == "format":
        doc["format"] = "valuegrad-model"
    elif how == "shape":
        doc["state"]["wte"].pop()
    elif how == "nan":
        doc["state"]["layer0.attn_wq"][3][7] = "NaN"
    elif how == "chars":
        doc["chars"] = "aab"
    return json.dumps(doc)


@pytest.mark.parametrize("how, message", [
    ("truncated", "not valid JSON (truncated or corrupt?)"),
    ("format", 'not a microgpt weights file (expected "format": "valuegrad-microgpt")'),
    ("shape", "wte must be a 27x16 array of numbers"),
    ("nan", "state: layer0.attn_wq[3,7] must be a finite number, got 'NaN' (str)"),
    ("chars", "\"chars\" must be a string of distinct characters, got 'aab'"),
])
def test_bad_weights_file_is_one_line(tmp_path, how, message):
    tok = M.Tokenizer.from_names(NAMES)
    state = M.init_params(Value, tok.vocab_size, random.Random(3))
    path = tmp_path / "w.json"
    path.write_text(_corrupt(microgpt.weights_document(state, tok, 5, 3, 3.1), how))
    with pytest.raises(SystemExit) as e:
        microgpt.main(["--sample-only", "--weights", str(path)])
    assert e.value.code.startswith(f"error: cannot load weights from '{path}': {message}")
    assert "\n" not in e.value.code


@pytest.mark.parametrize("argv, message", [
    (["--steps", "0"], "argument --steps: must be an int in [1, 20,000], got 0 (int)"),
    (["--steps", "20001"], "argument --steps: must be an int in [1, 20,000], got 20001 (int)"),
    (["--steps", "ten"], "argument --steps: must be an int in [1, 20,000], got 'ten' (str)"),
    (["--seed", "-1"], "argument --seed: must be an int in [0, 4,294,967,295], got -1 (int)"),
    (["--samples", "1001"], "argument --samples: must be an int in [1, 1,000], got 1001 (int)"),
    (["--temperature", "0"],
     "argument --temperature: must be a finite number in (0, 2], got 0 (int)"),
    (["--temperature", "3"],
     "argument --temperature: must be a finite number in (0, 2], got 3 (int)"),
    (["--sample-only", "--weights", "/nonexistent/w.json"],
     "argument --weights: no weights file at '/nonexistent/w.json'"),
])
def test_bad_flags_stop_before_any_work(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        microgpt.main([*argv, "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err


def test_bad_out_folder_stops_before_training(tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(SystemExit) as e:
        microgpt.main(["--steps", "1", "--out", str(tmp_path / "a_file")])
    assert e.value.code == 2
    assert capsys.readouterr().out == ""
