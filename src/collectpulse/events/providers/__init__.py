"""Raw provider payloads -> canonical events: the one entry point, `normalise`.

Each provider has a module of pure functions (no I/O) that reads the payload bytes as
they arrive on `raw.<provider>` and returns canonical events plus the events it
deliberately does not count (`Skipped`). A payload it cannot read raises
`ProviderError`, the package's only exception; in a batch payload (SendGrid) one
unreadable event is an `ItemFailure` instead, so the batch's other events still
count. The mapping tables, the metadata key convention and the id rules are
documented in docs/PROVIDERS.md.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Final

from collectpulse.events.providers import mailgun, postmark, sendgrid, ses, twilio
from collectpulse.events.providers.common import (
    METADATA_KEYS,
    PROVIDERS,
    ItemFailure,
    ItemResult,
    NormaliseResult,
    SkipKind,
    Skipped,
    derived_event_id,
    normalise_message_id,
)
from collectpulse.events.providers.exceptions import ProviderError

_ADAPTERS: Final[Mapping[str, Callable[[bytes, datetime | None], Sequence[ItemResult]]]] = (
    MappingProxyType(
        {
            "ses": ses.normalise,
            "sendgrid": sendgrid.normalise,
            "mailgun": mailgun.normalise,
            "postmark": postmark.normalise,
            "twilio": twilio.normalise,
        }
    )
)


def normalise(
    provider: str, payload: bytes, *, received_at: datetime | None = None
) -> NormaliseResult:
    """Normalise one raw payload of `provider` (one of PROVIDERS) into canonical events.

    `received_at` is when the payload reached us (the raw record's timestamp); only
    Twilio needs it, because its callbacks carry no event time. Raises ProviderError,
    and nothing else, for an unknown provider or a payload that cannot be read; an
    unreadable event inside a batch is returned in `failed`, with its index, instead.
    """
    adapter = _ADAPTERS.get(provider)
    if adapter is None:
        raise ProviderError(provider, f"unknown provider; expected one of {', '.join(PROVIDERS)}")
    if not isinstance(payload, bytes):
        raise ProviderError(provider, f"payload must be bytes, got {type(payload).__name__}")
    if received_at is not None and received_at.utcoffset() is None:
        raise ProviderError(provider, "received_at must be timezone-aware")
    return NormaliseResult.of(adapter(payload, received_at))


__all__ = [
    "METADATA_KEYS",
    "PROVIDERS",
    "ItemFailure",
    "NormaliseResult",
    "ProviderError",
    "SkipKind",
    "Skipped",
    "derived_event_id",
    "normalise",
    "normalise_message_id",
]
