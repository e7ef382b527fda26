"""Worker heartbeats as stored in ``cp:{meta}:heartbeats``: the record, its codec, its ages.

Written by ``stream.heartbeat``, read by the exporter's health and ``/readyz``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

HEARTBEAT_INTERVAL_S = 5.0
"""How often a worker writes its heartbeat (stream.heartbeat)."""
HEARTBEAT_STALE_S = 3 * HEARTBEAT_INTERVAL_S
"""A worker whose last beat is older than this (three missed beats) is not live."""
HEARTBEAT_FORGET_S = 600
"""Heartbeats older than this are no longer reported (a worker gone for good)."""


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    """One worker's latest heartbeat (written by ``stream.heartbeat``)."""

    worker: str
    beat_s: float
    """Wall-clock time of the beat (Unix seconds)."""
    partitions: tuple[int, ...]
    """Partition numbers the worker's consumer is assigned (of any collectpulse topic)."""
    healthy: bool = True
    """Whether the worker's last attempt at Redis / Kafka worked (``DependencyState``)."""
    reason: str = ""
    """Why not, e.g. ``redis: ConnectionError``."""
    wait_timeouts: int = 0
    """Writes since the worker started whose WAIT for replicas timed out."""

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "beat_s": self.beat_s,
                "partitions": list(self.partitions),
                "healthy": self.healthy,
                "reason": self.reason,
                "wait_timeouts": self.wait_timeouts,
            }
        )

    @classmethod
    def decode(cls, worker: str, raw: bytes | str) -> WorkerBeat | None:
        """Parse a stored beat; None when it is not one (never raises on bad data)."""
        try:
            data = orjson.loads(raw)
            return cls(
                worker=worker,
                beat_s=float(data["beat_s"]),
                partitions=tuple(sorted(int(p) for p in data.get("partitions", ()))),
                healthy=bool(data.get("healthy", True)),
                reason=str(data.get("reason", "")),
                wait_timeouts=int(data.get("wait_timeouts", 0)),
            )
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
            return None


def recent_beats(raw: Mapping[Any, Any], now_s: float) -> tuple[WorkerBeat, ...]:
    """The decodable beats of the heartbeats hash younger than ``HEARTBEAT_FORGET_S``."""
    beats = (
        WorkerBeat.decode(worker.decode() if isinstance(worker, bytes) else worker, value)
        for worker, value in raw.items()
    )
    recent = [b for b in beats if b is not None and now_s - b.beat_s <= HEARTBEAT_FORGET_S]
    return tuple(sorted(recent, key=lambda b: b.worker))
