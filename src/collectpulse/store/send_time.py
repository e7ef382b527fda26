"""K21 send time-of-day: slot counts in per-hour ledger hashes, written with the batch.

A message counts once per stage (``kpi.send_time.STAGES``) in the slot of its *send*
time (cohort): local weekday and hour of its tenant's zone, with its channel, campaign
and tenant. The rules that already count a message once per stage call ``count`` at
the same moment (message_effects for delivered, human-opened and clicked; payment_credit
for paid, including a credit that moves: a -1 on the old message, a +1 on the new), so
the slots inherit their exactly-once and order-independence: a payment applied before
its message's delivery lands in the send slot once both are seen.

The counts live in ``cp:{pN}:st:<hour>`` (the UTC hour of the send; read by the API)
and, campaigns summed, in ``cp:{pN}:sta:<hour>`` (read by every scrape, so its cost
does not grow with the campaigns), not in the counters' buckets: the K21 windows are
7d and 28d whatever ``COLLECTPULSE_WINDOWS`` says. A ledger hash lives 28 d plus the
attribution window after its hour (a payment may still arrive for its messages); an
effect for an older hour is not kept here (the funnel counters count it as late).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from collectpulse.kpi.send_time import LONGEST_S, WINDOWS, Slot, slot_names
from collectpulse.store.context import BatchContext
from collectpulse.store.keys import Keys
from collectpulse.store.replies import text as _text
from collectpulse.store.scripts import Scripts
from collectpulse.zones import hour_and_weekday, tenant_zone

HOUR_S = 3600


def count(ctx: BatchContext, stage: str, packed: str, sent_s: int, amount: int = 1) -> None:
    """Add ``amount`` to ``stage`` of the slot of a message with packed funnel labels
    ``packed`` (its ``d``) sent at ``sent_s``; a field that sums to 0 (a credit moved away)
    is removed. Memoised per send minute: zone offsets and their changes fall on whole
    minutes, so every second of a minute has the same local hour and weekday."""
    memo_key = (packed, sent_s // 60)
    memo = ctx.send_slots.get(memo_key)
    if memo is None:
        memo = ctx.send_slots[memo_key] = _ledger_slots(ctx, packed, sent_s)
    for key, rest in memo:
        ctx.plan.add_net(key, stage + rest, amount)


def _ledger_slots(ctx: BatchContext, packed: str, sent_s: int) -> tuple[tuple[str, str], ...]:
    """(ledger key, field without its leading stage) in the campaign ledger and in the
    campaigns-summed one, their TTLs planned; none past the ledgers' life."""
    start = sent_s - sent_s % HOUR_S
    ttl_s = start + HOUR_S + LONGEST_S + ctx.timing.attribution_s - ctx.timing.now_s
    if ttl_s <= 0:
        return ()
    timing = ctx.timing
    slot = slot_of("", ctx.dims(packed), sent_s, timing.tenant_zones, timing.default_zone)
    out = []
    for key, each in (
        (ctx.keys.send_time(ctx.partition, start), slot),
        (ctx.keys.send_time_all(ctx.partition, start), replace(slot, campaign="")),
    ):
        ctx.plan.expire_in(key, ttl_s)
        out.append((key, each.field()))  # "" + SEP + ...: the stage goes in front
    return tuple(out)


def slot_of(
    stage: str,
    labels: Mapping[str, str],
    sent_s: int,
    zones: Mapping[str, str],
    default_zone: str,
) -> Slot:
    """The slot a message with funnel ``labels`` sent at ``sent_s`` counts ``stage`` in:
    the local weekday and hour of the send in its tenant's zone (the reported tenant
    label; ``__other__`` and no tenant read in the default zone)."""
    tenant = labels.get("tenant", "")
    hour, weekday = hour_and_weekday(sent_s, tenant_zone(dict(zones), default_zone, tenant))
    day, hh = slot_names(hour, weekday)
    return Slot(stage, labels["channel"], labels.get("campaign", ""), tenant, day, hh)


def window_hours(now_s: int) -> dict[str, list[int]]:
    """Window -> the hour starts it sums, newest first (the current hour included)."""
    current = now_s - now_s % HOUR_S
    return {w: [current - i * HOUR_S for i in range(s // HOUR_S)] for w, s in WINDOWS.items()}


async def read_slots(
    scripts: Scripts,
    keys: Keys,
    partitions: Iterable[int],
    now_s: int,
    *,
    by_campaign: bool = False,
) -> dict[str, dict[Slot, int]]:
    """Window (7d, 28d) -> slot -> count, summed over every partition server-side; the
    slots' campaign is "" unless ``by_campaign`` (the API's grid; /metrics sums campaigns
    and reads the smaller ledger every scrape).

    Per partition one sum_buckets call with one group per window's new hours (the 28d
    window is the 7d one plus 21 days), so each hour is read once.
    """
    ledger = keys.send_time if by_campaign else keys.send_time_all
    hours = window_hours(now_s)
    ordered = sorted(hours.items(), key=lambda item: len(item[1]))
    runs: list[list[int]] = []
    taken = 0
    for _, starts in ordered:
        runs.append(starts[taken:])
        taken = len(starts)
    wanted = list(partitions)

    def fill(pipe: Any) -> None:
        for p in wanted:
            groups = [[ledger(p, s) for s in run] for run in runs]
            scripts.queue(
                pipe,
                scripts.sum_buckets,
                [k for group in groups for k in group],
                [len(groups), *(len(g) for g in groups)],
            )

    sums: list[dict[str, int]] = [defaultdict(int) for _ in runs]
    for reply in await scripts.pipelined(fill) if wanted else []:
        for i, flat in enumerate(reply):
            for name, value in zip(flat[::2], flat[1::2], strict=True):
                sums[i][_text(name)] += int(value)
    out: dict[str, dict[Slot, int]] = {}
    for n, (window, _) in enumerate(ordered):
        cells: dict[Slot, int] = defaultdict(int)
        for run in sums[: n + 1]:
            for name, value in run.items():
                slot = Slot.parse(name)
                if slot is not None:
                    cells[slot] += value
        out[window] = {slot: v for slot, v in cells.items() if v}
    return out
