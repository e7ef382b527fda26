"""Allocation of payments to accounts, handled-account exits and placement cohorts
(kpi-catalog section 9: allocation, net collected, H(W); K10, K16).

A payment (or a reversal, with its amount negative) goes to its ``account_id``; else
to the customer's only account in the payment's currency that was open just before
the payment's ``occurred_at``; else it is ``unallocated``. Payments, promises and
accounts are keyed by ``customer_id``, so everything this needs is in the customer's
hash (``cp:{pN}:cust:<id>``) inside the partition's guarded write:

- ``ac:<account_id>``: the account's currency, tenant, placement (version, time,
  balance) and its last ``TIMELINE_SIZE`` versions as (version, time, open, team label,
  commission_bp);
- ``al``: the payments whose allocation may still change. Each entry keeps the
  target it is credited to and the (team, commission_bp) of that account's version in
  force at the payment's time; every account event of the customer re-runs the rule
  for all of them and moves the credit when either changed (the park-and-credit
  pattern of ``payment_credit``), so any arrival order ends with the same counts.
  Since a late version can change the team in force at any payment's time, an entry
  stays until the retention passes (at most ``MAX_ENTRIES``, the oldest beyond
  dropped with their credit kept, counted); only one whose named account is of
  another currency (final: unallocated) leaves at once. Entries past the retention
  are dropped, their credit kept where it is, before any event re-runs the list (so
  they never move, whether or not the customer had an event in between), and each
  ``ac:`` is parsed once per event, not once per entry.

Credit, each in the tenant-local day of the payment's own ``occurred_at``
(``cp:{pN}:alloc:<day>``): ``<tenant> <currency> a <team>`` = net allocated to the
accounts of that team, ``<tenant> <currency> c <team>`` = that net x the account
version's ``commission_bp`` (minor x bp; absent = 0, K11's agency revenue is it /
10 000), ``<tenant> <currency> u`` = net unallocated (no team: K10's numerator is the
allocated net only). The team is the capped ``team`` label of the version in force
at the payment's time (the newest version before it, else the oldest known),
``__unassigned__`` without one. Fields ``<tenant> <currency> a|x|e`` without a team
were written before the team was kept: they read as ``__unassigned__`` (so an upgrade
loses nothing), and an entry or version stored then counts as ``__unassigned__`` with
no commission when its credit moves. An allocated payment whose account's placement is
known also counts in ``cp:{pN}:cohorts`` under the placement's local month: ``n``
(net allocated so far) and ``a30 a60 a90 a180`` (net allocated within that many days
of the placement day); ``p`` there sums the placed balances (K16). The net allocated
per account and day (``cp:{pN}:acc-net:<day>``, ``<tenant> <currency> <account_id>``,
kept 92 days) serves the per-account distribution of K10 on the JSON API only.
K17 counts each placed account once in the day hash of its placement,
``<tenant> k17 <due date at placement> <day it first reached paid_in_full or settled,
or ->``, moved when an earlier resolution or placement version arrives.

Exits and re-entries (H(W) = open now + exits(W) - re-entries(W)) are the steps
open -> terminal and terminal -> open between consecutive versions, booked on the
later version's day (fields ``<tenant> <currency> x|e <team>`` of the day hash), an
exit under the team it leaves and a re-entry under the team it joins, as K20 counts
them (``store.account_transitions``). A version arriving
between two known ones re-books the step it splits, as ``account_flows`` does, so the
counts are those of a replay in version order.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson

from collectpulse.events.models import OPEN_STATUSES, AccountEvent, PaymentEvent, Topic
from collectpulse.kpi.portfolio import RESOLVED_STATUSES
from collectpulse.store.account_flows import FLOW_RETENTION_DAYS
from collectpulse.store.allocation_accounts import (
    ACCOUNT,
    AccountTimeline,
    AccountTimelines,
    Version,
    version_link,
)
from collectpulse.store.context import BatchContext
from collectpulse.store.customer_state import KEEP_UNTIL, customer, load_list, write
from collectpulse.store.keys import DAY_S, FIELD_SEP
from collectpulse.zones import local_date, zone

UNASSIGNED = "__unassigned__"
"""The team of an account version without one (and of credit booked before teams)."""

ENTRIES = "al"
TIMELINE_SIZE = 16
MAX_ENTRIES = 100
AGES_DAYS = (30, 60, 90, 180)
"""The recovery curve's ages (K16): net allocated within that many days of placement."""
UNALLOCATED = "u"
REPAID = "k17"
"""Second part of the day-hash fields counting accounts placed that day (K17)."""
PER_ACCOUNT_DAYS = 92
"""Days the per-account net is kept: the 90-day window in every tenant zone."""
_EPOCH = date(1970, 1, 1).toordinal()
_KEEP_ACCOUNT_S = FLOW_RETENTION_DAYS * DAY_S


