"""The compiled decoder and the pydantic models decide every record alike.

Each case goes through ``decode`` (compiled first, pydantic for what it
refuses), ``decode_with_pydantic`` (the models alone) and the compiled
decoder on its own. Required: the same verdict and the same event (value, UTC
offset, fields set) or the same dead-letter reason; the compiled decoder
never accepts what the models refuse, accepts every canonical valid event
itself, and when its types refuse a record, they name a field the models
also refuse (or one whose value only pydantic's lax mode accepts).
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
import test_event_decode
import test_event_models
from event_corpus import BORDERLINE, encode, mangled_values, mutated_events, valid_events
from event_samples import VALID_PAYLOADS, payload, without
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from collectpulse.events.compiled import COMPILED, typed_dict_of
from collectpulse.events.decode import Invalid, decode, decode_with_pydantic
from collectpulse.events.models import MODEL_BY_TOPIC, EventBase, Topic
from collectpulse.simulate import EventGenerator, PoisonMaker, to_record

MAX_BYTES = 1 << 20
TOPICS = list(Topic)
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
_TYPES_ONLY = {topic: msgspec.json.Decoder(typed_dict_of(m)) for topic, m in MODEL_BY_TOPIC.items()}
# msgspec rounds an event time to the microsecond, pydantic truncates (schemas/README.md).
_SUB_MICROSECOND = re.compile(rb"\.\d{7}")


# -- the checks -------------------------------------------------------------------------


def check(
    topic: Topic, value: bytes, data: dict[str, Any] | None = None, *, canonical: bool = False
) -> bool:
    """Assert every agreement for one record; return whether the models accept it.

    ``data`` is the payload ``value`` encodes, when there is one; ``canonical``
    says it is in the strict form, which the compiled decoder must accept itself.
    """
    reference = decode_with_pydantic(topic, value)
    decoded = decode(topic, value, max_bytes=MAX_BYTES)
    compiled = COMPILED[topic](value)
    if isinstance(reference, Invalid):
        assert compiled is None, "the compiled decoder accepted what the models refuse"
        assert decoded == reference
        if data is not None:
            _check_field_named(topic, value, data)
        return False
    assert compiled is not None or not canonical
    assert isinstance(decoded, EventBase)
    _assert_same_event(decoded, reference, value)
    if compiled is not None:
        _assert_same_event(compiled, reference, value)
    return True


def _assert_same_event(event: EventBase, reference: EventBase, value: bytes) -> None:
    assert type(event) is type(reference)
    assert event.model_fields_set == reference.model_fields_set
    assert event.occurred_at.utcoffset() == reference.occurred_at.utcoffset()
    if _SUB_MICROSECOND.search(value):
        shift = event.occurred_at - reference.occurred_at
        assert timedelta(0) <= shift <= timedelta(microseconds=1)
        event = event.model_copy(update={"occurred_at": reference.occurred_at})
    assert event == reference
    assert event.model_dump_json() == reference.model_dump_json()
    assert hash(event) == hash(reference)


def _check_field_named(topic: Topic, value: bytes, data: dict[str, Any]) -> None:
    """When msgspec's types refuse the record, the field they name is one the models refuse."""
    try:
        _TYPES_ONLY[topic].decode(value)
    except msgspec.ValidationError as exc:
        field = msgspec_field(str(exc))
    except msgspec.DecodeError:
        return  # JSON pydantic reads but msgspec does not (NaN, Infinity): not a field's fault
    else:
        return  # refused by a validator the models share with the compiled decoder
    with pytest.raises(ValidationError) as refused:
        MODEL_BY_TOPIC[topic].model_validate_json(value)
    named = {str(error["loc"][0]) if error["loc"] else "" for error in refused.value.errors()}
    if field in named:
        return
    # Otherwise only pydantic's lax mode accepts that field's value (e.g. "true" for a bool).
    lone = payload(topic, **{field: data[field]}) if field in data else without(topic, field)
    try:
        MODEL_BY_TOPIC[topic].model_validate_json(encode(lone))
    except ValidationError as exc:
        # a cross-field check (a model validator, no location) may refuse the lone
        # change, e.g. a contact's started_at after occurred_at: the value itself passed
        assert all(not error["loc"] for error in exc.errors()), (field, named)


