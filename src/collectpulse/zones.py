"""Tenant time zones: the local date and hour a tenant's numbers are read in.

Days past due (K9, K17, K18), calendar periods (K24) and the send hour and weekday
(K21) are local to the tenant. ``COLLECTPULSE_TENANT_TIME_ZONES`` maps tenants to IANA
zones (``acme=Europe/Berlin,globex=America/New_York``); a tenant not named reads in
``COLLECTPULSE_DEFAULT_TIME_ZONE`` (UTC unless set).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=256)
def zone(name: str) -> tzinfo:
    """The zone named ``name`` (IANA); ValueError naming it when the system has none."""
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name, e.g. Europe/Berlin)"
        ) from exc


def parse_tenant_zones(text: str) -> dict[str, str]:
    """``tenant=Zone,tenant=Zone`` (or a JSON object, as settings are serialised for child
    processes) to a mapping, every zone checked."""
    if text.lstrip().startswith("{"):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON object of tenant to zone: {exc}") from exc
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise ValueError("a JSON value must map each tenant to a zone name")
        for name in loaded.values():
            zone(name)
        return {str(k): v for k, v in loaded.items()}
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        tenant, sep, name = (s.strip() for s in part.partition("="))
        if not sep or not tenant or not name:
            raise ValueError(f"{part!r} is not tenant=Zone (e.g. acme=Europe/Berlin)")
        if tenant in out:
            raise ValueError(f"tenant {tenant!r} is given two zones")
        zone(name)
        out[tenant] = name
    return out


def tenant_zone(zones: dict[str, str], default: str, tenant: str) -> tzinfo:
    return zone(zones.get(tenant, default))


def local_time(ts_s: float, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(ts_s, tz)


def local_date(ts_s: float, tz: tzinfo) -> date:
    return local_time(ts_s, tz).date()


def hour_and_weekday(ts_s: float, tz: tzinfo) -> tuple[int, int]:
    """Local hour 0-23 and ISO weekday 1 (Monday) - 7 (Sunday)."""
    moment = local_time(ts_s, tz)
    return moment.hour, moment.isoweekday()
