"""The planner's counts do not depend on arrival order (issue #15), property-tested.

A random small log of one partition (messages of two customers with their
deliveries, opens and clicks, landing views, payments with and without
``message_id``, installment plans, duplicates) is planned batch by batch
through ``plan_partition`` in a random permutation cut into random batches. Each
plan is applied to an in-memory store (``MemoryStore``: the ops write.lua runs,
as plain dict operations), the next batch's ``Snapshot`` is read from it, and the
customer touches a plan puts in its outbox come back in a later batch, in random
order, as the repartition topic would deliver them. The all-time counters and
the distinct-count members must equal those of the same log planned in event
time order, one event per batch, each touch fed back at once.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectpulse.events.decode import decode
from collectpulse.events.models import Topic
from collectpulse.store.effects import Record, Snapshot, Timing, plan_partition
from collectpulse.store.keys import DAY_S, FIELD_SEP, Keys
from collectpulse.store.plan import WritePlan
from collectpulse.store.touches import Touch, decode_touches

PARTITION = 0
KEYS = Keys("cp")
NOW_S = 1_800_000_000
TIMING = Timing(
    now_s=NOW_S,
    bucket_s=60,
    retention_s=14 * DAY_S,
    fine_ttl_s=7 * DAY_S,
    dedupe_horizon_s=7 * DAY_S,
    max_event_bytes=4096,
    default_zone="Asia/Kolkata",  # +05:30: a UTC hour's messages span two local hours (K21)
)
NOT_COUNTS = ("last_event_s", "last_applied_s", "apply_lag_seconds", "last_view_s")
"""Totals fields that record when (wall clock) or how late, not what."""
CUSTOMERS = ("c0", "c1")
MESSAGES = ("m0", "m1", "m2", "m3")


class MemoryStore:
    """Redis as write.lua leaves it, for one partition: the ops of each plan, in order."""

    def __init__(self) -> None:
        self.hashes: dict[str, dict[str, str]] = defaultdict(dict)
        self.sets: dict[str, set[str]] = defaultdict(set)
        self.lists: dict[str, list[str]] = defaultdict(list)
        self.zsets: dict[str, dict[str, int]] = defaultdict(dict)

    def apply(self, plan: WritePlan) -> None:
        for name, key, *args in plan.operations():
            getattr(self, f"_{name.lower()}")(key, args)

    def _del(self, key: str, args: list[str]) -> None:
        self.hashes.pop(key, None)
        self.sets.pop(key, None)
        self.lists.pop(key, None)
        self.zsets.pop(key, None)

    def _hincrbys(self, key: str, args: list[str]) -> None:
        h = self.hashes[key]
        for name, amount in zip(args[::2], args[1::2], strict=True):
            h[name] = str(int(h.get(name, "0")) + int(amount))

    def _hincrbys_net(self, key: str, args: list[str]) -> None:
        self._hincrbys(key, args)
        h = self.hashes[key]
        for name in args[::2]:
            if h.get(name) == "0":
                del h[name]

    def _hset(self, key: str, args: list[str]) -> None:
        self.hashes[key].update(zip(args[::2], args[1::2], strict=True))

    def _hdel(self, key: str, args: list[str]) -> None:
        for name in args:
            self.hashes[key].pop(name, None)

    def _hmax(self, key: str, args: list[str]) -> None:
        old = self.hashes[key].get(args[0])
        if old is None or int(args[1]) > int(old):
            self.hashes[key][args[0]] = args[1]

    def _hmin(self, key: str, args: list[str]) -> None:
        old = self.hashes[key].get(args[0])
        if old is None or int(args[1]) < int(old):
            self.hashes[key][args[0]] = args[1]

    def _sadd(self, key: str, args: list[str]) -> None:
        self.sets[key].update(args)

    _pfadd = _sadd  # a HyperLogLog, kept exact

    def _rpush(self, key: str, args: list[str]) -> None:
        self.lists[key].extend(args)

    def _zaddnx(self, key: str, args: list[str]) -> None:
        for score, member in zip(args[::2], args[1::2], strict=True):
            self.zsets[key].setdefault(member, int(score))

    def _zadd(self, key: str, args: list[str]) -> None:
        for score, member in zip(args[::2], args[1::2], strict=True):
            self.zsets[key][member] = int(score)

    def _zrem(self, key: str, args: list[str]) -> None:
        for member in args:
            self.zsets[key].pop(member, None)

    def _zremrangebyscore(self, key: str, args: list[str]) -> None:
        below = int(args[1].removeprefix("("))
        self.zsets[key] = {m: s for m, s in self.zsets[key].items() if s >= below}

    def _expire(self, key: str, args: list[str]) -> None:
        pass  # nothing expires within one property example

    def snapshot(self) -> Snapshot:
        """Everything the partition holds (a superset of what read.lua would fetch)."""
        tag = KEYS.tag(PARTITION)
        seen: dict[str, set[str]] = defaultdict(set)
        for key, members in self.sets.items():
            if key.startswith(f"{tag}:seen:"):
                seen[key.split(":")[-2]].update(members)
        message_prefix, customer_prefix = KEYS.message(PARTITION, ""), KEYS.customer(PARTITION, "")
        park_prefix = KEYS.park(PARTITION, "")
        parked = {
            k.removeprefix(park_prefix): [e.encode() for e in v]
            for k, v in self.lists.items()
            if k.startswith(park_prefix) and v
        }
        return Snapshot(
            version="0",
            seen={topic: frozenset(ids) for topic, ids in seen.items()},
            messages={
                k.removeprefix(message_prefix): dict(h)
                for k, h in self.hashes.items()
                if k.startswith(message_prefix)
            },
            parked=parked,
            customers={
                k.removeprefix(customer_prefix): dict(h)
                for k, h in self.hashes.items()
                if k.startswith(customer_prefix)
            },
            parked_count=len(self.zsets.get(KEYS.parked(PARTITION), {})),
            park_lengths={mid: len(entries) for mid, entries in parked.items()},
        )

    def counts(self) -> dict[str, Any]:
        """All-time counters, distinct-count members and experiment unit counts: what must
        not depend on order."""
        totals = {
            name: int(v)
            for name, v in self.hashes.get(KEYS.totals(PARTITION), {}).items()
            if not name.split(FIELD_SEP)[0].startswith(NOT_COUNTS) and int(v)
        }
        uniques_prefix = f"{KEYS.tag(PARTITION)}:u:"
        uniques: dict[str, set[str]] = defaultdict(set)
        for key, members in self.sets.items():
            if key.startswith(uniques_prefix):
                gran_s, _, name = key.removeprefix(uniques_prefix).split(":", 2)
                if gran_s == "3600":  # every bucket of one granularity: the whole log
                    uniques[name].update(members)
        experiments = {
            f"{key}/{name}": int(v)
            for key, h in self.hashes.items()
            if ":xp:" in key
            for name, v in h.items()
            if int(v)
        }
        # K21 send-slot ledgers (by campaign, campaigns summed): every hour's hash as it
        # is left, zero fields removed
        ledgers = (KEYS.send_time(PARTITION, 0), KEYS.send_time_all(PARTITION, 0))
        prefixes = tuple(key.removesuffix("0") for key in ledgers)
        slots = {key: dict(h) for key, h in self.hashes.items() if key.startswith(prefixes) and h}
        return {
            "totals": totals,
            "uniques": dict(uniques),
            "experiments": experiments,
            "send_slots": slots,
        }


# --- the log --------------------------------------------------------------------------


def _record(topic: Topic, body: dict[str, Any], offset: int) -> Record:
    raw = orjson.dumps(body)
    return Record(offset, raw, decode(topic, raw, max_bytes=TIMING.max_event_bytes))


def _iso(at_s: int) -> str:
    return datetime.fromtimestamp(at_s, UTC).isoformat()


@st.composite
def logs(draw: st.DrawFn) -> list[tuple[Topic, dict[str, Any]]]:
    """Event-time-ordered (topic, body) pairs; every message has its sent."""
    out: list[tuple[int, Topic, dict[str, Any]]] = []
    n = 0

    def add(topic: Topic, at_s: int, **body: Any) -> None:
        nonlocal n
        n += 1
        out.append((at_s, topic, {"event_id": f"e{n}", "occurred_at": _iso(at_s), **body}))

    def t(lo: int = 0) -> int:
        return NOW_S - 3600 + draw(st.integers(lo, 3000))

    for mid in MESSAGES[: draw(st.integers(1, len(MESSAGES)))]:
        sent_s = t()
        channel = draw(st.sampled_from(("email", "sms", "letter")))
        add(
            Topic.DELIVERY,
            sent_s,
            message_id=mid,
            status="sent",
            channel=channel,
            customer_id=draw(st.sampled_from(CUSTOMERS)),
            campaign=draw(st.sampled_from(("spring", "winback"))),
            variant=draw(st.sampled_from(("a", "a", "b"))),
            segment=draw(st.sampled_from(("vip", "new"))),
        )
        if channel == "letter":
            continue
        for kind in draw(st.lists(st.sampled_from(("delivered", "open", "click")), max_size=4)):
            at_s = sent_s + draw(st.integers(1, 500))
            if kind == "delivered":
                add(Topic.DELIVERY, at_s, message_id=mid, status="delivered", channel=channel)
            elif kind == "open":
                add(Topic.OPEN, at_s, message_id=mid, machine=draw(st.booleans()))
            else:
                add(Topic.CLICK, at_s, message_id=mid)
    for _ in range(draw(st.integers(0, 4))):
        cid = draw(st.sampled_from(CUSTOMERS))
        source = draw(st.sampled_from(("email", "sms", "direct")))
        device = draw(st.sampled_from((None, "mobile", "desktop")))
        v2 = {} if device is None else {"schema_version": 2, "device": device}
        add(Topic.PAGEVIEW, t(), visitor_id=f"v-{cid}", source=source, customer_id=cid, **v2)
    for _ in range(draw(st.integers(0, 4))):
        cid = draw(st.sampled_from(CUSTOMERS))
        body: dict[str, Any] = {
            "payment_id": f"p{n}",
            "customer_id": cid,
            "status": draw(st.sampled_from(("succeeded", "succeeded", "failed"))),
            "amount_minor": draw(st.integers(1, 9)) * 100,
            "currency": "EUR",
        }
        named = draw(st.sampled_from((None, *MESSAGES)))
        if named is not None:
            body["message_id"] = named
        add(Topic.PAYMENT, t(600), **body)
    for _ in range(draw(st.integers(0, 2))):
        add(
            Topic.PROMISE,
            t(600),
            promise_id=f"pr{n}",
            customer_id=draw(st.sampled_from(CUSTOMERS)),
            kind="installment_plan",
            status="made",
            direction="self_service",
            amount_minor=100,
            currency="EUR",
            due_date="2027-03-01",
        )
    out.sort(key=lambda e: e[0])
    events = [(topic, body) for _, topic, body in out]
    duplicates = draw(st.lists(st.sampled_from(events), max_size=3)) if events else []
    return events + duplicates


# --- running a schedule ---------------------------------------------------------------


def run(
    log: Sequence[tuple[Topic, dict[str, Any]]], cuts: Sequence[int], rng: random.Random | None
) -> dict[str, Any]:
    """Plan ``log`` in batches of the sizes ``cuts`` gives (cycled). With ``rng`` the
    touches of a batch come back in later batches, shuffled and some held back again;
    without it each batch's touches are applied right after it, before the next event."""
    store = MemoryStore()
    offsets: dict[Topic, int] = defaultdict(int)
    pending: list[Touch] = []
    i, batch = 0, 0
    while i < len(log) or pending:
        if rng is None and pending:
            touches, pending = pending, []
            chunk: Sequence[tuple[Topic, dict[str, Any]]] = []
        else:
            size = cuts[batch % len(cuts)]
            batch += 1
            chunk, i = log[i : i + size], i + size
            if rng is None or i >= len(log):
                touches, pending = pending, []
            else:
                rng.shuffle(pending)
                keep = rng.randrange(len(pending) + 1)
                touches, pending = pending[keep:], pending[:keep]
        by_topic: dict[Topic, list[Record]] = defaultdict(list)
        for topic, body in chunk:
            by_topic[topic].append(_record(topic, body, offsets[topic]))
            offsets[topic] += 1
        plan = plan_partition(
            partition=PARTITION,
            events=list(by_topic.items()),
            touches=touches,
            snapshot=store.snapshot(),
            keys=KEYS,
            timing=TIMING,
            cap=lambda _label, value: value,
        )
        store.apply(plan)
        for _, value in plan.outbox:
            pending.extend(t for t in decode_touches(b"[" + value + b"]") if t is not None)
    return store.counts()


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(log=logs(), data=st.data())
def test_counts_do_not_depend_on_arrival_order(
    log: list[tuple[Topic, dict[str, Any]]], data: st.DataObject
) -> None:
    reference = run(log, [1], None)
    shuffled = data.draw(st.permutations(log), label="arrival order")
    cuts = data.draw(st.lists(st.integers(1, 6), min_size=1, max_size=5), label="batch sizes")
    seed = data.draw(st.integers(0, 2**32 - 1), label="touch shuffle seed")
    assert run(shuffled, cuts, random.Random(seed)) == reference
