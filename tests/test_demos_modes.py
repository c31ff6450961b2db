"""demos.modes: forward and reverse mode give one weight the same gradient on the digits
network; the line the digits demo prints says what each costs."""

from __future__ import annotations

import pytest

from demos.modes import compare_modes, mode_line
from nn import MLP


def test_both_modes_give_the_same_gradient_and_the_counts_are_the_networks() -> None:
    model = MLP(64, [32, 32, 10], seed=0)  # the explainer's network: 3,466 weights
    x = [((i * 7) % 17) / 16.0 for i in range(64)]
    c = compare_modes(model, x, 3)
    assert c.weights == 3466 == len(model.parameters())
    assert c.forward != 0.0
    assert c.forward == pytest.approx(c.reverse, rel=1e-12)
    named = compare_modes(model, x, 3, weight="layers.2.neurons.3.b")
    assert named.weight == "layers.2.neurons.3.b"
    assert named.forward == pytest.approx(named.reverse, rel=1e-12)
    assert c.reverse_seconds > 0 and c.forward_all_seconds == c.forward_seconds * 3466
    line = mode_line(c)
    assert f"d loss/d {c.weight}" in line and "all 3,466 gradients" in line


def test_an_unknown_weight_is_named() -> None:
    with pytest.raises(ValueError, match="compare_modes: the model has no parameter 'w'"):
        compare_modes(MLP(2, [1], seed=0), [0.0, 1.0], 0, weight="w")
