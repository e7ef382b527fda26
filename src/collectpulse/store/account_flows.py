"""Daily balance flows S and R of accounts (kpi-catalog section 9), booked exactly once.

Account state follows ``version``, but flows are a sum over distinct events: every
valid account event (deduplicated on its event id, a stale version included: its
change happened) adds its ``delta_minor`` to the day of its ``occurred_at`` in the
tenant's time zone: S for a positive delta, R for a negative one, and R's cash part
``c`` for a ``payment``. Hence B(W) = E(now) - S(W) + R(W) needs no snapshot.

The implicit ``closed_residual`` depends on two consecutive versions, not on one
event. With phi(version) = its balance when its status is terminal, else 0, the
step from version p to the next one v books phi(p) - phi(v) on v's day: -balance
when an account leaves the open statuses with a balance, +balance when it re-opens
(the balance it was closed with), and -delta for a change to a closed account, so
E moves by exactly S - R. To be order-independent the account hash keeps its last
``HISTORY_SIZE`` versions (version, day, phi): a version arriving between two known
ones p < v < s takes back the step p -> s and books p -> v and v -> s, so the
buckets end as a replay in version order would leave them. A version older than the
kept history (more than 8 newer ones applied first) books its delta only and counts
in ``account_flow_unordered``.
"""

from __future__ import annotations

from datetime import date

from collectpulse.events.models import OPEN_STATUSES, AccountEvent, Topic
from collectpulse.store.context import BatchContext
from collectpulse.store.keys import DAY_S, FIELD_SEP
from collectpulse.zones import local_date, zone

FLOW_RETENTION_DAYS = 400
"""Days a flow bucket is kept after its day (the catalog asks for at least 400)."""
HISTORY_SIZE = 8
HISTORY = "fh"
"""Account-hash field: the newest versions seen, ``version,day,phi`` joined by ``;``."""
DROPPED = "fx"
"""Account-hash field: ``version,phi`` of the newest version dropped from the history."""
_EPOCH = date(1970, 1, 1).toordinal()

Entry = tuple[int, int]
"""(day as a date ordinal, phi) of one version."""


def phi(status: str, balance_minor: int) -> int:
    """The balance a version holds outside the open statuses (0 while open)."""
    return 0 if status in OPEN_STATUSES else balance_minor


def book_flows(
    ctx: BatchContext, state: dict[str, str], event: AccountEvent, occurred_s: int
) -> dict[str, str]:
    """Book ``event``'s delta and closing residual; the account-hash fields to update."""
    timing = ctx.timing
    tz = zone(timing.tenant_zones.get(event.tenant or "", timing.default_zone))
    day = local_date(occurred_s, tz).toordinal()
    book = _Booker(ctx, ctx.label("tenant", event.tenant or ""), event.currency)
    if not book.keeps(day):
        ctx.count_late(event)
    delta = event.delta_minor
    book.add(day, delta)
    if delta < 0 and event.change == "payment":
        book.add_kind(day, "c", -delta)
    entries = parse_history(state.get(HISTORY, ""))
    if event.version in entries:
        return {}  # the same version again under another event id: its state is known
    dropped = _dropped(state)
    earlier = [v for v in entries if v < event.version]
    if earlier:
        before = entries[max(earlier)][1]
    elif dropped is None:
        before = 0  # nothing older: the account did not exist
    elif dropped[0] < event.version:
        before = dropped[1]
    else:
        ctx.quality("account_flow_unordered", Topic.ACCOUNT)
        return {}
    now = phi(event.status, event.balance_minor)
    book.add(day, before - now)
    later = [v for v in entries if v > event.version]
    if later:  # the step before -> next is now before -> this -> next
        next_day, next_phi = entries[min(later)]
        book.take_back(next_day, before - next_phi)
        book.add(next_day, now - next_phi)
    entries[event.version] = (day, now)
    return _history_fields(entries, dropped)


def parse_history(text: str) -> dict[int, Entry]:
    out: dict[int, Entry] = {}
    for item in filter(None, text.split(";")):
        version, day, value = item.split(",")
        out[int(version)] = (int(day), int(value))
    return out


def _dropped(state: dict[str, str]) -> tuple[int, int] | None:
    text = state.get(DROPPED)
    if text:
        version, value = text.split(",")
        return int(version), int(value)
    if HISTORY not in state and "v" in state:  # store.account_effects' field names
        # state written before flows were kept: its version is the known predecessor
        return int(state["v"]), phi(state.get("st", "open"), int(state.get("bal", "0")))
    return None


def _history_fields(entries: dict[int, Entry], dropped: tuple[int, int] | None) -> dict[str, str]:
    versions = sorted(entries)
    fields: dict[str, str] = {}
    if len(versions) > HISTORY_SIZE:
        oldest = versions[-HISTORY_SIZE - 1]
        dropped = (oldest, entries[oldest][1])
        versions = versions[-HISTORY_SIZE:]
    if dropped is not None:
        fields[DROPPED] = f"{dropped[0]},{dropped[1]}"
    fields[HISTORY] = ";".join(f"{v},{entries[v][0]},{entries[v][1]}" for v in versions)
    return fields


class _Booker:
    """Signed amounts into one tenant's and currency's daily flow buckets."""

    def __init__(self, ctx: BatchContext, tenant: str, currency: str) -> None:
        self._ctx = ctx
        self._prefix = f"{tenant}{FIELD_SEP}{currency}{FIELD_SEP}"
        self._first_day = (ctx.timing.now_s // DAY_S) + _EPOCH - FLOW_RETENTION_DAYS

    def keeps(self, day: int) -> bool:
        return day >= self._first_day

    def add(self, day: int, amount: int) -> None:
        """A positive amount is S, a negative one R (a negative S or R takes one back)."""
        if amount > 0:
            self.add_kind(day, "s", amount)
        elif amount < 0:
            self.add_kind(day, "r", -amount)

    def take_back(self, day: int, amount: int) -> None:
        """Undo ``add(day, amount)``."""
        if amount > 0:
            self.add_kind(day, "s", -amount)
        elif amount < 0:
            self.add_kind(day, "r", amount)

    def add_kind(self, day: int, kind: str, amount: int) -> None:
        if not amount or not self.keeps(day):
            return
        ctx = self._ctx
        key = ctx.keys.flows(ctx.partition, date.fromordinal(day).isoformat())
        ctx.plan.add(key, f"{self._prefix}{kind}", amount)
        # a local day ends at most 14 h after its UTC end: one day of slack
        end_s = (day - _EPOCH + 2) * DAY_S
        ctx.plan.expire_in(key, end_s + FLOW_RETENTION_DAYS * DAY_S - ctx.timing.now_s)


__all__ = ["FLOW_RETENTION_DAYS", "HISTORY_SIZE", "book_flows", "parse_history", "phi"]
