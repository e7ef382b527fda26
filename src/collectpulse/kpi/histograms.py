"""Response-time histogram buckets (seconds) and their Prometheus cumulative form.

Collections responses span minutes (an SMS link clicked at once) to weeks (a
letter paid after payday), so the bucket bounds grow roughly geometrically
from one minute to thirty days. Bounds are upper-inclusive, as Prometheus `le`.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Iterable, Sequence

_MINUTE_S = 60
_HOUR_S = 3600
_DAY_S = 86_400

RESPONSE_TIME_BUCKETS_S: tuple[float, ...] = (
    1 * _MINUTE_S,
    5 * _MINUTE_S,
    15 * _MINUTE_S,
    30 * _MINUTE_S,
    1 * _HOUR_S,
    2 * _HOUR_S,
    4 * _HOUR_S,
    8 * _HOUR_S,
    12 * _HOUR_S,
    1 * _DAY_S,
    2 * _DAY_S,
    3 * _DAY_S,
    7 * _DAY_S,
    14 * _DAY_S,
    30 * _DAY_S,
)
"""Upper bounds in seconds; an implicit ``+Inf`` bucket follows the last one."""


def bucket_index(seconds: float, bounds_s: Sequence[float] = RESPONSE_TIME_BUCKETS_S) -> int:
    """Return the index of the bucket an observation falls in; ``len(bounds_s)`` is ``+Inf``.

    Negative durations (the later event's clock ran behind) are rejected rather
    than folded into the first bucket, so the caller can count them instead.
    """
    if math.isnan(seconds) or seconds < 0:
        raise ValueError(f"a response time must be a non-negative number of seconds, got {seconds}")
    # bisect_left keeps a value equal to a bound in that bound's bucket (le is inclusive)
    return bisect.bisect_left(bounds_s, seconds)


def bucket_counts(
    observations_s: Iterable[float], bounds_s: Sequence[float] = RESPONSE_TIME_BUCKETS_S
) -> list[int]:
    """Count observations per bucket (not cumulative), the ``+Inf`` bucket last."""
    counts = [0] * (len(bounds_s) + 1)
    for seconds in observations_s:
        counts[bucket_index(seconds, bounds_s)] += 1
    return counts


def cumulative_buckets(
    counts: Sequence[int], bounds_s: Sequence[float] = RESPONSE_TIME_BUCKETS_S
) -> list[tuple[str, int]]:
    """Turn per-bucket counts into Prometheus ``(le, cumulative count)`` pairs ending at ``+Inf``.

    The pairs fit ``prometheus_client``'s ``HistogramMetricFamily(buckets=...)``.
    """
    if len(counts) != len(bounds_s) + 1:
        raise ValueError(
            f"expected {len(bounds_s) + 1} counts (one per bound plus +Inf), got {len(counts)}"
        )
    return list(zip(_le_labels(tuple(bounds_s)), itertools.accumulate(counts), strict=True))


@functools.cache
def _le_labels(bounds_s: tuple[float, ...]) -> tuple[str, ...]:
    """The ``le`` values of a histogram's buckets, ``+Inf`` last (formatted once)."""
    return tuple(le_label(bound) for bound in (*bounds_s, math.inf))


def le_label(bound_s: float) -> str:
    """Format a bucket bound as a Prometheus ``le`` value, exactly as prometheus_client does."""
    value = float(bound_s)
    if value == math.inf:
        return "+Inf"
    text = repr(value)
    dot = text.find(".")
    # Go (and so Prometheus) switches to an exponent sooner than Python's repr.
    if value > 0 and dot > 6:
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text
