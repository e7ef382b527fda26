"""Event-time window math: bucket starts, the buckets of a rolling window, retention.

Pure functions in the quix-streams style with units in the argument names. A
rolling window is the sum of fixed-size buckets; a bucket is named by its start
in epoch seconds and lives for `retention_s` after that start.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

DEFAULT_BUCKET_S = 60
DEFAULT_WINDOWS = ("1h", "24h", "7d")

_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_DURATION = re.compile(r"(\d+)([smhdw])")


def parse_duration(text: str) -> int:
    """Parse a duration such as ``90s``, ``15m``, ``1h``, ``24h``, ``7d`` or ``2w`` into seconds."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"invalid duration {text!r}: expected a whole number followed by one unit "
            "of s, m, h, d or w (e.g. '90s', '15m', '1h', '24h', '7d')"
        )
    return int(match.group(1)) * _UNIT_S[match.group(2)]


def format_duration(seconds: int) -> str:
    """Format seconds as the shortest ``parse_duration`` text in s, m, h or d (86400 -> ``1d``)."""
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {seconds}")
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNIT_S[unit] == 0:
            return f"{seconds // _UNIT_S[unit]}{unit}"
    return f"{seconds}s"


def bucket_start_s(ts_s: float, bucket_s: int) -> int:
    """Return the start (epoch seconds) of the bucket holding the timestamp ``ts_s``."""
    _require_positive("bucket_s", bucket_s)
    # floor, not int(): events before the epoch must not share bucket 0 with those after it
    return math.floor(ts_s / bucket_s) * bucket_s


def buckets_for_window(now_s: float, window_s: int, bucket_s: int) -> range:
    """Return the bucket starts a rolling window of ``window_s`` ending at ``now_s`` sums over.

    The window holds ``window_s // bucket_s`` buckets, the newest being the
    (still filling) bucket that contains ``now_s``.
    """
    _require_positive("window_s", window_s)
    _require_positive("bucket_s", bucket_s)
    if window_s % bucket_s:
        raise ValueError(
            f"window_s={window_s} is not a multiple of bucket_s={bucket_s}: "
            "a rolling window must consist of whole buckets"
        )
    newest = bucket_start_s(now_s, bucket_s)
    oldest = newest - window_s + bucket_s
    return range(oldest, newest + bucket_s, bucket_s)


def retention_s(windows_s: Iterable[int], attribution_window_s: int) -> int:
    """Return how long a bucket must live after its start: largest window + attribution horizon.

    A cohort bucket is read for as long as the largest window covers it, and
    late effects (an attributed payment days after the send) still land in it
    up to the attribution horizon after the send.
    """
    windows = list(windows_s)
    if not windows:
        raise ValueError("retention_s needs at least one window")
    for window in windows:
        _require_positive("window_s", window)
    if attribution_window_s < 0:
        raise ValueError(f"attribution_window_s must be >= 0, got {attribution_window_s}")
    return max(windows) + attribution_window_s


def bucket_expired(start_s: int, now_s: float, ttl_s: int) -> bool:
    """Tell whether the bucket starting at ``start_s`` is past its retention ``ttl_s``.

    An effect aimed at an expired bucket counts in the all-time totals and as late only.
    """
    return now_s >= start_s + ttl_s


def _require_positive(name: str, value: int) -> None:
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
