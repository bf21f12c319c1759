"""The Docker files agree with the project: docker/Dockerfile, docker/compose.yaml, .dockerignore.

No Docker engine and no network: the files are parsed and checked against the
project's own sources of truth, which are the Makefile's install step,
pyproject.toml and what `triage --help` lists (the subcommands and the
environment variables of each). The image's health check is run for real,
against a web server on 127.0.0.1.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatchcase
from functools import cache
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, NamedTuple

import pytest
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


# -- the Dockerfile: tests --------------------------------------------------------------------


def test_dockerfile_parses() -> None:
    parsed = dockerfile()
    assert parsed, "docker/Dockerfile has no instructions"
    assert parsed[0].keyword == "FROM", f"the first instruction is {parsed[0].keyword}, not FROM"
    unknown = [(ins.line, ins.keyword) for ins in parsed if ins.keyword not in KEYWORDS]
    assert not unknown, f"unknown instructions (line, keyword): {unknown}"
    for ins in parsed:
        if ins.keyword in EXEC_FORM and ins.arguments.startswith("["):
            try:
                exec_form(split_flags(ins.arguments)[1])
            except json.JSONDecodeError as exc:
                pytest.fail(f"line {ins.line}: {ins.keyword} is not a valid JSON array: {exc}")
    for keyword in ("ENTRYPOINT", "CMD", "HEALTHCHECK", "WORKDIR"):
        only(keyword)


def test_dockerfile_parser_joins_continuations_and_skips_comments() -> None:
    text = "# syntax comment\nFROM x\nRUN a \\\n  # inside\n\n  && b\nENV A=1 \\\n    B=2\n"
    assert parse_dockerfile(text) == [
        Instruction("FROM", "x", 2),
        Instruction("RUN", "a && b", 3),
        Instruction("ENV", "A=1 B=2", 7),
    ]
    with pytest.raises(ValueError, match="continuation"):
        parse_dockerfile("FROM x\nRUN a \\\n")


def test_base_image_is_a_pinned_python_slim_that_pyproject_allows() -> None:
    image = only("FROM").arguments.split()[0]
    match = re.fullmatch(r"python:(\d+)\.(\d+)-slim-([a-z]+)", image)
    assert match, f"FROM {image}: expected python:X.Y-slim-<debian release>, digest-free"
    required = re.fullmatch(r">=\s*(\d+)\.(\d+)", pyproject()["project"]["requires-python"])
    assert required, "pyproject's requires-python is not of the form >=X.Y"
    version = (int(match[1]), int(match[2]))
    minimum = (int(required[1]), int(required[2]))
    assert version >= minimum, f"FROM {image} is older than requires-python {required[0]}"


def test_pip_install_is_the_makefile_install_step_without_dev_and_editable() -> None:
    recipe = make_recipe("$(STAMP)")
    assert recipe, "the Makefile has no $(STAMP) rule (the project's install step)"
    make_args = project_install([shlex.split(line) for line in recipe], "the $(STAMP) recipe")
    docker_args = project_install(
        [argv for ins in instructions("RUN") for argv in shell_commands(ins.arguments)],
        "the Dockerfile",
    )
    expected = [
        without_extra(arg, "dev")
        for arg in make_args
        if arg not in PIP_PRESENTATION and arg not in {"-e", "--editable"}
    ]
    actual = [arg for arg in docker_args if arg not in PIP_PRESENTATION]
    assert actual == expected, (
        f"the Dockerfile runs `pip install {shlex.join(docker_args)}`; the Makefile's install "
        f"step, `pip install {shlex.join(make_args)}`, without -e and the dev extra, is "
        f"`pip install {shlex.join(expected)}`"
    )


def test_pip_install_extras_exist_in_pyproject() -> None:
    runs = [argv for ins in instructions("RUN") for argv in shell_commands(ins.arguments)]
    extras = extras_of(project_install(runs, "the Dockerfile"))
    declared = set(pyproject()["project"].get("optional-dependencies", {}))
    assert extras <= declared, f"extras {sorted(extras - declared)} are not in pyproject.toml"
    assert "dev" not in extras, "the image should not install the dev extra"


def test_every_copy_source_exists() -> None:
    missing = [src for src in copy_sources() if not (ROOT / src).exists()]
    assert copy_sources(), "the Dockerfile copies nothing from the build context"
    assert not missing, f"COPY sources missing from the repository: {missing}"


def test_copy_brings_everything_the_install_needs() -> None:
    project = pyproject()
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {
        path.name
        for path in ROOT.iterdir()
        if (path / "__init__.py").is_file() and any(fnmatchcase(path.name, p) for p in include)
    }
    needed = {"pyproject.toml", project["project"]["readme"], *packages}
    copied = {src.rstrip("/") for src in copy_sources()}
    assert packages, f"no package directory matches pyproject's include {include}"
    assert needed <= copied, f"the Dockerfile does not copy {sorted(needed - copied)}"


def test_copy_sources_are_not_left_out_of_the_build_context() -> None:
    left_out = []
    for src in copy_sources():
        path = ROOT / src
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        left_out += [f for f in files if dockerignored(str(f.relative_to(ROOT)))]
    assert not left_out, f".dockerignore leaves out files the Dockerfile copies: {left_out}"


def test_entrypoint_is_the_console_script_in_pyproject() -> None:
    entrypoint = exec_form(only("ENTRYPOINT").arguments)
    assert entrypoint, "ENTRYPOINT should be in exec form, so signals reach triage"
    scripts = pyproject()["project"]["scripts"]
    assert entrypoint == ["triage"], f"ENTRYPOINT is {entrypoint}, expected ['triage']"
    assert entrypoint[0] in scripts, f"{entrypoint[0]} is not in [project.scripts] {scripts}"


def test_default_command_is_the_worker() -> None:
    cmd = exec_form(only("CMD").arguments)
    assert cmd, "CMD should be in exec form"
    assert cmd[0] in subcommands(), f"CMD {cmd}: {cmd[0]!r} is not one of {sorted(subcommands())}"
    assert cmd == ["worker"], f"CMD is {cmd}, expected ['worker']"


def test_image_runs_as_an_unprivileged_user() -> None:
    users = instructions("USER")
    assert users, "the Dockerfile never switches away from root (no USER)"
    user = users[-1].arguments.split(":")[0]
    assert user not in {"root", "0"}, f"the last USER is {users[-1].arguments}, which is root"
    install = max(ins.line for ins in instructions("RUN"))
    assert users[-1].line > install, "USER should come after the RUN steps that install"


def test_image_sets_the_environment_it_promises() -> None:
    env = dockerfile_env()
    assert env.get("PYTHONUNBUFFERED") == "1", f"PYTHONUNBUFFERED is {env.get('PYTHONUNBUFFERED')}"
    assert env.get("TRIAGE_LOG_FORMAT") == "json", "a container should log JSON"
    assert only("WORKDIR").arguments == "/app", "WORKDIR should be /app"


def test_image_triage_variables_are_options_of_every_command() -> None:
    names = {name for name in dockerfile_env() if name.startswith("TRIAGE_")}
    unknown = names - env_vars()
    assert not unknown, (
        f"the image sets {sorted(unknown)}, which `triage --help` does not list; the image "
        f"runs every command, so only the group's variables {sorted(env_vars())} belong here"
    )


def test_image_exposes_the_default_web_port() -> None:
    exposed = {
        int(word.split("/")[0]) for ins in instructions("EXPOSE") for word in words(ins.arguments)
    }
    default = int(env_default("TRIAGE_WEB_PORT", "worker"))
    assert default in exposed, f"EXPOSE {sorted(exposed)} lacks the worker's web port {default}"


def test_healthcheck_uses_only_the_standard_library() -> None:
    argv = healthcheck_command()
    assert argv[0] in {"python", "python3"} and argv[1] == "-c", f"HEALTHCHECK runs {argv[:2]}"
    tree = ast.parse(argv[2])
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported, "the health check imports nothing: how does it ask the worker?"
    outside = imported - set(sys.stdlib_module_names)
    assert not outside, f"the health check imports {sorted(outside)}, not in the standard library"
    assert "/health" in argv[2] and "TRIAGE_WEB_PORT" in argv[2], (
        "the health check should GET /health on TRIAGE_WEB_PORT"
    )


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


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False), (404, False)])
def test_healthcheck_follows_the_health_view(status: int, healthy: bool) -> None:
    with health_view(status) as port:
        code = run_healthcheck(str(port))
    assert (code == 0) is healthy, f"/health answered {status}; the check exited {code}"


def test_healthcheck_fails_when_nothing_listens() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert run_healthcheck(str(port)) != 0, "with no worker listening the check must fail"


def test_healthcheck_passes_when_the_web_views_are_off() -> None:
    assert run_healthcheck("0") == 0, "TRIAGE_WEB_PORT=0 turns the views off: nothing to check"


# -- compose.yaml: tests ----------------------------------------------------------------------


def test_compose_parses() -> None:
    loaded = compose()
    assert "version" not in loaded, "`version` is obsolete in the Compose spec"
    for name, svc in services().items():
        assert isinstance(svc, dict), f"service {name!r} is not a mapping"
        assert svc.get("image") or svc.get("build"), f"service {name!r} has no image or build"


def test_compose_builds_the_dockerfile_from_the_repository_root() -> None:
    for name, svc in services().items():
        build = svc.get("build")
        if build is None:
            continue
        context = build if isinstance(build, str) else build.get("context", ".")
        assert (COMPOSE.parent / context).resolve() == ROOT, (
            f"{name}: build context {context!r} is not the repository root"
        )
        assert builds_dockerfile(svc), f"{name}: builds something other than docker/Dockerfile"


def test_triage_services_run_real_subcommands() -> None:
    for name, svc in triage_services().items():
        argv = command(svc)
        assert argv, f"{name}: no command; say which `triage` subcommand it runs"
        assert argv[0] in subcommands(), (
            f"{name}: `triage {argv[0]}` is not one of {sorted(subcommands())}"
        )


def test_triage_variables_in_compose_are_listed_by_help() -> None:
    for name, svc in triage_services().items():
        subcommand = effective_command(svc)[0]
        allowed = env_vars(subcommand) | env_vars()
        used = {key for key in environment(svc) if key.startswith("TRIAGE_")}
        unknown = used - allowed
        assert not unknown, (
            f"{name}: {sorted(unknown)} are not listed by `triage {subcommand} --help` "
            f"or `triage --help`; they would be silently ignored"
        )


def test_kafka_uses_a_pinned_apache_kafka_image() -> None:
    image = str(service(KAFKA).get("image", ""))
    repository, _, tag = image.partition(":")
    assert repository == "apache/kafka", f"kafka runs {image!r}, not the official apache/kafka"
    assert tag and tag != "latest", f"kafka image {image!r} should pin a version"


def test_kafka_runs_in_kraft_combined_mode() -> None:
    env = kafka_env()
    roles = {role.strip() for role in (env.get("KAFKA_PROCESS_ROLES") or "").split(",")}
    assert {"broker", "controller"} <= roles, f"KAFKA_PROCESS_ROLES is {sorted(roles)}"
    assert env.get("CLUSTER_ID"), "KRaft formats the storage with CLUSTER_ID: set it"
    node = env.get("KAFKA_NODE_ID")
    voters = dict(
        v.split("@", 1) for v in (env.get("KAFKA_CONTROLLER_QUORUM_VOTERS") or "").split(",")
    )
    assert node in voters, f"node {node} is not among the quorum voters {voters}"
    controller = env.get("KAFKA_CONTROLLER_LISTENER_NAMES")
    own = listeners(env.get("KAFKA_LISTENERS"))
    assert controller in own, f"the controller listener {controller} is not in KAFKA_LISTENERS"
    voter_port = int(voters[node].rsplit(":", 1)[1])
    assert voter_port == own[controller][1], (
        f"the voter {voters[node]} is not the {controller} listener's port {own[controller][1]}"
    )


def test_kafka_listeners_are_consistent() -> None:
    env = kafka_env()
    own = listeners(env.get("KAFKA_LISTENERS"))
    advertised = listeners(env.get("KAFKA_ADVERTISED_LISTENERS"))
    protocols = dict(
        item.split(":")
        for item in (env.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP") or "").split(",")
    )
    assert set(own) <= set(protocols), (
        f"listeners {sorted(set(own) - set(protocols))} lack a protocol"
    )
    for name, (_, port) in advertised.items():
        assert name in own, f"advertised listener {name} is not in KAFKA_LISTENERS"
        assert own[name][1] == port, f"{name} listens on {own[name][1]} but advertises {port}"
    inter = env.get("KAFKA_INTER_BROKER_LISTENER_NAME")
    assert inter in advertised, f"the inter-broker listener {inter} is not advertised"


def test_triage_broker_is_an_advertised_listener_of_kafka() -> None:
    advertised = set(listeners(kafka_env().get("KAFKA_ADVERTISED_LISTENERS")).values())
    for name, svc in triage_services().items():
        broker = environment(svc).get("TRIAGE_BROKER")
        assert broker, f"{name}: TRIAGE_BROKER is not set"
        for address in broker.removeprefix("kafka://").split(","):
            host, _, port = address.rpartition(":")
            assert (host, int(port)) in advertised, (
                f"{name}: TRIAGE_BROKER {address} is not an advertised listener {advertised}"
            )
            assert host == KAFKA, f"{name}: containers should reach the broker as {KAFKA!r}"


def test_kafka_host_listener_is_published_on_the_same_port() -> None:
    advertised = listeners(kafka_env().get("KAFKA_ADVERTISED_LISTENERS"))
    on_host = {port for host, port in advertised.values() if host in {"localhost", "127.0.0.1"}}
    assert on_host, "no listener is advertised to the host (localhost)"
    published = {(p.published, p.target) for p in ports(service(KAFKA))}
    for port in on_host:
        assert (port, port) in published, f"localhost:{port} is advertised but not published"


def test_kafka_is_set_up_for_a_single_node() -> None:
    env = kafka_env()
    expected = {
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
    }
    wrong = {key: env.get(key) for key, value in expected.items() if env.get(key) != value}
    assert not wrong, f"expected {expected}; differs: {wrong}"


def test_kafka_keeps_its_data_on_a_named_volume() -> None:
    log_dirs = (kafka_env().get("KAFKA_LOG_DIRS") or "").split(",")
    assert log_dirs != [""], "set KAFKA_LOG_DIRS: the image's default is under /tmp"
    named = set(compose().get("volumes") or {})
    volumes = mounts(service(KAFKA))
    for log_dir in log_dirs:
        on = [t for t in volumes if log_dir == t or log_dir.startswith(t.rstrip("/") + "/")]
        assert on, f"KAFKA_LOG_DIRS {log_dir} is not on a volume ({volumes})"
        assert volumes[on[0]] in named, f"{volumes[on[0]]} is not a declared named volume"


def test_kafka_healthcheck_asks_the_broker() -> None:
    test = service(KAFKA).get("healthcheck", {}).get("test")
    line = test if isinstance(test, str) else " ".join(test or [])
    assert "kafka-broker-api-versions.sh" in line, f"kafka's healthcheck is {test!r}"
    match = re.search(r"--bootstrap-server\s+\S+:(\d+)", line)
    assert match, "the healthcheck should name --bootstrap-server HOST:PORT"
    own_ports = {port for _, port in listeners(kafka_env().get("KAFKA_LISTENERS")).values()}
    assert int(match[1]) in own_ports, f"port {match[1]} is none of the listeners {own_ports}"


def test_topics_service_waits_for_a_healthy_kafka() -> None:
    name, svc = topics_service()
    assert depends_on(svc).get(KAFKA) == "service_healthy", (
        f"{name} should depend on {KAFKA} with condition service_healthy: {depends_on(svc)}"
    )
    assert service(KAFKA).get("healthcheck"), "service_healthy needs a healthcheck on kafka"


def test_workers_wait_for_the_topics() -> None:
    topics, _ = topics_service()
    workers = running("worker")
    assert workers, "no service runs `triage worker`"
    for name, svc in workers.items():
        assert depends_on(svc).get(topics) == "service_completed_successfully", (
            f"{name} should wait for {topics} to complete: {depends_on(svc)}"
        )
        assert svc.get("restart") == "unless-stopped", f"{name}: restart is {svc.get('restart')}"


def test_workers_are_one_group_with_distinct_client_ids() -> None:
    workers = running("worker")
    assert len(workers) >= 2, f"expected at least two workers, found {sorted(workers)}"
    client_ids = [environment(svc).get("TRIAGE_CLIENT_ID") for svc in workers.values()]
    assert None not in client_ids and len(set(client_ids)) == len(client_ids), (
        f"each worker needs its own TRIAGE_CLIENT_ID: {client_ids}"
    )
    groups = {environment(svc).get("TRIAGE_GROUP") for svc in workers.values()}
    assert len(groups) == 1, f"the workers should share one TRIAGE_GROUP: {groups}"


def test_topics_and_workers_agree_on_the_topics() -> None:
    names = ("TRIAGE_TOPIC_PREFIX", "TRIAGE_PARTITIONS", "TRIAGE_GROUP")
    seen: dict[str, set[str]] = {name: set() for name in names}
    for svc in {**running("topics"), **running("worker")}.values():
        env = environment(svc)
        for name in names:
            seen[name].add(env.get(name) or env_default(name, "topics"))
    differing = {name: values for name, values in seen.items() if len(values) > 1}
    assert not differing, f"topics and workers disagree: {differing}"


def test_worker_web_views_are_published_on_triage_web_port() -> None:
    host_ports = []
    for name, svc in running("worker").items():
        env = environment(svc)
        web_port = int(env.get("TRIAGE_WEB_PORT") or env_default("TRIAGE_WEB_PORT", "worker"))
        published = {p.target: p.published for p in ports(svc)}
        assert web_port in published, (
            f"{name}: TRIAGE_WEB_PORT is {web_port}, but it publishes container ports "
            f"{sorted(published)}"
        )
        assert published[web_port], f"{name}: port {web_port} has no host port"
        host_ports.append(published[web_port])
    assert len(set(host_ports)) == len(host_ports), f"workers share host ports: {host_ports}"


def test_worker_web_views_listen_beyond_the_container() -> None:
    for name, svc in running("worker").items():
        host = environment(svc).get("TRIAGE_WEB_HOST")
        assert host == "0.0.0.0", (
            f"{name}: TRIAGE_WEB_HOST is {host}; published ports need 0.0.0.0 in the container"
        )


def test_examples_are_mounted_where_the_readme_publishes_them() -> None:
    _, topics = topics_service()
    workdir = only("WORKDIR").arguments.rstrip("/")
    source = mounts(topics).get(f"{workdir}/examples")
    assert source and (COMPOSE.parent / source).resolve() == ROOT / "examples", (
        f"docker/README.md runs `topics publish examples/...`: mount ../examples at "
        f"{workdir}/examples ({mounts(topics)})"
    )


# -- .dockerignore: tests ---------------------------------------------------------------------


def test_dockerignore_matcher_follows_docker_rules() -> None:
    assert ignore_regex("*.db").match("triage.db")
    assert not ignore_regex("*.db").match("data/triage.db"), "`*` does not cross directories"
    assert ignore_regex("**/__pycache__").match("events/__pycache__")
    assert ignore_regex("**/__pycache__").match("__pycache__")


def test_dockerignore_leaves_out_local_state() -> None:
    assert DOCKERIGNORE.is_file(), ".dockerignore is missing at the repository root"
    for path in (".venv", ".git", ".venv/bin/python", "tests/unit", "bench", "triage.db"):
        assert dockerignored(path), f".dockerignore should leave out {path}"
