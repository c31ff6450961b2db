"""The explorer in a real browser: headless Chromium, driven by selenium.

Draws a "3" on the pad, checks the prediction and the network view against the
engine, steps through backprop's four steps, hovers over and pins a
connection, and takes an SGD step, checking that a shown weight moved by
exactly -lr x grad.  Screenshots go to ``$EXPLORER_SCREENSHOTS`` (or a pytest
temporary folder): look at them.

Without Chromium the test is skipped, except in CI (``CI=true``), where it fails:
a skipped browser test there would be a check that silently never runs.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from explorer_http import request, start, untrained

from demos.explorer import headless
from nn import cross_entropy

WAIT = 30


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    why = headless.missing()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser test: {why}")
        pytest.skip(why)
    from selenium.webdriver.support.ui import WebDriverWait

    server = start()
    driver = headless.chrome(tmp_path_factory.mktemp("chromium-profile"))
    shots = Path(os.environ.get("EXPLORER_SCREENSHOTS") or tmp_path_factory.mktemp("explorer"))
    shots.mkdir(parents=True, exist_ok=True)
    try:
        driver.get(server.url)
        wait = WebDriverWait(driver, WAIT)
        yield driver, wait, server, shots
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()


def js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def shown_pixels(driver) -> list:
    return json.loads(driver.find_element("id", "grid").get_attribute("data-pixels"))


def svg_texts(driver) -> list[str]:
    return js(driver, "return [...document.querySelectorAll('#view svg text')]"
                      ".map(t => t.textContent)")


def test_draw_step_and_learn_in_a_real_browser(page):
    driver, wait, server, shots = page
    by_id = lambda name: driver.find_element("id", name)  # noqa: E731

    # The page opens on the first test "3", in the forward view.
    wait.until(lambda d: by_id("view").get_attribute("data-view") == "forward")
    assert "test digit" in by_id("pad-caption").text
    first_svg = by_id("view").get_attribute("innerHTML")
    driver.save_screenshot(str(shots / "01_loaded.png"))

    # Draw a "3": the server digitizes it, the answer and the network view follow.
    by_id("clear").click()
    wait.until(lambda d: shown_pixels(d) == [0] * 64)
    headless.draw(driver, by_id("pad"), headless.three_stroke())
    wait.until(lambda d: sum(shown_pixels(d)) > 0 and not js(d, "return state.busy || "
                                                                "state.dirty"))
    wait.until(lambda d: by_id("view").get_attribute("innerHTML") != first_svg)
    pixels = shown_pixels(driver)
    assert all(isinstance(v, int) and 0 <= v <= 16 for v in pixels)
    rows = [pixels[r * 8 : r * 8 + 8] for r in range(8)]
    assert any(rows[0]) and any(rows[7])  # fitted to the full height, as the data is
    status, _, expected = request(server, "POST", "/api/predict", {"pixels": pixels})
    assert status == 200
    assert by_id("pred-digit").text == str(expected["prediction"])
    bars = driver.find_elements("css selector", "#probs .bar-row")
    assert [float(b.get_attribute("data-p")) for b in bars] == expected["probabilities"]
    texts = svg_texts(driver)
    for k, p in enumerate(expected["probabilities"]):  # the output column of the picture
        assert f"{k}: {p:.2f}" in texts
    assert "draw a digit here" not in [e.text for e in driver.find_elements(
        "css selector", ".pad-hint") if e.is_displayed()]
    driver.save_screenshot(str(shots / "02_drawn.png"))

    # Target 3; steps 1..4, each highlighting its layer, nudges and top weights.
    driver.find_element("css selector", '#target button[data-digit="3"]').click()
    grads = backward(pixels, 3)
    for step in (1, 2, 3, 4):
        driver.find_element("css selector", f'#stepper button[data-step="{step}"]').click()
        wait.until(lambda d, s=step: by_id("view").get_attribute("data-step") == str(s)
                   and by_id("explain").get_attribute("data-step") == str(s)
                   and not js(d, "return state.busy || state.dirty"))
        view = by_id("view")
        assert any(t.startswith(f"Backprop step {step}:") for t in svg_texts(driver))
        assert by_id("explain").text.startswith(f"Step {step}:")
        selected = driver.find_element("css selector", "#stepper button.on")
        assert selected.get_attribute("data-step") == str(step)
        nudges = driver.find_elements("css selector", "#nudges tr[data-neuron]")
        tops = driver.find_elements("css selector", "#top-weights tr[data-name]")
        if step == 1:
            assert view.get_attribute("data-layer") == "2" and not tops
            assert len(nudges) == 10
            target_row = driver.find_element("css selector", "#nudges tr.target")
            assert target_row.get_attribute("data-neuron") == "layers.2.neurons.3"
            assert "rise" in target_row.text  # the target's output must rise
        else:
            layer = 4 - step
            assert view.get_attribute("data-layer") == str(layer)
            assert view.get_attribute("data-updates") == f"layers.{layer}"
            assert len(nudges) == (10 if layer == 2 else 32)
            assert all(n.get_attribute("data-neuron").startswith(f"layers.{layer}.")
                       for n in nudges)
            names = [t.get_attribute("data-name") for t in tops]
            assert len(names) == 8 and all(n.startswith(f"layers.{layer}.") for n in names)
            for t in tops:  # each shown gradient is the one backward() computes
                assert float(t.get_attribute("data-grad")) == grads[t.get_attribute("data-name")]
            marked = js(driver, "return [...document.querySelectorAll('#view g.edge.top')]"
                                ".map(g => g.id)")
            assert marked and set(marked) <= set(names)
        driver.save_screenshot(str(shots / f"03_step{step}.png"))

    # Hover over a top weight's connection: its name, value, gradient and product.
    driver.find_element("css selector", '#stepper button[data-step="2"]').click()
    wait.until(lambda d: by_id("view").get_attribute("data-step") == "2"
               and not js(d, "return state.busy || state.dirty"))
    edge = driver.find_element("css selector", "#view g.edge.top path.hit")
    name = edge.find_element("xpath", "..").get_attribute("id")
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).move_to_element(by_id("h-view")).perform()
    dx, dy = point_on(driver, name)
    ActionChains(driver).move_to_element_with_offset(by_id("view"), dx, dy).perform()
    wait.until(lambda d: by_id("tip").is_displayed())
    tip = by_id("tip").find_element("css selector", "table")
    assert tip.get_attribute("data-name") == name and name in tip.text
    assert float(tip.get_attribute("data-grad")) == grads[name]
    upstream, local = float(tip.get_attribute("data-upstream")), float(
        tip.get_attribute("data-local"))
    assert float(tip.get_attribute("data-product")) == upstream * local == grads[name]
    assert "product (trace_backward)" in tip.text and "×" in tip.text
    driver.save_screenshot(str(shots / "04_hover.png"))
    ActionChains(driver).click().perform()  # where the pointer is: on the connection
    pinned = by_id("pinned").find_element("css selector", "table")
    assert pinned.get_attribute("data-name") == name
    assert js(driver, "return document.getElementById(arguments[0]).classList"
                      ".contains('pinned')", name)

    # One SGD step: each shown weight moved by exactly -lr x grad.
    lr = by_id("lr")
    lr.clear()
    lr.send_keys("0.3")
    by_id("sgd").click()
    wait.until(lambda d: d.find_elements("css selector", "#sgd-result tr.moved-row"))
    wait.until(lambda d: "1 SGD step" in by_id("sgd-count").text)
    moved = driver.find_elements("css selector", "#sgd-result tr.moved-row")
    assert len(moved) == 10
    for row in moved:
        old, grad, new, rate = (float(row.get_attribute(f"data-{k}"))
                                for k in ("old", "grad", "new", "lr"))
        assert rate == 0.3 and grad == grads[row.get_attribute("data-name")]
        assert new == old - rate * grad
        shown = row.find_elements("css selector", "td")
        assert float(shown[4].text) == pytest.approx(-rate * grad, abs=5e-7)
    ba = by_id("sgd-result").find_element("css selector", "table.before-after")
    assert ba.find_element("css selector", ".pred-before").text == str(expected["prediction"])
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    driver.save_screenshot(str(shots / "05_sgd.png"))
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def point_on(driver, name: str) -> tuple[int, int]:
    """A point of the connection ``name`` where no other connection lies on top of it,
    as an offset from the centre of the view (where selenium's offsets start)."""
    point = js(driver, """
        const g = document.getElementById(arguments[0]);
        const path = g.querySelector('path.hit');
        g.scrollIntoView({block: 'center'});
        const total = path.getTotalLength(), m = path.getScreenCTM();
        const box = document.getElementById('view').getBoundingClientRect();
        for (let k = 1; k < 40; k++) {
          const p = path.getPointAtLength(total * k / 40);
          const x = m.a * p.x + m.c * p.y + m.e, y = m.b * p.x + m.d * p.y + m.f;
          const hit = document.elementFromPoint(x, y);
          if (hit && hit.closest('g.edge') === g) {
            return [Math.round(x - box.left - box.width / 2),
                    Math.round(y - box.top - box.height / 2)];
          }
        }
        return null;""", name)
    assert point, f"no point of {name} is free to hover over"
    return point[0], point[1]


def backward(pixels: list, target: int) -> dict:
    model = untrained()
    loss = cross_entropy(model([p / 16 for p in pixels]), target)
    loss.backward()
    return {name: p.grad for name, p in model.named_parameters()}


def test_page_uses_nothing_from_the_network(page):
    driver, _, server, _ = page
    urls = js(driver, "return performance.getEntriesByType('resource').map(e => e.name)")
    assert urls and all(re.match(rf"http://127\.0\.0\.1:{server.port}/", u) for u in urls)


def test_a_weights_paths_add_up_to_its_gradient(page):
    """Keyboard: Enter on a top weight opens its paths; they add up to its gradient."""
    import math

    from selenium.webdriver.common.keys import Keys

    driver, wait, _, shots = page
    by_id = lambda name: driver.find_element("id", name)  # noqa: E731
    driver.find_element("css selector", '#stepper button[data-step="4"]').click()
    wait.until(lambda d: by_id("view").get_attribute("data-step") == "4"
               and not js(d, "return state.busy || state.dirty"))
    row = driver.find_element("css selector", "#top-weights tr[data-name]")
    name, grad = row.get_attribute("data-name"), float(row.get_attribute("data-grad"))
    assert row.get_attribute("tabindex") == "0" and row.get_attribute("role") == "button"
    row.send_keys(Keys.ENTER)
    wait.until(lambda d: by_id("paths").get_attribute("data-state") == "shown"
               and by_id("paths").get_attribute("data-weight") == name)
    panel = by_id("paths")
    assert float(panel.get_attribute("data-total")) == grad  # the gradient backward gives
    rows = panel.find_elements("css selector", "tr.path-row")
    contributions = [float(r.get_attribute("data-contribution")) for r in rows]
    assert len(rows) == 5 and contributions == sorted(contributions, key=abs, reverse=True)
    assert float(rows[-1].get_attribute("data-running")) == math.fsum(contributions)
    remainder = float(panel.find_element("css selector", "tr.rest-row")
                      .get_attribute("data-remainder"))
    assert abs(math.fsum([*contributions, remainder]) - grad) <= 1e-15 * (
        abs(grad) + math.fsum(map(abs, contributions)))
    assert name in panel.text and "paths; backward visited" in panel.text
    assert panel.find_elements("css selector", "figure svg g.edge[id^='path']")
    assert f"Why d loss / d {name}" in panel.find_element("css selector", "figure").text
    driver.execute_script("arguments[0].scrollIntoView()", panel)
    driver.save_screenshot(str(shots / "06_paths.png"))

    # A click on a connection in the network opens that weight's paths.
    edge = driver.find_element("css selector", "#view g.edge.top")
    other = edge.get_attribute("id")
    js(driver, "arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))",
       edge.find_element("css selector", "path.hit"))
    wait.until(lambda d: by_id("paths").get_attribute("data-weight") == other
               and by_id("paths").get_attribute("data-state") == "shown")
    # Back to the forward view: no loss, so no paths.
    driver.find_element("css selector", '#stepper button[data-step="0"]').click()
    wait.until(lambda d: by_id("paths").get_attribute("data-state") == "closed")


def test_train_live_pause_and_reset_with_the_keyboard(page, monkeypatch):
    """Minibatch SGD from the page: the curves and the network view move while it trains,
    stop when it pauses, and start again empty after a reset; the controls work from the
    keyboard.  An SGD step reports the whole test set before and after."""
    import time

    from selenium.webdriver.common.keys import Keys

    from demos.explorer import api, engine

    driver, wait, server, shots = page
    # Short chunks measured on 40 test digits: the same code, in less of the suite's time.
    monkeypatch.setattr(api, "TRAIN_SECONDS", 0.3)
    X_test, y_test = server.explorer.test_set
    monkeypatch.setattr(server.explorer, "test_set", (X_test[:40], y_test[:40]))
    by_id = lambda name: driver.find_element("id", name)  # noqa: E731
    active = lambda: driver.switch_to.active_element.get_attribute("id")  # noqa: E731
    chart_path = lambda name: js(driver, "const p = document.querySelector(arguments[0]); "  # noqa: E731
                                         "return p ? p.getAttribute('d') : null",
                                 f"#{name} path")

    def bars() -> list[float]:
        return [float(b.get_attribute("data-p"))
                for b in driver.find_elements("css selector", "#probs .bar-row")]

    driver.find_element("css selector", '#stepper button[data-step="0"]').click()
    by_id("train-reset").click()
    wait.until(lambda d: by_id("acc-chart").get_attribute("data-points") == "0"
               and not js(d, "return state.busy || state.dirty"))
    loaded = bars()

    # Settings typed, then Tab to the start button and Enter.
    lr = by_id("train-lr")
    lr.clear()
    lr.send_keys("0.5")
    size = by_id("batch-size")
    size.clear()
    size.send_keys("16", Keys.TAB)
    assert active() == "train-toggle"
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait.until(lambda d: by_id("train-toggle").get_attribute("data-state") == "running")
    wait.until(lambda d: int(by_id("acc-chart").get_attribute("data-points")) >= 2)
    first = chart_path("acc-chart")
    wait.until(lambda d: chart_path("acc-chart") != first)  # the curves move ...
    wait.until(lambda d: bars() != loaded)  # ... and so does the network's answer
    driver.save_screenshot(str(shots / "07_training.png"))

    # Pause (Enter again): no more chunks, and the page no longer counts as training.
    by_id("train-toggle").send_keys(Keys.ENTER)
    wait.until(lambda d: by_id("train-toggle").get_attribute("data-state") == "paused"
               and not js(d, "return state.looping || state.busy"))
    wait.until(lambda d: server.explorer.training() == 0)
    seen = by_id("loss-chart").get_attribute("data-batch")
    time.sleep(1.0)  # longer than a chunk takes to start and answer
    assert by_id("loss-chart").get_attribute("data-batch") == seen
    steps = int(by_id("train-status").get_attribute("data-steps"))
    sid = js(driver, "return state.session")
    pixels = shown_pixels(driver)
    _, _, mine = request(server, "POST", "/api/predict", {"pixels": pixels, "session": sid})
    assert mine["sgd_steps"] == steps == int(seen) > 0 and mine["probabilities"] == bars()
    assert float(by_id("acc-chart").get_attribute("data-last")) == float(
        by_id("train-status").get_attribute("data-accuracy"))
    assert f"Paused at step {steps}." in by_id("train-status").text

    # Reset (Tab to it, Enter): the loaded model, empty curves.
    by_id("train-toggle").send_keys(Keys.TAB)
    assert active() == "train-reset"
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait.until(lambda d: by_id("acc-chart").get_attribute("data-points") == "0"
               and not js(d, "return state.busy || state.dirty"))
    assert bars() == loaded
    assert request(server, "POST", "/api/predict",
                   {"pixels": pixels, "session": sid})[2]["sgd_steps"] == 0

    # One SGD step at lr = 10: its effect on all the test digits, as the engine measures it.
    lr = by_id("lr")
    lr.clear()
    lr.send_keys("10")
    by_id("sgd").click()
    wait.until(lambda d: d.find_elements("css selector", "#sgd-result .test-after"))
    target = js(driver, "return state.target")
    model = untrained()
    test_set = server.explorer.test_set
    before = engine.evaluate(model, *test_set)["accuracy"]
    engine.sgd_step(model, pixels, target, 10.0)
    after = engine.evaluate(model, *test_set)["accuracy"]
    result = by_id("sgd-result")
    shown = [float(result.find_element("css selector", f".test-{k}").get_attribute(
        "data-accuracy")) for k in ("before", "after")]
    assert shown == [before, after]
    assert f"{100 * after:.1f}%" in result.find_element("css selector", ".test-after").text
    assert by_id("acc-chart").get_attribute("data-points") == "2"  # the step's cliff, drawn
    driver.execute_script("arguments[0].scrollIntoView()", result)
    driver.save_screenshot(str(shots / "08_sgd_test_set.png"))
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
