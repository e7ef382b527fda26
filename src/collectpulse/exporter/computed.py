"""Metric families computed from a store view rather than summed: experiments,
landing silence, struggling customers, pipeline position."""

from __future__ import annotations

from collections import Counter as Tally
from collections import defaultdict
from collections.abc import Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric

from collectpulse.kpi.definitions import GAUGES
from collectpulse.kpi.experiment import Arm, evaluate_experiment
from collectpulse.kpi.model import metric_name
from collectpulse.kpi.ratios import CounterValues
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.reader import StoreView
from collectpulse.store.silence import silence_starts
from collectpulse.store.totals import LAST_APPLIED_MS, LAST_EVENT, LAST_EVENT_MS


def gauge_family(name: str, *extra_labels: str) -> GaugeMetricFamily:
    gauge = next(g for g in GAUGES if g.name == name)
    return GaugeMetricFamily(metric_name(gauge), gauge.help, labels=[*gauge.labels, *extra_labels])


def experiments(view: StoreView, min_sample_size: int) -> Iterator[Metric]:
    """Per window, campaign and tenant with >= 2 variants: lift, p-value, P(beat control)."""
    lift = gauge_family("experiment_lift_ratio", "window")
    p_value = gauge_family("experiment_p_value", "window")
    beat = gauge_family("experiment_beat_control_probability", "window")
    for window, values in view.windows.items():
        for (campaign, tenant), arms in sorted(experiment_arms(values).items()):
            result = evaluate_experiment(campaign, arms, min_sample_size)
            for cmp in result.comparisons if result else ():
                labels = [campaign, cmp.variant.variant, cmp.control.variant, tenant, window]
                for family, value in (
                    (lift, cmp.lift),
                    (p_value, cmp.p_value),
                    (beat, cmp.probability_to_beat_control),
                ):
                    if value is not None:
                        family.add_metric(labels, value)
    yield from (lift, p_value, beat)


def experiment_arms(values: CounterValues) -> dict[tuple[str, str], list[Arm]]:
    """(campaign, tenant) -> its variants' arms in one window, in variant name order.

    The unit is a delivered message: paid messages count only up to the delivered
    ones of the same series, so a paid letter (no delivery receipt, never a trial)
    cannot make successes exceed trials.
    """
    delivered_series = values.get("messages_delivered", {})
    delivered = _by_campaign_variant(delivered_series)
    paid = _by_campaign_variant(
        {
            labelset: min(value, delivered_series.get(labelset, 0.0))
            for labelset, value in values.get("messages_paid", {}).items()
        }
    )
    return {
        key: [
            Arm(variant, int(paid.get(key, {}).get(variant, 0)), int(trials))
            for variant, trials in sorted(variants.items())
        ]
        for key, variants in delivered.items()
    }


def _by_campaign_variant(
    series: Mapping[tuple[tuple[str, str], ...], float],
) -> dict[tuple[str, str], dict[str, float]]:
    out: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for labelset, value in series.items():
        labels = dict(labelset)
        out[(labels["campaign"], labels.get("tenant", ""))][labels["variant"]] += value
    return out


def landing_silence(view: StoreView) -> Iterator[Metric]:
    """Per campaign: seconds since its last landing view (or first delivery), and the
    messages delivered since then."""
    seconds = gauge_family("landing_silence_seconds")
    delivered = gauge_family("landing_silence_delivered_messages")
    for campaign, since_s in sorted(silence_starts(view.totals).items()):
        seconds.add_metric(list(campaign), max(view.now_s - since_s, 0))
        delivered.add_metric(list(campaign), view.delivered_since_view.get(campaign, 0))
    yield seconds
    yield delivered


def struggling(view: StoreView) -> Iterator[Metric]:
    family = gauge_family("struggling_customers")
    for tenant, count in sorted(Tally(s.tenant for s in view.struggling).items()):
        family.add_metric([tenant], count)
    yield family


def pipeline(view: StoreView) -> Iterator[Metric]:
    """Per topic: newest applied event time and its processing lag; per partition: offset."""
    last_event = gauge_family("last_event_timestamp_seconds")
    lag = gauge_family("processing_lag_seconds")
    newest: dict[str, int] = {}
    newest_ms: dict[str, int] = {}
    applied_ms: dict[str, int] = {}
    for raw, value in view.totals.items():
        name, _, topic = raw.partition(FIELD_SEP)
        if name == LAST_EVENT:
            newest[topic] = value
        elif name == LAST_EVENT_MS:
            newest_ms[topic] = value
        elif name == LAST_APPLIED_MS:
            applied_ms[topic] = value
    for topic, event_s in sorted(newest.items()):
        last_event.add_metric([topic], event_s)
        if topic in newest_ms and topic in applied_ms:
            lag.add_metric([topic], processing_lag_s(newest_ms[topic], applied_ms[topic]))
    yield last_event
    yield lag
    offsets = gauge_family("applied_offset")
    for (topic, partition), offset in sorted(view.offsets.items()):
        offsets.add_metric([topic, str(partition)], offset)
    yield offsets


def processing_lag_s(event_ms: int, applied_ms: int) -> float:
    """Seconds from the newest event's time to its apply, to the millisecond; 0 if it is
    dated after its apply (a producer clock ahead, within the future tolerance)."""
    return max(applied_ms - event_ms, 0) / 1000
