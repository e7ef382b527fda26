"""K21 send slots (pure): local weekday and hour per tenant zone, DST, and the slot ledger a
log leaves whatever the arrival order (a payment before its message's delivery included)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.unit.store.test_order_property import KEYS, NOW_S, PARTITION, _iso, run

from collectpulse.events.models import Topic
from collectpulse.kpi.send_time import Slot, grids, hour_series, slot_names, weekday_series
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.send_time import slot_of, window_hours

ZONES = {"acme": "Europe/Berlin", "globex": "America/New_York", "tata": "Asia/Kolkata"}


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def slot(tenant: str, when: str, default: str = "UTC") -> tuple[str, str]:
    s = slot_of("delivered", {"channel": "email", "tenant": tenant}, at(when), ZONES, default)
    return s.weekday, s.hour


@pytest.mark.parametrize(
    ("tenant", "when", "expected"),
    [
        # Berlin, spring forward on Sunday 2026-03-29: 02:00 CET jumps to 03:00 CEST
        ("acme", "2026-03-29T00:30:00", ("7", "01")),
        ("acme", "2026-03-29T01:30:00", ("7", "03")),
        # Berlin, fall back on Sunday 2026-10-25: 02:00-03:00 local happens twice
        ("acme", "2026-10-25T00:30:00", ("7", "02")),
        ("acme", "2026-10-25T01:30:00", ("7", "02")),
        ("acme", "2026-10-25T02:30:00", ("7", "03")),
        # New York: 2027-01-18 02:00 UTC is still Sunday 21:00 EST
        ("globex", "2027-01-18T02:00:00", ("7", "21")),
        # New York in summer time (EDT, -4)
        ("globex", "2026-07-01T12:00:00", ("3", "08")),
        # Kolkata +05:30: one UTC hour spans two local hours
        ("tata", "2027-01-15T07:10:00", ("5", "12")),
        ("tata", "2027-01-15T07:40:00", ("5", "13")),
        # local midnight turns the weekday: Sunday 23:30 UTC is Monday in Kolkata
        ("tata", "2027-01-17T23:30:00", ("1", "05")),
        # a tenant without a zone, and no tenant, read in the default zone
        ("initech", "2027-01-17T23:30:00", ("7", "23")),
        ("", "2027-01-15T00:00:00", ("5", "00")),
    ],
)
def test_the_slot_is_the_local_weekday_and_hour_of_the_tenant(
    tenant: str, when: str, expected: tuple[str, str]
) -> None:
    assert slot(tenant, when) == expected


def test_an_unnamed_tenant_uses_the_default_zone() -> None:
    assert slot("initech", "2027-01-17T23:30:00", "Asia/Tokyo") == ("1", "08")


def test_slot_names_refuse_what_is_no_hour_or_weekday() -> None:
    assert slot_names(0, 1) == ("1", "00") and slot_names(23, 7) == ("7", "23")
    for hour, weekday in ((24, 1), (-1, 1), (0, 0), (0, 8)):
        with pytest.raises(ValueError, match="no send slot"):
            slot_names(hour, weekday)


def test_a_slot_field_round_trips_and_foreign_fields_are_skipped() -> None:
    s = Slot("paid", "sms", "spring", "acme", "3", "09")
    assert Slot.parse(s.field()) == s
    assert Slot.parse(FIELD_SEP.join(("sent", "sms", "c", "t", "1", "00"))) is None
    assert Slot.parse("paid") is None


def test_windows_are_the_last_7_and_28_days_of_hours() -> None:
    hours = window_hours(NOW_S + 59)
    assert len(hours["7d"]) == 7 * 24 and len(hours["28d"]) == 28 * 24
    assert hours["7d"][0] == NOW_S - NOW_S % 3600
    assert hours["28d"][: 7 * 24] == hours["7d"]


def test_series_and_grids_sum_what_they_leave_out() -> None:
    cells = {
        Slot("delivered", "email", "a", "acme", "1", "09"): 3,
        Slot("delivered", "email", "b", "acme", "2", "09"): 2,
        Slot("paid", "email", "b", "acme", "2", "10"): 1,
    }
    assert hour_series(cells) == {
        ("email", "acme", "09", "delivered"): 5,
        ("email", "acme", "10", "paid"): 1,
    }
    assert weekday_series(cells) == {
        ("email", "acme", "1", "delivered"): 3,
        ("email", "acme", "2", "delivered"): 2,
        ("email", "acme", "2", "paid"): 1,
    }
    shown = grids(cells, campaign="b")
    assert [(g["campaign"], g["channel"], g["tenant"]) for g in shown] == [("b", "email", "acme")]
    stages: Any = shown[0]["stages"]
    assert stages["delivered"][1][9] == 2 and stages["paid"][1][10] == 1
    assert sum(map(sum, stages["delivered"])) == 2 and sum(map(sum, stages["clicked"])) == 0
    assert len(grids(cells)) == 2 and grids(cells, tenant="globex") == []


# --- the ledger a log leaves (the planner, the in-memory store of the order test) ------


def _log() -> list[tuple[Topic, dict[str, Any]]]:
    n = 0

    def ev(topic: Topic, at_s: int, **body: Any) -> tuple[Topic, dict[str, Any]]:
        nonlocal n
        n += 1
        return topic, {"event_id": f"e{n}", "occurred_at": _iso(at_s), **body}

    t0 = NOW_S - 3600  # 2027-01-15 07:00 UTC, a Friday: 12:30 in Kolkata (the default zone)
    sent = {"status": "sent", "variant": "a"}
    return [
        ev(Topic.DELIVERY, t0 + 100, message_id="m0", channel="email", customer_id="c0",
           campaign="spring", **sent),
        ev(Topic.DELIVERY, t0 + 200, message_id="m0", status="delivered", channel="email"),
        ev(Topic.OPEN, t0 + 300, message_id="m0", machine=False),
        ev(Topic.OPEN, t0 + 310, message_id="m0", machine=False),
        ev(Topic.CLICK, t0 + 400, message_id="m0"),
        ev(Topic.DELIVERY, t0 + 1900, message_id="m1", channel="sms", customer_id="c1",
           campaign="winback", **sent),
        ev(Topic.DELIVERY, t0 + 1950, message_id="m1", status="delivered", channel="sms"),
        ev(Topic.OPEN, t0 + 1960, message_id="m1", machine=True),
        ev(Topic.PAYMENT, t0 + 2000, payment_id="p1", customer_id="c1", status="succeeded",
           amount_minor=500, currency="EUR", message_id="m1"),
        ev(Topic.PAYMENT, t0 + 2600, payment_id="p0", customer_id="c0", status="succeeded",
           amount_minor=700, currency="EUR"),
        ev(Topic.PAYMENT, t0 + 2700, payment_id="p2", customer_id="c0", status="succeeded",
           amount_minor=100, currency="EUR"),
    ]  # fmt: skip


def _expected() -> dict[str, dict[str, str]]:
    m0 = ("email", "spring", "", "5", "12")  # sent 07:01:40 UTC = 12:31:40 in Kolkata
    m1 = ("sms", "winback", "", "5", "13")  # sent 07:31:40 UTC = 13:01:40 in Kolkata
    stages = {m0: ("delivered", "opened_human", "clicked", "paid"), m1: ("delivered", "paid")}
    by_campaign = {
        FIELD_SEP.join((stage, *slot)): "1" for slot, names in stages.items() for stage in names
    }
    summed = {  # the campaigns-summed ledger /metrics reads: campaign ""
        FIELD_SEP.join((stage, slot[0], "", *slot[2:])): "1"
        for slot, names in stages.items()
        for stage in names
    }
    hour = NOW_S - 3600
    return {
        KEYS.send_time(PARTITION, hour): by_campaign,
        KEYS.send_time_all(PARTITION, hour): summed,
    }


def test_each_message_counts_once_per_stage_in_its_send_slot() -> None:
    assert run(_log(), [1], None)["send_slots"] == _expected()


@pytest.mark.parametrize("seed", range(5))
def test_payments_and_opens_before_their_messages_land_in_the_send_slot(seed: int) -> None:
    log = list(reversed(_log()))  # every payment and open before its message's sent
    random.Random(seed).shuffle(log)
    rng = random.Random(seed)
    assert run(log, [rng.randint(1, 4)], rng)["send_slots"] == _expected()
