"""The explorer: its maths (engine), its API's checks and sessions, and its HTTP server.

The HTTP tests run a real server in a thread on a free port and send every kind
of bad request; each must get a 4xx with a one-line JSON reason, and the
server must go on answering.
"""

from __future__ import annotations

import json
import math
import random
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from explorer_http import error_of, raw, request, start, status_of, untrained

from autograd import Value, checks, no_grad, vsum
from demos.datasets import load_digits
from demos.digits import SPLIT_SEED, TEST_FRACTION
from demos.explorer import api, engine
from demos.explorer.api import Explorer
from demos.explorer.server import MAX_BODY
from nn import (
    MLP,
    accuracy,
    cross_entropy,
    minibatches,
    predict_classes,
    softmax,
    train_test_split,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server():
    srv = start()
    yield srv
    # Whatever the tests sent, the server still answers.
    status, _, info = request(srv, "GET", "/api/info")
    assert status == 200 and info["parameters"] == 3466
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def three():
    X, y = load_digits()
    _, X_test, _, y_test = train_test_split(X, y, TEST_FRACTION, seed=SPLIT_SEED)
    i = y_test.index(3)
    return [round(v * 16) for v in X_test[i]], i


def few_test_digits(explorer: Explorer, n: int = 8) -> Explorer:
    """Measure SGD steps on ``n`` test digits only: for tests about something else (locks,
    caps), where evaluating all 359 after every step would only take time."""
    X, y = explorer.test_set
    explorer.test_set = (X[:n], y[:n])
    return explorer


def new_session(server) -> str:
    status, _, body = request(server, "POST", "/api/session", {})
    assert status == 200
    return body["session"]


def backward_grads(model: MLP, pixels: list, target: int) -> dict:
    """Every parameter's gradient from loss.backward() on a copy of ``model``."""
    copy = MLP(64, model.nouts, seed=1)
    copy.load_state_dict(model.state_dict())
    loss = cross_entropy(copy([p / 16 for p in pixels]), target)
    copy.zero_grad()
    loss.backward()
    return {name: p.grad for name, p in copy.named_parameters()}


# --- engine: the input as the data was made ----------------------------------------------------


def ink_of(cells: set) -> list[int]:
    return [255 if (r, c) in cells else 0 for r in range(64) for c in range(64)]


def test_digitize_counts_on_pixels_in_4x4_blocks_as_the_data_was_made():
    assert engine.digitize([0] * 4096) == [0] * 64
    assert engine.digitize([255] * 4096, fit=False) == [16] * 64
    assert engine.digitize([127] * 4096, fit=False) == [0] * 64  # below half coverage: off
    # Without fitting, the 64x64 ink halves to the 32x32 bitmap: a 16x16 square of ink in
    # the top-left corner is the top-left 2x2 blocks, full.
    square = engine.digitize(ink_of({(r, c) for r in range(16) for c in range(16)}), fit=False)
    assert square == [16 if r < 2 and c < 2 else 0 for r in range(8) for c in range(8)]


def test_digitize_fits_the_ink_to_the_full_height_and_centres_it():
    # A small bar near a corner becomes a full-height bar in the middle, as the data's digits
    # fill all 8 rows.
    bar = ink_of({(r, c) for r in range(2, 18) for c in range(2, 4)})
    levels = engine.digitize(bar)
    rows = [levels[r * 8 : r * 8 + 8] for r in range(8)]
    assert all(any(row) for row in rows)
    assert all(row[:3] == [0, 0, 0] and row[5:] == [0, 0, 0] for row in rows)
    assert all(isinstance(v, int) and 0 <= v <= 16 for v in levels)
    # The same shape drawn elsewhere, or twice as big, digitizes the same.
    moved = ink_of({(r, c) for r in range(40, 56) for c in range(50, 52)})
    big = ink_of({(r, c) for r in range(10, 42) for c in range(20, 24)})
    assert engine.digitize(moved) == levels == engine.digitize(big)


# --- GET: the page, info, test digits ----------------------------------------------------------


def test_page_and_static_files(server):
    status, headers, body = request(server, "GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'<canvas id="pad"' in body and b"/static/explorer.js" in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert b"http://" not in body.replace(b'xmlns="http://', b"")  # nothing from the network
    for name, ctype in (("explorer.js", "text/javascript"), ("explorer.css", "text/css")):
        status, headers, body = request(server, "GET", f"/static/{name}")
        assert status == 200 and headers["Content-Type"].startswith(ctype)
        assert body == (REPO / "demos/explorer/static" / name).read_bytes()
    status, headers, body = request(server, "HEAD", "/")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 1000


def test_info(server):
    status, _, info = request(server, "GET", "/api/info")
    assert status == 200
    assert info["model"] == "MLP(64, [32, 32, 10])" and info["steps"] == 4
    assert info["layers"] == ["hidden layer 1", "hidden layer 2", "the output layer"]
    assert info["test_digits"] == 359
    assert info["train"] == {"digits": 1438, "lr_max": 10.0, "batch_max": 128,
                             "steps_per_request": 100, "seconds_per_request": 1.0,
                             "steps_limit": 5000, "pages_at_once": 2}


def test_testdigit_by_index_and_by_label(server, three):
    pixels, i = three
    status, _, d = request(server, "GET", f"/api/testdigit?index={i}")
    assert status == 200 and d == {"index": i, "label": 3, "pixels": pixels, "count": 359}
    status, _, d = request(server, "GET", "/api/testdigit?label=3")
    assert d["index"] == i
    status, _, d2 = request(server, "GET", f"/api/testdigit?label=3&after={i}")
    assert d2["label"] == 3 and d2["index"] > i
    status, _, d = request(server, "GET", "/api/testdigit?label=7&after=358")  # wraps around
    assert d["label"] == 7


@pytest.mark.parametrize(
    "query, fragment",
    [
        ("", "either ?index=N or ?label=D"),
        ("?index=abc", "testdigit: index must be an int in [0, 358], got 'abc'"),
        ("?index=-1", "got '-1'"),
        ("?index=359", "got 359"),
        ("?index=1e3", "got '1e3'"),
        ("?index=", "got ''"),
        ("?index=1&index=2", "given 2 times"),
        ("?index=1&label=3", "either"),
        ("?label=10", "testdigit: label must be an int in [0, 9], got 10"),
        ("?after=3", "either"),
        ("?index=3&after=3", "'after' goes with 'label'"),
        ("?file=/etc/passwd", "unknown parameter 'file'"),
        ("?index=%00", "testdigit: index must be"),
        ("?index=" + "9" * 5000, "testdigit: index must be"),
    ],
)
def test_testdigit_refuses_bad_queries(server, query, fragment):
    status, _, body = request(server, "GET", "/api/testdigit" + query)
    assert status == 400 and fragment in body["error"]


NINE_FIELDS = "?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9"
SEVENTEEN_FIELDS = "?" + "&".join(f"x{i}=1" for i in range(17))


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    "path, code, fragment",
    [
        ("/api/testdigit" + NINE_FIELDS, 400, "testdigit: unknown parameter 'a'"),
        ("/api/testdigit?" + "&" * 20, 400, "either ?index=N or ?label=D"),
        ("/api/testdigit?" + "&" * 20 + "index=3" + "&" * 20, 200, None),
        ("/api/testdigit" + SEVENTEEN_FIELDS, 400, "query: expected at most 16 fields, got 17"),
        ("/api/testdigit?" + "a&" * 5000, 400, "query: expected at most 16 fields, got 5000"),
        ("/api/info" + NINE_FIELDS, 200, None),  # a query a path does not use is ignored...
        ("/api/info" + SEVENTEEN_FIELDS, 400, "query: expected at most 16"),  # ...if it is sane
        ("/" + NINE_FIELDS + "&" * 20, 200, None),
        ("/nope" + SEVENTEEN_FIELDS, 400, "query: expected at most 16"),
    ],
)
def test_a_query_with_many_fields_is_a_4xx_or_ignored_on_every_path(server, method, path, code,
                                                                       fragment):
    if method == "HEAD":  # no body to read: the status line says it
        answer = raw(server, f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                             "Connection: close\r\n\r\n".encode())
        assert status_of(answer) == code and answer.endswith(b"\r\n\r\n")
        return
    status, _, answer = request(server, method, path)
    assert status == code, answer
    if fragment:
        check_refusal(status, answer, fragment)


# --- POST: predict, step, sgd ------------------------------------------------------------------


def test_predict_is_the_engines_forward_pass(server, three):
    pixels, _ = three
    status, _, d = request(server, "POST", "/api/predict", {"pixels": pixels})
    assert status == 200
    model = untrained()
    expected = [p.data for p in softmax(model([p / 16 for p in pixels]))]
    assert d["probabilities"] == expected
    assert d["prediction"] == max(range(10), key=expected.__getitem__)
    assert d["pixels"] == pixels and d["view"] == "forward"
    assert d["svg"].startswith("<svg") and "weights and activations" in d["svg"]
    drawn = engine.drawn_edges(d["svg"])
    assert len(drawn) == 32 * 6 + 32 * 6 + 10 * 6  # 6 into each neuron, by |w × a|
    assert sorted(d["connections"]) == sorted(drawn)
    for c in d["connections"].values():
        assert c["product"] == c["value"] * c["input_value"]
        assert c["value"] == model.get_parameter(c["name"]).data


def test_predict_digitizes_ink_on_the_server(server):
    ink = ink_of({(r, c) for r in range(8, 56) for c in range(28, 34)})
    status, _, d = request(server, "POST", "/api/predict", {"ink": ink})
    assert status == 200 and d["pixels"] == engine.digitize(ink)
    status, _, d2 = request(server, "POST", "/api/predict", {"ink": ink, "fit": False})
    assert d2["pixels"] == engine.digitize(ink, fit=False) != d["pixels"]


@pytest.mark.parametrize("step", [1, 2, 3, 4])
def test_step_gives_each_weights_gradient_as_trace_backward_states_it(server, three, step):
    pixels, _ = three
    status, _, d = request(server, "POST", "/api/step", {"pixels": pixels, "target": 3,
                                                          "step": step})
    assert status == 200 and d["step"] == step and d["target"] == 3
    layer = 3 - (step - 1) if step > 1 else 2
    assert d["layer"]["index"] == layer
    title = ("Backprop step 1: compare the outputs" if step == 1 else
             f"Backprop step {step}: adjust the weights into {d['layer']['name']}")
    assert title in d["svg"] and d["explanation"].startswith(f"Step {step}:")
    grads = backward_grads(untrained(), pixels, 3)
    for c in d["connections"].values():
        # The gradient backward() gives, the product trace_backward states, bit for bit.
        assert c["grad"] == grads[c["name"]] == c["product"] == c["upstream"] * c["local"]
    if step == 1:
        assert d["top_weights"] == []
        probs = d["probabilities"]
        assert [n["grad"] for n in d["nudges"]] == pytest.approx(
            [p - (k == 3) for k, p in enumerate(probs)], abs=1e-15)
        return
    prefix = f"layers.{layer}."
    assert d["layer"]["updates"] == f"layers.{layer}"
    tops = d["top_weights"]
    assert len(tops) == 8 and all(w["name"].startswith(prefix) for w in tops)
    ranked = sorted((n for n in grads if n.startswith(prefix) and ".w." in n),
                    key=lambda n: -abs(grads[n]))
    assert [abs(w["grad"]) for w in tops] == [abs(grads[n]) for n in ranked[:8]]
    assert {w["name"] for w in tops} <= set(d["connections"])
    assert len(d["nudges"]) == (10 if layer == 2 else 32)


def test_sgd_moves_each_weight_by_minus_lr_times_grad_on_the_pages_own_model(server, three):
    pixels, _ = three
    sid, other = new_session(server), new_session(server)
    body = {"pixels": pixels, "target": 3, "lr": 0.25, "session": sid}
    grads = backward_grads(untrained(), pixels, 3)
    status, _, r = request(server, "POST", "/api/sgd", body)
    assert status == 200 and r["sgd_steps"] == 1 and r["parameters"] == 3466
    assert r["changed"] == sum(g != 0.0 for g in grads.values())
    for m in r["moved"]:
        assert m["grad"] == grads[m["name"]]
        assert m["new"] == m["old"] - 0.25 * m["grad"] and m["change"] == m["new"] - m["old"]
    assert [abs(m["change"]) for m in r["moved"]] == sorted(
        (abs(m["change"]) for m in r["moved"]), reverse=True)
    # The same step done by hand on a copy of the model predicts the same afterwards.
    model = untrained()
    for name, g in grads.items():
        p = model.get_parameter(name)
        p.data = p.data - 0.25 * g
    after = [p.data for p in softmax(model([p / 16 for p in pixels]))]
    assert r["after"]["probabilities"] == after and r["after"]["p_target"] > r["before"]["p_target"]
    # What the step did to the whole test set, as predict_classes measures it.
    X_test, y_test = server.explorer.test_set
    for when, m in (("before", untrained()), ("after", model)):
        predicted = predict_classes(m, X_test)
        t = r["test"][when]
        assert (t["accuracy"], t["count"]) == (accuracy(predicted, y_test), 359)
        assert t["read_as"] == [predicted.count(k) for k in range(10)]
    # Per page: this session's views see the step, another page's and the shared model's do not.
    _, _, mine = request(server, "POST", "/api/predict", {"pixels": pixels, "session": sid})
    _, _, theirs = request(server, "POST", "/api/predict", {"pixels": pixels, "session": other})
    _, _, shared = request(server, "POST", "/api/predict", {"pixels": pixels})
    assert mine["probabilities"] == after and mine["sgd_steps"] == 1
    assert theirs["probabilities"] == shared["probabilities"] == r["before"]["probabilities"]
    # A second step starts where the first ended; reset goes back to the loaded model.
    _, _, r2 = request(server, "POST", "/api/sgd", body)
    assert r2["before"]["probabilities"] == after and r2["sgd_steps"] == 2
    status, _, _ = request(server, "POST", "/api/reset", {"session": sid})
    _, _, back = request(server, "POST", "/api/predict", {"pixels": pixels, "session": sid})
    assert status == 200 and back["probabilities"] == shared["probabilities"]
    assert back["sgd_steps"] == 0


def test_concurrent_steps_on_one_session_are_serialised(three):
    """8 threads x 3 identical SGD steps on one page's model give what 24 steps in a row give."""
    pixels, _ = three
    srv = start(few_test_digits(Explorer(untrained())))
    try:
        sid = new_session(srv)
        body = {"pixels": pixels, "target": 5, "lr": 0.05, "session": sid}

        def hammer(k: int) -> list[int]:
            statuses = []
            for _ in range(3):
                statuses.append(request(srv, "POST", "/api/sgd", body)[0])
                other = {"pixels": pixels, "target": k % 10, "step": 1 + k % 4}
                statuses.append(request(srv, "POST", "/api/step", other)[0])
            return statuses

        with ThreadPoolExecutor(8) as pool:
            statuses = [s for got in pool.map(hammer, range(8)) for s in got]
        assert statuses == [200] * 48
        _, _, d = request(srv, "POST", "/api/predict", {"pixels": pixels, "session": sid})
        model = untrained()
        for _ in range(24):
            engine.sgd_step(model, pixels, 5, 0.05)
        assert d["sgd_steps"] == 24
        assert d["probabilities"] == engine.forward(model, pixels).probs
    finally:
        srv.shutdown()
        srv.server_close()


def test_sessions_are_capped_forgetting_the_least_recently_used(three):
    pixels, _ = three
    srv = start(Explorer(untrained(), max_sessions=2))
    try:
        a, b = new_session(srv), new_session(srv)
        request(srv, "POST", "/api/predict", {"pixels": pixels, "session": a})  # a: used last
        new_session(srv)
        assert request(srv, "POST", "/api/predict", {"pixels": pixels, "session": a})[0] == 200
        status, _, body = request(srv, "POST", "/api/predict", {"pixels": pixels, "session": b})
        assert status == 404 and "POST /api/session" in body["error"]
        assert srv.explorer.sessions() == 2
    finally:
        srv.shutdown()
        srv.server_close()


# --- bad requests: 4xx with a one-line reason, never 5xx ---------------------------------------

PIX = [0] * 64


def bad_bodies():
    good = {"pixels": PIX, "target": 3, "step": 2}
    cases = [
        ({**good, "pixels": [1] * 63},
         "step: pixels must be a list of 64 numbers, got a list of 63"),
        ({**good, "pixels": [1] * 65}, "got a list of 65"),
        ({**good, "pixels": []}, "got a list of 0"),
        ({**good, "pixels": ["1"] * 64},
         "step: pixels[0] must be a finite number in [0, 16], got '1'"),
        ({**good, "pixels": [[1]] * 64},
         "step: pixels[0] must be a finite number in [0, 16], got a list of 1"),
        ({**good, "pixels": [True] * 64},
         "step: pixels[0] must be a finite number in [0, 16], got true"),
        ({**good, "pixels": [None] * 64}, "got null"),
        ({**good, "pixels": [0] * 63 + [17]},
         "step: pixels[63] must be a finite number in [0, 16], got 17"),
        ({**good, "pixels": [-1] + [0] * 63}, "got -1"),
        ({**good, "pixels": [{"a": 1}] * 64}, "got an object"),
        ({**good, "pixels": "0" * 64}, "step: pixels must be a list of 64"),
        ({**good, "pixels": {"0": 1}}, "step: pixels must be a list of 64 numbers, got an object"),
        ({**good, "ink": [0] * 4096}, "either 'pixels'"),
        ({"target": 3, "step": 1}, "got neither"),
        ({"ink": [0] * 4095, "target": 3, "step": 1},
         "step: ink must be a list of 4096 numbers"),
        ({"ink": [256] * 4096, "target": 3, "step": 1},
         "step: ink[0] must be a finite number in [0, 255], got 256"),
        ({"ink": [0] * 4096, "fit": "yes", "target": 3, "step": 1},
         "fit: expected true or false, got 'yes'"),
        ({**good, "fit": True}, "'fit' goes with 'ink'"),
        ({**good, "target": 3.0}, "step: target must be an int in [0, 9], got 3.0"),
        ({**good, "target": "3"}, "got '3'"),
        ({**good, "target": True}, "got true"),
        ({**good, "target": 10}, "got 10"),
        ({**good, "target": -1}, "got -1"),
        ({**good, "target": None}, "got null"),
        ({"pixels": PIX, "step": 2}, "step: missing field 'target'"),
        ({**good, "step": 0}, "step: step must be an int in [1, 4], got 0"),
        ({**good, "step": 5}, "got 5"),
        ({**good, "step": 2.5}, "got 2.5"),
        ({**good, "session": "../../etc/passwd"}, "session: expected a session id string"),
        ({**good, "session": 7}, "session: expected a session id string, got 7"),
        ({**good, "session": "x" * 65}, "session: expected a session id string"),
        ({**good, "path": "/etc/passwd"}, "step: unknown field 'path'"),
        ([], "step: the body must be a JSON object, got a list of 0"),
        ("just text", "the body must be a JSON object, got 'just text'"),
        (None, "got null"),
    ]
    return [pytest.param(body, msg, id=f"{i}") for i, (body, msg) in enumerate(cases)]


def check_refusal(status: int, body, fragment: str, code: int = 400) -> None:
    assert status == code, body
    assert set(body) == {"error"} and "\n" not in body["error"]
    assert fragment in body["error"]


@pytest.mark.parametrize("body, fragment", bad_bodies())
def test_step_refuses_bad_fields(server, body, fragment):
    status, _, answer = request(server, "POST", "/api/step", json.dumps(body))
    check_refusal(status, answer, fragment)


@pytest.mark.parametrize(
    "lr, fragment",
    [(0, "sgd: lr must be a finite number in (0, 10], got 0"), (-0.1, "got -0.1"),
     (10.5, "got 10.5"), ("0.1", "got '0.1'"), (True, "got true"), (None, "got null"),
     ([0.1], "got a list of 1"),
     (1e308 * 10, "body: not valid JSON")],
)
def test_sgd_refuses_lr_out_of_bounds(server, lr, fragment):
    sid = new_session(server)
    body = json.dumps({"pixels": PIX, "target": 3, "lr": lr, "session": sid}).replace(
        "Infinity", "1e999")
    status, _, answer = request(server, "POST", "/api/sgd", body)
    if "1e999" in body:  # 1e999 parses to inf, which is no number in bounds
        fragment = "sgd: lr must be a finite number in (0, 10], got inf"
    check_refusal(status, answer, fragment)


@pytest.mark.parametrize(
    "x, shown",
    [(None, "null"), (True, "true"), ("1", "'1'"), ([1], "a list of 1"), ({"a": 1}, "an object"),
     (17, "17"), (-0.5, "-0.5"), (math.inf, "inf"), (3.0, "3.0"), (3, "3")],
)
@pytest.mark.parametrize("field", ["real", "whole"])
def test_a_field_is_checked_by_autograd_checks_and_named_as_json(x, shown, field):
    """api.real and api.whole are autograd.checks' number and integer, answered as a 400."""
    check = {"real": checks.number, "whole": checks.integer}[field]
    try:
        expected = check(x, "step", "target", low=0, high=16)
    except (TypeError, ValueError) as e:
        with pytest.raises(api.ClientError) as refused:
            getattr(api, field)(x, "step", "target", 0, 16)
        assert refused.value.status == 400
        assert refused.value.message == str(e).replace(f"got {checks.describe(x)}", f"got {shown}")
    else:
        got = getattr(api, field)(x, "step", "target", 0, 16)
        assert got == expected and type(got) is type(x)  # a JSON int stays an int


def test_sgd_needs_a_known_session(server):
    status, _, answer = request(server, "POST", "/api/sgd", {"pixels": PIX, "target": 3, "lr": 0.1})
    check_refusal(status, answer, "missing field 'session'")
    body = {"pixels": PIX, "target": 3, "lr": 0.1, "session": "no-such-session"}
    status, _, answer = request(server, "POST", "/api/sgd", body)
    check_refusal(status, answer, "unknown or expired session", 404)
    status, _, answer = request(server, "POST", "/api/session", {"session": "mine"})
    check_refusal(status, answer, "unknown field 'session'; expected an empty object")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('{"pixels": [NaN]}', "NaN is not a number JSON allows"),
        ('{"pixels": [Infinity]}', "Infinity is not a number JSON allows"),
        ('{"pixels": [-Infinity]}', "-Infinity is not a number JSON allows"),
        ("{", "body: not valid JSON"),
        ("", "body: not valid JSON"),
        ("{'pixels': []}", "body: not valid JSON"),
        ("[" * 30000 + "]" * 30000, "body: JSON nested too deeply"),
        ('{"target": ' + "1" * 5000 + "}", "body: not valid JSON"),
        (b"\xff\xfe{}", "body: not UTF-8"),
    ],
)
def test_bad_json_is_refused(server, text, fragment):
    status, _, answer = request(server, "POST", "/api/predict", text)
    check_refusal(status, answer, fragment)


