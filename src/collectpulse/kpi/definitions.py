"""The single KPI definitions table: counters, ratios, gauges and histograms of collectpulse.

The store increments the counters, the exporter builds its Prometheus families
from all four tables (gauges and histograms are declared in `kpi.computed` and
gathered here), docs/KPIS.md is rendered from them (`kpi.docs`) and the
dashboards query the names `metric_name` returns. Help texts are the
definitions from the KPI catalog (section 5), worded for a Grafana user.
"""

from __future__ import annotations

from collectpulse.kpi.agents import AGENT_COUNTERS, AGENT_RATIOS
from collectpulse.kpi.computed import GAUGES, HISTOGRAMS
from collectpulse.kpi.contacts import CONTACT_COUNTERS, CONTACT_RATIOS
from collectpulse.kpi.handled import HANDLED_COUNTERS
from collectpulse.kpi.labels import (
    AGENT,
    BOUNCE_TYPE,
    CURRENCY,
    FUNNEL_LABELS,
    LANDING_LABELS,
    PAGEVIEW_LABELS,
    PAYMENT_STATUS,
    PROMISE_LABELS,
    PROMISE_STATUS,
    TENANT,
)
from collectpulse.kpi.model import (
    Aggregation,
    Bucketing,
    Counter,
    Kpi,
    Label,
    Ratio,
    Term,
    metric_name,
    metric_names,
    term,
)
from collectpulse.kpi.quality import QUALITY_COUNTERS
from collectpulse.kpi.self_service import SELF_SERVICE_COUNTERS, SELF_SERVICE_RATIOS

__all__ = [
    "ALL_KPIS",
    "COUNTERS",
    "FUNNEL_LABEL_NAMES",
    "GAUGES",
    "HISTOGRAMS",
    "RATIOS",
    "counter_by_name",
    "metric_name",
    "metric_names",
    "ratio_by_name",
]

FUNNEL_LABEL_NAMES = tuple(label.name for label in FUNNEL_LABELS)
_SENT_WINDOW = "; windowed by the message's send time."

# --- counters ----------------------------------------------------------------


def _funnel(name: str, help_text: str, *extra: Label) -> Counter:
    return Counter(
        name, help_text + _SENT_WINDOW, "funnel", (*FUNNEL_LABELS, *extra), Bucketing.COHORT
    )


FUNNEL_COUNTERS = (
    _funnel("messages_sent", "Messages sent, once per message whichever system reports it first"),
    _funnel(
        "messages_delivered",
        "Messages delivered, once per message (a delivery after soft bounces still counts)",
    ),
    _funnel(
        "messages_bounced",
        "Messages that bounced, once per message and bounce type (a soft bounce later "
        "followed by a hard one counts once under each type)",
        BOUNCE_TYPE,
    ),
    _funnel("messages_bounced_any", "Messages that bounced at least once, hard or soft"),
    _funnel("messages_opened", "Messages opened at least once, machine opens included"),
    _funnel(
        "messages_opened_human",
        "Messages opened at least once by a person (privacy-proxy and scanner opens excluded)",
    ),
    _funnel("messages_clicked", "Messages with at least one link click"),
    _funnel(
        "messages_paid",
        "Messages with at least one successful payment attributed to them, once per message",
    ),
    _funnel(
        "attributed_amount_minor",
        "Sum of amount_minor (minor currency units, e.g. cents) of successful payments "
        "attributed to a message, per currency",
        CURRENCY,
    ),
)

LANDING_COUNTERS = (
    Counter(
        "campaign_deliveries",
        "Messages delivered per campaign, windowed by delivery time (not send time): the "
        "traffic a campaign should be sending to the landing page right now.",
        "landing",
        (Label("campaign"), TENANT),
        Bucketing.ACTIVITY,
    ),
    Counter(
        "landing_pageviews",
        "Landing-page views by traffic source and device (empty device: the view does not "
        "say, schema_version 1); windowed by view time.",
        "landing",
        PAGEVIEW_LABELS,
        Bucketing.ACTIVITY,
    ),
    Counter(
        "landing_unique_visitors",
        "Distinct landing-page visitors by traffic source (HyperLogLog estimate, about "
        "0.8% standard error); windowed by view time.",
        "landing",
        LANDING_LABELS,
        Bucketing.ACTIVITY,
        Aggregation.HLL,
    ),
    Counter(
        "landing_paying_customers",
        "Distinct customers with a successful payment who viewed the landing page within "
        "the attribution window before paying, counted under every source they viewed "
        "from in that window, whichever arrived first (HyperLogLog estimate); windowed "
        "by payment time.",
        "landing",
        LANDING_LABELS,
        Bucketing.ACTIVITY,
        Aggregation.HLL,
    ),
    Counter(
        "landing_installment_plans",
        "Installment plans made through the landing page (promise kind installment_plan, "
        "status made, direction self_service), once under every source the customer "
        "viewed from within the attribution window before it, whichever arrived first; "
        "windowed by the time the plan was made.",
        "landing",
        LANDING_LABELS,
        Bucketing.ACTIVITY,
    ),
)

