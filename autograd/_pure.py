"""Import the engine's ``.py`` files even where a compiled build sits next to them.

Used by ``autograd/__init__.py`` when ``VALUEGRAD_PURE=1``: a finder placed first
on ``sys.meta_path`` loads every ``autograd.*`` module from its source file.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class SourceFinder(importlib.abc.MetaPathFinder):
    """Finds ``package``'s submodules as ``.py`` files only."""

    def __init__(self, package: str, path: Sequence[str]) -> None:
        self.package = package
        self.path = list(path)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        head, _, name = fullname.rpartition(".")
        if head != self.package:
            return None
        for folder in self.path:
            source = Path(folder) / f"{name}.py"
            if source.is_file():
                return importlib.util.spec_from_file_location(fullname, source)
        return None


def prefer_sources(package: str, path: Sequence[str]) -> None:
    """Make every later import of ``package.X`` load ``X.py``."""
    if not any(isinstance(f, SourceFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, SourceFinder(package, path))
