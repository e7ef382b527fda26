"""SendGrid Event Webhook batches (a JSON array of events) -> canonical events.

SendGrid gives every event a stable `sg_event_id`, used as the event id. Its
`sg_message_id` is the send API's `X-Message-Id` plus dotted suffixes, so the join key
is the part before the first dot. Our metadata comes back as top-level keys (custom
args). A batch is one Kafka record, but its events are independent (SendGrid batches
whatever one sending server flushed): an unreadable event is an `ItemFailure`, alone,
and the others are mapped as usual.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Final, Literal

import orjson

from collectpulse.events.providers.common import (
    ItemFailure,
    ItemResult,
    Occurrence,
    Outcome,
    SkipKind,
    Skipped,
    derived_event_id,
    normalise_message_id,
    read_metadata,
    smtp_code,
    snake,
    stable_event_id,
)
from collectpulse.events.providers.exceptions import ProviderError
from collectpulse.events.providers.fields import Fields, load_json

PROVIDER: Final = "sendgrid"

_SKIPPED: Final[dict[str, tuple[SkipKind, str]]] = {
    "spamreport": ("complaint", "spam reports are counted by kind, not in the funnel"),
    "unsubscribe": ("unsubscribe", "unsubscribes are counted by kind, not in the funnel"),
    "group_unsubscribe": ("unsubscribe", "unsubscribes are counted by kind, not in the funnel"),
    "group_resubscribe": ("resubscribe", "resubscribes are counted by kind, not in the funnel"),
}
# `bounce.type`: a rejection by the receiving server (`bounce`) is final; a block
# (IP reputation, content, rate) may pass on a later attempt or another message.
_BOUNCE_TYPES: Final[dict[str, Literal["hard", "soft"]]] = {"bounce": "hard", "blocked": "soft"}


def normalise(payload: bytes, received_at: datetime | None = None) -> list[ItemResult]:
    """Map every event of one webhook batch, in batch order; a bad event fails alone.

    Raises ProviderError only when the payload is not a JSON array. `received_at` is
    unused: every SendGrid event carries its own `timestamp`.
    """
    batch = load_json(PROVIDER, payload)
    if not isinstance(batch, list):
        raise ProviderError(PROVIDER, "payload must be a JSON array of events")
    results: list[ItemResult] = []
    for index, item in enumerate(batch):
        try:
            results.extend(_event(Fields(PROVIDER, item, f"[{index}]")))
        except ProviderError as exc:
            # The event alone, as a one-event batch: replayable to raw.sendgrid as is.
            results.append(ItemFailure(index, str(exc), orjson.dumps([item])))
    return results


def _event(event: Fields) -> list[Outcome]:
    event_type = event.text("event")
    if event_type in _SKIPPED:
        kind, reason = _SKIPPED[event_type]
        return [Skipped(PROVIDER, kind, reason)]
    mapper = _MAPPERS.get(event_type)
    if mapper is None:
        return [Skipped(PROVIDER, "unknown_event", f"unknown SendGrid event {event_type!r}")]
    return [mapper(event, _occurrence(event, event_type))]


def _occurrence(event: Fields, event_type: str) -> Occurrence:
    message_id = normalise_message_id(PROVIDER, event.text("sg_message_id"))
    when = event.unix_time("timestamp")
    native_id = event.opt_text("sg_event_id")
    return Occurrence(
        provider=PROVIDER,
        event_type=event_type,
        message_id=message_id,
        occurred_at=when,
        event_id=(
            stable_event_id(PROVIDER, native_id)
            if native_id
            else derived_event_id(PROVIDER, message_id, event_type, event.opt_text("email"), when)
        ),
        metadata=read_metadata(event),
    )


def _bounce(event: Fields, occurrence: Occurrence) -> Outcome:
    # Payloads from before `type` existed only reported rejections: treat as `bounce`.
    bounce_kind = event.opt_text("type") or "bounce"
    bounce_type = _BOUNCE_TYPES.get(bounce_kind)
    if bounce_type is None:
        raise ProviderError(
            PROVIDER, f"field '{event.path}.type' has unknown value {bounce_kind!r}"
        )
    classification = event.opt_text("bounce_classification")
    code = smtp_code(event.opt_text("reason"), event.opt_text("status"))
    return occurrence.bounce(bounce_type, snake(classification or bounce_kind), code)


def _deferred(event: Fields, occurrence: Occurrence) -> Outcome:
    return occurrence.bounce("soft", "deferred", smtp_code(event.opt_text("response")))


def _dropped(event: Fields, occurrence: Occurrence) -> Outcome:
    reason = event.opt_text("reason") or ""
    lowered = reason.lower()
    if lowered == "bounced address":
        # Refused because the address bounced before: a hard bounce, as SES and Mailgun say.
        return occurrence.bounce("hard", "suppressed", smtp_code(event.opt_text("status")))
    if "unsubscribe" in lowered:
        return occurrence.skip("refused_unsubscribed", f"dropped: {reason}")
    if "spam report" in lowered:
        return occurrence.skip("refused_complained", f"dropped: {reason}")
    return occurrence.skip("dropped", f"dropped: {reason or 'no reason given'}")


def _open(event: Fields, occurrence: Occurrence) -> Outcome:
    # True for Apple Mail Privacy Protection prefetches, not a person reading.
    return occurrence.opened(machine=event.opt_bool("sg_machine_open") or False)


_MAPPERS: Final[dict[str, Callable[[Fields, Occurrence], Outcome]]] = {
    "processed": lambda _event, occurrence: occurrence.sent("email"),
    "delivered": lambda _event, occurrence: occurrence.delivered("email"),
    "deferred": _deferred,
    "bounce": _bounce,
    "dropped": _dropped,
    "open": _open,
    "click": lambda event, occurrence: occurrence.clicked(event.opt_text("url"), machine=False),
}