def msgspec_field(message: str) -> str:
    """The top-level field a msgspec error names ("" for the record as a whole)."""
    if found := re.search(r"missing required field `([^`]*)`", message):
        return found.group(1)
    if found := re.search(r" - at `\$\.([^`.\[]*)", message):
        return found.group(1)
    return ""


# -- the existing model and decode tests, replayed ----------------------------------------


def _params(test: Callable[..., Any]) -> Iterator[dict[str, Any]]:
    """Every argument combination a test function's ``parametrize`` marks give."""
    grids = []
    for mark in getattr(test, "pytestmark", []):
        if mark.name == "parametrize":
            spec = mark.args[0]
            names = [n.strip() for n in spec.split(",")] if isinstance(spec, str) else list(spec)
            rows = [row if len(names) > 1 else (row,) for row in mark.args[1]]
            grids.append([dict(zip(names, row, strict=True)) for row in rows])
    for combo in itertools.product(*grids):
        yield {k: v for part in combo for k, v in part.items()}


_MODEL_CASES: dict[str, Callable[..., tuple[Topic, dict[str, Any]]]] = {
    "test_unknown_value_of_a_closed_set_is_rejected": lambda topic, field, value: (
        topic,
        payload(topic, **{field: value}),
    ),
    "test_occurred_at_without_an_offset_is_rejected": lambda occurred_at: (
        Topic.OPEN,
        payload(Topic.OPEN, occurred_at=occurred_at),
    ),
    "test_amount_must_be_a_non_negative_integer": lambda topic, amount: (
        topic,
        payload(topic, amount_minor=amount),
    ),
    "test_currency_must_be_an_active_iso_4217_code": lambda topic, currency: (
        topic,
        payload(topic, currency=currency),
    ),
    "test_active_currencies_are_accepted": lambda currency: (
        Topic.PAYMENT,
        payload(Topic.PAYMENT, currency=currency),
    ),
    "test_empty_id_is_rejected": lambda topic, field: (topic, payload(topic, **{field: ""})),
    "test_missing_id_is_rejected": lambda topic, field: (topic, without(topic, field)),
    "test_sent_delivery_without_its_metadata_names_the_missing_field": lambda field: (
        Topic.DELIVERY,
        without(Topic.DELIVERY, field),
    ),
}


def model_test_cases() -> Iterator[tuple[Topic, dict[str, Any]]]:
    """The payloads of ``test_event_models``, plus its one-off examples."""
    for name, build in _MODEL_CASES.items():
        for args in _params(getattr(test_event_models, name)):
            yield build(**args)
    for args in _params(test_event_models.test_strings_longer_than_their_limit_are_rejected):
        topic, field, limit = args["topic"], args["field"], args["limit"]
        yield topic, payload(topic, **{field: "x" * limit})
        yield topic, payload(topic, **{field: "x" * (limit + 1)})
    yield from ((topic, dict(data)) for topic, data in VALID_PAYLOADS.items())
    no_metadata = without(Topic.DELIVERY, "campaign")
    del no_metadata["variant"]
    yield Topic.DELIVERY, no_metadata
    yield Topic.DELIVERY, {**without(Topic.DELIVERY, "campaign"), "status": "delivered"}
    yield Topic.OPEN, payload(Topic.OPEN, schema_version=0)
    yield Topic.OPEN, payload(Topic.OPEN, tenant="acme-bank")
    yield Topic.OPEN, payload(Topic.OPEN, tenant="")
    yield Topic.OPEN, payload(Topic.OPEN, email="jane@example.com", x={"y": 1})
    yield Topic.PROMISE, payload(Topic.PROMISE, due_date="15/03/2025")
    yield Topic.PAYMENT, payload(Topic.PAYMENT, amount_minor=0)
    yield Topic.PAYMENT, payload(Topic.PAYMENT, card_last4="4242", meta={"a": [1, 2]})
    yield Topic.CLICK, payload(Topic.CLICK, message_id="a@b.example", machine="a@b.example")


def decode_test_values() -> Iterator[bytes]:
    """The raw values ``test_event_decode`` feeds the decoder."""
    for test in (
        test_event_decode.test_bytes_that_are_not_json_are_not_json,
        test_event_decode.test_json_that_is_not_an_object_is_not_object,
    ):
        yield from (args["value"] for args in _params(test))


