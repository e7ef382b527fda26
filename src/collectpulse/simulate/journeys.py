"""Plan everything one arrival leads to: a campaign message, a direct visit, an agent call.

Agent calls are dialer attempts (``dialer``): only one that reaches the right party
leads to a promise or a payment; inbound calls after a message are contacts too.

Pure: a plan draws only from the `random.Random` it is given and returns the
events with their event time in seconds since the simulation start, the
arrival's first event first. The generator decides when to emit them.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import datetime

from collectpulse.simulate.accounts import AccountPlanner
from collectpulse.simulate.dialer import Dialer
from collectpulse.simulate.factory import (
    Contact,
    Direction,
    EventFactory,
    PageSource,
    PaymentPlan,
    PaymentStatus,
    Planned,
    Promise,
    PromiseKind,
)
from collectpulse.simulate.landing_ux import draw_load_ms, landing_ux
from collectpulse.simulate.scenario import (
    Campaign,
    ChannelBehaviour,
    Scenario,
    SimChannel,
    Tenant,
    Variant,
)
from collectpulse.simulate.send_hour import hour_lifts

# (reason, provider_code): SMTP enhanced status codes for e-mail, Twilio
# ErrorCodes for SMS, the print house's return codes for letters.
_HARD: dict[SimChannel, tuple[tuple[str, str], ...]] = {
    "email": (
        ("mailbox does not exist", "5.1.1"),
        ("domain not found", "5.1.2"),
        ("suppressed", "5.1.1"),
    ),
    "sms": (
        ("unknown destination handset", "30005"),
        ("landline or unreachable carrier", "30006"),
        ("invalid phone number", "21211"),
    ),
    "letter": (("returned: addressee unknown", "RTS-ADDR"),),
}
_SOFT: dict[SimChannel, tuple[tuple[str, str], ...]] = {
    "email": (("mailbox full", "4.2.2"), ("greylisted", "4.7.1"), ("deferred", "4.4.1")),
    "sms": (
        ("unreachable handset", "30003"),
        ("carrier filtering", "30007"),
        ("unknown error", "30008"),
    ),
    "letter": (("returned: temporarily away", "RTS-TEMP"),),
}
_EXPIRED: dict[SimChannel, tuple[str, str]] = {
    "email": ("delivery time expired", "5.4.7"),
    "sms": ("undelivered after retries", "30008"),
    "letter": ("returned: undeliverable", "RTS-UNDL"),
}
# Agent calls that are a customer calling in, and the share of those callers the
# agent desktop cannot identify (contact volumes only).
_INBOUND_CALLS = 0.2
_UNIDENTIFIED_CALLERS = 0.25
_INSTALLMENTS = (3, 6, 12)
# A scanned QR code on a letter carries the message; a typed address does not.
_LETTER_QR_SHARE = 0.7


def assigned_variant(campaign: Campaign, customer_id: str) -> Variant:
    """The customer's arm of a customer-level experiment: the same in every message and run."""
    draw = random.Random(f"{campaign.name}:{customer_id}")
    return draw.choices(campaign.variants, [v.weight for v in campaign.variants])[0]


