"""``Neuron``, ``Layer`` and ``MLP``, with micrograd's signatures and defaults.

A neuron is two graph nodes, ``act(dot([*w, b], [*x, 1]))`` (linear: one): the
bias is the weight of a constant input 1, so the whole pre-activation ``w·x + b``
is one ``dot`` node, with the same floats as ``dot(w, x) + b``.  An MLP lifts its
float inputs to Values once per call, and each layer hands the same list (with
its constant 1) to all its neurons, so the graph stays small and backward fast.

Initial weights (biases start at 0):

* relu and its smooth or leaky kin (leaky_relu, elu, gelu, silu, softplus): He/Kaiming
  uniform, ``U(-a, a)`` with ``a = sqrt(6 / fan_in)`` (variance ``2 / fan_in``), which keeps
  the activations' scale from layer to layer when half the units are (nearly) off;
* tanh, sigmoid, linear: Xavier/Glorot uniform, ``a = sqrt(6 / (fan_in + fan_out))``
  (variance ``2 / (fan_in + fan_out)``), balancing the forward and backward signal.

micrograd draws ``uniform(-1, 1)`` (variance ``1/3``): a 64-input neuron's pre-activation
then has ``sqrt(64/3) = 4.6`` times the inputs' spread (He: 1.4), which saturates tanh and
compounds through relu layers.  These schemes make ``MLP(64, [32, 32, 10])`` train.

The weights come from a ``random.Random`` of the module's own: ``rng=``, or one seeded
with ``seed=``; either way the global RNG is untouched.  Without either, the seed is one
draw from the global ``random``, so ``random.seed(1337)`` reproduces a run as it does in
micrograd (with other weights: micrograd draws every weight from the global RNG).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any, Callable, Union

from autograd import Value, checks, no_grad
from autograd.value import constant, dot_unchecked

from . import module, serialize
from .module import Module, TrackedList

ACTIVATIONS: dict[str, Callable[[Value], Value] | None] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "linear": None,
    # PyTorch's defaults: leaky_relu's slope 0.01, elu's alpha 1, gelu's exact (erf) form.
    "leaky_relu": Value.leaky_relu,
    "elu": Value.elu,
    "gelu": Value.gelu,
    "silu": Value.silu,
    "softplus": Value.softplus,
}
_HE = frozenset({"relu", "leaky_relu", "elu", "gelu", "silu", "softplus"})

Input = Sequence[Union[Value, float, int]]
Output = Union[Value, list[Value]]


def _check_activation(activation: Any, who: str) -> str:
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(
            f"{who}: unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}"
        )
    return activation


def _resolve_activation(activation: str | None, nonlin: bool | None, who: str) -> str:
    """Merge our ``activation`` with micrograd's ``nonlin`` flag (relu or linear)."""
    if nonlin is None:
        return _check_activation("relu" if activation is None else activation, who)
    implied = "relu" if nonlin else "linear"
    if activation is not None and activation != implied:
        raise ValueError(
            f"{who}: nonlin={nonlin!r} means activation {implied!r}, but activation={activation!r}"
        )
    return implied


def _check_size(n: Any, what: str, who: str) -> int:
    return checks.integer(n, who, what, low=1)


def _mlp_sizes(nin: Any, nouts: Any) -> list[int]:
    """``[nin, *nouts]``, checked: every width a positive int, at least one layer."""
    sizes = [_check_size(nin, "nin", "MLP")]
    nouts = checks.sequence(nouts, "MLP", "nouts", "layer sizes")
    sizes += [_check_size(n, f"nouts[{i}]", "MLP") for i, n in enumerate(nouts)]
    if len(sizes) == 1:
        raise ValueError("MLP: nouts must be a non-empty list of layer sizes, got []")
    return sizes


def count_parameters(sizes: Sequence[int]) -> int:
    """How many parameters fully connected layers of these widths hold (weights and biases)."""
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes, sizes[1:]))


MAX_PARAMETERS = 10**8
"""More scalar parameters than this (about 10 GB of Values) cannot be meant: refused at once
rather than filling memory for minutes (``MLP(10**400, [1])`` would never return)."""


