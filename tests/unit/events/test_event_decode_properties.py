"""Whatever bytes arrive, decode returns an event or an Invalid and never leaks input."""

import json
from collections.abc import Iterator
from typing import Any

from event_samples import VALID_PAYLOADS
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls

from collectpulse.events.decode import MAX_DETAIL_CHARS, Invalid, decode
from collectpulse.events.models import MODEL_BY_TOPIC, EventBase, Topic

MAX_BYTES = 4096
FIELD_NAMES = sorted({name for model in MODEL_BY_TOPIC.values() for name in model.model_fields})

personal_data = st.one_of(
    st.emails(),
    st.from_regex(r"\+[1-9][0-9]{7,13}", fullmatch=True),
    urls(),
    st.from_regex(r"cust-[0-9a-f]{8}", fullmatch=True),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), personal_data)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(
    st.sampled_from(FIELD_NAMES) | st.text(max_size=20), json_values, max_size=12
)


@st.composite
def near_valid_payloads(draw: st.DrawFn) -> tuple[Topic, dict[str, Any]]:
    """A valid payload of some topic with one to three fields dropped or replaced."""
    topic = draw(st.sampled_from(list(Topic)))
    data = dict(VALID_PAYLOADS[topic])
    fields = sorted(set(data) | set(MODEL_BY_TOPIC[topic].model_fields))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        field = draw(st.sampled_from(fields))
        if draw(st.booleans()):
            data.pop(field, None)
        else:
            data[field] = draw(json_values)
    return topic, data


def _strings_in(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings_in(item)


def _replaced(value: object, old: str, new: str) -> object:
    if value == old:
        return new
    if isinstance(value, list):
        return [_replaced(item, old, new) for item in value]
    if isinstance(value, dict):
        return {key: _replaced(item, old, new) for key, item in value.items()}
    return value


def _leaked_strings(topic: Topic, data: dict[str, Any], detail: str) -> list[str]:
    """String values of `data` (over 5 chars) that `detail` quotes from the input.

    A value that the detail still contains once it is replaced in the input
    by another string of the same length is our own vocabulary (a field name,
    an allowed value, an error type) rather than something copied from it.
    """
    leaked = []
    for value in set(_strings_in(data)):
        if len(value) <= 5 or value not in detail:
            continue
        other = decode(topic, _encode(_replaced(data, value, "~" * len(value))), max_bytes=10**6)
        if not (isinstance(other, Invalid) and value in other.detail):
            leaked.append(value)
    return leaked


def _encode(data: object) -> bytes:
    return json.dumps(data).encode()


def _assert_event_or_safe_invalid(topic: Topic, value: bytes, data: object = None) -> None:
    result = decode(topic, value, max_bytes=MAX_BYTES)
    if isinstance(result, EventBase):
        assert type(result) is MODEL_BY_TOPIC[topic]
        return
    assert isinstance(result, Invalid)
    assert len(result.detail) <= MAX_DETAIL_CHARS
    if isinstance(data, dict):
        assert _leaked_strings(topic, data, result.detail) == []


def test_the_leak_check_catches_a_quoted_value_but_not_our_vocabulary() -> None:
    email = "jane.doe@example.com"
    data = {"note": "message_id", "contact": email}
    honest = decode(Topic.OPEN, _encode(data), max_bytes=MAX_BYTES)
    assert isinstance(honest, Invalid) and "message_id" in honest.detail
    assert _leaked_strings(Topic.OPEN, data, honest.detail) == []
    assert _leaked_strings(Topic.OPEN, data, f"{honest.detail} {email}") == [email]


@given(topic=st.sampled_from(list(Topic)), value=st.binary(max_size=MAX_BYTES + 64))
def test_random_bytes_never_raise(topic: Topic, value: bytes) -> None:
    _assert_event_or_safe_invalid(topic, value)


@settings(max_examples=300)
@given(topic=st.sampled_from(list(Topic)), data=json_objects)
def test_random_json_objects_never_raise_or_leak(topic: Topic, data: dict[str, Any]) -> None:
    _assert_event_or_safe_invalid(topic, _encode(data), data)


@settings(max_examples=500)
@given(case=near_valid_payloads())
def test_near_valid_events_never_raise_or_leak(case: tuple[Topic, dict[str, Any]]) -> None:
    topic, data = case
    _assert_event_or_safe_invalid(topic, _encode(data), data)


@given(
    case=near_valid_payloads(),
    cut=st.integers(min_value=0),
    byte=st.integers(min_value=0, max_value=255),
)
def test_corrupted_bytes_of_near_valid_events_never_raise(
    case: tuple[Topic, dict[str, Any]], cut: int, byte: int
) -> None:
    topic, data = case
    value = bytearray(_encode(data))
    value[cut % len(value)] = byte
    _assert_event_or_safe_invalid(topic, bytes(value))
    _assert_event_or_safe_invalid(topic, bytes(value[: cut % len(value)]))
