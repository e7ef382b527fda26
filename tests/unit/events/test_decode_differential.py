"""The compiled decoder and the pydantic models decide every record alike.

Each case goes through ``decode`` (compiled first, pydantic for what it
refuses), ``decode_with_pydantic`` (the models alone) and the compiled
decoder on its own. Required: the same verdict and the same event (value,
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
from datetime import UTC, date, datetime, timedelta, timezone
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import msgspec
import pytest
import test_event_decode
import test_event_models
from event_samples import VALID_PAYLOADS, payload, without
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AfterValidator, AwareDatetime, StringConstraints, ValidationError

from collectpulse.events.compiled import COMPILED, typed_dict_of
from collectpulse.events.currencies import ACTIVE_CURRENCY_CODES
from collectpulse.events.decode import Invalid, decode, decode_with_pydantic
from collectpulse.events.models import MODEL_BY_TOPIC, EventBase, Topic
from collectpulse.simulate import EventGenerator, PoisonMaker, to_record

MAX_BYTES = 1 << 20
TOPICS = list(Topic)
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
_TYPES_ONLY = {topic: msgspec.json.Decoder(typed_dict_of(m)) for topic, m in MODEL_BY_TOPIC.items()}
# msgspec rounds an event time to the microsecond, pydantic truncates (docs/DESIGN.md).
_SUB_MICROSECOND = re.compile(rb"\.\d{7}")


# -- the checks -------------------------------------------------------------------------


def check(topic: Topic, value: bytes, data: dict[str, Any] | None = None) -> bool:
    """Assert every agreement for one record; return whether the models accept it."""
    reference = decode_with_pydantic(topic, value)
    decoded = decode(topic, value, max_bytes=MAX_BYTES)
    compiled = COMPILED[topic](value)
    if isinstance(reference, Invalid):
        assert compiled is None, "the compiled decoder accepted what the models refuse"
        assert decoded == reference
        if data is not None:
            _check_field_named(topic, value, data)
        return False
    assert compiled is not None or not _canonical(data)
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
    assert not isinstance(decode_with_pydantic(topic, _encode(lone)), Invalid), (field, named)


def msgspec_field(message: str) -> str:
    """The top-level field a msgspec error names ("" for the record as a whole)."""
    if found := re.search(r"missing required field `([^`]*)`", message):
        return found.group(1)
    if found := re.search(r" - at `\$\.([^`.\[]*)", message):
        return found.group(1)
    return ""


def _canonical(data: dict[str, Any] | None) -> bool:
    return data is not None and data.get("__canonical__") is True


def _encode(data: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in data.items() if k != "__canonical__"}).encode()


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
    check(topic, _encode(data), data)


@pytest.mark.parametrize("value", list(decode_test_values()))
@pytest.mark.parametrize("topic", TOPICS)
def test_the_decode_test_values_are_decided_alike(topic: Topic, value: bytes) -> None:
    assert not check(topic, value)


def test_every_catalog_example_is_accepted_by_the_compiled_decoder_itself() -> None:
    for topic, data in VALID_PAYLOADS.items():
        assert check(topic, _encode(data), {**data, "__canonical__": True})


# -- generated valid events ----------------------------------------------------------------


def rfc3339(moment: datetime, digits: int, utc_as_z: bool) -> str:
    """``moment`` the canonical way: 'T', 0-6 fraction digits, 'Z' or ±HH:MM."""
    text = moment.replace(tzinfo=None, microsecond=0).isoformat()
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    offset = moment.utcoffset() or timedelta(0)
    if utc_as_z and not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return text + f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda m: timezone(timedelta(minutes=m))
)
event_times = st.builds(
    rfc3339,
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ).flatmap(lambda d: offsets.map(lambda tz: d.astimezone(tz))),
    st.integers(min_value=0, max_value=6),
    st.booleans(),
)


def valid_values(annotation: Any, metadata: list[Any], field: str) -> st.SearchStrategy[Any]:
    """Values the models accept in canonical JSON form, for one field type."""
    if get_origin(annotation) is Annotated:
        base, *inner = get_args(annotation)
        return valid_values(base, [*inner, *metadata], field)
    if get_origin(annotation) in (Union, UnionType):
        return st.one_of(*(valid_values(a, [], field) for a in get_args(annotation)))
    if get_origin(annotation) is Literal:
        return st.sampled_from(get_args(annotation))
    if annotation is NoneType:
        return st.none()
    if annotation is bool:
        return st.booleans()
    if annotation is AwareDatetime:
        return event_times
    if annotation is date:
        return st.dates(min_value=date(1, 1, 1)).map(date.isoformat)
    if annotation is int:
        low = next(m.ge for m in metadata if isinstance(m, annotated_types.Ge))
        return st.integers(min_value=low, max_value=2**63 - 1) | st.just(low)
    if annotation is str and any(isinstance(m, AfterValidator) for m in metadata):
        assert field == "currency", f"no valid values known for {field}"
        return st.sampled_from(sorted(ACTIVE_CURRENCY_CODES))
    if annotation is str:
        (limits,) = [m for m in metadata if isinstance(m, StringConstraints)]
        low, high = limits.min_length or 0, limits.max_length or 64
        at_limit = st.tuples(st.sampled_from("xé😀"), st.sampled_from([high - 1, high]))
        return st.text(min_size=low, max_size=min(high, 24)) | at_limit.map(lambda t: t[0] * t[1])
    raise AssertionError(f"no valid values for {annotation!r} ({field})")


# Built once: building strategies per draw costs hypothesis far more than drawing.
FIELD_VALUES = {
    topic: {
        name: (field.is_required(), valid_values(field.annotation, list(field.metadata), name))
        for name, field in model.model_fields.items()
    }
    for topic, model in MODEL_BY_TOPIC.items()
}
labels = st.text(min_size=1, max_size=12)


@st.composite
def valid_events(draw: st.DrawFn) -> tuple[Topic, dict[str, Any]]:
    """An event the models accept: required fields set, optional ones set, null or absent."""
    topic = draw(st.sampled_from(TOPICS))
    data: dict[str, Any] = {}
    for name, (required, values) in FIELD_VALUES[topic].items():
        if required or draw(st.booleans()):
            data[name] = draw(values)
    if topic is Topic.DELIVERY and data["status"] == "sent":
        for name in ("campaign", "variant", "customer_id"):
            if data.get(name) is None:
                data[name] = draw(labels)
    return topic, data


@settings(FAST, max_examples=800)
@given(case=valid_events())
def test_generated_valid_events_are_decoded_alike_by_the_compiled_decoder(
    case: tuple[Topic, dict[str, Any]],
) -> None:
    topic, data = case
    assert check(topic, _encode(data), {**data, "__canonical__": True})


# -- generated invalid and borderline events -----------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3)
    ),
    max_leaves=8,
)
# Values pydantic's lax mode reads differently from msgspec, and near misses of each type.
BORDERLINE = [
    "true", "false", "1", "0", "yes", "off", 1, 0, -1, 1.0, 0.5, "100", 100.0, 2**63, 2**64,
    -(2**63) - 1, "", " ", "x" * 65, "x" * 129, "x" * 257, "x" * 2049, None, [], {}, ["a"],
    "2025-03-15", "2025-03-15T00:00:00Z", "2025-03-15T00:00:00", "2025-03-15T01:00:00Z",
    1741996800, "1741996800", "1700000000", 1740821400.5, "2025-03-01T09:30Z",
    "2025-03-01t09:30:00z", "2025-03-01 09:30:00Z", "2025-03-01_09:30:00Z",
    "2025-03-01T09:30:00+0200", "2025-03-01T09:30:00+02", "2025-03-01T09:30:00+24:00",
    "2025-03-01T09:30:00-00:00", "2025-03-01T09:30:00+02:00:00", "2025-03-01T09:30:00.Z",
    "2025-03-01T09:30:00.1234567Z", "2025-03-01T09:30:00.9999999+01:00",
    "2025-03-01T09:30:00,5Z", "2025-03-01T09:30:00", "2025-02-29T00:00:00Z",
    "2024-02-29T23:59:59.999999-23:59", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00", "2025-03-01T23:59:60Z", "2025-03-01T24:00:00Z",
    "20250301T093000Z", "2025-W09-6T09:30:00Z", "\uff12\uff10\uff12\uff15-03-01T09:30:00Z",
    "EUR", "eur", "XAU", "sent", "delivered", "email", "SMS",
]  # fmt: skip
datetime_like = st.from_regex(
    r"\A\d{4}-\d{2}-\d{2}([Tt _]\d{2}(:\d{2}(:\d{2}([.,]\d{0,10})?)?)?)?"
    r"([Zz]|[+-]\d{2}(:?\d{2})?)?\Z"
)
wrong_values = st.one_of(json_values, st.sampled_from(BORDERLINE), datetime_like)


FIELD_NAMES = {t: st.sampled_from(sorted(m.model_fields)) for t, m in MODEL_BY_TOPIC.items()}
ACTIONS = st.sampled_from(["drop", "replace", "replace", "add"])
extra_names = st.text(max_size=10)


@st.composite
def mutated_events(draw: st.DrawFn) -> tuple[Topic, dict[str, Any]]:
    """A valid event with one to three fields dropped, replaced or added."""
    topic, data = draw(valid_events())
    fields = FIELD_NAMES[topic]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        action = draw(ACTIONS)
        if action == "drop":
            data.pop(draw(fields), None)
        elif action == "replace":
            data[draw(fields)] = draw(wrong_values)
        else:
            data[draw(extra_names)] = draw(json_values)
    return topic, data


@settings(FAST, max_examples=1500)
@given(case=mutated_events())
def test_generated_invalid_and_borderline_events_are_decided_alike(
    case: tuple[Topic, dict[str, Any]],
) -> None:
    topic, data = case
    check(topic, _encode(data), data)


@st.composite
def mangled_values(draw: st.DrawFn) -> tuple[Topic, bytes]:
    """A near-valid record changed as bytes: duplicate keys, bad UTF-8, deep nesting, noise."""
    topic, data = draw(st.one_of(valid_events(), mutated_events()))
    value = _encode(data)
    body, field = value[:-1], json.dumps(draw(st.sampled_from(sorted(data) or ["x"])))
    kind = draw(st.sampled_from(["duplicate", "bytes", "nesting", "flip", "cut"]))
    if kind == "duplicate":
        value = body + f", {field}: {json.dumps(draw(wrong_values))}}}".encode()
    elif kind == "bytes":
        junk = draw(st.binary(min_size=1, max_size=4))
        value = body + b', "note": "' + junk.replace(b'"', b"").replace(b"\\", b"") + b'"}'
    elif kind == "nesting":
        depth = draw(st.integers(min_value=190, max_value=260))
        opener = draw(st.sampled_from([b"[", b'{"a":']))
        closer = b"]" if opener == b"[" else b"}"
        value = body + b', "deep": ' + opener * depth + b"1" * (opener == b'{"a":') + closer * depth
        value += b"}"
    elif kind == "flip":
        at = draw(st.integers(min_value=0, max_value=len(value) - 1))
        value = value[:at] + bytes([draw(st.integers(0, 255))]) + value[at + 1 :]
    else:
        value = value[: draw(st.integers(min_value=1, max_value=len(value)))]
    return topic, value


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
        canonical = {**data, "__canonical__": True} if isinstance(data, dict) else None
        accepted += check(topic, value, canonical)
        if isinstance(data, dict):
            field = rng.choice(sorted(MODEL_BY_TOPIC[topic].model_fields))
            if rng.random() < 0.2:
                data.pop(field, None)
            else:
                data[field] = rng.choice(BORDERLINE)
            check(topic, _encode(data), data)
    assert accepted >= 8000  # every simulated record, by the compiled decoder itself


def test_the_msgspec_error_names_the_top_level_field() -> None:
    assert msgspec_field("Object missing required field `currency`") == "currency"
    assert msgspec_field("Expected `str`, got `int` - at `$.currency`") == "currency"
    assert msgspec_field("Expected `object`, got `array`") == ""
