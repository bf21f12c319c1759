"""What the Docker tests read: the Docker files, parsed, and the project's sources of truth.

No Docker engine and no network: docker/Dockerfile, docker/compose.yaml and
.dockerignore are parsed here and set against the Makefile's install step,
pyproject.toml and what `triage --help` lists (the subcommands and the
environment variables of each). The image's health check can be run for
real, against a stand-in web view on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, NamedTuple

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"
MAKEFILE = ROOT / "Makefile"
PYPROJECT = ROOT / "pyproject.toml"
TRIAGE = Path(sys.executable).parent / "triage"
KAFKA = "kafka"  # the Compose service of the broker, the host name in TRIAGE_BROKER

KEYWORDS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}  # fmt: skip
EXEC_FORM = {"CMD", "ENTRYPOINT", "RUN", "SHELL", "VOLUME", "COPY", "ADD"}
# pip options that change how it talks, not what it installs.
PIP_PRESENTATION = {
    "-q", "--quiet", "-v", "--verbose", "--no-cache-dir", "--disable-pip-version-check",
    "--no-input", "--progress-bar=off", "--root-user-action=ignore",
}  # fmt: skip


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


# -- compose.yaml -----------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict), "compose.yaml should be a mapping"
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found = compose().get("services")
    assert isinstance(found, dict) and found, "compose.yaml should define services"
    return found


def service(name: str) -> dict[str, Any]:
    assert name in services(), f"compose.yaml has no service {name!r}"
    return services()[name]


def builds_dockerfile(svc: dict[str, Any]) -> bool:
    build = svc.get("build")
    if build is None:
        return False
    if isinstance(build, str):
        context, dockerfile_path = build, "Dockerfile"
    else:
        context, dockerfile_path = build.get("context", "."), build.get("dockerfile", "Dockerfile")
    return (COMPOSE.parent / context / dockerfile_path).resolve() == DOCKERFILE.resolve()


def triage_services() -> dict[str, dict[str, Any]]:
    """The services that run the image built from docker/Dockerfile."""
    built = {svc.get("image") for svc in services().values() if builds_dockerfile(svc)}
    found = {
        name: svc
        for name, svc in services().items()
        if builds_dockerfile(svc) or (svc.get("image") is not None and svc.get("image") in built)
    }
    assert found, "no service in compose.yaml builds docker/Dockerfile"
    return found


def command(svc: dict[str, Any]) -> list[str]:
    value = svc.get("command")
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(word) for word in value]


def effective_command(svc: dict[str, Any]) -> list[str]:
    """What the container runs after `triage`: its command, or else the image's CMD."""
    return command(svc) or exec_form(only("CMD").arguments) or []


def running(subcommand: str) -> dict[str, dict[str, Any]]:
    return {
        name: svc
        for name, svc in triage_services().items()
        if effective_command(svc)[:1] == [subcommand]
    }


def environment(svc: dict[str, Any]) -> dict[str, str | None]:
    value = svc.get("environment") or {}
    if isinstance(value, list):
        pairs = [str(item).partition("=") for item in value]
        return {key: (val if sep else None) for key, sep, val in pairs}
    return {str(key): None if val is None else scalar(val) for key, val in value.items()}


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def kafka_env() -> dict[str, str | None]:
    return environment(service(KAFKA))


class Port(NamedTuple):
    host_ip: str | None
    published: int | None
    target: int


def ports(svc: dict[str, Any]) -> list[Port]:
    """The `ports` of a service, short syntax (`[IP:][HOST:]CONTAINER[/PROTO]`) or long."""
    found: list[Port] = []
    for entry in svc.get("ports") or []:
        if isinstance(entry, dict):
            published = entry.get("published")
            found.append(
                Port(entry.get("host_ip"), int(published) if published else None, entry["target"])
            )
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) == 1:
            found.append(Port(None, None, int(parts[0])))
        elif len(parts) == 2:
            found.append(Port(None, int(parts[0]), int(parts[1])))
        else:
            found.append(Port(":".join(parts[:-2]), int(parts[-2]), int(parts[-1])))
    return found


def listeners(value: str | None) -> dict[str, tuple[str, int]]:
    """`NAME://host:port,...` as {NAME: (host, port)}."""
    found: dict[str, tuple[str, int]] = {}
    for item in (value or "").split(","):
        match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)://(.*):(\d+)", item.strip())
        assert match, f"{item!r} is not a listener NAME://HOST:PORT"
        found[match[1]] = (match[2], int(match[3]))
    return found


def topics_service() -> tuple[str, dict[str, Any]]:
    """The one service that runs `triage topics`."""
    found = running("topics")
    assert len(found) == 1, f"expected one service running `triage topics`, found {sorted(found)}"
    ((name, svc),) = found.items()
    return name, svc


def mounts(svc: dict[str, Any]) -> dict[str, str]:
    """{target in the container: source} of a service's volumes, short or long syntax."""
    found: dict[str, str] = {}
    for volume in svc.get("volumes") or []:
        if isinstance(volume, dict):
            found[volume["target"]] = volume.get("source", "")
        else:
            source, _, rest = str(volume).partition(":")
            found[rest.split(":")[0]] = source
    return found


def depends_on(svc: dict[str, Any]) -> dict[str, str]:
    value = svc.get("depends_on") or {}
    if isinstance(value, list):
        return dict.fromkeys(value, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in value.items()}


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
