"""The contact KPIs (kpi-catalog section 9, K1-K3), part of the one definitions table.

``kpi.definitions`` includes these in ``COUNTERS`` and ``RATIOS``; they live
apart only to keep that module small. Attempts are counted by the time the
outcome was known (activity buckets); the ratios are outbound only.
"""

from __future__ import annotations

from collectpulse.kpi.labels import CONTACT_LABELS
from collectpulse.kpi.model import Bucketing, Counter, Ratio, Term, term

CONTACT_COUNTERS = (
    Counter(
        "contact_attempts",
        "Finished contact attempts (calls, chats, e-mail replies) by direction, channel and "
        "outcome, per team, agent and dialer campaign when named; a second event with the "
        "same contact_id is a duplicate. Windowed by the time the outcome was known.",
        "contacts",
        CONTACT_LABELS,
        Bucketing.ACTIVITY,
    ),
)

# Outbound contact ratios (K2, K3): voicemail, busy and no answer stay in the denominator.
_CONTACT_RATIO_LABELS = ("channel", "team", "agent", "dialer_campaign", "tenant")
_OUTBOUND = (term("contact_attempts", direction="outbound"),)


def _outbound(*outcomes: str) -> tuple[Term, ...]:
    return tuple(term("contact_attempts", direction="outbound", outcome=o) for o in outcomes)


CONTACT_RATIOS = (
    Ratio(
        "rpc",
        _outbound("right_party"),
        _OUTBOUND,
        "Right-party contact rate: outbound attempts in the window that reached the customer "
        "(right_party) per outbound attempt, unanswered, voicemail and busy ones included.",
        _CONTACT_RATIO_LABELS,
    ),
    Ratio(
        "contact",
        _outbound("right_party", "wrong_party"),
        _OUTBOUND,
        "Outbound attempts in the window that reached a person (right or wrong party) per "
        "outbound attempt.",
        _CONTACT_RATIO_LABELS,
    ),
    Ratio(
        "wrong_number",
        _outbound("wrong_party", "invalid_number"),
        _OUTBOUND,
        "Outbound attempts in the window that reached a wrong party or an invalid number per "
        "outbound attempt: the phone-data quality signal.",
        _CONTACT_RATIO_LABELS,
    ),
)
