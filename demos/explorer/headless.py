"""Drive the explorer in headless Chromium (selenium): for its browser test and screenshots.

Needs Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``,
``/usr/bin/chromedriver``) and the ``selenium`` package (the ``test`` extra).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

CHROMIUM = ("chromium", "chromium-browser")
OPTIONS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def missing() -> str | None:
    """Why a headless browser cannot run here, or None if it can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if not any(shutil.which(name) for name in CHROMIUM):
        return "chromium is not installed (apt-get install chromium chromium-driver)"
    if not shutil.which("chromedriver"):
        return "chromedriver is not installed (apt-get install chromium-driver)"
    return None


def chrome(user_data_dir: Path, width: int = 1400, height: int = 1200) -> Any:
    """A fresh headless Chromium with its own profile folder."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = next(shutil.which(n) for n in CHROMIUM if shutil.which(n))
    for arg in (*OPTIONS, f"--window-size={width},{height}", f"--user-data-dir={user_data_dir}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(30)
    return driver


def three_stroke(radius: float = 42.0, steps: int = 14) -> list[tuple[int, int]]:
    """A hand-drawn "3" as one stroke: offsets from the pad's centre, in CSS pixels."""
    points = []
    for k in range(steps + 1):  # the upper bowl, from its left end round to the middle
        a = math.radians(-150 + 240 * k / steps)
        points.append((radius * math.cos(a), -radius + radius * math.sin(a)))
    for k in range(1, steps + 1):  # the lower bowl, from the middle round to its left end
        a = math.radians(-90 + 240 * k / steps)
        points.append((radius * 1.1 * math.cos(a), radius + radius * math.sin(a)))
    return [(round(x), round(y)) for x, y in points]


def draw(driver: Any, pad: Any, points: list[tuple[int, int]]) -> None:
    """Draw one stroke on ``pad`` through ``points`` (offsets from its centre)."""
    from selenium.webdriver.common.action_chains import ActionChains

    chain = ActionChains(driver, duration=20)
    chain.move_to_element_with_offset(pad, *points[0]).click_and_hold()
    for p in points[1:]:
        chain.move_to_element_with_offset(pad, *p)
    chain.release().perform()
