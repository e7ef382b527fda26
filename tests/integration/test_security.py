"""The pipeline over a Kafka that requires mutual TLS + SCRAM-SHA-512 and a Redis that
requires TLS + an ACL user, with an exporter serving HTTPS that requires a client
certificate and basic auth.

The module starts its own servers with certificates made at test time
(tests/support/secure_stack.py). It checks that real worker and exporter
processes produce exact KPI values through them, that the exporter refuses
missing or wrong credentials with 401, that wrong Kafka/Redis credentials and
untrusted certificates stop each command at start-up with a message naming the
setting (never a hang), and that no secret appears in any output.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import TopicAuthorizationFailedError
from pydantic import SecretStr

from collectpulse.events.models import Topic
from collectpulse.kafka.connection import kafka_options
from collectpulse.settings import Settings
from tests.support import events as ev
from tests.support.kafka import create_topics, publish
from tests.support.metrics import total, wait_for
from tests.support.pipeline import run_pipeline
from tests.support.processes import free_port, settings_env
from tests.support.secure_stack import (
    GROUP_PREFIX,
    KAFKA_USER_WITHOUT_ACLS,
    TOPIC_PREFIX,
    SecureStack,
    secure_stack,
)

pytestmark = pytest.mark.integration

MESSAGES = 40
HANG_GUARD_S = 60  # a command still running after this is hung; they exit within seconds


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureStack]:
    with secure_stack(tmp_path_factory.mktemp("secure-stack")) as started:
        yield started


@pytest.fixture
def secure(stack: SecureStack, tmp_path: Path) -> Settings:
    run = uuid.uuid4().hex[:8]
    return stack.settings(
        topic_prefix=f"{TOPIC_PREFIX}{run}.",
        consumer_group=f"{GROUP_PREFIX}{run}",
        data_dir=tmp_path / "worker",
    )


def _web_config(stack: SecureStack, tmp_path: Path, password: str) -> Path:
    exporter = stack.ca.issue(f"exporter-{uuid.uuid4().hex[:6]}")
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=6)).decode()
    path = tmp_path / "web.yml"
    path.write_text(
        "tls_server_config:\n"
        f"  cert_file: {exporter.cert}\n"
        f"  key_file: {exporter.key}\n"
        f"  client_ca_file: {stack.ca.ca_cert}\n"
        "  client_auth_type: RequireAndVerifyClientCert\n"
        "basic_auth_users:\n"
        f"  prometheus: '{hashed}'\n"
    )
    return path


def _scenario(now: float) -> tuple[dict[Topic, list[tuple[bytes, bytes]]], dict[str, int]]:
    """Sends, deliveries, bounces, opens, clicks and payments, with what they must count."""
    out: dict[Topic, list[tuple[bytes, bytes]]] = {t: [] for t in Topic}
    truth = {"sent": 0, "delivered": 0, "bounced": 0, "opened": 0, "clicked": 0, "paid": 0}
    for i in range(MESSAGES):
        mid, at = f"sec-m{i}", now - 600 + i
        out[Topic.DELIVERY].append((mid.encode(), orjson.dumps(ev.sent(mid, at))))
        truth["sent"] += 1
        if i % 5 == 0:
            out[Topic.BOUNCE].append((mid.encode(), orjson.dumps(ev.bounce(mid, at + 1, "hard"))))
            truth["bounced"] += 1
            continue
        out[Topic.DELIVERY].append((mid.encode(), orjson.dumps(ev.delivered(mid, at + 1))))
        truth["delivered"] += 1
        if i % 2:
            out[Topic.OPEN].append((mid.encode(), orjson.dumps(ev.opened(mid, at + 30))))
            truth["opened"] += 1
        if i % 4 == 1:
            out[Topic.CLICK].append((mid.encode(), orjson.dumps(ev.clicked(mid, at + 40))))
            truth["clicked"] += 1
    for i in range(7):
        customer = f"sec-c{i}"
        body = ev.payment(customer, now - 60 + i, "succeeded", 1000 + i, "EUR")
        out[Topic.PAYMENT].append((customer.encode(), orjson.dumps(body)))
        truth["paid"] += 1000 + i
    return out, truth


async def test_the_pipeline_runs_through_tls_sasl_and_an_acl_user(
    stack: SecureStack, secure: Settings, tmp_path: Path
) -> None:
    scrape_password = secrets.token_urlsafe(12)
    settings = secure.model_copy(
        update={"http_web_config_file": _web_config(stack, tmp_path, scrape_password)}
    )
    stream, truth = _scenario(time.time())
    published = sum(len(records) for records in stream.values())
    # mutual TLS: the scraper trusts the test CA and shows a certificate the exporter trusts
    tls_context = ssl.create_default_context(cafile=stack.ca.ca_cert)
    tls_context.load_cert_chain(stack.client.cert, stack.client.key)
    tls = {"verify": tls_context}
    auth = httpx.BasicAuth("prometheus", scrape_password)

    async with asyncio.timeout(120):
        await create_topics(settings)
        for topic, records in stream.items():
            await publish(settings, settings.topic(topic.value), records)
        with run_pipeline(settings, tmp_path, level="info") as run:
            base = run.url("", scheme="https")
            samples = await wait_for(
                f"{base}/metrics",
                lambda s: total(s, "collectpulse_events_received_total") >= published,
                timeout_s=90,
                processes=run.processes,
                auth=auth,
                **tls,
            )
            async with httpx.AsyncClient(timeout=10, **tls) as client:
                refused = {
                    (path, who): (await client.get(f"{base}{path}", auth=credentials)).status_code
                    for path in ("/metrics", "/healthz", "/readyz")
                    for who, credentials in (
                        ("nobody", None),
                        ("wrong password", httpx.BasicAuth("prometheus", "not-it")),
                        ("unknown user", httpx.BasicAuth("grafana", scrape_password)),
                    )
                }
                healthz = await client.get(f"{base}/healthz", auth=auth)
                readyz = await client.get(f"{base}/readyz", auth=auth)
            with pytest.raises(httpx.HTTPError):  # no plain HTTP on the TLS port
                await httpx.AsyncClient(timeout=5).get(run.url("/healthz"))
            no_client_cert = ssl.create_default_context(cafile=stack.ca.ca_cert)
            with pytest.raises(httpx.HTTPError):  # TLS without a client certificate
                await httpx.AsyncClient(timeout=5, verify=no_client_cert).get(
                    f"{base}/healthz", auth=auth
                )

    assert total(samples, "collectpulse_events_received_total") == published
    assert total(samples, "collectpulse_messages_sent_total") == truth["sent"]
    assert total(samples, "collectpulse_messages_delivered_total") == truth["delivered"]
    assert total(samples, "collectpulse_messages_bounced_any_total") == truth["bounced"]
    assert total(samples, "collectpulse_messages_opened_total") == truth["opened"]
    assert total(samples, "collectpulse_messages_clicked_total") == truth["clicked"]
    assert (
        total(samples, "collectpulse_collected_amount_minor_total", currency="EUR") == truth["paid"]
    )
    assert total(samples, "collectpulse_events_invalid_total") == 0
    assert set(refused.values()) == {401}, refused
    assert healthz.status_code == 200
    assert readyz.status_code == 200, readyz.text

    logs = (tmp_path / "worker.log").read_text() + (tmp_path / "exporter.log").read_text()
    assert "Authenticated as collectpulse via SCRAM-SHA-512" in logs  # really over SASL
    for secret in (stack.kafka_password, stack.redis_password, scrape_password):
        assert secret not in logs


def _bad_cases(stack: SecureStack, tmp_path: Path) -> list[tuple[str, str, dict[str, object], str]]:
    """(command, case, settings changes, text the error must contain)."""
    rogue_client = stack.rogue_ca.issue("rogue-client")
    broken_web = tmp_path / "broken-web.yml"
    broken_web.write_text(f"tls_server_config:\n  cert_file: {stack.client.cert}\n")
    kafka_password = {"kafka_sasl_password": SecretStr("wrong-kafka-password")}
    redis_password = {"redis_password": SecretStr("wrong-redis-password")}
    kafka_ca = {"kafka_ssl_cafile": stack.rogue_ca.ca_cert}
    redis_ca = {"redis_ssl_ca_file": stack.rogue_ca.ca_cert}
    kafka_client = {"kafka_ssl_certfile": rogue_client.cert, "kafka_ssl_keyfile": rogue_client.key}
    cases = []
    for command in ("worker", "exporter", "simulate"):
        cases += [
            (command, "wrong Kafka password", kafka_password, "COLLECTPULSE_KAFKA_SASL_PASSWORD"),
            (command, "untrusted Kafka CA", kafka_ca, "CERTIFICATE_VERIFY_FAILED"),
        ]
    for command in ("worker", "exporter"):
        cases += [
            (command, "wrong Redis password", redis_password, "COLLECTPULSE_REDIS_PASSWORD"),
            (command, "untrusted Redis CA", redis_ca, "CERTIFICATE_VERIFY_FAILED"),
        ]
    no_acls = {"kafka_sasl_username": KAFKA_USER_WITHOUT_ACLS}
    cases += [
        ("worker", "client certificate of another CA", kafka_client, "client certificate"),
        ("worker", "a Kafka user without ACLs", no_acls, "grant the ACLs"),
        ("exporter", "a Kafka user without ACLs", no_acls, "grant the ACLs"),
        (
            "exporter",
            "web config without key_file",
            {"http_web_config_file": broken_web},
            f"{broken_web}: tls_server_config.key_file",
        ),
    ]
    return cases


def test_refused_credentials_stop_each_command_at_start_up(
    stack: SecureStack, secure: Settings, tmp_path: Path
) -> None:
    cases = _bad_cases(stack, tmp_path)
    args = {
        "worker": ["worker"],
        "exporter": ["exporter"],
        "simulate": ["simulate", "--total", "5"],
    }
    running = []
    for command, _case, changes, _ in cases:  # all at once: each is a Python start-up
        env = settings_env(
            secure.model_copy(update=changes), COLLECTPULSE_HTTP_PORT=str(free_port())
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "collectpulse.cli", *args[command]],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        running.append(proc)
    results = []
    for proc in running:
        try:
            output, _ = proc.communicate(timeout=HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        results.append((proc.returncode, output))

    for (command, case, _, expected), (code, output) in zip(cases, results, strict=True):
        label = f"{command} with {case}"
        assert code == 2, f"{label}: exit {code}\n{output}"
        last = output.strip().splitlines()[-1]
        assert last.startswith(f"collectpulse {command}: "), f"{label}: {output}"
        assert expected in last, f"{label}: {last}"
        assert "Traceback" not in output, f"{label}: {output}"
        for secret in ("wrong-kafka-password", "wrong-redis-password"):
            assert secret not in output, f"{label} shows a password"
        for secret in (stack.kafka_password, stack.redis_password):
            assert secret not in output, f"{label} shows a password"


async def test_the_kafka_user_reaches_only_its_prefixes(secure: Settings) -> None:
    """The broker runs an authorizer: the ACLs granted to the user are all it can use."""
    producer = AIOKafkaProducer(**kafka_options(secure), request_timeout_ms=10_000)
    await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait("outside-the-prefix", b"x")
        await create_topics(secure)
        await producer.send_and_wait(secure.topic(Topic.DELIVERY.value), b"{}")
    finally:
        await producer.stop()
