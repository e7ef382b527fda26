"""The compiled decoder: msgspec types generated from the event models, for the hot path.

The pydantic models in ``events.models`` stay the one contract. At import,
each model is translated into a msgspec ``TypedDict`` carrying the same
fields, types and constraints; a model feature the translation does not know
(a new validator, alias, pattern, config option...) stops the import with
``UnsupportedContract``, so the two cannot drift apart silently. The model's
own after-validators (field and model level) are called on the decoded
values, not re-implemented.

A compiled decoder only ever *accepts*: it returns the same frozen model
instance pydantic would build, or None when it cannot vouch for the record.
``events.decode`` then asks pydantic, which has the final word and words the
dead-letter reason. msgspec is stricter than pydantic's lax mode (e.g.
``"true"`` for a bool, a datetime as a date, big integers), so such records
take the slower path but are decided exactly as before. One deliberate
difference (schemas/README.md): msgspec rounds an event time with more than
six fraction digits to the microsecond, pydantic truncates it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import date, datetime
from types import MappingProxyType, NoneType, UnionType
from typing import (
    Annotated,
    Any,
    Final,
    Literal,
    NotRequired,
    TypedDict,
    Union,
    get_args,
    get_origin,
)

import annotated_types
import msgspec
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, StringConstraints
from pydantic.fields import FieldInfo
from pydantic.types import Strict
from pydantic_core import PydanticUndefined

from collectpulse.events import base
from collectpulse.events.models import MODEL_BY_TOPIC, EventBase, ReferenceTopic, Topic
from collectpulse.events.roster import REFERENCE_MODELS

CompiledDecoder = Callable[[bytes], EventBase | None]
"""Record value -> the validated model instance, or None: let pydantic decide."""


class UnsupportedContract(TypeError):
    """An event model uses a feature the msgspec translation cannot reproduce exactly."""


# BeforeValidators whose refusals msgspec's own strictness already implies:
# a msgspec datetime is decoded from a JSON string only, never from a number.
_IMPLIED_BY_MSGSPEC: Final = frozenset({base._reject_numeric_timestamp})
# Config keys that change no accept/reject decision (``extra`` is checked apart).
_NEUTRAL_CONFIG: Final = frozenset(
    {"frozen", "extra", "hide_input_in_errors", "cache_strings", "json_schema_extra", "title"}
)
# pydantic-core refuses JSON nested deeper than this (jiter's recursion limit,
# measured: 201 objects or 202 arrays fail), msgspec does not: a record with
# more opening brackets than this, anywhere, goes to pydantic.
_MAX_BRACKETS: Final = 200
# Nesting deeper than that takes an opening and a closing bracket per level.
_GUARD_BYTES: Final = 2 * _MAX_BRACKETS

# pydantic's own slots, set as ``BaseModel.model_construct`` sets them.
_SET_DICT: Final = BaseModel.__dict__["__dict__"].__set__
_SET_FIELDS_SET: Final = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_SET_EXTRA: Final = BaseModel.__dict__["__pydantic_extra__"].__set__
_SET_PRIVATE: Final = BaseModel.__dict__["__pydantic_private__"].__set__


def msgspec_type(annotation: Any, metadata: list[Any] | tuple[Any, ...] = ()) -> Any:
    """Translate one pydantic field type (with its constraint metadata) into a msgspec type."""
    if get_origin(annotation) is Annotated:
        base, *inner = get_args(annotation)
        return msgspec_type(base, [*inner, *metadata])
    if get_origin(annotation) in (Union, UnionType):
        _refuse_metadata(annotation, metadata)
        options = tuple(msgspec_type(option) for option in get_args(annotation))
        return Union[options]  # noqa: UP007 - built from a tuple of types
    if get_origin(annotation) is dict:
        key, value = get_args(annotation)
        mapping: Any = dict[msgspec_type(key), msgspec_type(value)]  # type: ignore[misc]
        return _constrained(mapping, metadata, lengths=True)
    if get_origin(annotation) is Literal or annotation in (bool, date, NoneType):
        _refuse_metadata(annotation, metadata)
        return annotation
    if annotation is AwareDatetime:
        _refuse_metadata(annotation, [m for m in metadata if not _implied(m)])
        return Annotated[datetime, msgspec.Meta(tz=True)]
    if annotation in (str, int, float):
        return _constrained(annotation, metadata)
    raise UnsupportedContract(f"no msgspec translation for {annotation!r}")


def _constrained(
    annotation: Any, metadata: list[Any] | tuple[Any, ...], *, lengths: bool = False
) -> Any:
    """``annotation`` with its bounds; ``lengths``: a container's (min/max items)."""
    sized = annotation is str or lengths
    bounds: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, Strict):
            continue  # msgspec never coerces: at least as strict as any pydantic mode
        if isinstance(item, StringConstraints) and annotation is str:
            _refuse_string_options(item)
            bounds.update({k: v for k, v in _string_bounds(item).items() if v is not None})
        elif isinstance(item, _LENGTHS) and sized:
            name = "min_length" if isinstance(item, annotated_types.MinLen) else "max_length"
            bounds[name] = getattr(item, name)
        elif isinstance(item, _BOUNDS) and annotation in (int, float):
            name = type(item).__name__.lower()
            bounds[name] = getattr(item, name)
        else:
            raise UnsupportedContract(f"no msgspec translation for {item!r} on {annotation!r}")
    return Annotated[annotation, msgspec.Meta(**bounds)] if bounds else annotation


