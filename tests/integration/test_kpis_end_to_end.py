"""A scripted collections day through real Kafka, the worker and the exporter, checked
against an oracle computed here from the script itself (not from collectpulse code).

Each message has a scripted fate (delivered, bounced, opened by a machine or a
person, clicked); the events published for it repeat and duplicate what real
providers send. The oracle counts fates, not events: a message that was opened
counts one open however many open events say so.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from collectpulse.events.models import Topic
from collectpulse.settings import Settings
from tests.support import events as ev
from tests.support.kafka import create_topics, publish
from tests.support.kpi_oracle import FUNNEL_RATIOS, divide, sum_by
from tests.support.metrics import Samples, total, wait_for
from tests.support.processes import worker_and_exporter

WINDOW = "1h"
CAMPAIGNS = ("spring", "autumn")
VARIANTS = ("control", "b")
CHANNELS = ("email", "sms")
Labels = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Fate:
    """What happened to one message, as the sending and tracking systems saw it."""

    delivered: bool = True
    soft_bounces: int = 0
    hard_bounce: bool = False
    opens: tuple[str, ...] = ()  # "machine" or "human", in order
    clicks: int = 0
    reported_sent_twice: bool = False  # mailer and provider both report the send
    open_before_sent: bool = False  # its opens are published before its sent
    republished: bool = False  # upstream publishes its delivery and first open twice
    delivered_before_sent: bool = False  # the provider's delivery beats the mailer's sent


FATES = (
    Fate(),
    Fate(opens=("human",)),
    Fate(opens=("machine",)),
    Fate(opens=("machine", "human", "human"), clicks=2, reported_sent_twice=True),
    Fate(soft_bounces=1, opens=("human", "human"), clicks=1, republished=True),
    Fate(delivered=False, hard_bounce=True),
    Fate(delivered=False, soft_bounces=2, hard_bounce=True),
    Fate(hard_bounce=True),  # delivered, then a hard bounce
    Fate(opens=("human",), clicks=1, open_before_sent=True),
    Fate(delivered=False, soft_bounces=1),
    Fate(opens=("machine", "machine"), open_before_sent=True, republished=True),
    Fate(opens=("human",), delivered_before_sent=True),
)


@dataclass(frozen=True)
class Message:
    message_id: str
    campaign: str
    variant: str
    channel: str
    fate: Fate

    @property
    def labels(self) -> dict[str, str]:
        return {"channel": self.channel, "campaign": self.campaign, "variant": self.variant}


def script_messages() -> list[Message]:
    messages = []
    combos = itertools.product(CAMPAIGNS, VARIANTS, CHANNELS)
    fates = itertools.cycle(FATES)
    for k, (campaign, variant, channel) in enumerate(combos):
        for i in range(3 + k % 4):
            mid = f"{campaign}-{variant}-{channel}-{i}"
            messages.append(Message(mid, campaign, variant, channel, next(fates)))
    return messages


PAYMENTS = (  # customer, status, amount_minor, currency, agent
    ("payer-1", "succeeded", 12_000, "EUR", None),
    ("payer-1", "failed", 12_000, "EUR", None),
    ("payer-2", "succeeded", 4_550, "EUR", "agent-7"),
    ("payer-3", "succeeded", 9_900, "USD", None),
    ("payer-3", "aborted", 9_900, "USD", None),
    ("payer-4", "failed", 700, "EUR", None),
    ("payer-4", "aborted", 700, "EUR", None),
    ("payer-5", "succeeded", 1_234, "USD", "agent-7"),
    ("payer-6", "aborted", 50_000, "EUR", None),
)
PROMISES = (  # customer, status, direction, kind
    ("payer-1", "made", "inbound", "promise_to_pay"),
    ("payer-1", "kept", "inbound", "promise_to_pay"),
    ("payer-2", "kept", "inbound", "promise_to_pay"),
    ("payer-3", "broken", "inbound", "promise_to_pay"),
    ("payer-4", "made", "outbound", "promise_to_pay"),
    ("payer-4", "broken", "outbound", "promise_to_pay"),
    ("payer-5", "kept", "self_service", "installment_plan"),
    ("payer-6", "cancelled", "outbound", "promise_to_pay"),
    ("payer-6", "kept", "outbound", "installment_plan"),
)
PAGEVIEWS = (  # visitor, source
    ("vis-1", "email"),
    ("vis-1", "email"),
    ("vis-2", "email"),
    ("vis-3", "sms"),
    ("vis-4", "direct"),
    ("vis-4", "direct"),
    ("vis-4", "direct"),
    ("vis-5", "letter"),
    ("vis-6", "other"),
    ("vis-1", "sms"),
)


# --- the script as Kafka records ------------------------------------------------------


@dataclass
class Script:
    """Keyed records per topic, in publishing order; ``early`` goes out before the rest."""

    early: dict[Topic, list[tuple[bytes, bytes]]]
    rest: dict[Topic, list[tuple[bytes, bytes]]]
    duplicates: Counter[str]
    invalid: Counter[tuple[str, str]]

    def received(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for part in (self.early, self.rest):
            for topic, records in part.items():
                out[topic.value] += len(records)
        return out


def build_script(messages: list[Message], now: float) -> Script:
    early: dict[Topic, list[tuple[bytes, bytes]]] = defaultdict(list)
    rest: dict[Topic, list[tuple[bytes, bytes]]] = defaultdict(list)
    duplicates: Counter[str] = Counter()

    def put(
        into: dict[Topic, list[tuple[bytes, bytes]]], topic: Topic, key: str, body: Any
    ) -> None:
        into[topic].append((key.encode(), orjson.dumps(body)))

    for n, m in enumerate(messages):
        fate, key = m.fate, m.message_id
        sent_s = now - 1800 + n
        customer = f"debtor-{n}"
        sends = [
            ev.sent(
                key,
                at_s,
                campaign=m.campaign,
                variant=m.variant,
                channel=m.channel,
                customer_id=customer,
            )
            for at_s in ((sent_s, sent_s + 2) if fate.reported_sent_twice else (sent_s,))
        ]
        t = sent_s + 10
        for _ in range(fate.soft_bounces):
            put(rest, Topic.BOUNCE, key, ev.bounce(key, t, "soft"))
            t += 10
        deliveries = []
        if fate.delivered:
            deliveries.append(ev.delivered(key, t, channel=m.channel))
            if fate.republished:
                deliveries.append(deliveries[0])
                duplicates["delivery"] += 1
        in_topic_order = (
            [*deliveries, *sends] if fate.delivered_before_sent else [*sends, *deliveries]
        )
        for body in in_topic_order:
            put(rest, Topic.DELIVERY, key, body)
        if fate.hard_bounce:
            put(rest, Topic.BOUNCE, key, ev.bounce(key, t + 5, "hard"))
        opens_into = early if fate.open_before_sent else rest
        for j, kind in enumerate(fate.opens):
            body = ev.opened(key, sent_s + 300 + j, machine=kind == "machine")
            put(opens_into, Topic.OPEN, key, body)
            if fate.republished and j == 0:
                put(opens_into, Topic.OPEN, key, body)
                duplicates["open"] += 1
        for j in range(fate.clicks):
            put(opens_into, Topic.CLICK, key, ev.clicked(key, sent_s + 400 + j))

    for i, (visitor, source) in enumerate(PAGEVIEWS):
        put(rest, Topic.PAGEVIEW, visitor, ev.pageview(visitor, now - 600 + i, source))
    repeat = ev.pageview("vis-9", now - 500, "email")
    put(rest, Topic.PAGEVIEW, "vis-9", repeat)
    put(rest, Topic.PAGEVIEW, "vis-9", repeat)
    duplicates["pageview"] += 1

    for i, (customer, status, amount, currency, agent) in enumerate(PAYMENTS):
        body = ev.payment(customer, now - 400 + i, status, amount, currency)
        if agent:
            body["agent_id"] = agent
        put(rest, Topic.PAYMENT, customer, body)
        if i == 0:
            put(rest, Topic.PAYMENT, customer, body)
            duplicates["payment"] += 1
    for i, (customer, status, direction, kind) in enumerate(PROMISES):
        put(
            rest,
            Topic.PROMISE,
            customer,
            ev.promise(customer, now - 300 + i, status, direction, kind),
        )

    rest[Topic.CLICK].append((b"poison", b"{not json"))
    rest[Topic.PAYMENT].append((b"payer-x", orjson.dumps({"event_id": "x", "status": "paid"})))
    invalid = Counter({("click", "not_json"): 1, ("payment", "validation"): 1})
    return Script(dict(early), dict(rest), duplicates, invalid)


# --- the oracle -------------------------------------------------------------------------


def _key(labels: Mapping[str, str]) -> Labels:
    return frozenset((k, v) for k, v in labels.items() if v != "")


@dataclass
class Expected:
    counters: dict[str, dict[Labels, float]]
    """Counter name -> labels -> all-time total (also the 1h value: everything is recent)."""
    uniques: dict[str, dict[Labels, float]]
    ratios: dict[str, dict[Labels, float]]


def oracle(messages: list[Message], script: Script) -> Expected:
    funnel: dict[str, Counter[Labels]] = defaultdict(Counter)
    for m in messages:
        f = m.fate
        happened = {
            "messages_sent": True,
            "messages_delivered": f.delivered,
            "messages_bounced_any": f.soft_bounces > 0 or f.hard_bounce,
            "messages_opened": bool(f.opens),
            "messages_opened_human": "human" in f.opens,
            "messages_clicked": f.clicks > 0,
        }
        for counter, yes in happened.items():
            if yes:
                funnel[counter][_key({**m.labels, "segment": "default"})] += 1
        for bounce_type, yes in (("soft", f.soft_bounces > 0), ("hard", f.hard_bounce)):
            if yes:
                labels = {**m.labels, "segment": "default", "bounce_type": bounce_type}
                funnel["messages_bounced"][_key(labels)] += 1

    attempts: Counter[Labels] = Counter()
    collected: Counter[Labels] = Counter()
    for _, status, amount, currency, agent in PAYMENTS:
        attempts[_key({"status": status})] += 1
        if status == "succeeded":
            collected[_key({"currency": currency, "agent": agent or ""})] += amount
    promises: Counter[Labels] = Counter()
    for _, status, direction, kind in PROMISES:
        promises[_key({"status": status, "direction": direction, "kind": kind})] += 1
    views: Counter[Labels] = Counter(_key({"source": s}) for _, s in PAGEVIEWS)
    views[_key({"source": "email"})] += 1  # vis-9, published twice upstream
    visitors: dict[str, set[str]] = defaultdict(set)
    for visitor, source in (*PAGEVIEWS, ("vis-9", "email")):
        visitors[source].add(visitor)

    counters: dict[str, dict[Labels, float]] = {name: dict(c) for name, c in funnel.items()}
    counters.update(
        payment_attempts=dict(attempts),
        collected_amount_minor=dict(collected),
        promises=dict(promises),
        landing_pageviews=dict(views),
    )
    uniques = {
        "landing_unique_visitors": {_key({"source": s}): len(v) for s, v in visitors.items()}
    }
    return Expected(counters, uniques, _ratios(counters))


def _ratios(c: Mapping[str, Mapping[Labels, float]]) -> dict[str, dict[Labels, float]]:
    group = ("channel", "campaign", "variant", "segment")
    out = {}
    for name, (num, where, den) in FUNNEL_RATIOS.items():
        out[name] = divide(sum_by(c.get(num, {}), group, where), sum_by(c.get(den, {}), group))
    attempts = sum_by(c["payment_attempts"], ())
    out["payment_success"] = divide(
        sum_by(c["payment_attempts"], (), {"status": "succeeded"}), attempts
    )
    out["payment_abort"] = divide(
        sum_by(c["payment_attempts"], (), {"status": "aborted"}), attempts
    )
    kept = sum_by(c["promises"], ("direction", "kind"), {"status": "kept"})
    broken = sum_by(c["promises"], ("direction", "kind"), {"status": "broken"})
    out["promise_kept"] = divide(kept, kept + broken)
    return out


# --- reading /metrics -----------------------------------------------------------------


def counted(samples: Samples, name: str, window: str | None = None) -> dict[Labels, float]:
    """The non-zero series of a counter: the exporter pre-initialises known label
    combinations to 0 (so increase() and absent() alerts work); those are not counts."""
    return {k: v for k, v in exported(samples, name, window).items() if v}


def nonzero(series: dict[Labels, float]) -> dict[Labels, float]:
    return {k: v for k, v in series.items() if v}


def exported(samples: Samples, name: str, window: str | None = None) -> dict[Labels, float]:
    """Every series of ``name`` (of ``window`` when given), keyed by its non-empty labels."""
    out = {}
    for (sample, labels), value in samples.items():
        if sample != name:
            continue
        as_dict = dict(labels)
        if window is not None and as_dict.pop("window", None) != window:
            continue
        out[_key(as_dict)] = value
    return out


async def test_every_funnel_activity_and_ratio_kpi_matches_the_scripted_day(
    settings: Settings, tmp_path: Path
) -> None:
    messages = script_messages()
    script = build_script(messages, time.time())
    expected = oracle(messages, script)
    received = script.received()
    early_opens = len(script.early[Topic.OPEN])

    async with asyncio.timeout(110):
        await create_topics(settings)
        for topic, records in script.early.items():
            await publish(settings, settings.topic(topic.value), records)
        with worker_and_exporter(settings, tmp_path) as (url, processes):
            parked = await wait_for(
                url,
                lambda s: (
                    total(s, "collectpulse_events_received_total", topic="open") >= early_opens
                ),
                timeout_s=60,
                processes=processes,
            )
            # the opens of messages not yet sent are held, not counted, not lost
            assert total(parked, "collectpulse_events_received_total", topic="open") == early_opens
            assert total(parked, "collectpulse_messages_opened_total") == 0

            for topic, records in script.rest.items():
                await publish(settings, settings.topic(topic.value), records)
            samples = await wait_for(
                url,
                lambda s: total(s, "collectpulse_events_received_total") >= sum(received.values()),
                timeout_s=60,
                processes=processes,
            )

    quality = {
        "events_received": {_key({"topic": t}): n for t, n in received.items()},
        "events_duplicate": {_key({"topic": t}): n for t, n in script.duplicates.items()},
        "events_invalid": {
            _key({"topic": t, "reason": r}): n for (t, r), n in script.invalid.items()
        },
        "events_dead_lettered": {_key({"topic": t}): n for (t, _), n in script.invalid.items()},
        "events_late": {},
        "events_orphaned": {},
        "label_overflows": {},
    }
    for counter, series in quality.items():
        assert counted(samples, f"collectpulse_{counter}_total") == nonzero(series), counter

    for counter, series in expected.counters.items():
        assert counted(samples, f"collectpulse_{counter}_total") == nonzero(series), counter
        windowed = counted(samples, f"collectpulse_windowed_{counter}", WINDOW)
        assert windowed == nonzero(series), counter
    for counter in ("messages_paid", "attributed_amount_minor"):
        # no payment here can be attributed to a message (payers got no messages)
        assert counted(samples, f"collectpulse_{counter}_total") == {}, counter
    for counter, series in expected.uniques.items():
        windowed = counted(samples, f"collectpulse_windowed_{counter}", WINDOW)
        assert windowed == nonzero(series), counter

    for ratio, series in expected.ratios.items():
        got = exported(samples, f"collectpulse_{ratio}_ratio", WINDOW)
        assert got == pytest.approx(series), ratio
        assert series, f"the script must give {ratio} something to measure"
