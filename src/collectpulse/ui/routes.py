"""The live page's routes on the exporter: /, /api/live, /api/live/events, /struggling, /static.

They sit behind the exporter's own middlewares and TLS, so the page has the same
basic auth as /metrics. Reads go through the exporter's shared view cache (one
store read per second whatever the number of viewers); the per-minute buckets
are cached the same way here.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from collectpulse.exporter.broker import BrokerUnavailable, LogPositions
from collectpulse.exporter.health import Probes
from collectpulse.settings import Settings
from collectpulse.store.client import StoreClient
from collectpulse.store.keys import Keys
from collectpulse.store.reader import StoreView
from collectpulse.store.series import BucketSeries, read_bucket_series
from collectpulse.ui import render
from collectpulse.ui.model import SERIES_COUNTERS, SERIES_MINUTES, BadQuery, Filters, live_model

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
EVENT_POLL_S = 0.2
"""How often an event stream looks for a newer store view (the cache re-reads it each second)."""
STRUGGLING_PAGE_LIMIT = 1000
_FAILURES = (RedisError, OSError, TimeoutError)


class LiveSource:
    """What the page reads: the exporter's cached store view and broker positions, and the
    per-minute buckets read along with each new view."""

    def __init__(
        self,
        read_view: Callable[[], Awaitable[StoreView]],
        positions: Callable[[], Awaitable[LogPositions]],
        redis: StoreClient,
        settings: Settings,
    ) -> None:
        self.read_view = read_view
        self._positions = positions
        self._redis = redis
        self.settings = settings
        self._keys = Keys(settings.key_prefix)
        self._lock = asyncio.Lock()
        self._series: tuple[StoreView, BucketSeries] | None = None

    async def probes(self) -> Probes:
        try:
            return Probes(positions=await self._positions())
        except BrokerUnavailable as exc:  # the page shows Kafka down and no lag
            return Probes(kafka_error=str(exc))

    async def series(self, view: StoreView) -> BucketSeries:
        """The buckets read with ``view``: once per view, whatever the number of viewers."""
        async with self._lock:
            if self._series is None or self._series[0] is not view:
                step_s = self.settings.bucket_s
                fresh = await read_bucket_series(
                    self._redis,
                    self._keys,
                    view.partitions,
                    SERIES_COUNTERS,
                    now_s=view.now_s,
                    step_s=step_s,
                    count=max(SERIES_MINUTES * 60 // step_s, 1),
                )
                self._series = (view, fresh)
            return self._series[1]

    async def model(self, query: dict[str, str], view: StoreView | None = None) -> dict[str, Any]:
        """Raises BadQuery for a bad window, RedisError/OSError/TimeoutError for the store."""
        view = view or await self.read_view()
        series, probes = await asyncio.gather(self.series(view), self.probes())
        window = query.get("window") or next(iter(self.settings.windows))
        return live_model(
            view,
            window=window,
            filters=Filters.from_query(query),
            min_sample=self.settings.experiment_min_sample,
            horizon=self.settings.experiment_horizon,
            series=series,
            probes=probes,
        )


LIVE_KEY = web.AppKey("live", LiveSource)


async def live_page(request: web.Request) -> web.Response:
    model = await _model_or_http_error(request)
    return web.Response(text=render.live_page(model), content_type="text/html")


async def live_json(request: web.Request) -> web.Response:
    return web.json_response(await _model_or_http_error(request))


async def live_events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: ``event: model`` with the rendered fragment and the series each
    time the shared store view is re-read (about every second while anyone looks); a
    store failure sends ``event: unavailable`` and the stream keeps trying."""
    source = request.app[LIVE_KEY]
    query = dict(request.query)
    try:
        await source.model(query)
    except BadQuery as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None
    except _FAILURES:
        pass  # reported in the stream
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    sent: StoreView | None = None
    while True:
        message, delay_s = "", EVENT_POLL_S
        try:
            view = await source.read_view()
            if view is not sent:
                model = await source.model(query, view)
                data = json.dumps({"html": render.live_fragment(model), "series": model["series"]})
                message = f"event: model\nid: {model['as_of']}\ndata: {data}\n\n"
                sent = view
        except _FAILURES as exc:
            message = f"event: unavailable\ndata: {json.dumps(type(exc).__name__)}\n\n"
            sent, delay_s = None, 1.0
        try:
            if message:
                await response.write(message.encode())
        except ConnectionError:
            return response
        await asyncio.sleep(delay_s)


async def struggling_page(request: web.Request) -> web.Response:
    tenant = request.query.get("tenant") or None
    try:
        view = await request.app[LIVE_KEY].read_view()
    except _FAILURES:
        raise web.HTTPServiceUnavailable(text="store (Redis) unavailable\n") from None
    body = struggling_body(view, tenant)
    if request.query.get("fragment"):
        return web.Response(text=render.struggling_fragment(body), content_type="text/html")
    tenants = sorted({s.tenant for s in view.struggling if s.tenant})
    return web.Response(
        text=render.struggling_page(body, tenant, tenants), content_type="text/html"
    )


def struggling_body(
    view: StoreView, tenant: str | None, limit: int = STRUGGLING_PAGE_LIMIT
) -> dict[str, Any]:
    """/api/struggling-customers and the /struggling page: up to ``limit`` rows."""
    rows = [s for s in view.struggling if tenant is None or s.tenant == tenant]
    return {
        "as_of": view.now_s,
        "count": len(rows),
        "customers": [
            {
                "customer_id": s.customer_id,
                "tenant": s.tenant or None,
                "struggling_since": s.since_s,
            }
            for s in rows[:limit]
        ],
    }


async def _model_or_http_error(request: web.Request) -> dict[str, Any]:
    try:
        return await request.app[LIVE_KEY].model(dict(request.query))
    except BadQuery as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None
    except _FAILURES:
        raise web.HTTPServiceUnavailable(text="store (Redis) unavailable\n") from None


def add_routes(app: web.Application, source: LiveSource) -> None:
    """Wire the page into the exporter's application."""
    app[LIVE_KEY] = source
    app.router.add_get("/", live_page)
    app.router.add_get("/api/live", live_json)
    app.router.add_get("/api/live/events", live_events)
    app.router.add_get("/struggling", struggling_page)
    app.router.add_static("/static/", STATIC_DIR)
