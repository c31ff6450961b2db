"""Shared by the picture tests: who needs the Graphviz executable, and SVG parsing."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET

import pytest

SVG = "{http://www.w3.org/2000/svg}"


def require_dot() -> None:
    """Skip when ``dot`` is missing, except in CI (``CI`` set), where that is a failure."""
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Graphviz: the `dot` executable is not on PATH")
        pytest.skip("Graphviz `dot` is not installed (sudo apt-get install graphviz)")


def svg_root(text: str) -> ET.Element:
    """Parse SVG text (it must be well-formed XML)."""
    return ET.fromstring(text.encode("utf-8"))


def groups(root: ET.Element, cls: str) -> dict[str, ET.Element]:
    """SVG ``<g class=cls>`` elements by their ``<title>`` (Graphviz's node or edge name)."""
    out = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == cls:
            title = g.find(f"{SVG}title")
            out[title.text if title is not None else g.get("id")] = g
    return out


def texts(el: ET.Element) -> list[str]:
    """The text lines drawn inside ``el``, no-break spaces read as spaces."""
    return [(t.text or "").replace("\xa0", " ") for t in el.iter(f"{SVG}text")]


def lines(spans: list[ET.Element]) -> list[str]:
    """The text of SVG ``<text>`` elements, consecutive ones on one baseline joined.

    Graphviz draws a line as several spans when its font changes mid-line.
    """
    out: list[list] = []
    for t in spans:
        text = (t.text or "").replace("\xa0", " ")
        if out and out[-1][0] == t.get("y"):
            out[-1][1] += text
        else:
            out.append([t.get("y"), text])
    return [text for _, text in out]


def fills(el: ET.Element) -> list[str]:
    return [f.lower() for x in el.iter() if (f := x.get("fill")) and f.startswith("#")]
