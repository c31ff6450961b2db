"""Every example in README.md and docs/ runs, and prints what the page says it prints.

Python blocks.  Each ```` ```python ```` block of ``README.md`` and ``docs/**/*.md`` runs,
in page order, one namespace per page (a later block may use an earlier block's names),
in a temporary working directory (files an example writes land there), with the
repository root importable (``demos``).  Printed output is compared where the page shows it:

- a ```` ```text ```` block directly after a python block (nothing but blank lines
  between) is that block's whole expected output;
- otherwise, lines of the form ``print(...)  # prints <text>`` give the output line by
  line: the block must print exactly those lines, in that order.

Comparison is exact, except that trailing spaces and trailing blank lines are ignored.  A
block that shows no output is only run.

Marking a block.  An HTML comment on the line just above its fence (invisible on GitHub):

- ``<!-- docs-test: needs torch -->``: needs what is named; the names are ``torch``,
  ``dot`` (Graphviz), ``matplotlib`` and ``chromium``, several separated by commas.  The
  block is skipped with a reason where one is missing, and fails instead when ``CI`` is set,
  as the rest of the suite does.
- ``<!-- docs-test: skip <why> -->``: never run (say why: an example that waits for a
  person, or needs the network); use it rarely.

A new page under docs/ is picked up on its own.  Shell commands the pages quote are checked
too: every ``python -m <module>`` names a module that exists and only flags its ``--help``
lists, every ``pip install ... '.[extras]'`` only extras setup.cfg defines, and every
``bash <script>`` a script in the repository.
"""

from __future__ import annotations

import configparser
import contextlib
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
NEEDS = {"torch", "dot", "matplotlib", "chromium"}
MARKER = re.compile(r"^<!--\s*docs-test:\s*(needs|skip)\b\s*(.*?)\s*-->\s*$")
PRINTS = re.compile(r"^\s*print\(.*#\s*prints\s(.*)$")


@dataclass
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    source: str
    expected: list[str] | None = None  # lines, or None: output not shown
    needs: set[str] = field(default_factory=set)
    skip: str = ""

    def where(self) -> str:
        page = self.page.relative_to(ROOT) if ROOT in self.page.parents else self.page
        return f"{page}:{self.line}"


def fences(text: str) -> list[tuple[str, int, int, list[str]]]:
    """Every fenced block: (info string, opening line index, closing line index, body)."""
    lines = text.split("\n")
    found, i = [], 0
    while i < len(lines):
        m = re.match(r"^(`{3,})\s*(\S*)", lines[i])
        if m:
            fence, start = m.group(1), i
            i += 1
            while i < len(lines) and not lines[i].startswith(fence):
                i += 1
            found.append((m.group(2), start, i, lines[start + 1 : i]))
        i += 1
    return found


def python_blocks(page: Path) -> list[Block]:
    """The page's python blocks, with their expected output and marks."""
    text = page.read_text(encoding="utf-8")
    lines = text.split("\n")
    all_fences = fences(text)
    blocks = []
    for k, (info, start, end, body) in enumerate(all_fences):
        if info != "python":
            continue
        block = Block(page, start + 1, "\n".join(body))
        if start > 0 and (m := MARKER.match(lines[start - 1])):
            if m.group(1) == "skip":
                block.skip = m.group(2) or "marked skip"
            else:
                block.needs = {n.strip() for n in m.group(2).split(",") if n.strip()}
                unknown = block.needs - NEEDS
                assert not unknown, f"{block.where()}: unknown needs {unknown}, known {NEEDS}"
        nxt = all_fences[k + 1] if k + 1 < len(all_fences) else None
        if nxt and nxt[0] == "text" and all(not s.strip() for s in lines[end + 1 : nxt[1]]):
            block.expected = nxt[3]
        else:
            shown = [m.group(1) for s in body if (m := PRINTS.match(s))]
            block.expected = shown or None
        blocks.append(block)
    return blocks


def _missing(need: str) -> bool:
    if need == "dot":
        return shutil.which("dot") is None
    if need == "chromium":
        return shutil.which("chromium") is None or shutil.which("chromedriver") is None
    return importlib.util.find_spec(need) is None


def _tidy(lines: list[str]) -> list[str]:
    out = [s.rstrip() for s in lines]
    while out and not out[-1]:
        out.pop()
    return out


def run_page(page: Path, workdir: Path) -> None:
    """Run the page's blocks in order in one namespace; fail naming the block."""
    namespace: dict = {"__name__": "__docs__"}
    skipped = []
    for block in python_blocks(page):
        if block.skip:
            continue
        missing = sorted(n for n in block.needs if _missing(n))
        if missing:
            if os.environ.get("CI"):
                pytest.fail(f"{block.where()} needs {missing}, which CI must install")
            skipped.append(f"{block.where()} needs {', '.join(missing)} (not installed)")
            continue
        out = io.StringIO()
        with _chdir(workdir), contextlib.redirect_stdout(out):
            try:
                exec(compile(block.source, block.where(), "exec"), namespace)
            except Exception as e:
                raise AssertionError(f"{block.where()}: the example raised {e!r}") from e
        if block.expected is not None:
            got, want = _tidy(out.getvalue().split("\n")), _tidy(block.expected)
            if got != want:
                raise AssertionError(
                    f"{block.where()}: the example prints\n" + "\n".join(got)
                    + "\n\nbut the page shows\n" + "\n".join(want)
                )
    if skipped:  # after running every block that could run
        pytest.skip("; ".join(skipped))