def test_json_with_1e999_is_a_number_out_of_range(server):
    status, _, answer = request(server, "POST", "/api/predict", '{"pixels": [1e999]}')
    check_refusal(status, answer, "predict: pixels must be a list of 64")
    body = '{"pixels": [1e999' + ", 0" * 63 + "]}"
    status, _, answer = request(server, "POST", "/api/predict", body)
    check_refusal(status, answer, "predict: pixels[0] must be a finite number in [0, 16], got inf")


def test_oversized_bodies_are_refused_before_reading(server):
    big = b'{"pixels": [' + b"0, " * (5 * 1024 * 1024) + b"0]}"  # 15 MB
    # Only the headers: the server answers without waiting for the body.
    head = (f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {10 * 1024 * 1024}\r\n\r\n")
    start_time = time.perf_counter()
    answer = raw(server, head.encode(), shut=False)
    assert status_of(answer) == 413 and time.perf_counter() - start_time < 5
    assert error_of(answer) == f"body too large: {10 * 1024 * 1024} bytes, the limit is {MAX_BODY}"
    # A 10 MB body sent in full gets the 413 too (the server drops it unread).
    body = big[: 10 * 1024 * 1024]
    status, _, answer = request(server, "POST", "/api/predict", body)
    check_refusal(status, answer, "body too large", 413)
    status, _, answer = request(server, "POST", "/api/predict", big)
    check_refusal(status, answer, "body too large", 413)


@pytest.mark.parametrize(
    "method, path, code, fragment",
    [
        ("POST", "/nope", 404, "not found: '/nope'"),
        ("POST", "/", 405, "POST /: method not allowed"),
        ("POST", "/api/info", 405, "method not allowed"),
        ("PUT", "/api/predict", 405, "method not allowed"),
        ("GET", "/nope", 404, "not found"),
        ("DELETE", "/", 405, "method not allowed"),
    ],
)
def test_a_6mb_body_to_any_path_and_method_gets_its_4xx_not_a_reset(server, method, path, code,
                                                                      fragment):
    body = b'{"pixels": [' + b"0, " * (2 * 1024 * 1024) + b"0]}"  # 6 MB
    status, headers, answer = request(server, method, path, body)
    check_refusal(status, answer, fragment, code)
    assert headers["Connection"] == "close"


@pytest.mark.parametrize(
    "headers, fragment, code",
    [
        ("", "Content-Length: missing", 411),
        ("Transfer-Encoding: chunked\r\n", "Transfer-Encoding is not accepted", 411),
        ("Content-Length: abc\r\n",
         "Content-Length: expected one whole number of bytes, got 'abc'", 400),
        ("Content-Length: -1\r\n", "got '-1'", 400),
        ("Content-Length: 2\r\nContent-Length: 2\r\n", "expected one whole number", 400),
        ("Content-Length: 99999999999999999999\r\n", "expected one whole number", 400),
        ("Content-Length: 2\r\nContent-Type: text/plain\r\n",
         "Content-Type: expected application/json, got 'text/plain'", 415),
        ("Content-Length: 2\r\nContent-Type: application/json\r\nOrigin: http://evil.example\r\n",
         "Origin: requests from 'http://evil.example' are not accepted", 403),
        ("Content-Length: 100\r\nContent-Type: application/json\r\n",
         "body: ended after 2 of 100 bytes", 400),
    ],
)
def test_bad_headers_are_refused(server, headers, fragment, code):
    data = (f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{headers}\r\n{{}}")
    answer = raw(server, data.encode())
    assert status_of(answer) == code and fragment in error_of(answer)


def test_a_foreign_host_is_refused(server):
    # DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example.
    status, _, answer = request(server, "GET", "/api/info", headers={"Host": "evil.example"})
    check_refusal(status, answer, "Host: expected 127.0.0.1:")
    status, _, _ = request(server, "GET", "/api/info", headers={"Host": f"localhost:{server.port}"})
    assert status == 200


@pytest.mark.parametrize(
    "hosts, fragment",
    [
        (["{ok}", "evil.example"], "Host: expected one header, got 2"),
        (["evil.example", "{ok}"], "Host: expected one header, got 2"),
        (["{ok}", "{ok}"], "Host: expected one header, got 2"),
    ],
)
def test_every_host_header_is_checked_and_two_are_refused(server, hosts, fragment):
    ok = f"127.0.0.1:{server.port}"
    lines = "".join(f"Host: {h.format(ok=ok)}\r\n" for h in hosts)
    answer = raw(server, f"GET /api/info HTTP/1.1\r\n{lines}\r\n".encode())
    assert status_of(answer) == 400 and fragment in error_of(answer)


@pytest.mark.parametrize(
    "method, path, code, fragment",
    [
        ("GET", "/nope", 404, "not found: '/nope'"),
        ("POST", "/nope", 404, "not found"),
        ("GET", "/api/predict", 405, "GET /api/predict: method not allowed; use POST"),
        ("POST", "/api/info", 405, "use GET, HEAD"),
        ("POST", "/", 405, "use GET, HEAD"),
        ("PUT", "/api/predict", 405, "PUT /api/predict: method not allowed"),
        ("DELETE", "/api/session", 405, "method not allowed"),
        ("PATCH", "/", 405, "method not allowed"),
        ("OPTIONS", "/api/step", 405, "method not allowed"),
        ("FOO", "/", 405, "method not allowed"),
        ("GET", "/static/../demos/explorer/server.py", 404, "not found"),
        ("GET", "/static/../../../../etc/passwd", 404, "not found"),
        ("GET", "/static/%2e%2e/server.py", 404, "not found"),
        ("GET", "/static/..%2f..%2fsetup.cfg", 404, "not found"),
        ("GET", "/static//etc/passwd", 404, "not found"),
        ("GET", "//etc/passwd", 404, "not found"),
        ("GET", "/../setup.cfg", 404, "not found"),
        ("GET", "/static/", 404, "not found"),
        ("GET", "/static/explorer.js%00.png", 404, "not found"),
        ("GET", "/api/../static/explorer.js", 404, "not found"),
    ],
)
def test_unknown_paths_wrong_methods_and_traversal(server, method, path, code, fragment):
    status, headers, answer = request(server, method, path)
    check_refusal(status, answer, fragment, code)
    if code == 405:
        assert headers["Allow"] in ("POST", "GET, HEAD")


@pytest.mark.parametrize(
    "data, code",
    [
        (b"GET / HTTP/2.0\r\n\r\n", 400),  # the standard library says 505
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 120 + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n", 431),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n", 400),  # TLS
    ],
)
def test_protocol_errors_get_a_4xx_never_a_5xx(server, data, code):
    answer = raw(server, data)
    if answer:  # the standard library may also just close on unreadable input
        assert status_of(answer) == code


def test_errors_are_one_line_json(server):
    status, headers, _ = request(server, "GET", "/api/testdigit?index=x")
    assert status == 400 and headers["Content-Type"] == "application/json"
    assert headers["Connection"] == "close" and headers["Cache-Control"] == "no-store"


# --- the command line ---------------------------------------------------------------------------


def listening_addresses(port: int) -> list[str]:
    """Local addresses of the listening sockets on ``port``, from /proc (Linux)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, p = local.split(":")
            if int(p, 16) == port and state == "0A":  # LISTEN
                found.append(addr)
    return found


def run_explorer(args: list[str]) -> tuple[subprocess.Popen, str, list[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "demos.explorer", "--no-browser", *args],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("http://"):
            return proc, line.strip(), lines
    proc.wait()
    raise AssertionError("the explorer printed no URL:\n" + "\n".join(lines))


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc/net/tcp")
def test_command_line_trains_a_model_and_listens_on_127_0_0_1_only():
    proc, url, lines = run_explorer(["--port", "0"])
    try:
        m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/", url)
        assert m, url
        port = int(m.group(1))
        assert listening_addresses(port) == ["0100007F"]  # 127.0.0.1, and nothing else
        acc = re.search(r"test accuracy (\d+\.\d)%", "\n".join(lines))
        assert acc and float(acc.group(1)) > 90.0
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(f"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            assert s.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        stop(proc)


def test_command_line_loads_a_model(tmp_path):
    model = MLP(64, [16, 12, 10], seed=3)
    model.save(tmp_path / "model.json")
    proc, _, lines = run_explorer(["--port", "0", "--model", str(tmp_path / "model.json")])
    try:
        assert any("MLP(64, [16, 12, 10])" in line for line in lines)
    finally:
        stop(proc)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "no/such/model.json"], "argument --model: no such file: no/such/model.json"),
        (["--port", "70000"], "argument --port: must be an int in [0, 65,535], got 70000 (int)"),
        (["--port", "x"], "argument --port: must be an int in [0, 65,535], got 'x' (str)"),
    ],
)
def test_command_line_refuses_bad_arguments(args, message):
    r = subprocess.run([sys.executable, "-m", "demos.explorer", "--no-browser", *args], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and message in r.stderr


def test_command_line_refuses_a_bad_model_file(tmp_path):
    (tmp_path / "m.json").write_text("{not json")
    MLP(8, [4, 2], seed=0).save(tmp_path / "small.json")
    for name, message in (("m.json", "error: --model:"), ("small.json", "expected 64 inputs")):
        r = subprocess.run([sys.executable, "-m", "demos.explorer", "--no-browser", "--model",
                            str(tmp_path / name)], cwd=REPO, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 1 and message in r.stderr


def test_a_busy_port_is_a_one_line_error(tmp_path):
    MLP(64, [8, 8, 10], seed=0).save(tmp_path / "model.json")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "demos.explorer", "--no-browser", "--port",
                            str(port), "--model", str(tmp_path / "model.json")], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert f"error: cannot listen on {port}:" in r.stderr and "--port 0" in r.stderr


def test_engine_keeps_values_out_of_the_shared_model(three):
    """Views compute gradients without touching any .grad, so pages can share one model."""
    pixels, _ = three
    model = untrained()
    for _, p in model.named_parameters():
        p.grad = 0.0
    engine.step_view(model, pixels, 3, 4)
    engine.forward_view(model, pixels)
    assert all(p.grad == 0.0 for p in model.parameters())
    assert isinstance(engine.forward(model, pixels).acts[0][0], Value)


def test_a_client_that_stops_sending_is_dropped_and_the_server_goes_on(monkeypatch):
    from demos.explorer.server import Handler

    monkeypatch.setattr(Handler, "timeout", 0.5)
    srv = start()
    try:
        head = (f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        t0 = time.perf_counter()
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(head.encode())  # 1 byte of 100, then silence (the socket stays open)
            assert s.recv(100) == b""  # dropped without an answer
        assert time.perf_counter() - t0 < 5
        assert request(srv, "GET", "/api/info")[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_client_sending_a_byte_at_a_time_is_dropped_at_the_requests_deadline(monkeypatch):
    from demos.explorer.server import Handler

    monkeypatch.setattr(Handler, "timeout", 1.0)  # for the whole request, not for each read
    srv = start()
    try:
        head = f"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nX-Slow: " + "a" * 100
        t0 = time.perf_counter()
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            dropped_after = None
            for ch in head:  # a byte every 0.1 s: each read well within any per-read timeout
                try:
                    s.sendall(ch.encode())
                except OSError:
                    dropped_after = time.perf_counter() - t0
                    break
                s.settimeout(0.1)
                try:
                    if s.recv(100) == b"":  # the server closed the connection
                        dropped_after = time.perf_counter() - t0
                        break
                except socket.timeout:
                    pass
            assert dropped_after is not None and dropped_after < 3.0
        assert request(srv, "GET", "/api/info")[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()


def test_connections_beyond_the_cap_are_answered_503_and_the_server_goes_on(monkeypatch):
    from demos.explorer import server as server_module

    monkeypatch.setattr(server_module, "MAX_CONNECTIONS", 4, raising=False)
    srv = start()
    held = []
    try:
        for _ in range(4):  # four clients that never finish their request
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(b"GET /api/info HT")
            held.append(s)
        time.sleep(0.2)  # let the server accept them
        answer = raw(srv, f"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n\r\n"
                     .encode())
        assert status_of(answer) == 503
        assert error_of(answer) == "busy: 4 connections are open; try again shortly"
        for s in held:
            s.close()
        held.clear()
        deadline = time.monotonic() + 10  # the held connections' threads see the close
        while request(srv, "GET", "/api/info")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        for s in held:
            s.close()
        srv.shutdown()
        srv.server_close()


OUT_OF_FDS = """
import os, resource, socket, sys
sys.path.insert(0, "tests")
from explorer_http import request, start, untrained
from demos.explorer.api import Explorer

srv = start(Explorer(untrained(), "test"))
body = {"pixels": [0] * 64}
assert request(srv, "POST", "/api/predict", body)[0] == 200  # everything imported, warmed up
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 16, hard))
held = []
while True:
    try:
        held.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        break
