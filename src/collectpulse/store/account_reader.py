"""Read the partitions' account aggregates for the exporter (one pipelined round trip).

Reads may span slots (kpi-catalog section 7): each partition's three hashes are
read with HGETALL in one pipeline and summed here; days past due are computed
from the due dates by ``kpi.accounts``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from collectpulse.kpi.accounts import AccountTotals
from collectpulse.store.client import StoreClient
from collectpulse.store.keys import FIELD_SEP, Keys


async def read_accounts(
    client: StoreClient, keys: Keys, partitions: Sequence[int]
) -> AccountTotals:
    """The open-account counts, receivables and active collectors of every partition."""
    if not partitions:
        return AccountTotals()
    pipe = client.pipeline(transaction=False)
    for p in partitions:
        pipe.hgetall(keys.open_accounts(p))
        pipe.hgetall(keys.receivables(p))
        pipe.hgetall(keys.account_agents(p))
    replies = await pipe.execute()
    return merge_accounts(replies)


def merge_accounts(replies: Sequence[dict[Any, Any]]) -> AccountTotals:
    """Sum the replies of ``read_accounts`` (three hashes per partition, in order)."""
    opened: dict[tuple[str, str, str, str, str], int] = defaultdict(int)
    balances: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    collectors: dict[tuple[str, str], set[str]] = defaultdict(set)
    for i in range(0, len(replies), 3):
        for name, value in replies[i].items():
            parts = _text(name).split(FIELD_SEP)
            if len(parts) == 5:
                tenant, status, team, agent, due = parts
                opened[(tenant, status, team, agent, due)] += int(value)
        for name, value in replies[i + 1].items():
            parts = _text(name).split(FIELD_SEP)
            if len(parts) == 4 and parts[3] in ("b", "n"):
                tenant, currency, due, kind = parts
                balances[(tenant, currency, due)][kind == "n"] += int(value)
        for name, value in replies[i + 2].items():
            # the agent id is last and uncapped: it may itself contain the separator
            tenant, team, agent = _text(name).split(FIELD_SEP, 2)
            if int(value) > 0:
                collectors[(tenant, team)].add(agent)
    return AccountTotals(
        open={labels: n for labels, n in opened.items() if n},
        receivables={labels: (b, n) for labels, (b, n) in balances.items()},
        collectors={labels: frozenset(agents) for labels, agents in collectors.items()},
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


__all__ = ["merge_accounts", "read_accounts"]
