"""What the simulated collections operation looks like: tenants, campaigns, behaviour.

A `Scenario` is plain frozen data; the generator reads it and never changes
it. Probabilities are per opportunity (e.g. `open` is the chance that a
delivered e-mail is opened by a person) and delays are medians in seconds of
log-normal distributions, multiplied by `delay_scale` so a short demo can
show the whole funnel. `DEFAULT_SCENARIO` is a plausible mid-sized agency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Literal

from collectpulse.simulate.exceptions import ScenarioError

SimChannel = Literal["email", "sms", "letter"]
CONTROL = "control"


@dataclass(frozen=True, slots=True)
class Variant:
    """One arm of a campaign's experiment; lifts multiply the channel's base rates.

    `click_lift` also lifts untracked landings (a letter's QR code).
    """

    name: str
    weight: float = 1.0
    open_lift: float = 1.0
    click_lift: float = 1.0
    pay_lift: float = 1.0


@dataclass(frozen=True, slots=True)
class Campaign:
    """A message template sent by one tenant on one channel to some segments."""

    name: str
    tenant: str
    channel: SimChannel
    segments: tuple[str, ...]
    variants: tuple[Variant, ...]
    weight: float = 1.0
    # Share of the list that is stale (wrong address or number): hard-bounces at once,
    # on top of the channel's own bounces. A wrongly uploaded list shows up here.
    stale_contacts: float = 0.0
    # A customer-level experiment: each customer's arm is drawn once (from the variants'
    # weights, seeded by campaign and customer), so all their messages share it.
    assign_by_customer: bool = False


@dataclass(frozen=True, slots=True)
class Tenant:
    """A creditor or portfolio: its customers, currency and local UTC offset."""

    name: str
    currency: str
    utc_offset_min: int
    customers: int
    median_balance_minor: int
    # False: its landing page cannot be reached (a broken link, the page down):
    # clicks are still tracked, but no landing view, no payment through the page.
    landing_page_up: bool = True


@dataclass(frozen=True, slots=True)
class ChannelBehaviour:
    """How messages of one channel fare, from delivery to the landing page."""

    hard_bounce: float
    soft_bounce: float
    delivered_after_soft: float
    delivery_delay_s: float
    retry_delay_s: float
    machine_open: float = 0.0
    open: float = 0.0
    reopen: float = 0.0
    open_delay_s: float = 1800.0
    # For channels without open tracking this is P(click | delivered).
    click: float = 0.0
    click_delay_s: float = 60.0
    scanner_click: float = 0.0
    # A landing view without a tracked click (a letter's QR code or typed URL).
    direct_landing: float = 0.0
    direct_landing_delay_s: float = 86400.0


_EMAIL = ChannelBehaviour(
    hard_bounce=0.025,
    soft_bounce=0.05,
    delivered_after_soft=0.7,
    delivery_delay_s=4.0,
    retry_delay_s=900.0,
    machine_open=0.3,
    open=0.3,
    reopen=0.35,
    open_delay_s=1800.0,
    click=0.22,
    click_delay_s=40.0,
    scanner_click=0.03,
)
_SMS = ChannelBehaviour(
    hard_bounce=0.03,
    soft_bounce=0.03,
    delivered_after_soft=0.6,
    delivery_delay_s=3.0,
    retry_delay_s=600.0,
    click=0.09,
    click_delay_s=240.0,
    scanner_click=0.01,
)
_LETTER = ChannelBehaviour(
    hard_bounce=0.015,
    soft_bounce=0.0,
    delivered_after_soft=0.0,
    delivery_delay_s=2 * 86400.0,
    retry_delay_s=86400.0,
    direct_landing=0.05,
    direct_landing_delay_s=86400.0,
)


@dataclass(frozen=True, slots=True)
class Scenario:
    """The whole simulated operation, plus the upstream faults to inject."""

    tenants: tuple[Tenant, ...]
    campaigns: tuple[Campaign, ...]
    channels: Mapping[SimChannel, ChannelBehaviour]
    segment_pay_lift: Mapping[str, float]
    # Shares of new arrivals; the rest are campaign messages.
    direct_visit_share: float = 0.12
    agent_call_share: float = 0.04
    # After a landing view.
    pay_after_landing: float = 0.3
    installment_after_landing: float = 0.1
    struggling: float = 0.08
    payment_failure: float = 0.12
    payment_abort: float = 0.08
    message_id_on_payment: float = 0.7
    # Direct visitors who log in, and so name their customer id.
    direct_login: float = 0.35
    # A customer calls in after a delivered message and promises to pay.
    inbound_call: float = 0.02
    promise_kept: float = 0.65
    promise_cancelled: float = 0.1
    # How strongly the local send hour moves opens, clicks and payments (simulate.send_hour):
    # 0 none, 1 the full curve (a morning and an evening peak, quiet nights).
    send_hour_effect: float = 1.0
    # Upstream faults.
    duplicate_rate: float = 0.0
    duplicate_delay_s: float = 30.0
    out_of_order_rate: float = 0.0
    delay_scale: float = 1.0

    def __post_init__(self) -> None:
        for name in _PROBABILITIES:
            _check_probability(name, getattr(self, name))
        if self.direct_visit_share + self.agent_call_share > 1:
            raise ScenarioError("direct_visit_share + agent_call_share must be at most 1")
        if self.promise_kept + self.promise_cancelled > 1:
            raise ScenarioError("promise_kept + promise_cancelled must be at most 1")
        if self.delay_scale <= 0 or self.duplicate_delay_s <= 0:
            raise ScenarioError("delay_scale and duplicate_delay_s must be positive")
        if not self.tenants or not self.campaigns:
            raise ScenarioError("a scenario needs at least one tenant and one campaign")
        tenants = {tenant.name for tenant in self.tenants}
        for campaign in self.campaigns:
            _check_campaign(campaign, tenants, self.channels, self.segment_pay_lift)
        for tenant in self.tenants:
            if tenant.customers < 1 or tenant.median_balance_minor < 1:
                raise ScenarioError(f"tenant {tenant.name!r} needs customers and a balance")
        for name, behaviour in self.channels.items():
            for item in fields(behaviour):
                value = getattr(behaviour, item.name)
                if item.name.endswith("_s"):
                    if value <= 0:
                        raise ScenarioError(f"channel {name}: {item.name} must be positive")
                else:
                    _check_probability(f"channel {name}: {item.name}", value)

    def tenant(self, name: str) -> Tenant:
        return next(tenant for tenant in self.tenants if tenant.name == name)


_PROBABILITIES = (
    "direct_visit_share",
    "agent_call_share",
    "pay_after_landing",
    "installment_after_landing",
    "struggling",
    "payment_failure",
    "payment_abort",
    "message_id_on_payment",
    "direct_login",
    "inbound_call",
    "promise_kept",
    "promise_cancelled",
    "send_hour_effect",
    "duplicate_rate",
    "out_of_order_rate",
)


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ScenarioError(f"{name} must be a probability between 0 and 1, got {value}")


def _check_campaign(
    campaign: Campaign,
    tenants: set[str],
    channels: Mapping[SimChannel, ChannelBehaviour],
    segments: Mapping[str, float],
) -> None:
    where = f"campaign {campaign.name!r}"
    if campaign.tenant not in tenants:
        raise ScenarioError(f"{where}: unknown tenant {campaign.tenant!r}")
    if campaign.channel not in channels:
        raise ScenarioError(f"{where}: no behaviour for channel {campaign.channel!r}")
    unknown = [segment for segment in campaign.segments if segment not in segments]
    if not campaign.segments or unknown:
        raise ScenarioError(f"{where}: needs known segments, unknown: {unknown}")
    names = [variant.name for variant in campaign.variants]
    if not names or len(set(names)) != len(names):
        raise ScenarioError(f"{where}: needs variants with distinct names")
    if any(variant.weight <= 0 for variant in campaign.variants) or campaign.weight <= 0:
        raise ScenarioError(f"{where}: weights must be positive")
    _check_probability(f"{where}: stale_contacts", campaign.stale_contacts)


def _campaigns() -> tuple[Campaign, ...]:
    control = Variant(CONTROL)
    return (
        Campaign(
            "reminder-d10",
            "northbank",
            "email",
            ("early", "late"),
            # The experiment has a real winner: the empathetic text converts better.
            (control, Variant("short-subject", open_lift=1.3), Variant("empathetic", pay_lift=1.5)),
            weight=3.0,
        ),
        Campaign(
            "final-notice",
            "northbank",
            "letter",
            ("late", "legal"),
            (control, Variant("qr-code", click_lift=1.6)),
            weight=0.5,
        ),
        Campaign(
            "payment-plan-offer",
            "brightwater-energy",
            "email",
            ("early", "late"),
            (control, Variant("plan-first", pay_lift=1.3)),
            weight=2.0,
        ),
        Campaign(
            "sms-nudge",
            "brightwater-energy",
            "sms",
            ("early", "late"),
            (control, Variant("link-first", click_lift=1.3)),
            weight=2.0,
        ),
        Campaign(
            "sms-reminder",
            "telco-one",
            "sms",
            ("early", "late", "legal"),
            (control, Variant("personal", click_lift=1.1, pay_lift=1.2), Variant("formal")),
            weight=2.0,
        ),
    )


DEFAULT_SCENARIO = Scenario(
    tenants=(
        Tenant("northbank", "EUR", 60, customers=20_000, median_balance_minor=45_000),
        Tenant("brightwater-energy", "GBP", 0, customers=12_000, median_balance_minor=18_000),
        Tenant("telco-one", "EUR", 120, customers=8_000, median_balance_minor=9_000),
    ),
    campaigns=_campaigns(),
    channels=MappingProxyType({"email": _EMAIL, "sms": _SMS, "letter": _LETTER}),
    segment_pay_lift=MappingProxyType({"early": 1.3, "late": 0.9, "legal": 0.5}),
)

__all__ = [
    "CONTROL",
    "DEFAULT_SCENARIO",
    "Campaign",
    "ChannelBehaviour",
    "Scenario",
    "SimChannel",
    "Tenant",
    "Variant",
]
