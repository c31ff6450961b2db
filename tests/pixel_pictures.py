"""Reading the pixels back from an nn.image_grid picture (for the tests)."""

from __future__ import annotations

import re

from tests.graphviz_check import SVG, svg_root

_RUN = re.compile(r"M(\d+) (\d+)\.5h(\d+)")


def panels(svg: str) -> list[list[str]]:
    """Each panel's pixel colours, row-major, in the order the picture draws the panels."""
    out = []
    for g in svg_root(svg).iter(f"{SVG}g"):
        at = {}
        for path in g.iter(f"{SVG}path"):
            for c, r, n in _RUN.findall(path.get("d")):
                for k in range(int(n)):
                    at[(int(r), int(c) + k)] = path.get("stroke")
        out.append([at[key] for key in sorted(at)])
    return out
