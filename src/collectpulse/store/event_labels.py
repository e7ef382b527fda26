"""The cardinality-capped label values each event brings, to admit before planning.

The writer admits new values into the capped registries (``cp:{labels}:<label>``)
once per apply; the effect rules then report a value only if it was admitted
(else ``__other__``). Only a ``sent`` names a campaign; payments and contacts
name agents; promises name their makers; accounts name their assignee and team;
contacts name teams and dialer campaigns.
"""

from __future__ import annotations

from collectpulse.events.models import (
    AccountEvent,
    ContactEvent,
    DeliveryEvent,
    EventBase,
    PaymentEvent,
    PromiseEvent,
)


def label_values(event: EventBase) -> tuple[tuple[str, str | None], ...]:
    """``(label, value)`` pairs of the capped labels ``event`` brings (a value may be None)."""
    if isinstance(event, DeliveryEvent) and event.status == "sent":
        return (
            ("campaign", event.campaign),
            ("variant", event.variant),
            ("segment", event.segment),
            ("tenant", event.tenant),
        )
    if isinstance(event, PaymentEvent | PromiseEvent):
        return (("tenant", event.tenant), ("agent", event.agent_id))
    if isinstance(event, AccountEvent):
        return (("tenant", event.tenant), ("agent", event.agent_id), ("team", event.team))
    if isinstance(event, ContactEvent):
        return (
            ("tenant", event.tenant),
            ("agent", event.agent_id),
            ("team", event.team),
            ("dialer_campaign", event.dialer_campaign),
        )
    return (("tenant", event.tenant),)