@pytest.mark.parametrize(("topic", "data"), list(model_test_cases()))
def test_the_model_test_cases_are_decided_alike(topic: Topic, data: dict[str, Any]) -> None:
    check(topic, encode(data), data)


@pytest.mark.parametrize("value", list(decode_test_values()))
@pytest.mark.parametrize("topic", TOPICS)
def test_the_decode_test_values_are_decided_alike(topic: Topic, value: bytes) -> None:
    assert not check(topic, value)


_OPEN = encode(VALID_PAYLOADS[Topic.OPEN])
_JSON_EDGES = [
    b"\xef\xbb\xbf" + _OPEN,
    _OPEN + b"\x00",
    b"\t\n " + _OPEN + b"\n\r ",
    _OPEN[:-1] + b', "x": "\\ud83d\\ude00"}',
    _OPEN[:-1] + b', "x": "\\ud800"}',
    _OPEN[:-1] + b', "x": -0, "y": 1E400, "z": NaN}',
    _OPEN[:-1] + b', "x": "a\x01b"}',
    _OPEN[:-1] + b', "x": "a\x7fb"}',
    _OPEN[:-1] + b', "x": "\xc3\x28"}',
    _OPEN[:-1] + b', "x": [1,]}',
    _OPEN[:-1] + b",}",
    _OPEN[:-1] + b', "message_id": "m2", "message_id": "m3"}',
    _OPEN[:-1] + b', "x": ' + b"[" * 200 + b"]" * 200 + b"}",
    _OPEN[:-1] + b', "x": ' + b"[" * 201 + b"]" * 201 + b"}",
]


@pytest.mark.parametrize("value", _JSON_EDGES)
def test_json_edge_cases_are_decided_alike(value: bytes) -> None:
    check(Topic.OPEN, value)


def test_every_catalog_example_is_accepted_by_the_compiled_decoder_itself() -> None:
    for topic, data in VALID_PAYLOADS.items():
        assert check(topic, encode(data), data, canonical=True)


@settings(FAST, max_examples=800)
@given(case=valid_events())
def test_generated_valid_events_are_decoded_alike_by_the_compiled_decoder(
    case: tuple[Topic, dict[str, Any]],
) -> None:
    topic, data = case
    assert check(topic, encode(data), data, canonical=True)


@settings(FAST, max_examples=1500)
@given(case=mutated_events())
def test_generated_invalid_and_borderline_events_are_decided_alike(
    case: tuple[Topic, dict[str, Any]],
) -> None:
    topic, data = case
    check(topic, encode(data), data)


@settings(FAST, max_examples=800)
@given(case=mangled_values())
def test_mangled_records_are_decided_alike(case: tuple[Topic, bytes]) -> None:
    topic, value = case
    check(topic, value)


# -- the project's own records, in bulk --------------------------------------------------


def test_simulated_records_their_poison_and_seeded_mutations_are_decided_alike() -> None:
    """Volume the generated tests cannot afford: 8,000 simulated records, each also mutated."""
    rng = random.Random(19)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    records = [to_record(e) for e in itertools.islice(EventGenerator(seed=19, start=start), 8000)]
    poison = PoisonMaker(19, max_event_bytes=MAX_BYTES)
    records += [poison.make(rng.choice(poison.kinds)) for _ in range(500)]
    accepted = 0
    for record in records:
        topic, value = record.topic, record.value
        if not value or len(value) > MAX_BYTES:
            continue
        try:
            data = json.loads(value)
        except ValueError:
            data = None  # poison that is not JSON
        accepted += check(topic, value, data if isinstance(data, dict) else None, canonical=True)
        if isinstance(data, dict):
            field = rng.choice(sorted(MODEL_BY_TOPIC[topic].model_fields))
            if rng.random() < 0.2:
                data.pop(field, None)
            else:
                data[field] = rng.choice(BORDERLINE)
            check(topic, encode(data), data)
    assert accepted >= 8000  # every simulated record, by the compiled decoder itself


def test_the_msgspec_error_names_the_top_level_field() -> None:
    assert msgspec_field("Object missing required field `currency`") == "currency"
    assert msgspec_field("Expected `str`, got `int` - at `$.currency`") == "currency"
    assert msgspec_field("Expected `object`, got `array`") == ""
