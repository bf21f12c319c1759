"""docker/Dockerfile and .dockerignore agree with the project; the health check works."""

from __future__ import annotations

import ast
import json
import re
import shlex
import socket
import sys
from fnmatch import fnmatchcase

import pytest

from .image import (
    DOCKERIGNORE,
    EXEC_FORM,
    KEYWORDS,
    Instruction,
    copy_sources,
    dockerfile,
    dockerfile_env,
    dockerignored,
    exec_form,
    health_view,
    healthcheck_command,
    ignore_regex,
    instructions,
    only,
    parse_dockerfile,
    run_healthcheck,
    shell_commands,
    split_flags,
    words,
)
from .sources import (
    PIP_PRESENTATION,
    ROOT,
    env_default,
    env_vars,
    extras_of,
    make_recipe,
    project_install,
    pyproject,
    subcommands,
    without_extra,
)

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
