"""Generated corpora for the decode tests: valid events, near misses and mangled bytes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from hypothesis import strategies as st
from pydantic import AfterValidator, AwareDatetime, StringConstraints

from collectpulse.events.currencies import ACTIVE_CURRENCY_CODES
from collectpulse.events.models import MODEL_BY_TOPIC, Topic


def encode(data: dict[str, Any]) -> bytes:
    """A payload as a producer would send it."""
    return json.dumps(data).encode()


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
        low = next((m.ge for m in metadata if isinstance(m, annotated_types.Ge)), -(2**63))
        high = next((m.le for m in metadata if isinstance(m, annotated_types.Le)), 2**63 - 1)
        return st.integers(min_value=low, max_value=high) | st.just(low) | st.just(high)
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
    topic = draw(st.sampled_from(list(Topic)))
    data: dict[str, Any] = {}
    for name, (required, values) in FIELD_VALUES[topic].items():
        if required or draw(st.booleans()):
            data[name] = draw(values)
    if topic is Topic.DELIVERY and data["status"] == "sent":
        for name in ("campaign", "variant", "customer_id"):
            if data.get(name) is None:
                data[name] = draw(labels)
    if topic is Topic.ACCOUNT and data["change"] == "placed":
        data["delta_minor"] = data["balance_minor"]
    elif topic is Topic.ACCOUNT and data["change"] in ("assigned", "status"):
        data["delta_minor"] = 0
    if topic is Topic.CONTACT:
        # started_at <= occurred_at; outbound names its customer; inbound reaches a party
        data["started_at"] = data["occurred_at"]
        if data["direction"] == "outbound" and data.get("customer_id") is None:
            data["customer_id"] = draw(labels)
        if data["direction"] == "inbound":
            data["outcome"] = draw(st.sampled_from(["right_party", "wrong_party"]))
    return topic, data


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


@st.composite
def mangled_values(draw: st.DrawFn) -> tuple[Topic, bytes]:
    """A near-valid record changed as bytes: duplicate keys, bad UTF-8, deep nesting, noise."""
    topic, data = draw(st.one_of(valid_events(), mutated_events()))
    value = encode(data)
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
