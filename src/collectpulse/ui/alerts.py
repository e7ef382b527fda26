"""The alert conditions of deploy/prometheus/rules/alerts.yml, evaluated over one store view.

The page has no Prometheus to ask, so it computes the conditions itself with the
thresholds of deploy/prometheus/rules/thresholds.yml (``THRESHOLDS``; a unit test
holds the two equal). Two honest differences from Prometheus: a condition shows
as soon as it holds (Prometheus waits for the rule's ``for:`` before firing), and
the alerts that need history (7-day baselines, 15-minute increases, the growth of
the consumer lag, the apply-lag p95) are listed in ``NOT_EVALUATED`` instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from collectpulse.kpi.portfolio import cei_at_pace
from collectpulse.kpi.ratios import CounterValues, ratio
from collectpulse.store.silence import silence_starts

THRESHOLDS: Mapping[str, float] = {
    "bounce_ratio": 0.10,
    "bounce_min_sent": 200,
    "hard_bounce_ratio": 0.05,
    "hard_bounce_min_sent": 50,
    "landing_silence_seconds": 3600,
    "landing_silence_min_delivered": 50,
    "message_payment_ratio_drop": 0.5,
    "message_payment_min_delivered": 200,
    "landing_conversion_drop": 0.5,
    "landing_conversion_min_visitors": 100,
    "open_ratio_drop": 0.5,
    "open_ratio_min_delivered": 100,
    "baseline_min_history_hours": 24,
    "rpc_ratio_min": 0.04,
    "rpc_min_attempts": 200,
    "wrong_number_ratio": 0.25,
    "wrong_number_min_attempts": 200,
    "cei_drop": 0.25,
    "dso_rise": 0.25,
    "dead_letter_records_15m": 10,
    "pipeline_stall_seconds": 1800,
    "consumer_lag_records": 10000,
    "apply_lag_p95_seconds": 60,
    "processing_lag_seconds": 900,
}
"""``collectpulse:threshold:<name>`` of thresholds.yml, the defaults Prometheus loads."""

NOT_EVALUATED = (
    "CollectpulseMessagePaymentRatioDrop",
    "CollectpulseLandingConversionDrop",
    "CollectpulseOpenRatioCollapse",
    "CollectpulseDeadLettersGrowing",
    "CollectpulseExporterDown",
)
"""Alerts that need Prometheus' history (or its view of this exporter): see Prometheus."""

Alert = dict[str, Any]


def bounce_alerts(windows: Mapping[str, CounterValues]) -> list[Alert]:
    """CollectpulseHighBounceRatio (24h) and CollectpulseHardBounceSpike (1h), per
    campaign, channel and tenant."""
    alerts: list[Alert] = []
    for name, window, severity, bounce, limit, min_sent in (
        ("CollectpulseHighBounceRatio", "24h", "warning", None, "bounce_ratio", "bounce_min_sent"),
        (
            "CollectpulseHardBounceSpike",
            "1h",
            "critical",
            "hard",
            "hard_bounce_ratio",
            "hard_bounce_min_sent",
        ),
    ):
        values = windows.get(window)
        if values is None:
            continue
        sent = _sum_by(values.get("messages_sent", {}), ("campaign", "channel", "tenant"))
        bounced = _sum_by(
            values.get("messages_bounced" if bounce else "messages_bounced_any", {}),
            ("campaign", "channel", "tenant"),
            where={"bounce_type": bounce} if bounce else {},
        )
        for key, n_sent in sorted(sent.items()):
            share = ratio(bounced.get(key, 0.0), n_sent)
            if share is None or n_sent < THRESHOLDS[min_sent] or share <= THRESHOLDS[limit]:
                continue
            campaign, channel, tenant = key
            alerts.append(
                _alert(
                    name,
                    severity,
                    {"campaign": campaign, "channel": channel, "tenant": tenant},
                    share,
                    THRESHOLDS[limit],
                    f"{campaign} ({channel}): {share:.1%} of the last {window}'s messages "
                    f"{'hard-' if bounce else ''}bounced",
                )
            )
    return alerts


