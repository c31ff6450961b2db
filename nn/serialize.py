"""The model file format, and validation of parameter states.

A model file is JSON (never pickle, so loading one cannot run code)::

    {"format": "valuegrad.model", "version": 1,
     "architecture": {"class": "MLP", "nin": 64, "nouts": [32, 32, 10],
                      "activation": "relu", "output_activation": "linear"},
     "parameters": {"layers.0.neurons.0.w.0": 0.123, ...}}

Floats are written with ``repr`` precision, so a save/load round trip is exact.
Files are written atomically (a temp file in the same directory, then
``os.replace``), so a crash mid-save leaves the previous file intact.  Loading
validates everything before touching the model: a bad file raises
:class:`ModelLoadError` naming the first bad key and leaves the model unchanged.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

from autograd.files import write_atomic

if TYPE_CHECKING:
    from autograd import Value

    from .module import Module

FORMAT = "valuegrad.model"
VERSION = 1

PathLike = Union[str, "os.PathLike[str]"]


class ModelLoadError(ValueError):
    """A state dict or model file does not fit the model; ``.key`` names the first bad key."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def _kind(x: Any) -> str:
    return f"{x!r} ({type(x).__name__})"


def _number(x: Any) -> float | None:
    """``x`` as a finite float, or None if it is not one (bools are not numbers here)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return None
    try:
        f = float(x)
    except (OverflowError, ValueError):
        return None
    return f if math.isfinite(f) else None


def check_state(
    state: Any, named: Sequence[tuple[str, Value]], where: str = "load_state_dict"
) -> list[float]:
    """Validate ``state`` against ``named`` parameters; return the floats in model order.

    Raises :class:`ModelLoadError` naming the first missing, unexpected or
    non-numeric key.  Nothing is assigned here, so callers can validate fully
    before they change anything.
    """
    if not isinstance(state, Mapping):
        raise ModelLoadError(
            f"{where}: expected a mapping of parameter names to numbers, got {type(state).__name__}"
        )
    values = []
    for name, _ in named:
        if name not in state:
            raise ModelLoadError(
                f"{where}: missing parameter {name!r} (model has {len(named)} parameters, "
                f"the state has {len(state)})",
                name,
            )
        f = _number(state[name])
        if f is None:
            raise ModelLoadError(
                f"{where}: parameter {name!r} must be a finite number, got {_kind(state[name])}",
                name,
            )
        values.append(f)
    if len(state) != len(named):
        known = {name for name, _ in named}
        extra = next(k for k in state if k not in known)
        raise ModelLoadError(
            f"{where}: unexpected parameter {extra!r}, which this model does not have "
            f"(model has {len(named)} parameters, the state has {len(state)})",
            str(extra),
        )
    return values


# --- writing -------------------------------------------------------------------------


def model_document(model: Module) -> dict:
    """The JSON-ready document for ``model``."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "architecture": model._architecture(),
        "parameters": model.state_dict(),
    }


