"""K9-K18, K11 and K12 on the real pipeline: account state follows version, not arrival;
flows count every distinct event once; a cost's correction stands whatever the arrival.

A known account log goes through real Kafka, a real worker and exporter, in two
phases (the second after the first is applied, so versions meet both in one batch
and across batches). The expected values come from an oracle written here: it
replays the log in version order per account (duplicates dropped, events in
another currency than the placement rejected) and buckets days past due from the
scrape's UTC date, without collectpulse code. The flow KPIs (DSO, ADD, CEI) are
compared with the order test's oracle (``tests.order.accounts.flow_samples``) and with
figures computed by hand below. The cost KPIs (K11, K12) come from a few cost events
(a correction published before the record it corrects, a repeat, a wrong key, an
invalid one) and contact attempts, compared with ``tests.order.costs``'s oracle and
by hand.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import jsonschema
import pytest
from redis.asyncio import Redis

from collectpulse.api.openapi import document
from collectpulse.events.models import ReferenceTopic, Topic
from collectpulse.kpi.allocation import AllocationTotals
from collectpulse.kpi.allocation import agency_revenue as product_agency_revenue
from collectpulse.store.allocation_reader import read_allocation
from collectpulse.store.keys import Keys
from tests.integration.kpi_value_run import drained, publish_in_order, value_test_settings
from tests.order.accounts import FLOW_FAMILIES, flow_samples
from tests.order.allocation import ALLOCATION_FAMILIES, agency_revenue, allocation_samples
from tests.order.costs import COST_FAMILIES, cost_samples
from tests.support.kafka import create_topics
from tests.support.metrics import Samples, scrape, total
from tests.support.pipeline import run_pipeline

TENANT = "t-acct"
INVALID = "invalid-"
"""Event id prefix of the log's invalid events (the oracle skips them)."""
Event = dict[str, Any]
Published = tuple[Topic | ReferenceTopic, str, Event]


def _bucket(dpd: int) -> str:
    if dpd <= 0:
        return "current"
    if dpd <= 30:
        return "1_30"
    if dpd <= 60:
        return "31_60"
    if dpd <= 90:
        return "61_90"
    return "91_plus"


@dataclass
class Log:
    today: date
    phase1: list[Published]
    phase2: list[Published]

    def account(
        self,
        phase: list[Published],
        account_id: str,
        customer_id: str,
        version: int,
        change: str,
        balance: int,
        delta: int,
        *,
        due_in_days: int,
        status: str = "open",
        currency: str = "EUR",
        agent: str | None = None,
        team: str | None = None,
        key: str | None = None,
        event_id: str | None = None,
        commission_bp: int | None = None,
    ) -> Event:
        event: Event = {
            "event_id": event_id or f"{account_id}-v{version}",
            "occurred_at": datetime.now(UTC).isoformat(),
            "tenant": TENANT,
            "account_id": account_id,
            "customer_id": customer_id,
            "change": change,
            "version": version,
            "balance_minor": balance,
            "delta_minor": delta,
            "currency": currency,
            "due_date": (self.today + timedelta(days=due_in_days)).isoformat(),
            "status": status,
            "agent_id": agent,
            "team": team,
        }
        if commission_bp is not None:
            event["commission_bp"] = commission_bp
        phase.append((Topic.ACCOUNT, key or customer_id, event))
        return event

    def payment(
        self,
        phase: list[Published],
        payment_id: str,
        customer_id: str,
        amount: int,
        *,
        account_id: str | None = None,
        currency: str = "EUR",
        status: str = "succeeded",
        event_id: str | None = None,
    ) -> Event:
        # a second after the account events: their versions happened before it
        at = datetime.now(UTC) + timedelta(seconds=1)
        event = {
            "event_id": event_id or f"pay-{payment_id}",
            "occurred_at": at.isoformat(),
            "tenant": TENANT,
            "payment_id": payment_id,
            "customer_id": customer_id,
            "status": status,
            "amount_minor": amount,
            "currency": currency,
            "schema_version": 2,
        }
        if account_id is not None:
            event["account_id"] = account_id
        phase.append((Topic.PAYMENT, customer_id, event))
        return event

    def cost(
        self,
        phase: list[Published],
        cost_id: str,
        category: str,
        amount: int,
        first_day: int,
        days: int,
        *,
        currency: str = "EUR",
        event_id: str | None = None,
        ago_s: int = 0,
        key: str | None = None,
    ) -> Event:
        """A cost of ``days`` days from today + ``first_day``, recorded ``ago_s`` ago."""
        start = self.today + timedelta(days=first_day)
        event = {
            "event_id": event_id or f"cost-{cost_id}",
            "occurred_at": (datetime.now(UTC) - timedelta(seconds=ago_s)).isoformat(),
            "tenant": TENANT,
            "cost_id": cost_id,
            "category": category,
            "amount_minor": amount,
            "currency": currency,
            "period_start": start.isoformat(),
            "period_end": (start + timedelta(days=days)).isoformat(),
        }
        phase.append((ReferenceTopic.COST, key or cost_id, event))
        return event

    def contact(
        self, phase: list[Published], contact_id: str, customer_id: str, direction: str
    ) -> Event:
        now = datetime.now(UTC).isoformat()
        event = {
            "event_id": f"{contact_id}-{len(phase)}",
            "occurred_at": now,
            "tenant": TENANT,
            "contact_id": contact_id,
            "customer_id": customer_id,
            "direction": direction,
            "channel": "call",
            "outcome": "right_party",
            "started_at": now,
            "duration_s": 60,
        }
        phase.append((Topic.CONTACT, customer_id, event))
        return event


