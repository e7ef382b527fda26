"""Reference data the agent desktop publishes: the agent roster and agent/team targets.

These topics are small, log-compacted and read by the exporter (kpi-catalog
section 8), never joined in the hot path, so they are not ``Topic`` members
the worker consumes: they have models, JSON Schemas and a record key here.
The envelope is the one every event carries (``EventBase``).
"""

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, ClassVar, Literal

from annotated_types import Ge
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from collectpulse.events.models import Currency, EventBase, Id, Label


class ReferenceTopic(StrEnum):
    """Compacted reference topics, without the configurable prefix."""

    AGENT = "agent"
    TARGET = "target"


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
    currency: Currency | None = Field(default=None, description="Required for money metrics.")
    valid_from: date

    @model_validator(mode="after")
    def _money_has_currency(self) -> "TargetEvent":
        if self.metric in MONEY_METRICS and self.currency is None:
            raise PydanticCustomError("target_currency", "a money target requires currency")
        if self.metric in RATIO_METRICS and self.value > 1:
            raise PydanticCustomError("target_ratio", "a ratio target is at most 1")
        return self


REFERENCE_MODELS: Mapping[ReferenceTopic, type[EventBase]] = MappingProxyType(
    {ReferenceTopic.AGENT: AgentEvent, ReferenceTopic.TARGET: TargetEvent}
)


def reference_key(event: AgentEvent | TargetEvent) -> bytes:
    """The Kafka key of a reference record: compaction keeps the latest value per key."""
    if isinstance(event, AgentEvent):
        return event.agent_id.encode()
    return f"{event.scope}:{event.scope_id}:{event.metric}:{event.period}".encode()


__all__ = [
    "MONEY_METRICS",
    "RATIO_METRICS",
    "REFERENCE_MODELS",
    "AgentEvent",
    "ReferenceTopic",
    "TargetEvent",
    "reference_key",
]