def write_json_atomic(path: PathLike, document: Any) -> None:
    """Write ``document`` as JSON to ``path`` atomically (temp file + ``os.replace``)."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            # allow_nan=False: NaN/Infinity are not JSON, and never a trained weight
            json.dump(document, f, indent=1, allow_nan=False)
            f.write("\n")

    write_atomic(path, write)


def save(model: Module, path: PathLike) -> None:
    """Write ``model`` to ``path`` (JSON, atomically)."""
    write_json_atomic(path, model_document(model))


# --- reading -------------------------------------------------------------------------


def _no_duplicates(pairs: list) -> dict:
    out = {}
    for k, v in pairs:
        if k in out:
            raise ModelLoadError(f"duplicate key {k!r} in the file", k)
        out[k] = v
    return out


def read_document(path: PathLike) -> dict:
    """Parse and check the envelope of a model file (format, version, sections)."""
    where = str(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise ModelLoadError(f"{where}: not a text (UTF-8 JSON) file: {e}") from None
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise ModelLoadError(
            f"{where}: not valid JSON (truncated or corrupt?): {e.msg} at line {e.lineno} "
            f"column {e.colno}"
        ) from None
    except ModelLoadError as e:
        raise ModelLoadError(f"{where}: {e}", e.key) from None
    if not isinstance(doc, dict):
        raise ModelLoadError(f"{where}: expected a JSON object at top level, got {_json_type(doc)}")
    for key, want in _SECTIONS:
        if key not in doc:
            raise ModelLoadError(f"{where}: missing key {key!r}", key)
        if not isinstance(doc[key], want) or isinstance(doc[key], bool):
            raise ModelLoadError(
                f"{where}: {key!r} must be a JSON {_JSON_NAMES[want]}, got {_kind(doc[key])}", key
            )
    if doc["format"] != FORMAT:
        raise ModelLoadError(
            f"{where}: 'format' is {doc['format']!r}, expected {FORMAT!r}", "format"
        )
    if doc["version"] != VERSION:
        raise ModelLoadError(
            f"{where}: 'version' is {doc['version']!r}, this valuegrad reads version {VERSION}",
            "version",
        )
    return doc


_SECTIONS = (("format", str), ("version", int), ("architecture", dict), ("parameters", dict))
_JSON_NAMES = {str: "string", int: "integer", dict: "object"}


def _json_type(x: Any) -> str:
    return {list: "array", str: "string", int: "number", float: "number"}.get(type(x), "value")


def check_architecture(arch: Mapping[str, Any], expected: Mapping[str, Any], where: str) -> None:
    """Raise naming the first architecture key where the file and the model differ."""
    for key, want in expected.items():
        if key not in arch:
            raise ModelLoadError(f"{where}: architecture is missing {key!r}", f"architecture.{key}")
        got = arch[key]
        if got != want or isinstance(got, bool) != isinstance(want, bool):
            raise ModelLoadError(
                f"{where}: architecture.{key} does not match this model: the file has {got!r}, "
                f"the model has {want!r}",
                f"architecture.{key}",
            )
    for key in arch:
        if key not in expected:
            raise ModelLoadError(
                f"{where}: architecture has unexpected key {key!r}", f"architecture.{key}"
            )


def load_into(model: Module, path: PathLike) -> None:
    """Load ``path`` into ``model`` in place; on any error the model is untouched."""
    _assign(model, read_document(path), str(path))


def _assign(model: Module, doc: dict, where: str) -> None:
    check_architecture(doc["architecture"], model._architecture(), where)
    named = model.named_parameters()
    try:
        values = check_state(doc["parameters"], named, where)
    except ModelLoadError as e:
        raise ModelLoadError(str(e), f"parameters.{e.key}" if e.key else "parameters") from None
    for (_, p), v in zip(named, values):
        p.data = v


def load_model(path: PathLike) -> Module:
    """Build a model from a file without knowing its architecture in advance."""
    from .layers import BUILDERS

    doc = read_document(path)
    arch = doc["architecture"]
    name = arch.get("class")
    builder = BUILDERS.get(name) if isinstance(name, str) else None
    if builder is None:
        raise ModelLoadError(
            f"{path}: architecture.class is {name!r}; can build {sorted(BUILDERS)} from a file "
            "(for your own Module subclass, build it and call model.load(path))",
            "architecture.class",
        )
    try:
        # Count first: building a huge architecture before noticing that a tiny file
        # cannot fill it would take minutes and gigabytes (or never finish).
        implied = builder._parameter_count(arch)
        found = len(doc["parameters"])
        if implied != found:
            raise ModelLoadError(
                f"{path}: the architecture implies {implied:,} parameters, but the file has "
                f"{found:,}",
                "parameters",
            )
        model = builder._from_architecture(arch)
    except ModelLoadError:
        raise  # a ValueError too, but it already says what is wrong
    except KeyError as e:
        raise ModelLoadError(
            f"{path}: architecture is missing {e.args[0]!r}", f"architecture.{e.args[0]}"
        ) from None
    except (TypeError, ValueError) as e:
        raise ModelLoadError(f"{path}: bad architecture: {e}", "architecture") from None
    _assign(model, doc, str(path))
    return model
