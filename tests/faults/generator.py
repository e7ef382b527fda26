"""The seeded event log the harness publishes: all seven topics, duplicates, poison, disorder.

``generate(seed, ...)`` is deterministic for a seed and a base time. What each
record is meant to be (valid, an upstream duplicate, poison and why) travels
with it as a ``Publication``, so the oracle never has to guess.

Shape of the log (ratios are per valid event, drawn from the seeded RNG):

- messages with a fate each: sent (5 % of them reported by a second system
  under another event_id), delivered or not, soft/hard bounces, machine and
  human opens, clicks; 10 % are letters (a sent and nothing else); 10 % of
  messages have their delivery, opens and clicks published *before* their sent
  (out of order across topics); a quarter of the recipients get a second
  message, sometimes at the same times as the first (attribution ties);
- anonymous landing-page views, and views naming a customer (sources email,
  sms, direct) before and after that customer's payments and plans;
- payments (with and without agent, with and without ``message_id``, a few
  naming a message that never exists) and promises (installment plans made
  self-service among them) by half of the recipients and by customers who got
  no message;
- no barrier: customer events are published at their event time among the
  message events, except that for a quarter of the customers the payments and
  promises go out up to half an hour of the log *ahead* (before the message
  events and views they join to), and for another sixth the views go out
  *behind* the payments; a customer's payments keep their own order;
- about 10 % of valid events are published again later with the same bytes
  (an upstream duplicate, same event_id and key);
- about 1 % poison: not JSON, schema violations and oversized values.

Event times are whole seconds inside the last half hour before ``base_s`` so
every window (1 h and up), and the 7 d attribution window, holds all of them
when the run is checked.
"""

from __future__ import annotations

