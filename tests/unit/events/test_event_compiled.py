"""The compiled decoder's types are generated from the models and cannot drift from them."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

import msgspec
import pytest
from event_samples import VALID_PAYLOADS, as_bytes
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from collectpulse.events.compiled import (
    COMPILED,
    UnsupportedContract,
    compile_model,
    typed_dict_of,
)
from collectpulse.events.decode import decode_with_pydantic
from collectpulse.events.models import MODEL_BY_TOPIC, EventBase, OpenEvent, Topic
from collectpulse.events.schema_export import render_schema

# Schema keywords that document but do not decide (or that the after-validators decide).
_DOCUMENTATION = {"title", "description", "default", "pattern"}


def _core(schema: dict[str, Any]) -> Any:
    """The deciding part of a property schema, in one spelling for both generators."""
    if "anyOf" in schema:
        return sorted(json.dumps(_core(s), sort_keys=True) for s in schema["anyOf"])
    core = {k: v for k, v in schema.items() if k not in _DOCUMENTATION}
    if "enum" in core:
        core.pop("type", None)
        core["enum"] = sorted(core["enum"])
    return core


def _msgspec_schema(topic: Topic) -> dict[str, Any]:
    (_,), components = msgspec.json.schema_components([typed_dict_of(MODEL_BY_TOPIC[topic])])
    (schema,) = components.values()
    return schema


@pytest.mark.parametrize("topic", list(Topic))
def test_the_generated_types_have_the_published_fields_and_required_set(topic: Topic) -> None:
    published = json.loads(render_schema(topic))
    generated = _msgspec_schema(topic)
    assert set(generated["properties"]) == set(published["properties"])
    assert sorted(generated["required"]) == sorted(published["required"])


@pytest.mark.parametrize("topic", list(Topic))
def test_every_published_constraint_is_a_generated_type_or_an_after_validator(topic: Topic) -> None:
    published = json.loads(render_schema(topic))["properties"]
    generated = _msgspec_schema(topic)["properties"]
    model = MODEL_BY_TOPIC[topic]
    for name, schema in published.items():
        if any(isinstance(m, AfterValidator) for m in model.model_fields[name].metadata):
            # Decided by the model's own validator, which the compiled decoder calls.
            assert _core(generated[name]) == {"type": "string"}, name
            continue
        assert _core(generated[name]) == _core(schema), name


def test_the_compiled_event_is_the_model_pydantic_builds() -> None:
    for topic, data in VALID_PAYLOADS.items():
        event = COMPILED[topic](as_bytes(data))
        reference = decode_with_pydantic(topic, as_bytes(data))
        assert isinstance(event, EventBase)
        assert event == reference
        assert event.model_fields_set == reference.model_fields_set  # type: ignore[union-attr]
        assert event.model_dump_json() == reference.model_dump_json()  # type: ignore[union-attr]
        with pytest.raises(ValidationError):
            event.event_id = "other"  # type: ignore[misc]


def test_compiled_events_share_their_fields_set_and_copy_like_pydantic_ones() -> None:
    every = {"tenant": "t", "schema_version": 1, "machine": False}
    full = as_bytes({**VALID_PAYLOADS[Topic.OPEN], **every})
    sparse = as_bytes(VALID_PAYLOADS[Topic.OPEN])
    first, second, third = (COMPILED[Topic.OPEN](v) for v in (full, sparse, sparse))
    assert first is not None and second is not None and third is not None
    assert second.model_fields_set is third.model_fields_set
    assert second.model_fields_set == {"event_id", "occurred_at", "message_id"}
    copied = second.model_copy(update={"machine": True})
    assert copied.machine is True
    assert copied.model_fields_set == {"event_id", "occurred_at", "message_id", "machine"}
    assert second.model_fields_set == {"event_id", "occurred_at", "message_id"}
    assert first.model_fields_set == set(OpenEvent.model_fields)


def test_a_value_the_compiled_types_refuse_is_left_to_pydantic() -> None:
    lax = {**VALID_PAYLOADS[Topic.OPEN], "machine": "true"}
    assert COMPILED[Topic.OPEN](as_bytes(lax)) is None
    assert decode_with_pydantic(Topic.OPEN, as_bytes(lax)).machine is True  # type: ignore[union-attr]


def _event(**fields: Any) -> type[EventBase]:
    return type("Probe", (EventBase,), {"__annotations__": fields})


def _defaulted(annotation: Any, default: Any) -> type[EventBase]:
    return type("Probe", (EventBase,), {"__annotations__": {"x": annotation}, "x": default})


@pytest.mark.parametrize(
    "model",
    [
        _event(code=Annotated[str, StringConstraints(pattern=r"^[A-Z]+$")]),
        _event(code=Annotated[str, StringConstraints(strip_whitespace=True)]),
        _event(code=Annotated[str, BeforeValidator(str.strip)]),
        _event(ratios=list[float]),
        _event(day=Annotated[date, Field(gt=date(2000, 1, 1))]),
        _event(kind=Annotated[Literal["a"], AfterValidator(str)] | None),
        _defaulted(str, Field(alias="X")),
        _defaulted(str, ["a mutable default"]),
        _defaulted(str, Field("", validate_default=True)),
    ],
    ids=[
        "pattern",
        "strip",
        "before-validator",
        "list",
        "date-bound",
        "nested-after",
        "alias",
        "mutable-default",
        "validated-default",
    ],
)
def test_a_field_the_translation_does_not_know_stops_the_import(model: type[EventBase]) -> None:
    with pytest.raises(UnsupportedContract):
        compile_model(model)


class _Forbidding(EventBase):
    model_config = ConfigDict(extra="forbid")


class _Stripping(EventBase):
    model_config = ConfigDict(str_strip_whitespace=True)


class _FieldChecked(EventBase):
    code: str

    @field_validator("code")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class _BeforeChecked(EventBase):
    @model_validator(mode="before")
    @classmethod
    def _anything(cls, data: Any) -> Any:
        return data


@pytest.mark.parametrize("model", [_Forbidding, _Stripping, _FieldChecked, _BeforeChecked])
def test_a_model_rule_the_translation_does_not_know_stops_the_import(
    model: type[BaseModel],
) -> None:
    with pytest.raises(UnsupportedContract):
        compile_model(model)  # type: ignore[arg-type]