_SHAREABLE_DEFAULTS: Final = (str, int, float, bool, NoneType, type(PydanticUndefined))
_BOUNDS: Final = (annotated_types.Ge, annotated_types.Gt, annotated_types.Le, annotated_types.Lt)
_LENGTHS: Final = (annotated_types.MinLen, annotated_types.MaxLen)


def _string_bounds(item: StringConstraints) -> dict[str, int | None]:
    return {"min_length": item.min_length, "max_length": item.max_length}


def _refuse_string_options(item: StringConstraints) -> None:
    # A pattern would run on a different regex engine; transformations change values.
    options = ("strip_whitespace", "to_upper", "to_lower", "pattern", "ascii_only")
    if any(getattr(item, option) for option in options):
        raise UnsupportedContract(f"no msgspec translation for {item!r}")


def _implied(item: object) -> bool:
    return isinstance(item, BeforeValidator) and item.func in _IMPLIED_BY_MSGSPEC


def _refuse_metadata(annotation: Any, metadata: list[Any] | tuple[Any, ...]) -> None:
    if metadata:
        raise UnsupportedContract(f"no msgspec translation for {metadata!r} on {annotation!r}")


def _field_type(name: str, field: FieldInfo) -> tuple[Any, list[Callable[[Any], Any]]]:
    """The msgspec type of one field and the after-validators to call on its value."""
    if field.alias or field.validation_alias or field.default_factory or field.discriminator:
        raise UnsupportedContract(f"{name}: aliases, factories and discriminators")
    # Every instance shares its defaults (pydantic copies mutable ones) and they
    # are not validated (unless validate_default, which pydantic would honour).
    if field.validate_default or not isinstance(field.default, _SHAREABLE_DEFAULTS):
        raise UnsupportedContract(f"{name}: a mutable or validated default")
    after = [_one_argument(name, m.func) for m in field.metadata if isinstance(m, AfterValidator)]
    rest = [m for m in field.metadata if not isinstance(m, AfterValidator)]
    kind = msgspec_type(field.annotation, rest)
    return (kind if field.is_required() else NotRequired[kind]), after


def _one_argument(where: str, func: Callable[..., Any]) -> Callable[[Any], Any]:
    # pydantic passes a ValidationInfo to a validator with a second parameter.
    if len(inspect.signature(func).parameters) != 1:
        raise UnsupportedContract(f"{where}: a validator taking more than the value")
    return func


def typed_dict_of(model: type[BaseModel]) -> type[Any]:
    """The msgspec ``TypedDict`` generated from ``model`` (fields in declaration order)."""
    fields = {name: _field_type(name, f)[0] for name, f in model.model_fields.items()}
    generated: type[Any] = TypedDict(f"{model.__name__}Data", fields)  # type: ignore[misc]
    return generated


