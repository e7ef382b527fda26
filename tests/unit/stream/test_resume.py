"""Where an assigned partition resumes (stream.resume): the store's offsets, per topic."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from faust.types import TP

from collectpulse.stream.resume import resume_positions

PREFIX = "cp."
COST = "cp.cost"


def positions(
    assigned: set[TP], applied: Mapping[int, Mapping[str, int]], costs: Mapping[int, int]
):  # type: ignore[no-untyped-def]
    reads: list[object] = []

    async def partition_offsets(partition: int) -> Mapping[str, int]:
        reads.append(partition)
        return applied.get(partition, {})

    async def cost_offsets() -> Mapping[int, int]:
        reads.append("costs")
        return costs

    out = asyncio.run(
        resume_positions(
            frozenset(assigned),
            prefix=PREFIX,
            cost_topic=COST,
            partition_offsets=partition_offsets,
            cost_offsets=cost_offsets,
        )
    )
    return out, reads


def test_a_cost_partition_resumes_after_the_cost_stores_offset() -> None:
    # the partition hash has no field for the cost topic (nor should it be asked)
    applied = {0: {"payment": 41, "cost": 999}, 1: {"payment": 7}}
    costs = {0: 12, 1: 3}
    assigned = {TP(COST, 0), TP(COST, 1), TP("cp.payment", 0), TP("cp.payment", 1)}
    out, reads = positions(assigned, applied, costs)
    assert out == {TP(COST, 0): 13, TP(COST, 1): 4, TP("cp.payment", 0): 42, TP("cp.payment", 1): 8}
    assert reads.count("costs") == 1  # one read for every cost partition


def test_partitions_the_store_never_applied_resume_from_the_commit() -> None:
    assigned = {TP(COST, 2), TP("cp.payment", 2), TP("other.payment", 9), TP("cp.agent", 0)}
    out, reads = positions(assigned, {2: {"payment": 5}}, {0: 1})
    assert out == {TP("cp.payment", 2): 6}
    assert "costs" in reads and 9 not in reads  # a foreign topic reads nothing


def test_no_cost_partition_assigned_reads_no_cost_offsets() -> None:
    out, reads = positions({TP("cp.payment", 0)}, {0: {"payment": 0}}, {0: 1})
    assert out == {TP("cp.payment", 0): 1}
    assert reads == [0]
