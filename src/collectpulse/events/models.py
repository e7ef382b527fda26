"""The canonical events: what each collectpulse topic carries, declared once.

Every model is frozen and validated at the boundary (`events.decode`); code
downstream trusts an instance without re-checking it. Unknown fields are
tolerated so producers can add fields before we read them, but they are not
kept. The JSON Schemas under `schemas/` are generated from these classes.
"""

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Annotated, ClassVar, Literal, TypeAlias

from annotated_types import Ge, Le
from pydantic import (
    ConfigDict,
    Field,
    Strict,
    model_validator,
)
from pydantic_core import PydanticCustomError

from collectpulse.events.base import (
    AmountMinor,
    Channel,
    Currency,
    EventBase,
    EventTime,
    Id,
    Label,
    ProviderCode,
    ReferenceTopic,
    SignedAmountMinor,
    Text,
    Topic,
    require_active_currency,
)

# The mailer's own `sent` event is the only one that knows these; every KPI
# dimension is inherited from it through the message join.
_SENT_REQUIRES = ("campaign", "variant", "customer_id")


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
    # schema_version 2 (kpi-catalog section 8): landing UX by device
    device: Literal["mobile", "desktop", "tablet", "other"] | None = None
    load_ms: Annotated[int, Strict(), Ge(0)] | None = Field(
        default=None, description="Page load time in milliseconds (schema_version 2)."
    )


class PaymentEvent(EventBase):
    """Outcome of one payment attempt."""

    topic: ClassVar[Topic] = Topic.PAYMENT

    payment_id: Id
    customer_id: Id
    status: Literal["succeeded", "failed", "aborted", "reversed"] = Field(
        description="`reversed` (schema_version 2): a refund or chargeback of an earlier "
        "succeeded payment_id, amount_minor at most the original's."
    )
    amount_minor: AmountMinor = Field(description="Amount in the currency's minor unit.")
    currency: Currency
    message_id: Id | None = Field(default=None, description="Wins over inferred attribution.")
    agent_id: Id | None = None
    plan: Literal["full", "installment"] | None = None
    # schema_version 2 (kpi-catalog section 8)
    account_id: Id | None = None
    initiated_by: Literal["self_service", "agent", "scheduled"] | None = Field(
        default=None,
        description="Who started the payment; when absent: agent if agent_id is set, "
        "else self_service.",
    )
    contact_id: Id | None = Field(default=None, description="The contact it was taken on.")

    @property
    def initiator(self) -> Literal["self_service", "agent", "scheduled"]:
        """``initiated_by``, or its default (kpi-catalog section 8) when absent."""
        if self.initiated_by is not None:
            return self.initiated_by
        return "agent" if self.agent_id is not None else "self_service"


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
    # schema_version 2 (kpi-catalog section 8)
    account_id: Id | None = None
    contact_id: Id | None = Field(default=None, description="The contact it was made on.")


ContactOutcome = Literal[
    "right_party", "wrong_party", "no_answer", "voicemail", "busy", "invalid_number"
]
_INBOUND_OUTCOMES = ("right_party", "wrong_party")


class ContactEvent(EventBase):
    """One finished contact attempt (call, chat, e-mail reply) from the agent desktop / dialer.

    A redial is a new contact; a second event with the same ``contact_id`` is a
    duplicate. Windows use ``occurred_at``, the time the outcome was known.
    """

    topic: ClassVar[Topic] = Topic.CONTACT

    contact_id: Id = Field(description="One per attempt; the dedupe key of this topic.")
    customer_id: Id | None = Field(
        default=None, description="Required for outbound; null only for an unidentified inbound."
    )
    account_id: Id | None = None
    direction: Literal["inbound", "outbound"]
    channel: Literal["call", "chat", "email_reply"]
    outcome: ContactOutcome = Field(
        description="Final outcome; an inbound contact is right_party or wrong_party."
    )
    agent_id: Id | None = Field(default=None, description="Null when no agent was bridged.")
    team: Label | None = None
    started_at: EventTime = Field(description="When the attempt started; at most occurred_at.")
    duration_s: Annotated[int, Field(strict=True, ge=0)] = Field(
        description="Talk time in seconds; 0 unless connected."
    )
    dialer_campaign: Label | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"direction": {"const": "inbound"}}},
                    "then": {"properties": {"outcome": {"enum": list(_INBOUND_OUTCOMES)}}},
                    "else": {
                        "required": ["customer_id"],
                        "properties": {"customer_id": {"type": "string"}},
                    },
                }
            ]
        }
    )

    @model_validator(mode="after")
    def _consistent(self) -> "ContactEvent":
        if self.direction == "inbound":
            if self.outcome not in _INBOUND_OUTCOMES:
                raise PydanticCustomError(
                    "inbound_outcome", "an inbound contact is right_party or wrong_party"
                )
        elif self.customer_id is None:
            raise PydanticCustomError(
                "outbound_customer", "an outbound contact requires customer_id"
            )
        if self.started_at > self.occurred_at:
            raise PydanticCustomError("started_after_outcome", "started_at is after occurred_at")
        return self


