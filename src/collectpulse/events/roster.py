"""Reference data: the agent roster, agent/team targets, costs (and the experiment settings).

These topics are small, log-compacted and read by the exporter (kpi-catalog
section 8), never joined in the hot path, so they are not ``Topic`` members
the worker consumes: they have models, JSON Schemas and a record key here.
The envelope is the one every event carries (``EventBase``).
"""

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Annotated, ClassVar, Literal

from annotated_types import Ge, Gt, Le
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from collectpulse.events.base import (
    AmountMinor,
    Currency,
    EventBase,
    EventTime,
    Id,
    Label,
    ReferenceTopic,
    require_active_currency,
)


class AgentEvent(EventBase):
    """One agent's roster entry; the latest per agent_id is the roster (compacted)."""

    topic: ClassVar[ReferenceTopic] = ReferenceTopic.AGENT  # type: ignore[assignment]

    agent_id: Id
    team: Label
    role: Literal["collector", "supervisor", "other"]
    status: Literal["active", "inactive"]


TargetMetric = Literal[
    "collected_amount_minor", "promises_made", "promise_kept_ratio", "rpc_count", "rpc_ratio"
]
MONEY_METRICS = frozenset({"collected_amount_minor"})
RATIO_METRICS = frozenset({"promise_kept_ratio", "rpc_ratio"})


class TargetEvent(EventBase):
    """An agent, team or tenant target for one metric and calendar period (compacted; a
    null value deletes the target of its key)."""

    topic: ClassVar[ReferenceTopic] = ReferenceTopic.TARGET  # type: ignore[assignment]

    scope: Literal["agent", "team", "tenant"]
    scope_id: Id
    metric: TargetMetric
    period: Literal["day", "week", "month"]
    value: Annotated[float, Ge(0)] = Field(description="The target; a ratio in [0, 1].")
    # not ``Currency | None``: the compiled decoder translates no validator inside a union,
    # so the ISO 4217 check is in the model validator below
    currency: str | None = Field(
        default=None, description="Active ISO 4217 code; required for money metrics."
    )

    valid_from: date

    @model_validator(mode="after")
    def _money_has_currency(self) -> "TargetEvent":
        if self.currency is not None:
            require_active_currency(self.currency)
        if self.metric in MONEY_METRICS and self.currency is None:
            raise PydanticCustomError("target_currency", "a money target requires currency")
        if self.metric in RATIO_METRICS and self.value > 1:
            raise PydanticCustomError("target_ratio", "a ratio target is at most 1")
        return self


CostCategory = Literal["labour", "telephony", "messaging", "platform", "fees", "other"]
MAX_COST_DAYS = 366
"""The longest cost period: a year's invoice (leap year included); spread per day."""


class CostEvent(EventBase):
    """An operating cost of a period (K11, K12), keyed by cost_id.

    A second event with the same cost_id is the same cost, corrected: the one with the
    latest ``occurred_at`` stands (tie: the larger ``event_id``), whatever the arrival
    order; the same ``event_id`` again is a duplicate. The topic is not compacted:
    compaction keeps the last record by offset, not the latest correction.
    """

    topic: ClassVar[ReferenceTopic] = ReferenceTopic.COST  # type: ignore[assignment]

    cost_id: Id
    category: CostCategory
    amount_minor: AmountMinor = Field(
        description="The period's cost in the currency's minor unit; spread over its days "
        "(floor per day, the remainder on the first day)."
    )
    currency: Currency
    period_start: date = Field(description="First day of the period (tenant-local date).")
    period_end: date = Field(
        description="Day after the period's last one (exclusive); after period_start, at "
        f"most {MAX_COST_DAYS} days later."
    )
    agent_id: Id | None = None
    team: Label | None = None
    channel: Label | None = None

    @model_validator(mode="after")
    def _period(self) -> "CostEvent":
        days = (self.period_end - self.period_start).days
        if days <= 0:
            raise PydanticCustomError(
                "cost_period_empty", "period_end must be after period_start (end exclusive)"
            )
        if days > MAX_COST_DAYS:
            raise PydanticCustomError(
                "cost_period_too_long",
                "a cost period spans at most {limit} days",
                {"limit": MAX_COST_DAYS},
            )
        return self


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


REFERENCE_MODELS: Mapping[ReferenceTopic, type[EventBase]] = MappingProxyType(
    {
        ReferenceTopic.AGENT: AgentEvent,
        ReferenceTopic.TARGET: TargetEvent,
        ReferenceTopic.COST: CostEvent,
        ReferenceTopic.EXPERIMENT: ExperimentEvent,
    }
)
"""The reference topics' models: decoded and dead-lettered like the canonical ones."""


def reference_key(event: AgentEvent | TargetEvent | CostEvent | ExperimentEvent) -> bytes:
    """The Kafka key of a reference record: compaction keeps the latest value per key
    (``cost`` is not compacted, but keyed by cost_id all the same)."""
    if isinstance(event, AgentEvent):
        return event.agent_id.encode()
    if isinstance(event, CostEvent):
        return event.cost_id.encode()
    if isinstance(event, ExperimentEvent):
        return event.campaign.encode()
    return f"{event.scope}:{event.scope_id}:{event.metric}:{event.period}".encode()


__all__ = [
    "MAX_COST_DAYS",
    "MONEY_METRICS",
    "RATIO_METRICS",
    "REFERENCE_MODELS",
    "WEIGHT_SUM_TOLERANCE",
    "AgentEvent",
    "CostCategory",
    "CostEvent",
    "ExperimentEvent",
    "ReferenceTopic",
    "TargetEvent",
    "reference_key",
]