class Planner:
    """Plans the arrivals of one run, drawing from the run's random generator."""

    def __init__(
        self,
        rng: random.Random,
        scenario: Scenario,
        *,
        run_id: str,
        start: datetime,
        live_start: datetime | None = None,
    ):
        self._rng = rng
        self._scenario = scenario
        self._make = EventFactory(run_id=run_id, start=start, tenants=scenario.tenants)
        # accounts placed in a replayed history (before live_start) age in real time
        real_until_s = None if live_start is None else (live_start - start).total_seconds()
        self._accounts = AccountPlanner(
            self._make, f"accounts:{run_id}", real_time_until_s=real_until_s
        )
        self._dialer = Dialer(rng, self._make, self._delay)
        self._plan: list[Planned] = []

    # --- arrivals -------------------------------------------------------------

    def message(self, at_s: float) -> list[Planned]:
        """A campaign message: its `sent` (first in the plan) and everything it leads to."""
        rng, scenario = self._rng, self._scenario
        campaign = rng.choices(scenario.campaigns, [c.weight for c in scenario.campaigns])[0]
        variant = rng.choices(campaign.variants, [v.weight for v in campaign.variants])[0]
        segment = rng.choice(campaign.segments)
        lift = scenario.segment_pay_lift[segment] * variant.pay_lift
        message_id = self._make.new_id("m")
        contact = self._contact(scenario.tenant(campaign.tenant), message_id, lift)
        if campaign.assign_by_customer:
            # drawn after the shared stream's draws, so other campaigns' streams stay as they were
            variant = assigned_variant(campaign, contact.customer_id)
            lift = scenario.segment_pay_lift[segment] * variant.pay_lift
            contact = replace(contact, pay_lift=lift)
        channel = campaign.channel
        self._add(self._make.sent(at_s, contact, channel, campaign.name, variant.name, segment))
        # Drawn only for a stale list, so every other scenario's stream stays as it was.
        if campaign.stale_contacts and rng.random() < campaign.stale_contacts:
            bounced_s = at_s + self._delay(scenario.channels[channel].delivery_delay_s)
            self._add(self._make.bounce(bounced_s, contact, "hard", rng.choice(_HARD[channel])))
            return self._take()
        delivered_s = self._delivery(at_s, contact, channel, scenario.channels[channel])
        if delivered_s is None:
            return self._take()
        # people open, click and pay more at some local hours than at others (K21)
        hour = self._make.local_time(at_s, contact.tenant).hour
        opens, clicks, pays = hour_lifts(hour, scenario.send_hour_effect)
        contact = replace(contact, pay_lift=contact.pay_lift * pays)
        self._engagement(
            delivered_s, contact, campaign, variant.open_lift * opens, variant.click_lift * clicks
        )
        if rng.random() < scenario.inbound_call:
            called_s = delivered_s + self._delay(6 * 3600.0)
            named = message_id if rng.random() < 0.5 else None
            agent = self._dialer.agent(contact.tenant)
            self._add(self._dialer.inbound(called_s, contact, agent))
            self._promise(called_s, contact, "promise_to_pay", "inbound", agent.agent_id, named)
        return self._take()

    def direct_visit(self, at_s: float) -> list[Planned]:
        """Landing traffic without a message: bookmarks, search, typed addresses."""
        rng = self._rng
        tenant = self._any_tenant()
        if not tenant.landing_page_up:
            return []  # the visitor finds nothing to view, and nothing to record
        source: PageSource = "direct" if rng.random() < 0.85 else "other"
        if rng.random() < self._scenario.direct_login:
            contact = self._contact(tenant, None, 1.0)
            self._landing(at_s, contact, source)
        else:
            visitor_id = self._make.new_id("v")
            ux = landing_ux(_ux_rng(visitor_id, at_s), source)
            self._add(self._make.pageview(at_s, tenant, source, visitor_id, "/", ux=ux))
        return self._take()

    def agent_call(self, at_s: float) -> list[Planned]:
        """Outbound dialer attempts; on reaching the right party, a newly placed account
        (its versions) and a promise to pay or a payment taken by phone. Or a customer
        calling in, who may promise to pay."""
        rng, dialer = self._rng, self._dialer
        contact = self._contact(self._any_tenant(), None, 1.0)
        if rng.random() < _INBOUND_CALLS:
            agent = dialer.agent(contact.tenant)
            known = rng.random() >= _UNIDENTIFIED_CALLERS
            ended_s, call = dialer.inbound(at_s, contact, agent, known=known)
            self._add((ended_s, call))
            if known and call.outcome == "right_party" and rng.random() < 0.5:
                self._promise(ended_s, contact, "promise_to_pay", "inbound", agent.agent_id, None)
            return self._take()
        attempts, reached, at_s = dialer.outbound(at_s, contact)
        self._plan.extend(attempts)
        if reached is None:
            return self._take()
        agent_id = reached.agent_id
        # the call was about a newly placed account, sometimes handed to a colleague
        colleague = dialer.agent(contact.tenant).agent_id
        self._plan.extend(self._accounts.placement(at_s, contact, agent_id, colleague))
        if rng.random() < 0.6:
            self._promise(at_s, contact, "promise_to_pay", "outbound", agent_id, None)
        else:
            status: PaymentStatus = "succeeded" if rng.random() < 0.85 else "failed"
            amount = contact.balance_minor
            self._add(self._make.payment(at_s, contact, status, amount, "full", agent_id=agent_id))
        return self._take()

    # --- the message lifecycle ------------------------------------------------

    def _delivery(
        self, at_s: float, contact: Contact, channel: SimChannel, behaviour: ChannelBehaviour
    ) -> float | None:
        """Delivered; deferred (soft) then delivered or hard; or hard at once. When delivered."""
        rng = self._rng
        at_s += self._delay(behaviour.delivery_delay_s)
        draw = rng.random()
        if draw < behaviour.hard_bounce:
            self._add(self._make.bounce(at_s, contact, "hard", rng.choice(_HARD[channel])))
            return None
        if draw < behaviour.hard_bounce + behaviour.soft_bounce:
            for _ in range(rng.randint(1, 3)):
                self._add(self._make.bounce(at_s, contact, "soft", rng.choice(_SOFT[channel])))
                at_s += self._delay(behaviour.retry_delay_s)
            if rng.random() >= behaviour.delivered_after_soft:
                self._add(self._make.bounce(at_s, contact, "hard", _EXPIRED[channel]))
                return None
        self._add(self._make.delivered(at_s, contact, channel))
        return at_s

    def _engagement(
        self,
        delivered_s: float,
        contact: Contact,
        campaign: Campaign,
        open_lift: float,
        click_lift: float,
    ) -> None:
        """Machine signals, human opens (some repeated), a click and the landing it leads to."""
        rng, make = self._rng, self._make
        behaviour = self._scenario.channels[campaign.channel]
        if rng.random() < behaviour.scanner_click:
            self._add(make.click(delivered_s + self._delay(5.0), contact, machine=True))
        if rng.random() < behaviour.machine_open:
            self._add(make.open(delivered_s + self._delay(60.0), contact, machine=True))
        clicked_s: float | None = None
        if behaviour.open > 0:
            if rng.random() < _capped(behaviour.open * open_lift):
                opened_s = delivered_s + self._delay(behaviour.open_delay_s)
                self._add(make.open(opened_s, contact, machine=False))
                reopened_s = opened_s
                while rng.random() < behaviour.reopen:
                    reopened_s += self._delay(3600.0)
                    self._add(make.open(reopened_s, contact, machine=False))
                if rng.random() < _capped(behaviour.click * click_lift):
                    clicked_s = opened_s + self._delay(behaviour.click_delay_s)
        elif rng.random() < _capped(behaviour.click * click_lift):
            clicked_s = delivered_s + self._delay(behaviour.click_delay_s)
        if clicked_s is not None:
            self._add(make.click(clicked_s, contact, machine=False))
            self._landing(clicked_s + self._delay(3.0), contact, campaign.channel)
        elif rng.random() < _capped(behaviour.direct_landing * click_lift):
            landed_s = delivered_s + self._delay(behaviour.direct_landing_delay_s)
            if rng.random() >= _LETTER_QR_SHARE:
                contact = replace(contact, message_id=None)
            self._landing(landed_s, contact, campaign.channel)

    # --- landing page and money -----------------------------------------------

    def _landing(self, at_s: float, contact: Contact, source: PageSource) -> None:
        """A landing view, then perhaps a payment session or a self-service installment plan."""
        rng, scenario = self._rng, self._scenario
        if not contact.tenant.landing_page_up:
            return
        visitor_id = f"v-{contact.customer_id}"
        ids = (contact.customer_id, contact.message_id)
        # one device for the visit; each page of it loads in its own time
        ux_rng = _ux_rng(visitor_id, at_s)
        device, load_ms = landing_ux(ux_rng, source)
        self._add(
            self._make.pageview(
                at_s, contact.tenant, source, visitor_id, "/", *ids, ux=(device, load_ms)
            )
        )
        pay = _capped(scenario.pay_after_landing * contact.pay_lift)
        draw = rng.random()
        if draw < pay:
            at_s += self._delay(20.0)
            pay_ux = (device, draw_load_ms(ux_rng, device))
            self._add(
                self._make.pageview(
                    at_s, contact.tenant, source, visitor_id, "/pay", *ids, ux=pay_ux
                )
            )
            self._payment_session(at_s + self._delay(60.0), contact)
        elif draw < pay + scenario.installment_after_landing:
            made_s = at_s + self._delay(120.0)
            message_id = contact.message_id
            self._promise(made_s, contact, "installment_plan", "self_service", None, message_id)

    def _payment_session(self, at_s: float, contact: Contact) -> None:
        """Attempts until success; a struggling customer fails or gives up 3-5 times."""
        rng, scenario = self._rng, self._scenario
        message_id = contact.message_id if rng.random() < scenario.message_id_on_payment else None
        amount = contact.balance_minor

        def attempt(status: PaymentStatus, amount_minor: int, plan: PaymentPlan) -> None:
            made = self._make.payment(
                at_s, contact, status, amount_minor, plan, message_id=message_id
            )
            self._add(made)

        if contact.struggling:
            for _ in range(rng.randint(3, 5)):
                attempt("failed" if rng.random() < 0.75 else "aborted", amount, "full")
                at_s += self._delay(900.0)
            return
        if rng.random() < scenario.payment_failure:
            attempt("failed", amount, "full")
            at_s += self._delay(90.0)
        if rng.random() < scenario.payment_abort:
            attempt("aborted", amount, "full")
            if rng.random() < 0.5:
                return
            at_s += self._delay(120.0)
        if rng.random() < 0.25:
            attempt("succeeded", amount // rng.choice(_INSTALLMENTS), "installment")
        else:
            attempt("succeeded", amount, "full")

    def _promise(
        self,
        at_s: float,
        contact: Contact,
        kind: PromiseKind,
        direction: Direction,
        agent_id: str | None,
        message_id: str | None,
    ) -> None:
        """A promise made now and kept (with its payment), broken or cancelled."""
        rng, scenario, make = self._rng, self._scenario, self._make
        due_s = at_s + self._delay(7 * 86400.0, sigma=0.5)
        due_date = make.local_time(due_s, contact.tenant).date()
        promise = Promise(make.new_id("pr"), kind, direction, due_date, agent_id, message_id)
        self._add(make.promise(at_s, contact, promise, "made"))
        draw = rng.random()
        if draw < scenario.promise_kept:
            plan: PaymentPlan = "full"
            amount = contact.balance_minor
            if kind == "installment_plan":
                plan, amount = "installment", amount // rng.choice(_INSTALLMENTS)
            paid_s = max(at_s, due_s - self._delay(86400.0) * rng.random())
            self._add(
                make.payment(paid_s, contact, "succeeded", amount, plan, message_id=message_id)
            )
            self._add(make.promise(due_s, contact, promise, "kept"))
        elif draw < scenario.promise_kept + scenario.promise_cancelled:
            cancelled_s = at_s + (due_s - at_s) * rng.random()
            self._add(make.promise(cancelled_s, contact, promise, "cancelled"))
        else:
            broken_s = due_s + self._delay(86400.0, sigma=0.3)
            self._add(make.promise(broken_s, contact, promise, "broken"))

    # --- helpers --------------------------------------------------------------

    def _contact(self, tenant: Tenant, message_id: str | None, pay_lift: float) -> Contact:
        index = self._rng.randrange(tenant.customers)
        # Traits belong to the customer, not to the run: the same customer owes
        # the same balance, and struggles, in every message and every run.
        traits = random.Random(f"{tenant.name}:{index}")
        balance = tenant.median_balance_minor * math.exp(0.8 * traits.gauss(0.0, 1.0))
        return Contact(
            tenant=tenant,
            customer_id=f"{tenant.name}-c{index:06d}",
            balance_minor=max(100, round(balance / 100) * 100),
            struggling=traits.random() < self._scenario.struggling,
            message_id=message_id,
            pay_lift=pay_lift,
        )

    def _any_tenant(self) -> Tenant:
        tenants = self._scenario.tenants
        return self._rng.choices(tenants, [tenant.customers for tenant in tenants])[0]

    def _delay(self, median_s: float, *, sigma: float = 1.0) -> float:
        return median_s * self._scenario.delay_scale * math.exp(sigma * self._rng.gauss(0.0, 1.0))

    def _add(self, planned: Planned) -> None:
        self._plan.append(planned)

    def _take(self) -> list[Planned]:
        plan, self._plan = self._plan, []
        return plan


def _capped(probability: float) -> float:
    # Lifts may push a rate past certainty; nothing in collections is certain.
    return min(probability, 0.95)


__all__ = ["Planner"]


def _ux_rng(visitor_id: str, at_s: float) -> random.Random:
    """The view's own stream for device and load time: drawing them from the journey's
    would shift every later draw, and with them the outcomes of seeded scenarios."""
    return random.Random(f"ux:{visitor_id}:{at_s}")
