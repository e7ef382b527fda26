"""Mailgun webhooks (`{"signature": ..., "event-data": {...}}`) -> canonical events.

The join key is `event-data.message.headers.message-id`, which Mailgun's events give
without the angle brackets its send API puts around it; `normalise_message_id` strips
them on both sides. `event-data.id` is stable across webhook retries and is the event
id. Our metadata comes back in `user-variables`. The signature is checked by the
webhook receiver that holds the signing key, not here.
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

PROVIDER: Final = "mailgun"

_SKIPPED: Final[dict[str, tuple[SkipKind, str]]] = {
    "complained": ("complaint", "complaints are counted by kind, not in the funnel"),
    "unsubscribed": ("unsubscribe", "unsubscribes are counted by kind, not in the funnel"),
    "rejected": ("rejected", "Mailgun refused the message; it was never sent"),
}
_SEVERITIES: Final[dict[str, Literal["hard", "soft"]]] = {"permanent": "hard", "temporary": "soft"}
# `failed` reasons that mean Mailgun did not try, because of the recipient's history.
_REFUSALS: Final[dict[str, tuple[SkipKind, str]]] = {
    "suppress-unsubscribe": ("refused_unsubscribed", "not sent: the recipient unsubscribed"),
    "suppress-complaint": ("refused_complained", "not sent: the recipient complained"),
}


def normalise(payload: bytes, received_at: datetime | None = None) -> list[Outcome]:
    """Map one Mailgun webhook to canonical events.

    `received_at` is unused: Mailgun events carry their own `timestamp`.
    """
    event = Fields(PROVIDER, load_json(PROVIDER, payload)).obj("event-data")
    event_type = event.text("event")
    if event_type in _SKIPPED:
        kind, reason = _SKIPPED[event_type]
        return [Skipped(PROVIDER, kind, reason)]
    mapper = _MAPPERS.get(event_type)
    if mapper is None:
        return [Skipped(PROVIDER, "unknown_event", f"unknown Mailgun event {event_type!r}")]
    return [mapper(event, _occurrence(event, event_type))]


def _occurrence(event: Fields, event_type: str) -> Occurrence:
    headers = event.obj("message").obj("headers")
    message_id = normalise_message_id(PROVIDER, headers.text("message-id"))
    when = event.unix_time("timestamp")
    native_id = event.opt_text("id")
    return Occurrence(
        provider=PROVIDER,
        event_type=event_type,
        message_id=message_id,
        occurred_at=when,
        event_id=(
            stable_event_id(PROVIDER, native_id)
            if native_id
            else derived_event_id(
                PROVIDER, message_id, event_type, event.opt_text("recipient"), when
            )
        ),
        metadata=read_metadata(event.opt_obj("user-variables")),
    )


def _failed(event: Fields, occurrence: Occurrence) -> Outcome:
    reason = event.opt_text("reason")
    if reason in _REFUSALS:
        kind, text = _REFUSALS[reason]
        return occurrence.skip(kind, text)
    code = _provider_code(event.opt_obj("delivery-status"))
    if reason == "suppress-bounce":
        return occurrence.bounce("hard", "suppressed", code)
    severity = event.text("severity")
    bounce_type = _SEVERITIES.get(severity)
    if bounce_type is None:
        raise ProviderError(
            PROVIDER, f"field '{event.path}.severity' has unknown value {severity!r}"
        )
    return occurrence.bounce(bounce_type, snake(reason or severity), code)


def _provider_code(status: Fields | None) -> str | None:
    """The SMTP enhanced status in the delivery status text, else Mailgun's numeric code."""
    if status is None:
        return None
    in_text = smtp_code(
        status.opt_text("enhanced-code"),
        status.opt_text("message"),
        status.opt_text("description"),
    )
    # `code` is the SMTP reply, or Mailgun's own (605: not delivering to a bounced address).
    return in_text or status.opt_code("code")


def _is_bot(event: Fields) -> bool:
    """`client-info.bot` names the proxy or scanner (`apple`, `gmail`, `generic`)."""
    client = event.opt_obj("client-info")
    if client is None:
        return False
    bot = client.get("bot")
    if isinstance(bot, bool):  # tolerate a boolean, should Mailgun ever send one
        return bot
    return client.opt_text("bot") is not None


_MAPPERS: Final[dict[str, Callable[[Fields, Occurrence], Outcome]]] = {
    "accepted": lambda _event, occurrence: occurrence.sent("email"),
    "delivered": lambda _event, occurrence: occurrence.delivered("email"),
    "failed": _failed,
    "opened": lambda event, occurrence: occurrence.opened(machine=_is_bot(event)),
    "clicked": lambda event, occurrence: occurrence.clicked(
        event.opt_text("url"), machine=_is_bot(event)
    ),
}
