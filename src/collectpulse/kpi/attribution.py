"""Customer-level rules over plain data: payment attribution, landing silence, struggling customers.

All times are epoch seconds (``*_s``). The store feeds these functions what it
holds about a customer or campaign; nothing here reads a clock or a server.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

DEFAULT_ATTRIBUTION_WINDOW_S = 7 * 86_400
DEFAULT_STRUGGLING_MIN_FAILURES = 3
DEFAULT_STRUGGLING_WINDOW_S = 86_400

PaymentStatus = Literal["succeeded", "failed", "aborted"]


@dataclass(frozen=True)
class Payment:
    """A payment to attribute: when it happened and the message it names, if any."""

    occurred_at_s: float
    message_id: str | None = None


@dataclass(frozen=True)
class CandidateMessage:
    """A message delivered to the paying customer, with its first click if any."""

    message_id: str
    delivered_at_s: float
    clicked_at_s: float | None = None


def attribute_payment(
    payment: Payment,
    candidates: Iterable[CandidateMessage],
    window_s: float = DEFAULT_ATTRIBUTION_WINDOW_S,
) -> str | None:
    """Return the message id a payment is attributed to, or None.

    The payment's own ``message_id`` wins. Otherwise the most recently clicked
    message, else the most recently delivered one, counting only clicks and
    deliveries within ``window_s`` before the payment (bounds included).
    Equal times resolve to the greatest message id, so every worker agrees.
    """
    if payment.message_id:
        return payment.message_id
    if window_s < 0:
        raise ValueError(f"window_s must be >= 0, got {window_s}")
    messages = list(candidates)
    clicks = ((m.clicked_at_s, m.message_id) for m in messages if m.clicked_at_s is not None)
    deliveries = ((m.delivered_at_s, m.message_id) for m in messages)
    window = (payment.occurred_at_s - window_s, payment.occurred_at_s)
    return _latest_within(clicks, window) or _latest_within(deliveries, window)


def _latest_within(events: Iterable[tuple[float, str]], window: tuple[float, float]) -> str | None:
    earliest_s, latest_s = window
    in_window = [
        (at_s, message_id) for at_s, message_id in events if earliest_s <= at_s <= latest_s
    ]
    return max(in_window)[1] if in_window else None


@dataclass(frozen=True)
class LandingSilence:
    """How long a campaign's landing page has been silent, and what was delivered meanwhile."""

    campaign: str
    silence_s: float | None
    """Seconds since the last view, or since the first delivery when never viewed; None
    while the campaign has neither."""
    delivered_since_last_view: int


def landing_silence(
    campaign: str,
    now_s: float,
    last_view_at_s: float | None,
    delivered_at_s: Iterable[float],
) -> LandingSilence:
    """Measure a campaign's landing silence: the broken-link signal.

    A campaign never viewed counts its silence from its first delivery, so a
    brand-new send whose link is broken alerts too.
    """
    deliveries = list(delivered_at_s)
    if last_view_at_s is not None:
        since = [t for t in deliveries if t > last_view_at_s]
        return LandingSilence(campaign, now_s - last_view_at_s, len(since))
    if deliveries:
        return LandingSilence(campaign, now_s - min(deliveries), len(deliveries))
    return LandingSilence(campaign, None, 0)


def landing_silence_by_campaign(
    now_s: float,
    last_view_at_s: Mapping[str, float],
    deliveries: Iterable[tuple[str, float]],
) -> dict[str, LandingSilence]:
    """Measure landing silence per campaign from last views and ``(campaign, delivered_at_s)``."""
    delivered: dict[str, list[float]] = defaultdict(list)
    for campaign, at_s in deliveries:
        delivered[campaign].append(at_s)
    campaigns = sorted(last_view_at_s.keys() | delivered.keys())
    return {
        c: landing_silence(c, now_s, last_view_at_s.get(c), delivered.get(c, ())) for c in campaigns
    }


@dataclass(frozen=True)
class PaymentOutcome:
    """One payment attempt of a customer."""

    customer_id: str
    occurred_at_s: float
    status: PaymentStatus


@dataclass(frozen=True)
class StrugglingCustomer:
    """A customer who keeps failing to pay: the row agents see on the HTTP API."""

    customer_id: str
    unsuccessful_attempts: int
    last_attempt_at_s: float


def struggling_customers(
    attempts: Iterable[PaymentOutcome],
    now_s: float,
    min_failures: int = DEFAULT_STRUGGLING_MIN_FAILURES,
    window_s: float = DEFAULT_STRUGGLING_WINDOW_S,
) -> list[StrugglingCustomer]:
    """List customers with >= ``min_failures`` failed or aborted attempts and no success.

    Only attempts in ``(now_s - window_s, now_s]`` count. The list is ordered
    most unsuccessful attempts first, then by customer id.
    """
    if min_failures < 1:
        raise ValueError(f"min_failures must be >= 1, got {min_failures}")
    unsuccessful: dict[str, list[float]] = defaultdict(list)
    paid: set[str] = set()
    for attempt in attempts:
        if not now_s - window_s < attempt.occurred_at_s <= now_s:
            continue
        if attempt.status == "succeeded":
            paid.add(attempt.customer_id)
        else:
            unsuccessful[attempt.customer_id].append(attempt.occurred_at_s)
    rows = [
        StrugglingCustomer(customer, len(times), max(times))
        for customer, times in unsuccessful.items()
        if customer not in paid and len(times) >= min_failures
    ]
    return sorted(rows, key=lambda row: (-row.unsuccessful_attempts, row.customer_id))
