"""The functional core stays pure: no I/O, no clock, no randomness, no runtime libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent
CORE = ["events", "router", "projections"]
FORBIDDEN_MODULES = {
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
    "triage",
}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "urandom"}


def core_files() -> list[Path]:
    return sorted(p for package in CORE for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            names = []
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{path.name} imports {name}"
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            assert node.attr not in FORBIDDEN_CALLS, f"{path.name} reads the clock: .{node.attr}"


@pytest.mark.parametrize("package", [*CORE, "triage"])
def test_implementation_modules_are_private_and_declare_all(package: str) -> None:
    for path in (ROOT / package).glob("*.py"):
        # faust_app is an entry point named on Faust's command line (-A), not an import.
        if path.name in ("__init__.py", "faust_app.py"):
            continue
        assert path.name.startswith("_"), f"{package}/{path.name} should be private"
        tree = ast.parse(path.read_text())
        declared = any(
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            for node in tree.body
        )
        assert declared, f"{package}/{path.name} has no __all__"


def test_public_surfaces_are_pinned() -> None:
    import router
    import triage

    assert sorted(router.__all__) == sorted(
        [
            "DEFAULT_POLICY",
            "Engine",
            "Policy",
            "Score",
            "output_id",
        ]
    )
    assert sorted(triage.__all__) == sorted(
        [
            "Appended",
            "DeadLetter",
            "EmbeddedRuntime",
            "Entry",
            "Ingested",
            "Journal",
            "encode_policy",
            "ingest_lines",
            "log_decisions",
        ]
    )
