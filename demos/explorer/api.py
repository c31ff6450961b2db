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

Training (``POST /api/train``) is bounded on every side, with no thread of its
own: a request trains at most ``STEPS_PER_REQUEST`` steps for at most
``TRAIN_SECONDS`` (the page asks again for the next chunk), a page's copy
trains at most ``max_train_steps`` steps until it is reset, and at most
``max_training`` pages train at once: a page holds its place from its first
chunk until it pauses, resets or sends no chunk for ``LEASE_SECONDS``; one more
page is answered 503.  Each chunk and each SGD step is measured on the whole
test set (cached per version of a copy, so "before" is usually free).
"""

from __future__ import annotations

import math
import secrets
import threading
import time
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
BATCH_MAX = 128
STEPS_PER_REQUEST = 100  # at most, per POST /api/train ...
TRAIN_SECONDS = 1.0  # ... and at most this long (after its first step)
MAX_TRAIN_STEPS = 5000  # per page, until it is reset
FRESH_SEED = 0  # of the random weights a page may start training from
MAX_TRAINING = 2  # pages training at once
LEASE_SECONDS = 5.0  # a page that sends no chunk for this long no longer counts as training
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
        self.steps = 0  # SGD steps taken on this copy (one at a time or training)
        self.version = 0  # bumped whenever the weights change
        self.trainer: engine.Trainer | None = None
        self.evaluated: tuple[int, dict] | None = None  # (version, the test set's numbers)


class Explorer:
    """The explorer's state and endpoints (see the module docstring for what is shared)."""

    def __init__(
        self,
        model: MLP,
        about: str = "",
        *,
        max_sessions: int = MAX_SESSIONS,
        render_slots: int = 2,
        max_training: int = MAX_TRAINING,
        max_train_steps: int = MAX_TRAIN_STEPS,
    ) -> None:
        if model.nin != 64 or model.nouts[-1] != 10 or len(model.layers) < 2:
            raise ValueError(
                f"explorer: expected an MLP with 64 inputs, hidden layers and 10 outputs, "
                f"got MLP({model.nin}, {model.nouts})"
            )
        self._state = model.state_dict()
        self._fresh = MLP(model.nin, model.nouts, model.activation, model.output_activation,
                          seed=FRESH_SEED).state_dict()
        self._shared = Session(model)
        self.about = about
        self.n_steps = len(model.layers) + 1
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._sessions_lock = threading.Lock()
        self._render = threading.BoundedSemaphore(render_slots)
        self.max_training = max_training
        self.max_train_steps = max_train_steps
        self._training: dict[str, float] = {}  # page -> until when it counts as training
        X, y = load_digits()
        X_train, X_test, y_train, y_test = train_test_split(X, y, TEST_FRACTION, seed=SPLIT_SEED)
        self.train_set = (X_train, y_train)
        self.test_set = (X_test, y_test)
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

    def _evaluated(self, s: Session) -> dict:
        """The test set's numbers for ``s``'s model as it is now (call with ``s.lock`` held)."""
        if s.evaluated is None or s.evaluated[0] != s.version:
            s.evaluated = (s.version, engine.evaluate(s.model, *self.test_set))
        return s.evaluated[1]

    def _lease(self, sid: str) -> None:
        """Count page ``sid`` as training, unless ``max_training`` others already are."""
        now = time.monotonic()
        with self._sessions_lock:
            for other, until in list(self._training.items()):
                if until < now or other not in self._sessions:
                    del self._training[other]
            n = len(self._training)
            if sid not in self._training and n >= self.max_training:
                others = f"{n} other page is" if n == 1 else f"{n} other pages are"
                raise ClientError(
                    503,
                    f"train: busy: {others} training (at most {self.max_training} at once); "
                    "try again when one pauses",
                )
            self._training[sid] = math.inf  # while its chunk runs

    def _unlease(self, sid: str, keep: bool) -> None:
        with self._sessions_lock:
            if keep:
                self._training[sid] = time.monotonic() + LEASE_SECONDS
            else:
                self._training.pop(sid, None)

    def training(self) -> int:
        """How many pages count as training now."""
        now = time.monotonic()
        with self._sessions_lock:
            return sum(until >= now for until in self._training.values())

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
            "train": {
                "digits": len(self.train_set[1]),
                "lr_max": LR_MAX,
                "batch_max": BATCH_MAX,
                "steps_per_request": STEPS_PER_REQUEST,
                "seconds_per_request": TRAIN_SECONDS,
                "steps_limit": self.max_train_steps,
                "pages_at_once": self.max_training,
            },
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
        """Back to the loaded model, or (``"fresh": true``) to new random weights, seeded."""
        check_fields(body, ("session", "fresh"), "reset")
        fresh = body.get("fresh", False)
        if not isinstance(fresh, bool):
            raise ClientError(400, f"reset: fresh must be true or false, got {show(fresh)}")
        s = self._session(body, "reset", need=True)
        self._unlease(body["session"], keep=False)
        with s.lock:
            s.model.load_state_dict(self._fresh if fresh else self._state)
            s.steps = 0
            s.version += 1
            s.trainer = None
        return {"session": body["session"], "steps": 0, "fresh": fresh}

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
            before = self._evaluated(s)
            data = engine.sgd_step(s.model, pixels, target, lr)
            s.steps += 1
            s.version += 1
            data["sgd_steps"] = s.steps
            data["test"] = {"before": before, "after": self._evaluated(s)}
        data["pixels"] = pixels
        return data

    def train(self, body: dict) -> dict:
        """A chunk of minibatch SGD on the training digits, then the whole test set's numbers."""
        check_fields(body, ("session", "lr", "batch_size", "steps"), "train")
        lr = real(required(body, "lr", "train"), "train", "lr", 0.0, LR_MAX, lo_open=True)
        batch_size = whole(required(body, "batch_size", "train"), "train", "batch_size", 1,
                           BATCH_MAX)
        steps = whole(body.get("steps", STEPS_PER_REQUEST), "train", "steps", 1,
                      STEPS_PER_REQUEST)
        s = self._session(body, "train", need=True)
        sid = body["session"]
        self._lease(sid)
        keep = False
        try:
            with s.lock:
                if s.trainer is None:
                    s.trainer = engine.Trainer(s.model, *self.train_set)
                t = s.trainer
                left = self.max_train_steps - t.steps
                if left <= 0:
                    raise ClientError(
                        409,
                        f"train: this page's model has taken the limit of "
                        f"{self.max_train_steps} training steps; reset it to train again",
                    )
                before, first = self._evaluated(s), s.steps + 1
                r = t.run(lr, batch_size, min(steps, left), time.monotonic() + TRAIN_SECONDS)
                if r["losses"]:
                    s.steps += len(r["losses"])
                    s.version += 1
                after = self._evaluated(s)
                stopped = r["stopped"]
                if stopped != "diverged" and t.steps >= self.max_train_steps:
                    stopped = "limit"
                keep = stopped in ("steps", "time")
                return {
                    "lr": lr,
                    "batch_size": batch_size,
                    "steps": len(r["losses"]),
                    "first_step": first,
                    "losses": r["losses"],
                    "stopped": stopped,
                    "message": r["message"],
                    "sgd_steps": s.steps,
                    "train_steps": t.steps,
                    "steps_limit": self.max_train_steps,
                    "epoch": t.epochs,
                    "seen": t.seen,
                    "test_before": before,
                    "test": after,
                }
        finally:
            self._unlease(sid, keep)

    def pause(self, body: dict) -> dict:
        """The page stopped training: another page may take its place at once."""
        check_fields(body, ("session",), "pause")
        self._session(body, "pause", need=True)
        self._unlease(body["session"], keep=False)
        return {"session": body["session"], "training": False}

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
