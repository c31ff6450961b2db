"""valuegrad's scalar autograd engine.

``Value`` records every op into a DAG; ``backward`` runs reverse mode over it;
``grad`` returns gradients (differentiable ones with ``create_graph=True``).
"""

from .backward import backward, backward_order, grad, topological_order, zero_grad
from .rules import Rule
from .value import Value, apply, dot, enable_grad, is_grad_enabled, no_grad, vsum

sum = vsum  # noqa: A001 - ``autograd.sum`` reads naturally; not exported by ``*``

__all__ = [
    "Rule",
    "Value",
    "apply",
    "backward",
    "backward_order",
    "dot",
    "enable_grad",
    "grad",
    "is_grad_enabled",
    "no_grad",
    "topological_order",
    "vsum",
    "zero_grad",
]
