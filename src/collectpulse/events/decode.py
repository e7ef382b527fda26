"""The boundary: raw Kafka record values become a canonical event or an `Invalid`.

`decode` runs once per event on the hot path and never raises, whatever the
bytes: a bad record must reach the dead-letter topic, not stop a worker.
An `Invalid` says why in words that are safe to put in Kafka headers and
logs: field locations and error types only, never input values, which may be
customer ids, e-mail addresses, phone numbers or URLs.

The compiled decoder (``events.compiled``) accepts the valid records first;
pydantic decides every record it cannot vouch for and words the reason.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

from pydantic import ValidationError

from collectpulse.events.compiled import COMPILED
from collectpulse.events.models import MODEL_BY_TOPIC, EventBase, ReferenceTopic, Topic
from collectpulse.events.roster import REFERENCE_MODELS

Reason = Literal[
    "too_large", "not_json", "not_object", "validation", "empty", "future_event", "provider_error"
]
"""Why a record is dead-lettered; ``provider_error`` is the normalisers' (a raw payload)."""

MAX_DETAIL_CHARS: Final = 300
_MAX_ERRORS_IN_DETAIL: Final = 5


@dataclass(frozen=True, slots=True)
class Invalid:
    """A record that is not a canonical event: why, by which check, in safe words.

    `error_class` is the machine-readable class of the first error (a pydantic
    error type such as `missing` or `literal_error`, or the reason itself);
    `detail` is at most `MAX_DETAIL_CHARS` characters of field locations and
    error messages.
    """

    reason: Reason
    error_class: str
    detail: str


# Bound once at import: the fallback is a dict lookup and one call into
# pydantic-core, which parses and validates the JSON in one pass.
_VALIDATE_JSON: Mapping[Topic | ReferenceTopic, Callable[[bytes], Any]] = MappingProxyType(
    {topic: model.__pydantic_validator__.validate_json for topic, model in MODEL_BY_TOPIC.items()}
    | {t: model.__pydantic_validator__.validate_json for t, model in REFERENCE_MODELS.items()}
)
_EMPTY: Final = Invalid("empty", "empty", "record has no value")


def decode(
    topic: Topic | ReferenceTopic, value: bytes | None, *, max_bytes: int
) -> EventBase | Invalid:
    """Validate one record value of `topic` into its model, or say why it is invalid."""
    if not value:
        return _EMPTY
    if len(value) > max_bytes:
        return Invalid("too_large", "too_large", f"value is {len(value)} bytes; limit {max_bytes}")
    event = COMPILED[topic](value)
    if event is not None:
        return event
    return decode_with_pydantic(topic, value)


def decode_with_pydantic(topic: Topic | ReferenceTopic, value: bytes) -> EventBase | Invalid:
    """``decode`` by the models alone: the reference the compiled decoder is tested against."""
    try:
        event: EventBase = _VALIDATE_JSON[topic](value)
    except ValidationError as exc:
        return _from_validation_error(exc)
    except Exception as exc:
        # Never expected from pydantic-core, but a worker must survive any
        # input: the record goes to the dead-letter topic (and is counted
        # there) instead of killing the worker. str(exc) is left out: it
        # could quote the input.
        return Invalid("validation", type(exc).__name__, "unexpected error while decoding")
    return event


def decode_many(
    topic: Topic, values: Iterable[bytes | None], max_bytes: int
) -> list[EventBase | Invalid]:
    """Decode a batch of record values of one topic, in order."""
    return [decode(topic, value, max_bytes=max_bytes) for value in values]


def future_event(occurred_s: int, *, now_s: int, tolerance_s: int) -> Invalid | None:
    """``future_event`` when the event time is more than ``tolerance_s`` ahead of ``now_s``.

    The clock is the caller's: ``decode`` stays pure, and a batch reads the
    clock once. An event dated ahead of the worker would otherwise open
    buckets nobody reads yet and stretch every "newest event" gauge.
    """
    ahead_s = occurred_s - now_s
    if ahead_s <= tolerance_s:
        return None
    detail = f"occurred_at is {ahead_s}s ahead of the worker's clock; tolerance {tolerance_s}s"
    return Invalid("future_event", "future_event", detail)


def _from_validation_error(exc: ValidationError) -> Invalid:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    first_type = errors[0]["type"] if errors else "unknown"
    if first_type == "json_invalid":
        reason: Reason = "not_json"
    elif first_type == "model_type" and not errors[0]["loc"]:
        reason = "not_object"
    else:
        reason = "validation"
    parts = [_describe(error["loc"], error["type"], error["msg"]) for error in errors]
    if len(parts) > _MAX_ERRORS_IN_DETAIL:
        parts = [*parts[:_MAX_ERRORS_IN_DETAIL], f"and {len(parts) - _MAX_ERRORS_IN_DETAIL} more"]
    return Invalid(reason, first_type, _clip("; ".join(parts)))


def _describe(loc: tuple[int | str, ...], error_type: str, message: str) -> str:
    # Our models have no list fields and one dict (an experiment's variants, keyed
    # by variant name, a label): a loc part is a field name or a variant name,
    # never a customer id or address taken from the input.
    where = ".".join(str(part) for part in loc)
    text = f"{message} [{error_type}]"
    return f"{where}: {text}" if where else text


def _clip(text: str) -> str:
    if len(text) <= MAX_DETAIL_CHARS:
        return text
    return text[: MAX_DETAIL_CHARS - 3] + "..."
