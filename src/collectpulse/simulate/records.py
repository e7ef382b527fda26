"""Kafka records from events: the topic, the key the contract requires, JSON bytes."""

from __future__ import annotations

from typing import NamedTuple

from collectpulse.events.keys import partition_key
from collectpulse.events.models import EventBase, Topic


class Record(NamedTuple):
    """One record to produce; `topic` is canonical, without the configured prefix."""

    topic: Topic
    key: bytes
    value: bytes


def to_json(event: EventBase) -> bytes:
    """The event as its producer would publish it: compact JSON, unset optionals left out."""
    return event.model_dump_json(exclude_none=True).encode()


def to_record(event: EventBase) -> Record:
    """The record `event` must be produced as: its topic, its partition key, its JSON."""
    return Record(event.topic, partition_key(event), to_json(event))


__all__ = ["Record", "to_json", "to_record"]
