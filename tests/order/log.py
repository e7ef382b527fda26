"""A seeded log of every canonical event type, some of it as raw SES webhooks, with duplicates.

Each ``Entry`` is one record to publish (topic, key, bytes) together with what it
means canonically (``topic`` and ``body``, the canonical event as a plain dict), so
the oracle never reads provider payloads or collectpulse's code. A raw SES record
means the canonical event its adapter yields (documented mapping: Send -> sent,
Delivery -> delivered, Open -> human open, Click -> click, tags ``cp_*`` -> labels).

Shape: ``customers`` customers, each with a few messages (email, sms and some
letters), most delivered, some bounced, opened (machine opens too, several opens)
and clicked; landing views by customers and anonymous visitors from email, sms and
direct; payments (succeeded / failed / aborted, half naming a message) and
promises (installment plans made self-service among them). A tenant ``acme`` and a
segment ``retail`` on some. Every third customer has an account whose versions
(placement, payments, reassignments, closing, re-opening) follow in event time,
drawn from an rng of its own so the rest of the log is the same as without them;
due dates lie mid-bucket, so a run crossing midnight keeps every DPD bucket.
Promises with a lifecycle (made, then kept or broken under the same promise id, a
kept sometimes reported twice) come from a generator of their own too.
Contact attempts (drawn from their own generator, so the
rest of the log is what it was without them): outbound dialer attempts of the usual
outcome mix by a few agents and teams, inbound calls, some from unidentified callers
(keyed by contact id), and some contacts published again under a new event id (a
duplicate by ``contact_id``). Costs (their own generator too): per tenant, GBP labour
over the last 100 days corrected once (the correction's occurred_at later), telephony
of the last 20 days, CHF platform fees ending 10 days ago, EUR fees (the payments'
currency) and a cost long past every window. About 8 % of records are published again later with
the same bytes. Every event time lies in the ``SPAN_S`` before ``base_s``.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from tests.support import events as ev

SPAN_S = 5400
CAMPAIGNS = ("spring", "winback")
VARIANTS = ("control", "b")
SOURCES = ("email", "sms", "direct")
DEVICES = (None, "mobile", "desktop")
DUPLICATE_SHARE = 0.08
RAW_SES_SHARE = 0.2
"""Share of e-mail messages whose events all arrive as raw SES webhooks."""


@dataclass(frozen=True)
class Entry:
    """One record of the log and its canonical meaning."""

    topic: str
    """Topic name without prefix: a canonical topic or ``raw.ses``."""
    key: bytes
    value: bytes
    at_s: int
    """Event time; with ``seq`` it gives the event-time publishing order."""
    seq: float
    canonical_topic: str
    body: dict[str, Any]
    duplicate: bool = False


def generate(seed: int, *, base_s: int, customers: int = 300) -> list[Entry]:
    """The log for ``seed`` in event-time order (duplicates a little after their original)."""
    gen = _Gen(random.Random(seed), seed, base_s - SPAN_S)
    accounts = random.Random(seed + 2)
    for n in range(customers):
        gen.customer(n)
        if n % 3 == 1:
            gen.account(accounts, f"cust-{seed}-{n}", "acme" if n % 5 == 0 else None)
    for n in range(customers // 3):
        gen.anonymous_view(n)
    contacts = random.Random(seed + 2)
    for n in range(customers // 2):
        gen.contact(contacts, f"cust-{seed}-{contacts.randrange(customers)}", n)
    promises = random.Random(seed + 3)
    for n in range(customers // 4):
        gen.promise_lifecycle(promises, f"cust-{seed}-{promises.randrange(customers)}", n)
    gen.costs(random.Random(seed + 4), base_s)
    entries = sorted(gen.entries, key=lambda e: e.seq)
    rng = random.Random(seed + 1)
    out = list(entries)
    for e in entries:
        if rng.random() < DUPLICATE_SHARE:
            later = min(e.at_s + rng.randrange(1, 900), base_s)
            out.append(
                Entry(e.topic, e.key, e.value, later, later + 0.5, e.canonical_topic, e.body, True)
            )
    return sorted(out, key=lambda e: e.seq)


class _Gen:
    def __init__(self, rng: random.Random, seed: int, start_s: int) -> None:
        self.rng = rng
        self.seed = seed
        self.start_s = start_s
        self.entries: list[Entry] = []
        self._n = 0

    def id(self, kind: str) -> str:
        self._n += 1
        return f"{kind}-{self.seed}-{self._n}"

    def at(self, lo: int = 0, hi: int = SPAN_S - 1) -> int:
        return self.start_s + self.rng.randrange(lo, hi)

    def add(self, topic: str, key: str, body: dict[str, Any], *, raw: bytes | None = None) -> None:
        at_s = event_s(body)
        self._n += 1
        value = raw if raw is not None else orjson.dumps(body)
        canonical = topic_of(body)
        seq = at_s + self._n / 1e6  # event time, ties in generation order
        self.entries.append(Entry(topic, key.encode(), value, at_s, seq, canonical, body))

    def customer(self, n: int) -> None:
        rng = self.rng
        cid = f"cust-{self.seed}-{n}"
        tenant = "acme" if n % 5 == 0 else None
        sends = [self.message(cid, tenant, k) for k in range(rng.choice((0, 1, 1, 2, 3)))]
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            self.view(cid, tenant, f"vis-{self.seed}-{n}")
        for _ in range(rng.choice((0, 1, 1, 2))):
            self.payment(cid, tenant, sends)
        if n % 17 == 3:  # struggling: three failures and no success at all
            for _ in range(3):
                self.payment(cid, tenant, [], status="failed")
        for _ in range(rng.choice((0, 0, 1, 2))):
            self.promise(cid, tenant)

    def message(self, cid: str, tenant: str | None, k: int) -> tuple[str, int]:
        """The message's events; returns its id and send time."""
        rng = self.rng
        channel = rng.choice(("email", "email", "sms", "letter") if k == 0 else ("email", "sms"))
        mid = self.id("msg")
        sent_s = self.at(0, SPAN_S - 2400)
        sent = ev.sent(
            mid,
            sent_s,
            campaign=rng.choice(CAMPAIGNS),
            variant=rng.choice(VARIANTS),
            channel=channel,
            customer_id=cid,
            event_id=self.id("sent"),
        )
        if tenant:
            sent["tenant"] = tenant
        if rng.random() < 0.2:
            sent["segment"] = "retail"
        raw = channel == "email" and rng.random() < RAW_SES_SHARE
        events: list[dict[str, Any]] = [sent]
        t = sent_s
        if channel != "letter":
            t += rng.randrange(1, 60)
            if rng.random() < 0.15 and not raw:
                events.append(ev.bounce(mid, t, "soft", event_id=self.id("bo")))
                t += rng.randrange(1, 60)
            if rng.random() < 0.88:
                events.append(ev.delivered(mid, t, channel=channel, event_id=self.id("dl")))
                for _ in range(rng.choice((0, 1, 1, 2, 3))):
                    t += rng.randrange(5, 400)
                    machine = not raw and rng.random() < 0.25
                    events.append(ev.opened(mid, t, machine=machine, event_id=self.id("op")))
                if len(events) > 2 and rng.random() < 0.6:
                    for _ in range(rng.choice((1, 1, 2))):
                        t += rng.randrange(1, 300)
                        events.append(ev.clicked(mid, t, event_id=self.id("cl")))
            elif not raw:
                events.append(ev.bounce(mid, t, "hard", event_id=self.id("bo")))
        for body in events:
            topic = topic_of(body)
            if raw:
                self.add("raw.ses", mid, body, raw=ses_payload(body, sent))
            else:
                self.add(topic, mid, body)
        return mid, sent_s

    def view(self, cid: str | None, tenant: str | None, visitor: str) -> None:
        at_s = self.at()
        body = ev.pageview(visitor, at_s, self.rng.choice(SOURCES), event_id=self.id("pv"))
        # from the event id, not the log's rng: every other draw of the log stays as it was
        device = DEVICES[zlib.crc32(body["event_id"].encode()) % len(DEVICES)]
        if device is not None:  # K22: conversion by device; None: a schema_version 1 view
            body |= {"schema_version": 2, "device": device}
        if cid:
            body["customer_id"] = cid
        if tenant:
            body["tenant"] = tenant
        self.add("pageview", visitor, body)

    def anonymous_view(self, n: int) -> None:
        self.view(None, None, f"anon-{self.seed}-{n % 40}")

    def payment(
        self,
        cid: str,
        tenant: str | None,
        sends: list[tuple[str, int]],
        *,
        status: str | None = None,
    ) -> None:
        """A payment; half name one of the customer's messages sent before it."""
        rng = self.rng
        status = status or rng.choice(("succeeded", "succeeded", "succeeded", "failed", "aborted"))
        amount = rng.randrange(1, 50) * 1000
        currency = rng.choice(("EUR", "EUR", "USD"))
        at_s = self.at(1800)
        body = ev.payment(cid, at_s, status, amount, currency, event_id=self.id("pay"))
        earlier = [mid for mid, sent_s in sends if sent_s < at_s]
        if earlier and rng.random() < 0.5:
            body["message_id"] = rng.choice(earlier)
        if rng.random() < 0.25:
            body["agent_id"] = "agent-1"
        if tenant:
            body["tenant"] = tenant
        self.add("payment", cid, body)

    def promise(self, cid: str, tenant: str | None) -> None:
        rng = self.rng
        if rng.random() < 0.5:
            kind, status, direction = "installment_plan", "made", "self_service"
        else:
            kind = rng.choice(("promise_to_pay", "installment_plan"))
            status = rng.choice(("made", "kept", "broken", "cancelled"))
            direction = rng.choice(("inbound", "outbound", "self_service"))
        body = ev.promise(cid, self.at(1800), status, direction, kind, event_id=self.id("ptp"))
        if tenant:
            body["tenant"] = tenant
        self.add("promise", cid, body)

    def promise_lifecycle(self, rng: random.Random, cid: str, n: int) -> None:
        """A promise made (by an agent unless self-service) and later kept, broken or
        still open, under one promise id; some kept ones reported twice (K4-K6)."""
        direction = rng.choice(("outbound", "outbound", "inbound", "self_service"))
        kind = rng.choice(("promise_to_pay", "promise_to_pay", "installment_plan"))
        made_s = self.start_s + rng.randrange(60, SPAN_S - 1800)
        body = ev.promise(cid, made_s, "made", direction, kind, event_id=self.id("ptp"))
        body["promise_id"] = f"plc-{self.seed}-{n}"
        if direction != "self_service":
            body["agent_id"] = rng.choice(AGENTS)
        if n % 5 == 0:
            body["tenant"] = "acme"
        self.add("promise", cid, body)
        outcome = rng.choice(("kept", "kept", "broken", None))
        if outcome is None:
            return
        later = {"occurred_at": ev.iso(made_s + rng.randrange(60, 1800)), "status": outcome}
        self.add("promise", cid, {**body, **later, "event_id": self.id("ptp")})
        if outcome == "kept" and n % 4 == 1:  # the outcome reported again, another event id
            self.add("promise", cid, {**body, **later, "event_id": self.id("ptp")})

    def account(self, rng: random.Random, cid: str, tenant: str | None) -> None:
        """An account's versions in event time, each carrying the full state."""
        aid = self.id("acct")
        today = datetime.fromtimestamp(self.start_s + SPAN_S, UTC).date()
        currency = rng.choice(ACCOUNT_CURRENCIES)
        balance = rng.randrange(1, 200) * 500
        state: dict[str, Any] = {
            "account_id": aid,
            "customer_id": cid,
            "currency": currency,
            "balance_minor": 0,
            "status": "open",
            "agent_id": rng.choice(ACCOUNT_AGENTS),
            "team": rng.choice(ACCOUNT_TEAMS),
        }
        at_s = self.at(0, SPAN_S - 600)
        first_s = at_s
        for version in range(1, rng.choice((1, 2, 3, 4, 5)) + 1):
            change, delta = "placed", balance
            if version > 1:
                change = rng.choice(("payment", "charge", "assigned", "status", "write_off"))
                delta = 0
                if change == "payment":
                    delta = -min(state["balance_minor"], rng.randrange(1, 40) * 500)
                elif change == "charge":
                    delta = rng.randrange(1, 20) * 500
                elif change == "assigned":
                    state["agent_id"] = rng.choice(ACCOUNT_AGENTS)
                    state["team"] = rng.choice(ACCOUNT_TEAMS)
                elif change == "status":  # closing, re-opening, entering a plan
                    state["status"] = rng.choice(("open", "in_plan", "closed", "settled"))
                else:
                    delta = -state["balance_minor"]
                    state["status"] = "written_off"
            state["balance_minor"] += delta
            dpd = rng.choice(ACCOUNT_DPD)
            body = {
                "event_id": f"acct-{aid}-v{version}",
                "occurred_at": datetime.fromtimestamp(at_s, UTC).isoformat(),
                **state,
                "change": change,
                "version": version,
                "delta_minor": delta,
                "due_date": (today - timedelta(days=dpd)).isoformat(),
            }
            if tenant:
                body["tenant"] = tenant
            if version % 2:  # agency fees (K11) that change between versions; no draw
                body["commission_bp"] = 250 * version
            self.add("account", cid, body)
            at_s += rng.randrange(1, 60)
        if version > 1:  # a payment between the versions (no draw): K10 by team, K11
            self.account_payment(cid, tenant, aid, currency, version, (first_s + at_s) // 2)

    def account_payment(
        self, cid: str, tenant: str | None, aid: str, currency: str, versions: int, at_s: int
    ) -> None:
        """A succeeded payment in the account's currency, named (odd ``versions``) or left
        to the only-open-account rule, under the team and commission of the version in
        force at its time. It names an agent: the assignee credit, which may depend on
        arrival (see ACCOUNT_CURRENCIES), does not apply."""
        amount = 1000 * versions
        body = ev.payment(cid, at_s, "succeeded", amount, currency, event_id=self.id("pay"))
        body.update(agent_id="agent-1", schema_version=2)
        if versions % 2:
            body["account_id"] = aid
        if tenant:
            body["tenant"] = tenant
        self.add("payment", cid, body)

    def contact(self, rng: random.Random, cid: str, n: int) -> None:
        """One contact attempt (a sixth inbound, a third of those unidentified)."""
        at_s = self.start_s + rng.randrange(60, SPAN_S - 1)
        agent = rng.choice(AGENTS)
        if n % 6 == 5:
            customer = cid if rng.random() < 0.66 else None
            outcome = rng.choice(("right_party", "right_party", "wrong_party"))
            body = _contact(self.id("cx"), at_s, customer, "inbound", outcome)
            body.update(channel=rng.choice(("call", "chat", "email_reply")), agent_id=agent)
        else:
            outcome = rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0]
            body = _contact(self.id("cx"), at_s, cid, "outbound", outcome)
            body["dialer_campaign"] = rng.choice(("dpd-30", "dpd-60"))
            if outcome in ("right_party", "wrong_party") or rng.random() < 0.3:
                body["agent_id"] = agent
        if body.get("agent_id"):
            body["team"] = "early" if body["agent_id"] in AGENTS[:2] else "late"
        if n % 9 == 0:
            body["tenant"] = "acme"
        key = body["customer_id"] or body["contact_id"]
        self.add("contact", key, body)
        if n % 11 == 4:  # the attempt published again under another event id
            self.add("contact", key, {**body, "event_id": self.id("cx")})

    def costs(self, rng: random.Random, base_s: int) -> None:
        """Each tenant's costs (K11, K12), dated by the UTC day of ``base_s``."""
        today = datetime.fromtimestamp(base_s, UTC).date()
        for tenant in ("acme", None):
            name = tenant or "none"
            plan = (
                (f"lab-{name}", "labour", "GBP", -99, 100),
                (f"lab-{name}", "labour", "GBP", -99, 100),  # its correction, later
                (f"tel-{name}", "telephony", "GBP", -19, 20),
                (f"plat-{name}", "platform", "CHF", -40, 30),
                (f"fee-{name}", "fees", "EUR", -5, 10),  # the payments' currency
                (f"old-{name}", "messaging", "GBP", -300, 100),
            )
            at_s = self.start_s + rng.randrange(60, SPAN_S // 2)
            for cost_id, category, currency, first, days in plan:
                at_s += rng.randrange(1, 600)
                start = today + timedelta(days=first)
                body = {
                    "event_id": self.id("cost"),
                    "occurred_at": ev.iso(at_s),
                    "cost_id": cost_id,
                    "category": category,
                    "amount_minor": rng.randrange(1_000, 900_000),
                    "currency": currency,
                    "period_start": start.isoformat(),
                    "period_end": (start + timedelta(days=days)).isoformat(),
                }
                if tenant:
                    body["tenant"] = tenant
                self.add("cost", cost_id, body)


ACCOUNT_CURRENCIES = ("GBP", "GBP", "CHF")
"""Not the payments' currencies: a payment without agent_id would be credited to its
account's assignee at its time, and catalog section 9 lets that depend on arrival (an
assignment applied after the payment does not re-credit it), which no order test can
pin. tests/unit/store/test_assignee_credit.py and the agents API run cover that rule."""
ACCOUNT_AGENTS = ("agent-1", "agent-2", "agent-3", None)
ACCOUNT_TEAMS = ("t1", "t2", None)
ACCOUNT_DPD = (-10, 15, 45, 75, 120)
"""Days past due mid-bucket (current, 1_30, 31_60, 61_90, 91_plus)."""
AGENTS = ("agent-1", "agent-2", "agent-3")
OUTCOMES = ("no_answer", "voicemail", "right_party", "wrong_party", "busy", "invalid_number")
OUTCOME_WEIGHTS = (45, 20, 15, 5, 10, 5)


def _contact(
    event_id: str, at_s: int, customer: str | None, direction: str, outcome: str
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "occurred_at": ev.iso(at_s),
        "contact_id": f"contact-{event_id}",
        "customer_id": customer,
        "direction": direction,
        "channel": "call",
        "outcome": outcome,
        "started_at": ev.iso(at_s - 40),
        "duration_s": 0,
    }


def event_s(body: dict[str, Any]) -> int:
    return int(datetime.fromisoformat(body["occurred_at"]).timestamp())


def topic_of(body: dict[str, Any]) -> str:
    """The canonical topic of a generated body (its event id names its kind)."""
    prefix = body["event_id"].split("-", 1)[0]
    return _TOPIC_BY_PREFIX[prefix]


_TOPIC_BY_PREFIX = {
    "sent": "delivery",
    "dl": "delivery",
    "bo": "bounce",
    "op": "open",
    "cl": "click",
    "pv": "pageview",
    "pay": "payment",
    "ptp": "promise",
    "acct": "account",
    "cx": "contact",
    "cost": "cost",
}

_SES_TYPE = {"sent": "Send", "dl": "Delivery", "op": "Open", "cl": "Click"}


def ses_payload(body: dict[str, Any], sent: dict[str, Any]) -> bytes:
    """The SES event-publishing record for canonical ``body`` of a message sent by ``sent``.

    SES has no event id: the adapter derives one from message, type, recipient and time,
    so a retried webhook (same bytes) is the same event.
    """
    event_type = _SES_TYPE[body["event_id"].split("-", 1)[0]]
    stamp = body["occurred_at"].replace("+00:00", ".000Z")
    tags = {
        "cp_campaign": [sent["campaign"]],
        "cp_variant": [sent["variant"]],
        "cp_customer_id": [sent["customer_id"]],
        "cp_segment": [sent.get("segment", "default")],
    }
    if sent.get("tenant"):
        tags["cp_tenant"] = [sent["tenant"]]
    mail = {
        "timestamp": sent["occurred_at"].replace("+00:00", ".000Z"),
        "source": "collections@collect.example",
        "messageId": body["message_id"],
        "destination": ["debtor@example.net"],
        "tags": tags,
    }
    event: dict[str, Any] = {"eventType": event_type, "mail": mail}
    if event_type == "Delivery":
        event["delivery"] = {"timestamp": stamp, "recipients": ["debtor@example.net"]}
    elif event_type == "Open":
        event["open"] = {"timestamp": stamp, "userAgent": "Mozilla/5.0"}
    elif event_type == "Click":
        event["click"] = {"timestamp": stamp, "link": "https://pay.example/x"}
    return orjson.dumps(event)
