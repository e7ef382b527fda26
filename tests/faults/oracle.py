"""The ground truth of a log, computed here from the catalog's rules, not from collectpulse.

Input is what the topics really hold after the run (read back from Kafka in
offset order), so a record the producer wrote twice while the broker restarted
is truth too. Output is every sample ``/metrics`` must show, keyed like a
scrape: ``(sample name, labels without empty values) -> value``; a counter or
histogram sample absent here must be absent or 0 there.

Rules (kpi-catalog sections 3-5, docs/KPIS.md, and the join semantics of
issue #15: every join is decided by event times, never by arrival order):

- every record counts in ``events_received`` (valid or not); poison counts in
  ``events_invalid{reason}`` and ``events_dead_lettered``; a valid event whose
  (topic, event_id) came before is a duplicate and has no other effect;
- a message counts once as sent (first report wins), delivered, bounced per
  type and at all, opened, opened by a person, clicked; its funnel counts go to
  its sent labels (segment ``default``); its earliest open / click observes
  ``send_to_*_seconds``; a delivery counts in ``campaign_deliveries``;
- views count by source, distinct visitors by source; payments by status,
  successful amounts by currency and agent; promises by status, direction,
  kind, and by status for the agent of the promise's first made event (K7); a
  customer with 3 or more failed or aborted attempts since its last success is
  struggling;
- a view naming a customer is that customer's view from its source at V. A
  successful payment at P makes its customer a paying customer of *every*
  source with a view of that customer in [P - 7 d, P]; an installment plan made
  self-service at T counts once for every source with a view in [T - 7 d, T];
- a successful payment is attributed to the message it names, credited once
  that message reached the customer (delivered, opened or clicked, or sent as a
  letter); without one, to the customer's message with the latest click in
  [P - 7 d, P], else the latest delivery in it (each message's earliest click /
  delivery counts; ties go to the greatest message_id); else to nothing. Its
  amount counts in ``attributed_amount_minor``, the message once in
  ``messages_paid``; the message's earliest attributed payment observes
  ``send_to_payment_seconds`` and, when opened no later than that payment,
  ``open_to_payment_seconds`` (from the earliest open).

Every event of the log lies in the last hour, so each window equals the total.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import orjson

from collectpulse.events.models import Topic
from tests.faults.generator import Kind, Publication
from tests.order.agent_ratios import NO_VALUE as AGENT_NO_VALUE
from tests.order.agent_ratios import agent_samples
from tests.support.kpi_oracle import FUNNEL_RATIOS, Labels, divide, sum_by

Key = tuple[str, Labels]
P = "collectpulse_"
HISTOGRAM_BOUNDS_S = (
    60,
    300,
    900,
    1800,
    3600,
    7200,
    14400,
    28800,
    43200,
    86400,
    172800,
    259200,
    604800,
    1209600,
    2592000,
)
STRUGGLING_MIN_FAILURES = 3
ESTIMATED_RATIOS = (
    "landing_conversion",
    "installment_request",
    "landing_conversion_by_device",
    "installment_request_by_device",
)
LANDING_PLAN = ("installment_plan", "made", "self_service")
WINDOW_7D_S = 7 * 86400  # the default attribution window
MESSAGE_DIMS = ("channel", "campaign", "variant", "segment")
RESPONSE_DIMS = ("channel", "campaign")
"""The response-time histograms' labels (tenant aside, which these logs do not set)."""


@dataclass(frozen=True)
class LogRecord:
    """A record as read back from a topic."""

    topic: Topic
    partition: int
    offset: int
    value: bytes


def labels(**pairs: str | None) -> Labels:
    return frozenset((k, v) for k, v in pairs.items() if v)


@dataclass
class _Message:
    dims: dict[str, str] | None = None
    sent_s: int = 0
    customer: str = ""
    delivered_s: int | None = None
    """The earliest delivery, like ``first_open_s`` and ``first_click_s``."""
    flags: set[str] = field(default_factory=set)
    first_open_s: int | None = None
    first_click_s: int | None = None

    def reached_customer(self) -> bool:
        """Whether a touch of this message reaches the customer side (then it can be paid)."""
        if self.dims is None:
            return False
        return bool(self.flags & {"delivered", "opened", "clicked"}) or (
            self.dims["channel"] == "letter"
        )