AccountStatus = Literal["open", "in_plan", "settled", "paid_in_full", "written_off", "closed"]
OPEN_STATUSES: frozenset[str] = frozenset({"open", "in_plan"})
"""The statuses in which an account is open; the others are terminal (re-opening allowed)."""
# Changes that move no money: their delta is 0 by contract (kpi-catalog section 8).
_NO_DELTA_CHANGES = ("assigned", "status")


class AccountEvent(EventBase):
    """An account's full state after one change (placement, charge, payment, assignment...)."""

    topic: ClassVar[Topic] = Topic.ACCOUNT

    account_id: Id
    customer_id: Id = Field(description="Never changes for an account; the Kafka key.")
    change: Literal[
        "placed",
        "charge",
        "payment",
        "adjustment",
        "discount",
        "write_off",
        "reversal",
        "assigned",
        "status",
    ] = Field(description="What this event records.")
    version: Annotated[int, Field(strict=True, ge=1)] = Field(
        description="Strictly increasing per account; the state is the highest version seen."
    )
    balance_minor: AmountMinor = Field(description="Balance after the change, minor units.")
    delta_minor: SignedAmountMinor = Field(
        description="This event's signed balance change; 0 for assigned and status, "
        "+balance for placed."
    )
    currency: Currency = Field(description="Fixed at placed; another value later is rejected.")
    due_date: date = Field(description="Oldest unpaid due date; days past due derive from it.")
    status: AccountStatus = Field(description="open and in_plan are open; the others terminal.")
    agent_id: Id | None = Field(default=None, description="Current assignee; null: unassigned.")
    team: Label | None = None
    segment: Label | None = None
    # annotated_types, not Field(): a Field inside a union would not be merged
    commission_bp: Annotated[int, Strict(), Ge(0), Le(10_000)] | None = Field(
        default=None, description="Agency fee on collections in basis points (0-10000)."
    )
    payment_id: Id | None = Field(
        default=None, description="On payment / reversal: the payment event it books."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": {
                        "properties": {"change": {"enum": list(_NO_DELTA_CHANGES)}},
                        "required": ["change"],
                    },
                    "then": {"properties": {"delta_minor": {"const": 0}}},
                },
            ]
        }
    )

    @model_validator(mode="after")
    def _delta_fits_the_change(self) -> "AccountEvent":
        if self.change in _NO_DELTA_CHANGES and self.delta_minor != 0:
            raise PydanticCustomError(
                "account_delta_not_zero",
                "delta_minor must be 0 for change {change}",
                {"change": self.change},
            )
        if self.change == "placed" and self.delta_minor != self.balance_minor:
            raise PydanticCustomError(
                "account_placed_delta", "delta_minor of a placed account must equal balance_minor"
            )
        return self


# bare constraints: a Field() inside a dict's value type would not be one of them
Event: TypeAlias = (
    DeliveryEvent
    | BounceEvent
    | OpenEvent
    | ClickEvent
    | PageviewEvent
    | PaymentEvent
    | PromiseEvent
    | AccountEvent
    | ContactEvent
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
            AccountEvent,
            ContactEvent,
        )
    }
)


__all__ = [
    "MODEL_BY_TOPIC",
    "OPEN_STATUSES",
    "AccountEvent",
    "AmountMinor",
    "BounceEvent",
    "Channel",
    "ClickEvent",
    "ContactEvent",
    "Currency",
    "DeliveryEvent",
    "Event",
    "EventBase",
    "EventTime",
    "Id",
    "Label",
    "OpenEvent",
    "PageviewEvent",
    "PaymentEvent",
    "PromiseEvent",
    "ProviderCode",
    "ReferenceTopic",
    "Text",
    "Topic",
    "require_active_currency",
]
