"""The canonical events: what each collectpulse topic carries, declared once.

Every model is frozen and validated at the boundary (`events.decode`); code
downstream trusts an instance without re-checking it. Unknown fields are
tolerated so producers can add fields before we read them, but they are not
kept. The JSON Schemas under `schemas/` are generated from these classes.
"""

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, ClassVar, Literal, TypeAlias

from annotated_types import Gt, Le
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from collectpulse.events.currencies import ACTIVE_CURRENCY_CODES, is_active_currency


class Topic(StrEnum):
    """The canonical topics, without the configurable prefix (default `collections.`)."""

    DELIVERY = "delivery"
    BOUNCE = "bounce"
    OPEN = "open"
    CLICK = "click"
    PAGEVIEW = "pageview"
    PAYMENT = "payment"
    PROMISE = "promise"


class ReferenceTopic(StrEnum):
    """Small compacted topics read beside the partition agent, never joined in the hot path.

    Not co-partitioned and not part of ``Topic``: their records configure how
    the exporter reads the counts (kpi-catalog sections 8 and 10).
    """

    EXPERIMENT = "experiment"


def _reject_numeric_timestamp(value: object) -> object:
    # pydantic would read a number as Unix seconds and call it UTC; the contract
    # asks producers for an explicit offset, so a bare number is refused.
    if value.__class__ is str:
        return value  # the usual case, checked first: this runs for every event
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError(
            "timestamp_not_rfc3339", "must be an RFC 3339 timestamp with offset, not a number"
        )
    return value


def _require_active_currency(code: str) -> str:
    if not is_active_currency(code):
        raise PydanticCustomError("currency_unknown", "must be an active ISO 4217 currency code")
    return code


Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(max_length=2048)]
ProviderCode = Annotated[str, StringConstraints(max_length=256)]
# The schema pattern asks producers for strict RFC 3339; pydantic itself is a
# little more lenient (e.g. `+0200`), but never without an offset.
_RFC3339_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
EventTime = Annotated[
    AwareDatetime,
    BeforeValidator(_reject_numeric_timestamp),
    Field(json_schema_extra={"pattern": _RFC3339_WITH_OFFSET}),
]
# strict: an amount of money is a JSON integer, never "100", 100.0 or true.
AmountMinor = Annotated[int, Field(strict=True, ge=0)]
Currency = Annotated[
    str,
    AfterValidator(_require_active_currency),
    Field(json_schema_extra={"enum": sorted(ACTIVE_CURRENCY_CODES)}),
]
Channel = Literal["email", "sms", "letter", "push", "voice"]
# The mailer's own `sent` event is the only one that knows these; every KPI
# dimension is inherited from it through the message join.
_SENT_REQUIRES = ("campaign", "variant", "customer_id")


class EventBase(BaseModel):
    """The envelope every canonical event carries."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        # Inputs may hold customer ids, e-mail addresses and phone numbers:
        # keep them out of exception text that ends up in logs.
        hide_input_in_errors=True,
        # Most values are unique ids: caching every string (the default) costs
        # a lookup per value and rarely hits; field names repeat in every event.
        cache_strings="keys",
    )

    topic: ClassVar[Topic]

    event_id: Id = Field(description="Unique per real-world event; the dedupe key.")
    occurred_at: EventTime = Field(
        description="Event time, RFC 3339 with offset; every window uses it."
    )
    schema_version: Annotated[int, Field(strict=True, ge=1)] = 1
    tenant: Label | None = Field(
        default=None, description="Creditor or portfolio; used as a label."
    )


class DeliveryEvent(EventBase):
    """Message lifecycle: the mailer's `sent` (with campaign metadata) or a `delivered`."""

    topic: ClassVar[Topic] = Topic.DELIVERY

    message_id: Id = Field(description="The provider's message id; the join key.")
    status: Literal["sent", "delivered"]
    channel: Channel
    # Required on `sent`; a provider's `delivered` usually cannot name the customer.
    customer_id: Id | None = None
    campaign: Label | None = Field(default=None, description="Required when status is sent.")
    variant: Label | None = Field(default=None, description="Required when status is sent.")
    segment: Label = "default"

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"status": {"const": "sent"}}, "required": ["status"]},
            "then": {
                "required": list(_SENT_REQUIRES),
                "properties": {name: {"type": "string"} for name in _SENT_REQUIRES},
            },
        }
    )

    @model_validator(mode="after")
    def _sent_names_its_campaign(self) -> "DeliveryEvent":
        # Runs for every delivery: the complete case returns without building anything.
        if self.status != "sent" or (
            self.campaign is not None and self.variant is not None and self.customer_id is not None
        ):
            return self
        missing = [name for name in _SENT_REQUIRES if getattr(self, name) is None]
        raise PydanticCustomError(
            "sent_missing_fields",
            "a sent delivery requires {fields}",
            {"fields": ", ".join(missing)},
        )


