"""The exporter's HTTP endpoints: /metrics (from Redis), /healthz, /readyz.

Any number of exporters may run: each scrape reads the store, so they all
serve the same numbers.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from collectpulse.exporter.collector import StoreCollector
from collectpulse.settings import Settings
from collectpulse.store.reader import StoreReader

log = logging.getLogger(__name__)

READER_KEY = web.AppKey("reader", StoreReader)
REDIS_KEY = web.AppKey("redis", Redis)
SETTINGS_KEY = web.AppKey("settings", Settings)
MAX_LIST_LIMIT = 10_000


async def metrics(request: web.Request) -> web.Response:
    started = time.perf_counter()
    try:
        view = await request.app[READER_KEY].read()
    except RedisError as exc:
        log.warning("scrape failed: Redis unavailable (%s)", type(exc).__name__)
        raise web.HTTPServiceUnavailable(text="store (Redis) unavailable\n") from None
    registry = CollectorRegistry(auto_describe=False)
    settings = request.app[SETTINGS_KEY]
    registry.register(StoreCollector(view, experiment_min_sample=settings.experiment_min_sample))
    body = generate_latest(registry)
    log.debug("scrape: %d bytes in %.3f s", len(body), time.perf_counter() - started)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def struggling_customers(request: web.Request) -> web.Response:
    """JSON list for agents: customers with repeated failed payments and no success in 24 h."""
    tenant = request.query.get("tenant")
    limit_text = request.query.get("limit", "100")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIST_LIMIT:
        raise web.HTTPBadRequest(text=f"limit must be an integer from 1 to {MAX_LIST_LIMIT}\n")
    try:
        view = await request.app[READER_KEY].read()
    except RedisError:
        raise web.HTTPServiceUnavailable(text="store (Redis) unavailable\n") from None
    rows = [s for s in view.struggling if tenant is None or s.tenant == tenant]
    body = {
        "as_of": view.now_s,
        "count": len(rows),
        "customers": [
            {
                "customer_id": s.customer_id,
                "tenant": s.tenant or None,
                "struggling_since": s.since_s,
            }
            for s in rows[: int(limit_text)]
        ],
    }
    return web.json_response(body)


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[REDIS_KEY].ping()
    except RedisError:
        raise web.HTTPServiceUnavailable(text="redis: unreachable\n") from None
    return web.Response(text="ready\n")


def create_web_app(settings: Settings, *, redis: Redis | None = None) -> web.Application:
    client = redis or Redis.from_url(settings.redis_url.get_secret_value())
    app = web.Application()
    app[REDIS_KEY] = client
    app[READER_KEY] = StoreReader(client, settings)
    app[SETTINGS_KEY] = settings
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/api/struggling-customers", struggling_customers)
    return app


async def serve(settings: Settings) -> web.AppRunner:
    """Start the exporter on ``http_host:http_port``; the caller keeps the runner."""
    runner = web.AppRunner(create_web_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    log.info("exporter on http://%s:%d/metrics", settings.http_host, settings.http_port)
    return runner
