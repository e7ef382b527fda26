"""Account state and its aggregates, planned without servers: version order, not arrival.

Each event is planned in its own batch against the state the previous batches
left, as a worker does; the plans' operations are applied to plain dicts the way
write.lua applies them. Whatever the arrival order, the aggregates must equal the
ones computed here by replaying the log in version order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from itertools import pairwise
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from collectpulse.events.decode import decode
from collectpulse.events.models import Topic
from collectpulse.store.account_effects import UNASSIGNED
from collectpulse.store.context import Record, Snapshot, Timing
from collectpulse.store.effects import plan_partition
from collectpulse.store.fields import counter_field
from collectpulse.store.keys import FIELD_SEP, Keys

KEYS = Keys("cp")
P = 2
DAY = 86_400
TIMING = Timing(
    now_s=1_800_000_000,
    bucket_s=60,
    retention_s=14 * DAY,
    fine_ttl_s=7 * DAY,
    dedupe_horizon_s=7 * DAY,
    max_event_bytes=65536,
)
OPEN_KEY, RECV_KEY, AGENTS_KEY = (
    KEYS.open_accounts(P),
    KEYS.receivables(P),
    KEYS.account_agents(P),
)


class FakeStore:
    """The hashes write.lua would leave, for the ops account events produce."""

    def __init__(self, tenant_zones: dict[str, str] | None = None) -> None:
        self.hashes: defaultdict[str, dict[str, str]] = defaultdict(dict)
        self.timing = replace(TIMING, tenant_zones=tenant_zones or {})

    def apply(self, event: dict[str, Any], offset: int = 0) -> None:
        raw = orjson.dumps(event)
        decoded = decode(Topic.ACCOUNT, raw, max_bytes=65536)
        account_key = KEYS.account(P, event["account_id"])
        snapshot = Snapshot(
            "0",
            seen={"account": frozenset(self.hashes["seen"])},
            accounts={event["account_id"]: dict(self.hashes.get(account_key, {}))},
        )
        plan = plan_partition(
            partition=P,
            events=[(Topic.ACCOUNT, [Record(offset, raw, decoded)])],
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
            elif name in ("HINCRBYS", "HINCRBYS_NET"):
                for field, amount in pairs:
                    value = int(self.hashes[key].get(field, "0")) + int(amount)
                    self.hashes[key][field] = str(value)
                    if name == "HINCRBYS_NET" and value == 0:
                        del self.hashes[key][field]
            elif name == "SADD" and ":seen:" in key:
                self.hashes["seen"].update(dict.fromkeys(args, ""))

    def total(self, counter: str) -> int:
        field = counter_field(counter, {"topic": "account"})
        return int(self.hashes[KEYS.totals(P)].get(field, "0"))


def account(version: int, **changes: Any) -> dict[str, Any]:
    event = {
        "event_id": f"a1-v{version}",
        "occurred_at": "2027-01-10T08:00:00Z",
        "account_id": "a1",
        "customer_id": "c1",
        "change": "charge",
        "version": version,
        "balance_minor": 1000 * version,
        "delta_minor": 1000,
        "currency": "EUR",
        "due_date": "2026-12-01",
        "status": "open",
        "agent_id": "ann",
        "team": "early",
        "tenant": "acme",
    }
    if version == 1:
        event.update(change="placed", delta_minor=event["balance_minor"])
    return {**event, **changes}


def open_field(status: str, team: str, agent: str, due: str) -> str:
    return FIELD_SEP.join(("acme", status, team, agent, due))


def test_the_state_follows_the_highest_version_and_a_late_one_only_counts() -> None:
    store = FakeStore()
    store.apply(account(1))
    store.apply(account(3, agent_id="bob", due_date="2026-12-15"))
    store.apply(account(2, agent_id="cy"))  # older, arriving late
    assert store.hashes[OPEN_KEY] == {open_field("open", "early", "bob", "2026-12-15"): "1"}
    assert store.hashes[RECV_KEY] == {
        FIELD_SEP.join(("acme", "EUR", "2026-12-15", "b")): "3000",
        FIELD_SEP.join(("acme", "EUR", "2026-12-15", "n")): "1",
        FIELD_SEP.join(("acme", "EUR", "early", "t")): "1",  # open by team (K10's H)
    }
    assert store.hashes[AGENTS_KEY] == {FIELD_SEP.join(("acme", "early", "bob")): "1"}
    assert store.total("account_stale_versions") == 1
    assert store.hashes[KEYS.account(P, "a1")]["v"] == "3"


def test_leaving_the_open_statuses_removes_every_aggregate_field_and_reopening_restores() -> None:
    store = FakeStore()
    store.apply(account(1, agent_id=None, team=None))
    assert store.hashes[OPEN_KEY] == {open_field("open", UNASSIGNED, UNASSIGNED, "2026-12-01"): "1"}
    store.apply(account(2, status="written_off", change="write_off", balance_minor=0))
    assert store.hashes[OPEN_KEY] == {}
    assert store.hashes[RECV_KEY] == {}
    store.apply(account(3, status="in_plan", change="status", delta_minor=0))
    assert store.hashes[OPEN_KEY] == {open_field("in_plan", "early", "ann", "2026-12-01"): "1"}


def test_exits_and_reentries_count_under_the_team_left_and_joined() -> None:
    def flows(store: FakeStore, counter: str, team: str) -> int:
        field = counter_field(counter, {"team": team, "tenant": "acme"})
        return int(store.hashes[KEYS.totals(P)].get(field, "0"))

    store = FakeStore()
    store.apply(account(1))  # placed: neither
    store.apply(account(2, change="charge"))  # open -> open: neither
    assert not any(name.startswith("account_") for name in store.hashes[KEYS.totals(P)])
    store.apply(account(3, status="paid_in_full", change="payment", balance_minor=0))
    store.apply(account(4, status="open", team=None))  # re-opened, no team
    store.apply(account(5, status="closed", team=None))
    assert flows(store, "account_exits", "early") == 1
    assert flows(store, "account_reentries", UNASSIGNED) == 1
    assert flows(store, "account_exits", UNASSIGNED) == 1
    store.apply(account(4, status="in_plan"), offset=9)  # a repeat: no second re-entry
    assert flows(store, "account_reentries", UNASSIGNED) == 1


def test_an_account_stored_before_the_history_counts_its_next_exit() -> None:
    store = FakeStore()
    store.apply(account(1))
    del store.hashes[KEYS.account(P, "a1")]["hx"]  # as written before the history existed
    store.apply(account(2, status="closed"))
    field = counter_field("account_exits", {"team": "early", "tenant": "acme"})
    assert store.hashes[KEYS.totals(P)][field] == "1"


def test_another_currency_than_the_placement_is_rejected_and_counted() -> None:
    store = FakeStore()
    store.apply(account(1))
    store.apply(account(2, currency="USD"))
    assert store.total("currency_mismatch") == 1
    assert store.hashes[KEYS.account(P, "a1")]["v"] == "1"
    assert store.hashes[RECV_KEY][FIELD_SEP.join(("acme", "EUR", "2026-12-01", "b"))] == "1000"


def test_a_duplicate_event_id_changes_nothing() -> None:
    store = FakeStore()
    store.apply(account(1))
    store.apply(account(2, status="closed"))
    before = {key: dict(values) for key, values in store.hashes.items()}
    store.apply(account(2, status="closed"))
    assert store.total("events_duplicate") == 1
    assert store.total("account_stale_versions") == 0
    for key in (OPEN_KEY, RECV_KEY, AGENTS_KEY, KEYS.account(P, "a1")):
        assert store.hashes[key] == before.get(key, {})


def _oracle(log: list[dict[str, Any]]) -> tuple[dict[str, int], dict[str, int]]:
    """Open counts and receivables from the log replayed in version order."""
    states: dict[str, dict[str, Any]] = {}
    for event in sorted(log, key=lambda e: (e["account_id"], e["version"])):
        states[event["account_id"]] = event
    opened: dict[str, int] = defaultdict(int)
    recv: dict[str, int] = defaultdict(int)
    for e in states.values():
        if e["status"] in ("open", "in_plan"):
            opened[open_field(e["status"], e["team"], e["agent_id"], e["due_date"])] += 1
            base = FIELD_SEP.join(("acme", e["currency"], e["due_date"]))
            recv[f"{base}{FIELD_SEP}b"] += e["balance_minor"]
            recv[f"{base}{FIELD_SEP}n"] += 1
            recv[FIELD_SEP.join(("acme", e["currency"], e["team"], "t"))] += 1
    return (
        {k: v for k, v in opened.items() if v},
        {k: v for k, v in recv.items() if v},
    )


_STATUS = st.sampled_from(["open", "in_plan", "paid_in_full", "closed"])
_DUE = st.sampled_from(["2026-11-01", "2026-12-01", "2027-01-20"])
_AGENT = st.sampled_from(["ann", "bob"])
_TEAM = st.sampled_from(["early", "late"])


@st.composite
def _logs(draw: st.DrawFn) -> list[dict[str, Any]]:
    log = []
    for name in ("a1", "a2"):
        for version in range(1, draw(st.integers(1, 4)) + 1):
            change = "placed" if version == 1 else "adjustment"
            balance = draw(st.integers(0, 5000))
            log.append(
                account(
                    version,
                    event_id=f"{name}-v{version}",
                    account_id=name,
                    change=change,
                    balance_minor=balance,
                    delta_minor=balance if change == "placed" else 7,
                    status=draw(_STATUS),
                    due_date=draw(_DUE),
                    agent_id=draw(_AGENT),
                    team=draw(_TEAM),
                )
            )
    return log


@settings(max_examples=60, deadline=None)
@given(log=_logs(), data=st.data())
def test_any_arrival_order_converges_to_the_version_order(
    log: list[dict[str, Any]], data: st.DataObject
) -> None:
    order = data.draw(st.permutations(log))
    store = FakeStore()
    for offset, event in enumerate(order):
        store.apply(event, offset)
    opened, recv = _oracle(log)
    assert {k: int(v) for k, v in store.hashes[OPEN_KEY].items()} == opened
    assert {k: int(v) for k, v in store.hashes[RECV_KEY].items()} == recv
    assert store.total("account_stale_versions") == sum(
        1
        for j, event in enumerate(order)
        if any(
            o["account_id"] == event["account_id"] and o["version"] > event["version"]
            for o in order[:j]
        )
    )
    assert _flows(store) == _chain_flows(log)


def _flows(store: FakeStore) -> dict[str, int]:
    prefixes = ("account_exits" + FIELD_SEP, "account_reentries" + FIELD_SEP)
    totals = store.hashes[KEYS.totals(P)]
    return {k: int(v) for k, v in totals.items() if k.startswith(prefixes) and int(v)}


def _chain_flows(log: list[dict[str, Any]]) -> dict[str, int]:
    """Exits (team left) and re-entries (team joined) between consecutive versions."""
    flows: dict[str, int] = defaultdict(int)
    by_account: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in log:
        by_account[event["account_id"]].append(event)
    for events in by_account.values():
        events.sort(key=lambda e: e["version"])
        for old, new in pairwise(events):
            was, now = (e["status"] in ("open", "in_plan") for e in (old, new))
            if was != now:
                counter, team = (
                    ("account_exits", old["team"])
                    if was
                    else (
                        "account_reentries",
                        new["team"],
                    )
                )
                flows[counter_field(counter, {"team": team, "tenant": "acme"})] += 1
    return dict(flows)
