"""Karpathy's microgpt, written once for any scalar ``Value`` class.

The model, its loss, Adam and sampling follow microgpt's published algorithm
(February 2026): a one-layer GPT with token and position embeddings, rmsnorm,
4-head causal self-attention that runs one position at a time with a KV cache,
a relu MLP four times wider than the embedding, an ``lm_head``, Adam with
betas 0.85 / 0.99, eps 1e-8 and a learning rate of 0.01 decaying linearly to 0,
trained on one name per step wrapped in a BOS token on both sides.

Nothing here names an engine.  The code touches Values only the way microgpt's
model does: ``+ - * /``, ``**`` with a number, ``log``, ``exp``, ``relu``, the
builtin ``sum`` (which starts from int 0), ``.data`` reads, ``.grad`` reads and
``p.grad = 0`` resets, and ``backward()``.  The class is chosen once, in
:func:`init_params`, so ``demos.microgpt`` runs it on ``autograd.Value`` and
``tests.benchmarks.bench_microgpt`` runs the very same functions on microgpt's
own engine and compares them.  Everything except the leaves' class is plain
Python floats (Adam's buffers, the tokenizer, sampling), so the two engines see
the same float operations in the same order.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

N_EMBD = 16
N_HEAD = 4
N_LAYER = 1
BLOCK_SIZE = 16
HEAD_DIM = N_EMBD // N_HEAD
INIT_STD = 0.08
LEARNING_RATE = 0.01
BETA1 = 0.85
BETA2 = 0.99
EPS = 1e-8
TEMPERATURE = 0.5

Matrix = list  # a list of rows, each a list of Values
StateDict = dict  # name -> Matrix, in microgpt's order


# --- data --------------------------------------------------------------------------------------


def load_names(path: str | Path) -> list[str]:
    """The non-empty lines of ``path``, stripped: one document (name) each."""
    text = Path(path).read_text(encoding="utf-8")
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise ValueError(f"load_names: no names in '{path}'")
    return names


@dataclass(frozen=True)
class Tokenizer:
    """One token per character seen, plus BOS (begin/end of a name) as the last id."""

    chars: str

    @classmethod
    def from_names(cls, names: Sequence[str]) -> Tokenizer:
        return cls("".join(sorted(set("".join(names)))))

    @property
    def bos(self) -> int:
        return len(self.chars)

    @property
    def vocab_size(self) -> int:
        return len(self.chars) + 1

    def encode(self, name: str) -> list[int]:
        """``[BOS, ids of the characters..., BOS]``."""
        try:
            return [self.bos, *(self.chars.index(ch) for ch in name), self.bos]
        except ValueError:
            bad = next(ch for ch in name if ch not in self.chars)
            raise ValueError(
                f"encode: character {bad!r} is not in the vocabulary {self.chars!r}, "
                f"got {name!r}"
            ) from None

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.chars[i] for i in ids if i != self.bos)

    def token_name(self, i: int) -> str:
        """A token as a picture shows it: its character, or ``<BOS>``."""
        return "<BOS>" if i == self.bos else self.chars[i]


def shuffled(names: Sequence[str], rng: random.Random) -> list[str]:
    """The training order: ``names`` shuffled once by ``rng`` (microgpt's ``random.shuffle``)."""
    docs = list(names)
    rng.shuffle(docs)
    return docs


# --- parameters --------------------------------------------------------------------------------


def matrix_shapes(vocab_size: int, n_layer: int = N_LAYER) -> list[tuple[str, int, int]]:
    """``(name, rows, columns)`` of every weight matrix, in microgpt's order."""
    shapes = [("wte", vocab_size, N_EMBD), ("wpe", BLOCK_SIZE, N_EMBD),
              ("lm_head", vocab_size, N_EMBD)]
    for i in range(n_layer):
        shapes += [(f"layer{i}.attn_wq", N_EMBD, N_EMBD), (f"layer{i}.attn_wk", N_EMBD, N_EMBD),
                   (f"layer{i}.attn_wv", N_EMBD, N_EMBD), (f"layer{i}.attn_wo", N_EMBD, N_EMBD),
                   (f"layer{i}.mlp_fc1", 4 * N_EMBD, N_EMBD),
                   (f"layer{i}.mlp_fc2", N_EMBD, 4 * N_EMBD)]
    return shapes


def init_params(
    value: Callable[[float], Any], vocab_size: int, rng: random.Random, std: float = INIT_STD
) -> StateDict:
    """Every weight drawn from ``gauss(0, std)`` in microgpt's order, wrapped by ``value``.

    The same ``rng`` state gives the same floats whatever ``value`` is, so two
    engines start from identical weights.
    """
    return {
        name: [[value(rng.gauss(0, std)) for _ in range(cols)] for _ in range(rows)]
        for name, rows, cols in matrix_shapes(vocab_size)
    }


def parameters(state: StateDict) -> list:
    """All weights as one flat list (microgpt's ``params``), in the state dict's order."""
    return [p for mat in state.values() for row in mat for p in row]


def named_parameters(state: StateDict) -> list[tuple[str, Any]]:
    """``("layer0.attn_wq[3,7]", Value)`` for every weight: row 3, column 7."""
    return [(f"{name}[{r},{c}]", p) for name, mat in state.items()
            for r, row in enumerate(mat) for c, p in enumerate(row)]


def state_from_floats(value: Callable[[float], Any], floats: dict[str, list[list[float]]]
                      ) -> StateDict:
    """A state dict of fresh leaves holding ``floats`` (as a weights file stores them)."""
    return {name: [[value(x) for x in row] for row in mat] for name, mat in floats.items()}


# --- the model (microgpt's ops only) -----------------------------------------------------------


def linear(x: Sequence, w: Matrix) -> list:
    """``w @ x``: one ``sum`` of products per row of ``w``."""
    return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]


