"""The envelope and field types every collectpulse event shares, and the topic names.

``events.models`` declares the events on top of these (and re-exports them);
``events.roster`` the reference records. Kept apart so that both stay small.
"""

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
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
    ACCOUNT = "account"
    CONTACT = "contact"


class ReferenceTopic(StrEnum):
    """Small compacted topics read beside the partition agent, never joined in the hot path.

    Not co-partitioned and not part of ``Topic``: their records configure how
    the exporter reads the counts (kpi-catalog sections 8 and 10).
    """

    AGENT = "agent"
    TARGET = "target"
    COST = "cost"
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


def require_active_currency(code: str) -> str:
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
MAX_AMOUNT_MINOR = 10**14
"""The largest amount an event may carry (10^12 major units of a two-decimal currency):
every amount times a commission in basis points (<= 10,000) still fits Redis' signed
64-bit integers, so no counter of the guarded write can overflow half-way through it."""
# strict: an amount of money is a JSON integer, never "100", 100.0 or true.
AmountMinor = Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT_MINOR)]
SignedAmountMinor = Annotated[int, Field(strict=True, ge=-MAX_AMOUNT_MINOR, le=MAX_AMOUNT_MINOR)]
Currency = Annotated[
    str,
    AfterValidator(require_active_currency),
    Field(json_schema_extra={"enum": sorted(ACTIVE_CURRENCY_CODES)}),
]
Channel = Literal["email", "sms", "letter", "push", "voice"]


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
