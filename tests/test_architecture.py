"""The shape of the code, as tests: layers, purity, public surfaces, cycles, lint exceptions.

- The core (``events``, ``router``, ``projections``) is pure: no I/O, no
  clock, no randomness, no runtime library.
- Layers: ``events`` <- ``router``, ``events`` <- ``projections`` (siblings),
  the shell ``triage`` above them; nothing imports upwards. Inside the
  shell, each adapter is a sub-package, and only ``triage.kafka`` imports
  aiokafka or Faust, only ``triage.embedded`` imports sqlite3.
- No import cycles between modules, lazy imports inside functions included.
- Every package's ``__all__`` is exactly what it exports (``vars()``), and
  every implementation module is private and declares ``__all__``.
- Every lint exception in pyproject.toml says why, and is still needed.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import tomllib
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
CORE = ("events", "router", "projections")
PACKAGES = (*CORE, "triage")

#: What a layer may import of ours (besides itself).
LAYERS = {
    "events": set(),
    "router": {"events"},
    "projections": {"events"},
    "triage": {"events", "router", "projections"},
}
#: What each part of the shell may import of the shell (besides itself).
SHELL = {
    "triage._logged": set(),
    "triage._logging": set(),
    "triage._policy_file": set(),
    "triage._clock_guard": set(),
    "triage._bind_guard": set(),
    "triage._objectives_file": set(),
    "triage._dead_letters": set(),
    "triage.embedded": {
        "triage._clock_guard",
        "triage._dead_letters",
        "triage._logged",
        "triage._logging",
        "triage._policy_file",
    },
    "triage.kafka": {
        "triage._bind_guard",
        "triage._clock_guard",
        "triage._dead_letters",
        "triage._logged",
        "triage._logging",
        "triage._objectives_file",
        "triage._policy_file",
        "triage.http",
    },
    "triage.sim": {"triage._logging", "triage._policy_file", "triage.embedded"},
    "triage.ops": {"triage._policy_file", "triage.sim"},
    "triage.http": set(),
    "triage.cli": {
        "triage._bind_guard",
        "triage._clock_guard",
        "triage._dead_letters",
        "triage._logging",
        "triage._objectives_file",
        "triage._policy_file",
        "triage.embedded",
        "triage.http",
        "triage.kafka",
        "triage.ops",
        "triage.sim",
    },
    "triage.faust_app": {"triage._logging", "triage.kafka"},
}
#: Third-party libraries that only one adapter may import.
OWNED = {"sqlite3": "triage.embedded", "aiokafka": "triage.kafka", "faust": "triage.kafka"}
CORE_FORBIDDEN = {
    "sqlite3",
    "faust",
    "aiokafka",
    "random",
    "uuid",
    "time",
    "os",
    "socket",
    "asyncio",
    "threading",
    "subprocess",
    "structlog",
    "click",
    "rich",
}
CORE_ALLOWED_THIRD_PARTY = {"msgspec", "sortedcontainers"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "urandom"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {
        module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))
    }


MODULES = modules()


def imports_of(name: str) -> Iterator[tuple[str, int]]:
    """Every module ``name`` imports, anywhere in it (functions too), resolved to a name."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, node.lineno
            for alias in node.names:  # `from . import x` and `from p import module`
                if f"{target}.{alias.name}" in MODULES:
                    yield f"{target}.{alias.name}", node.lineno


def owner(name: str, table: dict[str, object]) -> str | None:
    """The longest key of ``table`` that is ``name`` or a package above it."""
    best = None
    for key in table:
        if (name == key or name.startswith(key + ".")) and (best is None or len(key) > len(best)):
            best = key
    return best


def ours(name: str) -> bool:
    return name.split(".", maxsplit=1)[0] in PACKAGES


@pytest.mark.parametrize("name", sorted(MODULES))
def test_layers_import_only_downwards(name: str) -> None:
    layer = name.split(".", maxsplit=1)[0]
    for target, line in imports_of(name):
        top = target.split(".")[0]
        if top in PACKAGES and top != layer:
            assert top in LAYERS[layer], f"{name}:{line} imports {target}: upwards or sideways"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("triage.")))
def test_each_adapter_imports_only_what_is_below_it(name: str) -> None:
    part = owner(name, SHELL)
    assert part is not None, f"{name} belongs to no part of the shell: add it to SHELL"
    for target, line in imports_of(name):
        if target.startswith("triage"):
            other = owner(target, SHELL)
            assert other in (part, None) or other in SHELL[part], f"{name}:{line} imports {target}"
        library = target.split(".")[0]
        if library in OWNED:
            assert part == OWNED[library], f"{name}:{line} imports {library}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.split(".")[0] in CORE))
