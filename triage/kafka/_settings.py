"""Settings of the Kafka runtime: one frozen object, built once at the edge.

Command-line flags win over environment variables (``TRIAGE_*``), which win
over the defaults. Every setting is declared once, in :data:`CONNECTION`
(what every Kafka command needs) or :data:`WORKER` (what only a worker
needs): its name, type, default, bounds and help. The command line builds
its options from these tables, and :func:`worker_config_from_environment`
(for ``faust -A triage.faust_app worker``) reads the same table from the
environment, so the two cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import msgspec
from msgspec import Meta

from events import ConfigError
from projections import Objectives
from router import Policy

from .._bind_guard import require_token
from .._objectives_file import read_objectives
from .._policy_file import load_policy

__all__ = [
    "CONNECTION",
    "WORKER",
    "KafkaSettings",
    "Security",
    "Setting",
    "Topics",
    "WorkerConfig",
    "kafka_settings",
    "parse_broker",
    "worker_config",
    "worker_config_from_environment",
]

_MAX_PORT = 65535

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class Security(msgspec.Struct, frozen=True, kw_only=True):
    """How to reach a secured cluster: TLS and SASL (PLAIN or SCRAM)."""

    protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_check_hostname: bool = True

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka clients."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.protocol in ("SSL", "SASL_SSL"):
            # aiokafka comes with the optional 'kafka' extra: import it only when used.
            from aiokafka.helpers import create_ssl_context  # noqa: PLC0415

            context = create_ssl_context(
                cafile=self.ssl_cafile, certfile=self.ssl_certfile, keyfile=self.ssl_keyfile
            )
            context.check_hostname = self.ssl_check_hostname
            options["ssl_context"] = context
        if self.protocol.startswith("SASL"):
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password
        return options


class Topics(msgspec.Struct, frozen=True):
    """The topic names, with the configured prefix."""

    prefix: str = "triage."

    @property
    def tasks(self) -> str:
        return f"{self.prefix}tasks"

    @property
    def experts(self) -> str:
        return f"{self.prefix}experts"

    @property
    def work(self) -> str:
        return f"{self.prefix}work"

    @property
    def assignments(self) -> str:
        return f"{self.prefix}assignments"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}deadletter"

    @property
    def journal(self) -> str:
        """The engine's own ordered log: accepted inputs with their outputs."""
        return f"{self.prefix}journal"

    @property
    def retried(self) -> str:
        """The retries marked on dead letters (compacted, keyed by the dead letter's id)."""
        return f"{self.prefix}deadletter.retried"

    @property
    def snapshots(self) -> str:
        """Snapshots of the journal's fold, per partition (compacted; docs/kafka.md)."""
        return f"{self.prefix}snapshots"

    @property
    def inputs(self) -> tuple[str, str, str]:
        """Input topics in merge order: a tie in time goes to the earlier one."""
        return (self.experts, self.tasks, self.work)

    @property
    def all(self) -> tuple[str, ...]:
        return (
            *self.inputs,
            self.assignments,
            self.deadletter,
            self.journal,
            self.retried,
            self.snapshots,
        )


class KafkaSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the Kafka runtime and clients need to know."""

    bootstrap: str
    topics: Topics = Topics()
    partitions: Annotated[int, Meta(ge=1, le=10_000)] = 8
    replication: Annotated[int, Meta(ge=1, le=100)] = 1
    group: str = "triage-router"
    client_id: str = "triage"
    tick_seconds: Annotated[float, Meta(ge=0)] = 60.0
    batch_max: Annotated[int, Meta(ge=1, le=100_000)] = 2_000
    batch_ms: Annotated[int, Meta(ge=0, le=60_000)] = 5
    #: How long to hold back one input topic's records while another lags.
    merge_wait_ms: Annotated[int, Meta(ge=0, le=600_000)] = 500
    #: Back-off of the transactional producers before a retry. Back-to-back
    #: transactions of one partition meet "transaction still completing"
    #: answers (CONCURRENT_TRANSACTIONS, or NOT_ENOUGH_REPLICAS and
    #: COORDINATOR_NOT_AVAILABLE from the brokers' transaction verification)
    #: for a few milliseconds; the clients' usual 100 ms would be paid each time.
    retry_backoff_ms: Annotated[int, Meta(ge=1, le=10_000)] = 10
    #: Pause of a partition between the end of one transaction and the start
    #: of its next: long enough for the last one's markers to be written, so
    #: the next one does not start with a retry (a 20 ms back-off in the client).
    commit_gap_ms: Annotated[int, Meta(ge=0, le=60_000)] = 3
    #: Static membership of the router group (KIP-345): the id a worker
    #: rejoins with after a restart, to get its partitions back at once
    #: instead of after the dead member's session. None: the client id;
    #: "" (``--instance-id none``): dynamic membership.
    instance_id: str | None = None
    #: How long the group waits for a silent worker before its partitions
    #: go to the others (the brokers bound it: group.min.session.timeout.ms,
    #: 6 s by default, and group.max.session.timeout.ms).
    session_timeout_ms: Annotated[int, Meta(ge=1_000, le=3_600_000)] = 10_000
    #: An input whose ``at`` is further ahead of the wall clock than this is
    #: a dead letter (a clock that jumped); 0: no guard (backfills, simulations).
    max_ahead_seconds: Annotated[float, Meta(ge=0)] = 86_400.0
    #: A snapshot of a partition's fold is kept every this many inputs (0: never),
    #: so that taking the partition folds only the journal after it.
    snapshot_every: Annotated[int, Meta(ge=0)] = 100_000
    security: Security = Security()

    @property
    def group_instance_id(self) -> str | None:
        """The ``group.instance.id`` of the router group's consumer, or None (dynamic)."""
        if self.instance_id is None:
            return self.client_id
        return self.instance_id or None

    @property
    def min_insync(self) -> int:
        """min.insync.replicas for the topics: a majority, but never all of one."""
        return max(1, min(self.replication - 1, self.replication // 2 + 1))

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments shared by every aiokafka client."""
        return {"bootstrap_servers": self.bootstrap, **self.security.client_options()}


def parse_broker(url: str) -> str:
    """``kafka://host:port[,host:port]`` (or a bare host:port list) -> bootstrap servers.

    Any other scheme, a path, or an address that is not HOST:PORT with a
    port in 1..65535 is refused with ConfigError.
    """
    value = url.strip()
    scheme, sep, rest = value.partition("://")
    if sep:
        if scheme.lower() not in ("kafka", "aiokafka"):
            raise ConfigError(f"--broker {url!r}: the scheme must be kafka://")
        value = rest
    hosts = [h.strip() for h in value.replace(";", ",").split(",") if h.strip()]
    if not hosts:
        raise ConfigError(f"no broker address in {url!r}")
    for host in hosts:
        name, _, port = host.rpartition(":")
        if (
            not name
            or any(c in name for c in "/?#@ ")
            or not port.isdigit()
            or not 0 < int(port) <= _MAX_PORT
        ):
            raise ConfigError(f"broker address {host!r} is not HOST:PORT")
    return ",".join(hosts)


class Setting(NamedTuple):
    """One setting: the option ``--{flag}`` and the variable ``TRIAGE_{NAME}``.

    ``kind`` is ``str``, ``int``, ``float`` or ``"path"`` (a file that must
    exist); ``low`` and ``high`` bound numbers, ``choices`` bound strings.
    """

    name: str
    kind: type | str
    default: Any
    help: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    flag: str | None = None

    @property
    def option(self) -> str:
        """The command-line flag, e.g. ``--topic-prefix``."""
        return "--" + (self.flag or self.name).replace("_", "-")

    @property
    def envvar(self) -> str:
        """The environment variable, e.g. ``TRIAGE_TOPIC_PREFIX``."""
        return "TRIAGE_" + self.name.upper()

    def parse(self, text: str) -> Any:
        """The value of the setting written as ``text``, or ConfigError."""
        try:
            value: Any = (
                int(text) if self.kind is int else float(text) if self.kind is float else text
            )
        except ValueError:
            what = "whole number" if self.kind is int else "number"
            raise ConfigError(f"{self.envvar}: {text!r} is not a {what}") from None
        if self.kind == "path" and not Path(text).is_file():
            raise ConfigError(f"{self.envvar}: no file {text!r}")
        if self.choices and value not in self.choices:
            raise ConfigError(f"{self.envvar}: {text!r} is not one of {', '.join(self.choices)}")
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise ConfigError(f"{self.envvar}: {text} is not in {self.low}..{self.high}")
        return value


#: What every command that talks to Kafka takes (docs/kafka.md).
CONNECTION: Sequence[Setting] = (
    Setting("broker", str, None, "kafka://HOST:PORT[,HOST:PORT...]: the bootstrap servers."),
    Setting("topic_prefix", str, "triage."),
    Setting("partitions", int, 8, "Partitions of the topics Triage creates.", 1, 10_000),
    Setting("replication", int, 1, "Replication factor of the topics Triage creates.", 1, 100),
    Setting("group", str, "triage-router", "Consumer group of the workers."),
    Setting("client_id", str, "triage"),
    Setting(
        "security_protocol",
        str,
        "PLAINTEXT",
        choices=("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
    ),
    Setting("sasl_mechanism", str, None, choices=("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")),
    Setting("sasl_username", str, None),
    Setting("sasl_password", str, None),
    Setting("ssl_cafile", "path", None),
    Setting("ssl_certfile", "path", None),
    Setting("ssl_keyfile", "path", None),
)

#: What a worker takes on top of :data:`CONNECTION`.
WORKER: Sequence[Setting] = (
    Setting(
        "tick_seconds",
        float,
        60.0,
        "Seconds between the clock.tick each workspace gets (0: none).",
        0,
        flag="tick",
    ),
    Setting("batch_max", int, 2_000, "Most input events in one transaction.", 1, 100_000),
    Setting(
        "batch_ms",
        int,
        5,
        "Longest wait for more input before a transaction is committed.",
        0,
        60_000,
    ),
    Setting(
        "merge_wait_ms",
        int,
        500,
        "How long records of one input topic wait for a lagging other (time-ordered merge).",
        0,
        600_000,
    ),
    Setting(
        "commit_gap_ms",
        int,
        3,
        "Pause of a partition between one transaction and its next (lets the last one settle).",
        0,
        60_000,
    ),
    Setting(
        "retry_backoff_ms",
        int,
        10,
        "Back-off of the transactional producers before they retry a request.",
        1,
        10_000,
    ),
    Setting(
        "instance_id",
        str,
        None,
        "Static group membership: a worker restarted with the same id takes its partitions "
        "back at once. Each worker needs its own (default: the client id; 'none': dynamic).",
    ),
    Setting(
        "session_timeout_ms",
        int,
        10_000,
        "How long the group waits for a silent worker before others take its partitions.",
        1_000,
        3_600_000,
    ),
    Setting(
        "max_ahead_seconds",
        float,
        86_400.0,
        "Inputs stamped further ahead of the wall clock are dead letters (0: no guard).",
        0,
    ),
    Setting(
        "snapshot_every",
        int,
        100_000,
        "Keep a snapshot of a partition's state every N inputs, so that taking it folds "
        "only the journal after the snapshot (0: never).",
        0,
        1_000_000_000,
    ),
    Setting(
        "web_host",
        str,
        "127.0.0.1",
        "Address the web port binds (beyond the loopback only with a token).",
    ),
    Setting("web_port", int, 6066, "Port of the web views (0: none).", 0, 65535),
    Setting(
        "web_views",
        str,
        "all",
        "What the web port serves: all (the API, the dashboard and /metrics of the whole "
        "journal, as `triage serve`) or probes (/healthz, /readyz, the worker's own /metrics).",
        choices=("all", "probes"),
    ),
    Setting(
        "http_token",
        str,
        None,
        "Bearer token required on every route of the web port but the probes; needed to "
        "serve the journal's views (--web-views all) on a non-loopback --web-host.",
        flag="web_token",
    ),
    Setting(
        "objectives",
        "path",
        None,
        "Objectives file (TOML, docs/objectives.md) that the web views evaluate.",
    ),
    Setting("policy", "path", None, "Routing policy, a TOML or JSON file (see docs/routing.md)."),
)

_WORKER_OWN = ("web_host", "web_port", "web_views", "http_token", "objectives", "policy")
WebViews = Literal["all", "probes"]


class WorkerConfig(msgspec.Struct, frozen=True, kw_only=True):
    """What a worker runs with: the Kafka settings, the policy and its web port.

    ``web_views`` says what the port serves (``all``: the API, the
    dashboard and the metrics of the journal besides the probes);
    ``http_token`` is the bearer token its routes require, ``objectives``
    what the views evaluate.
    """

    settings: KafkaSettings
    policy: Policy
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    web_views: WebViews = "all"
    http_token: str | None = None
    objectives: Objectives | None = None


def kafka_settings(values: Mapping[str, Any]) -> KafkaSettings:
    """The one settings object of the Kafka runtime, from resolved setting values.

    ``values`` holds every :data:`CONNECTION` setting by name, and may hold
    the worker's own (tick, batches, merge, commits); the rest is ignored.
    """
    if not values.get("broker"):
        raise ConfigError("no broker: pass --broker or set TRIAGE_BROKER")
    protocol = values["security_protocol"]
    if protocol.startswith("SASL") and not (values["sasl_mechanism"] and values["sasl_username"]):
        raise ConfigError(f"{protocol} needs --sasl-mechanism and --sasl-username")
    own = {s.name: values[s.name] for s in WORKER if s.name in values and s.name not in _WORKER_OWN}
    if own.get("instance_id") == "none":
        own["instance_id"] = ""
    return KafkaSettings(
        bootstrap=parse_broker(values["broker"]),
        topics=Topics(values["topic_prefix"]),
        partitions=values["partitions"],
        replication=values["replication"],
        group=values["group"],
        client_id=values["client_id"],
        security=Security(
            protocol=protocol,
            sasl_mechanism=values["sasl_mechanism"],
            sasl_username=values["sasl_username"],
            sasl_password=values["sasl_password"],
            ssl_cafile=values["ssl_cafile"],
            ssl_certfile=values["ssl_certfile"],
            ssl_keyfile=values["ssl_keyfile"],
        ),
        **own,
    )


def worker_config(values: Mapping[str, Any]) -> WorkerConfig:
    """A worker's configuration from resolved values of every setting."""
    policy, objectives = values.get("policy"), values.get("objectives")
    token = values.get("http_token") or None
    views: WebViews = "probes" if values.get("web_views") == "probes" else "all"
    if values["web_port"] and views == "all":
        require_token(values["web_host"], token, option="--web-token")
    return WorkerConfig(
        settings=kafka_settings(values),
        policy=load_policy(Path(policy) if policy else None),
        web_host=values["web_host"],
        web_port=values["web_port"],
        web_views=views,
        http_token=token,
        objectives=read_objectives(Path(objectives) if objectives else None),
    )


def worker_config_from_environment(environ: Mapping[str, str] | None = None) -> WorkerConfig:
    """The same, from the ``TRIAGE_*`` environment alone (``faust -A triage.faust_app``)."""
    env = os.environ if environ is None else environ
    values = {
        s.name: s.parse(env[s.envvar]) if env.get(s.envvar) else s.default
        for s in (*CONNECTION, *WORKER)
    }
    if not values["broker"]:
        raise ConfigError("TRIAGE_BROKER is required")
    return worker_config(values)
