"""Allocation of payments to accounts, exits and cohorts, planned without servers.

Each event is planned in its own batch against the hashes earlier batches left (as a
worker does), the plan's operations applied the way write.lua applies them. Whatever
the arrival order of account and payment events, the counters must equal the
catalog's rule computed here from the log (accounts replayed in version order).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.store.test_account_effects import KEYS, TIMING, P, account

from collectpulse.events.decode import decode
from collectpulse.events.models import Topic
from collectpulse.store.context import Record, Snapshot
from collectpulse.store.effects import plan_partition
from collectpulse.store.fields import counter_field
from collectpulse.store.keys import FIELD_SEP

OPEN = ("open", "in_plan")
RESOLVED = ("paid_in_full", "settled")
AGES = (30, 60, 90, 180)


class Store:
    """The hashes write.lua would leave for account and payment events."""

    def __init__(self) -> None:
        self.hashes: defaultdict[str, dict[str, str]] = defaultdict(dict)
        self.timing = TIMING

    def apply(self, topic: Topic, event: dict[str, Any], offset: int = 0) -> None:
        raw = orjson.dumps(event)
        decoded = decode(topic, raw, max_bytes=65536)
        customer = KEYS.customer(P, event["customer_id"])
        accounts = {}
        if topic is Topic.ACCOUNT:
            aid = event["account_id"]
            accounts[aid] = dict(self.hashes.get(KEYS.account(P, aid), {}))
        snapshot = Snapshot(
            "0",
            seen={topic.value: frozenset(self.hashes[f"seen:{topic.value}"])},
            customers={event["customer_id"]: dict(self.hashes.get(customer, {}))},
            accounts=accounts,
        )
        plan = plan_partition(
            partition=P,
            events=[(topic, [Record(offset, raw, decoded)])],
            touches=[],
            snapshot=snapshot,
            keys=KEYS,
            timing=self.timing,
            cap=lambda _, value: value,
        )
        for name, key, *args in plan.operations():
            pairs = list(zip(args[::2], args[1::2], strict=False))
            if name == "HSET":
                self.hashes[key].update(pairs)
            elif name == "HDEL":
                for field in args:
                    self.hashes[key].pop(field, None)
            elif name in ("HINCRBYS", "HINCRBYS_NET"):
                for field, amount in pairs:
                    value = int(self.hashes[key].get(field, "0")) + int(amount)
                    self.hashes[key][field] = str(value)
            elif name == "SADD" and ":seen:" in key:
                self.hashes[f"seen:{topic.value}"].update(dict.fromkeys(args, ""))

    def fields(self) -> dict[tuple[str, ...], int]:
        """(day, *field) from the day hashes and (month, *field) from the cohorts, summed
        per field, zeros dropped; team fields as written."""
        out: dict[tuple[str, ...], int] = defaultdict(int)
        for key, values in self.hashes.items():
            if ":alloc:" in key or key == KEYS.cohorts(P):
                where = key.rsplit(":", 1)[1]
                for field, value in values.items():
                    out[(where, *field.split(FIELD_SEP))] += int(value)
        return {k: v for k, v in out.items() if v}

    def counts(self) -> dict[tuple[str, ...], int]:
        """``fields`` with the team split summed away and no commission (the per-tenant
        and currency totals, as the exporter's tenant-level K10 reads them)."""
        out: dict[tuple[str, ...], int] = defaultdict(int)
        for parts, value in self.fields().items():
            if len(parts) == 5 and parts[3] in ("a", "x", "e", "c"):
                if parts[3] == "c":
                    continue
                parts = parts[:4]
            out[parts] += value
        return {k: v for k, v in out.items() if v}

    def teams(self) -> dict[tuple[str, ...], int]:
        """(day, tenant, currency, kind a|x|e|c, team) of the team fields only."""
        return {k: v for k, v in self.fields().items() if _is_team(k)}

    def limit_hits(self) -> int:
        field = counter_field("state_limit_hits", {"limit": "max_customer_allocations"})
        return int(self.hashes[KEYS.totals(P)].get(field, "0"))


def _is_team(parts: tuple[str, ...]) -> bool:
    return len(parts) == 5 and parts[3] in ("a", "x", "e", "c")


def payment(pid: str, at: str, amount: int, **changes: Any) -> dict[str, Any]:
    return {
        "event_id": f"pay-{pid}",
        "occurred_at": at,
        "payment_id": pid,
        "customer_id": "c1",
        "status": "succeeded",
        "amount_minor": amount,
        "currency": "EUR",
        "tenant": "acme",
        **changes,
    }


def key(where: str, *parts: str) -> tuple[str, ...]:
    return (where, "acme", "EUR", *parts)


def test_a_payment_naming_its_account_before_the_placement_joins_the_cohort_later() -> None:
    store = Store()
    store.apply(Topic.PAYMENT, payment("p1", "2027-01-20T10:00:00Z", 300, account_id="a1"))
    assert store.counts() == {key("2027-01-20", "a"): 300}
    store.apply(Topic.ACCOUNT, account(1, occurred_at="2027-01-05T10:00:00Z"))
    assert store.counts() == {
        key("2027-01-20", "a"): 300,
        key("cohorts", "2027-01", "p"): 1000,
        key("cohorts", "2027-01", "n"): 300,
        **{key("cohorts", "2027-01", f"a{d}"): 300 for d in AGES},
        ("2027-01-05", "acme", "k17", "2026-12-01", "-"): 1,  # placed, not resolved yet
    }
    # not final: a late version may still change the team in force at the payment's time
    assert len(orjson.loads(store.hashes[KEYS.customer(P, "c1")]["al"])) == 1
    assert store.teams() == {key("2027-01-20", "a", "early"): 300}


def test_without_account_id_the_only_open_account_in_the_currency_gets_it() -> None:
    store = Store()
    store.apply(Topic.ACCOUNT, account(1, occurred_at="2027-01-05T10:00:00Z"))
    store.apply(
        Topic.ACCOUNT,
        account(
            1, account_id="a2", event_id="a2-v1", currency="USD", occurred_at="2027-01-05T10:00:00Z"
        ),
    )
    store.apply(Topic.PAYMENT, payment("p1", "2027-03-20T10:00:00Z", 400))
    # paid 74 days after placement: within 90 and 180 days, not 30 or 60
    assert store.counts()[key("2027-03-20", "a")] == 400
    assert store.counts()[key("cohorts", "2027-01", "a90")] == 400
    assert key("cohorts", "2027-01", "a60") not in store.counts()


def test_two_open_accounts_leave_it_unallocated_until_one_turns_out_closed_before() -> None:
    store = Store()
    store.apply(Topic.ACCOUNT, account(1, occurred_at="2027-01-05T10:00:00Z"))
    store.apply(
        Topic.ACCOUNT,
        account(1, account_id="a2", event_id="a2-v1", occurred_at="2027-01-06T10:00:00Z"),
    )
    store.apply(Topic.PAYMENT, payment("p1", "2027-01-20T10:00:00Z", 400))
    assert store.counts()[key("2027-01-20", "u")] == 400
    # a2 was closed on the 10th: that version arrives late and moves the payment to a1
    closed = {"change": "status", "delta_minor": 0, "status": "closed", "balance_minor": 2000}
    store.apply(
        Topic.ACCOUNT,
        account(2, account_id="a2", event_id="a2-v2", occurred_at="2027-01-10T10:00:00Z", **closed),
    )
    counts = store.counts()
    assert key("2027-01-20", "u") not in counts
    assert counts[key("2027-01-20", "a")] == 400
    assert counts[key("2027-01-10", "x")] == 1  # one exit: H counts a2 in a window with it


def test_the_payment_that_closes_the_account_is_still_allocated_to_it() -> None:
    store = Store()
    store.apply(Topic.ACCOUNT, account(1, occurred_at="2027-01-05T10:00:00Z"))
    paid = {"change": "payment", "delta_minor": -1000, "balance_minor": 0}
    store.apply(
        Topic.ACCOUNT, account(2, occurred_at="2027-01-20T10:00:00Z", status="paid_in_full", **paid)
    )
    store.apply(Topic.PAYMENT, payment("p1", "2027-01-20T10:00:00Z", 1000))
    counts = store.counts()
    assert counts[key("2027-01-20", "a")] == 1000
    assert counts[key("cohorts", "2027-01", "n")] == 1000


def test_repaid_counts_the_earliest_resolution_whatever_arrives_first() -> None:
    store = Store()
    settled = {"change": "status", "delta_minor": 0, "balance_minor": 0, "status": "settled"}
    store.apply(Topic.ACCOUNT, account(3, occurred_at="2027-01-12T10:00:00Z", **settled))
    assert ("2027-01-05", "acme", "k17", "2026-12-01", "2027-01-12") not in store.counts()
    store.apply(Topic.ACCOUNT, account(1, occurred_at="2027-01-05T10:00:00Z"))
    store.apply(
        Topic.ACCOUNT,
        account(2, occurred_at="2027-01-09T10:00:00Z", **{**settled, "status": "paid_in_full"}),
    )
    repaid = {k: v for k, v in store.counts().items() if "k17" in k}
    assert repaid == {("2027-01-05", "acme", "k17", "2026-12-01", "2027-01-09"): 1}


def test_a_reversal_is_net_collected_in_its_own_day() -> None:
    store = Store()
    store.apply(Topic.ACCOUNT, account(1, occurred_at="2027-01-05T10:00:00Z"))
    store.apply(Topic.PAYMENT, payment("p1", "2027-01-20T10:00:00Z", 500))
    store.apply(
        Topic.PAYMENT,
        payment("p1", "2027-01-25T10:00:00Z", 200, status="reversed", event_id="rev-p1"),
    )
    counts = store.counts()
    assert counts[key("2027-01-20", "a")] == 500
    assert counts[key("2027-01-25", "a")] == -200
    assert counts[key("cohorts", "2027-01", "n")] == 300


def test_a_late_version_changing_the_team_at_the_payment_time_moves_credit_and_fee() -> None:
    store = Store()
    store.apply(Topic.ACCOUNT, account(1, occurred_at="2027-01-05T10:00:00Z", commission_bp=2000))
    store.apply(
        Topic.ACCOUNT, account(3, occurred_at="2027-01-25T10:00:00Z", team="late", commission_bp=0)
    )
    store.apply(Topic.PAYMENT, payment("p1", "2027-01-20T10:00:00Z", 500))
    assert store.teams() == {
        key("2027-01-20", "a", "early"): 500,
        key("2027-01-20", "c", "early"): 500 * 2000,
    }
    # version 2 (the 15th, no team, 15 %) arrives last: it is in force on the 20th
    store.apply(
        Topic.ACCOUNT,
        account(2, occurred_at="2027-01-15T10:00:00Z", team=None, commission_bp=1500),
    )
    assert store.teams() == {
        key("2027-01-20", "a", "__unassigned__"): 500,
        key("2027-01-20", "c", "__unassigned__"): 500 * 1500,
    }
    assert store.counts()[key("2027-01-20", "a")] == 500  # the tenant's total never moved


def test_exits_count_under_the_team_left_and_reentries_under_the_team_joined() -> None:
    store = Store()
    closed = {"change": "status", "delta_minor": 0, "status": "closed", "balance_minor": 1000}
    store.apply(Topic.ACCOUNT, account(1, occurred_at="2027-01-05T10:00:00Z"))
    store.apply(Topic.ACCOUNT, account(3, occurred_at="2027-01-20T10:00:00Z", team="late"))
    store.apply(Topic.ACCOUNT, account(2, occurred_at="2027-01-10T10:00:00Z", team="mid", **closed))
    assert store.teams() == {
        key("2027-01-10", "x", "early"): 1,
        key("2027-01-20", "e", "late"): 1,
    }


def test_credit_booked_before_teams_reads_as_unassigned_and_moves_without_loss() -> None:
    """The hashes the code before teams left: 3-part a fields, 8-long entries, 3-long
    versions. A new version moving the payment's team takes the credit from
    __unassigned__ (where the old field reads) to the new team."""
    store = Store()
    store.apply(Topic.ACCOUNT, account(1, occurred_at="2027-01-05T10:00:00Z", team=None))
    store.apply(Topic.PAYMENT, payment("p1", "2027-01-20T10:00:00Z", 300, account_id="a1"))
    cust = store.hashes[KEYS.customer(P, "c1")]
    acct = orjson.loads(cust["ac:a1"])
    acct[3] = [link[:3] for link in acct[3]]
    cust["ac:a1"] = orjson.dumps(acct).decode()
    cust["al"] = orjson.dumps([e[:8] for e in orjson.loads(cust["al"])]).decode()
    for name, values in store.hashes.items():
        if ":alloc:" in name:
            for field in [f for f in values if f.endswith(f"{FIELD_SEP}__unassigned__")]:
                values[field.rsplit(FIELD_SEP, 1)[0]] = values.pop(field)
    assert store.teams() == {} and store.counts()[key("2027-01-20", "a")] == 300
    store.apply(
        Topic.ACCOUNT, account(2, occurred_at="2027-01-10T10:00:00Z", team="late", commission_bp=10)
    )
    assert store.teams() == {
        key("2027-01-20", "a", "__unassigned__"): -300,  # + the old 3-part field's 300
        key("2027-01-20", "a", "late"): 300,
        key("2027-01-20", "c", "late"): 3000,
    }
    assert store.counts()[key("2027-01-20", "a")] == 300


def test_an_entry_past_the_retention_is_dropped_on_the_next_event_with_its_credit() -> None:
    store = Store()
    store.apply(Topic.ACCOUNT, account(1, occurred_at="2027-01-05T10:00:00Z"))
    store.apply(Topic.PAYMENT, payment("p1", "2027-01-10T10:00:00Z", 300, account_id="a1"))
    store.apply(Topic.PAYMENT, payment("p2", "2027-01-12T10:00:00Z", 200, account_id="a1"))
    cust = store.hashes[KEYS.customer(P, "c1")]
    assert [e[0] for e in orjson.loads(cust["al"])] == ["pay-p1", "pay-p2"]
    # ten days on, p1 (the 10th) is past the 14-day retention, p2 (the 12th) is not
    store.timing = replace(TIMING, now_s=TIMING.now_s + 10 * 86_400)
    # a version in force on the 10th and 12th with another team: p2 moves, p1 is
    # dropped first and keeps its credit where it was (as its expiry always did)
    store.apply(Topic.ACCOUNT, account(2, occurred_at="2027-01-08T10:00:00Z", team="late"))
    assert [e[0] for e in orjson.loads(cust["al"])] == ["pay-p2"]
    assert store.teams() == {
        key("2027-01-10", "a", "early"): 300,
        key("2027-01-12", "a", "late"): 200,
    }
    # and a payment event drops it too, once the retention passes
    store.timing = replace(TIMING, now_s=TIMING.now_s + 20 * 86_400)
    store.apply(Topic.PAYMENT, payment("p3", "2027-02-03T10:00:00Z", 100, account_id="a1"))
    assert [e[0] for e in orjson.loads(cust["al"])] == ["pay-p3"]
    assert store.counts()[key("2027-01-12", "a")] == 200


# --- any arrival order equals the rule computed from the log -------------------------


def _ts(at: str) -> int:
    return int(datetime.fromisoformat(at).timestamp())


def _team(event: dict[str, Any]) -> str:
    return event.get("team") or "__unassigned__"


def oracle(
    accounts: list[dict[str, Any]], payments: list[dict[str, Any]], *, teams: bool = False
) -> dict[tuple[str, ...], int]:
    """The catalog's rule on the log: per-tenant totals, or (``teams``) the team fields:
    allocated net and net x commission_bp under the team of the version in force at the
    payment's time, exits under the team left, re-entries under the team joined."""
    out: dict[tuple[str, ...], int] = defaultdict(int)
    by_account: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in accounts:
        by_account[e["account_id"]].append(e)
    placed: dict[str, tuple[str, str]] = {}
    for aid, events in by_account.items():
        events.sort(key=lambda e: e["version"])
        before: dict[str, Any] | None = None
        for e in events:
            now = e["status"] in OPEN
            if before is not None and (before["status"] in OPEN) != now:
                kind, team = ("e", _team(e)) if now else ("x", _team(before))
                out[key(e["occurred_at"][:10], kind, *([team] if teams else []))] += 1
            before = e
            if e["change"] == "placed" and aid not in placed:
                placed[aid] = (e["occurred_at"][:10], e["occurred_at"][:7])
                out[key("cohorts", e["occurred_at"][:7], "p")] += e["balance_minor"]
                resolved = min(
                    (r["occurred_at"] for r in events if r["status"] in RESOLVED), default="-"
                )
                repaid = (e["occurred_at"][:10], "acme", "k17", e["due_date"], resolved[:10])
                out[repaid] += 1

    def open_before(aid: str, at_s: int) -> bool:
        earlier = [e for e in by_account[aid] if _ts(e["occurred_at"]) < at_s]
        return bool(earlier) and earlier[-1]["status"] in OPEN

    for p in payments:
        amount = -p["amount_minor"] if p["status"] == "reversed" else p["amount_minor"]
        day = p["occurred_at"][:10]
        aid = p.get("account_id")
        if aid is None:
            candidates = [a for a in by_account if open_before(a, _ts(p["occurred_at"]))]
            aid = candidates[0] if len(candidates) == 1 else None
        if aid is None:
            out[key(day, "u")] += amount
            continue
        if teams:
            earlier = [e for e in by_account[aid] if _ts(e["occurred_at"]) < _ts(p["occurred_at"])]
            version = earlier[-1] if earlier else by_account[aid][0]
            out[key(day, "a", _team(version))] += amount
            out[key(day, "c", _team(version))] += amount * (version.get("commission_bp") or 0)
            continue
        out[key(day, "a")] += amount
        if aid in placed:
            placed_day, month = placed[aid]
            age = (datetime.fromisoformat(day) - datetime.fromisoformat(placed_day)).days
            out[key("cohorts", month, "n")] += amount
            for d in AGES:
                if age <= d:
                    out[key("cohorts", month, f"a{d}")] += amount
    return {k: v for k, v in out.items() if v}


_DAYS = ("2027-01-05", "2027-01-09", "2027-02-10", "2027-04-20")


@st.composite
def _logs(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    accounts = []
    for name in ("a1", "a2"):
        days = sorted(draw(st.lists(st.sampled_from(_DAYS), min_size=1, max_size=4)))
        for version, day in enumerate(days, start=1):
            status = (
                "open" if version == 1 else draw(st.sampled_from(["open", "closed", "settled"]))
            )
            hour = draw(st.integers(0, 23))
            accounts.append(
                account(
                    version,
                    event_id=f"{name}-v{version}",
                    account_id=name,
                    status=status,
                    occurred_at=f"{day}T{hour:02d}:00:00Z",
                    team=draw(st.sampled_from([None, "early", "late"])),
                    commission_bp=draw(st.sampled_from([None, 0, 1500, 10_000])),
                )
            )
    payments = []
    for i in range(draw(st.integers(1, 4))):
        named = draw(st.sampled_from([None, None, "a1", "a2"]))
        hour = draw(st.integers(0, 23))
        changes: dict[str, Any] = {"account_id": named} if named else {}
        if draw(st.booleans()) and i:
            changes["status"] = "reversed"
        at = f"{draw(st.sampled_from(_DAYS))}T{hour:02d}:30:00Z"
        payments.append(payment(f"p{i}", at, draw(st.integers(1, 900)), **changes))
    return accounts, payments


@settings(max_examples=150, deadline=None)
@given(log=_logs(), data=st.data())
def test_any_arrival_order_allocates_as_the_rule_on_the_log(
    log: tuple[list[dict[str, Any]], list[dict[str, Any]]], data: st.DataObject
) -> None:
    accounts, payments = log
    tagged = [(Topic.ACCOUNT, e) for e in accounts] + [(Topic.PAYMENT, e) for e in payments]
    store = Store()
    for offset, (topic, event) in enumerate(data.draw(st.permutations(tagged))):
        store.apply(topic, event, offset)
    assert store.counts() == oracle(accounts, payments)
    assert store.teams() == {
        k: v for k, v in oracle(accounts, payments, teams=True).items() if _is_team(k)
    }
