"""The data-quality counters of the KPI table: what was late, invalid, duplicated, capped.

A section of the one definitions table (``kpi.definitions`` adds them to ``COUNTERS``):
all-time totals by topic, for the pipeline-health dashboard and its alerts.
"""

from __future__ import annotations

from collectpulse.kpi.labels import INVALID_REASON, LABEL_NAME, STATE_LIMIT, TOPIC
from collectpulse.kpi.model import Bucketing, Counter, Label


def _quality(name: str, help_text: str, *extra: Label) -> Counter:
    return Counter(name, help_text, "data_quality", (TOPIC, *extra), Bucketing.TOTAL)


QUALITY_COUNTERS = (
    _quality("events_received", "Events read from the topic, valid or not, before de-duplication."),
    _quality(
        "events_invalid",
        "Events rejected by reason (not JSON, failed validation, too large, dated more than "
        "the future tolerance ahead of the worker's clock); each one is dead-lettered.",
        INVALID_REASON,
    ),
    _quality(
        "events_duplicate",
        "Events ignored because their event_id was already applied within the dedupe horizon.",
    ),
    _quality(
        "events_late",
        "Events whose bucket (the send bucket for message events) had expired; they count "
        "in the all-time totals only.",
    ),
    _quality(
        "events_orphaned",
        "Events for a message whose sent event did not arrive within the orphan wait; "
        "counted here instead of in the funnel.",
    ),
    _quality("events_dead_lettered", "Records written to the dead-letter topic, by source topic."),
    _quality(
        "events_key_mismatch",
        "Valid events whose Kafka key is not the field the contract names (message_id, "
        "customer_id or visitor_id): they are counted normally, but a join on their "
        "partition may miss state held by another partition. Fix the producer.",
    ),
    _quality(
        "account_stale_versions",
        "Account events whose version is not above the one held for the account (a version "
        "arriving late): counted here and changing no state, since the state is the highest "
        "version seen; their balance change still counts in the flows S and R.",
    ),
    _quality(
        "account_flow_unordered",
        "Account events older than every version the account's flow history keeps (8 newer "
        "versions applied first): their delta is booked, their closing residual is not.",
    ),
    _quality(
        "agent_credit_late",
        "Account versions that arrived after a payment without agent_id and would have named "
        "another assignee at the payment's time: the payment stays credited to the assignee "
        "known when it was applied (reassignment never moves credit, catalog section 9).",
    ),
    _quality(
        "currency_mismatch",
        "Account events in another currency than the account's placement (or, before the "
        "placement is seen, than its state held): rejected, counted here and not applied.",
    ),
    Counter(
        "provider_events_skipped",
        "Provider webhook events normalised to nothing because collectpulse does not count "
        "their kind (complaints, unsubscribes, sends without campaign metadata, ...), by "
        "provider and kind; counted once per raw record.",
        "data_quality",
        (Label("provider"), Label("kind")),
        Bucketing.TOTAL,
    ),
    Counter(
        "provider_records_dead_lettered",
        "Raw provider payloads sent to the dead-letter topic (not JSON, rejected by the "
        "adapter, too large), by provider and reason.",
        "data_quality",
        (Label("provider"), Label("reason")),
        Bucketing.TOTAL,
    ),
    Counter(
        "label_overflows",
        "Increments reported under the label value `__other__` because the label's "
        "cardinality cap was reached, or under `__redacted__` because the value looked "
        "like personal data (an e-mail address, a phone number, a URL), by label name.",
        "data_quality",
        (LABEL_NAME,),
        Bucketing.TOTAL,
    ),
    Counter(
        "state_limit_hits",
        "Items not kept because a bound on waiting state was reached, by the setting that "
        "bounds it: max_parked_per_message and max_parked_messages (an event that arrived "
        "before its sent and could not be parked; it also counts in events_orphaned), "
        "max_customer_messages (a customer's oldest remembered message, forgotten for "
        "attribution).",
        "data_quality",
        (STATE_LIMIT,),
        Bucketing.TOTAL,
    ),
)
