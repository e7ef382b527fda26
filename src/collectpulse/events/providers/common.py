"""What every provider adapter shares: results, skip kinds, our metadata keys, ids and codes.

Adapters read one provider event, describe it as an `Occurrence` (message id, event
time, event id, our metadata) and let the occurrence build the canonical event, so the
rules of catalog section 2 (a provider send is a `sent` only with campaign metadata,
deterministic ids, the `suppressed` reason) are written once, here.
"""

import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final, Literal, TypeAlias, TypedDict

import orjson
from pydantic import ValidationError

from collectpulse.events.models import (
    BounceEvent,
    Channel,
    ClickEvent,
    DeliveryEvent,
    EventBase,
    OpenEvent,
)
from collectpulse.events.providers.exceptions import ProviderError
from collectpulse.events.providers.fields import Fields

PROVIDERS: Final = ("ses", "sendgrid", "mailgun", "postmark", "twilio")

# Bounded on purpose: the stream layer counts skipped events by kind, as a label.
SkipKind: TypeAlias = Literal[
    "sent_without_metadata",  # a provider send event without cp_campaign/cp_variant/cp_customer_id
    "in_progress",  # queued/sending: the lifecycle has not reached a countable state
    "complaint",
    "unsubscribe",
    "resubscribe",
    "suppression_change",  # the provider's suppression list changed (follows a bounce/complaint)
    "refused_unsubscribed",  # not sent: the recipient unsubscribed earlier
    "refused_complained",  # not sent: the recipient complained earlier
    "dropped",  # not sent, for a reason that is not the recipient's address
    "rejected",  # refused by the provider for its content (virus, policy)
    "rendering_failure",
    "inbound_notice",  # auto-replies, challenge mails and other mail coming back
    "not_counted",  # a known status no KPI uses (SMS `read`, inbound SMS, ...)
    "transport_control",  # SNS subscription handshakes
    "unknown_event",  # an event type this adapter does not know (yet)
]

# One key convention for SES tags, SendGrid custom args, Mailgun user-variables,
# Postmark Metadata and Twilio status-callback query parameters (see docs/PROVIDERS.md).
METADATA_KEYS: Final = MappingProxyType(
    {
        "campaign": "cp_campaign",
        "variant": "cp_variant",
        "segment": "cp_segment",
        "customer_id": "cp_customer_id",
        "tenant": "cp_tenant",
    }
)

_ENHANCED_STATUS = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_REPLY_CODE = re.compile(r"(?<![\d.])([245]\d\d)(?![\d.])")
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_MAX_NATIVE_ID_CHARS: Final = 100


@dataclass(frozen=True)
class Skipped:
    """A provider event that is understood but deliberately not turned into a canonical event."""

    provider: str
    kind: SkipKind
    reason: str


Outcome: TypeAlias = EventBase | Skipped


@dataclass(frozen=True)
class ItemFailure:
    """One event of a batch payload that cannot be read; the rest of the batch still counts.

    `payload` is that event alone, in the provider's own batch format (SendGrid: a
    one-element JSON array), so it can be replayed to `raw.<provider>` as is. `error`
    is the ProviderError text: it names fields, never values.
    """

    index: int
    error: str
    payload: bytes


ItemResult: TypeAlias = Outcome | ItemFailure


@dataclass(frozen=True)
class NormaliseResult:
    """The canonical events one raw payload yields, what we do not count, and its bad items."""

    events: list[EventBase] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[ItemFailure] = field(default_factory=list)

    @classmethod
    def of(cls, results: Sequence[ItemResult]) -> "NormaliseResult":
        """Split adapter results, keeping payload order within each list."""
        return cls(
            events=[r for r in results if isinstance(r, EventBase)],
            skipped=[r for r in results if isinstance(r, Skipped)],
            failed=[r for r in results if isinstance(r, ItemFailure)],
        )


@dataclass(frozen=True)
class Metadata:
    """Our `cp_*` keys as a provider echoed them back; any may be absent."""

    campaign: str | None = None
    variant: str | None = None
    segment: str | None = None
    customer_id: str | None = None
    tenant: str | None = None

    @property
    def names_a_send(self) -> bool:
        """True when it carries what a canonical `sent` requires."""
        return None not in (self.campaign, self.variant, self.customer_id)


def read_metadata(source: Fields | None) -> Metadata:
    """Read the `cp_*` keys from a provider's metadata object (SES tag lists take the first)."""
    if source is None:
        return Metadata()
    values: dict[str, str | None] = {}
    for name, key in METADATA_KEYS.items():
        raw = source.get(key)
        if isinstance(raw, list):
            raw = raw[0] if raw else None
        if isinstance(raw, int) and not isinstance(raw, bool):
            # Mailgun decodes a user-variable that looks like JSON: "123" comes back as 123.
            raw = str(raw)
        if raw is not None and not isinstance(raw, str):
            raise ProviderError(source.provider, f"metadata '{key}' must be a string")
        values[name] = None if raw is None else raw.strip() or None
    return Metadata(**values)


