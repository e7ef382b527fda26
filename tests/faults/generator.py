"""The seeded event log the harness publishes: all seven topics, duplicates, poison, disorder.

``generate(seed, ...)`` is deterministic for a seed and a base time. What each
record is meant to be (valid, an upstream duplicate, poison and why) travels
with it as a ``Publication``, so the oracle never has to guess.

Shape of the log (ratios are per valid event, drawn from the seeded RNG):

- messages with a fate each: sent (5 % of them reported by a second system
  under another event_id), delivered or not, soft/hard bounces, machine and
  human opens, clicks; 10 % of messages have their delivery, opens and clicks
  published *before* their sent (out of order across topics);
- landing-page views, payments (with and without agent) and promises by
  customers who never got a message;
- after a barrier (``Log.barrier``: the harness waits until everything before
  it, repartitioned touches included, is in the store), payments by customers
  who got a message, half of them naming it: their attribution is then
  decided, whatever the faults did to the order of processing;
- about 10 % of valid events are published again later with the same bytes
  (an upstream duplicate, same event_id and key);
- about 1 % poison: not JSON, schema violations and oversized values.

Event times are whole seconds inside the last half hour before ``base_s`` so
every window (1 h and up) holds all of them when the run is checked.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from collectpulse.events.models import Topic
from tests.support import events as ev

CAMPAIGNS = ("spring", "autumn", "winback")
VARIANTS = ("control", "b")
CHANNELS = ("email", "sms")
SOURCES = ("direct", "email", "sms", "letter", "other")
AGENTS = (None, None, "agent-1", "agent-2")
SPAN_S = 1800
OVERSIZED_BYTES = 70_000  # above the default COLLECTPULSE_MAX_EVENT_BYTES (65,536)


class Kind(StrEnum):
    VALID = "valid"
    DUPLICATE = "duplicate"
    POISON = "poison"


@dataclass(frozen=True)
class Publication:
    """One record to publish and what it is meant to be."""

    topic: Topic
    key: bytes
    value: bytes
    kind: Kind
    reason: str = ""
    """For poison: the ``cp-error-reason`` the dead-letter record must carry."""


@dataclass
class _Draft:
    """A valid event waiting for its place in the log; ``slot`` orders publishing."""

    slot: float
    topic: Topic
    key: str
    body: dict[str, Any]


@dataclass
class Log:
    publications: list[Publication] = field(default_factory=list)
    barrier: int = 0
    """Publications from this index on go out once everything before is in the store."""

    def count(self, kind: Kind) -> int:
        return sum(1 for p in self.publications if p.kind is kind)


def generate(
    seed: int,
    *,
    base_s: int,
    messages: int,
    duplicate_share: float = 0.10,
    poison_share: float = 0.01,
) -> Log:
    """The log for ``seed``: about ``messages`` x 5 records, in publishing order."""
    rng = random.Random(seed)
    ids = _Ids(seed)
    drafts: list[_Draft] = []
    start_s = base_s - SPAN_S
    for n in range(messages):
        drafts.extend(_message_events(rng, ids, n, start_s + rng.randrange(SPAN_S - 1200)))
    for _ in range(messages // 2):
        visitor = f"vis-{rng.randrange(max(messages // 8, 5))}"
        at_s = start_s + rng.randrange(SPAN_S)
        body = ev.pageview(visitor, at_s, rng.choice(SOURCES), event_id=ids.next("pv"))
        drafts.append(_Draft(at_s, Topic.PAGEVIEW, visitor, body))
    drafts.extend(_customer_events(rng, ids, messages, start_s))
    drafts.sort(key=lambda d: d.slot)
    log = Log()
    _append(log, rng, ids, drafts, duplicate_share, poison_share)
    log.barrier = len(log.publications)
    _append(log, rng, ids, _recipient_payments(rng, ids, messages, base_s), duplicate_share, 0.0)
    return log


def _append(
    log: Log,
    rng: random.Random,
    ids: _Ids,
    drafts: list[_Draft],
    duplicate_share: float,
    poison_share: float,
) -> None:
    pending_duplicates: list[tuple[int, Publication]] = []
    for position, draft in enumerate(drafts):
        pub = Publication(draft.topic, draft.key.encode(), orjson.dumps(draft.body), Kind.VALID)
        log.publications.append(pub)
        if rng.random() < duplicate_share:
            # the same bytes again, a little or a lot later (another batch, maybe past a fault)
            later = position + rng.randrange(3, 400)
            dup = Publication(pub.topic, pub.key, pub.value, Kind.DUPLICATE)
            pending_duplicates.append((later, dup))
        if rng.random() < poison_share:
            log.publications.append(_poison(rng, ids))
        due = [d for at, d in pending_duplicates if at <= position]
        pending_duplicates = [(at, d) for at, d in pending_duplicates if at > position]
        log.publications.extend(due)
    log.publications.extend(d for _, d in pending_duplicates)


class _Ids:
    """Event ids unique to the seed, so two runs on one broker never collide."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._n = 0

    def next(self, kind: str) -> str:
        self._n += 1
        return f"{kind}-{self._seed}-{self._n}"


