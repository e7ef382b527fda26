"""The seeded event stream: arrivals planned ahead, emitted in simulated arrival order.

Pure and deterministic: the same seed, start and scenario give the same
stream, with no I/O and no wall clock. A simulated clock advances by an
exponential gap per emitted event (`events_per_s` on average), so a caller
that publishes at that rate keeps event time close to its own clock.
Whenever nothing planned is due, a new arrival is drawn (a campaign message,
a direct landing visit or an agent call) and its whole future is planned at
once; follow-ups are emitted when the clock reaches their event time. An
event is therefore never emitted before it happened, only after: late when
it was an injected fault (a delayed `sent`, an upstream duplicate).

Memory grows with the planned-but-unemitted future (arrivals per second
times the delays: days for letters and promises), so planned events wait as
compact JSON, a few hundred bytes each, and become models again when emitted;
`delay_scale` shrinks the future too.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from collectpulse.events.models import MODEL_BY_TOPIC, DeliveryEvent, EventBase, Topic
from collectpulse.simulate.factory import Planned
from collectpulse.simulate.journeys import Planner
from collectpulse.simulate.scenario import DEFAULT_SCENARIO, Scenario

# How long after its message's first other event a delayed `sent` shows up.
_LATE_SENT_MEAN_S = 2.0


@dataclass(slots=True)
class GeneratorStats:
    """What the stream has emitted and planned so far."""

    emitted: int = 0
    duplicates: int = 0
    messages: int = 0
    direct_visits: int = 0
    agent_calls: int = 0
    late_sents: int = 0


class EventGenerator(Iterator[EventBase]):
    """An endless, seeded stream of canonical events; take as many as needed."""

    def __init__(
        self,
        *,
        seed: int,
        start: datetime,
        events_per_s: float = 100.0,
        scenario: Scenario = DEFAULT_SCENARIO,
        live_start: datetime | None = None,
    ) -> None:
        """``live_start``: where a replayed history ends (its accounts age in real time)."""
        if start.utcoffset() is None:
            raise ValueError("start must be a timezone-aware datetime")
        if not events_per_s > 0:
            raise ValueError(f"events_per_s must be positive, got {events_per_s}")
        self._rng = random.Random(seed)
        self._scenario = scenario
        self._start = start
        self._events_per_s = events_per_s
        self._planner = Planner(
            self._rng, scenario, run_id=f"sim{seed}", start=start, live_start=live_start
        )
        # (emit at, tie-break, topic, event JSON, is a duplicate): the tie-break
        # keeps planning order among equal times.
        self._due: list[tuple[float, int, Topic, bytes, bool]] = []
        self._order = itertools.count()
        self._clock_s = 0.0
        self.stats = GeneratorStats()

    @property
    def now(self) -> datetime:
        """The simulated clock: the arrival time of the event emitted last."""
        return self._start + timedelta(seconds=self._clock_s)

    @property
    def events_per_s(self) -> float:
        """Events per simulated second; a replayed history may be thinner than live traffic."""
        return self._events_per_s

    @events_per_s.setter
    def events_per_s(self, value: float) -> None:
        if not value > 0:
            raise ValueError(f"events_per_s must be positive, got {value}")
        self._events_per_s = value

    def __iter__(self) -> EventGenerator:
        return self

    def __next__(self) -> EventBase:
        self._clock_s += self._rng.expovariate(self._events_per_s)
        while not self._due or self._due[0][0] > self._clock_s:
            self._arrive(self._clock_s)
        _, _, topic, payload, duplicate = heapq.heappop(self._due)
        if duplicate:
            self.stats.duplicates += 1
        elif self._rng.random() < self._scenario.duplicate_rate:
            # An upstream retry: the same event, same event_id, published again later.
            delay_s = self._rng.expovariate(1.0 / self._scenario.duplicate_delay_s)
            self._push(self._clock_s + delay_s, topic, payload, duplicate=True)
        self.stats.emitted += 1
        event: EventBase = MODEL_BY_TOPIC[topic].model_validate_json(payload)
        return event

    def _arrive(self, at_s: float) -> None:
        scenario, stats = self._scenario, self.stats
        draw = self._rng.random()
        if draw < scenario.direct_visit_share:
            stats.direct_visits += 1
            self._schedule(self._planner.direct_visit(at_s))
        elif draw < scenario.direct_visit_share + scenario.agent_call_share:
            stats.agent_calls += 1
            self._schedule(self._planner.agent_call(at_s))
        else:
            stats.messages += 1
            plan = self._planner.message(at_s)
            if len(plan) > 1 and self._rng.random() < scenario.out_of_order_rate:
                stats.late_sents += 1
                self._schedule(_with_late_sent(plan, self._rng))
            else:
                self._schedule(plan)

    def _schedule(self, plan: list[Planned]) -> None:
        for at_s, event in plan:
            payload = event.__pydantic_serializer__.to_json(event, exclude_none=True)
            self._push(at_s, event.topic, payload, duplicate=False)

    def _push(self, emit_s: float, topic: Topic, payload: bytes, *, duplicate: bool) -> None:
        heapq.heappush(self._due, (emit_s, next(self._order), topic, payload, duplicate))


def _with_late_sent(plan: list[Planned], rng: random.Random) -> list[Planned]:
    """Emit the `sent` (kept as it happened) just after the message's first other event."""
    (sent_s, sent), rest = plan[0], plan[1:]
    assert isinstance(sent, DeliveryEvent) and sent.status == "sent", "plans start with the sent"
    first_other_s = min(at_s for at_s, _ in rest)
    late_s = max(sent_s, first_other_s) + rng.expovariate(1.0 / _LATE_SENT_MEAN_S)
    return [*rest, (late_s, sent)]


__all__ = ["EventGenerator", "GeneratorStats"]
