"""The small known log of tests/integration/test_kpi_values.py, case by case.

Every case has a tenant (and campaign) of its own, so one worker and one exporter
serve them all and no case's series mix with another's; only the per-topic data
quality counters are shared, and only the late and orphan cases feed them. Event
times are whole seconds relative to ``now``. Phase 1 is published and fully applied
(repartitioned touches included) before phase 2 is published, so some joins see
their two sides in separate batches, in both orders, and some within one batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collectpulse.events.models import Topic
from tests.support import events as ev

MIN = 60
HOUR = 3600
DAY = 86_400

Record = tuple[Topic, str, dict[str, Any]]
"""Topic, Kafka key (the field the contract keys the topic by), event body."""


@dataclass
class Log:
    phase1: list[Record] = field(default_factory=list)
    phase2: list[Record] = field(default_factory=list)


def build(now: int) -> Log:
    log = Log()
    _conversion(now, log)
    _installments(now, log)
    _segment_and_tenant(now, log)
    _landing_ux(now, log)
    _devices(now, log)
    _experiment(now, log)
    _struggling(now, log)
    _promises(now, log)
    _late_and_orphaned(now, log)
    _send_time(now, log)
    return log


def view(customer: str, source: str, at_s: int, tenant: str, device: str | None = None) -> Record:
    """A landing view by a known customer (visitor id = customer id)."""
    body = {**ev.pageview(customer, at_s, source), "customer_id": customer, "tenant": tenant}
    if device is not None:
        body |= {"schema_version": 2, "device": device}
    return Topic.PAGEVIEW, customer, body


def pay(customer: str, at_s: int, tenant: str, status: str = "succeeded", **extra: Any) -> Record:
    body = {**ev.payment(customer, at_s, status, 1_000), "tenant": tenant, **extra}
    return Topic.PAYMENT, customer, body


def promise(
    customer: str, at_s: int, tenant: str, direction: str, kind: str, status: str
) -> Record:
    body = {**ev.promise(customer, at_s, status, direction, kind), "tenant": tenant}
    return Topic.PROMISE, customer, body


def _conversion(now: int, log: Log) -> None:
    """Tenant t-conv: who viewed from which source, who paid, in which phase."""
    t, v, p = "t-conv", now - 45 * MIN, now - 30 * MIN
    log.phase1 += [
        view("a1", "email", v, t),  # a1 pays in phase 2 (view first, separate batches)
        view("a2", "email", v, t),  # a2's payment (phase 2) fails
        view("a3", "email", v, t),  # never pays
        view("a4", "sms", v, t),
        pay("a4", p, t),  # same batch, view published first
        pay("a5", p, t),
        view("a5", "sms", v, t),  # same batch, payment published first
        pay("a6", p, t),  # a6's view (at v, before p) only comes in phase 2
        view("a7", "direct", v, t),  # never pays
        view("a8", "email", now - 50 * MIN, t),
        view("a8", "sms", v, t),  # a8 viewed from two sources, pays in phase 2
        view("a9", "email", now - 20 * MIN, t),  # viewed 10 min AFTER paying
        view("a10", "email", v, t),  # pays twice in phase 2
    ]
    log.phase2 += [
        pay("a1", p, t),
        pay("a2", p, t, "failed"),
        view("a6", "direct", v, t),
        pay("a8", p, t),
        pay("a9", p, t),
        pay("a10", p, t),
        pay("a10", p + MIN, t),
        pay("a11", p, t),  # paid without any view
    ]


def _installments(now: int, log: Log) -> None:
    """Tenant t-inst: views, then promises; only self_service installment plans made count."""
    t, v, at = "t-inst", now - 45 * MIN, now - 30 * MIN

    def plan(
        customer: str,
        direction: str = "self_service",
        kind: str = "installment_plan",
        status: str = "made",
    ) -> Record:
        return promise(customer, at, t, direction, kind, status)

    log.phase1 += [
        *(view(c, "email", v, t) for c in ("i1", "i2", "i3", "i4")),
        view("i5", "sms", v, t),
        view("i6", "sms", v, t),  # never makes a plan
        view("i7", "direct", v, t),
        view("i9", "email", now - 50 * MIN, t),
        view("i9", "sms", v, t),  # i9 viewed from two sources
        plan("i10"),  # its view (at v, before the plan) only comes in phase 2
        plan("i8"),  # a plan without any view
    ]
    log.phase2 += [
        plan("i1"),
        plan("i2", direction="inbound"),  # not self_service
        plan("i3", kind="promise_to_pay"),  # not an installment plan
        plan("i4", status="kept"),  # not a plan being made
        plan("i5"),
        plan("i7"),
        plan("i9"),
        view("i10", "direct", v, t),
        view("i11", "email", now - 20 * MIN, t),  # viewed 10 min AFTER the plan
        plan("i11"),
    ]


SEGMENT_CAMPAIGN = "seg-camp"


def _segment_and_tenant(now: int, log: Log) -> None:
    """Tenant acme, segment vip: only the sent events name them; everything else inherits."""
    s = now - 40 * MIN

    def sent(mid: str, at_s: int, channel: str) -> Record:
        customer = f"seg-cust-{mid}"
        body = ev.sent(
            mid,
            at_s,
            campaign=SEGMENT_CAMPAIGN,
            variant="control",
            channel=channel,
            customer_id=customer,
        )
        return Topic.DELIVERY, mid, {**body, "segment": "vip", "tenant": "acme"}

    log.phase1 += [
        sent("seg-1", s, "email"),
        (Topic.DELIVERY, "seg-1", ev.delivered("seg-1", s + 10)),
        (Topic.OPEN, "seg-1", ev.opened("seg-1", s + 100)),
        (Topic.CLICK, "seg-1", ev.clicked("seg-1", s + 200)),
        pay("seg-cust-seg-1", s + 600, "acme", amount_minor=2_500, message_id="seg-1"),
        sent("seg-2", s + 1, "email"),
        (Topic.BOUNCE, "seg-2", ev.bounce("seg-2", s + 11, "soft")),
        (Topic.DELIVERY, "seg-2", ev.delivered("seg-2", s + 21)),
        (Topic.OPEN, "seg-2", ev.opened("seg-2", s + 101, machine=True)),
        sent("seg-3", s + 2, "sms"),
        (Topic.BOUNCE, "seg-3", ev.bounce("seg-3", s + 12, "hard")),
    ]


LANDING_UX = (  # visitor, source, device, load_ms, phase; None: the view does not say
    ("u1", "sms", "mobile", 2300, 1),
    ("u2", "sms", "mobile", 800, 1),
    ("u3", "email", "desktop", 1200, 1),
    ("u4", "email", "desktop", None, 1),  # schema_version 2 with a device, no load time
    ("u5", "email", None, None, 1),  # schema_version 1: neither
    ("u6", "sms", "mobile", 12_000, 2),
    ("u7", "direct", "tablet", 2500, 2),  # on a bucket bound (le is inclusive)
)


def _landing_ux(now: int, log: Log) -> None:
    """Tenant t-ux (K22): anonymous views by device, some with their page load time."""
    for visitor, source, device, load_ms, phase in LANDING_UX:
        body: dict[str, Any] = {**ev.pageview(visitor, now - 40 * MIN, source), "tenant": "t-ux"}
        if device is not None:
            body |= {"schema_version": 2, "device": device}
        if load_ms is not None:
            body["load_ms"] = load_ms
        (log.phase1 if phase == 1 else log.phase2).append((Topic.PAGEVIEW, visitor, body))


def _devices(now: int, log: Log) -> None:
    """Tenant t-dev (K22): conversion and installment requests by the viewing device."""
    t, v, at = "t-dev", now - 45 * MIN, now - 30 * MIN
    paid_twice = pay("d6", at, t)
    log.phase1 += [
        view("d1", "email", v, t, "mobile"),  # pays in phase 2
        pay("d2", at, t),  # its view (desktop, before the payment) only comes in phase 2
        pay("d3", at, t),  # published before its two views, same batch
        view("d3", "email", v, t, "mobile"),
        view("d3", "email", v + MIN, t, "desktop"),
        view("d4", "sms", v, t),  # schema_version 1: no device; pays in phase 2
        view("d5", "sms", v, t, "mobile"),  # never pays
        view("d6", "email", v, t, "mobile"),
        paid_twice,
        view("d7", "sms", v, t, "mobile"),  # makes a plan in phase 2
        promise("d8", at, t, "self_service", "installment_plan", "made"),  # views in phase 2
        view("d9", "email", v, t, "desktop"),  # its payment fails
    ]
    log.phase2 += [
        pay("d1", at, t),
        view("d2", "email", v, t, "desktop"),
        pay("d4", at, t),
        paid_twice,  # the same event again: a duplicate
        view("d6", "email", v, t, "mobile"),  # a second view from the same pair
        promise("d7", at, t, "self_service", "installment_plan", "made"),
        view("d8", "sms", v, t, "mobile"),
        view("d8", "sms", v + MIN, t, "desktop"),
        pay("d9", at, t, "failed"),
    ]


EXPERIMENT_ARMS = {  # variant: (messages delivered, of which paid, sent but not delivered)
    "control": (20, 4, 2),
    "b": (25, 10, 0),
}


def _experiment(now: int, log: Log) -> None:
    """Tenant t-exp, campaign exp-camp: each paying customer's payment names its message."""
    for variant, (delivered, paid, undelivered) in EXPERIMENT_ARMS.items():
        for i in range(delivered + undelivered):
            mid, customer = f"exp-{variant}-{i:02d}", f"exp-cust-{variant}-{i:02d}"
            at = now - 40 * MIN + i
            sent = ev.sent(mid, at, campaign="exp-camp", variant=variant, customer_id=customer)
            log.phase1.append((Topic.DELIVERY, mid, {**sent, "tenant": "t-exp"}))
            if i < delivered:
                log.phase1.append((Topic.DELIVERY, mid, ev.delivered(mid, at + 5)))
            if i < paid:
                log.phase1.append(pay(customer, at + 10 * MIN, "t-exp", message_id=mid))


