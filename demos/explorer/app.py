"""``python -m demos.explorer``: start the explorer and open it in the browser.

Loads a model saved by ``python -m demos.digits`` (``--model``), or trains one
in a few seconds (``MLP(64, [32, 32, 10])``, 3 epochs of the digits demo's
Adam schedule, seeded), then serves the page on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import webbrowser
from collections.abc import Sequence
from pathlib import Path

from autograd.draw import GraphvizNotFoundError, require_graphviz, require_graphviz_package
from demos import cli
from demos.datasets import load_digits
from demos.digits import SPLIT_SEED, TEST_FRACTION, train
from nn import MLP, train_test_split

from .api import Explorer
from .server import ExplorerServer

QUICK_EPOCHS = 3
QUICK_HIDDEN = [32, 32]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        prog="python -m demos.explorer",
        description="Draw a digit and watch a real network read it and learn from it, in your "
        "browser (served on 127.0.0.1 only).",
    )
    cli.add_int(p, "--port", 0, 65535, "port on 127.0.0.1; 0 picks a free one", default=8000)
    p.add_argument("--model", type=Path, default=None,
                   help="a model saved by python -m demos.digits; without it, one is trained "
                        f"({QUICK_EPOCHS} epochs, a few seconds)")
    cli.add_seed(p, "seed of the model trained at start-up")
    p.add_argument("--no-browser", action="store_true", help="only print the URL")
    p.add_argument("--verbose", action="store_true", help="log every request")
    args = p.parse_args(argv)
    if args.model is not None and not args.model.is_file():
        p.error(f"argument --model: no such file: {args.model}")
    return args


def load_model(path: Path) -> tuple[MLP, str]:
    try:
        model = MLP.from_file(path)
    except ValueError as e:  # nn's ModelLoadError says what is wrong with the file
        raise SystemExit(f"error: --model: {e}") from None
    if model.nin != 64 or model.nouts[-1] != 10 or len(model.layers) < 2:
        raise SystemExit(f"error: --model: {path} holds MLP({model.nin}, {model.nouts}); "
                         "expected 64 inputs, hidden layers and 10 outputs")
    return model, f"loaded from {path}"


def quick_model(seed: int) -> tuple[MLP, str]:
    """The digits demo's network and training, cut to a few epochs."""
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, TEST_FRACTION, seed=SPLIT_SEED)
    model = MLP(64, [*QUICK_HIDDEN, 10], seed=seed)
    print(f"training MLP(64, {[*QUICK_HIDDEN, 10]}) on {len(X_train)} digits for "
          f"{QUICK_EPOCHS} epochs (--model loads a trained one instead) ...", flush=True)
    start = time.perf_counter()
    settings = argparse.Namespace(epochs=QUICK_EPOCHS, lr=1e-2, batch_size=32, seed=seed,
                                  quiet=True)
    history = train(model, X_train, y_train, X_test, y_test, settings)
    seconds = time.perf_counter() - start
    acc = history["test"][-1]  # measured after the last epoch, on the model as it stays
    print(f"trained in {seconds:.1f} s: test accuracy {acc:.1%}", flush=True)
    return model, (f"trained at start-up for {QUICK_EPOCHS} epochs (seed {seed}); "
                   f"test accuracy {acc:.1%}")


def graphical() -> bool:
    """Whether a graphical browser can open: without a display, ``webbrowser`` would start a
    text browser (lynx, w3m) in this terminal, on top of the server's output."""
    if sys.platform.startswith(("win", "darwin")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@cli.command
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:  # every picture needs both; fail now, not on each request
        require_graphviz_package()
        require_graphviz("neato")  # the network view's layout
    except GraphvizNotFoundError as e:
        raise SystemExit(f"error: {e}") from None
    model, about = load_model(args.model) if args.model else quick_model(args.seed)
    explorer = Explorer(model, about)
    try:
        server = ExplorerServer(explorer, args.port, verbose=args.verbose)
    except OSError as e:
        raise SystemExit(f"error: cannot listen on {args.port}: {e.strerror or e} "
                         "(--port 0 picks a free port)") from None
    print(f"valuegrad explorer: MLP({model.nin}, {model.nouts}), {about}")
    print("open this in your browser (Ctrl+C stops the server):")
    print(server.url, flush=True)
    if not args.no_browser:
        if graphical():
            threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
        else:
            print("(no graphical display found, so no browser was opened: open the address "
                  "above in yours)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
