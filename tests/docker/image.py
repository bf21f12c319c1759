"""What the Docker tests read of the image: docker/Dockerfile and .dockerignore, parsed.

No Docker engine and no network: the Dockerfile is parsed as Docker reads
it, .dockerignore's patterns are matched as Docker matches them, and the
image's health check can be run for real, against a stand-in web view on
127.0.0.1. docker/compose.yaml is read in ``compose_yaml``; what these files
are held to (the Makefile, pyproject.toml, `triage --help`) in ``sources``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, NamedTuple

from .sources import ROOT

DOCKERFILE = ROOT / "docker" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

KEYWORDS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}  # fmt: skip
EXEC_FORM = {"CMD", "ENTRYPOINT", "RUN", "SHELL", "VOLUME", "COPY", "ADD"}


# -- the Dockerfile ---------------------------------------------------------------------------


class Instruction(NamedTuple):
    """One Dockerfile instruction, its continuation lines joined."""

    keyword: str
    arguments: str
    line: int


def parse_dockerfile(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile (default escape character, a backslash).

    As Docker reads it: a line ending in a backslash goes on in the next one;
    comment lines (parser directives included) are dropped, even inside a
    continuation, and so are empty lines.
    """
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        keyword, _, arguments = " ".join(part for part in pending if part).partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip(), start))
        pending = []
    if pending:
        raise ValueError(f"line {start}: the continuation runs past the end of the file")
    return instructions


@cache
def dockerfile() -> tuple[Instruction, ...]:
    return tuple(parse_dockerfile(DOCKERFILE.read_text()))


def instructions(keyword: str) -> list[Instruction]:
    return [ins for ins in dockerfile() if ins.keyword == keyword]


def only(keyword: str) -> Instruction:
    found = instructions(keyword)
    assert len(found) == 1, f"the Dockerfile should have exactly one {keyword}, has {len(found)}"
    return found[0]


def split_flags(arguments: str) -> tuple[dict[str, str], str]:
    """Leading `--name=value` flags (COPY --chown, HEALTHCHECK --interval) and the rest."""
    flags: dict[str, str] = {}
    rest = arguments
    while match := re.match(r"--([a-z-]+)(?:=(\S*))?\s+", rest):
        flags[match[1]] = match[2] or ""
        rest = rest[match.end() :]
    return flags, rest


def exec_form(arguments: str) -> list[str] | None:
    """The JSON array of an exec-form instruction, or None in shell form."""
    if not arguments.startswith("["):
        return None
    value = json.loads(arguments)
    assert isinstance(value, list), f"{arguments!r} is not a JSON array"
    assert all(isinstance(item, str) for item in value), f"{arguments!r} is not all strings"
    return value


def words(arguments: str) -> list[str]:
    return exec_form(arguments) or shlex.split(arguments)


def shell_commands(script: str) -> list[list[str]]:
    """The simple commands of a shell line: split at `&&`, `||`, `;` and `|` outside quotes."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in {"&&", "||", ";", "|"}:
            commands.append([])
        else:
            commands[-1].append(token)
    return [argv for argv in commands if argv]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in instructions("ENV"):
        tokens = shlex.split(ins.arguments)
        if tokens and "=" not in tokens[0]:  # the legacy `ENV KEY value` form
            env[tokens[0]] = " ".join(tokens[1:])
            continue
        for token in tokens:
            key, _, value = token.partition("=")
            env[key] = value
    return env


def copy_sources() -> list[str]:
    """Every source of a COPY from the build context (not from another stage)."""
    sources: list[str] = []
    for ins in instructions("COPY") + instructions("ADD"):
        flags, rest = split_flags(ins.arguments)
        if "from" in flags:
            continue
        paths = words(rest)
        assert len(paths) >= 2, f"line {ins.line}: {ins.keyword} needs a source and a destination"
        sources.extend(paths[:-1])
    return sources


def healthcheck_command() -> list[str]:
    _, rest = split_flags(only("HEALTHCHECK").arguments)
    kind, _, command = rest.partition(" ")
    assert kind == "CMD", f"HEALTHCHECK should be `HEALTHCHECK [options] CMD ...`, is {rest!r}"
    argv = exec_form(command.strip())
    assert argv, "HEALTHCHECK CMD should be in exec form, a JSON array (no shell in the way)"
    return argv


# -- .dockerignore ----------------------------------------------------------------------------


def ignore_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go's filepath.Match, plus `**`) as a regular expression."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i:]:
            end = pattern.index("]", i)
            out.append("[" + pattern[i + 1 : end].replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


@cache
def dockerignore() -> tuple[tuple[bool, re.Pattern[str]], ...]:
    """(is an exception `!`, regex) for each pattern, in order."""
    patterns = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        cleaned = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
        patterns.append((negate, ignore_regex(cleaned)))
    return tuple(patterns)


def dockerignored(path: str) -> bool:
    """Whether the build context leaves out `path` (relative to the root), as Docker decides."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for negate, regex in dockerignore():
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not negate
    return excluded


# -- the health check -------------------------------------------------------------------------


class _HealthView(BaseHTTPRequestHandler):
    """Answers `status` at /health and 200 anywhere else."""

    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health" else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet: the test reads exit codes, not an access log."""


@contextmanager
def health_view(status: int) -> Iterator[int]:
    """A stand-in for the worker's web views on 127.0.0.1; yields its port."""
    handler = type("HealthView", (_HealthView,), {"status": status})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def run_healthcheck(web_port: str) -> int:
    """Run the image's health check here, with this interpreter as its `python`."""
    argv = healthcheck_command()
    env = {**os.environ, "TRIAGE_WEB_PORT": web_port}
    result = subprocess.run(
        [sys.executable, *argv[1:]], env=env, capture_output=True, timeout=60, check=False
    )
    return result.returncode
