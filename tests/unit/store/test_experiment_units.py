"""Customer-level experiment units, planned without servers: every arrival order counts the same."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import orjson

from collectpulse.events.decode import decode
from collectpulse.events.models import Topic
from collectpulse.store.context import Record, Snapshot, Timing
from collectpulse.store.effects import plan_partition
from collectpulse.store.experiment_units import count_field
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.plan import WritePlan
from collectpulse.store.touches import Touch

NOW = 1_800_000_000
DAY = 86_400
HOUR = 3600
KEYS = Keys("cp")
P = 2
TIMING = Timing(
    now_s=NOW,
    bucket_s=60,
    retention_s=14 * DAY,
    fine_ttl_s=7 * DAY,
    dedupe_horizon_s=7 * DAY,
    max_event_bytes=65536,
    experiment_horizon_s=7 * DAY,
)
UNITS_KEY = f"{KEYS.tag(P)}:xp:tone"
Item = Touch | tuple[str, str, int]
"""A touch, or a succeeded payment (customer, payment id, at)."""


def dims(variant: str, channel: str = "email", segment: str = "default") -> str:
    return FIELD_SEP.join((channel, "tone", variant, segment, "t1"))


def delivered(customer: str, mid: str, variant: str, at_s: int, segment: str = "default") -> Touch:
    return Touch("delivered", customer, at_s, mid, at_s - 60, dims(variant, segment=segment))


def apply(items: Sequence[Item]) -> Counter[str]:
    """Apply ``items`` one batch each, in order, carrying the customers' hashes forward."""
    state: dict[str, dict[str, str]] = {}
    counts: Counter[str] = Counter()
    for item in items:
        if isinstance(item, Touch):
            plan = _plan([], [item], state)
        else:
            customer, pid, at_s = item
            raw = orjson.dumps(
                {
                    "event_id": pid,
                    "occurred_at": datetime.fromtimestamp(at_s, UTC).isoformat(),
                    "payment_id": pid,
                    "customer_id": customer,
                    "status": "succeeded",
                    "amount_minor": 100,
                    "currency": "EUR",
                }
            )
            event = decode(Topic.PAYMENT, raw, max_bytes=65536)
            plan = _plan([(Topic.PAYMENT, [Record(0, raw, event)])], [], state)
        for (key, name), amount in plan.incr.items():
            if key == UNITS_KEY:
                counts[name] += amount
                assert plan.expire[key] == 180 * DAY
        prefix = KEYS.customer(P, "")
        for key, values in plan.hset.items():
            if key.startswith(prefix):
                state.setdefault(key.removeprefix(prefix), {}).update(values)
    return +counts


def _plan(
    events: list[tuple[Topic, list[Record]]],
    touches: list[Touch | None],
    state: Mapping[str, Mapping[str, str]],
) -> WritePlan:
    return plan_partition(
        partition=P,
        events=events,
        touches=touches,
        snapshot=Snapshot("0", customers=state),
        keys=KEYS,
        timing=TIMING,
        cap=lambda _, v: v,
    )


def field(arm: str, kind: str, at_s: int, segment: str | None = None) -> str:
    return count_field("tone", arm, "t1", kind, at_s - at_s % HOUR, segment)


def counted(arm: str, kind: str, at_s: int, segment: str) -> dict[str, int]:
    """The experiment's field and the segment's (K23), one unit each."""
    return {field(arm, kind, at_s): 1, field(arm, kind, at_s, segment): 1}


E = NOW - 10 * DAY
ITEMS: list[Item] = [
    # c1: two deliveries of arm a; the earlier one (segment vip) is the exposure and gives
    # the segment; pays 6 days later
    delivered("c1", "m1", "a", E + 2 * HOUR),
    delivered("c1", "m2", "a", E, "vip"),
    ("c1", "p1", E + 6 * DAY),
    # c2: arm b, pays before the delivery (counts nothing), then 8 days after (too late)
    delivered("c2", "m3", "b", E + HOUR),
    ("c2", "p2", E),
    ("c2", "p3", E + HOUR + 8 * DAY),
    # c3: delivered a and b: a crossover, its payment counts nowhere
    delivered("c3", "m4", "a", E),
    delivered("c3", "m5", "b", E + 3 * HOUR),
    ("c3", "p4", E + DAY),
]
EXPECTED = Counter(
    {
        **counted("a", "u", E, "vip"),
        **counted("a", "c", E, "vip"),
        **counted("b", "u", E + HOUR, "default"),
        **counted("", "x", E, "default"),
    }
)


def test_exposure_outcome_and_crossover_in_the_order_they_happened() -> None:
    assert apply(ITEMS) == EXPECTED


def test_every_arrival_order_counts_the_same() -> None:
    rng = random.Random(22)
    for _ in range(300):
        order = ITEMS[:]
        rng.shuffle(order)
        assert apply(order) == EXPECTED, order


def test_repeated_touches_and_payments_count_once() -> None:
    for first, second in itertools.permutations(ITEMS, 2):
        assert apply([*ITEMS, first, second]) == EXPECTED


def test_a_letter_counts_from_its_send() -> None:
    letter = Touch("sent", "c9", E, "m9", E, dims("a", "letter"))
    opened = Touch("opened", "c9", E + HOUR, "m9", E, dims("b"))  # not an exposure
    assert apply([letter, opened]) == Counter(counted("a", "u", E, "default"))


def test_simultaneous_exposures_take_the_smaller_segment_in_any_order() -> None:
    both = [delivered("c5", "m5", "a", E, "vip"), delivered("c5", "m6", "a", E, "new")]
    want = Counter(counted("a", "u", E, "new"))
    assert apply(both) == apply(both[::-1]) == want


def test_a_customer_exposed_before_segments_were_kept_stays_out_of_the_segments() -> None:
    legacy = {"c6": {"xe:tone": orjson.dumps({"e": E, "t": "t1", "v": ["a"]}).decode()}}
    earlier = delivered("c6", "m7", "a", E - HOUR, "vip")
    plan = _plan([], [earlier], legacy)
    moved = {name: n for (key, name), n in plan.incr.items() if key == UNITS_KEY and n}
    # the exposure moves an hour back in the experiment's counts; no segment is guessed
    assert moved == {field("a", "u", E): -1, field("a", "u", E - HOUR): 1}