STRUGGLING = {  # customer: (hours ago, status) in time order
    "s1": ((3, "failed"), (2, "aborted"), (1, "failed")),
    "s2": ((4, "failed"), (3, "failed"), (2, "failed"), (1, "succeeded")),
    "s3": ((2, "failed"), (1, "failed")),
    "s4": ((30, "failed"), (2, "failed"), (1, "failed")),
    "s5": ((5, "failed"), (4, "failed"), (3, "aborted"), (2, "failed")),
    "s6": ((6, "succeeded"), (5, "failed"), (4, "failed"), (3, "failed")),
    "s7": ((5, "failed"), (4, "failed"), (3, "succeeded"), (2, "failed"), (1, "failed")),
}


def _struggling(now: int, log: Log) -> None:
    for customer, attempts in STRUGGLING.items():
        for hours, status in attempts:
            log.phase1.append(pay(customer, now - hours * HOUR, "t-strug", status))


PROMISES = (  # direction, kind, status
    ("inbound", "promise_to_pay", "made"),
    ("inbound", "promise_to_pay", "kept"),
    ("inbound", "promise_to_pay", "kept"),
    ("inbound", "promise_to_pay", "broken"),
    ("outbound", "promise_to_pay", "kept"),
    ("outbound", "promise_to_pay", "broken"),
    ("outbound", "promise_to_pay", "broken"),
    ("outbound", "promise_to_pay", "broken"),
    ("outbound", "promise_to_pay", "cancelled"),
    ("self_service", "installment_plan", "made"),
    ("self_service", "installment_plan", "kept"),
    ("self_service", "installment_plan", "cancelled"),
    ("outbound", "installment_plan", "broken"),
    ("inbound", "installment_plan", "made"),
    ("inbound", "installment_plan", "cancelled"),
)


