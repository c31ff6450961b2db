"""valuegrad's scalar autograd engine.

``Value`` records every op into a DAG; ``backward`` runs reverse mode over it;
``grad`` returns gradients (differentiable ones with ``create_graph=True``).

Where things are: each op's derivative (tanh's: ``TANH =``) in ``rules.py``;
how a node of each kind of rule holds its parents and sends them a gradient
in ``kinds.py``; ``Value`` and its operators in ``value.py``; backward's loop
(``_run_backward``), ``grad`` and the order of a pass in ``backward.py``;
``trace.py``, ``gradcheck.py``; pictures: colours and number format in
``style.py``, ``draw.py`` (``draw_dot``), ``render.py`` (Graphviz), the
grouping hook in ``grouping.py``; text tables in ``table.py``; input checks
in ``checks.py``; forward mode (``jvp``) in ``forward.py``, and ``grad(f)``,
``jacobian``, ``hessian``, ``hvp`` in ``functional.py``.  Layers point one way
(``tests/test_architecture.py``): node, checks, grad_mode, kinds, rules, backward,
value, then the rest.
An optional compiled build of those modules (not grad_mode): ``_build.py`` (the ``.pxd``
files beside them; ``COMPILED`` says whether it runs, ``VALUEGRAD_PURE=1``
picks the ``.py`` files).
A gradient as a sum over its paths: ``paths.py`` (``explain_gradient``).
"""

import os as _os
import sys as _sys
import warnings as _warnings

from . import _pure, _version

__version__: str = _version.VERSION  # the package's metadata reads the same line

if _os.environ.get("VALUEGRAD_PURE", "") not in ("", "0"):
    # The optional compiled engine (python -m autograd._build) puts extension
    # modules next to the .py files, where import prefers them; this picks the .py files.
    _pure.prefer_sources(__name__, __path__)
elif _stale := _pure.stale_sources(__path__[0]):
    _warnings.warn(
        f"autograd: {', '.join(f'{m}.py' for m in _stale)} changed since the compiled build; "
        "running the .py files (python -m autograd._build rebuilds it, --clean removes it)",
        RuntimeWarning,
        stacklevel=2,
    )
    _pure.prefer_sources(__name__, __path__)

from .backward import GradientError, backward, backward_order, grad, topological_order, zero_grad
from .draw import draw_dot, render_svg
from .forward import jvp
from .gradcheck import GradcheckError, GradcheckReport, GradcheckRow, gradcheck
from .paths import GradientPath, GradientPaths, explain_gradient
from .rules import Rule
from .trace import BackwardTrace, trace_backward
from .value import (
    Value,
    apply,
    clamp,
    constant,
    dot,
    enable_grad,
    is_grad_enabled,
    maximum,
    minimum,
    no_grad,
    set_grad_enabled,
    vsum,
)

COMPILED: bool = all(
    not str(_sys.modules[f"{__name__}.{m}"].__file__).endswith(".py")
    for m in _pure.COMPILED_MODULES
)
"""Whether the compiled build of the engine is running (``python -m autograd._build``)."""

sum = vsum  # ``autograd.sum`` reads naturally; left out of ``*`` so it never shadows the builtin

__all__ = [
    "COMPILED",
    "BackwardTrace",
    "GradcheckError",
    "GradcheckReport",
    "GradcheckRow",
    "GradientError",
    "GradientPath",
    "GradientPaths",
    "Rule",
    "Value",
    "apply",
    "backward",
    "backward_order",
    "clamp",
    "constant",
    "dot",
    "draw_dot",
    "enable_grad",
    "explain_gradient",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "jvp",
    "maximum",
    "minimum",
    "no_grad",
    "render_svg",
    "set_grad_enabled",
    "topological_order",
    "trace_backward",
    "vsum",
    "zero_grad",
]