def build_log(today: date) -> Log:
    log = Log(today, [], [])
    one, two, acct = log.phase1, log.phase2, log.account
    # a1: reassigned (v3) and charged (v4); v2 arrives after v3: stale, changes nothing
    acct(one, "a1", "c1", 1, "placed", 10_000, 10_000, due_in_days=-40, agent="ann", team="t1")
    acct(one, "a1", "c1", 3, "assigned", 6_000, 0, due_in_days=-40, agent="bob", team="t1")
    acct(one, "a1", "c1", 2, "payment", 6_000, -4_000, due_in_days=-40, agent="ann", team="t1")
    acct(two, "a1", "c1", 4, "charge", 7_000, 1_000, due_in_days=-10, agent="bob", team="t1")
    # a2: leaves the open statuses (settled), then re-opens in the next phase
    acct(one, "a2", "c2", 1, "placed", 5_000, 5_000, due_in_days=0)
    acct(one, "a2", "c2", 2, "payment", 0, -5_000, due_in_days=0, status="settled")
    acct(two, "a2", "c2", 3, "reversal", 2_000, 2_000, due_in_days=-95, agent="cy", team="t2")
    # a3: a charge in another currency than the placement's is rejected
    acct(one, "a3", "c3", 1, "placed", 3_000, 3_000, due_in_days=5, currency="USD", agent="ann")
    acct(one, "a3", "c3", 2, "charge", 9_000, 6_000, due_in_days=5, agent="ann", team="t1")
    acct(
        two, "a3", "c3", 3, "adjustment", 2_500, -500, due_in_days=-31, currency="USD",
        agent="ann", team="t1",
    )  # fmt: skip
    # a4: v2 first and twice (a duplicate), its placement last: stale (its team t1 and
    # commission 5 % are not in force at p3's time: v2's t2 and 15 % are)
    for phase in (one, one):
        acct(
            phase, "a4", "c4", 2, "status", 7_000, 0, due_in_days=-1, status="in_plan",
            agent="dan", team="t2", commission_bp=1_500,
        )  # fmt: skip
    acct(
        two, "a4", "c4", 1, "placed", 7_000, 7_000, due_in_days=-1, agent="ann", team="t1",
        commission_bp=500,
    )  # fmt: skip
    # a5: written off: no longer open
    acct(one, "a5", "c5", 1, "placed", 1_200, 1_200, due_in_days=-61, currency="GBP", agent="cy")
    acct(
        two, "a5", "c5", 2, "write_off", 0, -1_200, due_in_days=-61, currency="GBP",
        status="written_off", agent="cy", team="t2",
    )  # fmt: skip
    # a6: the customer's second account, moved to another team: counts for cy only
    acct(one, "a6", "c1", 1, "placed", 4_000, 4_000, due_in_days=-30, agent="ann", team="t1")
    acct(
        two, "a6", "c1", 2, "assigned", 4_000, 0, due_in_days=-30, agent="cy", team="t2",
        commission_bp=2_500,
    )  # fmt: skip
    # a7: keyed by its account id instead of the customer: counted, and still applied
    acct(one, "a7", "c7", 1, "placed", 900, 900, due_in_days=-61, agent="eve", key="a7")
    # a8: a placement whose delta is not its balance: dead-lettered, never applied
    acct(one, "a8", "c8", 1, "placed", 500, 400, due_in_days=0, event_id=f"{INVALID}a8")
    # a10: paid in full 7 days after its due date at placement (K17 dpd 7: in time)
    acct(one, "a10", "c10", 1, "placed", 800, 800, due_in_days=-7, currency="CHF")
    acct(
        two, "a10", "c10", 2, "payment", 0, -800, due_in_days=-7, currency="CHF",
        status="paid_in_full",
    )  # fmt: skip
    # payments (K10, K16): c1 has two open EUR accounts (a1, a6): unnamed is unallocated
    pay = log.payment
    pay(one, "p1", "c1", 1_000)
    pay(one, "p2", "c1", 300, account_id="a6")
    pay(two, "p2", "c1", 100, account_id="a6", status="reversed", event_id="rev-p2")
    # c4's only account a4, whose placement arrives in the next phase (and twice here)
    for _ in range(2):
        pay(one, "p3", "c4", 700)
    # c5's a5 is open when this arrives; its write-off (phase 2) happened before it
    pay(one, "p4", "c5", 200, currency="GBP")
    pay(one, "p5", "c3", 400, currency="USD")  # a3 is USD
    pay(two, "p6", "c3", 50)  # no EUR account (a3's EUR charge was rejected)
    pay(two, "p7", "c9", 250, account_id="a9")  # an account never placed: no cohort
    pay(two, "p8", "c10", 800, currency="CHF", account_id="a10")
    # costs (K11, K12): EUR labour over the 101 days ending today, its correction (later
    # occurred_at) published first; telephony of the last 10 days, published twice (a
    # duplicate); fees ending 30 days ago (90d only); USD telephony under a wrong key;
    # one with an empty period (dead-lettered)
    cost = log.cost
    cost(one, "lab", "labour", 10_107, -100, 101, event_id="cost-lab-v2")
    cost(two, "lab", "labour", 5_057, -100, 101, event_id="cost-lab-v1", ago_s=3600)
    for phase in (one, two):
        cost(phase, "tel", "telephony", 1_003, -9, 10)
    cost(two, "fee", "fees", 3_000, -59, 30)
    cost(one, "tel-usd", "telephony", 600, -5, 6, currency="USD", key="not-the-cost-id")
    cost(two, "bad", "labour", 100, 0, 0, event_id=f"{INVALID}cost")
    # four attempts, one repeated under another event id (counted once)
    for contact_id, customer, direction in (
        ("k1", "c1", "outbound"), ("k2", "c1", "outbound"), ("k3", "c2", "inbound"),
        ("k4", "c5", "outbound"), ("k4", "c5", "outbound"),
    ):  # fmt: skip
        log.contact(one, contact_id, customer, direction)
    return log


