"""Where an assigned partition resumes: the store's applied offset, not Kafka's commit.

Redis is the authority on position (kpi-catalog section 6): with AOF ``everysec`` it
may lose its last second after Kafka committed, and resuming from the commit would
then skip the lost records for good. The event topics' applied offsets live per
partition in ``cp:{pN}:off`` (one field per topic); the ``cost`` topic's in
``cp:{costs}:off`` (one field per partition), since its agent applies in the
``{costs}`` slot. A partition the store has no offset for resumes from the commit.
The compacted reference topics (agent, target, experiment) keep no per-partition
offset and also resume from the commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from faust.types import TP

PartitionOffsets = Callable[[int], Awaitable[Mapping[str, int]]]
"""Partition -> (stream -> last applied offset) of the event topics."""
CostOffsets = Callable[[], Awaitable[Mapping[int, int]]]
"""Partition -> last applied offset of the cost topic."""


async def resume_positions(
    assigned: frozenset[TP],
    *,
    prefix: str,
    cost_topic: str,
    partition_offsets: PartitionOffsets,
    cost_offsets: CostOffsets,
) -> dict[TP, int]:
    """The offset each assigned partition resumes from (the one after the last applied)."""
    positions: dict[TP, int] = {}
    by_partition: dict[int, Mapping[str, int]] = {}
    costs: Mapping[int, int] | None = None
    for tp in assigned:
        if tp.topic == cost_topic:
            if costs is None:
                costs = await cost_offsets()
            applied = costs.get(tp.partition)
        elif tp.topic.startswith(prefix):
            if tp.partition not in by_partition:
                by_partition[tp.partition] = await partition_offsets(tp.partition)
            applied = by_partition[tp.partition].get(tp.topic.removeprefix(prefix))
        else:
            continue
        if applied is not None:
            positions[tp] = applied + 1
    return positions


__all__ = ["resume_positions"]