os.close(held.pop())
os.close(held.pop())  # room for the client's socket and the server's: none for Graphviz
status, headers, answer = request(srv, "POST", "/api/predict", body)
print(status, answer["error"], headers.get("Retry-After"))
"""


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts open files in /proc")
def test_out_of_file_descriptors_a_request_gets_503_not_500():
    r = subprocess.run([sys.executable, "-c", OUT_OF_FDS], cwd=REPO, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ("503 busy: the server is out of file descriptors; try again "
                                "shortly 1")


NO_GRAPHVIZ_PACKAGE = """
import sys
sys.modules["graphviz"] = None  # as if the graphviz package were not installed
from demos.explorer.app import main
main(["--no-browser", "--port", "0"])
"""


def test_the_command_line_refuses_to_start_without_the_graphviz_package():
    r = subprocess.run([sys.executable, "-c", NO_GRAPHVIZ_PACKAGE], cwd=REPO, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and r.stdout == ""
    [line] = r.stderr.splitlines()
    assert line.startswith("error: ") and "the graphviz Python package" in line
    assert "pip install graphviz" in line


def test_the_quick_model_reports_the_test_accuracy_training_measured(monkeypatch, capsys):
    from demos import digits
    from demos.explorer import app

    histories, predictions = [], []
    real_train, real_predict = digits.train, digits.predict_classes
    monkeypatch.setattr(app, "train", lambda *a: histories.append(real_train(*a)) or histories[-1])
    for module in (digits, app):  # wherever a test-set pass could be made
        monkeypatch.setattr(module, "predict_classes",
                            lambda *a: predictions.append(1) or real_predict(*a), raising=False)
    monkeypatch.setattr(app, "QUICK_EPOCHS", 2)
    monkeypatch.setattr(app, "QUICK_HIDDEN", [4, 4])
    model, about = app.quick_model(seed=0)
    [history] = histories
    acc = history["test"][-1]
    assert len(predictions) == 2  # one pass over the test set an epoch, none more
    X, y = load_digits()
    _, X_test, _, y_test = train_test_split(X, y, TEST_FRACTION, seed=SPLIT_SEED)
    assert acc == accuracy(predict_classes(model, X_test), y_test)  # the model as it stays
    assert about.endswith(f"test accuracy {acc:.1%}")
    assert f"test accuracy {acc:.1%}" in capsys.readouterr().out


# --- POST /api/paths: why a weight's gradient is what it is ------------------------------------


def test_paths_add_up_to_the_gradient_backward_gives(server, three):
    pixels, _ = three
    name = "layers.0.neurons.3.w.20"
    status, _, d = request(server, "POST", "/api/paths",
                           {"pixels": pixels, "target": 3, "weight": name, "k": 4})
    assert status == 200 and d["weight"] == name and len(d["paths"]) == 4
    grad = backward_grads(untrained(), pixels, 3)[name]
    assert d["total"] == grad
    contributions = [p["contribution"] for p in d["paths"]]
    assert [p["running"] for p in d["paths"]] == [
        math.fsum(contributions[: i + 1]) for i in range(4)]
    assert abs(math.fsum([*contributions, d["remainder"]]) - grad) <= 1e-15 * (
        abs(grad) + math.fsum(map(abs, contributions)))
    assert d["count"] == "352" and d["others"] == "348" and d["edges"] > 352
    for p in d["paths"]:  # loss -> output -> hidden 2 -> hidden 1 (the weight's neuron) -> w
        names = [h["name"] for h in p["hops"]]
        assert names[0] == "loss" and names[1].startswith("output ") and names[-1] == name
        assert names[-2] == "layers.0.neurons.3"
        assert math.prod(h["local"] for h in p["hops"][1:]) == pytest.approx(
            p["contribution"], rel=1e-12)
    assert f"Why d loss / d {name}" in d["svg"] and 'id="path0"' in d["svg"]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"weight": "layers.0.neurons.3.b"}, "paths: weight must name a connection's weight"),
        ({"weight": 7}, "paths: weight must name a connection's weight, as"),
        ({"weight": "layers.5.neurons.0.w.0"}, "paths: weight 'layers.5.neurons.0.w.0' is not"),
        ({"weight": "layers.0.neurons.0.w.0", "k": 0}, "paths: k must be an int in [1, 20]"),
        ({"weight": "layers.0.neurons.0.w.0", "k": 21}, "paths: k must be an int in [1, 20]"),
        ({}, "paths: missing field 'weight'"),
        ({"weight": "layers.0.neurons.0.w.0", "step": 2}, "paths: unknown field"),
    ],
)
def test_paths_refuses_bad_requests(server, three, extra, fragment):
    pixels, _ = three
    status, _, d = request(server, "POST", "/api/paths", {"pixels": pixels, "target": 3, **extra})
    assert status == 400 and fragment in d["error"], d


# --- POST /api/train and /api/pause: minibatch SGD a chunk at a time, bounded -------------------


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits()
    return train_test_split(X, y, TEST_FRACTION, seed=SPLIT_SEED)


def by_hand(model: MLP, X: list, y: list, lr: float, batches: list) -> list[float]:
    """Minibatch SGD written out: mean cross-entropy over each batch, p -= lr * grad."""
    losses = []
    for batch in batches:
        loss = vsum([cross_entropy(model(X[i]), y[i]) for i in batch]) / len(batch)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
        losses.append(loss.data)
    return losses


def measured(model: MLP, X: list, y: list) -> tuple[float, float]:
    """Accuracy and mean loss on (X, y), computed apart from the explorer."""
    acc = accuracy(predict_classes(model, X), y)
    with no_grad():
        losses = [cross_entropy(model(x), t).data for x, t in zip(X, y)]
    return acc, math.fsum(losses) / len(y)


def test_training_is_minibatch_sgd_as_written_by_hand(three, digits_split, monkeypatch):
    monkeypatch.setattr(api, "TRAIN_SECONDS", 60.0)  # the step counts, not the clock, decide
    X_train, _, y_train, _ = digits_split
    pixels, _ = three
    srv = start(few_test_digits(Explorer(untrained()), 40))
    X_test, y_test = srv.explorer.test_set
    try:
        sid = new_session(srv)
        body = {"session": sid, "lr": 0.5, "batch_size": 16, "steps": 3}
        status, _, r = request(srv, "POST", "/api/train", body)
        assert status == 200 and r["steps"] == 3 and r["stopped"] == "steps"
        assert (r["first_step"], r["sgd_steps"], r["train_steps"], r["epoch"], r["seen"]) == (
            1, 3, 3, 1, 48)
        batches = minibatches(len(X_train), 16, random.Random(0))  # as the explorer's: seeded
        model = untrained()
        acc, loss = measured(model, X_test, y_test)
        assert r["test_before"]["accuracy"] == acc
        assert r["test_before"]["loss"] == pytest.approx(loss, rel=1e-12)
        assert r["losses"] == by_hand(model, X_train, y_train, 0.5, [next(batches) for _ in "abc"])
        acc, loss = measured(model, X_test, y_test)
        assert r["test"]["accuracy"] == acc and r["test"]["loss"] == pytest.approx(loss, rel=1e-12)
        assert r["test"]["correct"] == round(acc * 40) and sum(r["test"]["read_as"]) == 40
        # The next chunk goes on with the same pass over the data; the page's views see it.
        _, _, r2 = request(srv, "POST", "/api/train", {**body, "steps": 2})
        assert r2["first_step"] == 4 and r2["test_before"] == r["test"]
        assert r2["losses"] == by_hand(model, X_train, y_train, 0.5, [next(batches) for _ in "ab"])
        _, _, d = request(srv, "POST", "/api/predict", {"pixels": pixels, "session": sid})
        assert d["probabilities"] == engine.forward(model, pixels).probs and d["sgd_steps"] == 5
        # Another batch size starts a new pass; reset forgets the training.
        _, _, r3 = request(srv, "POST", "/api/train", {**body, "batch_size": 8, "steps": 1})
        assert r3["epoch"] == 2 and r3["seen"] == 5 * 16 + 8
        request(srv, "POST", "/api/reset", {"session": sid})
        _, _, r4 = request(srv, "POST", "/api/train", {**body, "steps": 1})
        assert r4["first_step"] == 1 and r4["epoch"] == 1 and r4["losses"] == r["losses"][:1]
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_chunk_stops_at_its_time_budget_after_one_step(server, monkeypatch):
    monkeypatch.setattr(api, "TRAIN_SECONDS", 0.0)
    sid = new_session(server)
    status, _, r = request(server, "POST", "/api/train",
                           {"session": sid, "lr": 0.1, "batch_size": 4, "steps": 100})
    assert status == 200 and r["steps"] == 1 and r["stopped"] == "time"


def test_a_pages_training_steps_are_capped_until_it_resets():
    srv = start(few_test_digits(Explorer(untrained(), max_train_steps=3)))
    try:
        sid = new_session(srv)
        body = {"session": sid, "lr": 0.1, "batch_size": 2, "steps": 2}
        assert request(srv, "POST", "/api/train", body)[2]["stopped"] == "steps"
        _, _, r = request(srv, "POST", "/api/train", body)
        assert r["steps"] == 1 and r["stopped"] == "limit" and r["train_steps"] == 3
        status, _, answer = request(srv, "POST", "/api/train", body)
        check_refusal(status, answer, "train: this page's model has taken the limit of 3 "
                      "training steps; reset it to train again", 409)
        assert request(srv, "POST", "/api/reset", {"session": sid})[0] == 200
        assert request(srv, "POST", "/api/train", body)[2]["steps"] == 2
    finally:
        srv.shutdown()
        srv.server_close()


def test_pages_training_at_once_are_capped(monkeypatch):
    srv = start(few_test_digits(Explorer(untrained(), max_training=1)))
    try:
        a, b = new_session(srv), new_session(srv)
        body = {"lr": 0.1, "batch_size": 2, "steps": 1}
        assert request(srv, "POST", "/api/train", {**body, "session": a})[0] == 200
        assert srv.explorer.training() == 1  # a keeps its place between its chunks
        status, headers, answer = request(srv, "POST", "/api/train", {**body, "session": b})
        check_refusal(status, answer, "train: busy: 1 other page is training (at most 1 at "
                      "once); try again when one pauses", 503)
        assert headers["Retry-After"] == "2"
        assert request(srv, "POST", "/api/train", {**body, "session": a})[0] == 200
        assert request(srv, "POST", "/api/pause", {"session": a})[0] == 200  # a lets go
        assert srv.explorer.training() == 0
        assert request(srv, "POST", "/api/train", {**body, "session": b})[0] == 200
        monkeypatch.setattr(api, "LEASE_SECONDS", 0.0)  # b's next chunk holds no place after
        assert request(srv, "POST", "/api/train", {**body, "session": b})[0] == 200
        time.sleep(0.01)
        assert request(srv, "POST", "/api/train", {**body, "session": a})[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_step_that_overflows_changes_nothing_and_is_said(digits_split):
    X_train, _, y_train, _ = digits_split
    model = untrained()
    model.get_parameter("layers.2.neurons.0.b").data = 1e308  # logits of +-1e308: the
    model.get_parameter("layers.2.neurons.1.b").data = -1e308  # forward pass overflows
    before = model.state_dict()
    trainer = engine.Trainer(model, X_train, y_train)
    r = trainer.run(0.1, 4, 10, time.monotonic() + 60)
    assert r["losses"] == [] and r["stopped"] == "diverged" and trainer.steps == 0
    assert r["message"].startswith("training step 1 (lr 0.1) diverged: ")
    assert "overflows" in r["message"]
    assert model.state_dict() == before and all(p.grad == 0.0 for p in model.parameters())


def test_a_huge_rate_ends_training_at_the_step_that_overflows(digits_split):
    X_train, _, y_train, _ = digits_split
    model = untrained()
    trainer = engine.Trainer(model, X_train, y_train)
    r = trainer.run(1e308, 4, 10, time.monotonic() + 60)
    assert r["stopped"] == "diverged" and 0 < len(r["losses"]) == trainer.steps < 10
    assert r["message"].startswith(f"training step {trainer.steps + 1} (lr 1e+308) diverged: ")
    assert all(math.isfinite(p.data) for p in model.parameters())


def test_a_too_large_learning_rate_shows_its_harm_on_the_test_set(three, monkeypatch):
    """Trained to about 80%, one step at lr=10 on a "3" makes that "3" certain and reads
    every test digit as a 3: the page shows both."""
    monkeypatch.setattr(api, "TRAIN_SECONDS", 60.0)
    pixels, _ = three
    srv = start(Explorer(MLP(64, [16, 10], seed=0), "small"))
    try:
        sid = new_session(srv)
        _, _, t = request(srv, "POST", "/api/train",
                          {"session": sid, "lr": 0.5, "batch_size": 16, "steps": 40})
        assert t["test"]["accuracy"] > 0.75
        _, _, r = request(srv, "POST", "/api/sgd",
                          {"pixels": pixels, "target": 3, "lr": 10, "session": sid})
        assert r["test"]["before"] == t["test"]
        assert r["after"]["p_target"] > 0.99 > r["before"]["p_target"]  # better on this digit
        after = r["test"]["after"]
        assert after["accuracy"] < 0.2 and after["read_as"][3] > 0.9 * 359  # ruined on the rest
    finally:
        srv.shutdown()
        srv.server_close()


def train_cases():
    sid = "a" * 22
    good = {"session": sid, "lr": 0.5, "batch_size": 32, "steps": 10}
    cases = [
        ({**good, "lr": 0}, "train: lr must be a finite number in (0, 10], got 0"),
        ({**good, "lr": 10.5}, "train: lr must be a finite number in (0, 10], got 10.5"),
        ({**good, "lr": "0.5"}, "got '0.5'"),
        ({**good, "lr": None}, "got null"),
        ({**good, "batch_size": 0}, "train: batch_size must be an int in [1, 128], got 0"),
        ({**good, "batch_size": 129}, "got 129"),
        ({**good, "batch_size": 2.5}, "got 2.5"),
        ({**good, "batch_size": 32.0}, "got 32.0"),
        ({**good, "batch_size": True}, "got true"),
        ({**good, "steps": 0}, "train: steps must be an int in [1, 100], got 0"),
        ({**good, "steps": 101}, "got 101"),
        ({**good, "steps": [1]}, "got a list of 1"),
        ({k: v for k, v in good.items() if k != "lr"}, "train: missing field 'lr'"),
        ({k: v for k, v in good.items() if k != "batch_size"}, "train: missing field 'batch_size'"),
        ({k: v for k, v in good.items() if k != "session"}, "train: missing field 'session'"),
        ({**good, "session": "../x"}, "session: expected a session id string"),
        ({**good, "epochs": 3}, "train: unknown field 'epochs'"),
        ([], "train: the body must be a JSON object, got a list of 0"),
    ]
    return [pytest.param(body, msg, id=f"{i}") for i, (body, msg) in enumerate(cases)]


@pytest.mark.parametrize("body, fragment", train_cases())
def test_train_refuses_bad_fields(server, body, fragment):
    status, _, answer = request(server, "POST", "/api/train", json.dumps(body))
    check_refusal(status, answer, fragment)


@pytest.mark.parametrize(
    "path, body, code, fragment",
    [
        ("/api/train", {"session": "nope", "lr": 0.5, "batch_size": 32}, 404,
         "session: unknown or expired session"),
        ("/api/pause", {}, 400, "pause: missing field 'session'"),
        ("/api/pause", {"session": "nope"}, 404, "session: unknown or expired"),
        ("/api/pause", {"session": "nope", "lr": 1}, 400, "pause: unknown field 'lr'"),
        ("/api/reset", {"session": "nope", "fresh": "yes"}, 400,
         "reset: fresh must be true or false, got 'yes'"),
        ("/api/reset", {"session": "nope", "fresh": 1}, 400, "got 1"),
    ],
)
def test_pause_and_reset_refuse_bad_fields(server, path, body, code, fragment):
    status, _, answer = request(server, "POST", path, body)
    check_refusal(status, answer, fragment, code)


@pytest.mark.parametrize("path", ["/api/train", "/api/pause"])
def test_train_and_pause_are_post_only(server, path):
    status, headers, answer = request(server, "GET", path)
    check_refusal(status, answer, "method not allowed", 405)
    assert headers["Allow"] == "POST"


def test_reset_to_fresh_weights_is_seeded_and_reset_goes_back(server, three):
    pixels, _ = three
    sid = new_session(server)
    assert request(server, "POST", "/api/reset", {"session": sid, "fresh": True})[0] == 200
    _, _, d = request(server, "POST", "/api/predict", {"pixels": pixels, "session": sid})
    fresh = MLP(64, [32, 32, 10], seed=api.FRESH_SEED)
    assert d["probabilities"] == engine.forward(fresh, pixels).probs
    request(server, "POST", "/api/reset", {"session": sid})
    _, _, back = request(server, "POST", "/api/predict", {"pixels": pixels, "session": sid})
    assert back["probabilities"] == engine.forward(untrained(), pixels).probs