@dataclass
class Truth:
    """Expected samples, and what the log held (for the report)."""

    samples: dict[Key, float]
    ratios: set[str]
    """Sample names whose absence means 'no value' (not 0)."""
    uniques: set[str]
    """Sample names that are HyperLogLog estimates."""
    estimated_ratios: set[str]
    """Ratio names with a HyperLogLog estimate in them (compared with a tolerance)."""
    received: Counter[str]
    duplicates: Counter[str]
    poison: list[tuple[LogRecord, Publication]]
    unknown: list[LogRecord]


def ground_truth(
    log: Sequence[LogRecord], published: Iterable[Publication], windows: Sequence[str]
) -> Truth:
    intent = {(p.topic, p.value): p for p in published}
    received: Counter[str] = Counter()
    duplicates: Counter[str] = Counter()
    poison: list[tuple[LogRecord, Publication]] = []
    unknown: list[LogRecord] = []
    seen: set[tuple[Topic, str]] = set()
    valid: list[tuple[Topic, dict[str, Any]]] = []
    for record in sorted(log, key=lambda r: (r.topic, r.partition, r.offset)):
        received[record.topic.value] += 1
        pub = intent.get((record.topic, record.value))
        if pub is None:
            unknown.append(record)
            continue
        if pub.kind is Kind.POISON:
            poison.append((record, pub))
            continue
        body = orjson.loads(record.value)
        if (record.topic, body["event_id"]) in seen:
            duplicates[record.topic.value] += 1
            continue
        seen.add((record.topic, body["event_id"]))
        valid.append((record.topic, body))

    counters, histograms, uniques, struggling, slots = _effects(valid)
    samples: dict[Key, float] = {}
    for topic, n in received.items():
        samples[(f"{P}events_received_total", labels(topic=topic))] = n
    for topic, n in duplicates.items():
        samples[(f"{P}events_duplicate_total", labels(topic=topic))] = n
    for record, pub in poison:
        key = (f"{P}events_invalid_total", labels(topic=record.topic.value, reason=pub.reason))
        samples[key] = samples.get(key, 0) + 1
        key = (f"{P}events_dead_lettered_total", labels(topic=record.topic.value))
        samples[key] = samples.get(key, 0) + 1
    for name, series in counters.items():
        for ls, v in series.items():
            samples[(f"{P}{name}_total", ls)] = v
            for window in windows:
                samples[(f"{P}windowed_{name}", ls | {("window", window)})] = v
    for name, series in uniques.items():
        for ls, members in series.items():
            for window in windows:
                samples[(f"{P}windowed_{name}", ls | {("window", window)})] = len(members)
    for name, series_h in histograms.items():
        for ls, observations in series_h.items():
            samples.update(histogram_samples(f"{P}{name}", ls, observations))
    if struggling:
        samples[(f"{P}struggling_customers", frozenset())] = struggling
    ratios = _ratios(counters, uniques)
    for name, series_r in ratios.items():
        for ls, v in series_r.items():
            for window in windows:
                samples[(f"{P}{name}_ratio", ls | {("window", window)})] = v
    # K4-K6, K19 (and K20, without accounts here): the promise cohort, payments by initiator
    samples.update(agent_samples([(topic.value, body) for topic, body in valid], windows))
    samples.update(slots)
    # K10's parts: no account in these logs, so every succeeded payment is unallocated
    from tests.order.allocation import allocation_samples  # it imports this module's Key

    payments = [body for topic, body in valid if topic is Topic.PAYMENT]
    samples.update(allocation_samples([], payments))
    # K4-K7 by team: no roster and no account here, so every agent is __unassigned__
    from tests.order.team_promises import TEAM_RATIOS, team_samples

    samples.update(team_samples([(topic.value, body) for topic, body in valid]))
    return Truth(
        samples=samples,
        ratios={f"{P}{name}_ratio" for name in ratios} | AGENT_NO_VALUE | TEAM_RATIOS,
        uniques={f"{P}windowed_{name}" for name in uniques},
        estimated_ratios={f"{P}{name}_ratio" for name in ESTIMATED_RATIOS},
        received=received,
        duplicates=duplicates,
        poison=poison,
        unknown=unknown,
    )


