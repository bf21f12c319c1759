"""What the Docker tests hold the Docker files to: the project's sources of truth.

The Makefile's install step (and how to read a `pip install` command, in a
Makefile recipe or a Dockerfile RUN), pyproject.toml, and what `triage --help`
lists: the subcommands and the environment variables of each. The Docker
files themselves are parsed in ``image`` and ``compose_yaml``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
MAKEFILE = ROOT / "Makefile"
PYPROJECT = ROOT / "pyproject.toml"
TRIAGE = Path(sys.executable).parent / "triage"

# pip options that change how it talks, not what it installs.
PIP_PRESENTATION = {
    "-q", "--quiet", "-v", "--verbose", "--no-cache-dir", "--disable-pip-version-check",
    "--no-input", "--progress-bar=off", "--root-user-action=ignore",
}  # fmt: skip


# -- the Makefile and pip ---------------------------------------------------------------------


def make_recipe(target: str) -> list[str]:
    """The recipe lines of one Makefile rule, without their tab and `@`/`-` prefixes."""
    recipe: list[str] = []
    inside = False
    for line in MAKEFILE.read_text().splitlines():
        if inside:
            if line.startswith("\t"):
                recipe.append(line.strip().lstrip("@-"))
                continue
            if line.strip():
                break
        elif re.match(rf"{re.escape(target)}\s*:(?!=)", line):
            inside = True
    return recipe


def pip_install_arguments(argv: list[str]) -> list[str] | None:
    """What follows `pip install` (also `python -m pip install`), or None for other commands."""
    program = argv[0].rsplit("/", 1)[-1] if argv else ""
    if program in {"pip", "pip3"} and argv[1:2] == ["install"]:
        return argv[2:]
    if program.startswith("python") and argv[1:4] == ["-m", "pip", "install"]:
        return argv[4:]
    return None


def project_install(commands: list[list[str]], where: str) -> list[str]:
    """The arguments of the one `pip install` that installs the project itself (`.`)."""
    found = []
    for argv in commands:
        arguments = pip_install_arguments(argv)
        if arguments is not None and any(arg.startswith(".") for arg in arguments):
            found.append(arguments)
    assert len(found) == 1, f"{where} should install the project (`pip install .`) once: {found}"
    return found[0]


def without_extra(requirement: str, extra: str) -> str:
    path, _, extras = requirement.partition("[")
    kept = [e.strip() for e in extras.rstrip("]").split(",") if e.strip() and e.strip() != extra]
    return f"{path}[{','.join(kept)}]" if kept else path


def extras_of(arguments: list[str]) -> set[str]:
    return {
        extra.strip()
        for arg in arguments
        if arg.startswith(".") and "[" in arg
        for extra in arg.partition("[")[2].rstrip("]").split(",")
    }


# -- pyproject.toml and `triage --help` -------------------------------------------------------


@cache
def pyproject() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text())


@cache
def triage_help(*command: str) -> str:
    """`triage [COMMAND] --help`, run with the virtualenv's console script."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRIAGE_")}
    result = subprocess.run(
        [str(TRIAGE), *command, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    shown = " ".join(["triage", *command, "--help"])
    assert result.returncode == 0, f"`{shown}` failed ({TRIAGE}): {result.stderr[-2000:]}"
    return result.stdout


def help_text(*command: str) -> str:
    """The help on one line, so that wrapping never splits what the tests look for."""
    return " ".join(triage_help(*command).split())


@cache
def subcommands() -> frozenset[str]:
    _, found, section = triage_help().partition("\nCommands:\n")
    assert found, f"`triage --help` lists no commands:\n{triage_help()}"
    return frozenset(re.findall(r"^  ([a-z][a-z0-9-]*)\s", section, flags=re.MULTILINE))


def env_vars(*command: str) -> set[str]:
    """The environment variables that `triage [COMMAND] --help` shows."""
    return set(re.findall(r"\[env var: ([A-Z][A-Z0-9_]*)", help_text(*command)))


def env_default(name: str, *command: str) -> str:
    match = re.search(rf"\[env var: {name}; default: ([^;\]]+)", help_text(*command))
    assert match, f"`triage {' '.join(command)} --help` shows no default for {name}"
    return match[1].strip()
