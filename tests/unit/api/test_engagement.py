"""The engagement answer's shaping (pure): the history window, order, caps, the latest."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import orjson

from collectpulse.api.engagement import MAX_ROWS, engagement_body
from collectpulse.api.openapi import document

NOW = 1_800_000_000
DAY = 86_400
ROOT = Path(__file__).resolve().parents[3]


def message(campaign: str, sent_s: int, opened: int | None = None) -> str:
    return orjson.dumps([campaign, "email", sent_s, sent_s + 5, opened, None]).decode()


def test_only_the_history_is_shown_newest_first() -> None:
    facts = {
        "m:old": message("c", NOW - 3 * DAY - 1),
        "m:edge": message("c", NOW - 3 * DAY),
        "m:new": message("c", NOW - 10, opened=NOW - 5),
        "v:" + str(NOW - 4 * DAY): "email",
        "v:" + str(NOW - 60): "sms",
    }
    body = engagement_body("c1", facts, NOW, 3 * DAY)
    assert [m["message_id"] for m in body["messages"]] == ["new", "edge"]
    assert body["totals"]["received"] == 2 and body["totals"]["opened"] == 1
    assert body["views"] == [{"viewed_at": "2027-01-15T07:59:00Z", "source": "sms"}]
    assert body["since"] == "2027-01-12T08:00:00Z"


def test_the_latest_payment_and_promise_win_ties_by_event_id() -> None:
    facts = {
        "p:ev-a": orjson.dumps([NOW - 100, "succeeded", 500, "EUR"]).decode(),
        "p:ev-b": orjson.dumps([NOW - 100, "failed", 700, "EUR"]).decode(),
        "p:ev-c": orjson.dumps([NOW - 50 * DAY, "succeeded", 900, "EUR"]).decode(),
        "q:ev-d": orjson.dumps(
            [NOW - 9, "promise_to_pay", "made", "inbound", 100, "EUR", "2027-02-01"]
        ).decode(),
    }
    body = engagement_body("c1", facts, NOW, 30 * DAY)
    assert body["last_payment"]["status"] == "failed"  # ev-b sorts after ev-a
    assert body["last_successful_payment"]["amount_minor"] == 500  # ev-c is too old
    assert body["totals"]["payment_attempts"] == 2
    assert body["last_promise"]["due_date"] == "2027-02-01"


def test_lists_are_capped_but_totals_count_everything() -> None:
    facts = {f"m:{n}": message("c", NOW - n) for n in range(MAX_ROWS + 20)}
    body = engagement_body("c1", facts, NOW, DAY)
    assert len(body["messages"]) == MAX_ROWS
    assert body["totals"]["received"] == MAX_ROWS + 20


def test_an_empty_history_matches_the_openapi_schema() -> None:
    body = engagement_body("c1", {}, NOW, DAY)
    schema = {**document(), "$ref": "#/components/schemas/Engagement"}
    jsonschema.Draft202012Validator(schema).validate(body)
    assert body["messages"] == [] and body["last_promise"] is None


def test_the_committed_openapi_document_is_the_served_one() -> None:
    committed = json.loads((ROOT / "docs/api/openapi.json").read_text())
    assert committed == document(), "run: .venv/bin/python -m collectpulse.api"
