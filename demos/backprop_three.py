"""The explainer's four steps of backpropagation on a real "3": ``python -m demos.backprop_three``.

One hand-written "3" from the test split goes through the network; the loss is
softmax cross-entropy, the one ``demos.digits`` trains with, whose gradient at
each raw output is exactly the error: the output activation (softmax
probability) minus the desired one (1 for "3", 0 elsewhere). ``--loss mse``
uses the mean squared error between the activations and the desired ones
instead. The pictures, drawn by ``nn.draw_network`` with the same loss, agree
with the tables; the engine's backward pass gives every weight its gradient.
The demo prints

1. the current output activations beside the desired ones, their errors and
   the gradient at each raw output;
2. the weights into the output layer,
3. the weights into the second hidden layer,
4. the weights into the first hidden layer,

each as the weights the gradient pushes hardest, which way (plain SGD moves a
weight against its gradient) and by how much, and checks the explainer's claim
about each step against the numbers. It draws the network view of each step.
By default the network is untrained (seeded); ``--model`` loads one saved by
``python -m demos.digits``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from autograd import Value, grad
from autograd.style import fmt
from autograd.table import format_table
from demos import cli
from demos.datasets import load_digits
from demos.digits import DEFAULT_HIDDEN, SPLIT_SEED, TEST_FRACTION
from demos.output import write_svg
from nn import MLP, cross_entropy, mse, softmax, train_test_split
from nn.draw import LOSSES  # the network view's loss names, so --loss passes straight through
from nn.layers import count_parameters

LAYER_NAMES = ("output layer", "second hidden layer", "first hidden layer")
N_TEST = 359  # digits in the fixed test split (a test checks it)
MAX_TOP = 1000
MAX_LR = 1000.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        prog="python -m demos.backprop_three",
        description='Backpropagation in the explainer\'s four steps, on one real "3".',
    )
    p.add_argument("--model", type=Path, default=None,
                   help="a model file saved by demos.digits; without it, an untrained network")
    p.add_argument("--hidden", type=cli.hidden_sizes(2), default=DEFAULT_HIDDEN,
                   help=f"hidden sizes of the untrained network [1..{cli.MAX_WIDTH:,} each]")
    cli.add_seed(p, "initial weights of the untrained network")
    p.add_argument("--loss", choices=LOSSES, default="cross_entropy",
                   help="softmax cross-entropy (as demos.digits trains) or the mean squared "
                        "error of the softmax probabilities")
    cli.add_int(p, "--index", 0, N_TEST - 1,
                'which test digit to use; without it, the first "3" of the test split',
                default=None)
    cli.add_int(p, "--top", 1, MAX_TOP, "rows per weight table", default=8)
    cli.add_float(p, "--lr", 0.0, MAX_LR, "learning rate for the 'SGD change' column "
                  "(-lr x gradient)", lo_open=True, default=0.1)
    p.add_argument("--out", type=Path, default=Path("out/backprop_three"), help="output folder")
    p.add_argument("--no-svg", action="store_true", help="skip the network-view pictures")
    p.epilog = f"Limit: the untrained network has at most {cli.MAX_PARAMETERS:,} parameters."
    args = p.parse_args(argv)
    cli.check_budget(p, parameters=(count_parameters([64, *args.hidden, 10]), "--hidden"))
    if args.model is not None and not args.model.is_file():
        what = "is not a file" if args.model.exists() else "no such file"
        p.error(f"argument --model: {what}: {args.model}")
    if not args.no_svg:
        cli.output_folder(p, args.out)
    return args


def build_model(args: argparse.Namespace) -> tuple[MLP, str]:
    if args.model is None:
        return MLP(64, [*args.hidden, 10], seed=args.seed), f"untrained network (seed {args.seed})"
    try:
        model = MLP.from_file(args.model)
    except ValueError as e:  # nn's ModelLoadError says what is wrong with the file
        raise SystemExit(f"error: --model: {e}") from None
    if model.nin != 64 or len(model.layers) != 3 or model.nouts[-1] != 10:
        raise SystemExit(f"error: --model: {args.model} holds MLP({model.nin}, {model.nouts}); "
                         "expected 64 inputs, two hidden layers and 10 outputs")
    return model, f"trained model from {args.model}"


def pick_digit(index: int | None) -> tuple[list[float], int, int]:
    """``(pixels, label, index in the test split)``: the first "3" unless ``index`` is given."""
    X, y = load_digits()
    _, X_test, _, y_test = train_test_split(X, y, TEST_FRACTION, seed=SPLIT_SEED)
    if index is None:
        index = y_test.index(3)
    elif index >= len(y_test):
        raise SystemExit(f"error: argument --index: the test split has {len(y_test)} digits "
                         f"(0..{len(y_test) - 1}), got {index}")
    return X_test[index], y_test[index], index


def show_digit(x: Sequence[float]) -> str:
    shades = " .:-=+*#%@"
    return "\n".join(
        "    " + "".join(shades[min(9, int(v * 9.999))] * 2 for v in x[r * 8 : r * 8 + 8])
        for r in range(8)
    )


def num(x: float, sign: str = "+") -> str:
    """The house number format (``autograd.style.fmt``), signed by default."""
    return fmt(x, sign)


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Every column right-aligned, as numbers are."""
    return format_table(head, rows, align="r" * len(head))


