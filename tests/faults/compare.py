"""Differences between a scrape of /metrics and the oracle, and the dead-letter check.

Every ``collectpulse_*`` sample is checked except the families below, which
measure time, liveness or position rather than counts (their values change
with the wall clock or the processes, not with the events).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from collectpulse.settings import Settings
from tests.faults.oracle import Key, Labels, P, Truth
from tests.support.kafka import Consumed
from tests.support.metrics import Samples

NOT_COUNTS = tuple(
    P + name
    for name in (
        "last_event_timestamp_seconds",
        "processing_lag_seconds",
        "applied_offset",
        "consumer_lag_records",
        "worker_",
        "live_workers",
        "dependency_up",
        "apply_lag_seconds",
        "landing_silence_",
        # statistics of messages_paid and messages_delivered, which are checked themselves
        "experiment_",
    )
)
HLL_RELATIVE_ERROR = 0.02
"""Distinct counts are HyperLogLog estimates (about 0.8 % standard error)."""
ESTIMATED_RATIO_ERROR = 2 * HLL_RELATIVE_ERROR + 0.001
"""A ratio with an estimate in its numerator and its denominator."""


def is_checked(name: str) -> bool:
    return name.startswith(P) and not name.startswith(NOT_COUNTS)


def _normal(labels: Labels) -> Labels:
    out = []
    for k, v in labels:
        if not v:
            continue
        if k == "le":
            v = str(float(v))
        out.append((k, v))
    return frozenset(out)


def checked_only(samples: Samples) -> dict[Key, float]:
    return {(n, _normal(ls)): v for (n, ls), v in samples.items() if is_checked(n)}


def compare(truth: Truth, samples: Samples) -> list[str]:
    """One line per sample whose value differs from the truth (absent counts as 0,
    except for ratios, where absent means 'no value')."""
    got = checked_only(samples)
    out = []
    for key in sorted(set(truth.samples) | set(got), key=_show):
        name = key[0]
        expected, actual = truth.samples.get(key), got.get(key)
        if name in truth.ratios or name.endswith("_ratio"):
            rel_tol = ESTIMATED_RATIO_ERROR if name in truth.estimated_ratios else 1e-9
            same = (expected is None and actual is None) or (
                expected is not None
                and actual is not None
                and math.isclose(expected, actual, rel_tol=rel_tol, abs_tol=1e-12)
            )
        elif name in truth.uniques:
            e, a = expected or 0.0, actual or 0.0
            same = abs(e - a) <= HLL_RELATIVE_ERROR * e
        else:
            same = math.isclose(expected or 0.0, actual or 0.0, rel_tol=1e-12, abs_tol=1e-9)
        if not same:
            out.append(f"{_show(key)}: expected {_num(expected)}, got {_num(actual)}")
    for record in truth.unknown:
        out.append(f"{record.topic}[{record.partition}]@{record.offset}: not a record we published")
    return out


def check_dead_letters(
    settings: Settings, truth: Truth, dlq: Sequence[Consumed], notes: list[str]
) -> list[str]:
    """Every poison record is in the DLQ, unchanged, with headers naming where and why."""
    by_source: dict[tuple[str, int, int], list[Consumed]] = {}
    for r in dlq:
        h = r.headers
        try:
            source = (
                h["cp-source-topic"].decode(),
                int(h["cp-source-partition"]),
                int(h["cp-source-offset"]),
            )
        except (KeyError, ValueError):
            return [f"a dead-letter record lacks its cp-source-* headers: {sorted(h)}"]
        by_source.setdefault(source, []).append(r)
    out = []
    for record, pub in truth.poison:
        where = (settings.topic(record.topic.value), record.partition, record.offset)
        copies = by_source.pop(where, [])
        if not copies:
            out.append(f"poison {where[0]}[{where[1]}]@{where[2]} ({pub.reason}) not in the DLQ")
            continue
        for copy in copies:
            h = copy.headers
            if copy.value != record.value or copy.key != pub.key:
                out.append(f"DLQ copy of {where} differs from the poison record")
            if h.get("cp-error-reason") != pub.reason.encode():
                out.append(f"DLQ copy of {where}: cp-error-reason {h.get('cp-error-reason')!r}")
            if not h.get("cp-error-class") or "cp-error" not in h:
                out.append(f"DLQ copy of {where} lacks cp-error-class / cp-error")
        if len(copies) > 1:
            notes.append(f"{len(copies)} DLQ copies of {where} (dead-lettering is at-least-once)")
    for where in by_source:
        out.append(f"DLQ record for {where}, which is not a poison record")
    return out


def _show(key: Key) -> str:
    name, labels = key
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels))
    return f"{name}{{{inner}}}"


def _num(value: float | None) -> str:
    if value is None:
        return "absent"
    return f"{value:g}" if value != int(value) else str(int(value))
