"""A customer's copy of each account for allocation (``ac:<account_id>`` in the customer
hash, ``store.allocation``): currency, tenant, placement, resolution and the timeline of
versions (time, open, team, commission) that says which account was open, and under
which team and commission, at a payment's time."""

from __future__ import annotations

from typing import Any

import orjson

ACCOUNT = "ac:"
Version = tuple[int, int, str, int]
"""A timeline entry: (at_s, open 0/1, team label or "" for none, commission_bp); "" and
not ``__unassigned__`` is stored, 14 bytes less per version and per entry."""


def version_link(link: list[Any]) -> Version:
    """[at_s, open, team, bp] or, stored before teams, [at_s, open]."""
    team = str(link[2]) if len(link) > 2 else ""
    return int(link[0]), int(link[1]), team, int(link[3]) if len(link) > 3 else 0


class AccountTimeline:
    """``ac:<account_id>``: [currency, tenant, placed [version, at_s, balance, due date
    ordinal] or [], timeline [[version, at_s, open, team, bp], ...], dropped [version,
    at_s, open, team, bp] or [], resolved: the earliest at_s of a paid_in_full/settled
    version or -1]."""

    def __init__(self, raw: str | None) -> None:
        loaded: list[Any] = orjson.loads(raw) if raw else ["", "", [], [], [], -1]
        self.currency: str = loaded[0]
        self.tenant: str = loaded[1]
        self.placed: list[int] = loaded[2]
        self.timeline: dict[int, Version] = {v[0]: version_link(v[1:]) for v in loaded[3]}
        self.dropped: list[Any] = loaded[4]
        self.resolved_s: int = loaded[5] if len(loaded) > 5 else -1

    def dump(self) -> str:
        timeline = [[v, *link] for v, link in sorted(self.timeline.items())]
        return orjson.dumps(
            [self.currency, self.tenant, self.placed, timeline, self.dropped, self.resolved_s]
        ).decode()

    def terms_at(self, at_s: int) -> list[Any]:
        """[team label ("" none), commission_bp] of the version in force at ``at_s``: the
        newest that happened before it, else the oldest known (a payment before any)."""
        before = [v for v, link in self.timeline.items() if link[0] < at_s]
        if before:
            link = self.timeline[max(before)]
        elif self.dropped:
            link = version_link(self.dropped[1:])
        elif self.timeline:
            link = self.timeline[min(self.timeline)]
        else:
            return ["", 0]
        return [link[2], link[3]]

    def open_before(self, at_s: int) -> bool:
        """Whether the newest version that happened before ``at_s`` is open."""
        before = [v for v, link in self.timeline.items() if link[0] < at_s]
        if before:
            return self.timeline[max(before)][1] == 1
        return bool(self.dropped) and self.dropped[1] < at_s and self.dropped[2] == 1


class AccountTimelines:
    """The customer's ``ac:`` entries, each parsed once (the state does not change while
    one event re-runs its list)."""

    def __init__(self, state: dict[str, str]) -> None:
        self._state = state
        self._parsed: dict[str, AccountTimeline] = {}
        self._ids = [name[len(ACCOUNT) :] for name in state if name.startswith(ACCOUNT)]

    def get(self, account_id: str) -> AccountTimeline:
        acct = self._parsed.get(account_id)
        if acct is None:
            acct = self._parsed[account_id] = AccountTimeline(self._state.get(ACCOUNT + account_id))
        return acct

    def ids(self) -> list[str]:
        return self._ids


__all__ = ["ACCOUNT", "AccountTimeline", "AccountTimelines", "Version", "version_link"]
