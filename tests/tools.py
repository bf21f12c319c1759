"""The external tools some tests drive (promtool, Prometheus, Chromium, Node), found or not.

``need(tool)`` returns the tool's path. Missing, it skips the test on a
developer's machine but fails it in CI (``CI=true``): there a missing tool
is a broken set-up (``make tools`` installs them), never a reason to pass.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

__all__ = ["NODE_MODULES", "in_ci", "need", "need_node_module"]

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "tools" / "node" / "node_modules"
#: Where each tool may be besides the PATH (Debian's chromium is /usr/bin/chromium).
_ALTERNATIVES = {"chromium": ("chromium", "chromium-browser", "google-chrome")}


def in_ci() -> bool:
    """Whether the tests run in CI, where every tool must be there."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(what: str) -> None:
    message = f"{what} is missing: `make tools` installs it"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def need(tool: str) -> str:
    """The path of ``tool``; skip without it, or fail in CI."""
    for name in _ALTERNATIVES.get(tool, (tool,)):
        found = shutil.which(name)
        if found:
            return found
    _missing(tool)
    raise AssertionError("unreachable")


def need_node_module(name: str) -> Path:
    """The directory of an npm package installed under tools/node; skip or fail without it."""
    need("node")
    path = NODE_MODULES / name
    if not (path / "package.json").exists():
        _missing(f"the npm package {name} (tools/node)")
    return path
