"""Settings of the Kafka runtime: one frozen object, built once at the edge.

Command-line flags win over environment variables (``TRIAGE_*``), which win
over the defaults here; click does that resolution, this module says what
the values mean and checks them together.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from events import ConfigError

__all__ = ["KafkaSettings", "Security", "Topics", "parse_broker"]

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
    def inputs(self) -> tuple[str, str, str]:
        """Input topics in merge order: a tie in time goes to the earlier one."""
        return (self.experts, self.tasks, self.work)

    @property
    def all(self) -> tuple[str, ...]:
        return (*self.inputs, self.assignments, self.deadletter, self.journal)


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
    security: Security = Security()

    @property
    def min_insync(self) -> int:
        """min.insync.replicas for the topics: a majority, but never all of one."""
        return max(1, min(self.replication - 1, self.replication // 2 + 1))

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments shared by every aiokafka client."""
        return {"bootstrap_servers": self.bootstrap, **self.security.client_options()}


def parse_broker(url: str) -> str:
    """``kafka://host:port[,host:port]`` (or a bare host:port list) -> bootstrap servers."""
    value = url.strip()
    for scheme in ("kafka://", "aiokafka://"):
        if value.startswith(scheme):
            value = value[len(scheme) :]
    hosts = [h.strip() for h in value.replace(";", ",").split(",") if h.strip()]
    if not hosts:
        raise ConfigError(f"no broker address in {url!r}")
    for host in hosts:
        name, _, port = host.rpartition(":")
        if not name or not port.isdigit():
            raise ConfigError(f"broker address {host!r} is not HOST:PORT")
    return ",".join(hosts)
