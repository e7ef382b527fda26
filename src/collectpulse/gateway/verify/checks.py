"""Checks and refusals every verifier shares: tolerance windows, decoding, reasons.

A refusal's `detail` names what failed, never a value from the request or a secret:
it is logged and may be shown to whoever sent the request.
"""

import base64
import binascii
import math
from typing import Final

import orjson

from collectpulse.gateway.verify.base import Refusal

UNAUTHORIZED: Final = 401


def malformed(detail: str) -> Refusal:
    return Refusal(400, "malformed", detail)


def missing_signature(detail: str) -> Refusal:
    return Refusal(UNAUTHORIZED, "missing_signature", detail)


def bad_signature(detail: str) -> Refusal:
    return Refusal(UNAUTHORIZED, "bad_signature", detail)


def outside_tolerance(timestamp_s: float, received_s: float, tolerance_s: int) -> Refusal | None:
    """A stale_timestamp refusal when `timestamp_s` is more than `tolerance_s` from arrival.

    Both directions count: a timestamp far in the future is as suspect as an old one
    (and a clock that runs ahead would otherwise widen the replay window).
    """
    if not math.isfinite(timestamp_s):
        return malformed("timestamp is not a number")
    skew_s = received_s - timestamp_s
    if abs(skew_s) > tolerance_s:
        direction = "old" if skew_s > 0 else "in the future"
        return Refusal(
            UNAUTHORIZED,
            "stale_timestamp",
            f"timestamp is {abs(skew_s):.0f} s {direction}; tolerance is {tolerance_s} s",
        )
    return None


def unix_seconds(text: str) -> float | None:
    """Epoch seconds from a decimal string (as SendGrid and Mailgun send them), else None."""
    if not text.isascii() or not text.strip().isdigit():
        return None
    return float(int(text))


def b64decode(text: str) -> bytes | None:
    """Strict base64, or None: a signature that is not base64 is simply not valid."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def json_value(body: bytes) -> object | None:
    """The decoded JSON body, or None when the body is not JSON."""
    try:
        value: object = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return value