def _message_events(rng: random.Random, ids: _Ids, n: int, sent_s: int) -> list[_Draft]:
    mid = f"msg-{n}"
    campaign, variant, channel = rng.choice(CAMPAIGNS), rng.choice(VARIANTS), rng.choice(CHANNELS)
    sends = [
        ev.sent(
            mid,
            sent_s,
            campaign=campaign,
            variant=variant,
            channel=channel,
            customer_id=f"debtor-{n}",
            event_id=ids.next("sent"),
        )
    ]
    if rng.random() < 0.05:  # the mailer and the provider both report the send
        sends.append({**sends[0], "event_id": ids.next("sent")})
    after: list[tuple[int, Topic, dict[str, Any]]] = []
    t = sent_s + rng.randrange(1, 30)
    for _ in range(rng.choice((0, 0, 0, 1, 2))):
        after.append((t, Topic.BOUNCE, ev.bounce(mid, t, "soft", event_id=ids.next("bo"))))
        t += rng.randrange(1, 30)
    roll = rng.random()
    delivered = roll < 0.85
    if delivered:
        after.append(
            (t, Topic.DELIVERY, ev.delivered(mid, t, channel=channel, event_id=ids.next("dl")))
        )
    if roll >= 0.85 or rng.random() < 0.03:  # never delivered, or hard bounce after delivery
        t += rng.randrange(1, 30)
        after.append((t, Topic.BOUNCE, ev.bounce(mid, t, "hard", event_id=ids.next("bo"))))
    if delivered:
        t += rng.randrange(5, 600)
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            machine = rng.random() < 0.3
            after.append(
                (t, Topic.OPEN, ev.opened(mid, t, machine=machine, event_id=ids.next("op")))
            )
            t += rng.randrange(1, 120)
        if any(topic is Topic.OPEN for _, topic, _ in after) and rng.random() < 0.5:
            for _ in range(rng.choice((1, 1, 2))):
                after.append((t, Topic.CLICK, ev.clicked(mid, t, event_id=ids.next("cl"))))
                t += rng.randrange(1, 60)
    drafts = [_Draft(float(sent_s) + i, Topic.DELIVERY, mid, body) for i, body in enumerate(sends)]
    # 10 %: its later events overtake the sent on the way to Kafka (keeping their own order)
    lead_s = rng.uniform(1, 60) if rng.random() < 0.10 else None
    for i, (at_s, topic, body) in enumerate(after):
        slot = float(at_s) if lead_s is None else sent_s - lead_s + i / 1000
        drafts.append(_Draft(slot, topic, mid, body))
    return drafts


def _customer_events(rng: random.Random, ids: _Ids, messages: int, start_s: int) -> list[_Draft]:
    """Payments and promises of customers who got no message (keys: customer_id)."""
    drafts: list[_Draft] = []
    customers = max(messages // 10, 4)
    for c in range(customers):
        customer = f"payer-{c}"
        t = start_s + rng.randrange(SPAN_S // 3)
        for _ in range(rng.randrange(1, 8)):
            t += rng.randrange(1, 100)
            status = rng.choice(("succeeded", "failed", "failed", "aborted"))
            body = ev.payment(
                customer,
                t,
                status,
                rng.randrange(100, 50_000),
                rng.choice(("EUR", "USD")),
                event_id=ids.next("pay"),
            )
            agent = rng.choice(AGENTS)
            if agent:
                body["agent_id"] = agent
            drafts.append(_Draft(float(t), Topic.PAYMENT, customer, body))
        for _ in range(rng.randrange(0, 4)):
            t += rng.randrange(1, 100)
            body = ev.promise(
                customer,
                t,
                rng.choice(("made", "kept", "broken", "cancelled")),
                rng.choice(("inbound", "outbound", "self_service")),
                rng.choice(("promise_to_pay", "installment_plan")),
                event_id=ids.next("ptp"),
            )
            drafts.append(_Draft(float(t), Topic.PROMISE, customer, body))
    return drafts


def _recipient_payments(rng: random.Random, ids: _Ids, messages: int, base_s: int) -> list[_Draft]:
    """Payments by a third of the message recipients, after every message event in time."""
    drafts: list[_Draft] = []
    for n in rng.sample(range(messages), messages // 3):
        customer = f"debtor-{n}"
        t = base_s - 8  # the message's own events end at base_s - 11 at the latest
        for _ in range(rng.choice((1, 1, 2))):
            t += rng.randrange(1, 4)
            status = rng.choice(("succeeded", "succeeded", "succeeded", "failed"))
            amount = rng.randrange(100, 50_000)
            currency = rng.choice(("EUR", "USD"))
            body = ev.payment(customer, t, status, amount, currency, event_id=ids.next("pay"))
            if rng.random() < 0.5:
                body["message_id"] = f"msg-{n}"
            drafts.append(_Draft(float(t), Topic.PAYMENT, customer, body))
    drafts.sort(key=lambda d: d.slot)
    return drafts


def _poison(rng: random.Random, ids: _Ids) -> Publication:
    """One bad record with a unique body, so its dead-letter copy can be found."""
    topic = rng.choice(list(Topic))
    tag = ids.next("poison")
    makers: tuple[tuple[str, Callable[[], bytes]], ...] = (
        ("not_json", lambda: b'{"poison": "' + tag.encode() + b'", '),
        ("validation", lambda: orjson.dumps({"event_id": tag, "occurred_at": "yesterday"})),
        ("too_large", lambda: orjson.dumps({"event_id": tag, "pad": "x" * OVERSIZED_BYTES})),
    )
    reason, make = rng.choice(makers)
    return Publication(topic, f"poison-{tag}".encode(), make(), Kind.POISON, reason)
