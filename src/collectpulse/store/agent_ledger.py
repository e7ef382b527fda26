"""The per-agent table behind ``GET /api/v1/agents``: counts by the agent's own id.

Prometheus sees an agent only under the ``agent`` label cap (the rest as
``__other__``); the catalog wants the complete table as JSON (§9, "JSON only"). So the
few per-agent facts are also counted, by uncapped agent id, in bucket hashes of their
own (``cp:{pN}:ag:<gran>:<start>``, the counters' bucket sizes and TTLs): a scrape never
reads them, the API sums a window's buckets on request. Credit follows catalog §9: a
payment to its ``agent_id``, a promise and its outcome to the agent who made it; what
no agent earned is ``__unassigned__``; a contact to its ``agent_id`` (a dialer attempt
no agent was bridged to is ``__unassigned__``).
"""

from __future__ import annotations

from collectpulse.store import collector_net
from collectpulse.store.context import BatchContext
from collectpulse.store.keys import FIELD_SEP

UNASSIGNED = "__unassigned__"
COLUMNS = (
    "collected_amount_minor",
    "promises_made",
    "promises_kept",
    "promises_broken",
    "outbound_attempts",
    "outbound_rpcs",
    "outbound_ptp_made",
    "promises_made_cohort",
    "promises_kept_cohort",
    "outbound_kept_cohort",
)
"""The facts counted per agent (``column`` of a field). The ``_cohort`` ones and
``outbound_ptp_made`` count in the bucket of the promise's made time (K4-K6)."""


def field(column: str, agent: str, tenant: str, currency: str = "") -> str:
    # an id holding the separator would split into other columns: drop the separator
    agent = (agent or UNASSIGNED).replace(FIELD_SEP, "")
    return FIELD_SEP.join((column, agent, tenant, currency))


def count(
    ctx: BatchContext,
    column: str,
    agent: str,
    tenant: str,
    at_s: int,
    amount: int = 1,
    currency: str = "",
) -> None:
    """Add ``amount`` to the agent's ``column`` in the buckets of ``at_s`` (an event past
    retention is already counted late by its KPI counter and is not kept here)."""
    collector_net.book(ctx, column, agent, tenant, at_s, amount, currency)
    if ctx.is_late(at_s):
        return
    name = field(column, agent, tenant, currency)
    for gran_s, ttl_s in ctx.granularities:
        start = at_s - at_s % gran_s
        key = ctx.keys.agent_bucket(ctx.partition, gran_s, start)
        ctx.plan.incr[(key, name)] += amount
        ctx.plan.expire_in(key, start + gran_s + ttl_s - ctx.timing.now_s)
