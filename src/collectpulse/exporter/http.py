"""The exporter's HTTP endpoints: /metrics (from Redis), /healthz, /readyz, the agents' API,
and the live page (``ui.routes``: /, /api/live, /struggling).

Any number of exporters may run: each reads the store, so they all serve the
same numbers. A store read is shared by the scrapes of one second
(``ViewCache``), so two Prometheus replicas cost one read. Every wait on Redis
or Kafka is bounded: a dependency that hangs turns into a 503 or a
``collectpulse_dependency_up`` of 0, never into a hanging request.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError

from collectpulse.api import routes as api_routes
from collectpulse.dependencies import Dependencies, describe
from collectpulse.exporter.basicauth import BasicAuth
from collectpulse.exporter.broker import Broker, BrokerUnavailable, LogPositions
from collectpulse.exporter.collector import SummedText, computed_families, summed_families
from collectpulse.exporter.exposition import render
from collectpulse.exporter.health import HealthCollector, Probes, readiness_problems
from collectpulse.exporter.webconfig import WebConfig, load_web_config
from collectpulse.settings import Settings
from collectpulse.store.client import StoreClient, store_client
from collectpulse.store.heartbeats import WorkerBeat
from collectpulse.store.reader import StoreReader, StoreView
from collectpulse.ui import routes as ui_routes

log = logging.getLogger(__name__)

VIEW_MAX_AGE_S = 1.0
REDIS_TIMEOUT_S = 5.0
"""Bound on one store read (Prometheus' default scrape timeout is 10 s)."""
PING_TIMEOUT_S = 2.0
MAX_LIST_LIMIT = 10_000
# ASCII digits only and a few of them: str.isdigit() also accepts "²", which int() rejects,
# and int() refuses strings of more than 4300 digits.
_LIMIT_TEXT = re.compile(r"[0-9]{1,9}")


class ViewCache:
    """The latest StoreView, re-read when older than ``max_age_s``, and its rendered KPIs;
    concurrent callers share one read and one render. Failures are not cached."""

    def __init__(
        self,
        reader: StoreReader,
        *,
        max_age_s: float = VIEW_MAX_AGE_S,
        timeout_s: float = REDIS_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        dependencies: Dependencies | None = None,
    ) -> None:
        self.reader = reader
        self._deps = dependencies
        self._max_age_s = max_age_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._lock = asyncio.Lock()
        self._view: StoreView | None = None
        self._read_at = 0.0
        self._render_lock = asyncio.Lock()
        self._body: tuple[StoreView, bytes] | None = None
        self.summed_text = SummedText()
        """Reused across views while the store does not move (``StoreView.summed``)."""

    async def read(self) -> StoreView:
        """Raises RedisError, OSError or TimeoutError when the store cannot be read."""
        async with self._lock:
            if self._view is None or self._clock() - self._read_at >= self._max_age_s:
                # reported here, where Redis is read: a cached view says nothing about now
                ticket = self._deps.attempt() if self._deps else 0
                try:
                    async with asyncio.timeout(self._timeout_s):
                        self._view = await self.reader.read()
                except _STORE_FAILURES as exc:
                    if self._deps:
                        self._deps.failed("redis", describe(exc), ticket)
                    raise
                if self._deps:
                    self._deps.worked("redis", ticket)
                self._read_at = self._clock()
            return self._view

    async def body(self, view: StoreView, render: Callable[[StoreView], bytes]) -> bytes:
        """``render(view)``, computed once per view in a worker thread so the event loop
        keeps answering /healthz and /readyz during a large render."""
        async with self._render_lock:
            if self._body is None or self._body[0] is not view:
                self._body = (view, await asyncio.to_thread(render, view))
            return self._body[1]


VIEW_KEY = web.AppKey("view", ViewCache)
BROKER_KEY = web.AppKey("broker", Broker)
REDIS_KEY: web.AppKey[StoreClient] = web.AppKey("redis")
SETTINGS_KEY = web.AppKey("settings", Settings)
DEPENDENCIES_KEY = web.AppKey("dependencies", Dependencies)
_STORE_FAILURES = (RedisError, OSError, TimeoutError)


async def metrics(request: web.Request) -> web.Response:
    started = time.perf_counter()
    app = request.app
    view_or_error, positions_or_error = await asyncio.gather(
        _view_or_error(app[VIEW_KEY]), _positions_or_error(app[BROKER_KEY])
    )
    view = view_or_error if isinstance(view_or_error, StoreView) else None
    probes = Probes(
        redis_error=view_or_error if isinstance(view_or_error, str) else None,
        kafka_error=positions_or_error if isinstance(positions_or_error, str) else None,
        positions=positions_or_error if isinstance(positions_or_error, LogPositions) else None,
    )
    kpis = b""
    if view is not None:
        min_sample = app[SETTINGS_KEY].experiment_min_sample
        cache = app[VIEW_KEY]
        render_view = partial(render_kpis, min_sample=min_sample, summed=cache.summed_text)
        kpis = await cache.body(view, render_view)
    health = render(HealthCollector(view, probes, now_s=time.time()).collect())
    body = kpis + health
    log.debug("scrape: %d bytes in %.3f s", len(body), time.perf_counter() - started)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def render_kpis(view: StoreView, *, min_sample: int, summed: SummedText | None = None) -> bytes:
    """The KPI families' text, the summed ones from ``summed`` when it holds them."""
    text = summed.render(view) if summed is not None else render(summed_families(view))
    return text + render(computed_families(view, experiment_min_sample=min_sample))


async def _view_or_error(cache: ViewCache) -> StoreView | str:
    try:
        return await cache.read()
    except _STORE_FAILURES as exc:
        # logged once per outage by the cache's Dependencies, not once per scrape
        return type(exc).__name__


async def _positions_or_error(broker: Broker) -> LogPositions | str:
    try:
        return await broker.positions()
    except BrokerUnavailable as exc:
        return str(exc)


async def struggling_customers(request: web.Request) -> web.Response:
    """JSON list for agents: customers with repeated failed payments and no success in 24 h."""
    tenant = request.query.get("tenant")
    limit_text = request.query.get("limit", "100")
    if not _LIMIT_TEXT.fullmatch(limit_text) or not 1 <= int(limit_text) <= MAX_LIST_LIMIT:
        raise web.HTTPBadRequest(text=f"limit must be an integer from 1 to {MAX_LIST_LIMIT}\n")
    try:
        view = await request.app[VIEW_KEY].read()
    except _STORE_FAILURES:
        raise web.HTTPServiceUnavailable(text="store (Redis) unavailable\n") from None
    return web.json_response(ui_routes.struggling_body(view, tenant, int(limit_text)))


async def healthz(request: web.Request) -> web.Response:
    """The process is alive and serving; says nothing about its dependencies."""
    return web.Response(text="ok\n")


async def readyz(request: web.Request) -> web.Response:
    """Ready when Redis answers, Kafka answers and a live worker has partitions assigned."""
    app = request.app
    deps = app[DEPENDENCIES_KEY]
    ticket = deps.attempt()
    (redis_error, beats), kafka_error = await asyncio.gather(
        _redis_and_beats(app[REDIS_KEY], app[VIEW_KEY].reader), _kafka_error(app[BROKER_KEY])
    )
    for name, error in (("redis", redis_error), ("kafka", kafka_error)):
        if error is None:
            deps.worked(name, ticket)
        else:
            deps.failed(name, error, ticket)
    probes = Probes(redis_error=redis_error, kafka_error=kafka_error)
    problems = readiness_problems(probes, beats, time.time())
    if problems:
        raise web.HTTPServiceUnavailable(text="".join(f"{p}\n" for p in problems))
    return web.Response(text="ready\n")


async def _redis_and_beats(
    client: StoreClient, reader: StoreReader
) -> tuple[str | None, tuple[WorkerBeat, ...] | None]:
    try:
        async with asyncio.timeout(PING_TIMEOUT_S):
            await client.ping()
            return None, await reader.heartbeats()
    except TimeoutError:
        return "no answer within the timeout", None
    except (RedisError, OSError) as exc:
        return type(exc).__name__, None


async def _kafka_error(broker: Broker) -> str | None:
    try:
        await broker.ping()
    except BrokerUnavailable as exc:
        return str(exc)
    return None


def create_web_app(
    settings: Settings,
    *,
    redis: StoreClient | None = None,
    broker: Broker | None = None,
    view_max_age_s: float = VIEW_MAX_AGE_S,
    users: Mapping[str, bytes] | None = None,
) -> web.Application:
    """The exporter's endpoints; with ``users`` (name -> bcrypt hash) every one of them,
    /healthz included, needs basic auth."""
    client = redis or store_client(settings)
    middlewares = [BasicAuth(users).middleware] if users else []
    app = web.Application(middlewares=middlewares)
    app[REDIS_KEY] = client
    deps = Dependencies(log)
    app[DEPENDENCIES_KEY] = deps
    app[VIEW_KEY] = ViewCache(
        StoreReader(client, settings), max_age_s=view_max_age_s, dependencies=deps
    )
    app[BROKER_KEY] = broker or Broker(settings, dependencies=deps)
    app[SETTINGS_KEY] = settings
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/api/struggling-customers", struggling_customers)
    api_routes.add_routes(app, client, settings)
    ui_routes.add_routes(
        app,
        ui_routes.LiveSource(app[VIEW_KEY].read, app[BROKER_KEY].positions, client, settings),
    )

    async def close_clients(app: web.Application) -> None:
        await app[BROKER_KEY].close()
        if redis is None:
            await client.aclose()

    app.on_cleanup.append(close_clients)
    return app


async def serve(settings: Settings) -> web.AppRunner:
    """Start the exporter on ``http_host:http_port``; the caller keeps the runner.

    Raises ``WebConfigError`` when ``http_web_config_file`` cannot be used.
    """
    config = _web_config(settings)
    runner = web.AppRunner(create_web_app(settings, users=config.users), access_log=None)
    await runner.setup()
    site = web.TCPSite(
        runner, settings.http_host, settings.http_port, ssl_context=config.ssl_context()
    )
    await site.start()
    log.info(
        "exporter on %s (TLS %s, basic auth %s)",
        metrics_url(settings, config),
        "on" if config.tls else "off",
        "on" if config.users else "off",
    )
    return runner


def _web_config(settings: Settings) -> WebConfig:
    path = settings.http_web_config_file
    return load_web_config(path) if path is not None else WebConfig(source=Path("(none)"))


def metrics_url(settings: Settings, config: WebConfig | None = None) -> str:
    config = config or _web_config(settings)
    scheme = "https" if config.tls else "http"
    return f"{scheme}://{settings.http_host}:{settings.http_port}/metrics"
