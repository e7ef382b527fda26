"""One scrape's partition replies merged: all-time totals and window sums.

All-time fields are summed over partitions, except the timestamps kept with
``keep_max`` / ``keep_min`` (last event, last view, first delivery): those are merged
with max / min, since a sum of times is meaningless. Field names stay bytes until every
partition is merged (most fields are in every partition), then are decoded once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from collectpulse.kpi.ratios import LabelSet, labelset
from collectpulse.store.contact_effects import ATTEMPTS_SINCE
from collectpulse.store.fields import counter_series
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.message_effects import FIRST_DELIVERED, LAST_VIEW
from collectpulse.store.read_cache import PartitionRead, SummedRead
from collectpulse.store.replies import text
from collectpulse.store.window_plan import Segments

LAST_EVENT = "last_event_s"
"""Total field ``last_event_s<SEP><topic>``: newest occurred_at applied (keep_max)."""
LAST_EVENT_MS = "last_event_ms"
"""Total field ``last_event_ms<SEP><topic>``: ``last_event_s`` in milliseconds (keep_max)."""
LAST_APPLIED_MS = "last_applied_ms"
"""Total field ``last_applied_ms<SEP><topic>``: when (Unix ms) the topic last had a batch."""
_MAX_FIELDS = frozenset({LAST_EVENT, LAST_EVENT_MS, LAST_APPLIED_MS, LAST_VIEW, ATTEMPTS_SINCE})
_MIN_FIELDS = frozenset({FIRST_DELIVERED})


def parse_counter_fields(raw: Mapping[str, int]) -> dict[str, dict[LabelSet, float]]:
    """Group raw counter fields into ``counter -> label set -> value``; others are skipped.

    A legacy field and today's may land on one label set (``store.fields``): they add up.
    """
    out: dict[str, dict[LabelSet, float]] = defaultdict(dict)
    for name_and_labels, value in raw.items():
        name, *values = name_and_labels.split(FIELD_SEP)
        labels = counter_series(name, values)
        if labels is None:
            continue
        series = out[name]
        key = labelset(labels)
        series[key] = series.get(key, 0.0) + float(value)
    return out


def merge_totals(into: dict[Any, int], flat: list[Any]) -> None:
    """Add one partition's ``{field, value, ...}`` totals; timestamps merge by max / min.

    Field names are kept as they come (bytes from Redis, decoded once by the caller
    after every partition is merged, since most fields are in every partition)."""
    it = iter(flat)
    for name, raw_value in zip(it, it, strict=True):
        value = int(raw_value)
        old = into.get(name)
        if old is None:
            into[name] = value
        elif _kind_in(name, _MAX_KINDS):
            into[name] = max(old, value)
        elif _kind_in(name, _MIN_KINDS):
            into[name] = min(old, value)
        else:
            into[name] = old + value


@dataclass(frozen=True)
class _Kinds:
    """Field kinds (a field's name before its first separator), matched on str or bytes
    names without decoding them."""

    exact: frozenset[str | bytes]
    text_prefixes: tuple[str, ...]
    byte_prefixes: tuple[bytes, ...]

    @classmethod
    def of(cls, kinds: frozenset[str]) -> _Kinds:
        prefixes = tuple(kind + FIELD_SEP for kind in sorted(kinds))
        exact: frozenset[str | bytes] = frozenset({*kinds, *(kind.encode() for kind in kinds)})
        return cls(exact, prefixes, tuple(p.encode() for p in prefixes))


def _kind_in(name: bytes | str, kinds: _Kinds) -> bool:
    if name in kinds.exact:
        return True
    if isinstance(name, bytes):
        return name.startswith(kinds.byte_prefixes)
    return name.startswith(kinds.text_prefixes)


_MAX_KINDS = _Kinds.of(_MAX_FIELDS)
_MIN_KINDS = _Kinds.of(_MIN_FIELDS)


def decoded(raw: Mapping[Any, int]) -> dict[str, int]:
    return {text(name): value for name, value in raw.items()}


def sum_partitions(entries: Mapping[int, PartitionRead], segments: Segments) -> SummedRead:
    totals: dict[Any, int] = {}
    windows: dict[str, dict[Any, int]] = {w: {} for w in segments.members}
    for entry in entries.values():
        merge_totals(totals, entry.totals)
        for window, members in segments.members.items():
            for run in members:
                add_flat(windows[window], entry.runs[segments.runs[run]])
    return SummedRead((tuple(entries), segments.runs), decoded(totals), windows)


def add_flat(into: dict[Any, int], flat: list[Any]) -> None:
    it = iter(flat)
    for name, value in zip(it, it, strict=True):
        into[name] = into.get(name, 0) + int(value)


__all__ = [
    "LAST_APPLIED_MS",
    "LAST_EVENT",
    "LAST_EVENT_MS",
    "add_flat",
    "decoded",
    "merge_totals",
    "parse_counter_fields",
    "sum_partitions",
]