def _seconds(body: Mapping[str, Any]) -> int:
    return int(datetime.fromisoformat(body["occurred_at"]).timestamp())


def _effects(
    valid: Sequence[tuple[Topic, dict[str, Any]]],
) -> tuple[
    dict[str, Counter[Labels]],
    dict[str, dict[Labels, list[int]]],
    dict[str, dict[Labels, set[str]]],
    int,
    dict[Key, float],
]:
    messages: dict[str, _Message] = defaultdict(_Message)
    counters: dict[str, Counter[Labels]] = defaultdict(Counter)
    uniques: dict[str, dict[Labels, set[str]]] = defaultdict(lambda: defaultdict(set))
    failures: dict[str, int] = defaultdict(int)
    successes: list[tuple[int, dict[str, Any]]] = []
    views: dict[str, list[tuple[int, str, str | None]]] = defaultdict(list)
    plans: list[tuple[int, str]] = []
    promise_events: list[dict[str, Any]] = []
    for topic, body in valid:
        at_s = _seconds(body)
        if topic in (Topic.DELIVERY, Topic.BOUNCE, Topic.OPEN, Topic.CLICK):
            m = messages[body["message_id"]]
            if topic is Topic.DELIVERY and body["status"] == "sent":
                if m.dims is None:
                    m.sent_s = at_s
                    m.customer = body["customer_id"]
                    m.dims = {
                        "channel": body["channel"],
                        "campaign": body["campaign"],
                        "variant": body["variant"],
                        "segment": "default",
                    }
            elif topic is Topic.DELIVERY:
                m.flags.add("delivered")
                m.delivered_s = at_s if m.delivered_s is None else min(m.delivered_s, at_s)
            elif topic is Topic.BOUNCE:
                m.flags.add(f"bounced_{body['bounce_type']}")
            elif topic is Topic.OPEN:
                m.flags.add("opened")
                if not body["machine"]:
                    m.flags.add("opened_human")
                m.first_open_s = at_s if m.first_open_s is None else min(m.first_open_s, at_s)
            else:
                m.flags.add("clicked")
                m.first_click_s = at_s if m.first_click_s is None else min(m.first_click_s, at_s)
        elif topic is Topic.PAGEVIEW:
            by_device = labels(source=body["source"], device=body.get("device"))
            counters["landing_pageviews"][by_device] += 1
            uniques["landing_unique_visitors"][labels(source=body["source"])].add(
                body["visitor_id"]
            )
            uniques["landing_unique_visitors_by_device"][by_device].add(body["visitor_id"])
            if body.get("customer_id"):
                views[body["customer_id"]].append((at_s, body["source"], body.get("device")))
        elif topic is Topic.PAYMENT:
            customer = body["customer_id"]
            counters["payment_attempts"][labels(status=body["status"])] += 1
            if body["status"] == "succeeded":
                ls = labels(currency=body["currency"], agent=body.get("agent_id"))
                counters["collected_amount_minor"][ls] += body["amount_minor"]
                failures[customer] = 0
                successes.append((at_s, body))
            else:
                failures[customer] += 1
        else:
            ls = labels(status=body["status"], direction=body["direction"], kind=body["kind"])
            counters["promises"][ls] += 1
            promise_events.append(body)
            if (body["kind"], body["status"], body["direction"]) == LANDING_PLAN:
                plans.append((at_s, body["customer_id"]))

    # K7: each promise and its outcomes count for the agent of its first made event
    makers: dict[str, str | None] = {}
    for body in promise_events:
        if body["status"] == "made" and body["promise_id"] not in makers:
            makers[body["promise_id"]] = body.get("agent_id")
            counters["agent_promises"][labels(status="made", agent=body.get("agent_id"))] += 1
    for body in promise_events:
        if body["status"] != "made" and body["promise_id"] in makers:
            ls = labels(status=body["status"], agent=makers[body["promise_id"]])
            counters["agent_promises"][ls] += 1

    histograms: dict[str, dict[Labels, list[int]]] = defaultdict(lambda: defaultdict(list))
    for m in messages.values():
        if m.dims is None:
            continue  # never sent: parked, then orphaned (the generator makes none)
        dims = frozenset(m.dims.items())
        counters["messages_sent"][dims] += 1
        for flag in ("delivered", "opened", "opened_human", "clicked"):
            if flag in m.flags:
                counters[f"messages_{flag}"][dims] += 1
        for bounce_type in ("hard", "soft"):
            if f"bounced_{bounce_type}" in m.flags:
                counters["messages_bounced"][dims | {("bounce_type", bounce_type)}] += 1
        if m.flags & {"bounced_hard", "bounced_soft"}:
            counters["messages_bounced_any"][dims] += 1
        if "delivered" in m.flags:
            counters["campaign_deliveries"][labels(campaign=m.dims["campaign"])] += 1
        hist_dims = frozenset((k, v) for k, v in m.dims.items() if k in RESPONSE_DIMS)
        if m.first_open_s is not None:
            histograms["send_to_open_seconds"][hist_dims].append(m.first_open_s - m.sent_s)
        if m.first_click_s is not None:
            histograms["send_to_click_seconds"][hist_dims].append(m.first_click_s - m.sent_s)
    _attribute(messages, successes, counters, histograms)
    for at_s, body in successes:
        customer = body["customer_id"]
        for source, device in _viewed(views[customer], at_s):
            uniques["landing_paying_customers_by_device"][labels(source=source, device=device)].add(
                customer
            )
        for source in {source for source, _ in _viewed(views[customer], at_s)}:
            uniques["landing_paying_customers"][labels(source=source)].add(customer)
    for at_s, customer in plans:
        pairs = _viewed(views[customer], at_s)
        for source, device in pairs:
            counters["landing_installment_plans_by_device"][
                labels(source=source, device=device)
            ] += 1
        for source in {source for source, _ in pairs}:
            counters["landing_installment_plans"][labels(source=source)] += 1
    struggling = sum(1 for n in failures.values() if n >= STRUGGLING_MIN_FAILURES)
    return counters, histograms, uniques, struggling, _send_slots(messages)


