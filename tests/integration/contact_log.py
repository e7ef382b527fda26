"""A generated log of contact attempts for the contact value tests (K1-K3) and its oracle.

The log is random but seeded: a small floor of agents with different right-party
rates, outbound dialer attempts with the usual outcome mix, inbound calls (some
from unidentified callers), duplicates of earlier contact ids under new event
ids, attempts of different ages (the 1 h, 24 h and 7 d windows, and past all of
them) and, in phase 2, a wrongly keyed contact and two invalid ones. The oracle
counts it with plain Python from the published bodies, never with collectpulse.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from collectpulse.events.models import Topic

Record = tuple[Topic, str, dict[str, Any]]
Labels = frozenset[tuple[str, str]]
TENANT = "t-cx"
MINUTE, HOUR, DAY = 60, 3600, 86_400
# age ranges (seconds) chosen well inside the window edges (long windows are hour-aligned)
AGES = {"1h": (MINUTE, 50 * MINUTE), "24h": (2 * HOUR, 20 * HOUR), "7d": (2 * DAY, 6 * DAY)}
OLD = (8 * DAY, 9 * DAY)
"""Past every window, within retention: all-time totals only."""
WINDOW_S = {"1h": HOUR, "24h": DAY, "7d": 7 * DAY}
AGENTS = {"a1": ("early", 0.30), "a2": ("early", 0.15), "a3": ("late", 0.20), "a4": ("late", 0.10)}
"""Agent -> (team, chance that a bridged attempt reaches the right party)."""
UNBRIDGED = (("no_answer", 45), ("voicemail", 20), ("busy", 10), ("invalid_number", 5))


def iso(at_s: int) -> str:
    return datetime.fromtimestamp(at_s, UTC).isoformat()


@dataclass
class ContactLog:
    now: int
    phase1: list[Record] = field(default_factory=list)
    phase2: list[Record] = field(default_factory=list)
    invalid: int = 0
    """Records that must be dead-lettered."""
    wrong_keys: int = 0

    @property
    def valid_bodies(self) -> list[dict[str, Any]]:
        return [body for topic, _, body in (*self.phase1, *self.phase2) if _valid(body)]


def _valid(body: dict[str, Any]) -> bool:
    return not body.get("_invalid")


def build(now: int, seed: int = 20) -> ContactLog:
    rng = random.Random(seed)
    log = ContactLog(now)
    serial = iter(range(1, 10_000))
    counts = {"1h": 90, "24h": 30, "7d": 20, "old": 6}
    for window, n in counts.items():
        low, high = AGES.get(window, OLD)
        for _ in range(n):
            log.phase1.append(_outbound(rng, now - rng.randint(low, high), next(serial)))
    for _ in range(16):
        at = now - rng.randint(*AGES[rng.choice(("1h", "24h", "7d"))])
        log.phase1.append(_inbound(rng, at, next(serial)))
    # duplicates of earlier contacts under a new event id: in the same write and a later one
    dupes = [b for _, _, b in rng.sample(log.phase1, 6)]
    log.phase1.extend(_again(body) for body in dupes[:3])
    log.phase2.extend(_again(body) for body in dupes[3:])
    # a valid contact keyed by its contact_id instead of its customer: counted, and flagged
    wrong = _outbound(rng, now - 5 * MINUTE, next(serial))[2]
    log.phase2.append((Topic.CONTACT, wrong["contact_id"], wrong))
    log.wrong_keys = 1
    # invalid: an inbound voicemail, an outbound contact without customer
    bad_inbound = {**_inbound(rng, now - 4 * MINUTE, next(serial))[2], "outcome": "voicemail"}
    bad_outbound = {**_outbound(rng, now - 3 * MINUTE, next(serial))[2], "customer_id": None}
    for body in (bad_inbound, bad_outbound):
        log.phase2.append((Topic.CONTACT, body["contact_id"], {**body, "_invalid": True}))
    log.invalid = 2
    log.phase2.append(_outbound(rng, now - 2 * MINUTE, next(serial)))
    return log


def _outbound(rng: random.Random, at: int, n: int) -> Record:
    agent = rng.choice(sorted(AGENTS))
    team, skill = AGENTS[agent]
    bridged = rng.random() < 0.4  # a person answered: the dialer bridged an agent
    if bridged:
        outcome = "right_party" if rng.random() < skill * 2.5 else "wrong_party"
    else:
        outcome = rng.choices([o for o, _ in UNBRIDGED], [w for _, w in UNBRIDGED])[0]
    body = _body(n, at, f"cust-{rng.randint(1, 60)}", "outbound", "call", outcome)
    body["dialer_campaign"] = rng.choice(("dpd-30", "dpd-60"))
    if bridged:
        body.update(agent_id=agent, team=team, duration_s=rng.randint(20, 400))
    elif rng.random() < 0.5:
        body["team"] = team  # the campaign's team, no agent
    return Topic.CONTACT, body["customer_id"], body


def _inbound(rng: random.Random, at: int, n: int) -> Record:
    agent = rng.choice(sorted(AGENTS))
    identified = rng.random() < 0.7
    customer = f"cust-{rng.randint(1, 60)}" if identified else None
    channel = rng.choice(("call", "chat", "email_reply"))
    outcome = rng.choice(("right_party", "right_party", "wrong_party"))
    body = _body(n, at, customer, "inbound", channel, outcome)
    body.update(agent_id=agent, team=AGENTS[agent][0], duration_s=rng.randint(30, 600))
    return Topic.CONTACT, customer or body["contact_id"], body


def _body(
    n: int, at: int, customer: str | None, direction: str, channel: str, outcome: str
) -> dict[str, Any]:
    return {
        "event_id": f"cx-{n}",
        "occurred_at": iso(at),
        "tenant": TENANT,
        "contact_id": f"contact-{n}",
        "customer_id": customer,
        "direction": direction,
        "channel": channel,
        "outcome": outcome,
        "started_at": iso(at - 45),
        "duration_s": 0,
    }


def _again(body: dict[str, Any]) -> Record:
    copy = {**body, "event_id": f"{body['event_id']}-republished"}
    return Topic.CONTACT, body["customer_id"] or body["contact_id"], copy


# -- the oracle ------------------------------------------------------------------------

_LABELS = ("tenant", "direction", "channel", "outcome", "team", "agent", "dialer_campaign")
RATIO_LABELS = ("channel", "team", "agent", "dialer_campaign", "tenant")


def _labels(body: dict[str, Any], names: Iterable[str]) -> Labels:
    source = {**body, "agent": body.get("agent_id")}
    return frozenset((n, source[n]) for n in names if source.get(n))


def unique_contacts(log: ContactLog) -> list[dict[str, Any]]:
    """The first event of each contact id: a repeat is a duplicate whatever its event id."""
    first: dict[str, dict[str, Any]] = {}
    for body in log.valid_bodies:
        first.setdefault(body["contact_id"], body)
    return list(first.values())


def in_window(log: ContactLog, body: dict[str, Any], window: str | None) -> bool:
    if window is None:
        return True
    at = datetime.fromisoformat(body["occurred_at"]).timestamp()
    return log.now - at < WINDOW_S[window]


def attempts(log: ContactLog, window: str | None) -> dict[Labels, float]:
    """contact_attempts per label set (absent labels left out), all-time or in ``window``."""
    counted = Counter(
        _labels(b, _LABELS) for b in unique_contacts(log) if in_window(log, b, window)
    )
    return {labels: float(n) for labels, n in counted.items()}


def outbound_ratios(log: ContactLog, window: str, outcomes: set[str]) -> dict[Labels, float]:
    """Per group of the ratio labels: outbound attempts with one of ``outcomes`` / all."""
    hits: Counter[Labels] = Counter()
    every: Counter[Labels] = Counter()
    for body in unique_contacts(log):
        if body["direction"] != "outbound" or not in_window(log, body, window):
            continue
        group = _labels(body, RATIO_LABELS)
        every[group] += 1
        hits[group] += body["outcome"] in outcomes
    return {group: round(hits[group] / n, 9) for group, n in every.items()}
