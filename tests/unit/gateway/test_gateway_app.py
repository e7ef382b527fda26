"""The gateway's request handling with a stand-in publisher and verifiers (no servers).

What happens after verification is the server's: a Kafka failure or a bug of
ours is a 503 with Retry-After (never a 4xx, never a traceback), an accepted
handshake is confirmed and not published, and the metrics say which.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from collectpulse.gateway.app import GATEWAY_KEY, Gateway, create_app
from collectpulse.gateway.metrics import GatewayMetrics
from collectpulse.gateway.publish import KafkaUnavailable
from collectpulse.gateway.verify.base import Accepted, Refusal, WebhookRequest


class FakePublisher:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.published: list[tuple[str, bytes | None, bytes]] = []

    async def publish(self, provider: str, key: bytes | None, body: bytes) -> None:
        if self.fail:
            raise KafkaUnavailable("no acknowledgement from Kafka within 3 s")
        self.published.append((provider, key, body))

    async def readiness_problems(self) -> list[str]:
        return ["kafka: not connected (test)"] if self.fail else []


class Answers:
    """A verifier answering ``verdict`` (or raising it) and keeping what it saw."""

    provider = "ses"

    def __init__(self, verdict: Any) -> None:
        self.verdict = verdict
        self.seen: list[WebhookRequest] = []

    async def verify(self, request: WebhookRequest) -> Accepted | Refusal:
        self.seen.append(request)
        if isinstance(self.verdict, Exception):
            raise self.verdict
        return self.verdict  # type: ignore[no-any-return]


CONFIRMED = web.AppKey("confirmed", list[str])


def _gateway(client: TestClient) -> Gateway:
    assert client.app is not None
    return client.app[GATEWAY_KEY]


async def _client(verdict: Any, publisher: FakePublisher, **gateway: Any) -> TestClient:
    confirmed: list[str] = []

    async def confirm(url: str) -> None:
        confirmed.append(url)

    app = create_app(
        Gateway(
            verifiers={"ses": Answers(verdict)},
            publisher=publisher,  # type: ignore[arg-type]
            metrics=GatewayMetrics(),
            confirm=confirm,
            max_body_bytes=1024,
            **gateway,
        )
    )
    app[CONFIRMED] = confirmed
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


def _requests(client: TestClient, outcome: str) -> float | None:
    metrics = _gateway(client).metrics
    return metrics.registry.get_sample_value(  # type: ignore[no-any-return]
        "collectpulse_gateway_requests_total", {"provider": "ses", "outcome": outcome}
    )


TEXT = {"Content-Type": "text/plain; charset=UTF-8"}


async def test_an_accepted_body_is_published_unchanged_with_its_key() -> None:
    publisher = FakePublisher()
    client = await _client(Accepted(publish=True, key=b"m-1"), publisher)
    try:
        response = await client.post("/webhooks/ses?x=1", data=b'{"a": 1}', headers=TEXT)
        assert (response.status, await response.text()) == (200, "ok\n")
        assert publisher.published == [("ses", b"m-1", b'{"a": 1}')]
        assert _requests(client, "accepted") == 1
    finally:
        await client.close()


async def test_kafka_unavailable_is_a_503_with_retry_after_never_a_4xx() -> None:
    client = await _client(Accepted(publish=True, key=None), FakePublisher(fail=True))
    try:
        response = await client.post("/webhooks/ses", data=b"{}", headers=TEXT)
        assert response.status == 503
        assert response.headers["Retry-After"] == "30"
        assert "Kafka" in await response.text()
        assert _requests(client, "unavailable") == 1
        ready = await client.get("/readyz")
        assert ready.status == 503
    finally:
        await client.close()


async def test_a_verifier_bug_is_a_503_without_a_traceback_and_counted_as_error() -> None:
    client = await _client(ZeroDivisionError("boom"), FakePublisher())
    try:
        response = await client.post("/webhooks/ses", data=b"{}", headers=TEXT)
        text = await response.text()
        assert response.status == 503 and "Traceback" not in text and "boom" not in text
        assert _requests(client, "error") == 1
        metrics = _gateway(client).metrics
        assert metrics.in_flight._value.get() == 0
    finally:
        await client.close()


async def test_a_confirmed_subscription_is_answered_and_not_published() -> None:
    publisher = FakePublisher()
    url = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=t"
    client = await _client(Accepted(publish=False, key=None, confirm_url=url), publisher)
    try:
        response = await client.post("/webhooks/ses", data=b"{}", headers=TEXT)
        assert response.status == 200
        assert client.app[CONFIRMED]  # type: ignore[index] == [url]
        assert publisher.published == []
        assert _requests(client, "handshake") == 1
    finally:
        await client.close()


async def test_the_public_base_url_replaces_the_internal_origin_for_the_verifier() -> None:
    verdict = Refusal(401, "bad_signature", "test")
    client = await _client(verdict, FakePublisher(), public_base_url="https://hooks.example/")
    try:
        response = await client.post("/webhooks/ses?a=%20b", data=b"{}", headers=TEXT)
        assert (response.status, await response.text()) == (401, "refused: bad_signature\n")
        verifier = _gateway(client).verifiers["ses"]
        assert isinstance(verifier, Answers)
        (seen,) = verifier.seen
        assert seen.public_url == "https://hooks.example/webhooks/ses?a=%20b"
        assert seen.headers["content-type"] == TEXT["Content-Type"]
    finally:
        await client.close()


async def test_limits_are_checked_before_verification() -> None:
    publisher = FakePublisher()
    client = await _client(Accepted(publish=True, key=None), publisher)
    try:
        too_big = await client.post("/webhooks/ses", data=b"x" * 2048, headers=TEXT)
        html = await client.post("/webhooks/ses", data=b"{}", headers={"Content-Type": "text/html"})
        get = await client.get("/webhooks/ses")
        empty = await client.post("/webhooks/ses", data=b"", headers=TEXT)
        disabled = await client.post("/webhooks/twilio", data=b"x")
        assert [r.status for r in (too_big, html, get, empty, disabled)] == [
            413,
            415,
            405,
            400,
            404,
        ]
        assert get.headers["Allow"] == "POST"
        verifier = _gateway(client).verifiers["ses"]
        assert isinstance(verifier, Answers)
        assert verifier.seen == [] and publisher.published == []
    finally:
        await client.close()