@dataclass(frozen=True)
class Expected:
    open_accounts: dict[tuple[str, ...], float]
    receivables: dict[tuple[str, ...], float]
    per_collector: dict[tuple[str, ...], float]
    duplicates: int
    stale: int
    mismatches: int


def oracle(published: Sequence[Event], today: date) -> Expected:
    """The log replayed per account in version order; arrival order only for counting
    the versions that came after a higher one (stale)."""
    unique: dict[str, Event] = {}
    valid_bodies = [e for e in published if not e["event_id"].startswith(INVALID)]
    for event in valid_bodies:
        unique.setdefault(event["event_id"], event)
    duplicates = len(valid_bodies) - len(unique)
    placed = {e["account_id"]: e["currency"] for e in unique.values() if e["change"] == "placed"}
    valid = [e for e in unique.values() if e["currency"] == placed[e["account_id"]]]
    state: dict[str, Event] = {}
    for event in sorted(valid, key=lambda e: e["version"]):
        state[event["account_id"]] = event
    highest: dict[str, int] = {}
    stale = 0
    for event in unique.values():  # dict order = first arrival
        if event in valid:
            stale += event["version"] < highest.get(event["account_id"], 0)
            highest[event["account_id"]] = max(
                highest.get(event["account_id"], 0), event["version"]
            )
    opened: dict[tuple[str, ...], float] = defaultdict(float)
    balances: dict[tuple[str, ...], float] = defaultdict(float)
    team_accounts: dict[str, int] = defaultdict(int)
    collectors: dict[str, set[str]] = defaultdict(set)
    for e in state.values():
        if e["status"] not in ("open", "in_plan"):
            continue
        bucket = _bucket((today - date.fromisoformat(e["due_date"])).days)
        team, agent = e["team"] or "__unassigned__", e["agent_id"] or "__unassigned__"
        opened[(e["status"], bucket, team, agent)] += 1
        balances[(e["currency"], bucket)] += e["balance_minor"]
        team_accounts[team] += 1
        if e["agent_id"]:
            collectors[team].add(e["agent_id"])
    return Expected(
        dict(opened),
        dict(balances),
        {(team,): team_accounts[team] / len(agents) for team, agents in collectors.items()},
        duplicates,
        stale,
        len(unique) - len(valid),
    )


