"""Build the simulator's canonical events: run-unique ids, tenant-local event times.

The journeys decide *what* happens; this module only turns a decision into a
valid model instance, so every generated value passes `events.decode`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Literal, TypedDict

from collectpulse.events.models import (
    BounceEvent,
    ClickEvent,
    DeliveryEvent,
    EventBase,
    OpenEvent,
    PageviewEvent,
    PaymentEvent,
    PromiseEvent,
)
from collectpulse.simulate.landing_ux import Device
from collectpulse.simulate.scenario import SimChannel, Tenant

Planned = tuple[float, EventBase]
PaymentStatus = Literal["succeeded", "failed", "aborted"]
PaymentPlan = Literal["full", "installment"]
PromiseKind = Literal["promise_to_pay", "installment_plan"]
PromiseStatus = Literal["made", "kept", "broken", "cancelled"]
Direction = Literal["inbound", "outbound", "self_service"]
PageSource = Literal["direct", "email", "sms", "letter", "other"]


@dataclass(frozen=True, slots=True)
class Contact:
    """The customer an arrival is about, and the message that reached them, if any."""

    tenant: Tenant
    customer_id: str
    balance_minor: int
    struggling: bool
    message_id: str | None = None
    pay_lift: float = 1.0


@dataclass(frozen=True, slots=True)
class Promise:
    """What every state event of one promise repeats."""

    promise_id: str
    kind: PromiseKind
    direction: Direction
    due_date: date
    agent_id: str | None
    message_id: str | None


class _Envelope(TypedDict):
    event_id: str
    occurred_at: datetime
    tenant: str


class EventFactory:
    """Makes events for one run; ids are `<run_id>-<kind><n>`, unique within the run."""

    def __init__(self, *, run_id: str, start: datetime, tenants: tuple[Tenant, ...]) -> None:
        self._run_id = run_id
        self._start = start
        self._serial = itertools.count(1)
        self._zones = {
            tenant.name: timezone(timedelta(minutes=tenant.utc_offset_min)) for tenant in tenants
        }

    def new_id(self, kind: str) -> str:
        return f"{self._run_id}-{kind}{next(self._serial)}"

    def local_time(self, at_s: float, tenant: Tenant) -> datetime:
        """The event time `at_s` seconds after the start, in the tenant's offset, to the ms."""
        moment = self._start + timedelta(milliseconds=round(at_s * 1000))
        return moment.astimezone(self._zones[tenant.name])

    def sent(
        self,
        at_s: float,
        contact: Contact,
        channel: SimChannel,
        campaign: str,
        variant: str,
        segment: str,
    ) -> Planned:
        return at_s, DeliveryEvent(
            **self._envelope(at_s, contact.tenant, "send"),
            message_id=_message_id(contact),
            status="sent",
            channel=channel,
            customer_id=contact.customer_id,
            campaign=campaign,
            variant=variant,
            segment=segment,
        )

    def delivered(self, at_s: float, contact: Contact, channel: SimChannel) -> Planned:
        return at_s, DeliveryEvent(
            **self._envelope(at_s, contact.tenant, "dlv"),
            message_id=_message_id(contact),
            status="delivered",
            channel=channel,
        )

    def bounce(
        self, at_s: float, contact: Contact, kind: Literal["hard", "soft"], why: tuple[str, str]
    ) -> Planned:
        reason, provider_code = why
        return at_s, BounceEvent(
            **self._envelope(at_s, contact.tenant, "bnc"),
            message_id=_message_id(contact),
            bounce_type=kind,
            reason=reason,
            provider_code=provider_code,
        )

    def open(self, at_s: float, contact: Contact, *, machine: bool) -> Planned:
        return at_s, OpenEvent(
            **self._envelope(at_s, contact.tenant, "open"),
            message_id=_message_id(contact),
            machine=machine,
        )

    def click(self, at_s: float, contact: Contact, *, machine: bool) -> Planned:
        message_id = _message_id(contact)
        return at_s, ClickEvent(
            **self._envelope(at_s, contact.tenant, "click"),
            message_id=message_id,
            url=f"https://pay.{contact.tenant.name}.example/r/{message_id}",
            machine=machine,
        )

    def pageview(
        self,
        at_s: float,
        tenant: Tenant,
        source: PageSource,
        visitor_id: str,
        page: str,
        customer_id: str | None = None,
        message_id: str | None = None,
        *,
        ux: tuple[Device, int] | None = None,
    ) -> Planned:
        """``ux``: the view's device and load time in ms (schema_version 2 fields)."""
        device, load_ms = ux if ux is not None else (None, None)
        return at_s, PageviewEvent(
            **self._envelope(at_s, tenant, "view"),
            schema_version=1 if ux is None else 2,
            visitor_id=visitor_id,
            source=source,
            customer_id=customer_id,
            message_id=message_id,
            page=page,
            device=device,
            load_ms=load_ms,
        )

    def payment(
        self,
        at_s: float,
        contact: Contact,
        status: PaymentStatus,
        amount_minor: int,
        plan: PaymentPlan,
        *,
        message_id: str | None = None,
        agent_id: str | None = None,
    ) -> Planned:
        return at_s, PaymentEvent(
            **self._envelope(at_s, contact.tenant, "pay"),
            payment_id=self.new_id("pay"),
            customer_id=contact.customer_id,
            status=status,
            amount_minor=max(amount_minor, 1),
            currency=contact.tenant.currency,
            message_id=message_id,
            agent_id=agent_id,
            plan=plan,
        )

    def promise(
        self, at_s: float, contact: Contact, promise: Promise, status: PromiseStatus
    ) -> Planned:
        return at_s, PromiseEvent(
            **self._envelope(at_s, contact.tenant, "ptp"),
            promise_id=promise.promise_id,
            customer_id=contact.customer_id,
            kind=promise.kind,
            status=status,
            direction=promise.direction,
            amount_minor=contact.balance_minor,
            currency=contact.tenant.currency,
            due_date=promise.due_date,
            agent_id=promise.agent_id,
            message_id=promise.message_id,
        )

    def envelope(self, at_s: float, tenant: Tenant, kind: str) -> dict[str, object]:
        """The envelope fields of a new event (for event kinds built elsewhere)."""
        return dict(self._envelope(at_s, tenant, kind))

    def _envelope(self, at_s: float, tenant: Tenant, kind: str) -> _Envelope:
        return {
            "event_id": self.new_id(kind),
            "occurred_at": self.local_time(at_s, tenant),
            "tenant": tenant.name,
        }


def _message_id(contact: Contact) -> str:
    if contact.message_id is None:
        raise ValueError("a message lifecycle event needs a contact with a message")
    return contact.message_id


__all__ = [
    "Contact",
    "Direction",
    "EventFactory",
    "PageSource",
    "PaymentPlan",
    "PaymentStatus",
    "Planned",
    "Promise",
    "PromiseKind",
    "PromiseStatus",
]