def correlation(a: Sequence[float], b: Sequence[float]) -> float:
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    return cov / math.sqrt(va * vb) if va > 0 and vb > 0 else float("nan")


def weight_table(model: MLP, layer: int, top: int, lr: float) -> str:
    """The ``top`` weights of one layer by |gradient|, with the SGD change they would get."""
    prefix = f"layers.{layer}."
    rows = [(n, p) for n, p in model.named_parameters() if n.startswith(prefix) and ".w." in n]
    pos = sum(p.grad < 0 for _, p in rows)
    neg = sum(p.grad > 0 for _, p in rows)
    rows.sort(key=lambda r: -abs(r[1].grad))
    body = [
        (name, num(p.data), num(p.grad),
         "more positive" if p.grad < 0 else ("more negative" if p.grad > 0 else "unchanged"),
         num(-lr * p.grad))
        for name, p in rows[:top]
    ]
    head = ("weight", "current", "gradient", "SGD makes it", f"change -{lr:g}*grad")
    return (f"{len(rows)} weights: {pos} get more positive, {neg} more negative, "
            f"{len(rows) - pos - neg} unchanged (zero gradient); the {min(top, len(rows))} "
            f"largest |gradient|:\n" + table(head, body))


def check(claim: str, pairs: Sequence[tuple[float, float]]) -> None:
    """Print how far the engine's gradients (first of each pair) are from a claimed formula."""
    worst = max(abs(a - b) for a, b in pairs)
    scale = max(abs(a) for a, _ in pairs)
    rel = worst / scale if scale > 0.0 else (0.0 if worst == 0.0 else math.inf)
    print(f"check: {claim}\n  max |difference| {worst:.1e}, relative to the largest "
          f"|gradient| {rel:.1e}")


def layer_pairs(
    model: MLP, layer: int, wish: Sequence[float], inputs: Sequence[float], active: Sequence[bool]
) -> list[tuple[float, float]]:
    """``(grad of w_ji, wish_j * [neuron j on] * input_i)`` for every weight of one layer."""
    return [
        (w.grad, wish[j] * (1.0 if active[j] else 0.0) * inputs[i])
        for j, neuron in enumerate(model.layers[layer].neurons)
        for i, w in enumerate(neuron.w)
    ]


