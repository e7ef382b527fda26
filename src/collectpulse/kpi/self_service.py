"""Self-service share (catalog §9, K19), a section of the one KPI definitions table.

A succeeded payment counts under who started it (``initiated_by``; absent: ``agent``
when the payment names an agent, else ``self_service``, catalog §8). The shares
compare self-service with agent payments; ``scheduled`` ones (direct debits, plan
instalments) are in neither side of the shares and shown apart by the counters.
Promises made self-service are the ``promises`` counter's ``direction``.
"""

from __future__ import annotations

from collectpulse.kpi.labels import CURRENCY, TENANT
from collectpulse.kpi.model import Bucketing, Counter, Label, Ratio, term

INITIATED_BY = Label("initiated_by", ("self_service", "agent", "scheduled"))
_LABELS = (INITIATED_BY, CURRENCY, TENANT)
_WHO = "by who started them (initiated_by; when absent: agent if the payment names an agent, "
_WHO += "else self_service), per currency; windowed by payment time."

SELF_SERVICE_COUNTERS = (
    Counter(
        "initiated_payments", f"Succeeded payments {_WHO}", "payments", _LABELS, Bucketing.ACTIVITY
    ),
    Counter(
        "initiated_amount_minor",
        f"Sum of amount_minor of succeeded payments {_WHO}",
        "payments",
        _LABELS,
        Bucketing.ACTIVITY,
    ),
)


_PAYMENTS_SS = term("initiated_payments", initiated_by="self_service")
_PAYMENTS_AGENT = term("initiated_payments", initiated_by="agent")
_AMOUNT_SS = term("initiated_amount_minor", initiated_by="self_service")
_AMOUNT_AGENT = term("initiated_amount_minor", initiated_by="agent")
_APART = " Scheduled payments are in neither side (initiated_payments shows them)."

SELF_SERVICE_RATIOS = (
    Ratio(
        "self_service_share",
        (_PAYMENTS_SS,),
        (_PAYMENTS_SS, _PAYMENTS_AGENT),
        "Self-service share by count: succeeded payments in the window started by the "
        f"customer per self-service or agent payment (catalog K19).{_APART}",
        ("currency", "tenant"),
    ),
    Ratio(
        "self_service_amount_share",
        (_AMOUNT_SS,),
        (_AMOUNT_SS, _AMOUNT_AGENT),
        "Self-service share by amount: amount of the succeeded payments in the window "
        f"started by the customer per amount of self-service and agent payments (K19).{_APART}",
        ("currency", "tenant"),
    ),
    Ratio(
        "self_service_promise_share",
        (term("promises", direction="self_service", status="made"),),
        (term("promises", status="made"),),
        "Promises and installment plans made self-service (direction self_service) in the "
        "window per promise made in the window, by kind (catalog K19).",
        ("kind", "tenant"),
    ),
)
