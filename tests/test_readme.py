"""The README's commands, run as written from the top of the built tree (`make run` made
it), each one's output compared with what the README shows under it.

In the README's fenced blocks a line `$ <command>` is a command for bash; the lines up
to the next command are its output (stdout and stderr together), where a line `...`
stands for any number of lines and `...` inside a line for any text.  A command shown
without output lines must succeed; what it prints is not compared.
"""
from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from helpers import ROOT, needs_build

README = ROOT / "README.md"
# Commands the README shows that this test does not run, and why.
NOT_RUN = {
    "make check": "it is what runs this test",
    "make install PREFIX=/opt/gdev-shim": "it writes outside the tree; tests/test_install.py runs it "
                                          "with a temporary PREFIX",
    "make bench": "it takes minutes; bench/ runs on its own",
}
# What a command leaves behind, checked after it ran.
FILES = {
    "GDEV_TRACE=build/out.json": lambda: json.loads((ROOT / "build" / "out.json").read_text())["traceEvents"],
    "-o build/add_test.cubin": lambda: (ROOT / "build" / "add_test.cubin").read_bytes()[:4] == b"\x7fELF",
}


def examples(text: str) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) of every `$` line in the fenced blocks of `text`."""
    found: list[tuple[str, list[str]]] = []
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            continue
        if line.startswith("$ "):
            found.append((line[2:], []))
        elif found:
            found[-1][1].append(line)
    return found


def _pattern(line: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in line.rstrip().split("...")))


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether all of `actual` is what `expected` describes (`...` lines skip any lines)."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head.strip() == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and bool(_pattern(head).fullmatch(actual[0].rstrip())) and matches(rest, actual[1:])


def _shell_env() -> dict[str, str]:
    """A user's shell: none of this run's GDEV_*, Python or make variables."""
    drop = ("GDEV_", "PYTHON", "MAKE", "MFLAGS")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


COMMANDS = examples(README.read_text())


def test_the_readme_shows_commands_and_the_tools_table_is_among_them():
    commands = [c for c, _ in COMMANDS]
    assert commands[:2] == ["make run     # builds everything (venv, libraries, kernels, C programs) and runs "
                            "the seed program",
                            "make check   # builds everything and runs the linters, the C test programs and pytest"]
    table = re.findall(r"^\| `([^`]+)`", README.read_text(), flags=re.M)
    for tool in table:
        word = re.split(r"[= \[]", tool.removeprefix("import "))[0]
        if tool == "pip install .":
            continue            # tests/test_install.py installs the package into a fresh venv
        assert any(word in c for c in commands), tool


def test_the_output_matcher():
    assert matches(["a ...", "...", "z"], ["a 1", "b", "c", "z"])
    assert matches(["..."], [])
    assert not matches(["a"], ["a", "b"])
    assert not matches(["x ... y"], ["x 1 z"])


@needs_build
@pytest.mark.parametrize("command,expected", COMMANDS, ids=[c.split("#")[0].strip() for c, _ in COMMANDS])
def test_readme_command(command: str, expected: list[str]):
    plain = command.split("   #")[0].strip()
    if plain in NOT_RUN:
        pytest.skip(NOT_RUN[plain])
    run = subprocess.run(["bash", "-c", command], cwd=ROOT, env=_shell_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:]
    if expected:
        assert matches(expected, run.stdout.splitlines()), "\n".join(["expected:", *expected, "got:",
                                                                      run.stdout[-3000:]])
    for marker, check in FILES.items():
        if marker in command:
            assert check()
