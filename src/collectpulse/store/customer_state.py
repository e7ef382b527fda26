"""The customer's hash (``cp:{pN}:cust:<id>``): reading and writing it through a batch plan.

The customer side of the touch join keeps everything it needs in one hash per
customer, so a payment, a promise and a touch of the same customer in one batch
see each other's effects. Lists (views, payments awaiting a message) are stored
as small JSON arrays in one field each.
"""

from __future__ import annotations

from typing import Any

import orjson

from collectpulse.store.context import BatchContext

KEEP_UNTIL = "ku"
"""Unix time until which the hash must outlive the retention (an open promise)."""


def customer(ctx: BatchContext, customer_id: str) -> dict[str, str]:
    """The customer's fields as this batch sees them (snapshot plus this batch's writes)."""
    return ctx.customers.setdefault(customer_id, {})


def write(
    ctx: BatchContext, customer_id: str, state: dict[str, str], updates: dict[str, str]
) -> None:
    if not updates:
        return
    state.update(updates)
    key = ctx.keys.customer(ctx.partition, customer_id)
    ctx.plan.hdel.get(key, set()).difference_update(updates)  # forgotten, then touched again
    ctx.plan.set_fields(key, updates)
    ttl_s = max(ctx.timing.retention_s, int(state.get(KEEP_UNTIL, "0")) - ctx.timing.now_s)
    ctx.plan.expire_in(key, ttl_s)


def forget(ctx: BatchContext, customer_id: str, state: dict[str, str], names: list[str]) -> None:
    """Delete fields of the customer's hash (and any write of them this batch planned)."""
    if not names:
        return
    key = ctx.keys.customer(ctx.partition, customer_id)
    pending = ctx.plan.hset.get(key, {})
    for name in names:
        state.pop(name, None)
        pending.pop(name, None)
    ctx.plan.hdel.setdefault(key, set()).update(names)


def load_list(state: dict[str, str], name: str) -> list[list[Any]]:
    """A JSON list field; a field that is not one (never written by us) reads as empty."""
    raw = state.get(name)
    if not raw:
        return []
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return []
    return [item for item in value if isinstance(item, list)] if isinstance(value, list) else []


def dump_list(items: list[list[Any]]) -> str:
    return orjson.dumps(items).decode()
