"""valuegrad's scalar autograd engine.

``Value`` records every op into a DAG; ``backward`` runs reverse mode over it;
``grad`` returns gradients (differentiable ones with ``create_graph=True``).
"""

from .backward import GradientError, backward, backward_order, grad, topological_order, zero_grad
from .rules import Rule
from .value import Value, apply, dot, enable_grad, is_grad_enabled, no_grad, vsum

sum = vsum  # ``autograd.sum`` reads naturally; left out of ``*`` so it never shadows the builtin

__all__ = [
    "GradientError",
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