def _promises(now: int, log: Log) -> None:
    for i, (direction, kind, status) in enumerate(PROMISES):
        log.phase1.append(promise(f"p{i}", now - 30 * MIN + i, "t-prom", direction, kind, status))


def _late_and_orphaned(now: int, log: Log) -> None:
    """Tenant t-late: events 15 days old, past the 14-day retention (7d window + 7d
    attribution); and an open and a click of messages whose sent never comes."""
    old, t = now - 15 * DAY, "t-late"
    sent = ev.sent("late-1", old, campaign="late-camp", customer_id="late-cust")
    log.phase1 += [
        (Topic.DELIVERY, "late-1", {**sent, "tenant": t}),
        (Topic.PAGEVIEW, "late-v", {**ev.pageview("late-v", old, "email"), "tenant": t}),
        pay("late-cust", old, t),
        promise("late-cust", old, t, "inbound", "promise_to_pay", "kept"),
        (Topic.OPEN, "orphan-1", ev.opened("orphan-1", now - 10 * MIN)),
        (Topic.CLICK, "orphan-2", ev.clicked("orphan-2", now - 10 * MIN)),
    ]


SLOT_TENANT, SLOT_ZONE, SLOT_CAMPAIGN = "t-slot", "Asia/Kolkata", "slot-camp"
SLOT_SENDS = {  # message: (seconds before now it was sent, channel)
    "st-1": (3 * HOUR, "email"),
    "st-2": (2 * HOUR, "email"),
    "st-3": (10 * DAY, "email"),
    "st-4": (1 * HOUR, "sms"),
}