def _send_slots(messages: Mapping[str, _Message]) -> dict[Key, float]:
    """K21: the order oracle's rule (tests/order/send_slots.py) over the sent messages;
    these logs set no tenant."""
    from tests.order.send_slots import send_slot_samples  # it imports this module's Key

    sent = {
        mid: SimpleNamespace(
            sent_s=m.sent_s, flags=m.flags, dims={"channel": m.dims["channel"], "tenant": ""}
        )
        for mid, m in messages.items()
        if m.dims is not None
    }
    paid = {mid for mid, m in messages.items() if "paid" in m.flags}
    return send_slot_samples(sent, paid)


def _viewed(views: Sequence[tuple[int, str, str | None]], at_s: int) -> set[tuple[str, str | None]]:
    """The (source, device) pairs of the customer's views within the attribution window
    before ``at_s``: each is credited once (K22), each source once (by source)."""
    return {(src, dev) for view_s, src, dev in views if at_s - WINDOW_7D_S <= view_s <= at_s}


def _attribute(
    messages: Mapping[str, _Message],
    successes: Sequence[tuple[int, dict[str, Any]]],
    counters: dict[str, Counter[Labels]],
    histograms: dict[str, dict[Labels, list[int]]],
) -> None:
    by_customer: dict[str, list[str]] = defaultdict(list)
    for message_id, message in messages.items():
        if message.dims is not None:
            by_customer[message.customer].append(message_id)
    first_paid: dict[str, int] = {}
    for at_s, body in successes:
        mid = body.get("message_id") or _latest(messages, by_customer[body["customer_id"]], at_s)
        m = messages.get(mid or "")
        if mid is None or m is None or m.dims is None or not m.reached_customer():
            continue
        currency = ("currency", body["currency"])
        counters["attributed_amount_minor"][frozenset(m.dims.items()) | {currency}] += body[
            "amount_minor"
        ]
        first_paid[mid] = min(first_paid.get(mid, at_s), at_s)
    for mid, paid_s in first_paid.items():
        m = messages[mid]
        assert m.dims is not None
        m.flags.add("paid")
        counters["messages_paid"][frozenset(m.dims.items())] += 1
        hist_dims = frozenset((k, v) for k, v in m.dims.items() if k in RESPONSE_DIMS)
        histograms["send_to_payment_seconds"][hist_dims].append(paid_s - m.sent_s)
        if m.first_open_s is not None and paid_s >= m.first_open_s:
            histograms["open_to_payment_seconds"][hist_dims].append(paid_s - m.first_open_s)


