"""Read the partitions' allocation aggregates for the exporter (one pipelined round trip).

Each partition's day hashes of the last ``FLOW_READ_DAYS`` days (the 90-day window in
every zone, as ``account_reader``) and its cohorts hash, summed here; windows and
ratios are computed by ``kpi.allocation``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from collectpulse.kpi.allocation import AllocationTotals
from collectpulse.store.account_reader import flow_days
from collectpulse.store.allocation import REPAID, UNASSIGNED
from collectpulse.store.client import StoreClient
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.replies import text as _text


async def read_allocation(
    client: StoreClient, keys: Keys, partitions: Sequence[int], now_s: float
) -> AllocationTotals:
    if not partitions:
        return AllocationTotals()
    days = flow_days(now_s)
    pipe = client.pipeline(transaction=False)
    for p in partitions:
        pipe.hgetall(keys.cohorts(p))
        for day in days:
            pipe.hgetall(keys.allocation(p, day))
    replies = await pipe.execute()
    return merge_allocation(days, replies)


_TEAM_KINDS = ("a", "x", "e", "c")
"""The day-hash kinds kept per team (``<tenant> <currency> <kind> <team>``)."""


def merge_allocation(days: Sequence[str], replies: Sequence[dict[Any, Any]]) -> AllocationTotals:
    """Sum ``read_allocation``'s replies: per partition the cohorts hash, then the day
    hashes in the order of ``days``. A team field counts in its team and in the
    tenant's total; an ``a``, ``x`` or ``e`` field without a team (written before teams
    were kept) in the total and in ``__unassigned__``."""
    per = 1 + len(days)
    dates = [date.fromisoformat(d) for d in days]
    by_day: dict[tuple[str, str, date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_team: dict[tuple[str, str, str, date], dict[str, int]] = defaultdict(
        lambda: defaultdict(int)
    )
    by_month: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    placed: dict[tuple[str, date], dict[tuple[date, date | None], int]] = defaultdict(
        lambda: defaultdict(int)
    )
    for start in range(0, len(replies), per):
        for name, value in replies[start].items():
            parts = _text(name).split(FIELD_SEP)
            if len(parts) == 4:
                by_month[(parts[0], parts[1], parts[2])][parts[3]] += int(value)
        for day, hashed in zip(dates, replies[start + 1 : start + per], strict=True):
            for name, value in hashed.items():
                parts = _text(name).split(FIELD_SEP, 3)
                if len(parts) == 3:
                    by_day[(parts[0], parts[1], day)][parts[2]] += int(value)
                    if parts[2] in _TEAM_KINDS:
                        by_team[(parts[0], parts[1], UNASSIGNED, day)][parts[2]] += int(value)
                elif len(parts) == 4 and parts[2] in _TEAM_KINDS and parts[1] != REPAID:
                    by_day[(parts[0], parts[1], day)][parts[2]] += int(value)
                    by_team[(parts[0], parts[1], parts[3], day)][parts[2]] += int(value)
                elif len(parts) == 4 and parts[1] == REPAID and int(value):
                    resolved = None if parts[3] == "-" else date.fromisoformat(parts[3])
                    placed[(parts[0], day)][(date.fromisoformat(parts[2]), resolved)] += int(value)
    return AllocationTotals(
        days={k: dict(v) for k, v in by_day.items()},
        teams={k: dict(v) for k, v in by_team.items()},
        cohorts={k: dict(v) for k, v in by_month.items()},
        placed={k: {due: n for due, n in v.items() if n} for k, v in placed.items()},
    )


__all__ = ["merge_allocation", "read_allocation"]
