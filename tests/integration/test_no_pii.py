"""No personal data leaves the pipeline through /metrics or the logs.

A scenario of every canonical event type (plus poison) carries customer ids, visitor ids,
message ids, e-mail addresses, phone numbers and URLs that are random tokens made for
this run. It goes through real Kafka, a real worker (logging at info) and Redis to the
exporter; then the whole /metrics body and every line of both logs are searched for each
token and for anything shaped like an e-mail address, a phone number or a URL.
The agents' JSON API returns customer ids by design: its answers are not scanned, the
logs written while it answered are.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest

from collectpulse.events.keys import KEY_FIELD
from collectpulse.events.models import Topic
from collectpulse.settings import Settings
from tests.support.kafka import create_topics, publish
from tests.support.metrics import total, wait_for
from tests.support.processes import collectpulse_process, free_port

pytestmark = pytest.mark.integration

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE = re.compile(r"\+\d{8,}")
URL = re.compile(r"https?://[^\s\"'<>]+")


class Tokens:
    """Distinctive personal-looking values, each remembered so the scan can look for it."""

    def __init__(self) -> None:
        self.all: list[str] = []

    def _keep(self, value: str) -> str:
        self.all.append(value)
        return value

    def id(self, kind: str) -> str:
        return self._keep(f"{kind}{secrets.token_hex(6)}")

    def email(self) -> str:
        return self._keep(f"debtor.{secrets.token_hex(5)}@mail-{secrets.token_hex(3)}.example")

    def phone(self) -> str:
        return self._keep("+44" + "".join(secrets.choice("0123456789") for _ in range(10)))

    def url(self) -> str:
        return self._keep(f"https://pay-{secrets.token_hex(3)}.example/p/{secrets.token_hex(6)}")


def _scenario(tok: Tokens, now: datetime) -> list[tuple[Topic, dict[str, Any]]]:
    """Valid events of every type; ids are tokens, e-mail addresses or phone numbers."""
    events: list[tuple[Topic, dict[str, Any]]] = []
    seq = iter(range(10_000))

    def at(topic: Topic, body: dict[str, Any]) -> None:
        i = next(seq)
        envelope = {
            "event_id": f"ev-{secrets.token_hex(8)}",
            "occurred_at": (now - timedelta(seconds=300 - i)).isoformat(),
        }
        events.append((topic, {**envelope, **body}))

    customers = [tok.id("cust"), tok.email(), tok.phone()]
    # agent ids are a per-agent label by design (KPI catalog); one that is an e-mail
    # address must be reported as __redacted__, never as itself
    agents = ["agent-7", tok.email(), tok.phone()]
    for n, customer in enumerate(customers):
        agent = agents[n]
        message = [tok.id("msg"), tok.email(), tok.phone()][n]
        channel = ["email", "email", "sms"][n]
        sent = {"status": "sent", "channel": channel, "customer_id": customer}
        at(Topic.DELIVERY, {"message_id": message, **sent, "campaign": "dunning", "variant": "a"})
        at(Topic.DELIVERY, {"message_id": message, "status": "delivered", "channel": channel})
        at(Topic.OPEN, {"message_id": message})
        at(Topic.CLICK, {"message_id": message, "url": tok.url()})
        visitor = [tok.id("vis"), tok.email(), tok.phone()][n]
        page = {"customer_id": customer, "message_id": message, "page": tok.url()}
        at(Topic.PAGEVIEW, {"visitor_id": visitor, "source": "email", **page})
        money = {"amount_minor": 1500, "currency": "EUR"}
        for status in ("failed", "aborted", "succeeded"):
            payment = {"payment_id": tok.id("pay"), "customer_id": customer, "status": status}
            at(Topic.PAYMENT, {**payment, **money, "message_id": message, "agent_id": agent})
        promise = {"kind": "promise_to_pay", "status": "made", "direction": "inbound"}
        at(
            Topic.PROMISE,
            {"promise_id": tok.id("ptp"), "customer_id": customer, **promise, **money}
            | {"due_date": "2027-01-31", "agent_id": agent},
        )
        # contacts label team, agent and dialer campaign: personal-looking ones are redacted
        call = {"direction": "outbound", "channel": "call", "outcome": "right_party"}
        at(
            Topic.CONTACT,
            {"contact_id": [tok.id("cx"), tok.email(), tok.phone()][n], "customer_id": customer}
            | call
            | {"agent_id": agent, "team": ["early", tok.email(), tok.phone()][n]}
            | {"dialer_campaign": ["dpd-30", tok.phone(), tok.email()][n], "duration_s": 60}
            | {"started_at": (now - timedelta(seconds=900)).isoformat()},
        )
        bounced = tok.id("msg")
        at(Topic.DELIVERY, {"message_id": bounced, **sent, "campaign": "dunning", "variant": "b"})
        reason = f"550 mailbox {tok.email()} unknown, see {tok.url()} or call {tok.phone()}"
        at(Topic.BOUNCE, {"message_id": bounced, "bounce_type": "hard", "reason": reason})
    return events


def _poison(tok: Tokens, now: datetime) -> list[tuple[Topic, bytes]]:
    """Invalid records that carry personal data: bad JSON, schema violations."""
    when = now.isoformat()
    return [
        (Topic.OPEN, f'{{"message_id": "{tok.email()}", "note": "{tok.url()}'.encode()),
        (
            Topic.PAYMENT,
            orjson.dumps(
                {"event_id": tok.id("ev"), "occurred_at": when, "payment_id": tok.id("pay")}
                | {"customer_id": tok.phone(), "status": "failed", "amount_minor": "12"}
                | {"currency": "EUR"}
            ),
        ),
        (
            Topic.CLICK,
            orjson.dumps({"event_id": tok.id("ev"), "occurred_at": 1700000000, "url": tok.url()}),
        ),
        (
            Topic.PAGEVIEW,
            orjson.dumps(
                {"event_id": tok.id("ev"), "occurred_at": when, "visitor_id": tok.email()}
                | {"source": tok.phone(), "page": tok.url()}
            ),
        ),
    ]


def _leaks(text: str, where: str, tokens: list[str], allowed_urls: set[str]) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        hits = [t for t in tokens if t in line]
        hits += [m.group(0) for m in EMAIL.finditer(line)]
        hits += [m.group(0) for m in PHONE.finditer(line)]
        hits += [u for u in URL.findall(line) if u not in allowed_urls]
        found += [f"{where}:{number}: {hit!r} in {line[:300]!r}" for hit in hits]
    return found


async def test_metrics_and_logs_carry_no_ids_emails_phones_or_urls(
    settings: Settings, tmp_path: Path
) -> None:
    tok = Tokens()
    now = datetime.now(UTC)
    events = _scenario(tok, now)
    poison = _poison(tok, now)
    await create_topics(settings)
    for topic in Topic:
        messages = [
            (str(e[KEY_FIELD[topic]]).encode(), orjson.dumps(e)) for t, e in events if t is topic
        ]
        # a key that is itself a phone number but not the event's key field
        if topic is Topic.PAYMENT:
            messages.append((tok.phone().encode(), messages[0][1].replace(b'"ev-', b'"ev-x')))
        messages += [(tok.email().encode(), raw) for t, raw in poison if t is topic]
        await publish(settings, settings.topic(topic.value), messages)
    published = len(events) + 1 + len(poison)

    port = free_port()
    own_url = f"http://127.0.0.1:{port}/metrics"
    worker_log, exporter_log = tmp_path / "worker.log", tmp_path / "exporter.log"
    with (
        collectpulse_process(settings, "worker", "-l", "info", log=worker_log) as worker,
        collectpulse_process(
            settings, "exporter", log=exporter_log, COLLECTPULSE_HTTP_PORT=str(port)
        ) as exporter,
    ):

        def all_counted(s: dict[Any, float]) -> bool:
            return total(s, "collectpulse_events_received_total") >= published

        samples = await wait_for(own_url, all_counted, timeout_s=120, processes=[worker, exporter])
        assert total(samples, "collectpulse_events_received_total") == published
        assert total(samples, "collectpulse_events_invalid_total") == len(poison)
        async with httpx.AsyncClient(timeout=10) as client:
            body = (await client.get(own_url)).text
        assert "collectpulse_events_received_total" in body
        # the agents whose ids are an e-mail address and a phone number collected money
        # under the redacted value, and the redaction was counted
        redacted = total(samples, "collectpulse_collected_amount_minor_total", agent="__redacted__")
        assert redacted > 0
        assert total(samples, "collectpulse_label_overflows_total", label="agent") >= 1
        # the agent desktop's engagement API answers with the customer id it was asked
        # for, by design; it must not write it (or anything else personal) to a log
        customers = {e["customer_id"] for t, e in events if t is Topic.PAYMENT}
        async with httpx.AsyncClient(timeout=10) as client:
            for customer in customers:
                path = f"/api/v1/customers/{quote(customer, safe='')}/engagement"
                answer = await client.get(f"http://127.0.0.1:{port}{path}")
                assert answer.status_code == 200 and answer.json()["customer_id"] == customer
            too_long = f"/api/v1/customers/{tok.email() * 4}/engagement"
            assert (await client.get(f"http://127.0.0.1:{port}{too_long}")).status_code == 400
        # and the contacts whose team and dialer campaign look personal count redacted
        attempts = "collectpulse_contact_attempts_total"
        assert total(samples, attempts, team="__redacted__") == 2
        assert total(samples, attempts, dialer_campaign="__redacted__") == 2

    # both processes have stopped here, so their logs are complete
    leaks = _leaks(body, "/metrics", tok.all, set())
    for log in (worker_log, exporter_log):
        text = log.read_text(errors="replace")
        leaks += _leaks(text, log.name, tok.all, {own_url})
    assert worker_log.stat().st_size > 0, "the worker at info level should have logged something"
    assert not leaks, "personal data leaked:\n" + "\n".join(leaks[:40])
