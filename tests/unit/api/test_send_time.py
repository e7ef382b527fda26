"""The send-time grid answer (pure): query checks, the grid layout, the schema, and the
/metrics families of K21 built from the same slot counts."""

from __future__ import annotations

import jsonschema
import pytest
from prometheus_client.core import Metric

from collectpulse.api.openapi import document
from collectpulse.api.send_time import BadQuery, parse_query, send_time_body
from collectpulse.exporter.send_time import send_time
from collectpulse.kpi.send_time import OBSERVATIONAL, Slot
from collectpulse.store.reader import StoreView

NOW = 1_800_000_000
CELLS = {
    Slot("delivered", "email", "spring", "acme", "1", "09"): 4,
    Slot("opened_human", "email", "spring", "acme", "1", "09"): 2,
    Slot("paid", "email", "spring", "acme", "7", "23"): 1,
    Slot("delivered", "sms", "winback", "", "3", "00"): 5,
}


def test_the_query_has_a_window_of_k21_and_known_filters_only() -> None:
    assert parse_query({}) == ("7d", {"campaign": None, "channel": None, "tenant": None})
    window, filters = parse_query({"window": "28d", "campaign": "spring"})
    assert window == "28d" and filters["campaign"] == "spring"
    with pytest.raises(BadQuery, match="window must be one of 7d, 28d"):
        parse_query({"window": "24h"})
    with pytest.raises(BadQuery, match="unknown query parameters: hour"):
        parse_query({"hour": "9"})


def test_the_grid_is_weekday_rows_by_hour_columns_in_the_tenants_zone() -> None:
    body = send_time_body("7d", NOW, CELLS, {}, {"acme": "Europe/Berlin"}, "UTC")
    schema = {**document(), "$ref": "#/components/schemas/SendTime"}
    jsonschema.Draft202012Validator(schema).validate(body)
    assert body["note"] == OBSERVATIONAL and "randomized" in OBSERVATIONAL
    grids = body["grids"]
    assert isinstance(grids, list)
    assert [(g["campaign"], g["time_zone"]) for g in grids] == [
        ("spring", "Europe/Berlin"),
        ("winback", "UTC"),
    ]
    spring = grids[0]["stages"]
    assert spring["delivered"][0][9] == 4 and spring["opened_human"][0][9] == 2
    assert spring["paid"][6][23] == 1 and sum(map(sum, spring["clicked"])) == 0
    assert grids[1]["stages"]["delivered"][2][0] == 5


def test_filters_keep_only_their_grids() -> None:
    body = send_time_body("7d", NOW, CELLS, {"channel": "sms"}, {}, "UTC")
    assert [g["campaign"] for g in body["grids"]] == ["winback"]  # type: ignore[attr-defined]
    assert send_time_body("7d", NOW, CELLS, {"tenant": "nobody"}, {}, "UTC")["grids"] == []


def _samples(metric: Metric) -> dict[tuple[str, ...], float]:
    return {tuple(s.labels.values()): s.value for s in metric.samples}


def test_metrics_have_every_hour_and_weekday_of_a_counted_channel_and_tenant() -> None:
    view = StoreView(now_s=NOW, partitions=(), totals={}, send_slots={"7d": CELLS, "28d": {}})
    by_hour, by_weekday = list(send_time(view))
    hours = _samples(by_hour)
    assert by_hour.name == "collectpulse_send_hour_messages"
    assert len(hours) == 2 * 24 * 4  # (email, acme) and (sms, ""): 24 hours x 4 stages
    assert hours[("email", "acme", "09", "delivered", "7d")] == 4
    assert hours[("email", "acme", "23", "paid", "7d")] == 1
    assert hours[("email", "acme", "10", "delivered", "7d")] == 0
    assert hours[("sms", "", "00", "delivered", "7d")] == 5
    days = _samples(by_weekday)
    assert len(days) == 2 * 7 * 4
    assert days[("email", "acme", "1", "opened_human", "7d")] == 2
    assert days[("email", "acme", "7", "paid", "7d")] == 1