def softmax(logits: Sequence) -> list:
    """Probabilities from logits, the largest logit subtracted first (as a float) for safety."""
    max_val = max(val.data for val in logits)
    exps = [(val - max_val).exp() for val in logits]
    total = sum(exps)
    return [e / total for e in exps]


def rmsnorm(x: Sequence) -> list:
    """``x`` scaled to unit root-mean-square."""
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def attention_head(q_h: Sequence, k_h: Sequence[Sequence], v_h: Sequence[Sequence]
                   ) -> tuple[list, list]:
    """One head at one position: its output, and its attention weights over the cache."""
    attn_logits = [sum(q_h[j] * k_h[t][j] for j in range(len(q_h))) / len(q_h) ** 0.5
                   for t in range(len(k_h))]
    attn_weights = softmax(attn_logits)
    head_out = [sum(attn_weights[t] * v_h[t][j] for t in range(len(v_h)))
                for j in range(len(q_h))]
    return head_out, attn_weights


@dataclass
class Cache:
    """The KV cache of one sequence: per layer, the keys and values of every position so far.

    ``attention``, when a list, collects each position's attention weights as floats,
    ``[position][layer][head][key position]``, and ``queries`` each position's queries,
    ``[position][layer][dimension]``, for the pictures.
    """

    keys: list = field(default_factory=lambda: [[] for _ in range(N_LAYER)])
    values: list = field(default_factory=lambda: [[] for _ in range(N_LAYER)])
    attention: list | None = None
    queries: list = field(default_factory=list)


