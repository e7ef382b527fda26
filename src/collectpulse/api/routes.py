"""The ``/api/v1`` routes on the exporter's web app."""

from __future__ import annotations

import json
import time
from http import HTTPStatus

from aiohttp import web
from redis.exceptions import RedisError

from collectpulse.api import engagement
from collectpulse.api.openapi import document
from collectpulse.settings import Settings, duration_s
from collectpulse.store.client import StoreClient
from collectpulse.store.keys import Keys

MAX_ID_CHARS = 128
"""As the event contract's ids (``events.models.Id``)."""

CLIENT_KEY: web.AppKey[StoreClient] = web.AppKey("api_store_client")
SETTINGS_KEY = web.AppKey("api_settings", Settings)


def add_routes(app: web.Application, client: StoreClient, settings: Settings) -> None:
    app[CLIENT_KEY] = client
    app[SETTINGS_KEY] = settings
    app.router.add_get("/api/v1/openapi.json", openapi)
    app.router.add_get("/api/v1/customers/{customer_id}/engagement", customer_engagement)


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document())


async def customer_engagement(request: web.Request) -> web.Response:
    """What the customer received, opened, clicked and viewed, and their last payment and
    promise, over the engagement history (30 days by default)."""
    customer_id = request.match_info["customer_id"]
    if not 1 <= len(customer_id) <= MAX_ID_CHARS or not customer_id.isprintable():
        # the id is not echoed: it may be personal data
        raise _problem(
            web.HTTPBadRequest, f"customer id must be 1-{MAX_ID_CHARS} printable characters"
        )
    unknown = sorted(set(request.query))
    if unknown:
        raise _problem(web.HTTPBadRequest, f"unknown query parameters: {', '.join(unknown)}")
    settings = request.app[SETTINGS_KEY]
    client = request.app[CLIENT_KEY]
    history_s = duration_s(settings.engagement_history)
    now_s = int(time.time())
    try:
        keys = Keys(settings.key_prefix)
        partitions = sorted(int(p) for p in await client.smembers(keys.partitions()))
        facts = await engagement.read_facts(client, keys, customer_id, partitions, now_s, history_s)
    except (RedisError, OSError):
        raise _problem(web.HTTPServiceUnavailable, "store (Redis) unavailable") from None
    return web.json_response(engagement.engagement_body(customer_id, facts, now_s, history_s))


def _problem(kind: type[web.HTTPException], detail: str) -> web.HTTPException:
    """An RFC 9457 problem document, so a client tells our errors from a proxy's."""
    status = HTTPStatus(kind.status_code)
    body = {"title": status.phrase, "status": status.value, "detail": detail}
    return kind(text=json.dumps(body), content_type="application/problem+json")
