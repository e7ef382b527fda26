"""Twilio SMS status callbacks (form-encoded or JSON) -> canonical events.

The join key is `MessageSid`. A callback carries no event time (`RawDlrDoneDate` is
minute-precise and has no time zone) and no event id: the event time is the
`received_at` the caller passes (the raw record's timestamp), and the event id is
derived without a time, since a message reaches each status once; so a retried
callback dedupes even though it arrives later. Callbacks carry no campaign metadata
unless our `cp_*` keys were put on the StatusCallback URL and merged into the fields;
without them a Twilio `sent` is not a canonical `sent` (the sending system publishes it).
"""

from datetime import datetime
from typing import Final, Literal

from collectpulse.events.providers.common import (
    Occurrence,
    Outcome,
    SkipKind,
    Skipped,
    derived_event_id,
    normalise_message_id,
    read_metadata,
)
from collectpulse.events.providers.exceptions import ProviderError
from collectpulse.events.providers.fields import Fields, load_form, load_json

PROVIDER: Final = "twilio"

# ErrorCodes that say the number itself cannot take SMS: retrying will not help.
HARD_ERROR_CODES: Final[dict[str, str]] = {
    "21211": "invalid_to_number",
    "21217": "invalid_phone_number",
    "21401": "invalid_phone_number",
    "21614": "not_a_mobile_number",
    "21635": "landline",
    "30005": "unknown_handset",
    "30006": "landline_or_unreachable_carrier",
}
# Named for readable reasons; these and every other code are soft.
SOFT_ERROR_CODES: Final[dict[str, str]] = {
    "30001": "queue_overflow",
    "30003": "unreachable_handset",
    "30004": "message_blocked",
    "30007": "carrier_filtered",
    "30008": "unknown_error",
    "30017": "carrier_congestion",
    "21612": "unroutable_to_number",
}
_UNSUBSCRIBED_CODE: Final = "21610"  # the recipient replied STOP to this sender
_SKIPPED_STATUSES: Final[dict[str, tuple[SkipKind, str]]] = {
    "queued": ("in_progress", "not yet handed to the carrier"),
    "accepted": ("in_progress", "not yet handed to the carrier"),
    "scheduled": ("in_progress", "not yet handed to the carrier"),
    "sending": ("in_progress", "not yet handed to the carrier"),
    "canceled": ("dropped", "the scheduled message was canceled before sending"),
    "read": ("not_counted", "read receipts are not an SMS signal"),
    "partially_delivered": ("not_counted", "partial delivery has no canonical status"),
    "receiving": ("not_counted", "an inbound message, not one we sent"),
    "received": ("not_counted", "an inbound message, not one we sent"),
}


def normalise(payload: bytes, received_at: datetime | None = None) -> list[Outcome]:
    """Map one status callback, taking the event time from `received_at`."""
    fields = _decode(payload)
    status = (fields.opt_text("MessageStatus") or fields.opt_text("SmsStatus") or "").lower()
    if not status:
        raise ProviderError(PROVIDER, "missing field 'MessageStatus'")
    if status in _SKIPPED_STATUSES:
        kind, reason = _SKIPPED_STATUSES[status]
        return [Skipped(PROVIDER, kind, reason)]
    if status not in ("sent", "delivered", "undelivered", "failed"):
        return [Skipped(PROVIDER, "unknown_event", f"unknown Twilio status {status!r}")]
    occurrence = _occurrence(fields, status, received_at)
    if status == "sent":
        return [occurrence.sent("sms")]
    if status == "delivered":
        return [occurrence.delivered("sms")]
    return [_failure(occurrence, status, fields.opt_code("ErrorCode"))]


def _decode(payload: bytes) -> Fields:
    if payload.lstrip().startswith(b"{"):
        return Fields(PROVIDER, load_json(PROVIDER, payload))
    return Fields(PROVIDER, load_form(PROVIDER, payload))


def _occurrence(fields: Fields, status: str, received_at: datetime | None) -> Occurrence:
    raw_sid = fields.opt_text("MessageSid") or fields.opt_text("SmsSid")
    if raw_sid is None:
        raise ProviderError(PROVIDER, "missing field 'MessageSid'")
    if received_at is None:
        raise ProviderError(
            PROVIDER, "callbacks carry no event time: pass received_at (the raw record's time)"
        )
    message_id = normalise_message_id(PROVIDER, raw_sid)
    return Occurrence(
        provider=PROVIDER,
        event_type=status,
        message_id=message_id,
        occurred_at=received_at,
        event_id=derived_event_id(PROVIDER, message_id, status, fields.opt_text("To"), None),
        metadata=read_metadata(fields),
    )


def _failure(occurrence: Occurrence, status: str, error_code: str | None) -> Outcome:
    if error_code == _UNSUBSCRIBED_CODE:
        return occurrence.skip("refused_unsubscribed", "not sent: the recipient opted out (STOP)")
    bounce_type, reason = _classify(error_code, status)
    return occurrence.bounce(bounce_type, reason, error_code)


def _classify(error_code: str | None, status: str) -> tuple[Literal["hard", "soft"], str]:
    """Hard for codes that say the number cannot take SMS, soft for everything else."""
    if error_code is None:
        return "soft", status
    if error_code in HARD_ERROR_CODES:
        return "hard", HARD_ERROR_CODES[error_code]
    return "soft", SOFT_ERROR_CODES.get(error_code, f"error_{error_code}")