def contact_alerts(hour: CounterValues | None) -> list[Alert]:
    """CollectpulseRpcRatioCollapse and CollectpulseWrongNumberShareSpike (1h), per
    dialer campaign and tenant, over outbound contact attempts."""
    if hour is None:
        return []
    by = ("dialer_campaign", "tenant")
    outbound = {"direction": "outbound"}
    series = hour.get("contact_attempts", {})
    attempts = _sum_by(series, by, where=outbound)
    reached = {
        outcome: _sum_by(series, by, where={**outbound, "outcome": outcome})
        for outcome in ("right_party", "wrong_party", "invalid_number")
    }
    alerts = []
    for key, n in sorted(attempts.items()):
        campaign = key[0] or "(none)"
        labels = dict(zip(by, key, strict=True))
        rpc = ratio(reached["right_party"].get(key, 0.0), n)
        limit = THRESHOLDS["rpc_ratio_min"]
        if rpc is not None and n >= THRESHOLDS["rpc_min_attempts"] and rpc < limit:
            summary = f"Dialer campaign {campaign}: right-party contact rate {rpc:.1%}"
            alerts.append(
                _alert("CollectpulseRpcRatioCollapse", "warning", labels, rpc, limit, summary)
            )
        wrong = reached["wrong_party"].get(key, 0.0) + reached["invalid_number"].get(key, 0.0)
        share = ratio(wrong, n)
        limit = THRESHOLDS["wrong_number_ratio"]
        if share is not None and n >= THRESHOLDS["wrong_number_min_attempts"] and share > limit:
            summary = f"Dialer campaign {campaign}: {share:.1%} wrong party or invalid number"
            name = "CollectpulseWrongNumberShareSpike"
            alerts.append(_alert(name, "warning", labels, share, limit, summary))
    return alerts


def silence_alerts(
    totals: Mapping[str, int], hour: CounterValues | None, now_s: int
) -> list[Alert]:
    """CollectpulseLandingPageSilence: no landing view for an hour while delivering."""
    if hour is None:
        return []
    delivered = _sum_by(hour.get("messages_delivered", {}), ("campaign", "tenant"))
    alerts = []
    for (campaign, tenant), since_s in sorted(silence_starts(totals).items()):
        silent_s = max(now_s - since_s, 0)
        enough = (
            delivered.get((campaign, tenant), 0.0) >= THRESHOLDS["landing_silence_min_delivered"]
        )
        if silent_s > THRESHOLDS["landing_silence_seconds"] and enough:
            alerts.append(
                _alert(
                    "CollectpulseLandingPageSilence",
                    "critical",
                    {"campaign": campaign, "tenant": tenant},
                    silent_s,
                    THRESHOLDS["landing_silence_seconds"],
                    f"{campaign}: no landing-page view for {silent_s} s while its messages "
                    "are delivered",
                )
            )
    return alerts