@dataclass(frozen=True)
class Run:
    samples: Samples
    today: date
    published: list[Event]
    """The account events (the payments are in ``payments``)."""
    payments: list[Event]
    aggregates: list[dict[bytes, bytes]]
    """Every partition's acc-open, acc-recv and acc-agents hashes as Redis holds them."""
    api: dict[str, Any]
    """The JSON answers of /api/v1/collected-per-account (30d) and /api/v1/recovery."""
    allocation: AllocationTotals
    """The allocation day hashes as the exporter reads them (K11's agency revenue)."""
    costs: list[Event]
    contacts: list[Event]


@pytest.fixture(scope="module")
async def run(
    local_stack: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Run]:
    logs = tmp_path_factory.mktemp("account-values")
    settings = value_test_settings(*local_stack, logs)
    log = build_log(datetime.now(UTC).date())
    await create_topics(settings, extra=[settings.topic(ReferenceTopic.COST.value)])
    await publish_in_order(settings, log.phase1)
    with run_pipeline(settings, logs) as pipe:
        url = pipe.url("/metrics")
        # a cost record counts as received in the same write that applies it
        await drained(settings, url, len(log.phase1), pipe.processes)
        await publish_in_order(settings, log.phase2)
        await drained(settings, url, len(log.phase1) + len(log.phase2), pipe.processes)
        while True:  # the exporter's date and ours must be the same day
            before = datetime.now(UTC).date()
            samples = await scrape(url)
            async with httpx.AsyncClient(timeout=10) as http:
                api = {
                    path: (await http.get(pipe.url(f"/api/v1/{path}"), params={"tenant": TENANT}))
                    for path in ("collected-per-account", "recovery")
                }
            if datetime.now(UTC).date() == before:
                break
            await asyncio.sleep(1)
    keys, client = Keys(settings.key_prefix), Redis.from_url(settings.redis_url.get_secret_value())
    try:
        aggregates = [
            await client.hgetall(key(p))
            for p in range(settings.topic_partitions)
            for key in (keys.open_accounts, keys.receivables, keys.account_agents)
        ]
        partitions = range(settings.topic_partitions)
        allocated = await read_allocation(client, keys, partitions, datetime.now(UTC).timestamp())
    finally:
        await client.aclose()
    everything = (*log.phase1, *log.phase2)
    published = [body for topic, _, body in everything if topic is Topic.ACCOUNT]
    payments = [body for topic, _, body in everything if topic is Topic.PAYMENT]
    costs = [body for topic, _, body in everything if topic is ReferenceTopic.COST]
    contacts = [body for topic, _, body in everything if topic is Topic.CONTACT]
    for path, answer in api.items():
        assert answer.status_code == 200, (path, answer.text)
    bodies = {path: answer.json() for path, answer in api.items()}
    yield Run(samples, before, published, payments, aggregates, bodies, allocated, costs, contacts)


def gauge(samples: Samples, name: str, *labels: str) -> dict[tuple[str, ...], float]:
    out = {}
    for (sample, got), value in samples.items():
        values = dict(got)
        if sample == name and values.get("tenant") == TENANT:
            out[tuple(values[label] for label in labels)] = value
    return out


