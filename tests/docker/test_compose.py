"""docker/compose.yaml agrees with the project: Kafka in KRaft mode, topics, two workers."""

from __future__ import annotations

import re

from .compose_yaml import (
    COMPOSE,
    KAFKA,
    builds_dockerfile,
    command,
    compose,
    depends_on,
    effective_command,
    environment,
    kafka_env,
    listeners,
    mounts,
    ports,
    running,
    service,
    services,
    topics_service,
    triage_services,
)
from .image import only
from .sources import ROOT, env_default, env_vars, subcommands

# -- compose.yaml: tests ----------------------------------------------------------------------


def test_compose_parses() -> None:
    loaded = compose()
    assert "version" not in loaded, "`version` is obsolete in the Compose spec"
    for name, svc in services().items():
        assert isinstance(svc, dict), f"service {name!r} is not a mapping"
        assert svc.get("image") or svc.get("build"), f"service {name!r} has no image or build"


def test_compose_builds_the_dockerfile_from_the_repository_root() -> None:
    for name, svc in services().items():
        build = svc.get("build")
        if build is None:
            continue
        context = build if isinstance(build, str) else build.get("context", ".")
        assert (COMPOSE.parent / context).resolve() == ROOT, (
            f"{name}: build context {context!r} is not the repository root"
        )
        assert builds_dockerfile(svc), f"{name}: builds something other than docker/Dockerfile"


def test_triage_services_run_real_subcommands() -> None:
    for name, svc in triage_services().items():
        argv = command(svc)
        assert argv, f"{name}: no command; say which `triage` subcommand it runs"
        assert argv[0] in subcommands(), (
            f"{name}: `triage {argv[0]}` is not one of {sorted(subcommands())}"
        )


def test_triage_variables_in_compose_are_listed_by_help() -> None:
    for name, svc in triage_services().items():
        subcommand = effective_command(svc)[0]
        allowed = env_vars(subcommand) | env_vars()
        used = {key for key in environment(svc) if key.startswith("TRIAGE_")}
        unknown = used - allowed
        assert not unknown, (
            f"{name}: {sorted(unknown)} are not listed by `triage {subcommand} --help` "
            f"or `triage --help`; they would be silently ignored"
        )


def test_kafka_uses_a_pinned_apache_kafka_image() -> None:
    image = str(service(KAFKA).get("image", ""))
    repository, _, tag = image.partition(":")
    assert repository == "apache/kafka", f"kafka runs {image!r}, not the official apache/kafka"
    assert tag and tag != "latest", f"kafka image {image!r} should pin a version"


def test_kafka_runs_in_kraft_combined_mode() -> None:
    env = kafka_env()
    roles = {role.strip() for role in (env.get("KAFKA_PROCESS_ROLES") or "").split(",")}
    assert {"broker", "controller"} <= roles, f"KAFKA_PROCESS_ROLES is {sorted(roles)}"
    assert env.get("CLUSTER_ID"), "KRaft formats the storage with CLUSTER_ID: set it"
    node = env.get("KAFKA_NODE_ID")
    voters = dict(
        v.split("@", 1) for v in (env.get("KAFKA_CONTROLLER_QUORUM_VOTERS") or "").split(",")
    )
    assert node in voters, f"node {node} is not among the quorum voters {voters}"
    controller = env.get("KAFKA_CONTROLLER_LISTENER_NAMES")
    own = listeners(env.get("KAFKA_LISTENERS"))
    assert controller in own, f"the controller listener {controller} is not in KAFKA_LISTENERS"
    voter_port = int(voters[node].rsplit(":", 1)[1])
    assert voter_port == own[controller][1], (
        f"the voter {voters[node]} is not the {controller} listener's port {own[controller][1]}"
    )


