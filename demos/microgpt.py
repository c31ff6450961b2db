"""Karpathy's microgpt on valuegrad: ``python -m demos.microgpt``.

Trains microgpt's one-layer GPT (:mod:`demos.microgpt_model`, the same code the
benchmark runs on microgpt's own engine) on the 5,163 first names of
``demos/data/names.txt``, one name per step, and invents new names as it goes.
Then it writes what the model learnt and how: the loss curve, each head's
attention while it generates one name, the computation graph of one attention
head at one position, the parameters the loss on one name pulls hardest (by
name, row and column), and the trained weights, which ``--sample-only`` loads
to sample again without training.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autograd import COMPILED, Value, checks, draw_dot, no_grad
from autograd.files import write_text_atomic
from demos import cli
from demos import microgpt_model as M
from demos.output import pyplot, save_figure, write_svg, write_text, wrote
from demos.training import Progress
from nn import format_gradients

NAMES = Path(__file__).resolve().parent / "data" / "names.txt"
DEFAULT_STEPS = 1000  # microgpt's own; about 2 minutes on a shared 2-core machine
MAX_STEPS = 20_000  # about 35 minutes at ~0.1 s a step: the demos' work bound
MAX_SAMPLES = 1000
FORMAT = "valuegrad-microgpt"
VERSION = 1
TOP_GRADIENTS = 15
SMOOTHING = 50  # steps in the loss curve's moving average
GRAPH_POSITION = 1  # the head drawn reads 2 keys: the smallest position that is not trivial


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        prog="python -m demos.microgpt",
        description="Train Karpathy's microgpt (a one-layer GPT) on first names, one name per "
                    "step, and sample new names.",
    )
    cli.add_int(p, "--steps", 1, MAX_STEPS, "training steps, one name each",
                default=DEFAULT_STEPS)
    cli.add_seed(p, "the names' order, the initial weights and the samples", default=42)
    p.add_argument("--out", type=Path, default=Path("out/microgpt"), help="output folder")
    cli.add_int(p, "--samples", 1, MAX_SAMPLES, "names to sample at the end", default=20)
    cli.add_int(p, "--sample-every", 0, MAX_STEPS,
                "print a few samples every this many steps; 0: five times a run", default=0)
    cli.add_float(p, "--temperature", 0.0, 2.0,
                  "sampling temperature: lower is safer, higher more inventive",
                  lo_open=True, default=M.TEMPERATURE)
    p.add_argument("--sample-only", action="store_true",
                   help="train nothing: load --weights and sample")
    # "%(default).0s" prints nothing: it only stops --help from adding "(default: None)"
    p.add_argument("--weights", type=Path, default=None,
                   help="weights file to write, or to read with --sample-only "
                        "(default: OUT/weights.json)%(default).0s")
    p.add_argument("--no-plots", action="store_true", help="skip the matplotlib figures")
    p.add_argument("--quiet", action="store_true", help="no progress bar or samples on the way")
    args = p.parse_args(argv)
    if args.weights is None:
        args.weights = args.out / "weights.json"
    if args.sample_only:
        if not args.weights.is_file():
            p.error(f"argument --weights: no weights file at '{args.weights}' (train first: "
                    "python -m demos.microgpt)")
    else:
        cli.output_folder(p, args.out)
        cli.output_folder(p, args.weights.parent)
    return args


# --- the weights file --------------------------------------------------------------------------


class WeightsError(ValueError):
    """A weights file that cannot be used, with the reason in one line."""


def weights_document(state: M.StateDict, tok: M.Tokenizer, steps: int, seed: int,
                     loss: float) -> dict:
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": config(),
        "chars": tok.chars,
        "trained": {"steps": steps, "seed": seed, "final_loss_avg": loss},
        "state": {name: [[p.data for p in row] for row in mat] for name, mat in state.items()},
    }


def config() -> dict:
    return {"n_embd": M.N_EMBD, "n_head": M.N_HEAD, "n_layer": M.N_LAYER,
            "block_size": M.BLOCK_SIZE}


def save_weights(path: Path, document: dict) -> Path:
    # allow_nan=False: NaN is not JSON, and never a trained weight
    return write_text_atomic(path, json.dumps(document, allow_nan=False) + "\n")


def load_weights(path: Path) -> tuple[M.StateDict, M.Tokenizer, dict]:
    """The state dict (of fresh leaves), tokenizer and training record stored in ``path``."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise WeightsError("not a text (UTF-8 JSON) file") from None
    except json.JSONDecodeError as e:
        raise WeightsError(f"not valid JSON (truncated or corrupt?): {e.msg} at line "
                           f"{e.lineno} column {e.colno}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise WeightsError(f"not a microgpt weights file (expected \"format\": \"{FORMAT}\")")
    if doc.get("version") != VERSION:
        raise WeightsError(f"version {doc.get('version')!r}, this demo reads version {VERSION}")
    if doc.get("config") != config():
        raise WeightsError(f"model configuration {doc.get('config')!r} differs from this "
                           f"demo's {config()!r}")
    chars = doc.get("chars")
    if not isinstance(chars, str) or not chars or len(set(chars)) != len(chars):
        raise WeightsError(f"\"chars\" must be a string of distinct characters, got {chars!r}")
    tok = M.Tokenizer(chars)
    state = doc.get("state")
    if not isinstance(state, dict):
        raise WeightsError("missing the \"state\" object of weight matrices")
    shapes = M.matrix_shapes(tok.vocab_size)
    if list(state) != [name for name, _, _ in shapes]:
        raise WeightsError(f"the weight matrices are {list(state)}, expected "
                           f"{[name for name, _, _ in shapes]}")
    for name, rows, cols in shapes:
        mat = state[name]
        if (not isinstance(mat, list) or len(mat) != rows
                or any(not isinstance(r, list) or len(r) != cols for r in mat)):
            raise WeightsError(f"{name} must be a {rows}x{cols} array of numbers")
        for r, row in enumerate(mat):
            for c, x in enumerate(row):
                try:
                    checks.number(x, "state", f"{name}[{r},{c}]")
                except (TypeError, ValueError) as e:
                    raise WeightsError(str(e)) from None
    trained = doc.get("trained") if isinstance(doc.get("trained"), dict) else {}
    return M.state_from_floats(Value, state), tok, trained


# --- training ----------------------------------------------------------------------------------


def samples(state: M.StateDict, tok: M.Tokenizer, rng: random.Random, n: int,
            temperature: float) -> list[str]:
    """``n`` sampled names; one that ends at once (BOS first) shows as ``(empty)``."""
    with no_grad():  # sampling needs no graph
        return [tok.decode(M.sample(state, tok, rng, temperature)) or "(empty)"
                for _ in range(n)]


def train(state: M.StateDict, tok: M.Tokenizer, docs: list[str], args: argparse.Namespace
          ) -> list[float]:
    """microgpt's loop: one name per step, Adam with linear decay.  Returns every step's loss."""
    opt = M.Adam(M.parameters(state), args.steps)
    every = args.sample_every or max(1, args.steps // 5)
    sampler = random.Random(args.seed + 1)
    bar = Progress(args.steps, "training", enabled=not args.quiet)
    losses: list[float] = []
    for step in range(args.steps):
        tokens = tok.encode(docs[step % len(docs)])
        losses.append(M.train_step(state, opt, tokens, step))
        recent = recent_loss(losses)
        bar.update(1, loss=f"{recent:.3f}")
        if not args.quiet and ((step + 1) % every == 0 or step + 1 == args.steps):
            names = ", ".join(samples(state, tok, sampler, 5, args.temperature))
            bar.write(f"step {step + 1:>{len(str(args.steps))}}/{args.steps}: loss {recent:.3f} "
                      f"(mean of the last {min(SMOOTHING, len(losses))}); samples: {names}")
    bar.close(loss=f"{recent_loss(losses):.3f}")
    return losses


def recent_loss(losses: Sequence[float]) -> float:
    """The loss a run reports: the mean of the last ``SMOOTHING`` steps' (or of all, if fewer).

    The last point of the loss curve's :func:`moving_average`, without its pass over the run.
    """
    tail = losses[-SMOOTHING:]
    return sum(tail) / len(tail)


# --- pictures and tables -----------------------------------------------------------------------


def moving_average(xs: Sequence[float], window: int) -> list[float]:
    out, total = [], 0.0
    for i, x in enumerate(xs):
        total += x
        if i >= window:
            total -= xs[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_losses(plt: Any, losses: Sequence[float], vocab_size: int, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    steps = range(1, len(losses) + 1)
    ax.plot(steps, losses, color="#9ecae1", linewidth=0.8, label="loss on each step's name")
    ax.plot(steps, moving_average(losses, SMOOTHING), color="#08519c", linewidth=2,
            label=f"mean of the last {SMOOTHING} steps")
    ax.axhline(math.log(vocab_size), color="#b2182b", linestyle="--", linewidth=1,
               label=f"uniform guess, ln {vocab_size} = {math.log(vocab_size):.2f}")
    ax.set(title="microgpt on valuegrad: cross-entropy per next character",
           xlabel="step (one name each)", ylabel="loss (nats)")
    ax.set_xlim(1, max(2, len(losses)))
    ax.legend(loc="upper right", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


def generate_traced(state: M.StateDict, tok: M.Tokenizer, seed: int, temperature: float,
                    min_len: int = 4) -> tuple[list[int], M.Cache]:
    """A sampled name (at least ``min_len`` letters if 50 tries find one) and the cache that
    recorded its attention weights and queries."""
    rng = random.Random(checks.integer(seed, "generate_traced", "seed", low=0) + 2)
    best: tuple[list[int], M.Cache] | None = None
    with no_grad():
        for _ in range(50):
            cache = M.Cache(attention=[])
            ids = M.sample(state, tok, rng, temperature, cache)
            if best is None or len(ids) > len(best[0]):
                best = (ids, cache)
            if len(ids) >= min_len:
                break
    assert best is not None
    return best


def plot_attention(plt: Any, tok: M.Tokenizer, ids: Sequence[int], cache: M.Cache,
                   path: Path) -> Path:
    """One heat map per head: row t is the query at position t, column s the key at s <= t."""
    fed = [tok.bos, *ids][: len(cache.attention)]  # the token read at each position
    n = len(fed)
    labels = ["BOS" if i == tok.bos else tok.chars[i] for i in fed]
    fig, axes = plt.subplots(1, M.N_HEAD, figsize=(3.1 * M.N_HEAD + 0.8, 3.6), squeeze=False)
    image = None
    for h, ax in enumerate(axes[0]):
        grid = [[math.nan] * n for _ in range(n)]
        for t in range(n):
            for s, w in enumerate(cache.attention[t][0][h]):
                grid[t][s] = w
        image = ax.imshow(grid, cmap="Blues", vmin=0.0, vmax=1.0)
        for t in range(n):
            for s in range(t + 1):
                w = grid[t][s]
                ax.text(s, t, f"{w:.2f}"[1:] if w < 1 else "1", ha="center", va="center",
                        fontsize=7 if n > 8 else 8, color="white" if w > 0.6 else "#252525")
        ax.set_xticks(range(n), labels, fontsize=9)
        ax.set_yticks(range(n), labels, fontsize=9)
        ax.set_title(f"head {h}", fontsize=10)
        ax.set_xlabel("key: token at this or an earlier position", fontsize=8)
        if h == 0:
            ax.set_ylabel("query: token just read", fontsize=8)
    name = tok.decode(ids)
    fig.suptitle(f'Attention of each head while generating "{name}" '
                 "(each row sums to 1; blank: the future, masked)", fontsize=10)
    fig.colorbar(image, ax=axes[0].tolist(), fraction=0.02, pad=0.02, label="attention weight")
    return save_figure(fig, path, dpi=110, bbox_inches="tight")


def head_graph(tok: M.Tokenizer, ids: Sequence[int], cache: M.Cache, position: int) -> tuple:
    """One attention head at one position, rebuilt alone on leaves holding its real inputs.

    The head whose attention at ``position`` is most peaked is chosen; its query, keys and
    values are read from the generation's cache into labelled leaves, and the model's own
    :func:`~demos.microgpt_model.attention_head` runs on them.  The root is the head's
    first output; ``backward`` fills in the gradients the picture colours.
    """
    fed = [tok.bos, *ids]
    heads = cache.attention[position][0]
    h = max(range(M.N_HEAD), key=lambda i: max(heads[i]))
    hs = h * M.HEAD_DIM
    q = [Value(x, label=f"q[{j}]") for j, x in enumerate(
        cache.queries[position][0][hs:hs + M.HEAD_DIM])]
    ks = [[Value(k.data, label=f"k{t}[{j}]") for j, k in enumerate(key[hs:hs + M.HEAD_DIM])]
          for t, key in enumerate(cache.keys[0][: position + 1])]
    vs = [[Value(v.data, label=f"v{t}[{j}]") for j, v in enumerate(val[hs:hs + M.HEAD_DIM])]
          for t, val in enumerate(cache.values[0][: position + 1])]
    out, weights = M.attention_head(q, ks, vs)
    # Name the landmarks, found by walking back from each weight a_t = e_t / total,
    # e_t = exp(s_t - max), through the model's own nodes.
    for t, w in enumerate(weights):
        w.label = f"a{t}: weight on {tok.token_name(fed[t])}"
        e, total = w.parents
        e.label = f"exp(s{t} - max)"
        total.label = "sum of exp"
        e.parents[0].parents[0].label = f"s{t} = q . k{t} / 2"
    root = out[0]
    root.label = "out[0]"
    root.backward()
    reading = " ".join(f"{t}:{tok.token_name(fed[t])}" for t in range(position + 1))
    title = (f"head {h} at position {position} (reading {reading}): "
             "out[0] = sum over t of a_t * v_t[0], a = softmax(q . k_t / 2)")
    return root, title, h


def describe(name: str, tok: M.Tokenizer) -> str:
    """What the weight ``name`` (``layer0.attn_wq[3,7]``) connects, in words."""
    matrix, index = name[:-1].split("[")
    r, c = map(int, index.split(","))
    kind = matrix.split(".")[-1]
    head, dim = divmod(r, M.HEAD_DIM)
    return {
        "wte": f"embedding of {tok.token_name(r)!r}, dim {c}",
        "wpe": f"embedding of position {r}, dim {c}",
        "lm_head": f"logit of {tok.token_name(r)!r} from dim {c}",
        "attn_wq": f"head {head} query[{dim}] from dim {c}",
        "attn_wk": f"head {head} key[{dim}] from dim {c}",
        "attn_wv": f"head {head} value[{dim}] from dim {c}",
        "attn_wo": f"dim {r} from head {c // M.HEAD_DIM} out[{c % M.HEAD_DIM}]",
        "mlp_fc1": f"hidden unit {r} from dim {c}",
        "mlp_fc2": f"dim {r} from hidden unit {c}",
    }[kind]


def gradient_table(state: M.StateDict, tok: M.Tokenizer, name: str, k: int) -> tuple[str, float]:
    """The ``k`` weights the loss on ``name`` pulls hardest, by name, row and column."""
    loss = M.loss_of(state, tok.encode(name))
    loss.backward()
    rows = [(n, p.data, p.grad) for n, p in M.named_parameters(state)]
    rows.sort(key=lambda r: -abs(r[2]))
    for p in M.parameters(state):
        p.grad = 0
    lines = format_gradients(rows[:k]).splitlines()
    lines[0] += "  connects"
    lines[1:] = [f"{line}  {describe(row[0], tok)}" for line, row in zip(lines[1:], rows)]
    return "\n".join(lines), loss.data


# --- main --------------------------------------------------------------------------------------


def sample_only(args: argparse.Namespace) -> int:
    try:
        state, tok, trained = load_weights(args.weights)
    except (WeightsError, OSError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else e
        raise SystemExit(f"error: cannot load weights from '{args.weights}': {reason}") from None
    steps = trained.get("steps", "?")
    print(f"weights: {args.weights} (trained {steps} steps); temperature {args.temperature:g}")
    rng = random.Random(args.seed + 1)
    for i, name in enumerate(samples(state, tok, rng, args.samples, args.temperature), 1):
        print(f"sample {i:>2}: {name}")
    return 0


@cli.command
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.sample_only:
        return sample_only(args)
    names = M.load_names(NAMES)
    tok = M.Tokenizer.from_names(names)
    rng = random.Random(args.seed)
    docs = M.shuffled(names, rng)  # as microgpt: shuffle, then draw the weights
    state = M.init_params(Value, tok.vocab_size, rng)
    n_params = len(M.parameters(state))
    print(f"data: {len(names):,} names from {NAMES.name}, vocabulary {tok.vocab_size} "
          f"(a-z and BOS); seed {args.seed}")
    print(f"model: microgpt, n_embd {M.N_EMBD}, {M.N_HEAD} heads, {M.N_LAYER} layer, block "
          f"{M.BLOCK_SIZE}: {n_params:,} parameters; Adam lr {M.LEARNING_RATE:g} -> 0 over "
          f"{args.steps} steps, one name per step")
    print("engine: compiled" if COMPILED else "engine: pure Python (python -m autograd._build "
          "compiles it, about 4x faster: see README, 'Coming from microgpt')")

    start = time.perf_counter()
    losses = train(state, tok, docs, args)
    seconds = time.perf_counter() - start
    final = recent_loss(losses)
    print(f"trained {args.steps} steps in {seconds:.1f} s ({1000 * seconds / args.steps:.0f} ms "
          f"per step); loss {final:.3f} (mean of the last {min(SMOOTHING, len(losses))} steps; "
          f"a uniform guess scores {math.log(tok.vocab_size):.3f})")

    print(f"\n--- {args.samples} new names (temperature {args.temperature:g}) ---")
    for i, name in enumerate(samples(state, tok, random.Random(args.seed + 1), args.samples,
                                     args.temperature), 1):
        print(f"sample {i:>2}: {name}")

    probe = docs[args.steps % len(docs)]  # the name training would have seen next
    table, probe_loss = gradient_table(state, tok, probe, TOP_GRADIENTS)
    print(f'\nthe {TOP_GRADIENTS} weights the loss on "{probe}" ({probe_loss:.3f}) pulls hardest:')
    print(table)

    print()
    wrote(save_weights(args.weights,
                       weights_document(state, tok, args.steps, args.seed, final)),
          "trained weights (python -m demos.microgpt --sample-only to sample again)")
    wrote(write_text(args.out / "top_gradients.txt",
                     f'gradients of the loss on "{probe}" after {args.steps} steps\n{table}\n'),
          "largest gradients")
    ids, cache = generate_traced(state, tok, args.seed, args.temperature)
    position = min(GRAPH_POSITION, len(cache.attention) - 1)
    root, title, _ = head_graph(tok, ids, cache, position)
    write_svg(args.out / "attention_head.svg", draw_dot(root, title=title, rankdir="TB"),
              f'graph of one attention head at position {position} of "{tok.decode(ids)}"')
    plt = pyplot(enabled=not args.no_plots)
    if plt is not None:
        wrote(plot_losses(plt, losses, tok.vocab_size, args.out / "loss.png"), "loss curve")
        wrote(plot_attention(plt, tok, ids, cache, args.out / "attention.png"),
              f'attention heat maps while generating "{tok.decode(ids)}"')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
