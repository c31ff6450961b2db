"""The explorer's JSON API, apart from HTTP: request checks, sessions and the endpoints.

Every endpoint takes the decoded JSON body (or the query) and returns a dict to
send as JSON, or raises :class:`ClientError` with a status and a one-line
reason naming the field and what it got.

Models: the loaded model is shared and never changed; ``POST /api/session``
gives a page its own copy, which its SGD steps change.  A session's model is
used under its own lock (so a step cannot interleave with a view of the same
model); the table of sessions has a lock of its own and keeps at most
``max_sessions`` copies, forgetting the least recently used.  Graphviz renders
outside the model locks, at most ``render_slots`` at a time.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Callable

from autograd import checks
from demos.datasets import DIGITS_MAX_LEVEL, load_digits
from demos.digits import SPLIT_SEED, TEST_FRACTION
from nn import MLP, train_test_split

from . import engine

LR_MAX = 10.0
PATHS_K = 5  # paths shown for a weight by default
PATHS_K_MAX = 20
MAX_SESSIONS = 64
SESSION_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


class ClientError(Exception):
    """A request the explorer refuses: an HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def show(x: Any) -> str:
    """A JSON value as an error message names it: short, one line."""
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (int, float)):
        text = repr(x)
    elif isinstance(x, str):
        text = repr(x)
    elif isinstance(x, list):
        return f"a list of {len(x)}"
    elif isinstance(x, dict):
        return "an object"
    else:
        text = type(x).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def check_fields(body: Any, allowed: Sequence[str], where: str) -> dict:
    if not isinstance(body, dict):
        raise ClientError(400, f"{where}: the body must be a JSON object, got {show(body)}")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ClientError(
            400,
            f"{where}: unknown field {show(unknown[0])}; expected "
            + (", ".join(allowed) if allowed else "an empty object"),
        )
    return body


def _checked(check: Callable[..., Any], x: Any, where: str, name: str, **bounds: Any) -> Any:
    """``check(x, where, name, ...)``, an ``autograd.checks`` validator, as a 400.

    The checker decides and says what is wrong; the value is named as the client
    wrote it in JSON (``null``, ``true``, ``a list of 3``) rather than as Python sees it.
    """
    try:
        return check(x, where, name, **bounds)
    except (TypeError, ValueError) as e:
        message, python = str(e), f", got {checks.describe(x)}"
        if message.endswith(python):
            message = f"{message[: -len(python)]}, got {show(x)}"
        raise ClientError(400, message) from None


def real(x: Any, where: str, name: str, lo: float, hi: float, *, lo_open: bool = False) -> float:
    """A JSON number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``); an int stays an int."""
    _checked(checks.number, x, where, name, low=lo, high=hi, low_open=lo_open)
    return x


def whole(x: Any, where: str, name: str, lo: int, hi: int) -> int:
    """A JSON whole number in ``[lo, hi]`` (``3.0`` is not one)."""
    return _checked(checks.integer, x, where, name, low=lo, high=hi)


def numbers(x: Any, where: str, name: str, n: int, lo: float, hi: float) -> list:
    if not isinstance(x, list) or len(x) != n:
        raise ClientError(400, f"{where}: {name} must be a list of {n} numbers, got {show(x)}")
    return [real(v, where, f"{name}[{i}]", lo, hi) for i, v in enumerate(x)]


def required(body: dict, key: str, where: str) -> Any:
    if key not in body:
        raise ClientError(400, f"{where}: missing field {key!r}")
    return body[key]


class Session:
    """A model and the lock that guards it."""

    def __init__(self, model: MLP) -> None:
        self.model = model
        self.lock = threading.Lock()
        self.steps = 0  # SGD steps taken on this copy


