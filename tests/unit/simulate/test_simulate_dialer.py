"""The simulated contact centre: the outcome mix, agents of different skill, inbound callers."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

from collectpulse.events.keys import partition_key
from collectpulse.events.models import ContactEvent, EventBase, PromiseEvent
from collectpulse.simulate.dialer import MAX_ATTEMPTS, OUTCOME_MIX, roster
from collectpulse.simulate.generator import EventGenerator
from collectpulse.simulate.scenario import DEFAULT_SCENARIO

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _stream(seed: int, n: int) -> tuple[list[EventBase], datetime]:
    stream = EventGenerator(seed=seed, start=START, events_per_s=20.0)
    events = list(itertools.islice(stream, n))
    return events, stream.now


EVENTS, END = _stream(7, 60_000)
CONTACTS = [e for e in EVENTS if isinstance(e, ContactEvent)]


def test_the_stream_is_the_same_for_the_same_seed() -> None:
    again, _ = _stream(7, 5_000)
    assert again == EVENTS[:5_000]


def test_outbound_attempts_follow_the_outcome_mix() -> None:
    # attempts started long enough before the end to have ended (a talk lasts <= 10 min):
    # a later answered call would still be in progress when the stream stops
    settled = END - timedelta(minutes=15)
    outbound = [c for c in CONTACTS if c.direction == "outbound" and c.started_at < settled]
    assert len(outbound) > 500
    share = {o: n / len(outbound) for o, n in Counter(c.outcome for c in outbound).items()}
    for outcome, weight in OUTCOME_MIX:
        # each attempt draws from the mix; the agents' skill moves right_party a little
        assert abs(share[outcome] - weight) < 0.05, (outcome, share)


def test_an_agent_is_bridged_only_when_a_person_answered() -> None:
    for c in CONTACTS:
        answered = c.outcome in ("right_party", "wrong_party")
        assert (c.agent_id is not None) == (answered or c.direction == "inbound")
        assert c.team is not None and (c.duration_s > 0) == answered
        assert c.started_at <= c.occurred_at


def test_agents_differ_in_skill_and_their_right_party_rate_shows_it() -> None:
    tenant = DEFAULT_SCENARIO.tenants[0]
    agents = roster(tenant)
    assert len({a.agent_id for a in agents}) == len(agents) and {a.team for a in agents} == {
        "early-stage",
        "late-stage",
    }
    assert roster(tenant) == agents  # the same agents, with the same skill, in every run
    best, worst = max(agents, key=lambda a: a.skill), min(agents, key=lambda a: a.skill)
    assert best.skill > 1.2 * worst.skill


def test_inbound_calls_some_from_unidentified_callers_keyed_by_contact_id() -> None:
    inbound = [c for c in CONTACTS if c.direction == "inbound"]
    unidentified = [c for c in inbound if c.customer_id is None]
    assert inbound and unidentified and len(unidentified) < len(inbound) / 2
    assert all(partition_key(c) == c.contact_id.encode() for c in unidentified)
    assert {c.outcome for c in inbound} == {"right_party", "wrong_party"}


def test_a_customer_is_dialled_at_most_max_attempts_times_per_arrival() -> None:
    per_customer = Counter(c.customer_id for c in CONTACTS if c.direction == "outbound")
    # customers are drawn again by later arrivals, so this bounds the redials loosely
    assert max(per_customer.values()) <= 3 * MAX_ATTEMPTS


def test_outbound_promises_are_made_by_agents_who_reached_the_customer() -> None:
    promises = [e for e in EVENTS if isinstance(e, PromiseEvent) and e.direction == "outbound"]
    reached = {c.agent_id for c in CONTACTS if c.outcome == "right_party"}
    assert promises and {p.agent_id for p in promises if p.status == "made"} <= reached
