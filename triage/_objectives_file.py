"""Objectives as files: the TOML that ``--objectives`` names (docs/objectives.md)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from events import ConfigError
from projections import Objectives, load_objectives

__all__ = ["read_objectives"]


def read_objectives(path: Path | None) -> Objectives | None:
    """The objectives file at ``path`` (TOML), or ``None``; ConfigError if unusable."""
    if path is None:
        return None
    try:
        return load_objectives(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the objectives {path}: {exc}") from None