def test_open_accounts_follow_the_highest_version_whatever_the_arrival(run: Run) -> None:
    expected = oracle(run.published, run.today)
    got = gauge(run.samples, "collectpulse_open_accounts", "status", "dpd_bucket", "team", "agent")
    assert got == expected.open_accounts
    # by hand: a1 bob/t1 1_30 (v4), a2 cy/t2 91_plus (re-opened), a3 ann/t1 31_60 (v3),
    # a4 dan/t2 in_plan 1_30 (v2; its late placement is stale), a6 cy/t2 1_30 (moved),
    # a7 eve/__unassigned__ 61_90 (wrong key, applied); a5 written off
    assert got == {
        ("open", "1_30", "t1", "bob"): 1,
        ("open", "91_plus", "t2", "cy"): 1,
        ("open", "31_60", "t1", "ann"): 1,
        ("in_plan", "1_30", "t2", "dan"): 1,
        ("open", "1_30", "t2", "cy"): 1,
        ("open", "61_90", "__unassigned__", "eve"): 1,
    }


def test_receivables_by_currency_and_dpd_bucket(run: Run) -> None:
    expected = oracle(run.published, run.today)
    got = gauge(run.samples, "collectpulse_receivables_minor", "currency", "dpd_bucket")
    assert got == expected.receivables
    # EUR 1_30: a1 7000 + a4 7000 + a6 4000; a3's rejected EUR charge is not there
    assert got == {
        ("EUR", "1_30"): 18_000,
        ("EUR", "91_plus"): 2_000,
        ("USD", "31_60"): 2_500,
        ("EUR", "61_90"): 900,
    }


def test_accounts_per_collector_counts_the_new_assignee_only(run: Run) -> None:
    expected = oracle(run.published, run.today)
    got = gauge(run.samples, "collectpulse_accounts_per_collector", "team")
    assert got == expected.per_collector
    # t1: a1 (bob), a3 (ann) / {bob, ann}; t2: a2, a6 (cy), a4 (dan) / {cy, dan};
    # __unassigned__ team: a7 (eve) / {eve}
    assert got == {("t1",): 1.0, ("t2",): 1.5, ("__unassigned__",): 1.0}


def test_late_versions_duplicates_mismatches_and_wrong_keys_are_counted(run: Run) -> None:
    expected = oracle(run.published, run.today)
    s, topic = run.samples, {"topic": "account"}
    assert (expected.stale, expected.duplicates, expected.mismatches) == (2, 1, 1)
    assert total(s, "collectpulse_account_stale_versions_total", **topic) == expected.stale
    assert total(s, "collectpulse_events_duplicate_total", **topic) == expected.duplicates
    assert total(s, "collectpulse_currency_mismatch_total", **topic) == expected.mismatches
    assert total(s, "collectpulse_events_key_mismatch_total", **topic) == 1
    assert total(s, "collectpulse_events_received_total", **topic) == len(run.published)
    assert total(s, "collectpulse_events_invalid_total", reason="validation", **topic) == 1
    assert total(s, "collectpulse_events_dead_lettered_total", **topic) == 1


def test_aggregate_fields_of_accounts_no_longer_there_are_removed(run: Run) -> None:
    # a2's settled state, a5's write-off, a1's and a6's old assignees left fields at 0
    fields = [(name, value) for hashed in run.aggregates for name, value in hashed.items()]
    assert fields, "the aggregates were not found"
    assert [name for name, value in fields if int(value) == 0] == []
    # 6 open accounts: one open field each at most; receivables b and n per due date
    assert sum(int(v) for h in run.aggregates[0::3] for v in h.values()) == 6


