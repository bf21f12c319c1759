"""Routing policies as files: read from TOML or JSON, kept in the log as JSON.

A file says what differs from the default policy (``router.DEFAULT_POLICY``,
the learned one): the fields it leaves out are the default's. A policy
recorded in a log is complete, so it decodes with ``router.Policy``'s own
defaults, which are those of the policy it was written by.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import msgspec

from events import ConfigError
from router import DEFAULT_POLICY, Policy

__all__ = ["encode_policy", "load_policy"]


def load_policy(path: Path | None) -> Policy:
    """The policy in a TOML or JSON file, or the default one; ConfigError if unusable."""
    if path is None:
        return DEFAULT_POLICY
    try:
        text = path.read_bytes()
        data = tomllib.loads(text.decode()) if path.suffix == ".toml" else json.loads(text)
        if not isinstance(data, dict):
            return msgspec.convert(data, Policy)  # refused with msgspec's own words
        # Fields a file leaves out are the default policy's; a recorded policy
        # (decoded by the journal's readers) lacks only fields newer than it, and
        # those default to what the older policy did.
        return msgspec.convert({**msgspec.to_builtins(DEFAULT_POLICY), **data}, Policy)
    except (OSError, ValueError, RecursionError, msgspec.ValidationError) as exc:
        raise ConfigError(f"cannot use the policy {path}: {exc}") from None


def encode_policy(policy: Policy) -> bytes:
    """The canonical JSON of a policy, as the journal keeps it."""
    return msgspec.json.encode(policy)
