"""AWS SES event publishing (direct, SNS-wrapped or EventBridge) -> canonical events.

The join key is `mail.messageId`, the id SendEmail returns, never
`mail.commonHeaders.messageId` (the RFC 5322 header) nor the SNS envelope's
`MessageId` (one per notification). SES events carry no event id, so every id is
derived; a Bounce or DeliveryDelay names several recipients and yields one canonical
event per recipient, all under the same message id.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Final, Literal

from collectpulse.events.providers.common import (
    Occurrence,
    Outcome,
    Skipped,
    derived_event_id,
    normalise_message_id,
    read_metadata,
    smtp_code,
    snake,
)
from collectpulse.events.providers.exceptions import ProviderError
from collectpulse.events.providers.fields import Fields, load_json

PROVIDER: Final = "ses"

# SES refused to send because the address is on a suppression list: the catalog
# counts this as a hard bounce with reason `suppressed`.
_SUPPRESSED_SUBTYPES: Final = frozenset({"Suppressed", "OnAccountSuppressionList"})
_SKIPPED: Final[dict[str, tuple[Literal["complaint", "rejected", "rendering_failure"], str]]] = {
    "Complaint": ("complaint", "complaints are counted by kind, not in the funnel"),
    "Reject": ("rejected", "SES refused the message for its content; it was never sent"),
    "Rendering Failure": ("rendering_failure", "the template failed to render; nothing sent"),
}


def normalise(payload: bytes, received_at: datetime | None = None) -> list[Outcome]:
    """Map one SES event (in any of its envelopes) to canonical events.

    `received_at` is unused: SES events carry their own time.
    """
    event = _unwrap(Fields(PROVIDER, load_json(PROVIDER, payload)))
    if isinstance(event, Skipped):
        return [event]
    # Event publishing says `eventType`; the older identity notifications `notificationType`.
    event_type = event.opt_text("eventType") or event.opt_text("notificationType")
    if event_type is None:
        raise ProviderError(PROVIDER, "missing field 'eventType'")
    if event_type in _SKIPPED:
        kind, reason = _SKIPPED[event_type]
        return [Skipped(PROVIDER, kind, reason)]
    if event_type == "Subscription":
        return [Skipped(PROVIDER, "unsubscribe", "subscription preferences changed")]
    mapper = _MAPPERS.get(event_type)
    if mapper is None:
        return [Skipped(PROVIDER, "unknown_event", f"unknown SES event type {event_type!r}")]
    return mapper(event, event_type)


def _unwrap(root: Fields) -> Fields | Skipped:
    """The SES event itself, out of its SNS or EventBridge envelope if it has one."""
    sns_type = root.opt_text("Type")
    if sns_type is not None and root.has("TopicArn"):
        if sns_type != "Notification":
            return Skipped(PROVIDER, "transport_control", f"SNS {sns_type} message")
        # SNS carries the SES event as a JSON string, not as an object.
        return Fields(PROVIDER, load_json(PROVIDER, root.text("Message").encode()), "Message")
    if root.has("detail-type") and root.has("detail"):
        return root.obj("detail")
    return root


def _occurrence(
    event: Fields, event_type: str, when: datetime, recipient: str | None
) -> Occurrence:
    mail = event.obj("mail")
    message_id = normalise_message_id(PROVIDER, mail.text("messageId"))
    return Occurrence(
        provider=PROVIDER,
        event_type=event_type,
        message_id=message_id,
        occurred_at=when,
        event_id=derived_event_id(PROVIDER, message_id, event_type, recipient, when),
        metadata=read_metadata(mail.opt_obj("tags")),
    )


def _send(event: Fields, event_type: str) -> list[Outcome]:
    when = event.obj("mail").iso_time("timestamp")
    return [_occurrence(event, event_type, when, None).sent("email")]


def _delivery(event: Fields, event_type: str) -> list[Outcome]:
    delivery = event.obj("delivery")
    when = delivery.iso_time("timestamp")
    return [
        _occurrence(event, event_type, when, recipient).delivered("email")
        for recipient in delivery.texts("recipients")
    ]


def _bounce(event: Fields, event_type: str) -> list[Outcome]:
    bounce = event.obj("bounce")
    when = bounce.iso_time("timestamp")
    bounce_type, reason = _classify(bounce.text("bounceType"), bounce.opt_text("bounceSubType"))
    outcomes: list[Outcome] = []
    for recipient in bounce.objs("bouncedRecipients"):
        code = recipient.opt_text("status") or smtp_code(recipient.opt_text("diagnosticCode"))
        occurrence = _occurrence(event, event_type, when, recipient.text("emailAddress"))
        outcomes.append(
            occurrence.bounce(bounce_type, reason, code or bounce.opt_text("bounceSubType"))
        )
    return outcomes


def _classify(bounce_type: str, sub_type: str | None) -> tuple[Literal["hard", "soft"], str]:
    if sub_type in _SUPPRESSED_SUBTYPES:
        return "hard", "suppressed"
    reason = snake(sub_type or bounce_type)
    if bounce_type == "Permanent":
        return "hard", reason
    if bounce_type == "Transient":
        return "soft", reason
    if bounce_type == "Undetermined":
        # SES could not tell why: not evidence enough to call the address dead.
        return "soft", "undetermined"
    raise ProviderError(PROVIDER, f"field 'bounce.bounceType' has unknown value {bounce_type!r}")


def _delivery_delay(event: Fields, event_type: str) -> list[Outcome]:
    delay = event.obj("deliveryDelay")
    when = delay.iso_time("timestamp")
    reason = snake(delay.opt_text("delayType") or "delivery_delay")
    outcomes: list[Outcome] = []
    for recipient in delay.objs("delayedRecipients"):
        code = recipient.opt_text("status") or smtp_code(recipient.opt_text("diagnosticCode"))
        occurrence = _occurrence(event, event_type, when, recipient.text("emailAddress"))
        outcomes.append(occurrence.bounce("soft", reason, code))
    return outcomes


def _open(event: Fields, event_type: str) -> list[Outcome]:
    when = event.obj("open").iso_time("timestamp")
    # SES has no machine-open signal: an Apple privacy-proxy open counts as human.
    return [_occurrence(event, event_type, when, None).opened(machine=False)]


def _click(event: Fields, event_type: str) -> list[Outcome]:
    click = event.obj("click")
    occurrence = _occurrence(event, event_type, click.iso_time("timestamp"), None)
    return [occurrence.clicked(click.opt_text("link"), machine=False)]


_MAPPERS: Final[dict[str, Callable[[Fields, str], list[Outcome]]]] = {
    "Send": _send,
    "Delivery": _delivery,
    "Bounce": _bounce,
    "DeliveryDelay": _delivery_delay,
    "Open": _open,
    "Click": _click,
}