class FieldsSet(frozenset[str]):
    """The names of the fields a record set: one shared, immutable set per combination.

    pydantic gives every instance a new ``set``; a container that lives as long
    as the event is work for every GC pass over a batch, so the compiled
    decoder shares one per combination. Copying it (as ``model_copy`` does
    before adding updated names) gives a plain ``set``.
    """

    __slots__ = ()

    def __copy__(self) -> set[str]:
        return set(self)


# Distinct combinations per model are bounded by the model's fields, but a cap
# keeps an adversarial stream from growing the cache: past it, sets are not shared.
_MAX_SHARED_FIELDS_SETS: Final = 1024


def compile_model(model: type[EventBase]) -> CompiledDecoder:
    """Build the compiled decoder of ``model``, or raise ``UnsupportedContract``."""
    _check_config(model)
    decode_json = msgspec.json.Decoder(typed_dict_of(model)).decode
    after = tuple((n, fs) for n, f in model.model_fields.items() if (fs := _field_type(n, f)[1]))
    checks = tuple(_model_validators(model))
    # Every field in declaration order, defaults filled in: merging the decoded
    # values into it gives the same __dict__ (and field order in dumps) as pydantic.
    # A required field's placeholder never survives: msgspec refuses its absence.
    template = {n: None if f.is_required() else f.default for n, f in model.model_fields.items()}
    every_field = FieldsSet(template)
    shared: dict[frozenset[str], FieldsSet] = {}
    new = object.__new__

    def fields_set_of(names: frozenset[str]) -> FieldsSet:
        found = shared.get(names)
        if found is None:
            found = FieldsSet(names)
            if len(shared) < _MAX_SHARED_FIELDS_SETS:
                shared[names] = found
        return found

    def decode(value: bytes) -> EventBase | None:
        # Two byte checks inline (they run per event); the rare cases are a call away.
        if (len(value) > _GUARD_BYTES or not value.isascii()) and not _same_json_as_pydantic(value):
            return None
        try:
            data = decode_json(value)
            event: EventBase = new(model)
            if len(data) == len(template):  # msgspec keeps only the model's fields
                _SET_FIELDS_SET(event, every_field)
            else:
                _SET_FIELDS_SET(event, fields_set_of(frozenset(data)))
            if after:
                for name, funcs in after:
                    for func in funcs:
                        data[name] = func(data[name])
            _SET_DICT(event, template | data)
            _SET_EXTRA(event, None)
            _SET_PRIVATE(event, None)
            if checks:
                for check in checks:
                    event = check(event)
        except Exception:
            # msgspec's refusal, a validator's, or anything unforeseen: pydantic decides.
            return None
        return event

    return decode


def _same_json_as_pydantic(value: bytes) -> bool:
    """False for the few inputs msgspec reads as JSON and pydantic-core does not."""
    if len(value) > _GUARD_BYTES and value.count(b"{") + value.count(b"[") > _MAX_BRACKETS:
        return False
    # msgspec skips an unknown field without checking its UTF-8; pydantic refuses it.
    if not value.isascii():
        try:
            value.decode()
        except UnicodeDecodeError:
            return False
    return True


def _check_config(model: type[BaseModel]) -> None:
    unknown = set(model.model_config) - _NEUTRAL_CONFIG
    if unknown or model.model_config.get("extra") != "ignore":
        raise UnsupportedContract(f"{model.__name__}: config {sorted(unknown)} or extra != ignore")
    if model.__private_attributes__:
        raise UnsupportedContract(f"{model.__name__}: private attributes")


def _model_validators(model: type[BaseModel]) -> list[Callable[[Any], Any]]:
    decorators = model.__pydantic_decorators__
    if decorators.field_validators or decorators.validators or decorators.root_validators:
        raise UnsupportedContract(f"{model.__name__}: decorated field validators")
    checks = []
    for name, decorator in decorators.model_validators.items():
        if decorator.info.mode != "after":
            raise UnsupportedContract(f"{model.__name__}.{name}: only after-validators")
        checks.append(_one_argument(f"{model.__name__}.{name}", decorator.func))
    return checks


COMPILED: Mapping[Topic | ReferenceTopic, CompiledDecoder] = MappingProxyType(
    {topic: compile_model(model) for topic, model in MODEL_BY_TOPIC.items()}
    | {topic: compile_model(model) for topic, model in REFERENCE_MODELS.items()}
)
