"""The headline totals the live model: each number is the sum PromQL would take over /metrics."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from collectpulse.exporter.broker import LogPositions
from collectpulse.exporter.health import Probes
from collectpulse.kpi.definitions import ratio_by_name
from collectpulse.kpi.ratios import evaluate_ratio, labelset
from collectpulse.store.fields import counter_field
from collectpulse.store.heartbeats import WorkerBeat
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.reader import StoreView
from collectpulse.store.totals import LAST_APPLIED_MS, LAST_EVENT, LAST_EVENT_MS
from collectpulse.ui.headline import headline
from collectpulse.ui.model import Filters, live_model

NOW_S = 1_700_000_000
A = {"channel": "email", "campaign": "spring", "variant": "control", "segment": "s", "tenant": "t1"}
B = {**A, "variant": "short"}
SMS = {**A, "channel": "sms", "tenant": "t2"}


def _window() -> dict[str, dict[Any, float]]:
    return {
        "messages_sent": {labelset(A): 200, labelset(B): 200, labelset(SMS): 100},
        "messages_delivered": {labelset(A): 150, labelset(B): 160, labelset(SMS): 90},
        "messages_opened": {labelset(A): 60, labelset(B): 80},
        "messages_clicked": {labelset(A): 20, labelset(B): 25, labelset(SMS): 5},
        "messages_paid": {labelset(A): 15, labelset(B): 30},
        "messages_bounced_any": {labelset(A): 50},
        "messages_bounced": {
            labelset(A, bounce_type="hard"): 30,
            labelset(A, bounce_type="soft"): 20,
            labelset(SMS, bounce_type="soft"): 10,
        },
        "payment_attempts": {
            labelset(tenant="t1", status="succeeded"): 3,
            labelset(tenant="t1", status="failed"): 1,
            labelset(tenant="t2", status="aborted"): 4,
        },
        "collected_amount_minor": {
            labelset(tenant="t1", currency="EUR", agent="ag1"): 1234,
            labelset(tenant="t2", currency="EUR", agent=""): 100,
            labelset(tenant="t2", currency="GBP", agent=""): 50,
        },
        "promises": {
            labelset(direction="outbound", kind="promise_to_pay", tenant="t1", status="kept"): 2,
            labelset(direction="outbound", kind="promise_to_pay", tenant="t1", status="broken"): 1,
            labelset(direction="inbound", kind="promise_to_pay", tenant="t2", status="kept"): 1,
        },
        "landing_unique_visitors": {labelset(source="email", tenant="t1"): 10},
        "landing_paying_customers": {labelset(source="email", tenant="t1"): 4},
    }


def _view(**windows: dict[str, dict[Any, float]]) -> StoreView:
    hour = windows.get("hour", _window())
    totals = {
        counter_field("events_dead_lettered", {"topic": "delivery"}): 2,
        counter_field("provider_records_dead_lettered", {"provider": "ses", "reason": "x"}): 1,
        f"{LAST_EVENT}{FIELD_SEP}delivery": NOW_S - 30,
        f"{LAST_EVENT_MS}{FIELD_SEP}delivery": (NOW_S - 30) * 1000,
        f"{LAST_APPLIED_MS}{FIELD_SEP}delivery": (NOW_S - 29) * 1000 + 250,
    }
    beats = (WorkerBeat("w1", NOW_S - 1, (0, 1)), WorkerBeat("w2", NOW_S - 600, (2,)))
    return StoreView(
        NOW_S,
        (0, 1),
        totals,
        {"1h": hour, "24h": hour},
        offsets={("delivery", 0): 9, ("delivery", 1): 4},
        heartbeats=beats,
        label_values={"tenant": frozenset({"t1", "t2"})},
    )


def _headline(view: StoreView, tenant: str | None = None, **model: Any) -> Any:
    return headline(
        live_model(view, window="1h", filters=Filters(tenant=tenant), min_sample=100, **model)
    )


def test_every_tenant_is_the_sum_of_every_series() -> None:
    h = _headline(_view())
    assert (h.window, h.tenant, h.as_of_s) == ("1h", None, NOW_S)
    assert h.funnel == {"sent": 500, "delivered": 400, "opened": 140, "clicked": 50, "paid": 45}
    assert h.ratios == pytest.approx(
        {
            "delivery": 400 / 500,
            "open": 140 / 400,
            "click_through": 50 / 400,
            "message_payment": 45 / 400,
            "bounce": 50 / 500,
            "hard_bounce": 30 / 500,
            "soft_bounce": 30 / 500,
            "payment_success": 3 / 8,
            "promise_kept": 3 / 4,
            "landing_conversion": 4 / 10,
        }
    )
    assert h.collected_minor == {"EUR": 1334, "GBP": 50}
    assert h.tenants == ("t1", "t2")


def test_a_tenant_keeps_only_its_series() -> None:
    h = _headline(_view(), "t2")
    assert h.tenant == "t2"
    assert h.funnel == {"sent": 100, "delivered": 90, "opened": 0, "clicked": 5, "paid": 0}
    assert h.ratios["delivery"] == pytest.approx(0.9)
    assert h.ratios["soft_bounce"] == pytest.approx(10 / 100)
    assert h.ratios["payment_success"] == 0.0
    assert h.ratios["promise_kept"] == 1.0
    assert h.ratios["landing_conversion"] is None
    assert h.collected_minor == {"EUR": 100, "GBP": 50}


@pytest.mark.parametrize("tenant", [None, "t1", "t2"])
@pytest.mark.parametrize(
    "name", ["delivery", "bounce", "hard_bounce", "soft_bounce", "open", "promise_kept"]
)
def test_each_ratio_is_the_definition_summed_over_the_hidden_labels(
    name: str, tenant: str | None
) -> None:
    # what sum(numerator) / sum(denominator) over the /metrics series gives
    grouped = dataclasses.replace(ratio_by_name(name), labels=("tenant",) if tenant else ())
    by_group = evaluate_ratio(grouped, _window())
    want = by_group.get(labelset(tenant=tenant) if tenant else labelset())
    assert _headline(_view(), tenant).ratios[name] == pytest.approx(want)


def test_nothing_counted_gives_zero_counts_and_no_ratio() -> None:
    h = _headline(_view(hour={}))
    assert set(h.funnel.values()) == {0}
    assert set(h.ratios.values()) == {None}
    assert h.collected_minor == {}


def test_pipeline_health_is_the_models() -> None:
    positions = LogPositions(
        begin={("delivery", 0): 0, ("delivery", 1): 0},
        end={("delivery", 0): 13, ("delivery", 1): 5},
    )
    h = _headline(_view(), probes=Probes(positions=positions))
    p = h.pipeline
    assert (p.live_workers, p.dead_lettered) == (1, 3)
    assert p.consumer_lag_records == (13 - 10) + (5 - 5)
    assert p.dependencies == {"redis": True, "kafka": True}
    (delivery,) = p.topics
    assert delivery.topic == "delivery"
    assert delivery.last_event_age_s == 30
    assert delivery.processing_lag_s == pytest.approx(1.25)
    assert delivery.consumer_lag_records == 3


def test_without_kafka_the_lag_is_unknown_not_zero() -> None:
    h = _headline(_view(), probes=Probes(kafka_error="no answer within the timeout"))
    assert h.pipeline.consumer_lag_records is None
    assert h.pipeline.dependencies["kafka"] is False
