"""Pure: input text -> (line, topic, value) records or line-numbered errors; no I/O.

The input may be one JSON object, a JSON array of objects, JSON Lines, or
objects one after another spread over several lines (as in the README). An
event does not name its own type, and some types cannot be told apart by
their fields (an open and a click without ``url`` look the same), so the type
comes from ``--topic`` or from a wrapper object ``{"topic": ..., "event": ...}``.
Each event is validated by the worker's own decoder, so what passes here is
what the worker counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from collectpulse.events.decode import Invalid, decode, future_event
from collectpulse.events.keys import partition_key
from collectpulse.events.models import Topic

WRAPPER_KEYS: Final = frozenset({"topic", "event"})
_TOPIC_NAMES: Final = ", ".join(topic.value for topic in Topic)


@dataclass(frozen=True, slots=True)
class Record:
    """A validated event, ready to produce: its type, the key the contract asks for, the value."""

    line: int
    topic: Topic
    event_id: str
    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class BadRecord:
    """Why the object starting on ``line`` cannot be published (no input values quoted)."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def read_records(
    text: str,
    *,
    topic: Topic | None,
    max_event_bytes: int,
    now_s: int,
    future_tolerance_s: int,
) -> tuple[list[Record], list[BadRecord]]:
    """Every object of ``text`` validated as an event of ``topic`` (or of its wrapper's)."""
    records: list[Record] = []
    bad: list[BadRecord] = []
    for line, value in json_values(text):
        if isinstance(value, BadRecord):
            bad.append(value)
            continue
        result = _record(line, value, topic, max_event_bytes, now_s, future_tolerance_s)
        if isinstance(result, Record):
            records.append(result)
        else:
            bad.append(result)
    return records, bad


def _record(
    line: int,
    value: object,
    topic: Topic | None,
    max_event_bytes: int,
    now_s: int,
    future_tolerance_s: int,
) -> Record | BadRecord:
    if topic is None:
        unwrapped = _unwrap(line, value)
        if isinstance(unwrapped, BadRecord):
            return unwrapped
        topic, value = unwrapped
    # Compact JSON of what was read, unknown fields kept: producers may send more.
    payload = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    event = decode(topic, payload, max_bytes=max_event_bytes)
    if isinstance(event, Invalid):
        return BadRecord(line, f"not a valid {topic.value} event: {event.detail}")
    occurred_s = int(event.occurred_at.timestamp())
    too_new = future_event(occurred_s, now_s=now_s, tolerance_s=future_tolerance_s)
    if too_new is not None:
        return BadRecord(line, f"the worker would dead-letter it: {too_new.detail}")
    return Record(line, topic, event.event_id, partition_key(event), payload)


def _unwrap(line: int, value: object) -> tuple[Topic, object] | BadRecord:
    if not isinstance(value, dict) or set(value) != WRAPPER_KEYS:
        return BadRecord(
            line,
            'without --topic each object must be {"topic": TYPE, "event": {...}} '
            f"with TYPE one of {_TOPIC_NAMES}",
        )
    try:
        return Topic(value["topic"]), value["event"]
    except ValueError:
        return BadRecord(line, f'"topic" must be one of {_TOPIC_NAMES}')


def json_values(text: str) -> Iterator[tuple[int, object]]:
    """Each top-level JSON value with the line it starts on; a ``BadRecord`` for bad syntax.

    A top-level array yields its elements. After a syntax error reading resumes
    at the next line that starts with ``{``, so one broken JSON Lines line does
    not hide the errors of the others.
    """
    decoder = json.JSONDecoder()
    pos = _skip_space(text, 0)
    in_array = text.startswith("[", pos)
    if in_array:
        pos = _skip_space(text, pos + 1)
    while pos < len(text):
        line = text.count("\n", 0, pos) + 1
        if in_array and text[pos] == "]":
            pos = _skip_space(text, pos + 1)
            if pos < len(text):
                yield _line(text, pos), BadRecord(_line(text, pos), "text after the closing ]")
            return
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            yield line, BadRecord(line, f"not valid JSON: {exc.msg} ({where})")
            pos = _next_object_line(text, pos)
            continue
        yield line, value
        pos = _skip_space(text, end)
        if in_array and text.startswith(",", pos):
            pos = _skip_space(text, pos + 1)
    if in_array:
        yield _line(text, pos), BadRecord(_line(text, pos), "the JSON array has no closing ]")


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _next_object_line(text: str, pos: int) -> int:
    while True:
        newline = text.find("\n", pos)
        if newline == -1:
            return len(text)
        pos = newline + 1
        if text.startswith("{", pos):
            return pos