def step1(logits: list[Value], probs: list[float], desired: list[float],
          d_logit: list[float], loss: str) -> None:
    print("\nStep 1. Compare the output activations with the desired ones. An activation is the "
          "softmax\nprobability of the raw output. The gradient at each raw output says which way "
          "it should\nmove: negative means up.", end=" ")
    if loss == "cross_entropy":
        print("With softmax cross-entropy it is exactly the error\n"
              "e = activation - desired, the explainer's \"current activation minus desired\".")
    else:
        print("Through the softmax and the mean squared error it is\n"
              "(2/10) p_k (e_k - sum_j p_j e_j), where e = activation - desired is the error.")
    errors = [p - d for p, d in zip(probs, desired)]
    rows = [(str(k), num(logits[k].data), num(probs[k], ""), f"{desired[k]:.0f}",
             num(errors[k]), num(d_logit[k]), "up" if d_logit[k] < 0 else "down")
            for k in range(10)]
    print(table(("output", "raw", "activation", "desired", "error", "gradient", "nudge"), rows))
    if loss == "cross_entropy":
        check("gradient at output k = activation - desired, for all 10 outputs",
              list(zip(d_logit, errors)))
    else:
        mean_err = sum(p * e for p, e in zip(probs, errors))
        check("gradient at output k = (2/10) p_k (e_k - sum_j p_j e_j)",
              [(d_logit[k], 0.2 * probs[k] * (errors[k] - mean_err)) for k in range(10)])


def step2(model: MLP, label: int, a2: list[float], d_logit: list[float],
          args: argparse.Namespace) -> None:
    print(f"\nStep 2. Weights into the {LAYER_NAMES[0]}. The weight from second-hidden neuron j "
          f"into output k\nhas gradient (gradient at output k) x a_j: weights into output "
          f"{label} get more positive\nin proportion to each neuron's activation a_j; weights "
          f"into the outputs that should\nfall get more negative.")
    print(weight_table(model, 2, args.top, args.lr))
    g_w = [w.grad for w in model.layers[2].neurons[label].w]
    on = [j for j, a in enumerate(a2) if a > 0.0]
    ratios = [g_w[j] / a2[j] for j in on]
    silent = [abs(g_w[j]) for j in range(len(a2)) if a2[j] <= 0.0]
    moves = "raises" if d_logit[label] < 0 else "lowers"
    print(f"output {label}: its gradient is {d_logit[label]:+.6e}, so SGD {moves} all its weights "
          f"from active neurons:\n  {len(on)} active neurons (a_j > 0): gradient / a_j from "
          f"{min(ratios, default=math.nan):+.6e} to {max(ratios, default=math.nan):+.6e}, "
          f"correlation(gradient, a_j) {correlation(g_w, a2):+.4f}\n"
          f"  {len(silent)} silent neurons (a_j = 0): largest |gradient| of their weights "
          f"{max(silent, default=0.0):.1e}")
    check("weight gradient = (gradient at output k) x a_j, for all 10 outputs",
          layer_pairs(model, 2, d_logit, a2, [True] * 10))


def step3(model: MLP, a1: list[float], a2: list[float], d_logit: list[float],
          d_h2: list[float], args: argparse.Namespace) -> None:
    print(f"\nStep 3. Weights into the {LAYER_NAMES[1]}. Each second-hidden neuron j first gets "
          "its own\ngradient, the output gradients sent back through the current weights "
          "(sum over k of\nw_kj x gradient at output k); if the neuron is on (ReLU passes), "
          "weight i into it\ngets that gradient x a_i, the first hidden layer's activation.")
    print(weight_table(model, 1, args.top, args.lr))
    out = model.layers[2].neurons
    check("neuron gradient = sum over k of w_kj x gradient at output k",
          [(d_h2[j], sum(out[k].w[j].data * d_logit[k] for k in range(10)))
           for j in range(len(a2))])
    check("weight gradient = neuron gradient x [neuron on] x a_i",
          layer_pairs(model, 1, d_h2, a1, [a > 0.0 for a in a2]))


