"""The samples /metrics must show for a log, from the catalog and DESIGN.md joins, not src.

Input: the log's entries (canonical meaning of each record). Rules, all by event
time, so none depends on the order records arrive in (issue #15's join semantics):

- a (topic, event_id) seen before is a duplicate and nothing else (a contact: a
  contact_id seen before, whatever its event_id);
- a message counts once per funnel kind in its send labels; histograms
  ``send_to_open`` / ``send_to_click`` use its earliest open / click;
- a message reaches the customer when it was delivered, opened or clicked, or
  sent on the letter channel;
- a succeeded payment at P is attributed to its own ``message_id`` if that message
  reached the customer, else (no ``message_id``) to the customer's message with the
  latest earliest-click in [P - attr, P], else the latest earliest-delivery there,
  ties to the greatest id; ``messages_paid`` once per message, the earliest
  attributed payment observes ``send_to_payment`` (and ``open_to_payment`` when the
  message was opened and the payment is not before that open);
- a succeeded payment makes its customer a paying customer of every source the
  customer viewed from in [P - attr, P] (labels: the payment's tenant); an
  installment plan made self-service at T counts once per such source in [T - attr, T];
- a contact counts once in ``contact_attempts`` under its direction, channel, outcome
  and the team, agent, dialer campaign and tenant it names; the rpc, contact and
  wrong-number ratios divide outbound attempts of those outcomes by all outbound ones;
- K21: each message once per stage it reached (delivered, human-opened, clicked, paid as
  above) in the UTC weekday and hour of its send (the run sets no tenant zone), in both
  of K21's windows;
- struggling: 3 or more failed or aborted attempts in the 24 h before the latest
  one with no success after the first of them.

Every event lies within the run's smallest window, so windowed samples equal totals.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.faults.oracle import Key, P, histogram_samples, labels
from tests.order import accounts
from tests.order.agent_ratios import FAMILIES as AGENT_FAMILIES
from tests.order.agent_ratios import NO_VALUE, agent_samples
from tests.order.allocation import (
    ALLOCATION_FAMILIES,
    ALLOCATION_RATIOS,
    agency_revenue,
    allocation_samples,
)
from tests.order.costs import COST_FAMILIES, COST_RATIOS, collected, cost_samples
from tests.order.log import Entry, event_s
from tests.order.send_slots import SEND_SLOT_FAMILIES, send_slot_samples
from tests.order.team_promises import TEAM_FAMILIES, TEAM_RATIOS, team_samples
from tests.support.kpi_oracle import FUNNEL_RATIOS, Labels, divide, sum_by

ATTRIBUTION_S = 7 * 86_400
STRUGGLING_MIN_FAILURES = 3
STRUGGLING_WINDOW_S = 86_400
FUNNEL = ("channel", "campaign", "variant", "segment", "tenant")
RESPONSE = ("channel", "campaign", "tenant")
MESSAGE_TOPICS = ("delivery", "bounce", "open", "click")


@dataclass
class _Message:
    customer: str = ""
    sent_s: int | None = None
    dims: dict[str, str] = field(default_factory=dict)
    delivered_s: int | None = None
    open_s: int | None = None
    click_s: int | None = None
    flags: set[str] = field(default_factory=set)

    def reached_customer(self) -> bool:
        return bool(self.flags & {"delivered", "opened", "clicked"}) or (
            self.dims.get("channel") == "letter"
        )


@dataclass(frozen=True)
class Expected:
    samples: dict[Key, float]
    approximate: frozenset[str]
    """Sample names that are HyperLogLog estimates (or ratios of them)."""
    ratios: frozenset[str]
    """Sample names whose absence means 'no value' rather than 0."""
    families: frozenset[str]
    """Every sample name the oracle models: others are compared across orders only."""
    agency_revenue: dict[tuple[str, str | None, str], float] = field(default_factory=dict)
    """K11's agency revenue (currency, tenant, window), not on /metrics: read from Redis."""


