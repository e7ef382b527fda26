"""Where an assigned partition resumes: the store's applied offset, not Kafka's commit.

Redis is the authority on position (kpi-catalog section 6): with AOF ``everysec`` it
may lose its last second after Kafka committed, and resuming from the commit would
then skip the lost records for good (for a compacted topic: until the key's producer
publishes it again). The event topics' applied offsets live per partition in
``cp:{pN}:off`` (one field per topic). Every other topic read here keeps them per
topic in its store's slot, one field per partition: ``cost`` in ``cp:{costs}:off``,
``agent`` in ``cp:{labels}:roster-off``, ``target`` in ``cp:{targets}:off`` and
``experiment`` in ``cp:{experiments}:off`` (``topic_offsets``). A partition the store
has no offset for resumes from the commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from faust.types import TP

PartitionOffsets = Callable[[int], Awaitable[Mapping[str, int]]]
"""Partition -> (stream -> last applied offset) of the event topics."""
TopicOffsets = Callable[[], Awaitable[Mapping[int, int]]]
"""Partition -> last applied offset of one topic kept outside the ``{pN}`` slots."""


async def resume_positions(
    assigned: frozenset[TP],
    *,
    prefix: str,
    partition_offsets: PartitionOffsets,
    topic_offsets: Mapping[str, TopicOffsets],
) -> dict[TP, int]:
    """The offset each assigned partition resumes from (the one after the last applied).

    ``topic_offsets``: full topic name -> its reader, read at most once per call."""
    positions: dict[TP, int] = {}
    by_partition: dict[int, Mapping[str, int]] = {}
    by_topic: dict[str, Mapping[int, int]] = {}
    for tp in assigned:
        if tp.topic in topic_offsets:
            if tp.topic not in by_topic:
                by_topic[tp.topic] = await topic_offsets[tp.topic]()
            applied = by_topic[tp.topic].get(tp.partition)
        elif tp.topic.startswith(prefix):
            if tp.partition not in by_partition:
                by_partition[tp.partition] = await partition_offsets(tp.partition)
            applied = by_partition[tp.partition].get(tp.topic.removeprefix(prefix))
        else:
            continue
        if applied is not None:
            positions[tp] = applied + 1
    return positions


__all__ = ["PartitionOffsets", "TopicOffsets", "resume_positions"]