def test_dso_add_and_cei_count_every_distinct_event_once(run: Run) -> None:
    unique = {
        e["event_id"]: e for e in reversed(run.published) if not e["event_id"].startswith(INVALID)
    }
    placed = {e["account_id"]: e["currency"] for e in unique.values() if e["change"] == "placed"}
    valid = [e for e in unique.values() if e["currency"] == placed[e["account_id"]]]
    state: dict[str, Event] = {}
    for event in sorted(valid, key=lambda e: e["version"]):
        state[event["account_id"]] = event
    expected = flow_samples(valid, state.values(), run.today)
    got = {
        key: value
        for key, value in run.samples.items()
        if key[0] in FLOW_FAMILIES and dict(key[1]).get("tenant") == TENANT
    }
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9), key
    # by hand, every event dated today: EUR S = 10 000 + 1 000 (a1) + 5 000 + 2 000 (a2)
    # + 7 000 (a4, placement stale but counted) + 4 000 (a6) + 900 (a7) = 29 900;
    # R = cash = 4 000 (a1's stale payment) + 5 000 (a2); E = 20 900, all past due.
    # GBP: placed 1 200, written off 1 200 (balance 0: no residual). USD: 3 000 / 500.
    dso = gauge(run.samples, "collectpulse_dso_days", "currency", "window")
    assert dso[("EUR", "30d")] == pytest.approx(20_900 / 29_900 * 30)
    assert dso[("USD", "90d")] == pytest.approx(2_500 / 3_000 * 90)
    assert dso[("GBP", "30d")] == 0.0
    add = gauge(run.samples, "collectpulse_add_days", "currency", "window")
    assert add[("EUR", "30d")] == pytest.approx(dso[("EUR", "30d")])
    cei = gauge(run.samples, "collectpulse_cei_ratio", "currency", "window")
    assert cei == pytest.approx(
        {
            ("EUR", "30d"): 9_000 / 29_900,
            ("EUR", "90d"): 9_000 / 29_900,
            ("USD", "30d"): 500 / 3_000,
            ("USD", "90d"): 500 / 3_000,
            ("GBP", "30d"): 1.0,
            ("GBP", "90d"): 1.0,
            ("CHF", "30d"): 1.0,
            ("CHF", "90d"): 1.0,
        }
    )
    cash = gauge(run.samples, "collectpulse_cash_cei_ratio", "currency", "window")
    assert (cash[("EUR", "30d")], cash[("GBP", "30d")]) == (cei[("EUR", "30d")], 0.0)
    weighted = gauge(run.samples, "collectpulse_balance_weighted_dpd_days", "currency")
    eur = (7_000 * 10 + 7_000 * 1 + 4_000 * 30 + 2_000 * 95 + 900 * 61) / 20_900
    assert weighted == pytest.approx({("EUR",): eur, ("USD",): 31.0})


def test_payments_are_allocated_to_accounts_net_of_reversals(run: Run) -> None:
    unique = {
        e["event_id"]: e for e in reversed(run.published) if not e["event_id"].startswith(INVALID)
    }
    placed = {e["account_id"]: e["currency"] for e in unique.values() if e["change"] == "placed"}
    valid = [e for e in unique.values() if e["currency"] == placed[e["account_id"]]]
    payments = list({e["event_id"]: e for e in run.payments}.values())
    expected = allocation_samples(valid, payments, run.today)
    got = {
        key: value
        for key, value in run.samples.items()
        if key[0] in ALLOCATION_FAMILIES and dict(key[1]).get("tenant") == TENANT
    }
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9), key
    # by hand. EUR allocated: 300 (p2 to a6) - 100 (its reversal) + 700 (p3 to a4, the
    # customer's only account; its placement came later) + 250 (p7, a9 never placed);
    # unallocated: 1 000 (p1: a1 and a6 both open) + 50 (p6: no EUR account of c3).
    # H: open now a1 a2 a4 a6 a7 = 5, + a2's exit (settled) - its re-entry = 5.
    # GBP: a5 written off before p4 (in version order): unallocated, H = 0 + 1 exit.
    per_account = gauge(run.samples, "collectpulse_collected_per_account", "currency", "window")
    assert per_account == pytest.approx(
        {
            ("EUR", "30d"): 1_150 / 5,
            ("EUR", "90d"): 1_150 / 5,
            ("USD", "30d"): 400.0,
            ("USD", "90d"): 400.0,
            ("GBP", "30d"): 0.0,
            ("GBP", "90d"): 0.0,
            ("CHF", "30d"): 800.0,  # a10 left the open statuses: H = 0 + 1 exit
            ("CHF", "90d"): 800.0,
        }
    )
    # by team (the version in force at each payment's time is its account's highest:
    # every version happened a second before the payments). EUR open now: a1 t1; a2, a4,
    # a6 t2; a7 none. a2's exit leaves v1 (no team), its re-entry joins v3 (t2): H t1 1,
    # t2 3 - 1 = 2, __unassigned__ 1 + 1 = 2 (5 in all, the tenant's H). Allocated: t2
    # a6's 200 (credited to t1 until a6's v2 came in phase 2) + a4's 700 (its late
    # placement v1 names t1 but v2 is in force); __unassigned__ a9's 250 (never seen).
    by_team = gauge(
        run.samples, "collectpulse_team_collected_per_account", "currency", "team", "window"
    )
    handled = gauge(run.samples, "collectpulse_team_handled_accounts", "currency", "team", "window")
    for window in ("30d", "90d"):
        assert {k[:2]: v for k, v in by_team.items() if k[2] == window} == pytest.approx(
            {
                ("EUR", "t1"): 0.0,
                ("EUR", "t2"): 900 / 2,
                ("EUR", "__unassigned__"): 250 / 2,
                ("USD", "t1"): 400.0,  # a3's v3 (USD, t1) is in force
                ("GBP", "__unassigned__"): 0.0,  # a5 left without a team: exit, no credit
                ("CHF", "__unassigned__"): 800.0,
            }
        )
        eur = {k[1]: v for k, v in handled.items() if k[0] == "EUR" and k[2] == window}
        assert eur == {"t1": 1, "t2": 2, "__unassigned__": 2}
    unallocated = gauge(
        run.samples, "collectpulse_collected_unallocated_minor", "currency", "window"
    )
    assert (unallocated[("EUR", "30d")], unallocated[("GBP", "90d")]) == (1_050, 200)
    # K16, everything placed this month: EUR placed 10 000 + 5 000 + 7 000 + 4 000 + 900
    recovery = gauge(run.samples, "collectpulse_recovery_ratio", "currency")
    assert recovery == pytest.approx(
        {("EUR",): 900 / 26_900, ("USD",): 400 / 3_000, ("GBP",): 0.0, ("CHF",): 1.0}
    )
    # K17, all placed today: dpd 7 is due for a1 (due -40), a5 and a7 (-61), a6 (-30) and
    # a10 (-7), of which a10 was paid in full on its day; dpd 30 for a1, a5, a6, a7; dpd
    # 60 for a5 and a7; dpd 90 for none (a4's due date at placement is -1)
    repaid = gauge(run.samples, "collectpulse_repaid_by_dpd_ratio", "dpd", "window")
    assert repaid == {
        (dpd, window): value
        for dpd, value in (("7", 0.2), ("30", 0.0), ("60", 0.0))
        for window in ("30d", "90d")
    }