def _check_capacity(sizes: Sequence[int], who: str) -> None:
    n = count_parameters(sizes)
    if n > MAX_PARAMETERS:
        shape = " -> ".join(map(checks.describe_int, sizes))
        raise ValueError(
            f"{who}: sizes {shape} make {checks.describe_int(n)} parameters, more than a "
            f"pure-Python model can hold (at most {MAX_PARAMETERS:,})"
        )


def _make_rng(rng: random.Random | None, seed: int | None, who: str) -> random.Random:
    """The generator a module initialises from (see the module docstring)."""
    seed = checks.rng_seed(seed, who)
    if rng is not None and seed is not None:
        raise ValueError(f"{who}: pass seed or rng, not both")
    if rng is not None:
        if not callable(getattr(rng, "uniform", None)):
            raise TypeError(f"{who}: rng must be a random.Random, got {checks.describe(rng)}")
        return rng
    if seed is None:
        # One draw, so random.seed() reproduces unseeded models (micrograd's habit)
        # while the weights still come from a generator of the model's own.
        seed = random.getrandbits(64)
    return random.Random(seed)


def init_bound(activation: str, fan_in: int, fan_out: int = 1) -> float:
    """The half-width ``a`` of the uniform ``U(-a, a)`` that initial weights are drawn from."""
    _check_activation(activation, "init_bound")
    fan_in = _check_size(fan_in, "fan_in", "init_bound")
    fan_out = _check_size(fan_out, "fan_out", "init_bound")
    if activation in _HE:
        return math.sqrt(6 / fan_in)  # He/Kaiming; int / int: exact even for a huge int
    return math.sqrt(6 / (fan_in + fan_out))  # Xavier/Glorot


def lift_inputs(x: Any, nin: int, who: str) -> list[Value]:
    """Check ``x`` has ``nin`` numbers or Values and return it as a list of Values.

    Any ordered iterable will do (a list, a tuple, a numpy array, a generator); a dict
    (its keys are not inputs) or a set (its order is arbitrary) is refused.
    """
    if x.__class__ is list or x.__class__ is tuple:
        xs = x
    else:
        xs = checks.sequence(x, who, "x", f"{nin} numbers or Values")
    if len(xs) != nin:
        raise ValueError(f"{who}: expected {nin} inputs, got {len(xs)}")
    try:
        return [v if v.__class__ is Value else Value(v) for v in xs]
    except (TypeError, ValueError, OverflowError):
        pass
    out = []
    for i, v in enumerate(xs):
        if isinstance(v, Value):
            out.append(v)
            continue
        try:
            out.append(Value(v))
        except (TypeError, ValueError, OverflowError) as e:
            raise type(e)(
                f"{who}: input {i} must be a finite number or Value, got {v!r} "
                f"({type(v).__name__})"
            ) from None
    return out


def with_bias_input(xs: Sequence[Value]) -> tuple[tuple[Value, ...], list[float]]:
    """``xs`` followed by the constant 1 that each neuron's bias multiplies, and their data.

    A tuple, which every neuron's ``dot`` node keeps as its inputs without a copy.
    """
    one = constant(1.0)
    one.label = "bias input"  # so a drawn graph says what the lone 1 is for
    xs = (*xs, one)
    return xs, [x.data for x in xs]


