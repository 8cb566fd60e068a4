"""A real single-node Apache Kafka (KRaft, broker+controller) brought by Maven.

There is no Docker engine here, but Java and Maven with access to Maven Central
are: Maven resolves ``org.apache.kafka:kafka_2.13`` and its runtime jars into a
cache outside the repository once, and every stack then runs ``kafka.Kafka``
from those jars with its own ``server.properties`` on free loopback ports.
"""

from __future__ import annotations

import base64
import fcntl
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from riskmon.stack.process import is_alive, tail
from riskmon.stack.state import StackError

DEFAULT_KAFKA_VERSION = "4.1.1"
# Kafka 4.x logs through SLF4J 1.x into Log4j 2; this binding makes that happen
# (without it SLF4J falls back to its no-op logger and the broker log is empty).
LOG4J_SLF4J_BINDING = ("org.apache.logging.log4j", "log4j-slf4j-impl", "2.24.3")
NODE_ID = 1
COMPLETE_MARKER = ".complete"
MVN_TIMEOUT = 900.0
DEFAULT_HEAP = "512m"

Progress = Callable[[str], None]


def _kafka_major(version: str) -> int:
    match = re.match(r"(\d+)\.\d+", version)
    if not match:
        raise StackError(f"Kafka version {version!r} is not of the form MAJOR.MINOR.PATCH")
    return int(match.group(1))


def render_pom(version: str) -> str:
    """A packaging-``pom`` project whose only purpose is to list the broker's jars."""
    group, artifact, binding_version = LOG4J_SLF4J_BINDING
    return f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>riskmon.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>{version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{version}</version>
    </dependency>
    <dependency>
      <groupId>{group}</groupId>
      <artifactId>{artifact}</artifactId>
      <version>{binding_version}</version>
    </dependency>
  </dependencies>
</project>
"""


def needs_fetch(version: str, cache: Path) -> bool:
    """True unless a previous fetch of ``version`` ran to completion."""
    return not (cache / f"kafka-{version}" / COMPLETE_MARKER).is_file()


def ensure_kafka(version: str, cache: Path, progress: Progress) -> Path:
    """Return the directory of Kafka's jars, fetching them with Maven on first use.

    A marker file is written only after Maven succeeds, so an interrupted fetch
    is redone from scratch; a file lock keeps two concurrent `up` runs from
    fetching into the same directory at once.
    """
    if _kafka_major(version) < 4:
        raise StackError(
            f"Kafka {version} is not supported by riskmon's stack tooling: use 4.x "
            f"(default {DEFAULT_KAFKA_VERSION}); 3.x logs through log4j 1 and needs other jars"
        )
    home = cache / f"kafka-{version}"
    lib = home / "lib"
    home.mkdir(parents=True, exist_ok=True)
    with open(cache / f"kafka-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not needs_fetch(version, cache):
            return lib
        progress(f"fetching Kafka {version} from Maven Central into {home} (first run only)")
        started = time.monotonic()
        shutil.rmtree(lib, ignore_errors=True)
        (home / "pom.xml").write_text(render_pom(version))
        log = home / "mvn.log"
        cmd = [
            "mvn",
            "-B",
            "-q",
            "-Dstyle.color=never",
            "dependency:copy-dependencies",
            "-DoutputDirectory=lib",
            "-DincludeScope=runtime",
        ]
        try:
            with open(log, "wb") as out:
                result = subprocess.run(
                    cmd, cwd=home, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=MVN_TIMEOUT
                )
        except subprocess.TimeoutExpired:
            raise StackError(
                f"Maven did not finish fetching Kafka {version} within {MVN_TIMEOUT:.0f} s; "
                f"Maven Central (https://repo.maven.apache.org) must be reachable. "
                f"Last lines of {log}:\n{tail(log)}"
            ) from None
        jar = lib / f"kafka_2.13-{version}.jar"
        if result.returncode != 0 or not jar.is_file():
            raise StackError(
                f"Maven failed to fetch org.apache.kafka:kafka_2.13:{version} (exit {result.returncode}); "
                f"Maven Central (https://repo.maven.apache.org) must be reachable and the version must "
                f"exist there. Command: `{' '.join(cmd)}` in {home}. Last lines of {log}:\n{tail(log)}"
            )
        jars = sorted(p.name for p in lib.glob("*.jar"))
        (home / COMPLETE_MARKER).write_text("\n".join(jars) + "\n")
        progress(f"fetched {len(jars)} jars in {time.monotonic() - started:.1f} s")
        return lib


def render_server_properties(dir: Path, port: int, controller_port: int) -> str:
    """Single-node KRaft config listening on loopback only, replication factors of 1.

    >>> text = render_server_properties(Path("/s"), 9092, 9093)
    >>> [line for line in text.splitlines() if line.startswith("listeners=")]
    ['listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093']
    """
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "controller.quorum.voters": f"{NODE_ID}@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(dir / "kafka" / "data"),
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "num.partitions": "1",
        "auto.create.topics.enable": "true",
        # Dead-letter records carry the original message plus error details.
        "message.max.bytes": "8388608",
    }
    lines = ["# Written by riskmon's stack tooling; rewritten on every start."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def render_log4j2(log_file: Path) -> str:
    """Log4j 2 properties sending the broker's INFO log to a size-rotated file."""
    return f"""# Written by riskmon's stack tooling.
status = warn
# Kafka logs its own shutdown from a JVM hook; Log4j's hook must not close the file first.
shutdownHook = disable
name = riskmon-kafka
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = {log_file}
appender.file.filePattern = {log_file}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


def new_cluster_id() -> str:
    """A KRaft cluster id: base64url of 16 random bytes without padding.

    Kafka's own generator never returns an id starting with '-' (it would read
    as a command-line flag), so neither do we.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def heap_size() -> str:
    """Maximum heap from ``$RISKMON_KAFKA_HEAP`` (e.g. ``1g``), default 512m."""
    heap = os.environ.get("RISKMON_KAFKA_HEAP", DEFAULT_HEAP).strip()
    if not re.fullmatch(r"\d+[kKmMgG]?", heap):
        raise StackError(f"RISKMON_KAFKA_HEAP={heap!r} is not a JVM size such as 512m or 1g")
    return heap


