"""Import the engine's ``.py`` files even where a compiled build sits next to them.

Used by ``autograd/__init__.py`` when ``VALUEGRAD_PURE=1``, and when the build is
stale: a finder placed first on ``sys.meta_path`` loads every ``autograd.*``
module from its source file.

A build records the SHA-256 of each source it compiled (:data:`MANIFEST`).  A
learner who edits ``rules.py`` after building (the README sends them to
``TANH =``) would otherwise run the old extension module without a word; at
import, a source that no longer matches its build makes ``autograd`` warn and
run the ``.py`` files (:func:`stale_sources`).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.util
import json
import os
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


# The modules the compiled build compiles (python -m autograd._build).
COMPILED_MODULES = ("node", "checks", "kinds", "rules", "backward", "value")
MANIFEST = "compiled-sources.json"  # beside the modules: the digest of each compiled source


def source_digests(folder: str | Path) -> dict[str, str]:
    """The SHA-256 of each compiled module's source (its ``.py`` file) in ``folder``."""
    return {
        name: hashlib.sha256((Path(folder) / f"{name}.py").read_bytes()).hexdigest()
        for name in COMPILED_MODULES
    }


def has_build(folder: str | Path) -> bool:
    """Whether an extension module of the compiled build sits in ``folder``."""
    names = os.listdir(folder)
    return any(
        n.startswith(f"{m}.") and n.endswith((".so", ".pyd")) for n in names
        for m in COMPILED_MODULES
    )


def stale_sources(folder: str | Path) -> list[str]:
    """The compiled modules whose source changed since the build in ``folder``
    (all of them if the build recorded nothing); none if there is no build."""
    if not has_build(folder):
        return []
    try:
        built = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError):
        return list(COMPILED_MODULES)
    now = source_digests(folder)
    return [name for name in COMPILED_MODULES if built.get(name) != now[name]]
