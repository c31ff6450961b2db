"""Carry an ``MLP`` to PyTorch and back, weight for weight, and name each weight on both sides.

PyTorch is optional (``pip install -e '.[torch]'``): this module imports it only
inside the functions that need it, so ``import nn`` never loads torch.

An MLP's layer ``i`` becomes two entries of a ``torch.nn.Sequential``: a float64
``Linear`` at index ``2i`` and its activation module at ``2i + 1`` (``ReLU``,
``Tanh``, ``Sigmoid``, ``LeakyReLU``, ``ELU``, ``GELU``, ``SiLU``, ``Softplus``, or
``Identity`` for a linear layer, so every layer has both and the indices stay regular).
The activations are torch's with their defaults (``LeakyReLU(0.01)``, ``ELU(1.0)``,
``GELU()`` exact, ``Softplus(beta=1, threshold=20)``), the ones valuegrad's names mean; a
module with other settings is refused by name.  Neuron ``j``'s weights are row ``j`` of
the ``Linear``'s weight (torch stores ``(out_features, in_features)``), its bias
is ``bias[j]``::

    layers.{i}.neurons.{j}.w.{k}  <->  {2i}.weight[j, k]
    layers.{i}.neurons.{j}.b      <->  {2i}.bias[j]

For a ``Sequential`` from elsewhere the torch side uses that module's own keys
(``0.weight``, ``fc1.weight``, ``0.2.weight`` inside a nested ``Sequential``):
:func:`torch_names` gives the whole map for a model or a module, and
:func:`valuegrad_names` its inverse.

Copies are exact.  float64 goes across unchanged both ways, and float32,
float16 and bfloat16 weights widen to float64 without rounding; only
``to_torch(model, dtype=torch.float32)`` rounds (to the nearest float32), so a
float32 module survives torch -> valuegrad -> torch bit for bit either way.
``from_torch(module, grads=True)`` also brings each parameter's ``.grad``, so
a gradient computed in torch can be read by name here (by default gradients
start at 0, as in a new model: what training leaves in ``.grad`` is stale).

What cannot be carried across exactly is refused, naming it, never approximated:
a Sequential is read in the order its ``forward`` runs (an activation module
used twice counts twice), and the same Linear used twice (shared weights), a
Sequential subclass with a ``forward`` of its own, forward hooks, a weight or
bias whose shape is not the Linear's, meta-device weights and dtypes other than
float64, float32, float16 and bfloat16 (float8) are each an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Union

from .layers import MLP, Layer
from .run import check_model

if TYPE_CHECKING:
    import torch

# valuegrad activation <-> torch module class name (the classes are looked up on torch.nn).
_MODULE_OF = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Identity",
              "leaky_relu": "LeakyReLU", "elu": "ELU", "gelu": "GELU", "silu": "SiLU",
              "softplus": "Softplus"}
_ACTIVATION_OF = {module: act for act, module in _MODULE_OF.items()}
_SUPPORTED = ("only Linear, ReLU, Tanh, Sigmoid, LeakyReLU, ELU, GELU, SiLU, Softplus, "
              "Identity are supported")
# The settings valuegrad's activations have (torch's defaults); others cannot be mapped.
# Softplus's threshold (it returns x above it) changes its value by less than e^-20 there.
_DEFAULTS: dict[str, dict[str, object]] = {
    "LeakyReLU": {"negative_slope": 0.01}, "ELU": {"alpha": 1.0},
    "GELU": {"approximate": "none"}, "Softplus": {"beta": 1.0}}

ModelOrModule = Union[MLP, "torch.nn.Sequential"]


def _import_torch(who: str) -> Any:
    try:
        import torch
    except ModuleNotFoundError as e:
        if e.name != "torch":
            raise  # torch is there but something it needs is not: show the real cause
        raise ImportError(f"{who}: PyTorch is not installed; pip install -e '.[torch]'") from None
    return torch


# --- valuegrad -> torch ------------------------------------------------------------------


def _layer_activation(layer: Layer, i: int, who: str) -> str:
    acts = layer._activations()
    if not isinstance(acts, str):
        groups = {a: [j for j, b in enumerate(acts) if b == a] for a in dict.fromkeys(acts)}
        detail = ", ".join(f"{a} for neurons {js}" for a, js in groups.items())
        raise ValueError(
            f"{who}: layer {i} mixes activations ({detail}); a torch Linear is followed by one "
            "activation, so every neuron of a layer needs the same one"
        )
    return acts


def _check_mlp(model: Any, who: str) -> list[str]:
    """Check that ``model`` is an MLP torch can express; return each layer's activation."""
    model = check_model(model, who)  # an MLP run as nn runs it, every shape consistent
    cls = type(model)
    acts = [_layer_activation(layer, i, who) for i, layer in enumerate(model.layers)]
    inside = {name for name, _ in _mlp_parameters(model)}
    outside = [name for name, _ in model.named_parameters() if name not in inside]
    if outside:
        raise ValueError(
            f"{who}: {cls.__name__} has parameters outside its layers' weights and biases "
            f"(e.g. {outside[0]!r}), which a Sequential of Linear layers has no place for"
        )
    return acts