def on_account(ctx: BatchContext, event: AccountEvent, at_s: int) -> None:
    """An applied account event (currency accepted): update the customer's copy of the
    account, book its exit/re-entry steps and its placement, re-run allocations."""
    state = customer(ctx, event.customer_id)
    name = ACCOUNT + event.account_id
    acct = AccountTimeline(state.get(name))
    acct.currency = acct.currency or event.currency
    acct.tenant = event.tenant or ""
    tenant = ctx.label("tenant", acct.tenant)
    repaid_before = _repaid(ctx, acct, tenant)
    if event.change == "placed" and (not acct.placed or event.version < acct.placed[0]):
        if acct.placed:
            _cohort_placed(ctx, acct, tenant, sign=-1)
        acct.placed = [event.version, at_s, event.balance_minor, event.due_date.toordinal()]
        _cohort_placed(ctx, acct, tenant, sign=1)
    if event.status in RESOLVED_STATUSES and not 0 <= acct.resolved_s <= at_s:
        acct.resolved_s = at_s  # the earliest resolution, whatever arrives first
    repaid_after = _repaid(ctx, acct, tenant)
    if repaid_after != repaid_before:
        if repaid_before is not None:
            _day_add(ctx, *repaid_before, -1)
        if repaid_after is not None:
            _day_add(ctx, *repaid_after, 1)
    if event.version not in acct.timeline:
        team = ctx.label("team", event.team) if event.team else ""
        link = (at_s, int(event.status in OPEN_STATUSES), team, event.commission_bp or 0)
        _book_steps(ctx, acct, tenant, event.version, link)
    updates = {name: acct.dump()}
    keep = ctx.timing.now_s + _KEEP_ACCOUNT_S
    if keep > int(state.get(KEEP_UNTIL, "0")):
        updates[KEEP_UNTIL] = str(keep)
    write(ctx, event.customer_id, state, updates)
    _rerun(ctx, event.customer_id, state)


def _live_entries(ctx: BatchContext, state: dict[str, str]) -> list[list[Any]]:
    """The stored entries still within the retention; older ones are dropped with their
    credit kept where it is (a version this late no longer moves it)."""
    horizon_s = ctx.timing.now_s - ctx.timing.retention_s
    return [e for e in load_list(state, ENTRIES) if int(e[1]) >= horizon_s]


def on_payment(ctx: BatchContext, event: PaymentEvent, at_s: int) -> None:
    """A succeeded or reversed payment: allocate it (a reversal with a negative amount)."""
    state = customer(ctx, event.customer_id)
    amount = -event.amount_minor if event.status == "reversed" else event.amount_minor
    tenant = event.tenant or ""
    entry: list[Any] = [
        event.event_id,
        at_s,
        amount,
        event.currency,
        tenant,
        ctx.label("tenant", tenant),
        event.account_id or "",
        "",
        [],
    ]
    entries = _live_entries(ctx, state)
    entries.append(entry)  # a payment older than the retention is credited, then dropped
    _settle(ctx, event.customer_id, state, entries)


def target(
    state: dict[str, str],
    entry: list[Any],
    zones: tuple[dict[str, str], str],
    accounts: AccountTimelines | None = None,
) -> str:
    """Where ``entry`` is credited now: ``u``, ``a:<account>`` (placement unknown) or
    ``a:<account>:<month>:<age>`` (age one of AGES_DAYS, 0 beyond the last).
    ``accounts``: the parsed ``ac:`` entries of ``state`` (shared by one event's calls)."""
    accounts = accounts if accounts is not None else AccountTimelines(state)
    at_s, currency, tenant, named = int(entry[1]), str(entry[3]), str(entry[4]), str(entry[6])
    if named:
        acct = accounts.get(named)
        if acct.currency and acct.currency != currency:
            return UNALLOCATED
        chosen = named
    else:
        open_ids = [
            account_id
            for account_id in accounts.ids()
            if (acct := accounts.get(account_id)).currency == currency and acct.open_before(at_s)
        ]
        if len(open_ids) != 1:
            return UNALLOCATED
        chosen = open_ids[0]
        acct = accounts.get(chosen)
    if not acct.placed:
        return f"a:{chosen}"
    tz = zone(zones[0].get(tenant, zones[1]))
    placed_day = local_date(acct.placed[1], tz)
    age = (local_date(at_s, tz) - placed_day).days
    bucket = next((d for d in AGES_DAYS if age <= d), 0)
    return f"a:{chosen}:{placed_day.strftime('%Y-%m')}:{bucket}"


