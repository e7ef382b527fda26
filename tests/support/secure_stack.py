"""A Kafka that requires mutual TLS + SCRAM-SHA-512 and a Redis that requires TLS + an ACL user.

Both run on free loopback ports from a fresh directory, with certificates made
at test time (tests/support/certs.py). The broker configuration is
deploy/kafka/server-sasl-ssl.properties.template; the Redis arguments are
``redis_argv`` below. docs/SECURITY.md describes both.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import string
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from aiokafka import AIOKafkaClient
from aiokafka.protocol.admin import CreateAclsRequest
from pydantic import SecretStr

from collectpulse.kafka.connection import kafka_options
from collectpulse.localstack.kafka import metadata_ready, paths
from collectpulse.localstack.processes import read_pid, spawn, stop
from collectpulse.localstack.redis import redis_server_binary
from collectpulse.localstack.settings import LocalStackSettings
from collectpulse.settings import Settings
from tests.support.certs import CertificateAuthority, Issued
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
KAFKA_USER = "collectpulse"
#: a SCRAM user the broker knows but grants nothing to
KAFKA_USER_WITHOUT_ACLS = "stranger"
REDIS_USER = "collectpulse"
KEY_PREFIX = "sec"
# Test topics are "<TOPIC_PREFIX><run>." and groups "<GROUP_PREFIX><run>"; Faust also makes
# "<group>-__assignor-__leader". The client user is granted these prefixes and nothing else.
TOPIC_PREFIX = "sec"
GROUP_PREFIX = "collectpulse-sec-"
# Kafka protocol enums (org.apache.kafka.common.acl / resource)
_TOPIC, _GROUP = 2, 3
_PREFIXED = 4
_READ, _WRITE, _CREATE, _DESCRIBE = 3, 4, 5, 8
_ALLOW = 3
KAFKA_ACLS = (
    *((_TOPIC, TOPIC_PREFIX, op) for op in (_READ, _WRITE, _CREATE, _DESCRIBE)),
    *((_TOPIC, GROUP_PREFIX, op) for op in (_READ, _CREATE, _DESCRIBE)),
    (_GROUP, GROUP_PREFIX, _READ),
)
# The least the worker and exporter need: their own keys, scripts, no admin commands.
REDIS_ACL = (
    f"~{KEY_PREFIX}:*",
    "resetchannels",
    "-@all",
    "+@read",
    "+@write",
    "+@keyspace",
    "+@scripting",
    "+@transaction",
    "+@connection",
    "-@dangerous",
)


@dataclass(frozen=True)
class SecureStack:
    directory: Path
    ca: CertificateAuthority
    #: a CA that signed nothing the servers use: "untrusted CA" cases.
    rogue_ca: CertificateAuthority
    client: Issued
    kafka_bootstrap: str
    #: the PLAINTEXT inter-broker listener, where ANONYMOUS is super user: for granting ACLs
    kafka_admin_bootstrap: str
    kafka_password: str
    redis_url: str
    redis_password: str

    def settings(self, **changes: object) -> Settings:
        """Settings that pass every check of both servers; ``changes`` override."""
        values: dict[str, object] = {
            "kafka_bootstrap_servers": self.kafka_bootstrap,
            "kafka_security_protocol": "SASL_SSL",
            "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_sasl_username": KAFKA_USER,
            "kafka_sasl_password": SecretStr(self.kafka_password),
            "kafka_ssl_cafile": self.ca.ca_cert,
            "kafka_ssl_certfile": self.client.cert,
            "kafka_ssl_keyfile": self.client.key,
            "redis_url": SecretStr(self.redis_url),
            "redis_username": REDIS_USER,
            "redis_password": SecretStr(self.redis_password),
            "redis_ssl_ca_file": self.ca.ca_cert,
            "redis_ssl_cert_file": self.client.cert,
            "redis_ssl_key_file": self.client.key,
            "key_prefix": KEY_PREFIX,
            "topic_partitions": 2,
        }
        return Settings(**(values | changes))  # type: ignore[arg-type]


@contextmanager
def secure_stack(directory: Path) -> Iterator[SecureStack]:
    """Start both servers; stop them (SIGTERM, then SIGKILL) on exit."""
    ca = CertificateAuthority.create(directory / "pki")
    rogue = CertificateAuthority.create(directory / "rogue", name="rogue-ca")
    broker, redis_cert, client = ca.issue("kafka-broker"), ca.issue("redis"), ca.issue("client")
    stack = SecureStack(
        directory=directory,
        ca=ca,
        rogue_ca=rogue,
        client=client,
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
        kafka_admin_bootstrap=f"127.0.0.1:{free_port()}",
        kafka_password=secrets.token_urlsafe(16),
        redis_url=f"rediss://127.0.0.1:{free_port()}/0",
        redis_password=secrets.token_urlsafe(16),
    )
    with ExitStack() as cleanup:
        cleanup.callback(stop, directory / "kafka.pid", timeout_s=20)
        cleanup.callback(stop, directory / "redis.pid", timeout_s=10)
        _start_kafka(stack, broker)
        _start_redis(stack, redis_cert)
        _wait_kafka(stack)
        asyncio.run(_grant_kafka_acls(stack))
        _wait_redis(stack)
        yield stack


def _start_kafka(stack: SecureStack, broker: Issued) -> None:
    data = stack.directory / "kafka"
    data.mkdir()
    config = data / "server.properties"
    template = (ROOT / "deploy/kafka/server-sasl-ssl.properties.template").read_text()
    config.write_text(
        string.Template(template).substitute(
            port=stack.kafka_bootstrap.rsplit(":", 1)[1],
            broker_port=stack.kafka_admin_bootstrap.rsplit(":", 1)[1],
            controller_port=free_port(),
            keystore=broker.keystore,
            truststore=stack.ca.ca_cert,
            log_dir=data / "logs",
            partitions=2,
        )
    )
    libs = paths(LocalStackSettings(root=ROOT)).libs
    java = ["java", "-cp", f"{libs}/*"]
    tools_log = f"-Dlog4j2.configurationFile=file:{ROOT / 'deploy/kafka/log4j2-tools.properties'}"
    cluster_id = _cluster_id()
    users = ((KAFKA_USER, stack.kafka_password), (KAFKA_USER_WITHOUT_ACLS, stack.kafka_password))
    scram = [
        arg
        for name, password in users
        for arg in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]")
    ]
    subprocess.run(
        [*java[:1], tools_log, *java[1:], "kafka.tools.StorageTool", "format",
         "-t", cluster_id, "-c", str(config), "--standalone", *scram],
        check=True, capture_output=True,
    )  # fmt: skip
    log4j = f"-Dlog4j2.configurationFile=file:{ROOT / 'deploy/kafka/log4j2.properties'}"
    argv = ["java", "-Xmx384m", "-Xms384m", log4j, "-cp", f"{libs}/*", "kafka.Kafka", str(config)]
    spawn(argv, log_file=stack.directory / "kafka.log", pid_file=stack.directory / "kafka.pid")


def _start_redis(stack: SecureStack, server: Issued) -> None:
    data = stack.directory / "redis"
    data.mkdir()
    spawn(
        redis_argv(stack, server, data),
        log_file=stack.directory / "redis.log",
        pid_file=stack.directory / "redis.pid",
    )


def redis_argv(stack: SecureStack, server: Issued, data: Path) -> list[str]:
    """TLS only (no plain port), client certificates required, the default user off."""
    port = stack.redis_url.rsplit(":", 1)[1].split("/")[0]
    return [
        redis_server_binary(),
        "--bind", "127.0.0.1",
        "--port", "0",
        "--tls-port", port,
        "--tls-cert-file", str(server.cert),
        "--tls-key-file", str(server.key),
        "--tls-ca-cert-file", str(stack.ca.ca_cert),
        "--tls-auth-clients", "yes",
        "--dir", str(data),
        "--save", "",
        "--appendonly", "no",
        "--user", "default", "off",
        "--user", REDIS_USER, "on", f">{stack.redis_password}", *REDIS_ACL,
    ]  # fmt: skip


def _wait_kafka(stack: SecureStack, timeout_s: float = 60.0) -> None:
    def ready() -> bool:
        return asyncio.run(metadata_ready(**kafka_options(stack.settings())))

    _wait("Kafka", ready, stack.directory / "kafka.pid", timeout_s)


async def _grant_kafka_acls(stack: SecureStack) -> None:
    """CreateAcls (prefixed patterns) as the super user: aiokafka has no admin call for it."""
    client = AIOKafkaClient(bootstrap_servers=stack.kafka_admin_bootstrap)
    try:
        await client.bootstrap()
        node = next(iter(client.cluster.brokers())).nodeId
        principal = f"User:{KAFKA_USER}"
        responses = [
            await client.send(
                node, CreateAclsRequest(resource, name, _PREFIXED, principal, "*", op, _ALLOW)
            )
            for resource, name, op in KAFKA_ACLS
        ]
    finally:
        await client.close()
    refused = [r for response in responses for r in response.creation_responses if r[0] != 0]
    assert not refused, f"CreateAcls refused: {refused}"


def _wait_redis(stack: SecureStack, timeout_s: float = 20.0) -> None:
    s = stack.settings()
    client = redis.Redis.from_url(
        stack.redis_url,
        username=REDIS_USER,
        password=stack.redis_password,
        ssl_ca_certs=str(s.redis_ssl_ca_file),
        ssl_certfile=str(s.redis_ssl_cert_file),
        ssl_keyfile=str(s.redis_ssl_key_file),
        socket_connect_timeout=1,
    )

    def ready() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    _wait("Redis", ready, stack.directory / "redis.pid", timeout_s)
    client.close()


def _wait(what: str, ready: Callable[[], bool], pid_file: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        assert read_pid(pid_file) is not None, f"{what} exited; see {pid_file.with_suffix('.log')}"
        time.sleep(0.3)
    raise AssertionError(f"{what} did not answer within {timeout_s:.0f} s")


def _cluster_id() -> str:
    """A random KRaft cluster id that StorageTool's argument parser reads as a value.

    One in 64 base64url ids starts with "-", which StorageTool then takes for an
    option and fails (seen in a fresh-check); Kafka's own Uuid.randomUuid skips those too.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id