class BounceEvent(EventBase):
    """Delivery failure: `hard` is final, `soft` may still be followed by a delivery."""

    topic: ClassVar[Topic] = Topic.BOUNCE

    message_id: Id
    bounce_type: Literal["hard", "soft"]
    reason: Text | None = None
    provider_code: ProviderCode | None = Field(
        default=None, description="SMTP status / diagnostic code, or the SMS ErrorCode."
    )


class OpenEvent(EventBase):
    """Message opened."""

    topic: ClassVar[Topic] = Topic.OPEN

    message_id: Id
    machine: bool = Field(default=False, description="Privacy-proxy or scanner open.")


class ClickEvent(EventBase):
    """Link in a message clicked."""

    topic: ClassVar[Topic] = Topic.CLICK

    message_id: Id
    url: Text | None = None
    machine: bool = Field(default=False, description="Link scanner click.")


class PageviewEvent(EventBase):
    """Repayment landing page viewed."""

    topic: ClassVar[Topic] = Topic.PAGEVIEW

    visitor_id: Id
    source: Literal["direct", "email", "sms", "letter", "other"]
    customer_id: Id | None = None
    message_id: Id | None = None
    page: Text | None = None


class PaymentEvent(EventBase):
    """Outcome of one payment attempt."""

    topic: ClassVar[Topic] = Topic.PAYMENT

    payment_id: Id
    customer_id: Id
    status: Literal["succeeded", "failed", "aborted"]
    amount_minor: AmountMinor = Field(description="Amount in the currency's minor unit.")
    currency: Currency
    message_id: Id | None = Field(default=None, description="Wins over inferred attribution.")
    agent_id: Id | None = None
    plan: Literal["full", "installment"] | None = None


class PromiseEvent(EventBase):
    """A promise to pay or an installment plan, and what became of it."""

    topic: ClassVar[Topic] = Topic.PROMISE

    promise_id: Id
    customer_id: Id
    kind: Literal["promise_to_pay", "installment_plan"]
    status: Literal["made", "kept", "broken", "cancelled"]
    direction: Literal["inbound", "outbound", "self_service"]
    amount_minor: AmountMinor = Field(description="Amount in the currency's minor unit.")
    currency: Currency
    due_date: date
    agent_id: Id | None = None
    message_id: Id | None = None


# bare constraints: a Field() inside a dict's value type would not be one of them
Weight = Annotated[float, Gt(0), Le(1)]
WEIGHT_SUM_TOLERANCE = 1e-9


class ExperimentEvent(EventBase):
    """An experiment's split and analysis settings (kpi-catalog section 10), keyed by campaign.

    The latest record of a campaign is its configuration; the counts are
    cumulative since ``started_at``. Not a ``Topic``: it has no ``topic``.
    """

    campaign: Label
    variants: Annotated[dict[Label, Weight], Field(min_length=2, max_length=20)] = Field(
        description="Variant name -> share of the customers assigned to it; shares sum to 1."
    )
    control: Label = Field(description="The variant every other one is compared with.")
    started_at: EventTime = Field(
        description="Start of the experiment: exposures before it are not counted."
    )
    alpha: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.05, description="Significance level (split over the k - 1 comparisons)."
    )
    tuning_n: Annotated[int, Field(strict=True, ge=1)] = Field(
        default=5000, description="Total units around which the confidence sequence is tightest."
    )

    @model_validator(mode="after")
    def _consistent_split(self) -> "ExperimentEvent":
        total = sum(self.variants.values())
        if abs(total - 1) > WEIGHT_SUM_TOLERANCE:
            raise PydanticCustomError(
                "weights_sum", "variant weights must sum to 1, got {total}", {"total": total}
            )
        if self.control not in self.variants:
            raise PydanticCustomError(
                "unknown_control", "control must be one of the variants' names"
            )
        if self.started_at > self.occurred_at:
            raise PydanticCustomError(
                "start_in_future", "started_at must not be after the record's occurred_at"
            )
        return self


Event: TypeAlias = (
    DeliveryEvent
    | BounceEvent
    | OpenEvent
    | ClickEvent
    | PageviewEvent
    | PaymentEvent
    | PromiseEvent
)

MODEL_BY_TOPIC: Mapping[Topic, type[EventBase]] = MappingProxyType(
    {
        model.topic: model
        for model in (
            DeliveryEvent,
            BounceEvent,
            OpenEvent,
            ClickEvent,
            PageviewEvent,
            PaymentEvent,
            PromiseEvent,
        )
    }
)

REFERENCE_MODELS: Mapping[ReferenceTopic, type[EventBase]] = MappingProxyType(
    {ReferenceTopic.EXPERIMENT: ExperimentEvent}
)
"""The reference topics' models: decoded and dead-lettered like the canonical ones."""

__all__ = [
    "MODEL_BY_TOPIC",
    "REFERENCE_MODELS",
    "BounceEvent",
    "ClickEvent",
    "DeliveryEvent",
    "Event",
    "EventBase",
    "ExperimentEvent",
    "OpenEvent",
    "PageviewEvent",
    "PaymentEvent",
    "PromiseEvent",
    "ReferenceTopic",
    "Topic",
]