def normalise_message_id(provider: str, raw_id: str) -> str:
    """The join key for a provider's message id, the same whichever side reports it.

    The mailer applies this to the id the send API returned, the adapters to the id in
    the provider's events, so a `sent` and a `delivered` meet on `message_id`:
    whitespace and one pair of angle brackets are dropped everywhere (Mailgun's send API
    returns `<id>`, its events `id`); SendGrid keeps the part before the first dot
    (`sg_message_id` is the send API's `X-Message-Id` plus `.filter...` suffixes).
    """
    if provider not in PROVIDERS:
        raise ProviderError(provider, f"unknown provider; expected one of {', '.join(PROVIDERS)}")
    message_id = raw_id.strip()
    if message_id.startswith("<") and message_id.endswith(">"):
        message_id = message_id[1:-1].strip()
    if provider == "sendgrid":
        message_id = message_id.split(".", 1)[0]
    if not message_id:
        raise ProviderError(provider, "message id is empty")
    return message_id


def derived_event_id(
    provider: str,
    message_id: str,
    event_type: str,
    recipient: str | None,
    occurred_at: datetime | None,
) -> str:
    """A deterministic event id for providers without a stable one, so retries dedupe.

    sha256 over the JSON list (provider, message id, event type, recipient, UTC event
    time with microseconds); JSON keeps the fields unambiguous, whatever they contain.
    """
    timestamp = "" if occurred_at is None else occurred_at.astimezone(UTC).isoformat()
    material = orjson.dumps([provider, message_id, event_type, recipient or "", timestamp])
    return f"{provider}:{hashlib.sha256(material).hexdigest()}"


def stable_event_id(provider: str, native_id: str) -> str:
    """The provider's own event id, namespaced so two providers' ids never collide."""
    if len(native_id) > _MAX_NATIVE_ID_CHARS:
        # Keep within the 128-character event_id limit; hashing keeps it unique.
        native_id = hashlib.sha256(native_id.encode()).hexdigest()
    return f"{provider}:{native_id}"


def smtp_code(*texts: str | None) -> str | None:
    """The most specific SMTP code in provider text: enhanced status (5.1.1), else reply (550)."""
    present = [text for text in texts if text]
    for pattern in (_ENHANCED_STATUS, _REPLY_CODE):
        for text in present:
            match = pattern.search(text)
            if match:
                return match.group(1)
    return None


def snake(name: str) -> str:
    """A provider's category name as a short reason token: `MailboxFull` -> `mailbox_full`."""
    return _NOT_WORD.sub("_", _CAMEL_HUMP.sub("_", name).lower()).strip("_")


@contextmanager
def canonical(provider: str, event_type: str) -> Iterator[None]:
    """Turn a canonical model's ValidationError into a ProviderError (input values hidden)."""
    try:
        yield
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "event"
        raise ProviderError(
            provider, f"{event_type} does not fit the canonical event: {where}: {first['msg']}"
        ) from None


class _MessageEnvelope(TypedDict):
    event_id: str
    occurred_at: datetime
    tenant: str | None
    message_id: str


@dataclass(frozen=True)
class Occurrence:
    """One provider event about one message (and recipient), ready to become canonical."""

    provider: str
    event_type: str
    message_id: str
    occurred_at: datetime
    event_id: str
    metadata: Metadata

    def sent(self, channel: Channel) -> Outcome:
        """A provider's own send event: a canonical `sent` only when our metadata names it."""
        if not self.metadata.names_a_send:
            return self.skip(
                "sent_without_metadata",
                f"{self.event_type} lacks cp_campaign, cp_variant or cp_customer_id; "
                "the sending system publishes this sent",
            )
        with canonical(self.provider, self.event_type):
            return DeliveryEvent(
                **self._envelope(),
                status="sent",
                channel=channel,
                customer_id=self.metadata.customer_id,
                campaign=self.metadata.campaign,
                variant=self.metadata.variant,
                segment=self.metadata.segment or "default",
            )

    def delivered(self, channel: Channel) -> DeliveryEvent:
        """A delivery; campaign dimensions come from the message's `sent` through the join."""
        with canonical(self.provider, self.event_type):
            return DeliveryEvent(
                **self._envelope(),
                status="delivered",
                channel=channel,
                customer_id=self.metadata.customer_id,
            )

    def bounce(
        self, bounce_type: Literal["hard", "soft"], reason: str | None, provider_code: str | None
    ) -> BounceEvent:
        """A delivery failure; `reason="suppressed"` for a send refused over an earlier bounce."""
        with canonical(self.provider, self.event_type):
            return BounceEvent(
                **self._envelope(),
                bounce_type=bounce_type,
                reason=reason,
                provider_code=provider_code,
            )

    def opened(self, *, machine: bool) -> OpenEvent:
        """An open; `machine` only where the provider flags privacy proxies or scanners."""
        with canonical(self.provider, self.event_type):
            return OpenEvent(
                **self._envelope(),
                machine=machine,
            )

    def clicked(self, url: str | None, *, machine: bool) -> ClickEvent:
        """A click on a tracked link."""
        with canonical(self.provider, self.event_type):
            return ClickEvent(
                **self._envelope(),
                url=url,
                machine=machine,
            )

    def _envelope(self) -> _MessageEnvelope:
        """The fields every canonical message event of this occurrence shares."""
        return _MessageEnvelope(
            event_id=self.event_id,
            occurred_at=self.occurred_at,
            tenant=self.metadata.tenant,
            message_id=self.message_id,
        )

    def skip(self, kind: SkipKind, reason: str) -> Skipped:
        """This event is understood and deliberately not counted by the funnel."""
        return Skipped(self.provider, kind, reason)