_BY_DEVICE = (
    " By (source, device) of the crediting views: a customer who viewed from one source "
    "on two devices counts under both, so read it per device and never sum the devices "
    "into a source (the by-source counter counts the customer once)."
)

LANDING_DEVICE_COUNTERS = (
    Counter(
        "landing_unique_visitors_by_device",
        "Distinct landing-page visitors by traffic source and device (HyperLogLog estimate; "
        "empty device: the view does not say); windowed by view time.",
        "landing",
        PAGEVIEW_LABELS,
        Bucketing.ACTIVITY,
        Aggregation.HLL,
    ),
    Counter(
        "landing_paying_customers_by_device",
        "Distinct customers with a successful payment who viewed the landing page within "
        "the attribution window before paying (HyperLogLog estimate); windowed by payment "
        "time." + _BY_DEVICE,
        "landing",
        PAGEVIEW_LABELS,
        Bucketing.ACTIVITY,
        Aggregation.HLL,
    ),
    Counter(
        "landing_installment_plans_by_device",
        "Self-service installment plans made within the attribution window after a landing "
        "view; windowed by the time the plan was made." + _BY_DEVICE,
        "landing",
        PAGEVIEW_LABELS,
        Bucketing.ACTIVITY,
    ),
)

PAYMENT_COUNTERS = (
    Counter(
        "payment_attempts",
        "Payment attempts by outcome (succeeded, failed, aborted); windowed by attempt time.",
        "payments",
        (TENANT, PAYMENT_STATUS),
        Bucketing.ACTIVITY,
    ),
    Counter(
        "collected_amount_minor",
        "Sum of amount_minor (minor currency units, e.g. cents) of successful payments per "
        "currency, and per agent when the payment names one; windowed by payment time.",
        "payments",
        (TENANT, CURRENCY, AGENT),
        Bucketing.ACTIVITY,
    ),
    Counter(
        "reversed_amount_minor",
        "Sum of amount_minor of reversed payments (refunds and chargebacks of an earlier "
        "succeeded payment, status reversed) per currency, and per agent when named; "
        "windowed by reversal time. Reversals are not payment attempts.",
        "payments",
        (TENANT, CURRENCY, AGENT),
        Bucketing.ACTIVITY,
    ),
)

PROMISE_COUNTERS = (
    Counter(
        "promises",
        "Promise-to-pay and installment-plan status changes by status (made, kept, broken, "
        "cancelled); windowed by the time of the change.",
        "promises",
        (*PROMISE_LABELS, PROMISE_STATUS),
        Bucketing.ACTIVITY,
    ),
)

COUNTERS: tuple[Counter, ...] = (
    *FUNNEL_COUNTERS,
    *LANDING_COUNTERS,
    *LANDING_DEVICE_COUNTERS,
    *PAYMENT_COUNTERS,
    *PROMISE_COUNTERS,
    *AGENT_COUNTERS,
    *CONTACT_COUNTERS,
    *SELF_SERVICE_COUNTERS,
    *HANDLED_COUNTERS,
    *QUALITY_COUNTERS,
)

# --- ratios ------------------------------------------------------------------

_VISITORS = (term("landing_unique_visitors"),)
_ATTEMPTS = (term("payment_attempts"),)


def _funnel_ratio(name: str, numerator: Term, denominator: Term, help_text: str) -> Ratio:
    return Ratio(name, (numerator,), (denominator,), help_text, FUNNEL_LABEL_NAMES)


_SENT_ONE = term("messages_sent")
_DELIVERED_ONE = term("messages_delivered")

