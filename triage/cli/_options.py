"""Options that several commands share, each defined once.

The Kafka settings come from the tables in ``triage.kafka`` (name, type,
default, bounds, help): :func:`settings_options` turns a table into click
options with their ``TRIAGE_*`` variables, so the command line and the
environment reader of ``faust -A triage.faust_app`` read the same settings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from .._logging import quiet_client_logs
from ..kafka import CONNECTION, KafkaSettings, Setting, kafka_settings

__all__ = [
    "client_settings",
    "history_broker_options",
    "history_policy_option",
    "json_option",
    "log_option",
    "parse_settings",
    "policy_option",
    "settings_options",
]

_F = TypeVar("_F", bound=Callable[..., Any])


def log_option(default: str = "triage.db") -> Callable[[_F], _F]:
    """``--log PATH``: the embedded log (``TRIAGE_LOG``)."""
    option: Callable[[_F], _F] = click.option(
        "--log",
        "log_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=default,
        show_default=True,
        envvar="TRIAGE_LOG",
        show_envvar=True,
        help="The embedded log (a SQLite file).",
    )
    return option


def policy_option(fn: _F) -> _F:
    """``--policy FILE``: the routing policy (``TRIAGE_POLICY``)."""
    return click.option(
        "--policy",
        "policy_path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        envvar="TRIAGE_POLICY",
        show_envvar=True,
        help="Routing policy, a TOML or JSON file (see docs/routing.md).",
    )(fn)


def _click_type(setting: Setting) -> Any:
    if setting.choices:
        return click.Choice(setting.choices)
    if setting.kind == "path":
        return click.Path(exists=True, dir_okay=False)
    if setting.kind is int:
        return click.IntRange(
            None if setting.low is None else int(setting.low),
            None if setting.high is None else int(setting.high),
        )
    if setting.kind is float:
        return click.FloatRange(setting.low, setting.high)
    return str


def settings_options(
    table: Sequence[Setting],
    *,
    required: frozenset[str] = frozenset(),
    help_of: dict[str, str] | None = None,
    lenient: bool = False,
) -> Callable[[_F], _F]:
    """One click option per setting of ``table``, in table order.

    ``required`` names the settings that must be given; ``help_of``
    overrides the help of some (e.g. what ``--broker`` means for a command
    that also runs without one). With ``lenient`` the values stay strings,
    checked by :func:`parse_settings` only when the command uses them: a
    command that runs on the embedded log is not broken by a Kafka
    setting in the environment that it does not use.
    """
    options = [
        click.option(
            setting.option,
            setting.name,
            type=str if lenient else _click_type(setting),
            default=setting.default,
            show_default=setting.default is not None,
            required=setting.name in required,
            envvar=setting.envvar,
            show_envvar=True,
            help=(help_of or {}).get(setting.name, setting.help) or None,
        )
        for setting in table
    ]

    def decorate(fn: _F) -> _F:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def parse_settings(values: dict[str, Any], table: Sequence[Setting]) -> dict[str, Any]:
    """The values of ``lenient`` options, checked and converted (ConfigError if not valid)."""
    parsed = dict(values)
    for setting in table:
        value = values.get(setting.name)
        if isinstance(value, str):
            parsed[setting.name] = setting.parse(value)
    return parsed


def client_settings(options: dict[str, Any], *, lenient: bool = False) -> KafkaSettings:
    """The Kafka settings of a client command (anything but a worker).

    A client command that fails says why in one line of ours, so the Kafka
    client's own log lines (its connection retries) are kept off stderr.
    ``lenient``: the options were declared lenient and are checked here.
    """
    quiet_client_logs()
    return kafka_settings(parse_settings(options, CONNECTION) if lenient else options)


#: ``--json``: the command's result as JSON for programs.
json_option = click.option("--json", "as_json", is_flag=True, help="JSON for programs.")

#: ``--policy FILE`` of a command that reads a recorded history (replay, why).
history_policy_option = click.option(
    "--policy",
    "policy_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --broker: the policy the history was routed with (the Kafka journal does "
    "not record it; default: the default policy). The embedded log records its own.",
)

#: The Kafka options of a command that reads a recorded history (replay, whatif, why).
history_broker_options = settings_options(
    CONNECTION,
    lenient=True,
    help_of={
        "broker": "kafka://HOST:PORT[,HOST:PORT...]: read the history from Kafka's journal "
        "topic. Without it, the embedded log (--log) is read."
    },
)