@contextlib.contextmanager
def _chdir(path: Path):  # contextlib.chdir is Python 3.11+
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


PAGES_WITH_CODE = [p for p in PAGES if python_blocks(p)]


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_example_runs_and_prints_what_the_page_shows(
    page: Path, tmp_path: Path
) -> None:
    run_page(page, tmp_path)


def test_the_pages_have_examples() -> None:
    """The runner finds the blocks (a broken parser must not pass by finding none)."""
    assert ROOT / "README.md" in PAGES_WITH_CODE
    assert sum(len(python_blocks(p)) for p in PAGES) >= 14


def test_a_drifted_example_fails(tmp_path: Path) -> None:
    """The bite: a page whose shown output no longer matches, or whose code raises, fails."""
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nprint(1 + 1)  # prints 3\n```\n", encoding="utf-8"
    )
    with pytest.raises(AssertionError, match="prints\n2\n\nbut the page shows\n3"):
        run_page(page, tmp_path)
    page.write_text("```python\nprint(2)\n```\n\n```text\n2.0\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="but the page shows"):
        run_page(page, tmp_path)
    page.write_text("```python\nfrom autograd import Value\nValue(-1.0).log()\n```\n")
    with pytest.raises(AssertionError, match="log: argument must be > 0"):
        run_page(page, tmp_path)
    page.write_text("```python\nprint(2)\n```\n\n```text\n2\n```\n", encoding="utf-8")
    run_page(page, tmp_path)  # and a right one passes


# --- shell commands ----------------------------------------------------------------------

def _spans_and_shell(page: Path) -> list[str]:
    """Inline code spans and the lines of sh/bash blocks (a command each, `&&` split)."""
    text = page.read_text(encoding="utf-8")
    commands = []
    for info, _, _, body in fences(text):
        if info in ("sh", "bash", "console", "shell"):
            for line in body:
                commands += [c.strip() for c in line.split("&&")]
    prose = re.sub(r"^(`{3,}).*?^\1", "", text, flags=re.S | re.M)
    commands += re.findall(r"`([^`\n]+)`", prose)
    return commands


def _commands(pattern: str) -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for c in _spans_and_shell(page):
            for m in re.finditer(pattern, c):
                found.append((str(page.relative_to(ROOT)), m.group(0)))
    return found


# A module name, not a placeholder such as `python -m demos.<name>`, then its arguments.
PYTHON_M = _commands(r"python3? -m [A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?![.\w<])(?:\s+[^\s`|;&)]+)*")


def _help(module: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, f"python -m {module} --help failed: {result.stderr[-500:]}"
    return result.stdout


# Modules whose --help is not theirs to check (third-party tools the docs name).
FOREIGN = {"pytest", "pip", "venv", "build", "twine", "mypy", "http.server", "jupyter"}


def test_every_python_m_command_names_a_module_and_flags_it_has() -> None:
    assert len(PYTHON_M) >= 10, PYTHON_M  # the parser finds them
    helps: dict[str, str] = {}
    for page, command in PYTHON_M:
        words = command.split()
        module = words[2]
        if module.split(".")[0] in FOREIGN:
            continue
        assert importlib.util.find_spec(module) is not None, f"{page}: `{command}`: no {module}"
        flags = [w.split("=")[0] for w in words[3:] if w.startswith("--")]
        if not flags:
            continue
        if module not in helps:
            helps[module] = _help(module)
        for flag in flags:
            assert re.search(rf"(^|[\s,\[]){re.escape(flag)}\b", helps[module]), (
                f"{page}: `{command}`: {module} has no {flag} (see its --help)"
            )


def test_every_quoted_extra_exists() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    extras = set(cfg["options.extras_require"])
    quoted = _commands(r"pip install (?:-e )?'?\.\[[\w,]+\]'?")
    assert quoted, "the pages quote no pip install"
    for page, command in quoted:
        for extra in re.search(r"\[([\w,]+)\]", command).group(1).split(","):
            assert extra in extras, f"{page}: `{command}`: setup.cfg has no extra {extra!r}"


def test_every_quoted_script_exists() -> None:
    for page, command in _commands(r"(?:bash|sh) [\w./-]+\.sh(?: [\w-]+)*"):
        words = command.split()
        script = ROOT / words[1]
        assert script.is_file(), f"{page}: `{command}`: no {words[1]}"
        if words[1] == "scripts/setup.sh" and len(words) > 2:
            args = [w for w in words[2:] if not w.startswith("--")]
            assert set(args) <= {"demos", "test"}, f"{page}: `{command}`"