class _Tally:
    def __init__(self) -> None:
        self.counters: dict[str, Counter[Labels]] = defaultdict(Counter)
        self.uniques: dict[str, dict[Labels, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.hist: dict[str, dict[Labels, list[int]]] = defaultdict(lambda: defaultdict(list))


def expected(entries: Iterable[Entry], windows: Sequence[str]) -> Expected:
    valid: list[tuple[str, dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    t = _Tally()
    for e in entries:
        topic = e.canonical_topic
        t.counters["events_received"][labels(topic=topic)] += 1
        dedupe = e.body["contact_id"] if topic == "contact" else e.body["event_id"]
        if (topic, dedupe) in seen:
            t.counters["events_duplicate"][labels(topic=topic)] += 1
            continue
        seen.add((topic, dedupe))
        valid.append((topic, e.body))
    messages = _messages(valid, t)
    views: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for topic, body in valid:
        if topic == "pageview":
            ls = labels(source=body["source"], tenant=body.get("tenant"))
            by_device = labels(
                source=body["source"], device=body.get("device"), tenant=body.get("tenant")
            )
            t.counters["landing_pageviews"][by_device] += 1
            t.uniques["landing_unique_visitors"][ls].add(body["visitor_id"])
            t.uniques["landing_unique_visitors_by_device"][by_device].add(body["visitor_id"])
            if body.get("customer_id"):
                view = (event_s(body), body["source"], body.get("device") or "")
                views[body["customer_id"]].append(view)
    payments = [b for topic, b in valid if topic == "payment"]
    paid = _payments(payments, messages, views, t)
    for body in (b for topic, b in valid if topic == "promise"):
        at_s, tenant = event_s(body), body.get("tenant")
        ls = labels(
            status=body["status"], direction=body["direction"], kind=body["kind"], tenant=tenant
        )
        t.counters["promises"][ls] += 1
        if (body["kind"], body["status"], body["direction"]) == (
            "installment_plan",
            "made",
            "self_service",
        ):
            pairs = _pairs(views[body["customer_id"]], at_s)
            for source in {source for source, _ in pairs}:
                t.counters["landing_installment_plans"][labels(source=source, tenant=tenant)] += 1
            for source, device in pairs:
                ls = labels(source=source, device=device, tenant=tenant)
                t.counters["landing_installment_plans_by_device"][ls] += 1
    for body in (b for topic, b in valid if topic == "contact"):
        t.counters["contact_attempts"][_contact_labels(body, CONTACT)] += 1
    struggling = _struggling(payments)
    modelled = _samples(t, struggling, windows)
    # point-in-time account state: the highest valid version of each account
    portfolio = accounts.account_samples(b for topic, b in valid if topic == "account")
    agent_ratios = agent_samples(valid, windows)  # K4-K6, K19, K20
    allocated = allocation_samples(accounts.valid_accounts(valid), payments)
    revenue = agency_revenue(accounts.valid_accounts(valid), payments)
    # K4-K7 by team: agents' teams from their open accounts (no roster in this log)
    by_team = team_samples(
        [(topic, b) for topic, b in valid if topic != "account"]
        + [("account", b) for b in accounts.valid_accounts(valid)]
    )
    today = datetime.now(UTC).date()
    costs = cost_samples(
        (b for topic, b in valid if topic == "cost"),
        (b for topic, b in valid if topic == "contact"),
        collected(payments, allocated, today),
        today,
    )
    return Expected(
        {
            **modelled.samples,
            **portfolio,
            **agent_ratios,
            **allocated,
            **costs,
            **by_team,
            **send_slot_samples(messages, paid),
        },
        modelled.approximate,
        modelled.ratios
        | {f"{P}accounts_per_collector"}
        | accounts.FLOW_FAMILIES
        | NO_VALUE
        | ALLOCATION_RATIOS
        | COST_RATIOS
        | TEAM_RATIOS,
        modelled.families
        | accounts.FAMILIES
        | AGENT_FAMILIES
        | ALLOCATION_FAMILIES
        | COST_FAMILIES
        | TEAM_FAMILIES
        | set(SEND_SLOT_FAMILIES),
        revenue,
    )


CONTACT = ("tenant", "direction", "channel", "outcome", "team", "agent", "dialer_campaign")
CONTACT_RATIO = ("channel", "team", "agent", "dialer_campaign", "tenant")
CONTACT_RATIOS = {
    "rpc": ("right_party",),
    "contact": ("right_party", "wrong_party"),
    "wrong_number": ("wrong_party", "invalid_number"),
}


def _contact_labels(body: dict[str, Any], names: Sequence[str]) -> Labels:
    return labels(**{name: body.get("agent_id" if name == "agent" else name) for name in names})


def _messages(valid: Sequence[tuple[str, dict[str, Any]]], t: _Tally) -> dict[str, _Message]:
    messages: dict[str, _Message] = defaultdict(_Message)
    for topic, body in valid:
        if topic not in MESSAGE_TOPICS:
            continue
        m, at_s = messages[body["message_id"]], event_s(body)
        if topic == "delivery" and body["status"] == "sent":
            if m.sent_s is None:
                m.sent_s, m.customer = at_s, body["customer_id"]
                m.dims = {
                    "channel": body["channel"],
                    "campaign": body["campaign"],
                    "variant": body["variant"],
                    "segment": body.get("segment", "default"),
                    "tenant": body.get("tenant", ""),
                }
        elif topic == "delivery":
            m.flags.add("delivered")
            m.delivered_s = _min(m.delivered_s, at_s)
        elif topic == "bounce":
            m.flags.add(f"bounced_{body['bounce_type']}")
        elif topic == "open":
            m.flags.add("opened")
            if not body.get("machine"):
                m.flags.add("opened_human")
            m.open_s = _min(m.open_s, at_s)
        else:
            m.flags.add("clicked")
            m.click_s = _min(m.click_s, at_s)
    for m in messages.values():
        assert m.sent_s is not None, "the generator makes no message without its sent"
        dims = _pick(m.dims, FUNNEL)
        t.counters["messages_sent"][dims] += 1
        for flag in ("delivered", "opened", "opened_human", "clicked"):
            if flag in m.flags:
                t.counters[f"messages_{flag}"][dims] += 1
        for kind in ("hard", "soft"):
            if f"bounced_{kind}" in m.flags:
                t.counters["messages_bounced"][dims | {("bounce_type", kind)}] += 1
        if m.flags & {"bounced_hard", "bounced_soft"}:
            t.counters["messages_bounced_any"][dims] += 1
        if "delivered" in m.flags:
            ls = labels(campaign=m.dims["campaign"], tenant=m.dims["tenant"])
            t.counters["campaign_deliveries"][ls] += 1
        response = _pick(m.dims, RESPONSE)
        if m.open_s is not None:
            t.hist["send_to_open_seconds"][response].append(m.open_s - m.sent_s)
        if m.click_s is not None:
            t.hist["send_to_click_seconds"][response].append(m.click_s - m.sent_s)
    return messages


def _payments(
    payments: Sequence[dict[str, Any]],
    messages: Mapping[str, _Message],
    views: Mapping[str, list[tuple[int, str, str]]],
    t: _Tally,
) -> set[str]:
    """Count the payments; the ids of the messages a payment is attributed to."""
    by_customer: dict[str, list[str]] = defaultdict(list)
    for mid, m in messages.items():
        by_customer[m.customer].append(mid)
    first_paid: dict[str, int] = {}
    for body in payments:
        at_s, tenant, customer = event_s(body), body.get("tenant"), body["customer_id"]
        t.counters["payment_attempts"][labels(status=body["status"], tenant=tenant)] += 1
        if body["status"] != "succeeded":
            continue
        ls = labels(currency=body["currency"], agent=body.get("agent_id"), tenant=tenant)
        t.counters["collected_amount_minor"][ls] += body["amount_minor"]
        pairs = _pairs(views.get(customer, []), at_s)
        for source in {source for source, _ in pairs}:
            t.uniques["landing_paying_customers"][labels(source=source, tenant=tenant)].add(
                customer
            )
        for source, device in pairs:
            ls = labels(source=source, device=device, tenant=tenant)
            t.uniques["landing_paying_customers_by_device"][ls].add(customer)
        named: str | None = body.get("message_id")
        paid = named or _inferred(messages, by_customer[customer], at_s)
        if paid is None or paid not in messages or not messages[paid].reached_customer():
            continue
        mid, m = paid, messages[paid]
        dims = _pick(m.dims, FUNNEL)
        t.counters["attributed_amount_minor"][dims | {("currency", body["currency"])}] += body[
            "amount_minor"
        ]
        first_paid[mid] = min(first_paid.get(mid, at_s), at_s)
    for mid, paid_s in first_paid.items():
        m = messages[mid]
        assert m.sent_s is not None
        t.counters["messages_paid"][_pick(m.dims, FUNNEL)] += 1
        response = _pick(m.dims, RESPONSE)
        t.hist["send_to_payment_seconds"][response].append(paid_s - m.sent_s)
        if m.open_s is not None and paid_s >= m.open_s:
            t.hist["open_to_payment_seconds"][response].append(paid_s - m.open_s)
    return set(first_paid)


def _inferred(messages: Mapping[str, _Message], mids: Sequence[str], at_s: int) -> str | None:
    for when in ("click_s", "delivered_s"):
        inside = [
            (s, mid)
            for mid in mids
            if (s := getattr(messages[mid], when)) is not None and at_s - ATTRIBUTION_S <= s <= at_s
        ]
        if inside:
            return max(inside)[1]
    return None


def _pairs(views: Sequence[tuple[int, str, str]], at_s: int) -> set[tuple[str, str]]:
    """(source, device) of the views in the attribution window before ``at_s`` (K22)."""
    return {(src, dev) for view_s, src, dev in views if at_s - ATTRIBUTION_S <= view_s <= at_s}


def _struggling(payments: Sequence[dict[str, Any]]) -> Counter[Labels]:
    by_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for body in payments:
        by_customer[body["customer_id"]].append(body)
    out: Counter[Labels] = Counter()
    for attempts in by_customer.values():
        attempts.sort(key=event_s)
        last_success = max((event_s(b) for b in attempts if b["status"] == "succeeded"), default=-1)
        failures = [event_s(b) for b in attempts if b["status"] != "succeeded"]
        recent = [
            f for f in failures if f > last_success and f > failures[-1] - STRUGGLING_WINDOW_S
        ]
        if len(recent) >= STRUGGLING_MIN_FAILURES:
            out[labels(tenant=attempts[0].get("tenant"))] += 1
    return out


def _samples(t: _Tally, struggling: Counter[Labels], windows: Sequence[str]) -> Expected:
    samples: dict[Key, float] = {}
    families: set[str] = set()

    def put(name: str, ls: Labels, value: float) -> None:
        samples[(name, ls)] = value
        families.add(name)

    quality = {"events_received", "events_duplicate"}
    for name, series in t.counters.items():
        for ls, v in series.items():
            put(f"{P}{name}_total", ls, v)
            if name not in quality:
                for window in windows:
                    put(f"{P}windowed_{name}", ls | {("window", window)}, v)
    for name, useries in t.uniques.items():
        for ls, members in useries.items():
            for window in windows:
                put(f"{P}windowed_{name}", ls | {("window", window)}, float(len(members)))
    for name, hseries in t.hist.items():
        for ls, observations in hseries.items():
            for (sample, sample_ls), value in histogram_samples(
                f"{P}{name}", ls, observations
            ).items():
                put(sample, sample_ls, value)
    for ls, n in struggling.items():
        put(f"{P}struggling_customers", ls, n)
    ratios = _ratios(t)
    for name, rseries in ratios.items():
        for ls, ratio in rseries.items():
            for window in windows:
                put(f"{P}{name}_ratio", ls | {("window", window)}, ratio)
    # families with no sample at all are still modelled: absent must stay absent (0)
    for name in ("events_late", "events_orphaned", "events_invalid", "events_dead_lettered"):
        families.add(f"{P}{name}_total")
    approximate = {f"{P}windowed_{name}" for name in t.uniques}
    approximate |= {f"{P}landing_conversion_ratio", f"{P}installment_request_ratio"}
    approximate |= {f"{P}landing_conversion_by_device_ratio"}
    approximate |= {f"{P}installment_request_by_device_ratio"}
    return Expected(
        samples,
        frozenset(approximate),
        frozenset(f"{P}{name}_ratio" for name in ratios),
        frozenset(families),
    )


def _ratios(t: _Tally) -> dict[str, dict[Labels, float]]:
    c = t.counters
    out = {}
    for name, (num, where, den) in FUNNEL_RATIOS.items():
        out[name] = divide(sum_by(c[num], FUNNEL, where), sum_by(c[den], FUNNEL))
    arm = ("campaign", "variant", "segment", "tenant")
    out["message_payment"] = divide(
        sum_by(c["messages_paid"], arm), sum_by(c["messages_delivered"], arm)
    )
    attempts = sum_by(c["payment_attempts"], ("tenant",))
    for status, name in (("succeeded", "payment_success"), ("aborted", "payment_abort")):
        out[name] = divide(sum_by(c["payment_attempts"], ("tenant",), {"status": status}), attempts)
    group = ("direction", "kind", "tenant")
    kept = sum_by(c["promises"], group, {"status": "kept"})
    broken = sum_by(c["promises"], group, {"status": "broken"})
    out["promise_kept"] = divide(kept, kept + broken)
    visitors = {ls: float(len(v)) for ls, v in t.uniques["landing_unique_visitors"].items()}
    paying = {ls: float(len(v)) for ls, v in t.uniques["landing_paying_customers"].items()}
    out["landing_conversion"] = divide(paying, visitors)
    out["installment_request"] = divide(c["landing_installment_plans"], visitors)
    uniques = t.uniques
    device_visitors = {
        ls: float(len(v)) for ls, v in uniques["landing_unique_visitors_by_device"].items()
    }
    device_paying = {
        ls: float(len(v)) for ls, v in uniques["landing_paying_customers_by_device"].items()
    }
    out["landing_conversion_by_device"] = divide(device_paying, device_visitors)
    out["installment_request_by_device"] = divide(
        c["landing_installment_plans_by_device"], device_visitors
    )
    outbound = {"direction": "outbound"}
    attempts = sum_by(c["contact_attempts"], CONTACT_RATIO, outbound)
    for name, outcomes in CONTACT_RATIOS.items():
        hits: Counter[Labels] = Counter()
        for outcome in outcomes:
            hits += sum_by(c["contact_attempts"], CONTACT_RATIO, {**outbound, "outcome": outcome})
        out[name] = divide(hits, attempts)
    return out


def _pick(dims: Mapping[str, str], names: Sequence[str]) -> Labels:
    return frozenset((k, dims[k]) for k in names if dims.get(k))


def _min(current: int | None, at_s: int) -> int:
    return at_s if current is None else min(current, at_s)
