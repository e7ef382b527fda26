"""Where an assigned partition resumes (stream.resume): the store's offsets, per topic."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from faust.types import TP

from collectpulse.stream.resume import TopicOffsets, resume_positions

PREFIX = "cp."
COST = "cp.cost"
REFERENCE = ("cp.cost", "cp.agent", "cp.target", "cp.experiment")


def positions(
    assigned: set[TP],
    applied: Mapping[int, Mapping[str, int]],
    topics: Mapping[str, Mapping[int, int]],
):  # type: ignore[no-untyped-def]
    """Resume ``assigned``: ``applied`` the ``{pN}`` offsets, ``topics`` each reference
    topic's (every topic of ``REFERENCE`` has a reader, an absent one reads as empty)."""
    reads: list[object] = []

    async def partition_offsets(partition: int) -> Mapping[str, int]:
        reads.append(partition)
        return applied.get(partition, {})

    def reader(topic: str) -> TopicOffsets:
        async def read() -> Mapping[int, int]:
            reads.append(topic)
            return topics.get(topic, {})

        return read

    out = asyncio.run(
        resume_positions(
            frozenset(assigned),
            prefix=PREFIX,
            partition_offsets=partition_offsets,
            topic_offsets={topic: reader(topic) for topic in REFERENCE},
        )
    )
    return out, reads


def test_a_cost_partition_resumes_after_the_cost_stores_offset() -> None:
    # the partition hash has no field for the cost topic (nor should it be asked)
    applied = {0: {"payment": 41, "cost": 999}, 1: {"payment": 7}}
    costs = {0: 12, 1: 3}
    assigned = {TP(COST, 0), TP(COST, 1), TP("cp.payment", 0), TP("cp.payment", 1)}
    out, reads = positions(assigned, applied, {COST: costs})
    assert out == {TP(COST, 0): 13, TP(COST, 1): 4, TP("cp.payment", 0): 42, TP("cp.payment", 1): 8}
    assert reads.count(COST) == 1  # one read for every cost partition


def test_the_compacted_reference_topics_resume_after_their_stores_offsets() -> None:
    # each topic from its own store; a partition hash field of the same name is not used
    applied = {0: {"agent": 999, "target": 999, "experiment": 999}}
    topics = {"cp.agent": {0: 4, 2: 0}, "cp.target": {0: 9}, "cp.experiment": {1: 30}}
    assigned = {TP(t, p) for t in ("cp.agent", "cp.target", "cp.experiment") for p in (0, 1, 2)}
    out, reads = positions(assigned, applied, topics)
    assert out == {
        TP("cp.agent", 0): 5,
        TP("cp.agent", 2): 1,
        TP("cp.target", 0): 10,
        TP("cp.experiment", 1): 31,
    }  # the other partitions: from the commit
    assert sorted(map(str, reads)) == ["cp.agent", "cp.experiment", "cp.target"]  # once each


def test_partitions_the_store_never_applied_resume_from_the_commit() -> None:
    assigned = {TP(COST, 2), TP("cp.payment", 2), TP("other.payment", 9), TP("cp.agent", 0)}
    out, reads = positions(assigned, {2: {"payment": 5}}, {COST: {0: 1}, "cp.agent": {1: 3}})
    assert out == {TP("cp.payment", 2): 6}
    assert COST in reads and "cp.agent" in reads and 9 not in reads  # foreign: reads nothing


def test_only_the_assigned_topics_offsets_are_read() -> None:
    out, reads = positions({TP("cp.payment", 0)}, {0: {"payment": 0}}, {COST: {0: 1}})
    assert out == {TP("cp.payment", 0): 1}
    assert reads == [0]