def _latest(messages: Mapping[str, _Message], mids: Sequence[str], at_s: int) -> str | None:
    """The message with the latest (earliest-per-message) click in the window before
    ``at_s``, else the latest delivery in it; equal times go to the greatest id."""
    for when in ("first_click_s", "delivered_s"):
        times = [(getattr(messages[mid], when), mid) for mid in mids]
        inside = [(t, mid) for t, mid in times if t is not None and at_s - WINDOW_7D_S <= t <= at_s]
        if inside:
            return max(inside)[1]
    return None


def histogram_samples(name: str, ls: Labels, observations: Sequence[int]) -> dict[Key, float]:
    """A histogram's bucket, count and sum samples as a scrape shows them."""
    out: dict[Key, float] = {}
    for bound in HISTOGRAM_BOUNDS_S:
        le = str(float(bound))
        out[(f"{name}_bucket", ls | {("le", le)})] = sum(1 for o in observations if o <= bound)
    out[(f"{name}_bucket", ls | {("le", "inf")})] = len(observations)
    out[(f"{name}_count", ls)] = len(observations)
    out[(f"{name}_sum", ls)] = sum(observations)
    return out


def _ratios(
    c: Mapping[str, Mapping[Labels, float]], uniques: Mapping[str, Mapping[Labels, set[str]]]
) -> dict[str, dict[Labels, float]]:
    out = {}
    for name, (num, where, den) in FUNNEL_RATIOS.items():
        out[name] = divide(
            sum_by(c.get(num, {}), MESSAGE_DIMS, where), sum_by(c.get(den, {}), MESSAGE_DIMS)
        )
    arm = ("campaign", "variant", "segment")
    out["message_payment"] = divide(
        sum_by(c.get("messages_paid", {}), arm), sum_by(c.get("messages_delivered", {}), arm)
    )
    attempts = sum_by(c.get("payment_attempts", {}), ())
    for status, name in (("succeeded", "payment_success"), ("aborted", "payment_abort")):
        out[name] = divide(sum_by(c.get("payment_attempts", {}), (), {"status": status}), attempts)
    kept = sum_by(c.get("promises", {}), ("direction", "kind"), {"status": "kept"})
    broken = sum_by(c.get("promises", {}), ("direction", "kind"), {"status": "broken"})
    out["promise_kept"] = divide(kept, kept + broken)
    kept = sum_by(c.get("agent_promises", {}), ("agent",), {"status": "kept"})
    broken = sum_by(c.get("agent_promises", {}), ("agent",), {"status": "broken"})
    out["agent_promise_kept"] = divide(kept, kept + broken)
    visitors = {ls: float(len(v)) for ls, v in uniques.get("landing_unique_visitors", {}).items()}
    paying = {ls: float(len(v)) for ls, v in uniques.get("landing_paying_customers", {}).items()}
    out["landing_conversion"] = divide(paying, visitors)
    out["installment_request"] = divide(c.get("landing_installment_plans", {}), visitors)
    by_device = {
        ls: float(len(v)) for ls, v in uniques.get("landing_unique_visitors_by_device", {}).items()
    }
    paying = {
        ls: float(len(v)) for ls, v in uniques.get("landing_paying_customers_by_device", {}).items()
    }
    out["landing_conversion_by_device"] = divide(paying, by_device)
    plans = c.get("landing_installment_plans_by_device", {})
    out["installment_request_by_device"] = divide(plans, by_device)
    return out
