"""Helpers for the reference stores' resume checks: run an agent body, resume a topic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from faust.types import TP

from collectpulse.settings import Settings
from collectpulse.stream.batch import RecordBatch
from collectpulse.stream.resume import resume_positions


class DlqSink:
    """A ``SendDlq`` that keeps what it is sent (the broker is not what these tests check)."""

    def __init__(self) -> None:
        self.sent: list[bytes | None] = []

    async def __call__(self, key: bytes | None, value: bytes | None, headers: Any) -> Any:
        self.sent.append(value)
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def run_agent(body: Callable[[Any], Awaitable[None]], batches: Sequence[RecordBatch]) -> None:
    """Run an agent body over ``batches`` as its stream."""

    async def stream() -> AsyncIterator[RecordBatch]:
        for batch in batches:
            yield batch

    await body(stream())


async def resumed(
    settings: Settings,
    topic: str,
    read: Callable[[], Awaitable[Mapping[int, int]]],
    partitions: range,
) -> dict[int, int]:
    """Partition -> the offset ``topic``'s assigned ``partitions`` resume from (as the worker)."""

    async def no_event_offsets(partition: int) -> dict[str, int]:
        return {}  # cp:{pN}:off: only a same-named field there could be (wrongly) used

    full = settings.topic(topic)
    positions = await resume_positions(
        frozenset(TP(full, p) for p in partitions),
        prefix=settings.topic_prefix,
        partition_offsets=no_event_offsets,
        topic_offsets={full: read},
    )
    return {tp.partition: offset for tp, offset in positions.items()}
