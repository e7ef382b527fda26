"""Poison records fail decoding for the reasons they stand for; valid records stay valid."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from collectpulse.events.decode import Invalid, decode
from collectpulse.events.models import EventBase, Topic
from collectpulse.simulate import EventGenerator, PoisonMaker, to_record

from .conftest import START

MAX_EVENT_BYTES = 65_536


def _decode_poison(maker: PoisonMaker, kind: str) -> Invalid:
    record = maker.make(kind)  # type: ignore[arg-type]
    result = decode(record.topic, record.value, max_bytes=MAX_EVENT_BYTES)
    assert isinstance(result, Invalid)
    return result


def test_each_poison_kind_is_rejected_for_its_reason() -> None:
    maker = PoisonMaker(1, max_event_bytes=MAX_EVENT_BYTES)
    for _ in range(30):
        assert _decode_poison(maker, "not_json").reason == "not_json"
        assert _decode_poison(maker, "schema").reason in ("validation", "not_object")
        assert _decode_poison(maker, "oversized").reason == "too_large"


def test_oversized_poison_is_left_out_when_the_broker_would_refuse_it() -> None:
    maker = PoisonMaker(1, max_event_bytes=2_000_000, max_record_bytes=1_000_000)
    assert maker.kinds == ("not_json", "schema")


def test_poison_records_have_keys_and_spread_over_topics() -> None:
    maker = PoisonMaker(1, max_event_bytes=MAX_EVENT_BYTES)
    records = [maker.make() for _ in range(300)]
    assert all(record.key for record in records)
    assert {record.topic for record in records} == set(Topic)


def test_mixing_poison_keeps_the_valid_stream_and_adds_the_asked_share() -> None:
    valid = [to_record(e) for e in itertools.islice(EventGenerator(seed=4, start=START), 20_000)]
    mixed = list(PoisonMaker(4, max_event_bytes=MAX_EVENT_BYTES).mix(valid, rate=0.05))
    assert [record for record, poisoned in mixed if not poisoned] == valid
    poisoned = Counter(poisoned for _, poisoned in mixed)
    assert poisoned[True] / len(mixed) == pytest.approx(0.05, abs=0.005)
    for record, is_poison in mixed[:3000]:
        result = decode(record.topic, record.value, max_bytes=MAX_EVENT_BYTES)
        assert isinstance(result, Invalid) == is_poison
        assert is_poison or isinstance(result, EventBase)


def test_poison_rate_must_be_below_one() -> None:
    with pytest.raises(ValueError, match="poison rate"):
        list(PoisonMaker(1, max_event_bytes=MAX_EVENT_BYTES).mix([], rate=1.0))