class Neuron(Module):
    """One unit: ``activation(w · x + b)``.

    ``Neuron(nin, activation="relu", *, rng=None, seed=None)``; micrograd's
    ``Neuron(nin, nonlin=True)`` works too.  ``fan_out`` only sets the Xavier scale.
    """

    def __init__(
        self,
        nin: int,
        activation: str | None = None,
        *,
        nonlin: bool | None = None,
        rng: random.Random | None = None,
        seed: int | None = None,
        fan_out: int = 1,
    ) -> None:
        self.nin = _check_size(nin, "nin", "Neuron")
        _check_capacity([nin, 1], "Neuron")
        self.activation = _resolve_activation(activation, nonlin, "Neuron")
        r = _make_rng(rng, seed, "Neuron")
        a = init_bound(self.activation, nin, _check_size(fan_out, "fan_out", "Neuron"))
        uniform = r.uniform
        self.w = TrackedList(Value(uniform(-a, a)) for _ in range(nin))
        self.b = Value(0.0)
        self._label_parameters()

    # The weights and bias as one tuple, which every dot node of this neuron keeps
    # as its weights; rebuilt after any structural edit (see nn.module).
    _wb: tuple[int, tuple[Value, ...]] = (-1, ())

    @property
    def activation(self) -> str:
        return self._activation

    @activation.setter
    def activation(self, name: str) -> None:
        self._act = ACTIVATIONS[_check_activation(name, "Neuron")]
        self._activation = name

    @property
    def nonlin(self) -> bool:
        """micrograd's flag: True unless the neuron is linear."""
        return self._activation != "linear"

    def __call__(self, x: Input) -> Value:
        return self._forward(*with_bias_input(lift_inputs(x, self.nin, "Neuron")))

    def _forward(self, xs: tuple[Value, ...], xdata: list[float]) -> Value:
        """``xs`` ends with the bias's constant input; ``xdata`` holds their ``.data``."""
        return self._activate(self._weighted_input(xs, xdata))

    def _weighted_input(self, xs: tuple[Value, ...], xdata: list[float]) -> Value:
        """The neuron's pre-activation ``z = w·x + b``: one ``dot`` node (the only definition)."""
        wb = self._wb
        if wb[0] != module.structure_version:  # w or b was edited or replaced since
            # Edits of a plain list (``n.w = [...]``, then ``n.w[0] = v``) bump no
            # version, so such a list is read afresh on every call.
            kept = module.structure_version if self.w.__class__ is TrackedList else -1
            wb = self._wb = (kept, (*self.w, self.b))
        return dot_unchecked(wb[1], xs, xdata)

    def _activate(self, z: Value) -> Value:
        """The neuron's output ``a = activation(z)``; ``z`` itself for a linear neuron."""
        act = self._act
        return z if act is None else act(z)

    def _describe(self) -> str:
        return f"{self.nin}, {self._activation}"

    def _architecture(self) -> dict[str, Any]:
        return {"class": "Neuron", "nin": self.nin, "activation": self._activation}

    @classmethod
    def _from_architecture(cls, arch: dict) -> Neuron:
        return cls(arch["nin"], arch["activation"], seed=0)

    @staticmethod
    def _parameter_count(arch: dict) -> int:
        return count_parameters([_check_size(arch["nin"], "nin", "Neuron"), 1])


class Layer(Module):
    """``nout`` neurons reading the same inputs.

    ``layer(x)`` returns a list of Values, or one Value if ``nout == 1`` (as in micrograd).
    """

    _repr_children = False  # 32 identical "Neuron(...)" lines say nothing

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str | None = None,
        *,
        nonlin: bool | None = None,
        rng: random.Random | None = None,
        seed: int | None = None,
    ) -> None:
        self.nin = _check_size(nin, "nin", "Layer")
        nout = _check_size(nout, "nout", "Layer")
        _check_capacity([nin, nout], "Layer")
        act = _resolve_activation(activation, nonlin, "Layer")
        r = _make_rng(rng, seed, "Layer")
        self.neurons = TrackedList(Neuron(nin, act, rng=r, fan_out=nout) for _ in range(nout))
        self._label_parameters()

    @property
    def nout(self) -> int:
        return len(self.neurons)

    @property
    def activation(self) -> str:
        """The layer's activation (``"mixed"`` if its neurons' differ); setting it sets
        every neuron's."""
        acts = self._activations()
        return acts if isinstance(acts, str) else "mixed"

    @activation.setter
    def activation(self, name: str) -> None:
        self._set_activations(_check_activation(name, "Layer.activation"), "Layer.activation")

    def __call__(self, x: Input) -> Output:
        out = self._run(lift_inputs(x, self.nin, "Layer"))[1]
        return out[0] if len(out) == 1 else out

    def _run(self, xs: list[Value]) -> tuple[list[Value], list[Value]]:
        """The layer on ``xs``: every neuron's weighted input ``z`` and activation ``a``."""
        xb, xd = with_bias_input(xs)  # read once, not once per neuron
        zs = [n._weighted_input(xb, xd) for n in self.neurons]
        return zs, [n._activate(z) for n, z in zip(self.neurons, zs)]

    def _describe(self) -> str:
        return f"{self.nin} -> {self.nout}, {self.activation}"

    def _activations(self) -> str | list[str]:
        """This layer's activation, or one per neuron where they differ (set by hand)."""
        acts = [n.activation for n in self.neurons]
        return acts[0] if len(set(acts)) == 1 else acts

    def _set_activations(self, acts: str | list[str], who: str) -> None:
        names = [acts] * self.nout if isinstance(acts, str) else acts
        if not isinstance(names, list) or len(names) != self.nout:
            raise ValueError(f"{who}: expected an activation or {self.nout} of them, got {acts!r}")
        for n, name in zip(self.neurons, names):
            n.activation = _check_activation(name, who)

    def _architecture(self) -> dict[str, Any]:
        arch = {"class": "Layer", "nin": self.nin, "nout": self.nout}
        acts = self._activations()
        # A file names every neuron's activation only where they differ: a uniform layer's
        # file is unchanged.
        arch.update({"activation": acts} if isinstance(acts, str) else {"activations": acts})
        return arch

    @classmethod
    def _from_architecture(cls, arch: dict) -> Layer:
        acts = arch["activations"] if "activations" in arch else arch["activation"]
        layer = cls(arch["nin"], arch["nout"], acts if isinstance(acts, str) else "relu", seed=0)
        layer._set_activations(acts, "Layer activations")
        return layer

    @staticmethod
    def _parameter_count(arch: dict) -> int:
        return count_parameters(
            [_check_size(arch["nin"], "nin", "Layer"), _check_size(arch["nout"], "nout", "Layer")]
        )


