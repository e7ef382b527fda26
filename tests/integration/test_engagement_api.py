"""The agent desktop's engagement API on the real pipeline, against an oracle of the log.

Three customers' messages, opens, clicks, landing views, payments and promises go
through real Kafka (shuffled, with every event published twice), a real worker and
Redis to a real exporter; ``GET /api/v1/customers/{id}/engagement`` must then answer
exactly what the test computes from the log itself, match its OpenAPI document, and
answer any other path or parameter with a 4xx, never a 5xx.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema
import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from collectpulse.api.openapi import document
from collectpulse.events.keys import KEY_FIELD
from collectpulse.events.models import Topic
from collectpulse.settings import Settings
from tests.support import events as ev
from tests.support.kafka import create_topics, publish
from tests.support.pipeline import run_pipeline

pytestmark = pytest.mark.integration

DAY = 86_400
HISTORY = "3d"
CUSTOMERS = ("cust-eng-a", "cust-eng-b", "cust eng/ü")  # a space, a slash, a non-ASCII letter


def _log(now: float) -> list[tuple[Topic, dict[str, Any]]]:
    """Each customer: messages inside and outside the 3-day history, touches, views,
    payments and promises; one open arrives for a message before its send."""
    log: list[tuple[Topic, dict[str, Any]]] = []
    for n, customer in enumerate(CUSTOMERS):
        for m, age_h in enumerate((2, 30, 100)):  # the 100-hour-old message is too old
            mid = f"eng-{n}-{m}"
            sent_s = now - age_h * 3600
            log.append(
                (
                    Topic.DELIVERY,
                    ev.sent(mid, sent_s, customer_id=customer, campaign=f"c{m}", channel="email"),
                )
            )
            if m != 1 or n != 1:
                log.append((Topic.DELIVERY, ev.delivered(mid, sent_s + 60)))
            if m == 0:
                log.append((Topic.OPEN, ev.opened(mid, sent_s + 600)))
                log.append((Topic.OPEN, ev.opened(mid, sent_s + 300)))  # the earlier one wins
                log.append((Topic.CLICK, ev.clicked(mid, sent_s + 900)))
        view = ev.pageview(f"vis-{n}", now - 3000, "sms") | {"customer_id": customer}
        log.append((Topic.PAGEVIEW, view))
        log.append((Topic.PAYMENT, ev.payment(customer, now - 5000, "succeeded", 1000 + n)))
        log.append((Topic.PAYMENT, ev.payment(customer, now - 2000, "failed", 700)))
        log.append((Topic.PROMISE, ev.promise(customer, now - 4000, "made", "outbound")))
        log.append((Topic.PROMISE, ev.promise(customer, now - 100, "kept", "outbound")))
    return log


def _iso(at: float | None) -> str | None:
    return None if at is None else ev.iso(int(at)).replace("+00:00", "Z")


def _at(payload: dict[str, Any]) -> float:
    return datetime.fromisoformat(payload["occurred_at"]).timestamp()


def oracle(log: list[tuple[Topic, dict[str, Any]]], customer: str, now: float) -> dict[str, Any]:
    """The answer computed from the log alone (not from collectpulse's code)."""
    since = now - 3 * DAY
    delivered = {
        p["message_id"] for t, p in log if t is Topic.DELIVERY and p["status"] == "delivered"
    }
    # a message is known to the customer once delivered (e-mail has delivery receipts)
    sends = {
        p["message_id"]: p
        for t, p in log
        if t is Topic.DELIVERY
        and p["status"] == "sent"
        and p["customer_id"] == customer
        and p["message_id"] in delivered
    }

    def first(topic: Topic, mid: str, **match: str) -> str | None:
        times = [
            _at(p)
            for t, p in log
            if t is topic
            and p["message_id"] == mid
            and all(p.get(k) == v for k, v in match.items())
        ]
        return _iso(min(times)) if times else None

    messages = sorted(
        (
            {
                "message_id": mid,
                "campaign": p["campaign"],
                "channel": p["channel"],
                "sent_at": _iso(_at(p)),
                "delivered_at": first(Topic.DELIVERY, mid, status="delivered"),
                "opened_at": first(Topic.OPEN, mid),
                "clicked_at": first(Topic.CLICK, mid),
            }
            for mid, p in sends.items()
            if _at(p) >= since
        ),
        key=lambda m: (m["sent_at"], m["message_id"]),
        reverse=True,
    )
    mine = [(t, p) for t, p in log if p.get("customer_id") == customer]
    payments = sorted((_at(p), p["event_id"], p) for t, p in mine if t is Topic.PAYMENT)
    promises = sorted((_at(p), p["event_id"], p) for t, p in mine if t is Topic.PROMISE)
    views = sorted((_at(p), p["source"]) for t, p in mine if t is Topic.PAGEVIEW)

    def pay(p: dict[str, Any]) -> dict[str, Any]:
        return {
            "occurred_at": _iso(_at(p)),
            "status": p["status"],
            "amount_minor": p["amount_minor"],
            "currency": p["currency"],
        }

    last_promise = promises[-1][2]
    return {
        "customer_id": customer,
        "totals": {
            "received": len(messages),
            "opened": sum(1 for m in messages if m["opened_at"]),
            "clicked": sum(1 for m in messages if m["clicked_at"]),
            "views": len(views),
            "payment_attempts": len(payments),
            "promise_events": len(promises),
        },
        "messages": messages,
        "views": [{"viewed_at": _iso(at), "source": s} for at, s in reversed(views)],
        "last_payment": pay(payments[-1][2]),
        "last_successful_payment": pay(
            [p for _, _, p in payments if p["status"] == "succeeded"][-1]
        ),
        "last_promise": {
            "occurred_at": _iso(_at(last_promise)),
            "kind": last_promise["kind"],
            "status": last_promise["status"],
            "direction": last_promise["direction"],
            "amount_minor": last_promise["amount_minor"],
            "currency": last_promise["currency"],
            "due_date": last_promise["due_date"],
        },
    }


def engagement_schema() -> dict[str, Any]:
    doc = document()
    return {**doc, "$ref": "#/components/schemas/Engagement"}


async def test_engagement_answers_exactly_what_the_log_says_in_any_order(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"engagement_history": HISTORY})
    now = time.time()
    log = _log(now)
    shuffled = [*log, *log]  # every event twice: a provider retry, a replay
    random.Random(11).shuffle(shuffled)
    await create_topics(settings)
    for topic in Topic:
        batch = [
            (str(p[KEY_FIELD[topic]]).encode(), orjson.dumps(p)) for t, p in shuffled if t is topic
        ]
        if batch:
            await publish(settings, settings.topic(topic.value), batch)

    validator = jsonschema.Draft202012Validator(engagement_schema())
    with run_pipeline(settings, tmp_path) as pipe:
        async with httpx.AsyncClient(timeout=10) as client:
            for customer in CUSTOMERS:
                want = oracle(log, customer, now)
                url = pipe.url(f"/api/v1/customers/{quote(customer, safe='')}/engagement")
                got = await _poll(client, url, want, pipe)
                validator.validate(got)
            empty = (await client.get(pipe.url("/api/v1/customers/nobody/engagement"))).json()
            validator.validate(empty)
            assert empty["messages"] == [] and empty["last_payment"] is None
            assert (await client.get(pipe.url("/api/v1/openapi.json"))).json() == document()

            @hsettings(
                max_examples=60,
                deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture],
            )
            @given(
                path=st.text(min_size=0, max_size=200),
                query=st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
            )
            def no_5xx(path: str, query: dict[str, str]) -> None:
                url = pipe.url(f"/api/v1/customers/{quote(path, safe='')}/engagement")
                answer = httpx.get(url, params=query, timeout=10)
                assert answer.status_code < 500, (path, query, answer.text)
                if answer.status_code == 400:
                    assert answer.headers["content-type"].startswith("application/problem+json")

            no_5xx()


async def _poll(client: httpx.AsyncClient, url: str, want: dict[str, Any], pipe: Any) -> Any:
    """The answer once it matches the oracle (touches reach the customer side through the
    repartition topic, so they land a moment after the events are counted)."""
    deadline = time.monotonic() + 90
    got: Any = None
    while time.monotonic() < deadline:
        for proc in pipe.processes:
            assert proc.poll() is None, "a pipeline process exited"
        try:
            answer = await client.get(url)
        except httpx.ConnectError:  # the exporter is still starting
            await asyncio.sleep(0.2)
            continue
        assert answer.status_code == 200, answer.text
        got = answer.json()
        if {k: got.get(k) for k in want} == want:
            return got
        await asyncio.sleep(0.5)
    assert {k: got.get(k) for k in want} == want
    return got