def gpt(state: StateDict, token_id: int, pos_id: int, cache: Cache) -> list:
    """The logits for the token after ``token_id`` at ``pos_id``, given what ``cache`` holds."""
    x = [t + p for t, p in zip(state["wte"][token_id], state["wpe"][pos_id])]
    x = rmsnorm(x)
    seen, queries = [], []
    for li in range(N_LAYER):
        # 1) multi-head causal self-attention, one position at a time
        x_residual = x
        x = rmsnorm(x)
        q = linear(x, state[f"layer{li}.attn_wq"])
        k = linear(x, state[f"layer{li}.attn_wk"])
        v = linear(x, state[f"layer{li}.attn_wv"])
        queries.append([qi.data for qi in q] if cache.attention is not None else None)
        cache.keys[li].append(k)
        cache.values[li].append(v)
        x_attn = []
        heads = []
        for h in range(N_HEAD):
            hs = h * HEAD_DIM
            k_h = [ki[hs:hs + HEAD_DIM] for ki in cache.keys[li]]
            v_h = [vi[hs:hs + HEAD_DIM] for vi in cache.values[li]]
            head_out, attn_weights = attention_head(q[hs:hs + HEAD_DIM], k_h, v_h)
            x_attn.extend(head_out)
            if cache.attention is not None:
                heads.append([w.data for w in attn_weights])
        seen.append(heads)
        x = linear(x_attn, state[f"layer{li}.attn_wo"])
        x = [a + b for a, b in zip(x, x_residual)]
        # 2) the relu MLP
        x_residual = x
        x = rmsnorm(x)
        x = linear(x, state[f"layer{li}.mlp_fc1"])
        x = [xi.relu() for xi in x]
        x = linear(x, state[f"layer{li}.mlp_fc2"])
        x = [a + b for a, b in zip(x, x_residual)]
    if cache.attention is not None:
        cache.attention.append(seen)
        cache.queries.append(queries)
    return linear(x, state["lm_head"])


def loss_of(state: StateDict, tokens: Sequence[int]) -> Any:
    """The mean cross-entropy of predicting each next token of ``tokens`` (one name)."""
    n = min(BLOCK_SIZE, len(tokens) - 1)
    cache = Cache()
    losses = []
    for pos_id in range(n):
        token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
        probs = softmax(gpt(state, token_id, pos_id, cache))
        losses.append(-probs[target_id].log())
    return (1 / n) * sum(losses)


# --- training ----------------------------------------------------------------------------------


class Adam:
    """microgpt's Adam on plain floats: bias-corrected moments, lr decaying linearly to 0."""

    def __init__(self, params: Sequence, num_steps: int, lr: float = LEARNING_RATE,
                 betas: tuple[float, float] = (BETA1, BETA2), eps: float = EPS) -> None:
        self.params = list(params)
        self.num_steps = num_steps
        self.lr = lr
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def lr_at(self, step: int) -> float:
        return self.lr * (1 - step / self.num_steps)

    def step(self, step: int) -> None:
        """Update every parameter from its ``.grad`` for 0-based ``step``, then reset it to 0."""
        lr_t = self.lr_at(step)
        b1, b2, eps, m, v = self.beta1, self.beta2, self.eps, self.m, self.v
        for i, p in enumerate(self.params):
            m[i] = b1 * m[i] + (1 - b1) * p.grad
            v[i] = b2 * v[i] + (1 - b2) * p.grad ** 2
            m_hat = m[i] / (1 - b1 ** (step + 1))
            v_hat = v[i] / (1 - b2 ** (step + 1))
            p.data -= lr_t * m_hat / (v_hat ** 0.5 + eps)
            p.grad = 0


def train_step(state: StateDict, opt: Adam, tokens: Sequence[int], step: int) -> float:
    """One microgpt step on one name: forward, loss, backward, Adam.  Returns the loss."""
    loss = loss_of(state, tokens)
    loss.backward()
    opt.step(step)
    return loss.data


# --- sampling ----------------------------------------------------------------------------------


def sample(state: StateDict, tok: Tokenizer, rng: random.Random,
           temperature: float = TEMPERATURE, cache: Cache | None = None) -> list[int]:
    """One name's token ids, drawn from the model at ``temperature`` until BOS or the block ends.

    Pass a ``cache`` with ``attention=[]`` to keep each position's attention weights.
    """
    cache = cache if cache is not None else Cache()
    token_id = tok.bos
    out = []
    for pos_id in range(BLOCK_SIZE):
        logits = gpt(state, token_id, pos_id, cache)
        probs = softmax([lg / temperature for lg in logits])
        token_id = rng.choices(range(tok.vocab_size), weights=[p.data for p in probs])[0]
        if token_id == tok.bos:
            break
        out.append(token_id)
    return out
