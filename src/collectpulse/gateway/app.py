"""The gateway's HTTP routes: ``POST /webhooks/<provider>``, /healthz, /readyz, /metrics.

A webhook request goes through, in order: the provider enabled (else 404),
method (405), content type (415), body size (413), verification (the
verifier's refusal status: 400/401/403), then publication of the exact body
to ``raw.<provider>``. It is answered 200 only once Kafka acknowledged the
record; when Kafka (or Redis, for Mailgun tokens) cannot answer, 503 with
``Retry-After``: the providers treat most 4xx as final, so a failure of ours
is never a 4xx (docs/GATEWAY.md, "Response codes"). Answers are one short
line of text; nothing from the body, a header or a secret is echoed, and no
traceback is ever sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from collectpulse.events.providers import PROVIDERS
from collectpulse.gateway.metrics import GatewayMetrics, Outcome
from collectpulse.gateway.publish import KafkaUnavailable, Publisher
from collectpulse.gateway.tokens import RedisTokenStore
from collectpulse.gateway.verify.base import Accepted, Refusal, Verifier, WebhookRequest

log = logging.getLogger(__name__)

RETRY_AFTER_S = "30"
ALLOWED_TYPES: Mapping[str, frozenset[str]] = {
    # SNS sends its JSON envelope as text/plain unless the delivery policy says otherwise
    "ses": frozenset({"text/plain", "application/json"}),
    "sendgrid": frozenset({"application/json"}),
    "mailgun": frozenset(
        {"application/json", "application/x-www-form-urlencoded", "multipart/form-data"}
    ),
    "postmark": frozenset({"application/json"}),
    "twilio": frozenset({"application/x-www-form-urlencoded", "application/json"}),
}
#: Failures of our own dependencies while verifying (Mailgun tokens in Redis): retriable.
_DEPENDENCY_FAILURES = (RedisError, OSError, TimeoutError)

Confirm = Callable[[str], Awaitable[None]]
"""GETs an SNS SubscribeURL; raises on failure (the server answers 503, SNS retries)."""


@dataclass(frozen=True)
class Gateway:
    """Everything a request needs; built once (``gateway.server``) and passed in."""

    verifiers: Mapping[str, Verifier]
    publisher: Publisher
    metrics: GatewayMetrics
    confirm: Confirm
    max_body_bytes: int
    public_base_url: str | None = None
    tokens: RedisTokenStore | None = None
    """Mailgun's token store: tokens of a request answered 503 are released."""


GATEWAY_KEY = web.AppKey("gateway", Gateway)


def _answer(status: int, text: str, **headers: str) -> web.Response:
    return web.Response(status=status, text=f"{text}\n", headers=headers)


async def webhook(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY_KEY]
    provider = request.match_info["provider"]
    gateway.metrics.in_flight.inc()
    if gateway.tokens is not None:
        gateway.tokens.begin()
    try:
        outcome, response = await _handle(gateway, provider, request)
    except Exception:
        # A bug of ours is a 503 the provider retries (after a fix it lands), never a
        # 500 with a traceback; the traceback goes to the log only.
        log.exception("gateway: %s: unexpected error", provider)
        outcome, response = "error", _unavailable("internal error")
    finally:
        gateway.metrics.in_flight.dec()
    if response.status == 503 and gateway.tokens is not None:
        await _release_tokens(gateway.tokens, provider)
    gateway.metrics.requests.labels(provider, outcome).inc()
    return response


async def _release_tokens(tokens: RedisTokenStore, provider: str) -> None:
    try:
        await tokens.release_claimed()
    except _DEPENDENCY_FAILURES as exc:
        # the retry will be refused as a replay: say so, it is the one way to lose it
        log.error(
            "gateway: %s: a token of a request answered 503 could not be released (%s); "
            "its retry will be refused as replayed",
            provider,
            type(exc).__name__,
        )