def pipeline_alerts(health: Mapping[str, Any], now_s: int) -> list[Alert]:
    """Stalled pipeline, no live worker, a dependency down, consumer lag and processing lag
    over their thresholds, from the page's pipeline-health model."""
    alerts = []
    topics: Mapping[str, Mapping[str, Any]] = health["topics"]
    last = [t["last_event_s"] for t in topics.values() if t["last_event_s"] is not None]
    if last and now_s - max(last) > THRESHOLDS["pipeline_stall_seconds"]:
        stalled_s = now_s - max(last)
        alerts.append(
            _alert(
                "CollectpulsePipelineStalled",
                "critical",
                {},
                stalled_s,
                THRESHOLDS["pipeline_stall_seconds"],
                f"No event applied for {stalled_s} s",
            )
        )
    if health["live_workers"] == 0:
        alerts.append(
            _alert(
                "CollectpulseWorkerDown", "critical", {}, 0, 0, "No collectpulse worker is alive"
            )
        )
    for dependency, up in sorted(health["dependencies"].items()):
        if up is False:
            alerts.append(
                _alert(
                    "CollectpulseDependencyDown",
                    "critical",
                    {"dependency": dependency},
                    0,
                    0,
                    f"{dependency} is unreachable for collectpulse",
                )
            )
    for topic, row in sorted(topics.items()):
        lag = row["consumer_lag_records"]
        if lag is not None and lag > THRESHOLDS["consumer_lag_records"]:
            alerts.append(
                _alert(
                    "CollectpulseConsumerLagGrowing",
                    "warning",
                    {"topic": topic},
                    lag,
                    THRESHOLDS["consumer_lag_records"],
                    f"Topic {topic}: {lag} records waiting (growth not checked here)",
                )
            )
        processing = row["processing_lag_s"]
        if processing is not None and processing > THRESHOLDS["processing_lag_seconds"]:
            alerts.append(
                _alert(
                    "CollectpulseProcessingLagHigh",
                    "warning",
                    {"topic": topic},
                    processing,
                    THRESHOLDS["processing_lag_seconds"],
                    f"Topic {topic}: events are applied {processing:.0f} s late",
                )
            )
    return alerts


def portfolio_alerts(rows: Sequence[Mapping[str, Any]]) -> list[Alert]:
    """CollectpulseCeiDrop and CollectpulseDsoRise per currency and tenant, from the live
    page's portfolio rows (``ui.portfolio``): the 30-day CEI against the one the 90-day
    window's pace gives (``cei_at_pace``), the 30-day DSO against the 90-day DSO (the
    period method is window-neutral on a steady book)."""
    windows: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = defaultdict(dict)
    for row in rows:
        labels = row["labels"]
        windows[(labels["currency"], labels["tenant"])][labels["window"]] = row["values"]
    alerts = []
    for (currency, tenant), by_window in sorted(windows.items()):
        month, quarter = by_window.get("30d", {}), by_window.get("90d", {})
        labels = {"currency": currency, "tenant": tenant}
        cei, cei_90 = month.get("cei_ratio"), quarter.get("cei_ratio")
        if cei is not None and cei_90 is not None:
            limit = cei_at_pace(cei_90, 90, 30, keep=1 - THRESHOLDS["cei_drop"])
            if cei < limit:
                summary = f"{currency}: collection effectiveness fell to {cei:.1%} over 30 days"
                alerts.append(_alert("CollectpulseCeiDrop", "warning", labels, cei, limit, summary))
        dso, dso_90 = month.get("dso_days"), quarter.get("dso_days")
        if dso is not None and dso_90 is not None:
            limit = dso_90 * (1 + THRESHOLDS["dso_rise"])
            if dso > limit:
                summary = f"{currency}: DSO rose to {dso:.1f} days over 30 days"
                alerts.append(_alert("CollectpulseDsoRise", "warning", labels, dso, limit, summary))
    return alerts


def _alert(
    name: str,
    severity: str,
    labels: Mapping[str, str],
    value: float,
    threshold: float,
    summary: str,
) -> Alert:
    return {
        "alert": name,
        "severity": severity,
        "labels": dict(labels),
        "value": value,
        "threshold": threshold,
        "summary": summary,
    }


def _sum_by(
    series: Mapping[tuple[tuple[str, str], ...], float],
    names: tuple[str, ...],
    *,
    where: Mapping[str, str | None] | None = None,
) -> dict[tuple[str, ...], float]:
    out: dict[tuple[str, ...], float] = defaultdict(float)
    for labelset, value in series.items():
        labels = dict(labelset)
        if all(labels.get(k) == v for k, v in (where or {}).items()):
            out[tuple(labels.get(n, "") for n in names)] += value
    return dict(out)
