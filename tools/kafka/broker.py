#!/usr/bin/env python3
"""A real single-node Apache Kafka broker (KRaft) for tests and local use.

The broker jars come from Maven Central via ``mvn``; only Java 17+ and Maven
are needed, no Docker and no Kafka tarball.  Stdlib only, so a pytest fixture
can import this file before any project dependency is installed::

    from tools.kafka.broker import start   # repo root on sys.path (pytest does that)
    with start() as broker:                # fetches on first use, then cached
        produce_to(broker.bootstrap)       # "127.0.0.1:PORT"

CLI: ``python tools/kafka/broker.py fetch|start --help``.
"""
from __future__ import annotations

import argparse
import atexit
import base64
import fcntl
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["DEFAULT_VERSION", "VERSIONS", "Broker", "BrokerError", "cache_dir", "fetch", "start"]

_LOG4J2_JAR = "org.apache.logging.log4j:{}:2.25.3"
# Pinned broker versions -> extra Maven artifacts the broker needs to log.
# kafka_2.13 declares slf4j-api but no binding; without one the broker logs
# nothing at all, which makes start-up failures impossible to diagnose.
VERSIONS: dict[str, list[str]] = {
    # 3.x logs through log4j 1 (reload4j); 1.2.25 is what the 3.9 tarball ships.
    "3.9.2": ["org.slf4j:slf4j-reload4j:1.7.36", "ch.qos.reload4j:reload4j:1.2.25"],
    "4.4.0": [_LOG4J2_JAR.format("log4j-core"), _LOG4J2_JAR.format("log4j-slf4j-impl")],  # log4j 2
}
# 3.9 is the default: aiokafka >= 0.13 and faust-streaming >= 0.12.1 pass
# smoke_test.py on both, but 4.x dropped old protocol versions (KIP-896) and
# faust with aiokafka < 0.13 still sends one (CreateTopics v1), so 4.x fails
# where 3.9 and most production clusters work.  It also starts a bit faster.
DEFAULT_VERSION = "3.9.2"
_MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
_MARKER = ".complete"
_PathArg = str | os.PathLike | None


_SECRET = "triage-secret"  # password of the test users and the test key store


class BrokerError(RuntimeError):
    """Fetching, starting or stopping the broker failed."""


def _check(version: str) -> str:
    if version not in VERSIONS:
        raise BrokerError(f"unsupported Kafka version {version!r}; known: {', '.join(VERSIONS)}")
    return version


def cache_dir(version: str) -> Path:
    """Where ``fetch`` puts a version: $TRIAGE_KAFKA_CACHE/<version>, ~/.cache/triage/kafka/..."""
    root = os.environ.get("TRIAGE_KAFKA_CACHE") or Path.home() / ".cache" / "triage" / "kafka"
    return Path(root) / version


def _pom(version: str) -> str:
    dep = "<dependency><groupId>{}</groupId><artifactId>{}</artifactId><version>{}</version>"
    deps = [f"org.apache.kafka:kafka_2.13:{version}", *VERSIONS[version]]
    xml = "".join(dep.format(*d.split(":")) + "</dependency>\n" for d in deps)
    return ('<project><modelVersion>4.0.0</modelVersion><groupId>triage.local</groupId>'
            f"<artifactId>kafka-broker</artifactId><version>{version}</version>\n"
            f"<packaging>pom</packaging><dependencies>\n{xml}</dependencies></project>\n")


def fetch(version: str = DEFAULT_VERSION) -> Path:
    """Download the broker jars for ``version``; return the ``libs`` dir.  Idempotent."""
    _check(version)
    home = cache_dir(version)
    libs = home / "libs"
    if (libs / _MARKER).exists():
        return libs
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers: one downloads, the rest wait
        if not (libs / _MARKER).exists():
            _download(version, home, libs)
    return libs


