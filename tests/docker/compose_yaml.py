"""What the Docker tests read of docker/compose.yaml: its services, parsed.

The services and what each runs, its environment, ports, volumes and
dependencies, in the short syntax or the long one, with no Docker engine.
A service that gives no command runs the image's CMD, read from the
Dockerfile by ``image``.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from typing import Any, NamedTuple

import yaml

from .image import DOCKERFILE, exec_form, only
from .sources import ROOT

COMPOSE = ROOT / "docker" / "compose.yaml"
KAFKA = "kafka"  # the Compose service of the broker, the host name in TRIAGE_BROKER


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
