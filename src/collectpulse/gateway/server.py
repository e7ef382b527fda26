"""``collectpulse gateway``: build the gateway from ``Settings`` and serve it until stopped.

TLS and basic auth come from ``COLLECTPULSE_GATEWAY_WEB_CONFIG_FILE``, the same
file format (and loader) as the exporter's web config. On SIGTERM the listener
closes, requests in flight finish (their Kafka acknowledgements included),
then the producer is flushed and closed: nothing accepted is dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from collectpulse.exporter.basicauth import BasicAuth
from collectpulse.exporter.webconfig import WebConfig, load_web_config
from collectpulse.gateway.app import Confirm, Gateway, create_app
from collectpulse.gateway.config import Providers, build_providers
from collectpulse.gateway.confirm import SubscriptionConfirmer
from collectpulse.gateway.metrics import GatewayMetrics
from collectpulse.gateway.publish import Publisher
from collectpulse.gateway.tokens import RedisTokenStore
from collectpulse.gateway.verify.base import CertFetcher
from collectpulse.gateway.verify.certs import HttpCertFetcher
from collectpulse.kafka.topics import RAW_PREFIX
from collectpulse.settings import Settings
from collectpulse.store.client import StoreClient, store_client
from collectpulse.store.keys import Keys

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 30.0
"""How long requests in flight may take to finish after SIGTERM."""


def raw_topics(settings: Settings, providers: tuple[str, ...]) -> dict[str, str]:
    """provider -> its raw topic, named exactly as the normalisers (and ``topics create``)."""
    return {provider: settings.topic(RAW_PREFIX + provider) for provider in providers}


def web_config(settings: Settings) -> WebConfig:
    """Raises ``WebConfigError`` when the file cannot be used."""
    path = settings.gateway_web_config_file
    return load_web_config(path) if path is not None else WebConfig(source=Path("(none)"))


@dataclass
class Built:
    """A gateway application and the clients it owns (closed by ``close``)."""

    app: web.Application
    gateway: Gateway
    providers: Providers
    redis: StoreClient
    certs: HttpCertFetcher | None

    async def close(self) -> None:
        await self.gateway.publisher.close()
        await self.redis.aclose()
        if self.certs is not None:
            await self.certs.close()


def build(
    settings: Settings,
    *,
    metrics: GatewayMetrics | None = None,
    certs: CertFetcher | None = None,
    confirm: Confirm | None = None,
    config: WebConfig | None = None,
) -> Built:
    """Everything from ``settings``; ``certs`` and ``confirm`` may be replaced (tests)."""
    redis = store_client(settings)
    tokens = RedisTokenStore(redis, Keys(settings.key_prefix))
    fetcher = None
    if certs is None:
        certs = fetcher = HttpCertFetcher()
    providers = build_providers(settings, tokens=tokens, certs=certs)
    publisher = Publisher(
        settings,
        raw_topics(settings, tuple(providers.verifiers)),
        timeout_s=settings.gateway_publish_timeout_s,
        max_body_bytes=settings.gateway_max_body_bytes,
    )
    gateway = Gateway(
        verifiers=providers.verifiers,
        publisher=publisher,
        metrics=metrics or GatewayMetrics(),
        confirm=confirm or SubscriptionConfirmer(settings.gateway_sns_cert_host_pattern),
        max_body_bytes=settings.gateway_max_body_bytes,
        public_base_url=settings.gateway_public_base_url,
        tokens=tokens,
    )
    users = (config or WebConfig(source=Path("(none)"))).users
    middlewares = (BasicAuth(users).middleware,) if users else ()
    app = create_app(gateway, middlewares=middlewares)

    async def start_publisher(app: web.Application) -> None:
        publisher.start()

    app.on_startup.append(start_publisher)
    return Built(app, gateway, providers, redis, fetcher)


def gateway_url(settings: Settings, config: WebConfig) -> str:
    scheme = "https" if config.tls else "http"
    return f"{scheme}://{settings.gateway_host}:{settings.gateway_port}"


async def serve(settings: Settings, config: WebConfig) -> tuple[web.AppRunner, Built]:
    """Start listening on ``gateway_host:gateway_port``; the caller keeps the runner and
    calls ``runner.cleanup()`` then ``built.close()`` to stop."""
    built = build(settings, config=config)
    for line in built.providers.startup_lines():
        (log.warning if "UNSIGNED" in line or "disabled" in line else log.info)("gateway: %s", line)
    if not built.providers.verifiers:
        log.warning("gateway: no provider is enabled; every webhook is answered 404")
    runner = web.AppRunner(built.app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_S)
    await runner.setup()
    site = web.TCPSite(
        runner, settings.gateway_host, settings.gateway_port, ssl_context=config.ssl_context()
    )
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        await built.close()
        raise
    log.info(
        "gateway on %s (TLS %s, basic auth %s)",
        gateway_url(settings, config),
        "on" if config.tls else "off",
        "on" if config.users else "off",
    )
    return runner, built