def _parameter_name(i: int, j: int, k: int | None = None) -> str:
    """valuegrad's name of layer ``i``, neuron ``j``'s weight ``k`` (its bias if ``k`` is None).

    The one place the bridge spells a name: ``MLP.named_parameters`` gives the same.
    """
    return f"layers.{i}.neurons.{j}." + ("b" if k is None else f"w.{k}")


def _mlp_parameters(model: MLP) -> Iterator[tuple[str, Any]]:
    for i, layer in enumerate(model.layers):
        for j, neuron in enumerate(layer.neurons):
            for k, w in enumerate(neuron.w):
                yield _parameter_name(i, j, k), w
            yield _parameter_name(i, j), neuron.b


def to_torch(model: MLP, dtype: torch.dtype | None = None) -> torch.nn.Sequential:
    """A ``torch.nn.Sequential`` computing what ``model`` computes, with the same weights.

    Each layer is a ``Linear`` (float64 unless ``dtype`` says otherwise) and its
    activation module; see the module docstring for the names.  Gradients are
    not copied (torch's ``.grad`` starts as ``None``), and torch's random state
    is left as it was.
    """
    torch = _import_torch("to_torch")
    acts = _check_mlp(model, "to_torch")
    dtype = torch.float64 if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"to_torch: dtype must be a floating-point torch.dtype, got {dtype!r}")
    if dtype not in _dtypes(torch):  # float8 and the like: Linear has no kernels for them
        raise TypeError(f"to_torch: dtype must be one of {_dtype_names(torch)}, got {dtype!r}")
    modules: list[Any] = []
    width = model.nin
    for layer, act in zip(model.layers, acts):
        # skip_init: no initial draw, so torch's global RNG is not advanced for weights
        # that are overwritten at once.
        linear = torch.nn.utils.skip_init(
            torch.nn.Linear, width, len(layer.neurons), dtype=dtype
        )
        weight = [[w.data for w in n.w] for n in layer.neurons]
        bias = [n.b.data for n in layer.neurons]
        with torch.no_grad():
            # Built as float64 first: the floats are exact there, and a narrower dtype
            # then rounds each one once, to nearest.
            linear.weight.copy_(torch.tensor(weight, dtype=torch.float64))
            linear.bias.copy_(torch.tensor(bias, dtype=torch.float64))
        _check_fits(linear, len(modules) // 2, dtype, torch)
        modules += [linear, getattr(torch.nn, _MODULE_OF[act])()]
        width = len(layer.neurons)
    return torch.nn.Sequential(*modules)


def _dtypes(torch: Any) -> tuple:
    """The float dtypes a Linear computes in on the CPU, each widening to float64 exactly."""
    return (torch.float64, torch.float32, torch.float16, torch.bfloat16)


def _dtype_names(torch: Any) -> str:
    return ", ".join(map(str, _dtypes(torch)))


def _check_fits(linear: Any, i: int, dtype: Any, torch: Any) -> None:
    """Refuse a weight that rounding to a narrow ``dtype`` turned into inf."""
    for field in ("weight", "bias"):
        bad = (~torch.isfinite(getattr(linear, field))).nonzero()
        if len(bad):
            index = [int(v) for v in bad[0]]  # [j, k] in a weight, [j] in a bias
            name = _parameter_name(i, *index)
            raise ValueError(f"to_torch: {name} is too large for {dtype} (it would become inf)")


# --- torch -> valuegrad ------------------------------------------------------------------


def _flatten(module: Any, torch: Any, who: str, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(key, module)`` for each entry of a Sequential in the order it runs them, nested
    Sequentials opened up.

    Read from ``_modules``, which is what ``Sequential.forward`` runs: ``named_children``
    lists a module used twice only once, and would drop the second use.
    """
    for key, child in module._modules.items():
        if child is None:  # left by ``seq.register_module(key, None)``: forward fails on it
            raise ValueError(f"{who}: cannot map layer {prefix}{key}: it is None, not a module")
        _check_plain(child, f"layer {prefix}{key} ({child})", who)
        if type(child) is torch.nn.Sequential:
            yield from _flatten(child, torch, who, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", child


def _check_plain(module: Any, what: str, who: str) -> None:
    """Refuse a module whose forward hooks would change what it computes."""
    hooks = [name for name in ("_forward_pre_hooks", "_forward_hooks")
             if getattr(module, name, None)]
    if hooks:
        raise ValueError(
            f"{who}: cannot map {what}: it has forward hooks ({', '.join(hooks)}), which "
            "change what it computes and an MLP cannot carry"
        )


def _read_sequential(module: Any, who: str) -> list[tuple[str, Any, str]]:
    """``[(key of the Linear, the Linear, activation name), ...]`` for each MLP layer."""
    torch = _import_torch(who)
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(
            f"{who}: expected a torch.nn.Sequential of Linear and activation modules, got "
            f"{type(module).__name__} (put its layers in an nn.Sequential, in the order they run)"
        )
    cls = type(module)
    if cls.forward is not torch.nn.Sequential.forward or cls.__call__ is not \
            torch.nn.Module.__call__:
        raise TypeError(
            f"{who}: {cls.__name__} overrides Sequential's forward, which an MLP would not "
            "reproduce (put its layers in a plain nn.Sequential, in the order they run)"
        )
    _check_plain(module, f"the {cls.__name__}", who)
    layers: list[list[Any]] = []  # [key, Linear, activation name, (key, module) of it or None]
    seen: dict[int, str] = {}  # id of each Linear -> its key
    for key, child in _flatten(module, torch, who):
        name = type(child).__name__
        if name in _ACTIVATION_OF and type(child) is getattr(torch.nn, name):
            if not layers or layers[-1][3] is not None:
                where = "first" if not layers else "after another activation"
                raise ValueError(
                    f"{who}: cannot map layer {key} ({child}): it comes {where}, but an MLP "
                    "layer is a Linear followed by at most one activation"
                )
            _check_settings(key, child, name, who)
            layers[-1][2:] = [_ACTIVATION_OF[name], (key, child)]
        elif type(child) is torch.nn.Linear:
            if id(child) in seen:
                raise ValueError(
                    f"{who}: cannot map layer {key} ({child}): it is the same Linear as layer "
                    f"{seen[id(child)]} (shared weights), and an MLP's layers each have their own"
                )
            seen[id(child)] = key
            _check_linear(key, child, layers[-1] if layers else None, who)
            layers.append([key, child, "linear", None])
        else:
            raise ValueError(f"{who}: cannot map layer {key} ({child}): {_SUPPORTED}")
    if not layers:
        raise ValueError(f"{who}: the Sequential has no Linear layer, so there is no MLP in it")
    return [(key, linear, act) for key, linear, act, _ in layers]


def _check_settings(key: str, module: Any, name: str, who: str) -> None:
    for field, default in _DEFAULTS.get(name, {}).items():
        got = getattr(module, field)
        if got != default:
            raise ValueError(
                f"{who}: cannot map layer {key} ({module}): valuegrad's {_ACTIVATION_OF[name]} "
                f"has {field}={default!r}, got {got!r}"
            )


def _check_linear(key: str, linear: Any, before: list | None, who: str) -> None:
    if linear.bias is None:
        raise ValueError(
            f"{who}: cannot map layer {key} ({linear}): valuegrad neurons always have a "
            "bias; use Linear(..., bias=True)"
        )
    for field, shape in (("weight", (linear.out_features, linear.in_features)),
                         ("bias", (linear.out_features,))):
        got = tuple(getattr(linear, field).shape)
        if got != shape:
            raise ValueError(
                f"{who}: cannot map layer {key} ({linear}): its {field} has shape {got}, but a "
                f"Linear of {linear.in_features} inputs and {linear.out_features} outputs "
                f"needs {shape}"
            )
    if before is not None and linear.in_features != before[1].out_features:
        raise ValueError(
            f"{who}: cannot map layer {key} ({linear}): it reads {linear.in_features} inputs "
            f"but layer {before[0]} gives {before[1].out_features}"
        )


def _floats(tensor: Any, what: str, who: str, torch: Any) -> list:
    """A tensor's values as (nested lists of) Python floats, exactly; rejects nan and inf."""
    t = tensor.detach()
    if not t.is_floating_point() or t.dtype not in _dtypes(torch):
        raise TypeError(f"{who}: {what} must be a tensor of {_dtype_names(torch)}, got {t.dtype}")
    if t.is_meta:
        raise ValueError(
            f"{who}: {what} is on the meta device, so it has no values to copy (materialise "
            "it first, e.g. module.to_empty(device='cpu'), then load its weights)"
        )
    bad = (~torch.isfinite(t)).nonzero()
    if len(bad):
        index = ", ".join(str(int(i)) for i in bad[0])
        raise ValueError(f"{who}: {what}[{index}] must be finite, got {t[tuple(bad[0])].item()}")
    # Every float dtype torch has widens to float64 exactly.
    return t.to(device="cpu", dtype=torch.float64).tolist()


def from_torch(module: torch.nn.Sequential, *, grads: bool = False) -> MLP:
    """The ``MLP`` that ``module`` (a Sequential of Linear and activation modules) computes.

    Weights and biases are copied exactly (as float64).  Gradients start at 0, as
    in a new model, so a ``backward()`` here is not added to what training left
    in torch; ``grads=True`` copies each ``.grad`` torch holds instead (0.0 where
    it holds none), to read a gradient computed in torch by name.  Raises
    ``ValueError`` naming the first layer that has no MLP equivalent.
    """
    who = "from_torch"
    torch = _import_torch(who)
    layers = _read_sequential(module, who)
    hidden = layers[0][2] if len(layers) > 1 else "relu"
    nin = layers[0][1].in_features
    model = MLP(nin, [linear.out_features for _, linear, _ in layers], hidden, layers[-1][2],
                seed=0)
    for layer, (_, _, act) in zip(model.layers, layers):  # hidden layers may differ
        layer.activation = act
    state, grad_of = {}, {}
    for i, (key, linear, _) in enumerate(layers):
        for param, field in ((linear.weight, "weight"), (linear.bias, "bias")):
            what = f"layer {key} ({linear}) {field}"
            data = _floats(param, what, who, torch)
            g = param.grad if grads else None
            grad = _floats(g, f"{what}.grad", who, torch) if g is not None else None
            for name, index in _element_names(i, linear, field):
                state[name] = _at(data, index)
                grad_of[name] = 0.0 if grad is None else _at(grad, index)
    model.load_state_dict(state)
    for name, p in model.named_parameters():
        p.grad = grad_of[name]
    return model


def _at(nested: list, index: tuple[int, ...]) -> float:
    for i in index:
        nested = nested[i]
    return nested  # type: ignore[return-value]


def _element_names(
    i: int, linear: Any, field: str
) -> Iterator[tuple[str, tuple[int, ...]]]:
    """valuegrad's name and the torch index of each element of a Linear's weight or bias."""
    for j in range(linear.out_features):
        if field == "bias":
            yield _parameter_name(i, j), (j,)
        else:
            for k in range(linear.in_features):
                yield _parameter_name(i, j, k), (j, k)


# --- names -------------------------------------------------------------------------------


def _layer_shapes(m: Any, who: str) -> list[tuple[str, int, int]]:
    """``[(torch key of the Linear, in_features, out_features), ...]`` for a model or module."""
    if isinstance(m, MLP):
        _check_mlp(m, who)
        widths = [m.nin, *m.nouts]
        return [(str(2 * i), widths[i], widths[i + 1]) for i in range(len(m.layers))]
    return [
        (key, linear.in_features, linear.out_features)
        for key, linear, _ in _read_sequential(m, who)
    ]


def torch_names(m: ModelOrModule) -> dict[str, str]:
    """``{valuegrad name: torch name}`` for every weight and bias, in valuegrad's order.

    ``m`` is an MLP (names in ``to_torch(m)``) or a Sequential (names in it and in
    ``from_torch(m)``).  A torch name is a parameter and an index into it, e.g.
    ``'layers.1.neurons.3.w.5' -> '2.weight[3, 5]'``, read in torch as
    ``module.get_parameter('2.weight')[3, 5]``.
    """
    out = {}
    for i, (key, nin, nout) in enumerate(_layer_shapes(m, "torch_names")):
        for j in range(nout):
            for k in range(nin):
                out[_parameter_name(i, j, k)] = f"{key}.weight[{j}, {k}]"
            out[_parameter_name(i, j)] = f"{key}.bias[{j}]"
    return out


def valuegrad_names(m: ModelOrModule) -> dict[str, str]:
    """``{torch name: valuegrad name}``: the inverse of :func:`torch_names`."""
    return {t: v for v, t in torch_names(m).items()}