def _megabytes(size: str) -> float:
    factor = {"k": 1 / 1024, "m": 1, "g": 1024}.get(size[-1].lower(), 1 / 1024 / 1024)
    return int(size.rstrip("kKmMgG")) * factor


def java_base(lib: Path, log4j: Path, heap: str) -> list[str]:
    """``java`` with heap, classpath (Java expands ``lib/*`` itself) and logging config."""
    initial = heap if _megabytes(heap) < 256 else "256m"
    return [
        "java",
        f"-Xmx{heap}",
        f"-Xms{initial}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        f"{lib}/*",
    ]


def start_command(lib: Path, props: Path, log4j: Path) -> list[str]:
    """The broker's command line; ``props`` (absolute) identifies the process as ours."""
    return [*java_base(lib, log4j, heap_size()), "kafka.Kafka", str(props)]


def format_storage(lib: Path, props: Path, log4j: Path, data: Path, progress: Progress) -> None:
    """Format the KRaft log directory once; skipped when meta.properties exists."""
    if (data / "meta.properties").is_file():
        return
    progress("formatting KRaft storage")
    cmd = [
        *java_base(lib, log4j, DEFAULT_HEAP),
        "kafka.tools.StorageTool",
        "format",
        "-t",
        new_cluster_id(),
        "-c",
        str(props),
    ]
    result = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise StackError(f"formatting Kafka storage in {data} failed (exit {result.returncode}):\n{output}")


def wait_ready(bootstrap: str, pid: int, deadline: float, describe_failure: Callable[[], str]) -> None:
    """Block until the broker answers a metadata request listing broker 1.

    A live JVM or an open port is not enough: the broker accepts connections
    before the controller has registered it. Raises StackError with the log
    tail if the process dies, or when ``deadline`` passes.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    # log_level 0 keeps librdkafka quiet about the refused connects while the JVM starts;
    # a short reconnect backoff notices the listener as soon as it opens.
    admin = AdminClient(
        {"bootstrap.servers": bootstrap, "log_level": 0, "reconnect.backoff.ms": 100, "reconnect.backoff.max.ms": 500}
    )
    last_error = "no answer yet"
    while True:
        if not is_alive(pid):
            raise StackError(f"Kafka (pid {pid}) exited during startup.\n{describe_failure()}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StackError(
                f"Kafka on {bootstrap} did not serve metadata in time ({last_error}).\n{describe_failure()}"
            )
        try:
            metadata = admin.list_topics(timeout=max(0.5, min(3.0, remaining)))
        except KafkaException as exc:
            last_error = str(exc.args[0]) if exc.args else repr(exc)
        else:
            if NODE_ID in metadata.brokers:
                return
            last_error = f"metadata lists brokers {sorted(metadata.brokers)}, not {NODE_ID}"
        time.sleep(0.2)