def step4(model: MLP, x: list[float], a1: list[float], d_h1: list[float],
          args: argparse.Namespace) -> None:
    print(f"\nStep 4. Weights into the {LAYER_NAMES[2]}, the same way one layer further back: "
          "the input\nis the pixel, so weights from blank pixels (0) do not change at all.")
    print(weight_table(model, 0, args.top, args.lr))
    blank = [i for i, v in enumerate(x) if v == 0.0]
    from_blank = max((abs(n.w[i].grad) for n in model.layers[0].neurons for i in blank),
                     default=0.0)
    print(f"{len(blank)} of 64 pixels are blank; largest |gradient| of a weight from one: "
          f"{from_blank:.1e}")
    check("weight gradient = neuron gradient x [neuron on] x pixel_i",
          layer_pairs(model, 0, d_h1, x, [a > 0.0 for a in a1]))


def layer_outputs(model: MLP, i: int, x: list) -> list:
    """Layer ``i``'s outputs as a list, one neuron wide too (``--hidden 1,1``): a Layer, like
    micrograd's, returns a lone Value for a single neuron, which the next one does not take."""
    out = model.layers[i](x)
    return out if isinstance(out, list) else [out]


def forward_backward(model: MLP, x: list[float], label: int, loss_name: str) -> tuple:
    """``(h1, h2, logits, activations, loss, wishes)``, every weight's ``.grad`` filled in.

    ``wishes`` is the loss's gradient at each neuron's output (logits, then h2, h1).
    """
    # Forward layer by layer, keeping each layer's activations for the checks.
    h1 = layer_outputs(model, 0, x)
    h2 = layer_outputs(model, 1, h1)
    logits = layer_outputs(model, 2, h2)
    activations = softmax(logits)
    if loss_name == "cross_entropy":
        loss = cross_entropy(logits, label)
    else:
        loss = mse(activations, [1.0 if k == label else 0.0 for k in range(10)])
    # The loss's gradient at each neuron's output, from the engine (no .grad touched) ...
    wishes = grad(loss, [*logits, *h2, *h1])
    # ... and every weight's gradient, from backward() as in training.
    model.zero_grad()
    loss.backward()
    return h1, h2, logits, activations, loss, wishes


@cli.command
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    model, desc = build_model(args)
    x, label, index = pick_digit(args.index)
    print(f'network: MLP(64, {model.nouts}), {desc}')
    print(f'digit: test example {index} of the fixed 80/20 split, labelled "{label}":')
    print(show_digit(x))

    try:
        h1, h2, logits, activations, loss, wishes = forward_backward(model, x, label, args.loss)
    except cli.DIVERGENCE as e:  # a model file may hold weights whose products overflow
        raise SystemExit(f"error: the network cannot be evaluated on this digit: "
                         f"{cli.shorten(str(e))}") from None
    desired = [1.0 if k == label else 0.0 for k in range(10)]
    formula = (f"softmax cross-entropy = -log(activation of output {label})"
               if args.loss == "cross_entropy"
               else "mean over the 10 outputs of (activation - desired)^2")
    d_logit, d_h2, d_h1 = wishes[:10], wishes[10 : 10 + len(h2)], wishes[10 + len(h2) :]
    print(f"\nloss = {formula} = {num(loss.data, '')}")

    a1 = [v.data for v in h1]
    a2 = [v.data for v in h2]
    step1(logits, [p.data for p in activations], desired, d_logit, args.loss)
    step2(model, label, a2, d_logit, args)
    step3(model, a1, a2, d_logit, d_h2, args)
    step4(model, x, a1, d_h1, args)

    if not args.no_svg:
        from nn import draw_network  # loads graphviz only when pictures are wanted

        print()
        for step in (1, 2, 3, 4):
            picture = draw_network(model, x, target=label, step=step, loss=args.loss)
            write_svg(args.out / f"step{step}.svg", picture, f"network view of step {step}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
