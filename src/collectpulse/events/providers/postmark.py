"""Postmark webhooks (one record per request, by `RecordType`) -> canonical events.

The join key is `MessageID`, as the send API returns it. Postmark has no send
webhook, so the `sent` always comes from the mailer. Only bounce records carry a
stable id (`ID`); deliveries, opens and clicks get a derived one. Our metadata comes
back in `Metadata`. A bounce's `provider_code` is the SMTP status in `Details`, else
the numeric `TypeCode`, never the type's name, which is the `reason`.
"""

from collections.abc import Callable
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
    smtp_code,
    snake,
    stable_event_id,
)
from collectpulse.events.providers.exceptions import ProviderError
from collectpulse.events.providers.fields import Fields, load_json

PROVIDER: Final = "postmark"

# Each bounce type we count: hard or soft, and Postmark's documented `TypeCode`, the
# code used when a record carries none (a record's own `TypeCode` always wins).
_BOUNCES: Final[dict[str, tuple[Literal["hard", "soft"], int]]] = {
    "HardBounce": ("hard", 1),
    "BadEmailAddress": ("hard", 100000),
    "SoftBounce": ("soft", 4096),
    "Transient": ("soft", 2),
    "DnsError": ("soft", 256),
    # Blocked by the receiving ISP, or rejected by the sender domain's DMARC policy:
    # about the sender, not the address, and may pass later.
    "Blocked": ("soft", 100006),
    "DMARCPolicy": ("soft", 100009),
    # Unknown errors are not evidence that the address is dead.
    "Unknown": ("soft", 2048),
}
_BOUNCE_SKIPS: Final[dict[str, tuple[SkipKind, str]]] = {
    "SpamComplaint": ("complaint", "complaints are counted by kind, not in the funnel"),
    "Unsubscribe": ("unsubscribe", "an unsubscribe request came back as mail"),
    "Subscribe": ("resubscribe", "a subscribe request came back as mail"),
    "AutoResponder": ("inbound_notice", "an auto-reply, the message was delivered"),
    "AddressChange": ("inbound_notice", "an address-change notice, not a failure"),
    "ChallengeVerification": ("inbound_notice", "a challenge mail, not a failure"),
    "VirusNotification": ("inbound_notice", "a virus warning mail, not a failure"),
    "SpamNotification": ("inbound_notice", "a spam notice: Postmark does not call it a bounce"),
    "OpenRelayTest": ("inbound_notice", "an open-relay test, not a failure"),
    "InboundError": ("inbound_notice", "about inbound processing, not this message"),
    "ManuallyDeactivated": ("suppression_change", "the address was deactivated by hand"),
    "Unconfirmed": ("dropped", "the sender signature is unconfirmed; nothing was sent"),
    "SMTPApiError": ("dropped", "the SMTP API refused the message; nothing was sent"),
    "TemplateRenderingFailed": ("rendering_failure", "the template failed; nothing was sent"),
}


def normalise(payload: bytes, received_at: datetime | None = None) -> list[Outcome]:
    """Map one Postmark webhook record to canonical events.

    `received_at` is unused: every mapped record carries its own time.
    """
    record = Fields(PROVIDER, load_json(PROVIDER, payload))
    record_type = record.text("RecordType")
    if record_type == "SpamComplaint":
        return [Skipped(PROVIDER, "complaint", "complaints are counted by kind, not in the funnel")]
    if record_type == "SubscriptionChange":
        return [_subscription_change(record)]
    mapper = _MAPPERS.get(record_type)
    if mapper is None:
        return [Skipped(PROVIDER, "unknown_event", f"unknown Postmark record {record_type!r}")]
    return [mapper(record)]


def _occurrence(
    record: Fields, record_type: str, time_key: str, recipient_key: str, native_id: str | None
) -> Occurrence:
    message_id = normalise_message_id(PROVIDER, record.text("MessageID"))
    when = record.iso_time(time_key)
    recipient = record.opt_text(recipient_key)
    return Occurrence(
        provider=PROVIDER,
        event_type=record_type,
        message_id=message_id,
        occurred_at=when,
        event_id=(
            stable_event_id(PROVIDER, native_id)
            if native_id
            else derived_event_id(PROVIDER, message_id, record_type, recipient, when)
        ),
        metadata=read_metadata(record.opt_obj("Metadata")),
    )


def _delivery(record: Fields) -> Outcome:
    return _occurrence(record, "Delivery", "DeliveredAt", "Recipient", None).delivered("email")


def _bounce(record: Fields) -> Outcome:
    bounce_name = record.text("Type")
    if bounce_name in _BOUNCE_SKIPS:
        kind, reason = _BOUNCE_SKIPS[bounce_name]
        return Skipped(PROVIDER, kind, reason)
    if bounce_name not in _BOUNCES:
        raise ProviderError(PROVIDER, f"field 'Type' has unknown value {bounce_name!r}")
    bounce_type, documented_code = _BOUNCES[bounce_name]
    bounce_id = record.opt_code("ID")
    native_id = None if bounce_id is None else f"bounce-{bounce_id}"
    occurrence = _occurrence(record, "Bounce", "BouncedAt", "Email", native_id)
    code = smtp_code(record.opt_text("Details")) or _type_code(record, documented_code)
    return occurrence.bounce(bounce_type, snake(bounce_name), code)


def _type_code(record: Fields, documented: int) -> str:
    """Postmark's numeric bounce `TypeCode`, as text; the type's name goes to `reason`."""
    value = record.get("TypeCode")
    if value is None:
        return str(documented)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProviderError(PROVIDER, "field 'TypeCode' must be a non-negative integer")
    return str(value)


def _open(record: Fields) -> Outcome:
    # Postmark flags no privacy-proxy opens: every open counts as human.
    return _occurrence(record, "Open", "ReceivedAt", "Recipient", None).opened(machine=False)


def _click(record: Fields) -> Outcome:
    occurrence = _occurrence(record, "Click", "ReceivedAt", "Recipient", None)
    return occurrence.clicked(record.opt_text("OriginalLink"), machine=False)


def _subscription_change(record: Fields) -> Skipped:
    if record.opt_bool("SuppressSending") is False:
        return Skipped(PROVIDER, "resubscribe", "the address was reactivated")
    if record.opt_text("SuppressionReason") == "ManualSuppression":
        return Skipped(PROVIDER, "unsubscribe", "the recipient unsubscribed")
    # HardBounce / SpamComplaint suppressions follow an event already reported.
    return Skipped(PROVIDER, "suppression_change", "the address was added to the suppressions")


_MAPPERS: Final[dict[str, Callable[[Fields], Outcome]]] = {
    "Delivery": _delivery,
    "Bounce": _bounce,
    "Open": _open,
    "Click": _click,
}