def runs_own_forward(model: Any) -> bool:
    """``model`` is an :class:`MLP` whose class, and whose layers' and neurons' classes, keep
    nn's forward pass: :func:`nn.run_layers` then computes exactly what ``model(x)`` does."""
    cls = type(model)
    if not (
        isinstance(model, MLP)
        and cls.__call__ is MLP.__call__
        and cls._forward is MLP._forward
        and cls._run is MLP._run
    ):
        return False
    return all(
        isinstance(layer, Layer)
        and type(layer)._run is Layer._run
        and all(
            isinstance(n, Neuron)
            and type(n)._weighted_input is Neuron._weighted_input
            and type(n)._activate is Neuron._activate
            for n in layer.neurons
        )
        for layer in model.layers
    )


def _sigmoid(t: float) -> float:
    # The form whose exp never overflows, for a logit of either sign.
    if t >= 0.0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


class MLP(Module):
    """A multi-layer perceptron: ``MLP(nin, nouts)``, e.g. ``MLP(64, [32, 32, 10], seed=0)``.

    Hidden layers use ``activation`` (relu), the last layer ``output_activation``
    (linear), as in micrograd.  ``model(x)`` returns a list of Values, or one
    Value if the last layer has one neuron.  Use :meth:`predict` (or
    ``autograd.no_grad()``) when you only need numbers: no graph is recorded.
    ``seed=`` or ``rng=`` fixes the initial weights; without them ``random.seed``
    does, as in micrograd.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        output_activation: str = "linear",
        *,
        rng: random.Random | None = None,
        seed: int | None = None,
    ) -> None:
        sizes = _mlp_sizes(nin, nouts)
        _check_capacity(sizes, "MLP")
        self.nin = sizes[0]
        self._hidden = _check_activation(activation, "MLP")  # kept for one-layer MLPs
        _check_activation(output_activation, "MLP")
        r = _make_rng(rng, seed, "MLP")
        last = len(sizes) - 2
        self.layers = TrackedList(
            Layer(sizes[i], sizes[i + 1], output_activation if i == last else activation, rng=r)
            for i in range(last + 1)
        )
        self._label_parameters()

    @property
    def nouts(self) -> list[int]:
        return [layer.nout for layer in self.layers]

    @property
    def activation(self) -> str:
        return self.layers[0].activation if len(self.layers) > 1 else self._hidden

    @property
    def output_activation(self) -> str:
        return self.layers[-1].activation

    def __call__(self, x: Input) -> Output:
        out = self._forward(lift_inputs(x, self.nin, "MLP"))
        return out[0] if len(out) == 1 else out

    def _forward(self, xs: list[Value]) -> list[Value]:
        steps = self._run(xs)
        return steps[-1][2] if steps else xs

    def _run(self, xs: list[Value]) -> list[tuple[list[Value], list[Value], list[Value]]]:
        """The network, layer by layer: each layer's ``(inputs, weighted inputs, activations)``.

        The one loop over the layers: ``model(x)`` keeps the last activations, and
        :func:`nn.run_layers` keeps it all.
        """
        steps = []
        for layer in self.layers:
            zs, acts = layer._run(xs)
            steps.append((xs, zs, acts))
            xs = acts
        return steps

    def predict(self, x: Input) -> list[float]:
        """The raw outputs as floats, under ``no_grad`` (no graph: cheaper evaluation).

        For a classifier with a linear output layer these are the logits, as ``model(x)``
        returns them in PyTorch; :meth:`predict_class` and :meth:`predict_proba` give the
        class and the probabilities.
        """
        with no_grad():
            return [v.data for v in self._forward(lift_inputs(x, self.nin, "MLP.predict"))]

    def predict_class(self, x: Input) -> int:
        """The predicted class: the index of the largest output (the first on ties).

        With one output, the class is 1 where the output is above its activation's midpoint
        (0.5 for sigmoid, else 0: a logit, a tanh or a hinge score) and 0 otherwise.
        """
        out = self._outputs(x, "MLP.predict_class")
        if len(out) == 1:
            return int(out[0] > (0.5 if self.output_activation == "sigmoid" else 0.0))
        return max(range(len(out)), key=out.__getitem__)

    def predict_proba(self, x: Input) -> list[float]:
        """Each class's probability: the softmax of the logits (a linear output layer).

        With one output, ``[1 - p, p]``: ``p`` is the sigmoid of a linear output (a logit,
        as ``binary_cross_entropy_with_logits`` trains it) or a sigmoid output itself.
        """
        act = self.output_activation
        if act != "linear" and not (act == "sigmoid" and self.nouts[-1] == 1):
            raise ValueError(
                f"MLP.predict_proba: probabilities need logits (a linear output layer) or one "
                f"sigmoid output, got output activation {act!r}"
            )
        out = self._outputs(x, "MLP.predict_proba")
        if len(out) == 1:
            p = out[0] if act == "sigmoid" else _sigmoid(out[0])
            return [1.0 - p, p]
        top = max(out)  # exp of the largest logit is 1: no overflow at logits of 1e3
        e = [math.exp(o - top) for o in out]
        total = math.fsum(e)
        return [v / total for v in e]

    def _outputs(self, x: Input, who: str) -> list[float]:
        with no_grad():
            return [v.data for v in self._forward(lift_inputs(x, self.nin, who))]

    def _describe(self) -> str:
        return f"{self.nin} -> {self.nouts}"

    def _architecture(self) -> dict[str, Any]:
        arch = {
            "class": "MLP",
            "nin": self.nin,
            "nouts": self.nouts,
            "activation": self._hidden if self.activation == "mixed" else self.activation,
            "output_activation": self._output_default(),
        }
        # Activations changed by hand, per layer or per neuron, are recorded as they are;
        # a model built as MLP(...) builds them writes the same file as before.
        acts = [layer._activations() for layer in self.layers]
        implied = [arch["activation"]] * (len(acts) - 1) + [arch["output_activation"]]
        if acts != implied:
            arch["activations"] = acts
        return arch

    def _output_default(self) -> str:
        act = self.output_activation
        return act if act != "mixed" else "linear"

    @classmethod
    def _from_architecture(cls, arch: dict) -> MLP:
        model = cls(
            arch["nin"], arch["nouts"], arch["activation"], arch["output_activation"], seed=0
        )
        acts = arch.get("activations")
        if acts is not None:
            if not isinstance(acts, list) or len(acts) != len(model.layers):
                raise ValueError(
                    f"MLP activations: expected one entry per layer ({len(model.layers)}), "
                    f"got {acts!r}"
                )
            for layer, a in zip(model.layers, acts):
                layer._set_activations(a, "MLP activations")
        return model

    @staticmethod
    def _parameter_count(arch: dict) -> int:
        return count_parameters(_mlp_sizes(arch["nin"], arch["nouts"]))


serialize.register_buildable(Neuron, Layer, MLP)