def test_agency_revenue_is_the_allocated_net_times_the_commission_in_force(run: Run) -> None:
    unique = {
        e["event_id"]: e for e in reversed(run.published) if not e["event_id"].startswith(INVALID)
    }
    placed = {e["account_id"]: e["currency"] for e in unique.values() if e["change"] == "placed"}
    valid = [e for e in unique.values() if e["currency"] == placed[e["account_id"]]]
    payments = list({e["event_id"]: e for e in run.payments}.values())
    expected = agency_revenue(valid, payments, run.today)
    got = product_agency_revenue(run.allocation, lambda _tenant: run.today)
    assert {k: v for k, v in got.items() if k[1] == TENANT} == pytest.approx(
        {(c, t, w): v for (c, t, w), v in expected.items()}
    )
    # by hand: a6's net 200 at v2's 25 % + a4's 700 at v2's 15 % (not v1's 5 %); a9, a10
    # and USD's a3 carry no commission_bp: 0
    for window in ("30d", "90d"):
        assert got[("EUR", TENANT, window)] == pytest.approx((200 * 2_500 + 700 * 1_500) / 1e4)
        assert (got[("USD", TENANT, window)], got[("CHF", TENANT, window)]) == (0.0, 0.0)


def test_the_api_gives_the_per_account_spread_and_the_recovery_curves(run: Run) -> None:
    def schema(name: str) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator(
            {**document(), "$ref": f"#/components/schemas/{name}"}
        )

    per_account, recovery = run.api["collected-per-account"], run.api["recovery"]
    schema("CollectedPerAccount").validate(per_account)
    schema("Recovery").validate(recovery)
    rows = {row["currency"]: row for row in per_account["rows"]}
    # EUR: H = 5; net per account a6 200, a4 700 and a9 250 (never placed, so not one
    # of the handled: the population is H unless more accounts than that were paid)
    eur = rows["EUR"]
    assert (eur["handled_accounts"], eur["paid_accounts"], eur["accounts"]) == (5, 3, 5)
    assert (eur["allocated_net_minor"], eur["unallocated_net_minor"]) == (1_150, 1_050)
    # sorted over 5: 0, 0, 200, 250, 700: median the 3rd, p90 the 5th (nearest rank)
    assert (eur["p50_minor"], eur["p90_minor"]) == (200, 700)
    assert eur["collected_per_account"] == pytest.approx(230.0)
    assert (rows["USD"]["p50_minor"], rows["GBP"]["p50_minor"]) == (400, 0)
    cohorts = {row["currency"]: row for row in recovery["cohorts"]}
    month = run.today.strftime("%Y-%m")
    assert {row["cohort"] for row in recovery["cohorts"]} == {month}
    eur_curve = {p["age_days"]: p["recovery_ratio"] for p in cohorts["EUR"]["curve"]}
    # every payment within a day of its account's placement: the whole curve is K16
    assert eur_curve == pytest.approx({age: 900 / 26_900 for age in (30, 60, 90, 180)})
    assert (cohorts["EUR"]["placed_minor"], cohorts["EUR"]["collected_minor"]) == (26_900, 900)


