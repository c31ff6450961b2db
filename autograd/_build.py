"""Build (or remove) the optional compiled engine: ``python -m autograd._build [--clean]``.

Cython compiles the engine's own modules, ``node.py``, ``checks.py``,
``kinds.py``, ``rules.py``, ``backward.py`` and ``value.py``, unchanged, in its pure-Python
mode; the augmenting ``.pxd`` files next to them make ``Node``, ``Value`` and
the rule kinds extension types (``data`` and ``grad`` C doubles; each kind's
``parents``, ``send`` and ``record`` C-level methods) and type a few hot
locals.  The ``.py`` files stay the one source of every derivative rule and
of every kind's ``send``, and the always-present fallback: without Cython or a
C compiler nothing is built and nothing changes.

The extension modules land next to the ``.py`` files, where Python's import
prefers them, with ``compiled-sources.json``, the digest of each source compiled:
if a source changes afterwards, ``import autograd`` warns and runs the ``.py``
files until the next build (:mod:`autograd._pure`).  From an installed package
(``pip install 'valuegrad[compiled]'`` into a virtual environment, no clone needed) it
compiles the installed copy the same way; run ``--clean`` before ``pip uninstall``, which
removes only the files it installed.  ``VALUEGRAD_PURE=1`` in
the environment makes ``autograd`` import the ``.py`` files anyway;
``autograd.COMPILED`` says which engine is running.  Needs Cython (``pip install -e '.[compiled]'``)
and a C compiler.

The options are fixed, each found necessary: ``binding=True`` (functions and
methods keep Python's introspection); ``annotation_typing=False`` (a ``float``
hint made a C double changes Python's semantics: ``(-0.5) ** 2.0`` went
complex); ``nonecheck=True`` (a node argument or slot that is None raises
``AttributeError``, as in Python, where it would read ``None``'s memory as a
node: a crash); ``-ffp-contract=off`` (no fused multiply-add, so every float rounds
as in Python: both engines give the same bits); and a forced rebuild, since
Cython does not rebuild when only the options change.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from autograd._pure import COMPILED_MODULES, MANIFEST, source_digests

HERE = Path(__file__).resolve().parent


def built_files() -> list[Path]:
    """The extension modules (and Cython's C files) next to the sources."""
    found: list[Path] = []
    for name in COMPILED_MODULES:
        for pattern in (f"{name}.*.so", f"{name}.*.pyd", f"{name}.c"):
            found += HERE.glob(pattern)
    return sorted(found)


# The compiler's object files: build/ in a clone; in an installed package (site-packages,
# from `pip install valuegrad[compiled]`), a temp folder, not a stray build/ beside it.
IN_CLONE = (HERE.parent / "setup.cfg").is_file()
TEMP = HERE.parent / "build" / "compiled-tmp"


def clean() -> None:
    """Remove the compiled modules: the pure-Python engine runs again."""
    for path in [*built_files(), *HERE.glob(MANIFEST)]:
        path.unlink()
        print(f"removed {path.relative_to(HERE.parent)}")
    if IN_CLONE:
        shutil.rmtree(TEMP, ignore_errors=True)
        with contextlib.suppress(OSError):  # build/ itself only if nothing else is in it
            TEMP.parent.rmdir()


def build() -> None:
    """Compile the engine's modules in place (about 30 s)."""
    try:
        from Cython.Build import cythonize
    except ImportError:
        sys.exit(
            "autograd._build: Cython is not installed (pip install cython); "
            "the pure-Python engine runs as it is"
        )
    from setuptools import Extension
    from setuptools.dist import Distribution

    extensions = [
        Extension(
            f"autograd.{name}",
            [str(HERE / f"{name}.py")],
            # No fused multiply-add: floats must round exactly as in Python.
            extra_compile_args=["-O2", "-ffp-contract=off"],
        )
        for name in COMPILED_MODULES
    ]
    modules = cythonize(
        extensions,
        compiler_directives={
            "language_level": 3,
            "binding": True,
            "cdivision": False,
            "infer_types": False,
            "annotation_typing": False,
            # A typed node that is None (a leaf's empty slot, a slot edited by hand)
            # raises AttributeError instead of reading None's memory as a node.
            "nonecheck": True,
        },
        include_path=[str(HERE.parent)],
        quiet=True,
        force=True,
    )
    digests = source_digests(HERE)  # of the sources as compiled (see autograd._pure)
    dist = Distribution({"name": "valuegrad-compiled", "ext_modules": modules})
    cmd = dist.get_command_obj("build_ext")
    temp = TEMP if IN_CLONE else Path(tempfile.mkdtemp(prefix="valuegrad-compiled-"))
    cmd.inplace = True
    cmd.build_temp = str(temp)
    cmd.build_lib = str(temp / "lib")
    old = Path.cwd()
    try:
        # build_ext --inplace puts each module relative to the current directory.
        os.chdir(HERE.parent)
        dist.run_command("build_ext")
    except Exception as e:  # no C compiler, a compile error: leave no half-built engine
        clean()
        sys.exit(f"autograd._build: compiling failed ({e}); the pure-Python engine runs as it is")
    finally:
        os.chdir(old)
        if not IN_CLONE:
            shutil.rmtree(temp, ignore_errors=True)
    (HERE / MANIFEST).write_text(json.dumps(digests, indent=1) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m autograd._build", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--clean", action="store_true", help="remove the compiled modules")
    args = parser.parse_args(argv)
    if args.clean:
        clean()
        return
    build()
    print("built:", ", ".join(p.name for p in built_files() if p.suffix != ".c"))


if __name__ == "__main__":
    main()