def _send_time(now: int, log: Log) -> None:
    """Tenant t-slot (K21), its zone Asia/Kolkata (+05:30, no DST): each message counts
    in the local weekday and hour of its send, whenever its outcome arrives.

    st-1: paid (its payment, naming it, goes out in phase 1, the message only in phase 2),
    opened twice by a person, clicked; st-2: delivered, a machine open only; st-3: sent
    10 days ago (in 28d, not in 7d), opened by a person now, in phase 2; st-4 (sms):
    delivered and clicked."""
    t = SLOT_TENANT

    def sent(mid: str) -> Record:
        ago, channel = SLOT_SENDS[mid]
        body = ev.sent(
            mid, now - ago, campaign=SLOT_CAMPAIGN, channel=channel, customer_id=f"slot-{mid}"
        )
        return Topic.DELIVERY, mid, {**body, "tenant": t}

    def at(mid: str, after_s: int) -> int:
        return now - SLOT_SENDS[mid][0] + after_s

    log.phase1 += [
        pay("slot-st-1", at("st-1", HOUR), t, message_id="st-1"),
        sent("st-2"),
        (Topic.DELIVERY, "st-2", ev.delivered("st-2", at("st-2", 10))),
        (Topic.OPEN, "st-2", ev.opened("st-2", at("st-2", 20), machine=True)),
        sent("st-3"),
        (Topic.DELIVERY, "st-3", ev.delivered("st-3", at("st-3", 10))),
        sent("st-4"),
        (Topic.DELIVERY, "st-4", ev.delivered("st-4", at("st-4", 10), channel="sms")),
        (Topic.CLICK, "st-4", ev.clicked("st-4", at("st-4", 60))),
    ]
    log.phase2 += [
        sent("st-1"),
        (Topic.DELIVERY, "st-1", ev.delivered("st-1", at("st-1", 10))),
        (Topic.OPEN, "st-1", ev.opened("st-1", at("st-1", 60))),
        (Topic.OPEN, "st-1", ev.opened("st-1", at("st-1", 120))),
        (Topic.CLICK, "st-1", ev.clicked("st-1", at("st-1", 200))),
        (Topic.OPEN, "st-3", ev.opened("st-3", now - 5 * MIN)),
    ]