def test_costs_per_contact_to_collect_and_profit_per_account(run: Run) -> None:
    valid = [e for e in run.costs if not e["event_id"].startswith(INVALID)]
    got = {
        key: value
        for key, value in run.samples.items()
        if key[0] in COST_FAMILIES and dict(key[1]).get("tenant") == TENANT
    }
    # net collected and H from the K10 samples (both checked against their own oracle)
    handled = gauge(run.samples, "collectpulse_handled_accounts", "currency", "window")
    unallocated = gauge(
        run.samples, "collectpulse_collected_unallocated_minor", "currency", "window"
    )
    per_account = gauge(run.samples, "collectpulse_collected_per_account", "currency", "window")
    collected = {
        (TENANT, currency, window): (
            round(per_account.get((currency, window), 0) * h + unallocated[(currency, window)]),
            int(h),
        )
        for (currency, window), h in handled.items()
    }
    expected = cost_samples(valid, run.contacts, collected, run.today)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9), key
    # by hand. EUR labour: the correction (10 107 over 101 days: 100 a day, the
    # remainder 7 on day -100, outside both windows) stands although published first;
    # telephony 1 003 over 10 days (100 a day + 3 on its first day, inside both);
    # fees 100 a day on days -59 .. -30 (90d only). Net collected EUR 1 150 + 1 050,
    # USD 400; H EUR 5; attempts 4 (k4 once).
    cost = gauge(run.samples, "collectpulse_cost_minor", "category", "currency", "window")
    assert cost == {
        ("labour", "EUR", "30d"): 3_000,
        ("labour", "EUR", "90d"): 9_000,
        ("telephony", "EUR", "30d"): 1_003,
        ("telephony", "EUR", "90d"): 1_003,
        ("fees", "EUR", "90d"): 3_000,
        ("telephony", "USD", "30d"): 600,
        ("telephony", "USD", "90d"): 600,
    }
    per_contact = gauge(run.samples, "collectpulse_cost_per_contact", "currency", "window")
    assert per_contact == pytest.approx(
        {
            ("EUR", "30d"): 4_003 / 4,
            ("EUR", "90d"): 10_003 / 4,
            ("USD", "30d"): 150.0,
            ("USD", "90d"): 150.0,
        }
    )
    to_collect = gauge(run.samples, "collectpulse_cost_to_collect_ratio", "currency", "window")
    assert to_collect == pytest.approx(
        {
            ("EUR", "30d"): 4_003 / 2_200,
            ("EUR", "90d"): 13_003 / 2_200,
            ("USD", "30d"): 1.5,
            ("USD", "90d"): 1.5,
        }
    )
    # USD has no labour: no profit sample
    profit = gauge(run.samples, "collectpulse_profit_per_account", "currency", "window")
    assert profit == pytest.approx(
        {("EUR", "30d"): (2_200 - 4_003) / 5, ("EUR", "90d"): (2_200 - 13_003) / 5}
    )
    s, topic = run.samples, {"topic": "cost"}
    assert total(s, "collectpulse_events_received_total", **topic) == len(run.costs)
    assert total(s, "collectpulse_events_duplicate_total", **topic) == 1
    assert total(s, "collectpulse_events_key_mismatch_total", **topic) == 1
    assert total(s, "collectpulse_events_invalid_total", reason="validation", **topic) == 1
    assert total(s, "collectpulse_events_dead_lettered_total", **topic) == 1