class Explorer:
    """The explorer's state and endpoints (see the module docstring for what is shared)."""

    def __init__(
        self,
        model: MLP,
        about: str = "",
        *,
        max_sessions: int = MAX_SESSIONS,
        render_slots: int = 2,
    ) -> None:
        if model.nin != 64 or model.nouts[-1] != 10 or len(model.layers) < 2:
            raise ValueError(
                f"explorer: expected an MLP with 64 inputs, hidden layers and 10 outputs, "
                f"got MLP({model.nin}, {model.nouts})"
            )
        self._state = model.state_dict()
        self._shared = Session(model)
        self.about = about
        self.n_steps = len(model.layers) + 1
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._sessions_lock = threading.Lock()
        self._render = threading.BoundedSemaphore(render_slots)
        X, y = load_digits()
        _, X_test, _, y_test = train_test_split(X, y, TEST_FRACTION, seed=SPLIT_SEED)
        self.test_pixels = [[round(v * DIGITS_MAX_LEVEL) for v in x] for x in X_test]
        self.test_labels = y_test
        # Every view of every page on one scale, so that pictures compare (nn.Scale).
        self.scale = engine.page_scale(model, self.test_pixels, self.test_labels)

    # --- models ---------------------------------------------------------------------------

    def _copy(self) -> MLP:
        base = self._shared.model
        model = MLP(base.nin, base.nouts, base.activation, base.output_activation, seed=0)
        model.load_state_dict(self._state)
        return model

    def _session(self, body: dict, where: str, need: bool = False) -> Session:
        sid = body.get("session")
        if sid is None:
            if need:
                raise ClientError(
                    400, f"{where}: missing field 'session' (POST /api/session gives one)"
                )
            return self._shared
        if not isinstance(sid, str) or not 1 <= len(sid) <= 64 or not set(sid) <= SESSION_CHARS:
            raise ClientError(400, f"session: expected a session id string, got {show(sid)}")
        with self._sessions_lock:
            s = self._sessions.get(sid)
            if s is None:
                raise ClientError(
                    404,
                    "session: unknown or expired session (the server restarted or forgot it); "
                    "POST /api/session for a new one",
                )
            self._sessions.move_to_end(sid)
        return s

    def sessions(self) -> int:
        with self._sessions_lock:
            return len(self._sessions)

    def _pixels(self, body: dict, where: str) -> list:
        has_pixels, has_ink = "pixels" in body, "ink" in body
        if has_pixels == has_ink:
            raise ClientError(
                400,
                f"{where}: send either 'pixels' (64 gray levels 0..16) or 'ink' (64x64 "
                f"coverage 0..255), {'not both' if has_pixels else 'got neither'}",
            )
        if has_pixels:
            if "fit" in body:
                raise ClientError(400, f"{where}: 'fit' goes with 'ink', not with 'pixels'")
            return numbers(body["pixels"], where, "pixels", 64, 0, DIGITS_MAX_LEVEL)
        ink = numbers(body["ink"], where, "ink", engine.INK_SIDE**2, 0, engine.INK_MAX)
        fit = body.get("fit", True)
        if not isinstance(fit, bool):
            raise ClientError(400, f"fit: expected true or false, got {show(fit)}")
        return engine.digitize(ink, fit)

    def _target(self, body: dict, where: str) -> int:
        return whole(required(body, "target", where), where, "target", 0, 9)

    def _svg(self, picture: Any) -> str:
        with self._render:
            return engine.svg_of(picture)

    @staticmethod
    def _drawn(data: dict, svg: str, keep: Sequence[str] = ()) -> None:
        """Keep the numbers of the connections the picture draws (and of ``keep``)."""
        conns = data["connections"]
        names = [*engine.drawn_edges(svg), *keep]
        data["connections"] = {n: conns[n] for n in names if n in conns}
        data["svg"] = svg

    # --- endpoints ------------------------------------------------------------------------

    def info(self) -> dict:
        model = self._shared.model
        return {
            "model": f"MLP({model.nin}, {model.nouts})",
            "parameters": model.num_parameters(),
            "about": self.about,
            "steps": self.n_steps,
            "layers": [engine.layer_title(model, li) for li in range(len(model.layers))],
            "test_digits": len(self.test_labels),
            "lr_max": LR_MAX,
            "ink_side": engine.INK_SIDE,
            "max_sessions": self.max_sessions,
        }

    def new_session(self, body: dict) -> dict:
        check_fields(body, (), "session")
        sid = secrets.token_urlsafe(16)
        s = Session(self._copy())
        with self._sessions_lock:
            self._sessions[sid] = s
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return {"session": sid}

    def reset(self, body: dict) -> dict:
        check_fields(body, ("session",), "reset")
        s = self._session(body, "reset", need=True)
        with s.lock:
            s.model.load_state_dict(self._state)
            s.steps = 0
        return {"session": body["session"], "steps": 0}

    def predict(self, body: dict) -> dict:
        check_fields(body, ("pixels", "ink", "fit", "session"), "predict")
        pixels = self._pixels(body, "predict")
        s = self._session(body, "predict")
        with s.lock:
            data, picture = engine.forward_view(s.model, pixels, self.scale)
            data["sgd_steps"] = s.steps
        self._drawn(data, self._svg(picture))
        data["pixels"] = pixels
        return data

    def step(self, body: dict) -> dict:
        check_fields(body, ("pixels", "ink", "fit", "session", "target", "step"), "step")
        pixels = self._pixels(body, "step")
        target = self._target(body, "step")
        step = whole(required(body, "step", "step"), "step", "step", 1, self.n_steps)
        s = self._session(body, "step")
        with s.lock:
            data, picture = engine.step_view(s.model, pixels, target, step, self.scale)
            data["sgd_steps"] = s.steps
        self._drawn(data, self._svg(picture), [w["name"] for w in data["top_weights"]])
        data["pixels"] = pixels
        return data

    def sgd(self, body: dict) -> dict:
        check_fields(body, ("pixels", "ink", "fit", "session", "target", "lr"), "sgd")
        pixels = self._pixels(body, "sgd")
        target = self._target(body, "sgd")
        lr = real(required(body, "lr", "sgd"), "sgd", "lr", 0.0, LR_MAX, lo_open=True)
        s = self._session(body, "sgd", need=True)
        with s.lock:
            data = engine.sgd_step(s.model, pixels, target, lr)
            s.steps += 1
            data["sgd_steps"] = s.steps
        data["pixels"] = pixels
        return data

    def paths(self, body: dict) -> dict:
        """Why one weight's gradient is what it is: its largest paths to the loss."""
        check_fields(body, ("pixels", "ink", "fit", "session", "target", "weight", "k"), "paths")
        pixels = self._pixels(body, "paths")
        target = self._target(body, "paths")
        name = required(body, "weight", "paths")
        if not isinstance(name, str) or not engine.WEIGHT_NAME.fullmatch(name):
            raise ClientError(400, "paths: weight must name a connection's weight, as "
                              f"'layers.0.neurons.5.w.12', got {show(name)}")
        k = whole(body.get("k", PATHS_K), "paths", "k", 1, PATHS_K_MAX)
        s = self._session(body, "paths")
        with s.lock:
            if name not in engine.weight_names(s.model):
                raise ClientError(400, f"paths: weight {show(name)} is not in the model")
            data, picture = engine.paths_view(s.model, pixels, target, name, k)
            data["sgd_steps"] = s.steps
        data["svg"] = self._svg(picture)
        return data

    def testdigit(self, query: Mapping[str, list[str]]) -> dict:
        """``?index=N``, or ``?label=D`` (with ``&after=N``: the next one after test digit N)."""
        allowed = ("index", "label", "after")
        for key, values in query.items():
            if key not in allowed:
                raise ClientError(
                    400, f"testdigit: unknown parameter {show(key)}; expected {', '.join(allowed)}"
                )
            if len(values) != 1:
                raise ClientError(400, f"testdigit: parameter {key!r} given {len(values)} times")
        n = len(self.test_labels)

        def param(key: str, hi: int) -> int | None:
            if key not in query:
                return None
            text = query[key][0]
            # Digits alone make a number; anything else is refused as the text it is.
            number = int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else text
            return whole(number, "testdigit", key, 0, hi)

        index, label, after = param("index", n - 1), param("label", 9), param("after", n - 1)
        if (index is None) == (label is None):
            raise ClientError(400, "testdigit: give either ?index=N or ?label=D")
        if after is not None and label is None:
            raise ClientError(400, "testdigit: 'after' goes with 'label'")
        if label is not None:
            start = -1 if after is None else after
            order = [(start + k) % n for k in range(1, n + 1)]
            index = next(i for i in order if self.test_labels[i] == label)
        return {
            "index": index,
            "label": self.test_labels[index],
            "pixels": self.test_pixels[index],
            "count": n,
        }