def test_core_module_is_pure(name: str) -> None:
    path = MODULES[name]
    for target, line in imports_of(name):
        top = target.split(".")[0]
        assert top not in CORE_FORBIDDEN, f"{name}:{line} imports {target}"
        if not ours(target) and top not in sys.stdlib_module_names:
            assert top in CORE_ALLOWED_THIRD_PARTY, f"{name}:{line} imports {target}"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            assert node.attr not in CLOCK_CALLS, f"{name}:{node.lineno} reads the clock"


def test_no_import_cycles() -> None:
    graph = {
        name: sorted({t for t, _ in imports_of(name) if t in MODULES and t != name})
        for name in MODULES
    }
    # A package's __init__ imports its own modules; those importing their package's
    # names back through `from . import` is the one shape that is not a cycle of ours.
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in graph[node]:
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue  # a package and its own modules
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


@pytest.mark.parametrize("name", sorted(n for n, p in MODULES.items() if p.name != "__init__.py"))
def test_implementation_modules_are_private_and_declare_all(name: str) -> None:
    # faust_app is an entry point named on Faust's command line (-A), not an import.
    if name == "triage.faust_app":
        return
    assert name.rpartition(".")[2].startswith("_"), f"{name} should be private"
    tree = ast.parse(MODULES[name].read_text())
    declared = any(
        isinstance(node, ast.Assign | ast.AnnAssign)
        and any(
            isinstance(t, ast.Name) and t.id == "__all__"
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
        for node in tree.body
    )
    assert declared, f"{name} has no __all__"


@pytest.mark.parametrize("name", sorted(n for n, p in MODULES.items() if p.name == "__init__.py"))
def test_public_surface_is_what_all_says(name: str) -> None:
    package = importlib.import_module(name)
    for exported in package.__all__:
        getattr(package, exported)  # names imported on first use are loaded now
    public = {
        key
        for key, value in vars(package).items()
        if not key.startswith("_")
        and not isinstance(value, types.ModuleType)
        and key != "annotations"  # `from __future__ import annotations`
        and key not in ("TYPE_CHECKING", "Any", "import_module")
    }
    assert sorted(public) == sorted(package.__all__)


def test_every_public_name_has_a_docstring() -> None:
    missing = []
    for name, path in MODULES.items():
        if path.name != "__init__.py":
            continue
        package = importlib.import_module(name)
        assert package.__doc__, f"{name} has no docstring"
        for exported in package.__all__:
            value = getattr(package, exported)
            if isinstance(value, type | types.FunctionType) and not value.__doc__:
                missing.append(f"{name}.{exported}")
    assert not missing, f"no docstring: {missing}"


def _lint_table() -> tuple[list[str], dict[str, list[str]], str]:
    text = (ROOT / "pyproject.toml").read_text()
    lint = tomllib.loads(text)["tool"]["ruff"]["lint"]
    return lint.get("ignore", []), lint.get("per-file-ignores", {}), text


def test_no_lint_rule_is_off_project_wide() -> None:
    ignore, _, _ = _lint_table()
    assert ignore == [], "switch a rule off for the files that need it, with the reason"


def test_every_lint_exception_carries_its_reason() -> None:
    _, per_file, text = _lint_table()
    section = text[text.index("[tool.ruff.lint.per-file-ignores]") :]
    section = section[: section.index("\n[", 1)]
    lines = section.splitlines()
    for glob, rules in per_file.items():
        at = next(i for i, line in enumerate(lines) if line.startswith(f'"{glob}"'))
        if len(rules) == 1 or "]" in lines[at]:
            # One line for the glob: its reason is the comment just above it.
            assert lines[at - 1].startswith("#"), f"{glob}: say why above it"
            continue
        for rule in rules:
            line = next(line for line in lines[at:] if f'"{rule}"' in line)
            assert re.search(r"#\s*\S", line), f"{glob} {rule}: say why on its line"


def test_every_lint_exception_is_still_needed() -> None:
    _, per_file, _ = _lint_table()
    ruff = Path(sys.executable).with_name("ruff")
    for glob, rules in per_file.items():
        files = sorted(str(p) for p in ROOT.glob(glob) if p.is_file())
        files = [f for f in files if f.endswith(".py") and "/tools/kafka/" not in f]
        if not files:
            continue
        for rule in rules:
            result = subprocess.run(
                [
                    str(ruff),
                    "check",
                    "--isolated",
                    "--select",
                    rule,
                    "--line-length",
                    "100",
                    "--target-version",
                    "py311",
                    "--output-format",
                    "concise",
                    *files,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            assert result.returncode == 1, f"{glob}: {rule} is no longer needed; remove it"
