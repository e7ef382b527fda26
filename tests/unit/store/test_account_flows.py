"""Daily flows S and R, planned without servers: one booking per event, order-free.

Whatever order an account's versions arrive in, the flow buckets must equal a replay
in version order: every event's delta on its own (tenant-local) day, and the closing
residual phi(previous version) - phi(version) on the day of the version.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.store.test_account_effects import KEYS, FakeStore, P, account

from collectpulse.store.account_flows import HISTORY_SIZE
from collectpulse.store.keys import FIELD_SEP

DAYS = ("2027-01-08", "2027-01-09", "2027-01-10", "2027-01-11")
OPEN = ("open", "in_plan")


def flows(store: FakeStore) -> dict[tuple[str, str], int]:
    """(day, tenant/currency/kind field) -> amount, zeros dropped."""
    out = {}
    for key, values in store.hashes.items():
        if ":flow:" in key:
            day = key.rsplit(":", 1)[1]
            assert key == KEYS.flows(P, day)
            out.update({(day, f): int(v) for f, v in values.items() if int(v)})
    return out


def field(kind: str, currency: str = "EUR") -> str:
    return FIELD_SEP.join(("acme", currency, kind))


def oracle(log: list[dict[str, Any]], zone: str = "UTC") -> dict[tuple[str, str], int]:
    """The catalog's rule replayed in version order, per account."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    tz = ZoneInfo(zone)

    def book(day: str, amount: int) -> None:
        if amount > 0:
            out[(day, field("s"))] += amount
        elif amount < 0:
            out[(day, field("r"))] -= amount

    by_account: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in log:
        by_account[event["account_id"]].append(event)
    for events in by_account.values():
        before = 0
        for e in sorted(events, key=lambda e: e["version"]):
            at = datetime.fromisoformat(e["occurred_at"]).astimezone(tz)
            day = at.date().isoformat()
            book(day, e["delta_minor"])
            if e["change"] == "payment" and e["delta_minor"] < 0:
                out[(day, field("c"))] -= e["delta_minor"]
            now = 0 if e["status"] in OPEN else e["balance_minor"]
            book(day, before - now)
            before = now
    return {k: v for k, v in out.items() if v}


def test_closing_with_a_balance_books_a_residual_and_reopening_takes_it_back() -> None:
    store = FakeStore()
    store.apply(account(1, occurred_at="2027-01-08T10:00:00Z"))  # placed 1000
    store.apply(
        account(
            2,
            change="payment",
            delta_minor=-400,
            balance_minor=600,
            occurred_at="2027-01-09T10:00:00Z",
        )
    )
    store.apply(
        account(
            3,
            change="status",
            delta_minor=0,
            balance_minor=600,
            status="closed",
            occurred_at="2027-01-10T10:00:00Z",
        )
    )
    store.apply(
        account(
            4,
            change="charge",
            delta_minor=50,
            balance_minor=650,
            occurred_at="2027-01-11T10:00:00Z",
        )
    )  # open again: the 600 it was closed with comes back, plus the charge
    assert flows(store) == {
        ("2027-01-08", field("s")): 1000,
        ("2027-01-09", field("r")): 400,
        ("2027-01-09", field("c")): 400,
        ("2027-01-10", field("r")): 600,
        ("2027-01-11", field("s")): 650,
    }


def test_a_late_version_between_two_known_ones_moves_the_residual_to_its_own_day() -> None:
    closed = {"change": "status", "delta_minor": 0, "status": "closed", "balance_minor": 1000}
    store = FakeStore()
    store.apply(account(1, occurred_at="2027-01-08T10:00:00Z"))
    store.apply(account(3, **closed, occurred_at="2027-01-11T10:00:00Z"))
    assert flows(store)[("2027-01-11", field("r"))] == 1000
    store.apply(account(2, **closed, occurred_at="2027-01-09T10:00:00Z"))
    assert flows(store) == {
        ("2027-01-08", field("s")): 1000,
        ("2027-01-09", field("r")): 1000,
    }
    assert store.total("account_stale_versions") == 1


def test_days_are_local_to_the_tenant() -> None:
    store = FakeStore(tenant_zones={"acme": "Pacific/Auckland"})
    store.apply(account(1, occurred_at="2027-01-09T20:00:00Z"))  # 09:00 on the 10th there
    assert flows(store) == {("2027-01-10", field("s")): 1000}


def test_a_version_older_than_the_kept_history_books_its_delta_only() -> None:
    store = FakeStore()
    newest = HISTORY_SIZE + 2
    for version in range(newest, 1, -1):
        store.apply(account(version, occurred_at="2027-01-10T10:00:00Z"))
    before = flows(store)
    store.apply(account(1, occurred_at="2027-01-10T10:00:00Z"))
    assert store.total("account_flow_unordered") == 1  # its predecessor is unknown
    after = flows(store)
    assert after[("2027-01-10", field("s"))] == before[("2027-01-10", field("s"))] + 1000


_STATUS = st.sampled_from(["open", "open", "in_plan", "closed", "settled", "written_off"])
_CHANGE = st.sampled_from(["payment", "charge", "adjustment", "status", "write_off", "reversal"])


@st.composite
def _histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    log = []
    for name in ("a1", "a2"):
        balance = draw(st.integers(1, 50)) * 100
        status = "open"
        for version in range(1, draw(st.integers(1, 7)) + 1):
            change, delta = "placed", balance
            if version > 1:
                change = draw(_CHANGE)
                delta = 0
                if change in ("payment", "write_off"):
                    delta = -draw(st.integers(0, balance))
                elif change in ("charge", "reversal", "adjustment"):
                    delta = draw(st.integers(0, 3000))
                balance += delta
                if change in ("status", "write_off"):
                    status = draw(_STATUS)
            hour = draw(st.integers(0, 23))
            log.append(
                account(
                    version,
                    event_id=f"{name}-v{version}",
                    account_id=name,
                    change=change,
                    delta_minor=delta,
                    balance_minor=balance,
                    status=status,
                    occurred_at=f"{draw(st.sampled_from(DAYS))}T{hour:02d}:30:00Z",
                )
            )
    return log


@settings(max_examples=150, deadline=None)
@given(log=_histories(), data=st.data())
def test_any_arrival_order_books_what_the_version_order_books(
    log: list[dict[str, Any]], data: st.DataObject
) -> None:
    order = data.draw(st.permutations(log))
    store = FakeStore(tenant_zones={"acme": "America/New_York"})
    for offset, event in enumerate(order):
        store.apply(event, offset)
    assert flows(store) == oracle(log, "America/New_York")
    assert store.total("account_flow_unordered") == 0


@settings(max_examples=60, deadline=None)
@given(log=_histories())
def test_flows_in_version_order_move_receivables_by_s_minus_r(log: list[dict[str, Any]]) -> None:
    store = FakeStore()
    for offset, event in enumerate(log):
        store.apply(event, offset)
    booked = flows(store)
    s = sum(v for (_, f), v in booked.items() if f == field("s"))
    r = sum(v for (_, f), v in booked.items() if f == field("r"))
    last = {e["account_id"]: e for e in log}
    receivables = sum(e["balance_minor"] for e in last.values() if e["status"] in OPEN)
    assert s - r == receivables
