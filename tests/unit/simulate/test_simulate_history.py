"""A scenario's history: records up to the live start, then the same stream goes on live."""

from __future__ import annotations

import itertools
from datetime import timedelta

from tests.unit.simulate.conftest import START

from collectpulse.simulate import EventGenerator, to_record
from collectpulse.simulate.named import STEADY
from collectpulse.simulate.publisher import _until_live


def test_the_history_ends_with_the_first_record_at_the_live_start_and_loses_nothing() -> None:
    generator = EventGenerator(seed=5, start=START, events_per_s=20.0, scenario=STEADY)
    source = ((to_record(event), False) for event in generator)
    live_at = START + timedelta(minutes=10)
    past = list(_until_live(source, generator, lambda: live_at))
    assert generator.now >= live_at
    assert generator.now - live_at < timedelta(seconds=2), "at most one record past the start"
    assert 20 * 600 * 0.8 < len(past) < 20 * 600 * 1.2
    after = list(itertools.islice(source, 5))
    assert len(after) == 5, "the live phase goes on with the same stream"
    assert generator.stats.emitted == len(past) + 5