import random
from collections import defaultdict
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
LETTER_SHARE = 0.10
SOURCES = ("direct", "email", "sms", "letter", "other")
CUSTOMER_SOURCES = ("email", "sms", "direct")
"""Sources of views that name a customer (a link in a message, or the customer typing it)."""
AGENTS = (None, None, "agent-1", "agent-2")
SPAN_S = 1800
MESSAGE_SPREAD_S = SPAN_S - 1200  # a message's own events end within ~1,150 s of its sent
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
    """The log for ``seed``: about ``messages`` x 6 records, in publishing order."""
    rng = random.Random(seed)
    ids = _Ids(seed)
    drafts: list[_Draft] = []
    start_s = base_s - SPAN_S
    recipients = max(messages * 3 // 4, 1)
    sends: dict[str, list[tuple[str, int]]] = defaultdict(list)
    first: dict[str, tuple[int, int]] = {}
    for n in range(messages):
        customer = f"debtor-{n % recipients}"
        if customer in first and rng.random() < 0.3:
            sent_s, timeline = first[customer]  # same send and fate times: attribution ties
        else:
            sent_s, timeline = start_s + rng.randrange(MESSAGE_SPREAD_S), rng.getrandbits(32)
        first.setdefault(customer, (sent_s, timeline))
        mid = f"msg-{n}"
        drafts.extend(_message_events(rng, ids, mid, customer, sent_s, random.Random(timeline)))
        sends[customer].append((mid, sent_s))
    for _ in range(messages // 2):
        visitor = f"vis-{rng.randrange(max(messages // 8, 5))}"
        at_s = start_s + rng.randrange(SPAN_S)
        body = ev.pageview(visitor, at_s, rng.choice(SOURCES), event_id=ids.next("pv"))
        drafts.append(_Draft(at_s, Topic.PAGEVIEW, visitor, body))
    for customer in rng.sample(sorted(sends), len(sends) // 2):
        since_s = min(sent_s for _, sent_s in sends[customer])
        drafts.extend(_journey(rng, ids, customer, sends[customer], since_s, base_s))
    for c in range(max(messages // 10, 4)):
        since_s = start_s + rng.randrange(SPAN_S // 3)
        drafts.extend(_journey(rng, ids, f"payer-{c}", [], since_s, base_s))
    drafts.sort(key=lambda d: d.slot)
    log = Log()
    _append(log, rng, ids, drafts, duplicate_share, poison_share)
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


def _message_events(
    rng: random.Random, ids: _Ids, mid: str, customer: str, sent_s: int, tl: random.Random
) -> list[_Draft]:
    """A message's events; its fate and times come from ``tl``, its own timeline RNG."""
    campaign, variant = rng.choice(CAMPAIGNS), rng.choice(VARIANTS)
    channel = "letter" if rng.random() < LETTER_SHARE else rng.choice(CHANNELS)
    sends = [
        ev.sent(
            mid,
            sent_s,
            campaign=campaign,
            variant=variant,
            channel=channel,
            customer_id=customer,
            event_id=ids.next("sent"),
        )
    ]
    if rng.random() < 0.05:  # the mailer and the provider both report the send
        sends.append({**sends[0], "event_id": ids.next("sent")})
    drafts = [_Draft(float(sent_s) + i, Topic.DELIVERY, mid, body) for i, body in enumerate(sends)]
    if channel == "letter":
        return drafts  # no receipts: the sent alone reaches the customer side
    after: list[tuple[int, Topic, dict[str, Any]]] = []
    t = sent_s + tl.randrange(1, 30)
    for _ in range(tl.choice((0, 0, 0, 1, 2))):
        after.append((t, Topic.BOUNCE, ev.bounce(mid, t, "soft", event_id=ids.next("bo"))))
        t += tl.randrange(1, 30)
    roll = tl.random()
    delivered = roll < 0.85
    if delivered:
        after.append(
            (t, Topic.DELIVERY, ev.delivered(mid, t, channel=channel, event_id=ids.next("dl")))
        )
    if roll >= 0.85 or tl.random() < 0.03:  # never delivered, or hard bounce after delivery
        t += tl.randrange(1, 30)
        after.append((t, Topic.BOUNCE, ev.bounce(mid, t, "hard", event_id=ids.next("bo"))))
    if delivered:
        t += tl.randrange(5, 600)
        for _ in range(tl.choice((0, 0, 1, 1, 2, 3))):
            machine = tl.random() < 0.3
            after.append(
                (t, Topic.OPEN, ev.opened(mid, t, machine=machine, event_id=ids.next("op")))
            )
            t += tl.randrange(1, 120)
        if any(topic is Topic.OPEN for _, topic, _ in after) and tl.random() < 0.5:
            for _ in range(tl.choice((1, 1, 2))):
                after.append((t, Topic.CLICK, ev.clicked(mid, t, event_id=ids.next("cl"))))
                t += tl.randrange(1, 60)
    # 10 %: its later events overtake the sent on the way to Kafka (keeping their own order)
    lead_s = rng.uniform(1, 60) if rng.random() < 0.10 else None
    for i, (at_s, topic, body) in enumerate(after):
        slot = float(at_s) if lead_s is None else sent_s - lead_s + i / 1000
        drafts.append(_Draft(slot, topic, mid, body))
    return drafts


def _journey(
    rng: random.Random,
    ids: _Ids,
    customer: str,
    messages: list[tuple[str, int]],
    since_s: int,
    base_s: int,
) -> list[_Draft]:
    """A customer's views, payments and promises (keys: visitor_id, customer_id).

    Payments start after ``since_s`` (the customer's first send, if any), so some
    follow a message's delivery and clicks and some come between them; a payment
    names only a message sent before it.
    """
    start_s = base_s - SPAN_S
    recipient = bool(messages)
    statuses = (
        ("succeeded",) * 3 + ("failed",)
        if recipient
        else ("succeeded", "failed", "failed", "aborted")
    )
    payments: list[tuple[int, dict[str, Any]]] = []
    t = rng.randrange(since_s + 1, base_s - 300)
    for _ in range(rng.choice((1, 1, 2, 3)) if recipient else rng.randrange(1, 8)):
        t += rng.randrange(1, 30)
        amount, currency = rng.randrange(100, 50_000), rng.choice(("EUR", "USD"))
        body = ev.payment(
            customer, t, rng.choice(statuses), amount, currency, event_id=ids.next("pay")
        )
        agent = rng.choice(AGENTS)
        if agent:
            body["agent_id"] = agent
        named = [mid for mid, sent_s in messages if sent_s < t]
        if named and rng.random() < 0.5:
            body["message_id"] = rng.choice(named)
        elif rng.random() < 0.04:
            body["message_id"] = ids.next("msg-never-sent")
        payments.append((t, body))
    promises: list[tuple[int, dict[str, Any]]] = []
    for _ in range(rng.choice((0, 0, 1, 2))):
        at_s = rng.randrange(since_s + 1, base_s)
        if rng.random() < 0.5:  # an installment plan made on the landing page
            how = ("made", "self_service", "installment_plan")
        else:
            how = (
                rng.choice(("made", "kept", "broken", "cancelled")),
                rng.choice(("inbound", "outbound", "self_service")),
                rng.choice(("promise_to_pay", "installment_plan")),
            )
        promises.append((at_s, ev.promise(customer, at_s, *how, event_id=ids.next("ptp"))))
    views: list[tuple[int, dict[str, Any]]] = []
    for k in range(rng.choice((0, 1, 1, 2, 3))):
        at_s = rng.randrange(start_s, base_s)
        visitor = f"v-{customer}" if k == 0 or rng.random() < 0.5 else f"v-{customer}-{k}"
        body = ev.pageview(visitor, at_s, rng.choice(CUSTOMER_SOURCES), event_id=ids.next("pv"))
        body["customer_id"] = customer
        views.append((at_s, body))
    # where this customer's events go in the log: at their time, or the customer side
    # ahead of the message events and views, or the views behind the payments
    roll = rng.random()
    ahead_s = rng.uniform(300, SPAN_S) if roll < 0.25 else 0.0
    behind_s = rng.uniform(300, SPAN_S) if 0.25 <= roll < 0.42 else 0.0
    drafts = [_Draft(at_s - ahead_s, Topic.PAYMENT, customer, body) for at_s, body in payments]
    drafts += [_Draft(at_s - ahead_s, Topic.PROMISE, customer, body) for at_s, body in promises]
    drafts += [
        _Draft(at_s + behind_s, Topic.PAGEVIEW, body["visitor_id"], body) for at_s, body in views
    ]
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