def _download(version: str, home: Path, libs: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("Maven ('mvn') is not on PATH; it is needed to fetch the Kafka jars")
    (home / "pom.xml").write_text(_pom(version))
    # Copy into a scratch dir and rename, so an interrupted fetch never leaves
    # a half-filled libs/ that a later run could mistake for a complete one.
    tmp = home / "libs.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(libs, ignore_errors=True)
    cmd = [mvn, "-q", "-B", "-f", str(home / "pom.xml"),
           f"{_MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies", f"-DoutputDirectory={tmp}",
           "-DincludeScope=runtime"]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0 or not any(tmp.glob("kafka_2.13-*.jar")):
        out = (res.stdout + res.stderr)[-4000:]
        raise BrokerError(f"fetching Kafka {version} failed ({' '.join(cmd)}):\n{out}")
    tmp.rename(libs)
    (libs / _MARKER).write_text(version + "\n")  # written last: marks the download complete


def _bind(port: int = 0) -> int:
    """The port if 127.0.0.1:port (0: any free one) can be listened on now, else 0."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # like the JVM: ignore TIME_WAIT
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return 0
        return s.getsockname()[1]


def _cluster_id() -> str:
    # Same format as `StorageTool random-uuid` (base64url of 16 random bytes),
    # without paying for a JVM start; Kafka rejects ids that start with "-".
    while True:
        cid = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _serves_clients(port: int, cluster_id: str, timeout: float = 2.0) -> bool:
    """True once our broker (by cluster id) answers a Metadata request listing itself.

    The port takes connections before requests are processed, and a KRaft broker
    is left out of Metadata until the controller unfences it: only then can
    clients use it.  v4 is the oldest Metadata version 4.x serves; 3.x does too.
    """
    client = b"triage-probe"
    req = struct.pack(">hhih", 3, 4, 1, len(client)) + client + struct.pack(">ib", 0, 0)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(struct.pack(">i", len(req)) + req)
            buf = b""
            while len(buf) < 4 or len(buf) < 4 + struct.unpack(">i", buf[:4])[0]:
                chunk = s.recv(65536)
                if not chunk:
                    return False
                buf += chunk
    except OSError:
        return False
    # size, correlation id, throttle_time_ms, brokers[node_id, host, port, rack], cluster_id, ...
    def string(off: int) -> tuple[str, int]:
        (n,) = struct.unpack(">h", buf[off:off + 2])
        return (buf[off + 2:off + 2 + n].decode() if n >= 0 else ""), off + 2 + max(n, 0)
    try:
        correlation, _throttle, n_brokers = struct.unpack(">iii", buf[4:16])
        off, ports = 16, []
        for _ in range(n_brokers):
            _host, off = string(off + 4)
            ports.append(struct.unpack(">i", buf[off:off + 4])[0])
            _rack, off = string(off + 4)
        got_id, _ = string(off)
    except (struct.error, UnicodeDecodeError):
        return False
    return correlation == 1 and port in ports and got_id == cluster_id


# Both log4j flavours go to stdout, which start() sends to kafka.log.  The
# config dumps (~400 lines per config object) are what would flood it.
_QUIET = ["kafka.request.logger", "state.change.logger", "kafka.server.KafkaConfig",
          "org.apache.kafka.common.config.AbstractConfig"]
_LOG4J1 = "".join([  # Kafka 3.x (reload4j)
    "log4j.rootLogger=INFO, out\nlog4j.appender.out=org.apache.log4j.ConsoleAppender\n",
    "log4j.appender.out.layout=org.apache.log4j.PatternLayout\n",
    "log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n\n",
    *(f"log4j.logger.{name}=WARN\n" for name in _QUIET)])
_LOG4J2 = "".join([  # Kafka 4.x (log4j 2)
    "rootLogger.level=INFO\nrootLogger.appenderRef.out.ref=OUT\n",
    "appender.out.type=Console\nappender.out.name=OUT\nappender.out.layout.type=PatternLayout\n",
    "appender.out.layout.pattern=[%d] %p %m (%c)%n\n",
    *(f"logger.q{i}.name={name}\nlogger.q{i}.level=WARN\n" for i, name in enumerate(_QUIET))])


class Broker:
    """One KRaft broker+controller process on 127.0.0.1.

    ``data_dir`` holds the Kafka log (and survives ``stop``/``kill`` so that
    ``restart`` sees the same topics and offsets); ``log_dir`` holds the
    config files and ``kafka.log``.  Without them a temp dir is used and
    removed when the context manager exits.
    """

    def __init__(self, version: str = DEFAULT_VERSION, port: int = 0,
                 data_dir: _PathArg = None, log_dir: _PathArg = None, secure: bool = False):
        self.version = _check(version)
        self.port = port or _bind()
        self.controller_port = _bind()
        # secure: also SASL_PLAINTEXT, SSL and SASL_SSL listeners (PLAIN and
        # SCRAM users triage/triage-secret, a self-signed certificate for
        # 127.0.0.1 whose PEM is ca_file), to test clients of secured clusters.
        self.secure = secure
        self.sasl_port = _bind() if secure else 0
        self.ssl_port = _bind() if secure else 0
        self.sasl_ssl_port = _bind() if secure else 0
        self._tmp = None if data_dir and log_dir else Path(tempfile.mkdtemp(prefix="triage-kafka-"))
        self.data_dir = Path(data_dir) if data_dir else self._tmp / "data"
        self.log_dir = Path(log_dir) if log_dir else self._tmp / "logs"
        self.log_file = self.log_dir / "kafka.log"
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        """The ``bootstrap.servers`` value for clients: ``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        """PEM of the broker's self-signed certificate (secure brokers only)."""
        return self.log_dir / "ca.pem"

    def bootstrap_for(self, protocol: str) -> str:
        """Bootstrap servers of the listener for a security protocol."""
        port = {"PLAINTEXT": self.port, "SASL_PLAINTEXT": self.sasl_port,
                "SSL": self.ssl_port, "SASL_SSL": self.sasl_ssl_port}[protocol]
        return f"127.0.0.1:{port}"

    def _certificate(self) -> dict[str, str]:
        """A self-signed key pair for 127.0.0.1, made with the JDK's keytool."""
        store = self.log_dir / "broker.p12"
        if not store.exists():
            keytool = shutil.which("keytool") or "keytool"
            subprocess.run([keytool, "-genkeypair", "-alias", "broker", "-keyalg", "RSA",
                            "-keysize", "2048", "-validity", "3650", "-dname", "CN=127.0.0.1",
                            "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-keystore", str(store),
                            "-storetype", "PKCS12", "-storepass", _SECRET, "-keypass", _SECRET],
                           check=True, capture_output=True)
            subprocess.run([keytool, "-exportcert", "-alias", "broker", "-rfc", "-keystore",
                            str(store), "-storepass", _SECRET, "-file", str(self.ca_file)],
                           check=True, capture_output=True)
        plain = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
                 f'username="triage" password="{_SECRET}" user_triage="{_SECRET}";')
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        props = {
            "ssl.keystore.location": str(store), "ssl.keystore.type": "PKCS12",
            "ssl.keystore.password": _SECRET, "ssl.key.password": _SECRET,
            "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        }
        for name in ("sasl_plaintext", "sasl_ssl"):
            props[f"listener.name.{name}.plain.sasl.jaas.config"] = plain
            props[f"listener.name.{name}.scram-sha-256.sasl.jaas.config"] = scram
            props[f"listener.name.{name}.scram-sha-512.sasl.jaas.config"] = scram
        return props

    def _write_config(self) -> Path:
        p, c = self.port, self.controller_port
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            # A static voter set works on 3.9 and 4.x alike; the dynamic
            # quorum of 4.x (controller.quorum.bootstrap.servers) would
            # instead need `format --standalone`.
            "controller.quorum.voters": f"1@127.0.0.1:{c}",
            "listeners": f"PLAINTEXT://127.0.0.1:{p},CONTROLLER://127.0.0.1:{c}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{p}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            # Off: code under test must create its topics with the partition
            # count it relies on; auto-creation would silently give it 1.
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",  # not 50: the first group join is faster
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "group.initial.rebalance.delay.ms": "0",
            # After a SIGKILL the old registration blocks the restarted broker
            # until its session expires (default 9s); keep crash tests quick.
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "3000",
            "log.segment.bytes": str(16 * 1024 * 1024),
        }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.secure:
            extra = (f"SASL_PLAINTEXT://127.0.0.1:{self.sasl_port},SSL://127.0.0.1:{self.ssl_port},"
                     f"SASL_SSL://127.0.0.1:{self.sasl_ssl_port}")
            props["listeners"] += "," + extra
            props["advertised.listeners"] += "," + extra
            props["listener.security.protocol.map"] += (
                ",SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL")
            props.update(self._certificate())
        (self.log_dir / "log4j.properties").write_text(_LOG4J1)
        (self.log_dir / "log4j2.properties").write_text(_LOG4J2)
        path = self.log_dir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        return path

    def _java(self, main: list[str], out) -> subprocess.Popen:
        home = os.environ.get("JAVA_HOME")
        java = Path(home, "bin", "java") if home else shutil.which("java")
        if not java or not Path(java).exists():
            raise BrokerError("Java ('java' or $JAVA_HOME) not found; Kafka needs Java 17+")
        libs = fetch(self.version)
        # C1 only (TieredStopAtLevel=1): start-up dominates a test broker's
        # life and starts ~40% faster; peak throughput does not matter here.
        cmd = [str(java), "-Xms128m", "-Xmx512m", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1",
               "-Djava.awt.headless=true",
               f"-Dlog4j.configuration=file:{self.log_dir / 'log4j.properties'}",
               f"-Dlog4j2.configurationFile={self.log_dir / 'log4j2.properties'}",
               "-cp", str(libs / "*"), *main]
        # Own session: a Ctrl-C meant for the Python side must not hit the
        # JVM directly; stop() (or the atexit hook) shuts it down in order.
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start(self, timeout: float = 90.0) -> Broker:
        """Format storage on first use, launch the broker, wait until it serves clients."""
        if self.running:
            return self
        _live.add(self)  # from here on, exit cleans up whatever happens
        for port in (self.port, self.controller_port):
            if not _bind(port):
                raise BrokerError(f"port {port} on 127.0.0.1 is already in use")
        config = self._write_config()
        meta = self.data_dir / "meta.properties"
        with open(self.log_file, "ab") as out:
            if not meta.exists():
                scram = []
                if self.secure:  # SCRAM users live in the metadata log: add them at format
                    for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
                        scram += ["--add-scram", f"{mechanism}=[name=triage,password={_SECRET}]"]
                fmt = self._java(["kafka.tools.StorageTool", "format", "-t", _cluster_id(),
                                  "-c", str(config), "--ignore-formatted", *scram], out)
                if fmt.wait(timeout) != 0:
                    raise BrokerError(f"formatting {self.data_dir} failed:\n{self.log_tail()}")
            self.proc = self._java(["kafka.Kafka", str(config)], out)
        cluster_id = next(ln.split("=", 1)[1].strip() for ln in meta.read_text().splitlines()
                          if ln.startswith("cluster.id="))
        deadline = time.monotonic() + timeout
        while not _serves_clients(self.port, cluster_id):
            if self.proc.poll() is not None:
                raise BrokerError(f"Kafka {self.version} exited with {self.proc.returncode} "
                                  f"while starting:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise BrokerError(f"Kafka {self.version} not ready on {self.bootstrap} "
                                  f"after {timeout:.0f}s:\n{self.log_tail()}")
            time.sleep(0.2)
        return self

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        """Shut down cleanly (SIGTERM), SIGKILL if that takes longer than ``timeout``."""
        if not self.running:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would.  Data stays for ``restart``."""
        if self.running:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()

    def restart(self, timeout: float = 90.0) -> Broker:
        """Stop if running, then start again on the same ports and data dir."""
        self.stop()
        return self.start(timeout)

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of ``kafka.log``."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no broker log)"

    def close(self) -> None:
        """Stop, and remove the temp dir if this broker created one."""
        self.stop()
        _live.discard(self)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Broker:
        return self if self.running else self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Broker kafka-{self.version} {self.bootstrap} {state}>"


# The JVM runs in its own session, so nothing else would stop it when Python
# exits without calling stop(); this keeps brokers from outliving the tests,
# even ones whose Broker object was dropped (hence a set, not a WeakSet).
_live: set[Broker] = set()
atexit.register(lambda: [b.close() for b in list(_live)])


def start(version: str = DEFAULT_VERSION, port: int = 0, data_dir: _PathArg = None,
          log_dir: _PathArg = None, timeout: float = 90.0) -> Broker:
    """Fetch if needed and start a broker; returns it running (usable as a context manager)."""
    return Broker(version, port, data_dir, log_dir).start(timeout)


def _main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="broker.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="download the broker jars into the cache")
    s = sub.add_parser("start", help="run a broker in the foreground until Ctrl-C / SIGTERM")
    for p in (f, s):
        p.add_argument("--version", default=DEFAULT_VERSION, choices=list(VERSIONS))
    s.add_argument("--port", type=int, default=9092, help="client port (default 9092; 0: any free)")
    s.add_argument("--dir", type=Path, help="keep data and logs here (default: a temp dir)")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "fetch":
            t = time.monotonic()
            libs = fetch(args.version)
            print(f"Kafka {args.version} jars in {libs} ({time.monotonic() - t:.1f}s)")
            return 0
        d = args.dir
        broker = Broker(args.version, args.port, d and d / "data", d and d / "logs")
        # SIGTERM takes the same orderly path as Ctrl-C.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with broker:
            print(f"Kafka {args.version} ready: bootstrap {broker.bootstrap}"
                  f" (log: {broker.log_file})", flush=True)
            while broker.running:
                time.sleep(0.5)
            code = broker.proc.returncode if broker.proc else None
            print(f"broker exited with {code}:\n{broker.log_tail()}", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 0
    except BrokerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(_main())