def test_kafka_listeners_are_consistent() -> None:
    env = kafka_env()
    own = listeners(env.get("KAFKA_LISTENERS"))
    advertised = listeners(env.get("KAFKA_ADVERTISED_LISTENERS"))
    protocols = dict(
        item.split(":")
        for item in (env.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP") or "").split(",")
    )
    assert set(own) <= set(protocols), (
        f"listeners {sorted(set(own) - set(protocols))} lack a protocol"
    )
    for name, (_, port) in advertised.items():
        assert name in own, f"advertised listener {name} is not in KAFKA_LISTENERS"
        assert own[name][1] == port, f"{name} listens on {own[name][1]} but advertises {port}"
    inter = env.get("KAFKA_INTER_BROKER_LISTENER_NAME")
    assert inter in advertised, f"the inter-broker listener {inter} is not advertised"


def test_triage_broker_is_an_advertised_listener_of_kafka() -> None:
    advertised = set(listeners(kafka_env().get("KAFKA_ADVERTISED_LISTENERS")).values())
    for name, svc in triage_services().items():
        broker = environment(svc).get("TRIAGE_BROKER")
        assert broker, f"{name}: TRIAGE_BROKER is not set"
        for address in broker.removeprefix("kafka://").split(","):
            host, _, port = address.rpartition(":")
            assert (host, int(port)) in advertised, (
                f"{name}: TRIAGE_BROKER {address} is not an advertised listener {advertised}"
            )
            if svc.get("network_mode") == "host":  # the host's view: the published listener
                assert host == "localhost", f"{name}: on the host's network, use localhost"
                published = {p.published for p in ports(service(KAFKA))}
                assert int(port) in published, f"{name}: port {port} is not published"
            else:
                assert host == KAFKA, f"{name}: containers should reach the broker as {KAFKA!r}"


def test_kafka_host_listener_is_published_on_the_same_port() -> None:
    advertised = listeners(kafka_env().get("KAFKA_ADVERTISED_LISTENERS"))
    on_host = {port for host, port in advertised.values() if host in {"localhost", "127.0.0.1"}}
    assert on_host, "no listener is advertised to the host (localhost)"
    published = {(p.published, p.target) for p in ports(service(KAFKA))}
    for port in on_host:
        assert (port, port) in published, f"localhost:{port} is advertised but not published"


def test_kafka_is_set_up_for_a_single_node() -> None:
    env = kafka_env()
    expected = {
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
    }
    wrong = {key: env.get(key) for key, value in expected.items() if env.get(key) != value}
    assert not wrong, f"expected {expected}; differs: {wrong}"


def test_kafka_keeps_its_data_on_a_named_volume() -> None:
    log_dirs = (kafka_env().get("KAFKA_LOG_DIRS") or "").split(",")
    assert log_dirs != [""], "set KAFKA_LOG_DIRS: the image's default is under /tmp"
    named = set(compose().get("volumes") or {})
    volumes = mounts(service(KAFKA))
    for log_dir in log_dirs:
        on = [t for t in volumes if log_dir == t or log_dir.startswith(t.rstrip("/") + "/")]
        assert on, f"KAFKA_LOG_DIRS {log_dir} is not on a volume ({volumes})"
        assert volumes[on[0]] in named, f"{volumes[on[0]]} is not a declared named volume"


def test_kafka_healthcheck_asks_the_broker() -> None:
    test = service(KAFKA).get("healthcheck", {}).get("test")
    line = test if isinstance(test, str) else " ".join(test or [])
    assert "kafka-broker-api-versions.sh" in line, f"kafka's healthcheck is {test!r}"
    match = re.search(r"--bootstrap-server\s+\S+:(\d+)", line)
    assert match, "the healthcheck should name --bootstrap-server HOST:PORT"
    own_ports = {port for _, port in listeners(kafka_env().get("KAFKA_LISTENERS")).values()}
    assert int(match[1]) in own_ports, f"port {match[1]} is none of the listeners {own_ports}"


def test_topics_service_waits_for_a_healthy_kafka() -> None:
    name, svc = topics_service()
    assert depends_on(svc).get(KAFKA) == "service_healthy", (
        f"{name} should depend on {KAFKA} with condition service_healthy: {depends_on(svc)}"
    )
    assert service(KAFKA).get("healthcheck"), "service_healthy needs a healthcheck on kafka"


def test_workers_wait_for_the_topics() -> None:
    topics, _ = topics_service()
    workers = running("worker")
    assert workers, "no service runs `triage worker`"
    for name, svc in workers.items():
        assert depends_on(svc).get(topics) == "service_completed_successfully", (
            f"{name} should wait for {topics} to complete: {depends_on(svc)}"
        )
        assert svc.get("restart") == "unless-stopped", f"{name}: restart is {svc.get('restart')}"


def test_workers_are_one_group_with_distinct_client_ids() -> None:
    workers = running("worker")
    assert len(workers) >= 2, f"expected at least two workers, found {sorted(workers)}"
    client_ids = [environment(svc).get("TRIAGE_CLIENT_ID") for svc in workers.values()]
    assert None not in client_ids and len(set(client_ids)) == len(client_ids), (
        f"each worker needs its own TRIAGE_CLIENT_ID: {client_ids}"
    )
    groups = {environment(svc).get("TRIAGE_GROUP") for svc in workers.values()}
    assert len(groups) == 1, f"the workers should share one TRIAGE_GROUP: {groups}"


def test_topics_and_workers_agree_on_the_topics() -> None:
    names = ("TRIAGE_TOPIC_PREFIX", "TRIAGE_PARTITIONS", "TRIAGE_GROUP")
    seen: dict[str, set[str]] = {name: set() for name in names}
    for svc in {**running("topics"), **running("worker")}.values():
        env = environment(svc)
        for name in names:
            seen[name].add(env.get(name) or env_default(name, "topics"))
    differing = {name: values for name, values in seen.items() if len(values) > 1}
    assert not differing, f"topics and workers disagree: {differing}"


def test_worker_web_views_are_published_on_triage_web_port() -> None:
    host_ports = []
    for name, svc in running("worker").items():
        env = environment(svc)
        web_port = int(env.get("TRIAGE_WEB_PORT") or env_default("TRIAGE_WEB_PORT", "worker"))
        published = {p.target: p.published for p in ports(svc)}
        assert web_port in published, (
            f"{name}: TRIAGE_WEB_PORT is {web_port}, but it publishes container ports "
            f"{sorted(published)}"
        )
        assert published[web_port], f"{name}: port {web_port} has no host port"
        host_ports.append(published[web_port])
    assert len(set(host_ports)) == len(host_ports), f"workers share host ports: {host_ports}"


def test_worker_web_views_listen_beyond_the_container() -> None:
    for name, svc in running("worker").items():
        host = environment(svc).get("TRIAGE_WEB_HOST")
        assert host == "0.0.0.0", (
            f"{name}: TRIAGE_WEB_HOST is {host}; published ports need 0.0.0.0 in the container"
        )


def test_examples_are_mounted_where_the_readme_publishes_them() -> None:
    _, topics = topics_service()
    workdir = only("WORKDIR").arguments.rstrip("/")
    source = mounts(topics).get(f"{workdir}/examples")
    assert source and (COMPOSE.parent / source).resolve() == ROOT / "examples", (
        f"docker/README.md runs `topics publish examples/...`: mount ../examples at "
        f"{workdir}/examples ({mounts(topics)})"
    )