def _rerun(ctx: BatchContext, customer_id: str, state: dict[str, str]) -> None:
    entries = _live_entries(ctx, state)
    if entries or state.get(ENTRIES, "[]") != "[]":
        _settle(ctx, customer_id, state, entries)  # (also stores the list without the old)


def _settle(
    ctx: BatchContext, customer_id: str, state: dict[str, str], entries: list[list[Any]]
) -> None:
    """Move each entry's credit to its current target; drop final and old entries."""
    zones = (dict(ctx.timing.tenant_zones), ctx.timing.default_zone)
    accounts = AccountTimelines(state)
    kept: list[list[Any]] = []
    horizon_s = ctx.timing.now_s - ctx.timing.retention_s
    for entry in entries:
        if len(entry) < 9:  # parked before teams: its credit reads as __unassigned__
            entry.append(["", 0] if entry[7] not in ("", UNALLOCATED) else [])
        now = target(state, entry, zones, accounts)
        if now != entry[7]:
            if entry[7]:
                _credit(ctx, entry, str(entry[7]), sign=-1)
            _credit(ctx, entry, now, sign=1)
            entry[7] = now
        where = "" if now == UNALLOCATED else now.split(":")[1]
        terms = accounts.get(where).terms_at(int(entry[1])) if where else []
        if terms != entry[8]:
            if entry[8]:
                _credit_team(ctx, entry, entry[8], sign=-1)
            if terms:
                _credit_team(ctx, entry, terms, sign=1)
            entry[8] = terms
        final = bool(entry[6]) and now == UNALLOCATED  # another currency: never changes
        if not final and int(entry[1]) >= horizon_s:
            kept.append(entry)
    if len(kept) > MAX_ENTRIES:
        kept.sort(key=lambda e: int(e[1]))
        dropped = len(kept) - MAX_ENTRIES
        ctx.total("state_limit_hits", {"limit": "max_customer_allocations"}, dropped)
        kept = kept[-MAX_ENTRIES:]
    text = orjson.dumps(kept).decode()
    if text != state.get(ENTRIES, "[]"):
        write(ctx, customer_id, state, {ENTRIES: text})


def _entry_day(ctx: BatchContext, entry: list[Any]) -> int:
    """The tenant-local day (ordinal) of the entry's payment."""
    tz = zone(ctx.timing.tenant_zones.get(str(entry[4]), ctx.timing.default_zone))
    return local_date(int(entry[1]), tz).toordinal()


def _credit_team(ctx: BatchContext, entry: list[Any], terms: list[Any], *, sign: int) -> None:
    """The allocated net under the account version's team, and its commission (K10, K11)."""
    amount, currency, tenant = int(entry[2]) * sign, str(entry[3]), str(entry[5])
    team, bp = str(terms[0]) or UNASSIGNED, int(terms[1])
    day = _entry_day(ctx, entry)
    _day_add(ctx, day, FIELD_SEP.join((tenant, currency, "a", team)), amount)
    _day_add(ctx, day, FIELD_SEP.join((tenant, currency, "c", team)), amount * bp)


def _credit(ctx: BatchContext, entry: list[Any], where: str, *, sign: int) -> None:
    """The unallocated net, the per-account net and the cohorts (the team's part of the
    allocated net is ``_credit_team``'s)."""
    amount, currency, tenant = int(entry[2]) * sign, str(entry[3]), str(entry[5])
    day = _entry_day(ctx, entry)
    if where == UNALLOCATED:
        _day_add(ctx, day, f"{tenant}{FIELD_SEP}{currency}{FIELD_SEP}u", amount)
        return
    parts = where.split(":")
    # the per-account distribution (K10 p50/p90, JSON only)
    account = f"{tenant}{FIELD_SEP}{currency}{FIELD_SEP}{parts[1]}"
    _day_add(ctx, day, account, amount, per_account=True)
    if len(parts) == 4:
        prefix = FIELD_SEP.join((tenant, currency, parts[2], ""))
        key = ctx.keys.cohorts(ctx.partition)
        ctx.plan.add(key, f"{prefix}n", amount)
        age = int(parts[3])
        for days in AGES_DAYS:
            if age and age <= days:
                ctx.plan.add(key, f"{prefix}a{days}", amount)


