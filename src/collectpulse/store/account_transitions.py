"""Exits from and re-entries into the open statuses, in version order (K20, ``kpi.handled``).

An account's state is its highest version, but a transition happens between two
consecutive versions, and versions may arrive in any order. So the account's hash
keeps a short history (``hx``: version, open or not, team and tenant labels as
capped then, event time) and counts the transitions of the version chain: a version
that arrives between two known ones takes back the transition counted between
them and counts its own two, each in the bucket of the later version's time.
Whatever the arrival order, the counts end as the complete chain's. An exit counts
under the team left, a re-entry under the team joined; the lowest version (the
placement) is no transition. Only the newest ``MAX_HISTORY`` versions are kept: a
version older than all of them changes nothing. An account stored before the history
existed starts it from its state.
"""

from __future__ import annotations

import orjson

from collectpulse.events.models import OPEN_STATUSES, AccountEvent
from collectpulse.store.context import BatchContext

HISTORY = "hx"
MAX_HISTORY = 32
UNASSIGNED = "__unassigned__"

Link = list[int | str]
"""[version, open (0/1), team label, tenant label, event time s]."""


def record(ctx: BatchContext, state: dict[str, str], event: AccountEvent) -> dict[str, str]:
    """Count ``event``'s transitions; the hash fields to update (none for a known version)."""
    chain: list[Link] = orjson.loads(state[HISTORY]) if state.get(HISTORY) else _seed(ctx, state)
    version = event.version
    if any(link[0] == version for link in chain):
        return {}
    if len(chain) >= MAX_HISTORY and version < int(chain[0][0]):
        return {}
    team = ctx.label("team", event.team) if event.team else UNASSIGNED
    tenant = ctx.label("tenant", event.tenant or "")
    at_s = int(event.occurred_at.timestamp())
    link: Link = [version, int(event.status in OPEN_STATUSES), team, tenant, at_s]
    before = [x for x in chain if int(x[0]) < version]
    after = [x for x in chain if int(x[0]) > version]
    prev, nxt = (before[-1] if before else None), (after[0] if after else None)
    if prev is not None and nxt is not None:
        _transition(ctx, prev, nxt, -1)
    if prev is not None:
        _transition(ctx, prev, link, 1)
    if nxt is not None:
        _transition(ctx, link, nxt, 1)
    chain = [*before, link, *after][-MAX_HISTORY:]
    return {HISTORY: orjson.dumps(chain).decode()}


def _seed(ctx: BatchContext, state: dict[str, str]) -> list[Link]:
    """An account stored before this history existed: its state as the one known version,
    at time 0 (a transition it ends is past retention: counted in the totals only)."""
    if "v" not in state:  # store.account_effects' field names (version, open field, ...)
        return []
    team = ctx.label("team", state["tm"]) if state.get("tm") else UNASSIGNED
    tenant = ctx.label("tenant", state.get("tn", ""))
    return [[int(state["v"]), int(bool(state.get("of"))), team, tenant, 0]]


def _transition(ctx: BatchContext, old: Link, new: Link, amount: int) -> None:
    if old[1] == new[1]:
        return
    exit_ = bool(old[1])
    labels = {"team": str(old[2] if exit_ else new[2]), "tenant": str(new[3])}
    counter = "account_exits" if exit_ else "account_reentries"
    ctx.windowed(counter, labels, int(new[4]), amount)