async def _handle(
    gateway: Gateway, provider: str, request: web.Request
) -> tuple[Outcome, web.Response]:
    verifier = gateway.verifiers.get(provider)
    if verifier is None:
        return "disabled", _answer(404, f"provider {provider} not configured on this gateway")
    if request.method != "POST":
        return "rejected", _answer(405, "only POST is accepted", Allow="POST")
    if request.content_type not in ALLOWED_TYPES[provider]:
        allowed = ", ".join(sorted(ALLOWED_TYPES[provider]))
        return "rejected", _answer(415, f"content type must be one of: {allowed}")
    length = request.content_length
    if length is not None and length > gateway.max_body_bytes:
        return "rejected", _too_large(gateway)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return "rejected", _too_large(gateway)
    if not body:
        return "rejected", _answer(400, "empty body")
    incoming = WebhookRequest(
        provider=provider,
        method=request.method,
        public_url=_public_url(gateway.public_base_url, request),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        received_s=time.time(),
    )
    try:
        verdict = await verifier.verify(incoming)
    except _DEPENDENCY_FAILURES as exc:
        log.warning("gateway: %s: cannot verify now: %s", provider, type(exc).__name__)
        return "unavailable", _unavailable("verification dependency unavailable")
    if isinstance(verdict, Refusal):
        return _refused(gateway, provider, verdict)
    return await _accepted(gateway, provider, verdict, body)


def _refused(gateway: Gateway, provider: str, refusal: Refusal) -> tuple[Outcome, web.Response]:
    gateway.metrics.verification_failures.labels(provider, refusal.reason).inc()
    log.info("gateway: %s: refused (%s): %s", provider, refusal.reason, refusal.detail)
    # a refusal for a failure of ours (the SNS certificate could not be fetched) is retried
    retry = {"Retry-After": RETRY_AFTER_S} if refusal.status == 503 else {}
    return "refused", _answer(refusal.status, f"refused: {refusal.reason}", **retry)


async def _accepted(
    gateway: Gateway, provider: str, verdict: Accepted, body: bytes
) -> tuple[Outcome, web.Response]:
    if not verdict.publish:
        if verdict.confirm_url is not None:
            try:
                await gateway.confirm(verdict.confirm_url)
            except Exception as exc:  # any failure: SNS retries the handshake
                log.warning("gateway: %s: subscription confirmation failed: %s", provider, exc)
                return "unavailable", _unavailable("subscription confirmation failed")
            log.info("gateway: %s: subscription confirmed", provider)
        return "handshake", _answer(200, "ok")
    started = time.perf_counter()
    try:
        await gateway.publisher.publish(provider, verdict.key, body)
    except KafkaUnavailable as exc:
        log.warning("gateway: %s: not published, answered 503: %s", provider, exc)
        return "unavailable", _unavailable("Kafka did not acknowledge the event")
    finally:
        gateway.metrics.publish_seconds.labels(provider).observe(time.perf_counter() - started)
    return "accepted", _answer(200, "ok")


def _too_large(gateway: Gateway) -> web.Response:
    return _answer(413, f"body larger than {gateway.max_body_bytes} bytes")


def _unavailable(text: str) -> web.Response:
    return _answer(503, f"{text}; retry later", **{"Retry-After": RETRY_AFTER_S})


def _public_url(base: str | None, request: web.Request) -> str:
    """The URL the provider called: behind a TLS-terminating proxy the configured public
    base, else what this request arrived on; the path and query as sent (raw)."""
    origin = base.rstrip("/") if base else f"{request.scheme}://{request.host}"
    return origin + request.raw_path


async def healthz(request: web.Request) -> web.Response:
    return _answer(200, "ok")


async def readyz(request: web.Request) -> web.Response:
    """Ready when the producer is connected and every served raw topic's partitions known."""
    problems = await request.app[GATEWAY_KEY].publisher.readiness_problems()
    if problems:
        return _answer(503, "\n".join(problems))
    return _answer(200, "ready")


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[GATEWAY_KEY].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(gateway: Gateway, *, middlewares: tuple[object, ...] = ()) -> web.Application:
    """The gateway's routes over ``gateway``; ``middlewares`` first (e.g. basic auth)."""
    app = web.Application(
        middlewares=list(middlewares),  # type: ignore[arg-type]
        client_max_size=gateway.max_body_bytes,
    )
    app[GATEWAY_KEY] = gateway
    gateway.metrics.declare(PROVIDERS)
    for provider in PROVIDERS:
        app.router.add_route("*", f"/webhooks/{{provider:{provider}}}", webhook)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app
