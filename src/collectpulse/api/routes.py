"""The ``/api/v1`` routes on the exporter's web app."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from http import HTTPStatus

from aiohttp import web
from redis.exceptions import RedisError

from collectpulse.api import agents, engagement, portfolio, send_time, targets
from collectpulse.api.openapi import document
from collectpulse.settings import Settings, duration_s
from collectpulse.store.account_reader import read_accounts
from collectpulse.store.allocation_reader import read_allocation
from collectpulse.store.client import StoreClient
from collectpulse.store.keys import Keys
from collectpulse.store.scripts import Scripts
from collectpulse.store.send_time import read_slots
from collectpulse.zones import local_date, zone

MAX_ID_CHARS = 128
"""As the event contract's ids (``events.models.Id``)."""

CLIENT_KEY: web.AppKey[StoreClient] = web.AppKey("api_store_client")
SETTINGS_KEY = web.AppKey("api_settings", Settings)
SCRIPTS_KEY = web.AppKey("api_scripts", Scripts)


def add_routes(app: web.Application, client: StoreClient, settings: Settings) -> None:
    app[CLIENT_KEY] = client
    app[SETTINGS_KEY] = settings
    app[SCRIPTS_KEY] = Scripts(client)
    app.router.add_get("/api/v1/openapi.json", openapi)
    app.router.add_get("/api/v1/customers/{customer_id}/engagement", customer_engagement)
    app.router.add_get("/api/v1/agents", agents_table)
    app.router.add_get("/api/v1/collected-per-account", collected_per_account)
    app.router.add_get("/api/v1/recovery", recovery)
    app.router.add_get("/api/v1/send-time", send_time_grid)
    app.router.add_get("/api/v1/targets", targets_table)


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


async def agents_table(request: web.Request) -> web.Response:
    """Every agent's attempts, promises and collections in one window (the complete
    table: Prometheus shows only the agents under the label cap)."""
    settings = request.app[SETTINGS_KEY]
    query = request.query
    unknown = sorted(set(query) - _AGENT_PARAMS)
    if unknown:
        raise _problem(web.HTTPBadRequest, f"unknown query parameters: {', '.join(unknown)}")
    window = query.get("window", next(iter(settings.windows)))
    if window not in settings.windows:
        raise _problem(web.HTTPBadRequest, f"window must be one of {', '.join(settings.windows)}")
    limit = _int_param(query, "limit", 100, 1, agents.MAX_LIMIT)
    offset = _int_param(query, "offset", 0, 0, 10**9)
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise _problem(web.HTTPBadRequest, "order must be asc or desc")
    tenant = query.get("tenant")
    client = request.app[CLIENT_KEY]
    keys = Keys(settings.key_prefix)
    now_s = int(time.time())
    try:
        partitions = sorted(int(p) for p in await client.smembers(keys.partitions()))
        open_accounts = await agents.read_open_accounts(client, keys, partitions)
        ledger = await agents.read_ledger(
            request.app[SCRIPTS_KEY],
            keys,
            partitions,
            now_s,
            duration_s(window),
            settings.bucket_s,
        )
    except (RedisError, OSError):
        raise _problem(web.HTTPServiceUnavailable, "store (Redis) unavailable") from None
    rows = agents.agent_rows(ledger, tenant, open_accounts)
    try:
        shown = agents.page(
            rows,
            sort=query.get("sort", "collected_amount_minor"),
            descending=order == "desc",
            offset=offset,
            limit=limit,
        )
    except agents.BadQuery as exc:
        raise _problem(web.HTTPBadRequest, str(exc)) from None
    body = {
        "window": window,
        "as_of": datetime.fromtimestamp(now_s, UTC).isoformat().replace("+00:00", "Z"),
        "total": len(rows),
        "offset": offset,
        "limit": limit,
        "agents": shown,
    }
    return web.json_response(body)


async def send_time_grid(request: web.Request) -> web.Response:
    """K21: delivered, human-opened, clicked and paid messages per campaign by local send
    weekday and hour (observational; a best-time claim needs a randomized experiment)."""
    settings = request.app[SETTINGS_KEY]
    try:
        window, filters = send_time.parse_query(request.query)
    except send_time.BadQuery as exc:
        raise _problem(web.HTTPBadRequest, str(exc)) from None
    client = request.app[CLIENT_KEY]
    keys = Keys(settings.key_prefix)
    now_s = int(time.time())
    try:
        partitions = sorted(int(p) for p in await client.smembers(keys.partitions()))
        scripts = request.app[SCRIPTS_KEY]
        slots = await read_slots(scripts, keys, partitions, now_s, by_campaign=True)
    except (RedisError, OSError):
        raise _problem(web.HTTPServiceUnavailable, "store (Redis) unavailable") from None
    body = send_time.send_time_body(
        window,
        now_s,
        slots.get(window, {}),
        filters,
        settings.tenant_time_zones,
        settings.default_time_zone,
    )
    return web.json_response(body)