def _repaid(ctx: BatchContext, acct: AccountTimeline, tenant: str) -> tuple[int, str] | None:
    """K17's count of a placed account: (placement day, ``<tenant> k17 <due date at
    placement> <resolution day or ->``), days local to the tenant."""
    if not acct.placed:
        return None
    tz = zone(ctx.timing.tenant_zones.get(acct.tenant, ctx.timing.default_zone))
    resolved = "-" if acct.resolved_s < 0 else local_date(acct.resolved_s, tz).isoformat()
    due = date.fromordinal(acct.placed[3]).isoformat()
    day = local_date(acct.placed[1], tz).toordinal()
    return day, FIELD_SEP.join((tenant, REPAID, due, resolved))


def _cohort_placed(ctx: BatchContext, acct: AccountTimeline, tenant: str, *, sign: int) -> None:
    tz = zone(ctx.timing.tenant_zones.get(acct.tenant, ctx.timing.default_zone))
    month = datetime.fromtimestamp(acct.placed[1], tz).strftime("%Y-%m")
    field = FIELD_SEP.join((tenant, acct.currency, month, "p"))
    ctx.plan.add(ctx.keys.cohorts(ctx.partition), field, sign * acct.placed[2])


def _book_steps(
    ctx: BatchContext, acct: AccountTimeline, tenant: str, version: int, link: Version
) -> None:
    """Book the exit/re-entry steps the new version makes, in version order: an exit
    under the team it leaves, a re-entry under the team it joins (as K20)."""
    timeline = acct.timeline
    earlier = [v for v in timeline if v < version]
    before: Version | None
    if earlier:
        before = timeline[max(earlier)]
    elif not acct.dropped:
        before = None  # nothing older: the version places the account
    elif acct.dropped[0] < version:
        before = version_link(acct.dropped[1:])
    else:
        ctx.quality("account_flow_unordered", Topic.ACCOUNT)
        return
    tz = zone(ctx.timing.tenant_zones.get(acct.tenant, ctx.timing.default_zone))

    def step(old: Version | None, new: Version, sign: int) -> None:
        if old is not None and old[1] != new[1]:
            kind, team = ("x", old[2]) if old[1] == 1 else ("e", new[2])
            field = FIELD_SEP.join((tenant, acct.currency, kind, team or UNASSIGNED))
            _day_add(ctx, local_date(new[0], tz).toordinal(), field, sign)

    step(before, link, 1)
    later = [v for v in timeline if v > version]
    if later:  # before -> next becomes before -> this -> next
        after = timeline[min(later)]
        step(before, after, -1)
        step(link, after, 1)
    timeline[version] = link
    if len(timeline) > TIMELINE_SIZE:
        oldest = min(timeline)
        acct.dropped = [oldest, *timeline.pop(oldest)]


def _day_add(
    ctx: BatchContext, day: int, name: str, amount: int, *, per_account: bool = False
) -> None:
    """Add to the day's hash; ``per_account``: to the day's per-account hash, kept only
    as long as the longest window (its fields go at 0: a moved credit leaves nothing)."""
    keep_days = PER_ACCOUNT_DAYS if per_account else FLOW_RETENTION_DAYS
    first_day = ctx.timing.now_s // DAY_S + _EPOCH - keep_days
    if not amount or day < first_day:
        return
    iso = date.fromordinal(day).isoformat()
    if per_account:
        key = ctx.keys.account_collected(ctx.partition, iso)
        ctx.plan.add_net(key, name, amount)
    else:
        key = ctx.keys.allocation(ctx.partition, iso)
        ctx.plan.add(key, name, amount)
    end_s = (day - _EPOCH + 2) * DAY_S  # a local day ends at most 14 h after its UTC end
    ctx.plan.expire_in(key, end_s + keep_days * DAY_S - ctx.timing.now_s)


__all__ = [
    "AGES_DAYS",
    "MAX_ENTRIES",
    "TIMELINE_SIZE",
    "UNASSIGNED",
    "on_account",
    "on_payment",
    "target",
]
