"""Take the README's screenshots of the explorer (needs chromium, chromium-driver, selenium).

Run from the repository root: ``python -m docs.images.make_explorer_screenshot``.
It starts the explorer with the model it trains at start-up, draws a "3" in
headless Chromium, shows backprop's step 2 for target 3, hovers over the
connection with the largest gradient and saves ``docs/images/explorer.png``;
then it starts from random weights, trains (lr 0.2, batches of 32) until 60
steps have passed, pauses and saves the training card and the network beside
it as ``docs/images/explorer_training.png``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from demos.explorer import headless
from demos.explorer.api import Explorer
from demos.explorer.app import quick_model
from demos.explorer.server import serve_in_thread

HERE = Path(__file__).resolve().parent


def idle(driver) -> bool:
    return not driver.execute_script("return state.busy || state.dirty")


def main() -> None:
    why = headless.missing()
    if why:
        raise SystemExit(f"error: {why}")
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import WebDriverWait

    model, about = quick_model(seed=0)
    server, _ = serve_in_thread(Explorer(model, about))
    with tempfile.TemporaryDirectory() as profile:
        driver = headless.chrome(Path(profile), width=1400, height=1100)
        try:
            wait = WebDriverWait(driver, 30)
            driver.get(server.url)
            view = driver.find_element("id", "view")
            wait.until(lambda d: view.get_attribute("data-view") == "forward")
            driver.find_element("id", "clear").click()
            headless.draw(driver, driver.find_element("id", "pad"), headless.three_stroke())
            wait.until(lambda d: idle(d) and "3" == d.find_element("id", "pred-digit").text)
            driver.find_element("css selector", '#target button[data-digit="3"]').click()
            driver.find_element("css selector", '#stepper button[data-step="2"]').click()
            wait.until(lambda d: view.get_attribute("data-step") == "2" and idle(d))
            name = driver.find_element("css selector", "#top-weights tr[data-name]")
            name = name.get_attribute("data-name")
            point = driver.execute_script(
                """const g = document.getElementById(arguments[0]);
                const path = g.querySelector('path.hit'), m = path.getScreenCTM();
                const box = document.getElementById('view').getBoundingClientRect();
                for (let k = 4; k < 36; k++) {
                  const p = path.getPointAtLength(path.getTotalLength() * k / 40);
                  const x = m.a * p.x + m.c * p.y + m.e, y = m.b * p.x + m.d * p.y + m.f;
                  if (document.elementFromPoint(x, y)?.closest('g.edge') === g)
                    return [Math.round(x - box.left - box.width / 2),
                            Math.round(y - box.top - box.height / 2)];
                }
                return [0, 0];""",
                name,
            )
            ActionChains(driver).move_to_element_with_offset(view, *point).perform()
            wait.until(lambda d: d.find_element("id", "tip").is_displayed())
            time.sleep(0.3)
            driver.execute_script("window.scrollTo(0, 0)")
            out = HERE / "explorer.png"
            driver.save_screenshot(str(out))
            print(f"wrote {out}")
            train(driver, wait)
        finally:
            driver.quit()
            server.shutdown()


def train(driver, wait) -> None:
    """Random weights, trained live for 60 steps and paused: the curves and the network."""
    by_id = lambda name: driver.find_element("id", name)  # noqa: E731
    driver.find_element("css selector", '#stepper button[data-step="0"]').click()
    by_id("train-fresh").click()
    wait.until(lambda d: by_id("acc-chart").get_attribute("data-points") == "0" and idle(d))
    by_id("train-toggle").click()
    long_wait = type(wait)(driver, 600)
    long_wait.until(lambda d: int(by_id("train-status").get_attribute("data-steps") or 0) >= 60)
    by_id("train-toggle").click()
    wait.until(lambda d: not d.execute_script("return state.looping") and idle(d))
    bottom = driver.execute_script(
        "return document.querySelector('.train-card').getBoundingClientRect().bottom + scrollY")
    driver.set_window_size(1400, bottom + 160)  # the window's frame takes some of it
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.5)
    out = HERE / "explorer_training.png"
    driver.save_screenshot(str(out))
    compress(out)
    print(f"wrote {out}")


def compress(path: Path) -> None:
    """A 256-colour palette (octree: it keeps the curves' rare greens) makes the tall
    screenshot about a third of the size; without Pillow it stays as Chromium wrote it."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    rgb.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        path, optimize=True)


if __name__ == "__main__":
    main()