async def targets_table(request: web.Request) -> web.Response:
    """Each target in force with its period-to-date actual and attainment (K24)."""
    query = request.query
    unknown = sorted(set(query) - {"tenant", "scope"})
    if unknown:
        raise _problem(web.HTTPBadRequest, f"unknown query parameters: {', '.join(unknown)}")
    scope = query.get("scope")
    if scope is not None and scope not in targets.SCOPES:
        raise _problem(web.HTTPBadRequest, f"scope must be one of {', '.join(targets.SCOPES)}")
    now_s = int(time.time())
    try:
        rows = await targets.target_rows(request.app[CLIENT_KEY], request.app[SETTINGS_KEY], now_s)
    except (RedisError, OSError):
        raise _problem(web.HTTPServiceUnavailable, "store (Redis) unavailable") from None
    tenant = query.get("tenant")
    shown = [
        row
        for row in rows
        if (tenant is None or row["tenant"] == tenant) and (scope is None or row["scope"] == scope)
    ]
    as_of = datetime.fromtimestamp(now_s, UTC).isoformat().replace("+00:00", "Z")
    return web.json_response({"as_of": as_of, "total": len(shown), "targets": shown})


_AGENT_PARAMS = frozenset({"window", "tenant", "sort", "order", "limit", "offset"})


def _int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise _problem(web.HTTPBadRequest, f"{name} must be an integer from {low} to {high}")
    return int(text)


async def collected_per_account(request: web.Request) -> web.Response:
    """K10 per tenant and currency in one window, with p50 and p90 per account."""
    query = _only(request, {"window", "tenant"})
    window = query.get("window", "30d")
    if window not in portfolio.WINDOWS:
        raise _problem(web.HTTPBadRequest, f"window must be one of {', '.join(portfolio.WINDOWS)}")
    settings, client = request.app[SETTINGS_KEY], request.app[CLIENT_KEY]
    keys, now_s = Keys(settings.key_prefix), int(time.time())
    try:
        partitions = sorted(int(p) for p in await client.smembers(keys.partitions()))
        accounts = await read_accounts(client, keys, partitions, now_s)
        totals = await read_allocation(client, keys, partitions, now_s)
        per_account = await portfolio.read_per_account(client, keys, partitions, now_s)
    except (RedisError, OSError):
        raise _problem(web.HTTPServiceUnavailable, "store (Redis) unavailable") from None
    today = _tenant_today(settings, now_s)
    rows = portfolio.collected_rows(
        window, totals, accounts, per_account, today, query.get("tenant")
    )
    return web.json_response({"window": window, "as_of": _iso(now_s), "rows": rows})


async def recovery(request: web.Request) -> web.Response:
    """K16 per tenant, currency and placement month of the last 12, with its age curve."""
    query = _only(request, {"tenant"})
    settings, client = request.app[SETTINGS_KEY], request.app[CLIENT_KEY]
    keys, now_s = Keys(settings.key_prefix), int(time.time())
    try:
        partitions = sorted(int(p) for p in await client.smembers(keys.partitions()))
        totals = await read_allocation(client, keys, partitions, now_s)
    except (RedisError, OSError):
        raise _problem(web.HTTPServiceUnavailable, "store (Redis) unavailable") from None
    rows = portfolio.recovery_rows(totals, _tenant_today(settings, now_s), query.get("tenant"))
    return web.json_response({"as_of": _iso(now_s), "cohorts": rows})


def _only(request: web.Request, allowed: set[str]) -> Mapping[str, str]:
    unknown = sorted(set(request.query) - allowed)
    if unknown:
        raise _problem(web.HTTPBadRequest, f"unknown query parameters: {', '.join(unknown)}")
    return request.query


def _tenant_today(settings: Settings, now_s: int) -> portfolio.TenantToday:
    def today(tenant: str) -> date:
        name = settings.tenant_time_zones.get(tenant, settings.default_time_zone)
        return local_date(now_s, zone(name))

    return today


def _iso(now_s: int) -> str:
    return datetime.fromtimestamp(now_s, UTC).isoformat().replace("+00:00", "Z")
