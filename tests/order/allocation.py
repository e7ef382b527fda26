"""K10 and K16 samples /metrics must show for a log's account and payment events.

Rules (kpi-catalog section 9), computed without collectpulse code, days in UTC:
- a succeeded payment counts +amount, a ``reversed`` one -amount (net collected), on
  the day of its own ``occurred_at``; each event id once;
- allocation: the payment's ``account_id``; else the customer's only account in the
  payment's currency whose newest version (valid events, version order) that
  happened before the payment's second is open; else unallocated;
- H(W) = open accounts now + exits(W) - re-entries(W), an exit / re-entry being a
  step open -> terminal / terminal -> open between consecutive versions, on the
  later version's day;
- K10 = allocated net in W / H(W) (none while H = 0); the unallocated net and H
  are exported beside it, for every pair with open accounts or a non-zero sum in W;
- K10 by team: an allocated payment's team is that of its account's version in force
  at the payment's time (the highest version that happened before its second, else
  the lowest version), ``__unassigned__`` without one; H by team = the accounts open
  now in the team (their highest version's) + exits under the team of the version
  left - re-entries under the team of the version joining; unallocated net has none;
- agency revenue (K11's, not on /metrics): Σ allocated net x commission_bp of that
  same version (absent = 0) / 10 000, per currency, tenant and window;
- K16 per placement month of the last 12 (UTC month of the account's ``placed``):
  net allocated to its accounts / their placed balances (none while nothing placed);
- K17 per dpd (7, 30, 60, 90) and window: of the accounts placed in W (the day of the
  lowest ``placed`` version) with due date at placement + dpd <= today, the share whose
  earliest paid_in_full/settled version happened on or before that day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.faults.oracle import Key, P, labels

OPEN = ("open", "in_plan")
ALLOCATION_FAMILIES = frozenset(
    {
        f"{P}collected_per_account",
        f"{P}collected_unallocated_minor",
        f"{P}handled_accounts",
        f"{P}team_collected_per_account",
        f"{P}team_handled_accounts",
        f"{P}recovery_ratio",
        f"{P}repaid_by_dpd_ratio",
    }
)

ALLOCATION_RATIOS = frozenset(
    {
        f"{P}collected_per_account",
        f"{P}team_collected_per_account",
        f"{P}recovery_ratio",
        f"{P}repaid_by_dpd_ratio",
    }
)
"""Families absent where the catalog says "no sample" (H = 0, nothing placed, no account
old enough)."""
RESOLVED = ("paid_in_full", "settled")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _team(body: dict[str, Any]) -> str:
    return body.get("team") or "__unassigned__"


def _in_force(bodies: list[dict[str, Any]], at: datetime) -> dict[str, Any]:
    """The version (``bodies`` in version order) in force at ``at``."""
    earlier = [b for b in bodies if int(_at(b["occurred_at"]).timestamp()) < int(at.timestamp())]
    return earlier[-1] if earlier else bodies[0]


def agency_revenue(
    valid: Iterable[dict[str, Any]], payments: Iterable[dict[str, Any]], today: date | None = None
) -> dict[tuple[str, str | None, str], float]:
    """(currency, tenant, window) -> Σ allocated net x commission_bp / 10 000, for every
    pair with a non-zero allocated or unallocated net in the window."""
    today = today or datetime.now(UTC).date()
    return {
        (key[0], key[1], window): fee / 10_000
        for (window, key), fee in _computed(valid, payments, today)[1].items()
    }


def allocation_samples(
    valid: Iterable[dict[str, Any]], payments: Iterable[dict[str, Any]], today: date | None = None
) -> dict[Key, float]:
    """``valid``: the account events without duplicates or currency mismatches;
    ``payments``: the payment events without duplicates (any status)."""
    return _computed(valid, payments, today or datetime.now(UTC).date())[0]


def _computed(
    valid: Iterable[dict[str, Any]], payments: Iterable[dict[str, Any]], today: date
) -> tuple[dict[Key, float], dict[tuple[str, tuple[str, str | None]], int]]:
    """The samples, and (window, (currency, tenant)) -> Σ net x commission_bp."""
    versions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for body in valid:
        versions[body["account_id"]].append(body)
    daily: dict[tuple[str, str | None, date], dict[str, int]] = defaultdict(
        lambda: defaultdict(int)
    )
    teams: dict[tuple[str, str | None, str, date], dict[str, int]] = defaultdict(
        lambda: defaultdict(int)
    )
    placed: dict[str, dict[str, Any]] = {}
    opened: dict[tuple[str, str | None], int] = defaultdict(int)
    team_open: dict[tuple[str, str | None, str], int] = defaultdict(int)
    for aid, bodies in versions.items():
        bodies.sort(key=lambda b: b["version"])
        prior: dict[str, Any] | None = None
        for b in bodies:
            now = b["status"] in OPEN
            if prior is not None and (prior["status"] in OPEN) != now:
                day = _at(b["occurred_at"]).date()
                kind, team = ("e", _team(b)) if now else ("x", _team(prior))
                daily[(b["currency"], b.get("tenant"), day)][kind] += 1
                teams[(b["currency"], b.get("tenant"), team, day)][kind] += 1
            prior = b
            if b["change"] == "placed" and aid not in placed:
                placed[aid] = b
        last = bodies[-1]
        if last["status"] in OPEN:
            opened[(last["currency"], last.get("tenant"))] += 1
            team_open[(last["currency"], last.get("tenant"), _team(last))] += 1

    def open_before(aid: str, at_s: int) -> bool:
        earlier = [b for b in versions[aid] if int(_at(b["occurred_at"]).timestamp()) < at_s]
        return bool(earlier) and earlier[-1]["status"] in OPEN

    months: dict[tuple[str, str | None, str], list[int]] = defaultdict(lambda: [0, 0])
    for b in placed.values():
        months[(b["currency"], b.get("tenant"), b["occurred_at"][:7])][0] += b["balance_minor"]
    for p in payments:
        if p["status"] not in ("succeeded", "reversed"):
            continue
        at = _at(p["occurred_at"])
        amount = -p["amount_minor"] if p["status"] == "reversed" else p["amount_minor"]
        aid = p.get("account_id")
        if aid is None:
            candidates = [
                a
                for a, bodies in versions.items()
                if bodies[0]["customer_id"] == p["customer_id"]
                and bodies[0]["currency"] == p["currency"]
                and open_before(a, int(at.timestamp()))
            ]
            aid = candidates[0] if len(candidates) == 1 else None
        elif versions.get(aid) and versions[aid][0]["currency"] != p["currency"]:
            aid = None
        pair = (p["currency"], p.get("tenant"))
        daily[(*pair, at.date())]["a" if aid else "u"] += amount
        if aid and versions.get(aid):
            version = _in_force(versions[aid], at)
            teams[(*pair, _team(version), at.date())]["a"] += amount
            daily[(*pair, at.date())]["c"] += amount * (version.get("commission_bp") or 0)
        elif aid:  # an account never seen: its payments wait as __unassigned__
            teams[(*pair, "__unassigned__", at.date())]["a"] += amount
        if aid in placed:
            b = placed[aid]
            months[(b["currency"], b.get("tenant"), b["occurred_at"][:7])][1] += amount
    out: dict[Key, float] = {}
    fees: dict[tuple[str, tuple[str, str | None]], int] = {}
    for window, days in (("30d", 30), ("90d", 90)):
        sums: dict[tuple[str, str | None], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for (currency, tenant, day), kinds in daily.items():
            if 0 <= (today - day).days < days:
                for kind, value in kinds.items():
                    sums[(currency, tenant)][kind] += value
        active = {pair for pair, kinds in sums.items() if any(kinds.values())}
        fees.update({(window, pair): sums[pair].get("c", 0) for pair in active})
        by_team: dict[tuple[str, str | None, str], dict[str, int]] = defaultdict(
            lambda: defaultdict(int)
        )
        for (currency, tenant, team, day), kinds in teams.items():
            if 0 <= (today - day).days < days:
                for kind, value in kinds.items():
                    by_team[(currency, tenant, team)][kind] += value
        busy = {triple for triple, kinds in by_team.items() if any(kinds.values())}
        for triple in team_open.keys() | busy:
            kinds = by_team.get(triple, {})
            handled = team_open.get(triple, 0) + kinds.get("x", 0) - kinds.get("e", 0)
            key = labels(currency=triple[0], team=triple[2], tenant=triple[1], window=window)
            out[(f"{P}team_handled_accounts", key)] = handled
            if handled:
                out[(f"{P}team_collected_per_account", key)] = kinds.get("a", 0) / handled
        for pair in opened.keys() | active:
            kinds = sums.get(pair, {})
            handled = opened.get(pair, 0) + kinds.get("x", 0) - kinds.get("e", 0)
            key = labels(currency=pair[0], tenant=pair[1], window=window)
            out[(f"{P}handled_accounts", key)] = handled
            out[(f"{P}collected_unallocated_minor", key)] = kinds.get("u", 0)
            if handled:
                out[(f"{P}collected_per_account", key)] = kinds.get("a", 0) / handled
    for window, days in (("30d", 30), ("90d", 90)):
        tally: dict[tuple[int, str | None], list[int]] = defaultdict(lambda: [0, 0])
        for aid, b in placed.items():
            if not 0 <= (today - _at(b["occurred_at"]).date()).days < days:
                continue
            due = date.fromisoformat(b["due_date"])
            done = [_at(v["occurred_at"]).date() for v in versions[aid] if v["status"] in RESOLVED]
            for dpd in (7, 30, 60, 90):
                deadline = due + timedelta(days=dpd)
                if deadline <= today:
                    counts = tally[(dpd, b.get("tenant"))]
                    counts[0] += 1
                    counts[1] += bool(done) and min(done) <= deadline
        for (dpd, tenant), (eligible, repaid) in tally.items():
            key = labels(dpd=str(dpd), tenant=tenant, window=window)
            out[(f"{P}repaid_by_dpd_ratio", key)] = repaid / eligible
    last = [today.year * 12 + today.month - 1 - i for i in range(12)]
    names = {f"{m // 12:04d}-{m % 12 + 1:02d}" for m in last}
    for (currency, tenant, month), (placed_minor, net) in months.items():
        if month in names and placed_minor > 0:
            key = labels(currency=currency, cohort=month, tenant=tenant)
            out[(f"{P}recovery_ratio", key)] = net / placed_minor
    return out, fees
