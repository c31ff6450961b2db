"""Runnable demonstrations of valuegrad: ``python -m demos.<name>`` from the repository root.

Ctrl-C while a demo is still starting (importing the engine, nn, matplotlib...) ends it
the way it ends a run: ``interrupted`` on stderr and exit status 130, never a traceback
from the middle of an import.  ``python -m demos.<name>`` imports this package first,
so the handler is installed here, before anything heavy; each demo's ``main`` (through
:func:`demos.cli.command`) calls :func:`take_back_ctrl_c` as it starts, which hands
Ctrl-C back to Python's ``KeyboardInterrupt``,
so a run's own clean-up (no half-written files) works as before.  Imported any other
way (a test, a notebook), the package leaves Ctrl-C alone.
"""

import os
import signal
import sys


def interrupted_while_starting(signum: int, frame: object) -> None:
    """Ctrl-C before a demo's ``main``: nothing is written yet, so end at once."""
    os.write(2, b"interrupted\n")
    os._exit(130)


# While ``python -m`` looks for the module (importing its package: this file), argv[0]
# is "-m" (documented under the -m option); run as a program, and only then, take Ctrl-C.
if sys.argv[:1] == ["-m"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, interrupted_while_starting)


def take_back_ctrl_c() -> None:
    """From here Ctrl-C is a ``KeyboardInterrupt`` again: a demo's ``main`` has started."""
    if signal.getsignal(signal.SIGINT) is interrupted_while_starting:
        signal.signal(signal.SIGINT, signal.default_int_handler)