RATIOS: tuple[Ratio, ...] = (
    _funnel_ratio(
        "delivery",
        _DELIVERED_ONE,
        _SENT_ONE,
        "Share of the messages sent in the window that were delivered.",
    ),
    _funnel_ratio(
        "bounce",
        term("messages_bounced_any"),
        _SENT_ONE,
        "Share of the messages sent in the window that bounced, hard or soft.",
    ),
    _funnel_ratio(
        "hard_bounce",
        term("messages_bounced", bounce_type="hard"),
        _SENT_ONE,
        "Share of the messages sent in the window that hard-bounced (permanent failure).",
    ),
    _funnel_ratio(
        "soft_bounce",
        term("messages_bounced", bounce_type="soft"),
        _SENT_ONE,
        "Share of the messages sent in the window that soft-bounced (temporary failure).",
    ),
    _funnel_ratio(
        "open",
        term("messages_opened"),
        _DELIVERED_ONE,
        "Share of the delivered messages sent in the window that were opened, machine "
        "opens included.",
    ),
    _funnel_ratio(
        "human_open",
        term("messages_opened_human"),
        _DELIVERED_ONE,
        "Share of the delivered messages sent in the window that a person opened "
        "(privacy-proxy and scanner opens excluded).",
    ),
    _funnel_ratio(
        "click_through",
        term("messages_clicked"),
        _DELIVERED_ONE,
        "Share of the delivered messages sent in the window with a link click.",
    ),
    _funnel_ratio(
        "click_to_open",
        term("messages_clicked"),
        term("messages_opened"),
        "Clicked messages per opened message, of the messages sent in the window.",
    ),
    Ratio(
        "message_payment",
        (term("messages_paid"),),
        (_DELIVERED_ONE,),
        "Share of the delivered messages sent in the window with a successful payment "
        "attributed to them, by segment (sum the segments for the variant's figure); "
        "the A/B-test target.",
        ("campaign", "variant", "segment", "tenant"),
    ),
    Ratio(
        "landing_conversion",
        (term("landing_paying_customers"),),
        _VISITORS,
        "Distinct paying customers per distinct landing-page visitor in the window, by source.",
        ("source", "tenant"),
    ),
    Ratio(
        "installment_request",
        (term("landing_installment_plans"),),
        _VISITORS,
        "Installment plans made through the landing page per distinct visitor in the window.",
        ("source", "tenant"),
    ),
    Ratio(
        "landing_conversion_by_device",
        (term("landing_paying_customers_by_device"),),
        (term("landing_unique_visitors_by_device"),),
        "Distinct paying customers per distinct landing-page visitor in the window, by source "
        "and device (K22): which device loses payers between the page and the payment.",
        ("source", "device", "tenant"),
    ),
    Ratio(
        "installment_request_by_device",
        (term("landing_installment_plans_by_device"),),
        (term("landing_unique_visitors_by_device"),),
        "Installment plans made through the landing page per distinct visitor in the window, "
        "by source and device.",
        ("source", "device", "tenant"),
    ),
    Ratio(
        "payment_success",
        (term("payment_attempts", status="succeeded"),),
        _ATTEMPTS,
        "Share of the payment attempts in the window that succeeded.",
        ("tenant",),
    ),
    Ratio(
        "payment_abort",
        (term("payment_attempts", status="aborted"),),
        _ATTEMPTS,
        "Share of the payment attempts in the window that the customer aborted.",
        ("tenant",),
    ),
    Ratio(
        "promise_kept",
        (term("promises", status="kept"),),
        (term("promises", status="kept"), term("promises", status="broken")),
        "Share of the promises resolved in the window (kept or broken) that were kept.",
        ("direction", "kind", "tenant"),
    ),
    *CONTACT_RATIOS,
    *AGENT_RATIOS,
    *SELF_SERVICE_RATIOS,
)


ALL_KPIS: tuple[Kpi, ...] = (*COUNTERS, *RATIOS, *GAUGES, *HISTOGRAMS)

_COUNTERS_BY_NAME = {c.name: c for c in COUNTERS}
_RATIOS_BY_NAME = {r.name: r for r in RATIOS}


def counter_by_name(name: str) -> Counter:
    """Return the counter definition called ``name``; KeyError lists the known names."""
    try:
        return _COUNTERS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown counter {name!r}; known: {sorted(_COUNTERS_BY_NAME)}") from None


def ratio_by_name(name: str) -> Ratio:
    """Return the ratio definition called ``name``; KeyError lists the known names."""
    try:
        return _RATIOS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown ratio {name!r}; known: {sorted(_RATIOS_BY_NAME)}") from None
