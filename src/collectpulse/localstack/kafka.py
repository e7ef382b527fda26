"""A real single-node KRaft Kafka broker from Maven Central jars, on loopback."""

from __future__ import annotations

import asyncio
import base64
import shutil
import string
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError

from collectpulse.localstack.processes import exit_reason, read_pid, spawn, stop
from collectpulse.localstack.settings import LocalStackSettings

KAFKA_JAR_GLOB = "kafka_2.13-*.jar"


class LocalStackError(RuntimeError):
    """The local stack could not be prepared or started; the message says what to do."""


@dataclass(frozen=True)
class KafkaPaths:
    root: Path
    state: Path

    @property
    def pom(self) -> Path:
        return self.root / "deploy/kafka/pom.xml"

    @property
    def libs(self) -> Path:
        return self.root / ".cache/kafka/libs"

    @property
    def data(self) -> Path:
        return self.state / "kafka"

    @property
    def log_dir(self) -> Path:
        return self.data / "logs"

    @property
    def config(self) -> Path:
        return self.data / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.data / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.data / "kafka.log"


def paths(cfg: LocalStackSettings) -> KafkaPaths:
    return KafkaPaths(root=cfg.root.resolve(), state=(cfg.root / cfg.state_dir).resolve())


def ensure_jars(p: KafkaPaths) -> Path:
    """Fetch the pinned broker jars with Maven once; later calls reuse the cache."""
    found = sorted(p.libs.glob(KAFKA_JAR_GLOB))
    if found:
        return found[-1]
    if shutil.which("mvn") is None:
        raise LocalStackError("Maven (mvn) is needed once to fetch the Kafka jars; install maven")
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(p.pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={p.libs}",
        ],
        check=True,
    )
    found = sorted(p.libs.glob(KAFKA_JAR_GLOB))
    if not found:
        raise LocalStackError(f"Maven ran but no {KAFKA_JAR_GLOB} is in {p.libs}")
    return found[-1]


def kafka_version(p: KafkaPaths) -> str:
    jar = ensure_jars(p)
    return jar.name.removeprefix("kafka_2.13-").removesuffix(".jar")


def java() -> str:
    found = shutil.which("java")
    if found is None:
        raise LocalStackError("Java 17+ is needed to run the local Kafka broker")
    return found


def _write_config(p: KafkaPaths, cfg: LocalStackSettings) -> None:
    template = (p.root / "deploy/kafka/server.properties.template").read_text()
    text = string.Template(template).substitute(
        port=cfg.kafka_port,
        controller_port=cfg.kafka_controller_port,
        log_dir=p.log_dir,
        partitions=cfg.kafka_partitions,
    )
    p.data.mkdir(parents=True, exist_ok=True)
    p.config.write_text(text)


def new_cluster_id() -> str:
    """A KRaft cluster id as ``kafka-storage random-uuid`` prints it (16 random bytes,
    base64url without padding, never starting with '-'), without starting a JVM for it."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def _format_once(p: KafkaPaths) -> None:
    """Format the KRaft log dir the first time; a restart reuses it."""
    if (p.log_dir / "meta.properties").exists():
        return
    java_bin = java()
    classpath = f"{p.libs}/*"
    tools_log = f"-Dlog4j2.configurationFile=file:{p.root / 'deploy/kafka/log4j2-tools.properties'}"
    subprocess.run(
        [
            java_bin,
            tools_log,
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            new_cluster_id(),
            "-c",
            str(p.config),
            "--standalone",
            "--ignore-formatted",
        ],
        check=True,
        capture_output=True,
        text=True,
    )


async def metadata_ready(**client_options: Any) -> bool:
    """One answered metadata request naming a broker; ``client_options`` go to aiokafka
    (the bootstrap servers, and for a secured broker its TLS/SASL options)."""
    client = AIOKafkaClient(**client_options, request_timeout_ms=2000)
    try:
        await client.bootstrap()
        return bool(client.cluster.brokers())
    except (KafkaError, OSError):
        return False
    finally:
        await client.close()


def wait_ready(bootstrap: str, *, timeout_s: float, pid_file: Path | None = None) -> None:
    """Wait for an answered metadata request (a port probe is not enough)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if asyncio.run(metadata_ready(bootstrap_servers=bootstrap)):
            return
        if pid_file is not None and read_pid(pid_file) is None:
            log = pid_file.parent / "kafka.log"
            raise LocalStackError(
                f"Kafka exited during start-up: {exit_reason(log) or 'no log'} (log: {log})"
            )
        time.sleep(0.3)
    raise LocalStackError(f"Kafka at {bootstrap} did not answer within {timeout_s:.0f} s")


def start(cfg: LocalStackSettings, *, timeout_s: float = 90.0) -> str:
    """Start the broker unless it runs already; return its bootstrap address."""
    p = paths(cfg)
    bootstrap = f"127.0.0.1:{cfg.kafka_port}"
    if read_pid(p.pid_file) is not None:
        wait_ready(bootstrap, timeout_s=timeout_s, pid_file=p.pid_file)
        return bootstrap
    ensure_jars(p)
    _write_config(p, cfg)
    _format_once(p)
    argv = [
        java(),
        f"-Xmx{cfg.kafka_heap_mb}m",
        f"-Xms{cfg.kafka_heap_mb}m",
        "-XX:+UseG1GC",
        f"-Dlog4j2.configurationFile=file:{p.root / 'deploy/kafka/log4j2.properties'}",
        "-cp",
        f"{p.libs}/*",
        "kafka.Kafka",
        str(p.config),
    ]
    spawn(argv, log_file=p.log_file, pid_file=p.pid_file)
    wait_ready(bootstrap, timeout_s=timeout_s, pid_file=p.pid_file)
    return bootstrap


def status(cfg: LocalStackSettings) -> int | None:
    return read_pid(paths(cfg).pid_file)


def stop_kafka(cfg: LocalStackSettings, *, timeout_s: float = 60.0) -> bool:
    return stop(paths(cfg).pid_file, timeout_s=timeout_s)
