"""Customer-level experiment units: exposure, crossover and outcome per campaign (section 10).

The unit is the customer. A customer's exposure to a campaign is their first
delivered message of it (a letter's send: letters get no receipt), reaching the
customer side as a touch through the repartition topic attribution uses; its
``variant`` is the customer's arm. A customer delivered messages of two arms
is a crossover: dropped from both and counted apart. The outcome is any
succeeded payment within the horizon (``COLLECTPULSE_EXPERIMENT_HORIZON``,
default 7 d) after exposure, wherever it is attributed.

Per customer and campaign the hash ``cp:{pN}:cust:<id>`` keeps ``xe:<campaign>``:
the earliest exposure time and its tenant, the arms seen, the first succeeded
payment at or after the exposure, and what is counted for the customer now.
Whichever of the delivery and the payment arrives first, the counts follow
from that state alone, so every arrival order gives the same counts; a repeated
touch or payment changes no state and so no count. A change (an earlier
delivery, a second arm, a payment) takes back what was counted and counts the
new state: exactly the diff, in the same atomic write as the touch.

Counts live in ``cp:{pN}:xp:<campaign>`` (one hash per partition and campaign, in
the partition's slot), by campaign, arm, tenant, kind (``u`` exposed units, ``c``
converted units, ``x`` crossovers) and exposure bucket (an hour; a minute for
horizons under a day). Each unit is counted a second time in a field that ends
with the customer's segment (K23): the segment of the exposing message, the
earliest delivery (ties: the smaller tenant, then segment), so per-segment counts
add up to the experiment's and the experiment's own fields stay as they were.
A customer exposed before exposures kept a segment (no ``s`` in the state) stays
out of the per-segment counts rather than guess one.

The worker does not know which campaigns are experiments, so every campaign is
counted; a campaign's hash expires ``UNITS_TTL_S`` after its last change, and the
exporter reads only the configured campaigns' hashes. It sums the partitions, reads
a bucket's units as matured once the bucket's end is a horizon old, and counts
buckets from the experiment's ``started_at`` (rounded up to a bucket) on:
cumulative, never windowed.
"""

from __future__ import annotations

from typing import Any

import orjson

from collectpulse.store.context import BatchContext
from collectpulse.store.customer_state import load_list, write
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.touches import Touch

PREFIX = "xe:"
"""Customer-hash field of one campaign's exposure state: ``xe:<campaign>``."""
_PAYMENTS = "py"
"""The customer's succeeded payments ``[[at_s, tenant], ...]`` (``store.conversion``)."""
UNITS, CONVERTED, CROSSOVER = "u", "c", "x"
_EXPOSING = frozenset({"delivered", "sent"})
"""Touches that expose: a delivery; a send only comes as a touch for letters."""


def exposure_bucket_s(horizon_s: int) -> int:
    """Exposure bucket of the counts: an hour, or a minute for a horizon under a day."""
    return 3600 if horizon_s >= 86_400 else 60


UNITS_TTL_S = 180 * 86_400
"""A campaign's counts live this long after their last change (an experiment still read
then has had no new exposure or outcome for half a year)."""


def units_key(tag: str, campaign: str) -> str:
    """``cp:{pN}:xp:<campaign>`` for the partition's hash tag ``tag`` (``Keys.tag``)."""
    return f"{tag}:xp:{campaign}"


def count_field(
    campaign: str, arm: str, tenant: str, kind: str, bucket_s: int, segment: str | None = None
) -> str:
    """The experiment's count field; with ``segment``, the per-segment one (six parts)."""
    parts = (campaign, arm, tenant, kind, str(bucket_s))
    return FIELD_SEP.join(parts if segment is None else (*parts, segment))


def on_touch(ctx: BatchContext, touch: Touch, state: dict[str, str]) -> None:
    """A delivered message (or a letter's send) exposes its customer to its campaign."""
    if touch.kind not in _EXPOSING or not touch.dims:
        return
    labels = ctx.dims(touch.dims)
    campaign = labels["campaign"]
    if not campaign:
        return
    before = _load(state, campaign)
    tenant, segment = labels["tenant"], labels["segment"]
    after: dict[str, Any] = (
        dict(before) if before else {"e": touch.at_s, "t": tenant, "s": segment, "v": []}
    )
    if "s" not in after:  # exposed before segments were kept: the experiment's counts only
        if (touch.at_s, tenant) < (after["e"], after["t"]):
            after["e"], after["t"] = touch.at_s, tenant
    elif (touch.at_s, tenant, segment) < (after["e"], after["t"], after["s"]):
        after["e"], after["t"], after["s"] = touch.at_s, tenant, segment
    after["v"] = sorted({*after["v"], labels["variant"]})
    after["f"] = _first_payment_since(state, after["e"], after.get("f"))
    _settle(ctx, touch.customer_id, state, campaign, before, after)


def on_payment(ctx: BatchContext, customer_id: str, state: dict[str, str], at_s: int) -> None:
    """A succeeded payment: the outcome of every campaign the customer was exposed to."""
    for name in [n for n in state if n.startswith(PREFIX)]:
        campaign = name[len(PREFIX) :]
        before = _load(state, campaign)
        if before is None or at_s < before["e"]:
            continue
        first = before.get("f")
        if first is not None and first <= at_s:
            continue  # an earlier payment already decided the outcome
        _settle(ctx, customer_id, state, campaign, before, {**before, "f": at_s})


def _first_payment_since(state: dict[str, str], since_s: int, known: int | None) -> int | None:
    """The earliest succeeded payment at or after ``since_s`` (the stored one included)."""
    times = [int(item[0]) for item in load_list(state, _PAYMENTS) if item]
    if known is not None:
        times.append(known)
    later = [t for t in times if t >= since_s]
    return min(later) if later else None


def _counted(ctx: BatchContext, campaign: str, exposure: dict[str, Any]) -> dict[str, int]:
    """The count fields (and increments) one customer's exposure state contributes."""
    bucket_s = exposure_bucket_s(ctx.timing.experiment_horizon_s)
    bucket = exposure["e"] - exposure["e"] % bucket_s
    tenant, arms = exposure["t"], exposure["v"]
    segments: tuple[str | None, ...] = (None, exposure["s"]) if "s" in exposure else (None,)
    if len(arms) > 1:
        return {count_field(campaign, "", tenant, CROSSOVER, bucket, s): 1 for s in segments}
    kinds = [UNITS]
    first = exposure.get("f")
    if first is not None and first <= exposure["e"] + ctx.timing.experiment_horizon_s:
        kinds.append(CONVERTED)
    return {
        count_field(campaign, arms[0], tenant, kind, bucket, s): 1
        for kind in kinds
        for s in segments
    }


def _settle(
    ctx: BatchContext,
    customer_id: str,
    state: dict[str, str],
    campaign: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    """Store ``after`` and count the difference between what it and ``before`` contribute."""
    if after == before:
        return  # a repeated touch or payment
    old = _counted(ctx, campaign, before) if before else {}
    new = _counted(ctx, campaign, after)
    key = units_key(ctx.keys.tag(ctx.partition), campaign)
    for name in old.keys() | new.keys():
        change = new.get(name, 0) - old.get(name, 0)
        if change:
            ctx.plan.incr[(key, name)] += change
    ctx.plan.expire_in(key, UNITS_TTL_S)
    write(ctx, customer_id, state, {PREFIX + campaign: orjson.dumps(after).decode()})


def _load(state: dict[str, str], campaign: str) -> dict[str, Any] | None:
    raw = state.get(PREFIX + campaign)
    if not raw:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) and "e" in value and "v" in value else None
