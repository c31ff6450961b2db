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
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

from autograd import checks
from autograd.checks import describe, short
from autograd.files import write_atomic

if TYPE_CHECKING:
    from autograd import Value

    from .module import Module

FORMAT = "valuegrad.model"
VERSION = 1

PathLike = Union[str, "os.PathLike[str]"]

# The model classes a file can be built into, by name: ``nn.layers`` registers
# Neuron, Layer and MLP when imported (this module sits below it).
BUILDERS: dict[str, type[Module]] = {}


def register_buildable(*classes: type[Module]) -> None:
    """Let :func:`load_model` build ``classes`` from a file's ``architecture.class``."""
    for cls in classes:
        BUILDERS[cls.__name__] = cls


class ModelLoadError(ValueError):
    """A state dict or model file does not fit the model; ``.key`` names the first bad key."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


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
                f"{where}: missing parameter {short(name)} (model has {len(named)} parameters, "
                f"the state has {len(state)})",
                name,
            )
        f = _number(state[name])
        if f is None:
            raise ModelLoadError(
                f"{where}: parameter {short(name)} must be a finite number, "
                f"got {describe(state[name])}",
                name,
            )
        values.append(f)
    if len(state) != len(named):
        known = {name for name, _ in named}
        extra = [k for k in state if k not in known]
        if not extra:  # every key matched, yet the sizes differ: a Mapping that miscounts
            raise ModelLoadError(
                f"{where}: the state says it has {len(state)} entries but holds the "
                f"model's {len(named)} parameters"
            )
        raise ModelLoadError(
            f"{where}: unexpected parameter {short(extra[0])}, which this model does not have "
            f"(model has {len(named)} parameters, the state has {len(state)})",
            str(extra[0]),
        )
    return values


# --- writing -------------------------------------------------------------------------


def model_document(model: Module, path: PathLike | None = None) -> dict:
    """The JSON-ready document for ``model``; a non-finite parameter is refused by name."""
    state = model.state_dict()
    for name, x in state.items():
        if not math.isfinite(x):  # JSON has no NaN, and a NaN weight is never wanted
            unwritten = f"; '{os.fspath(path)}' was not written" if path is not None else ""
            raise ValueError(f"save: parameter {name} is not finite, got {x!r}{unwritten}")
    return {
        "format": FORMAT,
        "version": VERSION,
        "architecture": model._architecture(),
        "parameters": state,
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
    write_json_atomic(path, model_document(model, path))


# --- reading -------------------------------------------------------------------------


# What loading may cost is bounded before anything is parsed: the file's size (a model
# file holds about one parameter per line), then its shape.  JSON's parser makes one
# Python object per value, and a value can be 3 bytes of file ("{},") for 100 bytes of
# memory, so a file under the size cap may still hold tens of millions of them.  A model
# file has a handful of objects and arrays and one number per parameter: more containers
# or values than that is no model file, and is refused by counting characters, at C
# speed, before the parser builds anything.  docs/benchmarks.md has the measured peaks.
MAX_FILE_BYTES = 64 * 2**20
MAX_DEPTH = 32  # the format nests 3 deep; a user Module's architecture may add a few
MAX_CONTAINERS = 10_000  # JSON objects and arrays: an MLP's file has one per layer at most
MAX_VALUES = 2**21  # members and elements: a 64 MB file as save() writes it has ~1.2 million

# A JSON string (escapes included): what the counts must not look inside.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


def _no_duplicates(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):  # rare: only then look for the culprit
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise ModelLoadError(f"duplicate key {short(k)} in the file", k)
            seen.add(k)
    return out


def _check_shape(text: str, where: str) -> None:
    """Refuse, before parsing, a document with more containers or values than a model file.

    The counts of ``{``, ``[`` and ``,`` bound them from above; only when a bound
    is over its limit are they counted again outside strings (where a name may
    hold any character), a megabyte at a time, so a genuine file costs three
    scans of its text and a refused one little more memory than its text.
    """
    containers = text.count("{") + text.count("[")
    values = text.count(",") + containers  # each container holds commas + 1 values at most
    if containers <= MAX_CONTAINERS and values <= MAX_VALUES:
        return
    if "\\" not in text:  # no escaped quote: every two quotes make a string
        # Each string is a key or a value, and each key has a value: at least half are values.
        least = text.count('"') // 4
        if least > MAX_VALUES:
            raise ModelLoadError(
                f"{where}: not a model file: it holds at least {least:,} JSON values, more "
                f"than a model file may ({MAX_VALUES:,}: one per parameter)"
            )
    containers = values = 0
    for bare in _outside_strings(text):
        containers += bare.count("{") + bare.count("[")
        values += bare.count(",")
    values += containers
    if containers > MAX_CONTAINERS:
        raise ModelLoadError(
            f"{where}: not a model file: it holds {containers:,} JSON objects and arrays "
            f"(a model file has a few; at most {MAX_CONTAINERS:,} are read)"
        )
    if values > MAX_VALUES:
        raise ModelLoadError(
            f"{where}: not a model file: it holds about {values:,} JSON values, more than a "
            f"model file may ({MAX_VALUES:,}: one per parameter)"
        )


_CHUNK = 2**20


def _outside_strings(text: str) -> Iterator[str]:
    """``text`` without its JSON strings, in pieces of about a megabyte.

    Each piece starts outside a string: without backslashes (no escaped quote) a
    position is outside one exactly when an even number of quotes precede it.
    With them, the text goes whole (one regex pass, which keeps every piece
    between two strings: more memory, for files no valuegrad save writes).
    """
    if "\\" in text:
        yield _STRING.sub("", text)
        return
    pos, n = 0, len(text)
    while pos < n:
        end = min(pos + _CHUNK, n)
        if text.count('"', pos, end) % 2:  # end is inside a string: go past its closing quote
            close = text.find('"', end)
            end = n if close < 0 else close + 1
        yield _STRING.sub("", text[pos:end])
        pos = end


def _read_text(path: PathLike, where: str) -> str:
    """The file's text; anything but a regular UTF-8 file of sane size is a ModelLoadError."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise  # a plain, familiar error: the name is wrong, not the file
    if stat.S_ISDIR(info.st_mode):
        raise ModelLoadError(f"{where}: is a folder, not a model file")
    if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
        raise ModelLoadError(f"{where}: not a regular file, so not a model file")
    if info.st_size > MAX_FILE_BYTES:
        raise ModelLoadError(
            f"{where}: {info.st_size:,} bytes is larger than a model file may be "
            f"({MAX_FILE_BYTES:,} bytes)"
        )
    limit = MAX_FILE_BYTES + 1
    with open(path, "rb") as f:
        # Sized to the file: read(n) sets aside n bytes before it reads one.
        data = f.read(min(info.st_size + 1, limit))
        if info.st_size < len(data) < limit:  # it has grown since the stat
            data += f.read(limit - len(data))
    if len(data) > MAX_FILE_BYTES:
        raise ModelLoadError(f"{where}: larger than a model file may be ({MAX_FILE_BYTES:,} bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ModelLoadError(f"{where}: not a text (UTF-8 JSON) file: {e}") from None


def _too_deep(doc: Any) -> bool:
    """Whether ``doc`` nests lists/objects more than MAX_DEPTH deep (walked without recursion)."""
    stack = [(doc, 0)]
    while stack:
        x, depth = stack.pop()
        if isinstance(x, (dict, list)):
            if depth >= MAX_DEPTH:
                return True
            stack.extend((v, depth + 1) for v in (x.values() if isinstance(x, dict) else x)
                         if isinstance(v, (dict, list)))
    return False


def _parse(text: str, where: str) -> Any:
    _check_shape(text, where)
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise ModelLoadError(
            f"{where}: not valid JSON (truncated or corrupt?): "
            f"{e.msg[:-3] if e.msg.endswith(' at') else e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except ModelLoadError as e:
        raise ModelLoadError(f"{where}: {e}", e.key) from None
    except RecursionError:  # the C parser recurses once per level of [ or {
        raise ModelLoadError(
            f"{where}: not a model file: JSON nested too deeply to read"
        ) from None
    except ValueError as e:  # Python's limit on the digits of an int (CVE-2020-10735)
        raise ModelLoadError(
            f"{where}: not a model file: it holds an integer too long to read "
            f"({str(e).split(':')[0]})"
        ) from None
    if _too_deep(doc):
        raise ModelLoadError(
            f"{where}: not a model file: JSON nested more than {MAX_DEPTH} levels deep"
        )
    return doc


def read_document(path: PathLike) -> dict:
    """Parse and check the envelope of a model file (format, version, sections)."""
    checks.path(path, "load")
    where = str(path)
    doc = _parse(_read_text(path, where), where)
    if not isinstance(doc, dict):
        raise ModelLoadError(f"{where}: expected a JSON object at top level, got {_json_type(doc)}")
    for key, want in _SECTIONS:
        if key not in doc:
            raise ModelLoadError(f"{where}: missing key {key!r}", key)
        if not isinstance(doc[key], want) or isinstance(doc[key], bool):
            raise ModelLoadError(
                f"{where}: {key!r} must be a JSON {_JSON_NAMES[want]}, got {describe(doc[key])}",
                key,
            )
    if doc["format"] != FORMAT:
        raise ModelLoadError(
            f"{where}: 'format' is {short(doc['format'])}, expected {FORMAT!r}", "format"
        )
    if doc["version"] != VERSION:
        raise ModelLoadError(
            f"{where}: 'version' is {short(doc['version'])}, this valuegrad reads version "
            f"{VERSION}",
            "version",
        )
    return doc


_SECTIONS = (("format", str), ("version", int), ("architecture", dict), ("parameters", dict))
_JSON_NAMES = {str: "string", int: "integer", dict: "object"}


def _json_type(x: Any) -> str:
    return {list: "array", str: "string", int: "number", float: "number"}.get(type(x), "value")


def _json(x: Any) -> str | None:
    try:
        return json.dumps(x, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None


def check_architecture(arch: Mapping[str, Any], expected: Mapping[str, Any], where: str) -> None:
    """Raise naming the first architecture key where the file and the model differ."""
    for key, want in expected.items():
        if key not in arch:
            raise ModelLoadError(f"{where}: architecture is missing {key!r}",
                                 f"architecture.{key}")
        got = arch[key]
        if _json(got) != _json(want):  # exact: 2.0 is not 2, true is not 1
            raise ModelLoadError(
                f"{where}: architecture.{key} does not match this model: the file has "
                f"{short(got)}, the model has {short(want)}",
                f"architecture.{key}",
            )
    for key in arch:
        if key not in expected:
            raise ModelLoadError(
                f"{where}: architecture has unexpected key {short(key)}", f"architecture.{key}"
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
    doc = read_document(path)
    arch = doc["architecture"]
    name = arch.get("class")
    builder = BUILDERS.get(name) if isinstance(name, str) else None
    if builder is None:
        raise ModelLoadError(
            f"{path}: architecture.class is {short(name)}; can build {sorted(BUILDERS)} from a "
            "file (for your own Module subclass, build it and call model.load(path))",
            "architecture.class",
        )
    try:
        # Count first: building a huge architecture before noticing that a tiny file
        # cannot fill it would take minutes and gigabytes (or never finish).
        implied = builder._parameter_count(arch)  # type: ignore[attr-defined]  # BUILDERS' classes have it
        found = len(doc["parameters"])
        if implied != found:
            raise ModelLoadError(
                f"{path}: the architecture implies {implied:,} parameters, but the file has "
                f"{found:,}",
                "parameters",
            )
        model = builder._from_architecture(arch)  # type: ignore[attr-defined]  # as above
    except ModelLoadError:
        raise  # a ValueError too, but it already says what is wrong
    except KeyError as e:
        raise ModelLoadError(
            f"{path}: architecture is missing {short(e.args[0])}", f"architecture.{e.args[0]}"
        ) from None
    except (TypeError, ValueError, OverflowError) as e:
        text = str(e) if len(str(e)) <= 300 else f"{str(e)[:300]}..."
        raise ModelLoadError(f"{path}: bad architecture: {text}", "architecture") from None
    _assign(model, doc, str(path))
    return model
