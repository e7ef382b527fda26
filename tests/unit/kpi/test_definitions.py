"""Behaviour of the KPI definitions table: names, labels and internal consistency."""

from __future__ import annotations

import dataclasses
from collections import Counter as Multiset
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.parser import text_string_to_metric_families

from collectpulse.kpi.definitions import (
    ALL_KPIS,
    COUNTERS,
    GAUGES,
    HISTOGRAMS,
    RATIOS,
    counter_by_name,
    metric_name,
    metric_names,
    ratio_by_name,
)
from collectpulse.kpi.histograms import bucket_counts, cumulative_buckets
from collectpulse.kpi.model import (
    Aggregation,
    Bucketing,
    Counter,
    Gauge,
    Histogram,
    Kpi,
    Label,
    Ratio,
    term,
)
from collectpulse.kpi.validation import definition_problems

FUNNEL = ["channel", "campaign", "variant", "segment", "tenant"]

EXPECTED_COUNTERS = {
    "messages_sent": (Bucketing.COHORT, FUNNEL),
    "messages_delivered": (Bucketing.COHORT, FUNNEL),
    "messages_bounced": (Bucketing.COHORT, [*FUNNEL, "bounce_type"]),
    "messages_bounced_any": (Bucketing.COHORT, FUNNEL),
    "messages_opened": (Bucketing.COHORT, FUNNEL),
    "messages_opened_human": (Bucketing.COHORT, FUNNEL),
    "messages_clicked": (Bucketing.COHORT, FUNNEL),
    "messages_paid": (Bucketing.COHORT, FUNNEL),
    "attributed_amount_minor": (Bucketing.COHORT, [*FUNNEL, "currency"]),
    "campaign_deliveries": (Bucketing.ACTIVITY, ["campaign", "tenant"]),
    "landing_pageviews": (Bucketing.ACTIVITY, ["source", "device", "tenant"]),
    "landing_unique_visitors": (Bucketing.ACTIVITY, ["source", "tenant"]),
    "landing_paying_customers": (Bucketing.ACTIVITY, ["source", "tenant"]),
    "landing_installment_plans": (Bucketing.ACTIVITY, ["source", "tenant"]),
    "landing_unique_visitors_by_device": (Bucketing.ACTIVITY, ["source", "device", "tenant"]),
    "landing_paying_customers_by_device": (Bucketing.ACTIVITY, ["source", "device", "tenant"]),
    "landing_installment_plans_by_device": (Bucketing.ACTIVITY, ["source", "device", "tenant"]),
    "payment_attempts": (Bucketing.ACTIVITY, ["tenant", "status"]),
    "collected_amount_minor": (Bucketing.ACTIVITY, ["tenant", "currency", "agent"]),
    "promises": (Bucketing.ACTIVITY, ["direction", "kind", "tenant", "status"]),
    "agent_promises": (Bucketing.ACTIVITY, ["status", "agent", "tenant"]),
    "reversed_amount_minor": (Bucketing.ACTIVITY, ["tenant", "currency", "agent"]),
    "contact_attempts": (
        Bucketing.ACTIVITY,
        ["tenant", "direction", "channel", "outcome", "team", "agent", "dialer_campaign"],
    ),
    "promise_cohort": (
        Bucketing.PROMISE_COHORT,
        ["direction", "kind", "agent", "tenant", "status"],
    ),
    "initiated_payments": (Bucketing.ACTIVITY, ["initiated_by", "currency", "tenant"]),
    "initiated_amount_minor": (Bucketing.ACTIVITY, ["initiated_by", "currency", "tenant"]),
    "account_exits": (Bucketing.ACTIVITY, ["team", "tenant"]),
    "account_reentries": (Bucketing.ACTIVITY, ["team", "tenant"]),
    "events_received": (Bucketing.TOTAL, ["topic"]),
    "events_invalid": (Bucketing.TOTAL, ["topic", "reason"]),
    "events_duplicate": (Bucketing.TOTAL, ["topic"]),
    "events_late": (Bucketing.TOTAL, ["topic"]),
    "events_orphaned": (Bucketing.TOTAL, ["topic"]),
    "events_dead_lettered": (Bucketing.TOTAL, ["topic"]),
    "events_key_mismatch": (Bucketing.TOTAL, ["topic"]),
    "account_stale_versions": (Bucketing.TOTAL, ["topic"]),
    "account_flow_unordered": (Bucketing.TOTAL, ["topic"]),
    "agent_credit_late": (Bucketing.TOTAL, ["topic"]),
    "currency_mismatch": (Bucketing.TOTAL, ["topic"]),
    "label_overflows": (Bucketing.TOTAL, ["label"]),
    "state_limit_hits": (Bucketing.TOTAL, ["limit"]),
    "provider_events_skipped": (Bucketing.TOTAL, ["provider", "kind"]),
    "provider_records_dead_lettered": (Bucketing.TOTAL, ["provider", "reason"]),
}

EXPECTED_GAUGES = {
    "open_accounts": ["status", "dpd_bucket", "team", "agent", "tenant"],
    "accounts_per_collector": ["team", "tenant"],
    "collected_per_collector": ["currency", "team", "tenant", "window"],
    "agents_below_target": ["metric", "team", "tenant"],
    "team_outbound_ptp_per_rpc_ratio": ["team", "tenant", "window"],
    "team_outbound_kept_per_rpc_ratio": ["team", "tenant", "window"],
    "team_promise_kept_cohort_ratio": ["direction", "kind", "team", "tenant", "window"],
    "team_promises_made": ["team", "tenant", "window"],
    "team_promise_kept_ratio": ["team", "tenant", "window"],
    "receivables_minor": ["currency", "dpd_bucket", "tenant"],
    "dso_days": ["currency", "tenant", "window"],
    "best_possible_dso_days": ["currency", "tenant", "window"],
    "add_days": ["currency", "tenant", "window"],
    "cei_ratio": ["currency", "tenant", "window"],
    "cash_cei_ratio": ["currency", "tenant", "window"],
    "balance_weighted_dpd_days": ["currency", "tenant"],
    "outbound_attempts_per_account": ["team", "tenant"],
    "collected_per_account": ["currency", "tenant", "window"],
    "cost_minor": ["category", "currency", "tenant", "window"],
    "cost_per_contact": ["currency", "tenant", "window"],
    "cost_to_collect_ratio": ["currency", "tenant", "window"],
    "profit_per_account": ["currency", "tenant", "window"],
    "collected_unallocated_minor": ["currency", "tenant", "window"],
    "handled_accounts": ["currency", "tenant", "window"],
    "team_collected_per_account": ["currency", "team", "tenant", "window"],
    "team_handled_accounts": ["currency", "team", "tenant", "window"],
    "recovery_ratio": ["currency", "cohort", "tenant"],
    "repaid_by_dpd_ratio": ["dpd", "tenant", "window"],
    "landing_silence_seconds": ["campaign", "tenant"],
    "landing_silence_delivered_messages": ["campaign", "tenant"],
    "struggling_customers": ["tenant"],
    "experiment_lift_ratio": ["campaign", "variant", "control", "tenant"],
    "experiment_p_value": ["campaign", "variant", "control", "tenant"],
    "experiment_beat_control_probability": ["campaign", "variant", "control", "tenant"],
    "experiment_units": ["campaign", "arm", "control", "tenant"],
    "experiment_conversions": ["campaign", "arm", "control", "tenant"],
    "experiment_exposed_units": ["campaign", "arm", "control", "tenant"],
    "experiment_segment_units": ["campaign", "arm", "control", "segment", "tenant"],
    "experiment_segment_conversions": ["campaign", "arm", "control", "segment", "tenant"],
    "experiment_segment_exposed_units": ["campaign", "arm", "control", "segment", "tenant"],
    "experiment_segment_crossover_customers": ["campaign", "control", "segment", "tenant"],
    "experiment_segment_av_p_value": ["campaign", "variant", "control", "segment", "tenant"],
    "experiment_segment_diff_lower": ["campaign", "variant", "control", "segment", "tenant"],
    "experiment_segment_diff_upper": ["campaign", "variant", "control", "segment", "tenant"],
    "experiment_crossover_customers": ["campaign", "control", "tenant"],
    "experiment_av_p_value": ["campaign", "variant", "control", "tenant"],
    "experiment_diff_lower": ["campaign", "variant", "control", "tenant"],
    "experiment_diff_upper": ["campaign", "variant", "control", "tenant"],
    "experiment_lift_lower": ["campaign", "variant", "control", "tenant"],
    "experiment_lift_upper": ["campaign", "variant", "control", "tenant"],
    "experiment_srm_p_value": ["campaign", "control", "tenant"],
    "experiment_srm_flag": ["campaign", "control", "tenant"],
    "experiment_verdict": ["campaign", "variant", "control", "tenant", "verdict"],
    "last_event_timestamp_seconds": ["topic"],
    "processing_lag_seconds": ["topic"],
    "applied_offset": ["topic", "partition"],
    "consumer_lag_records": ["topic", "partition"],
    "worker_heartbeat_age_seconds": ["worker"],
    "worker_assigned_partitions": ["worker"],
    "worker_redis_wait_timeouts": ["worker"],
    "live_workers": [],
    "dependency_up": ["dependency"],
    "send_hour_messages": ["channel", "tenant", "send_hour", "stage"],
    "send_weekday_messages": ["channel", "tenant", "send_weekday", "stage"],
}


def test_the_table_is_consistent() -> None:
    assert definition_problems(ALL_KPIS) == []


def test_counters_are_exactly_the_store_contract() -> None:
    actual = {c.name: (c.bucketing, [label.name for label in c.labels]) for c in COUNTERS}
    assert actual == EXPECTED_COUNTERS


def test_gauges_are_exactly_the_exported_computed_families() -> None:
    assert {g.name: list(g.labels) for g in GAUGES} == EXPECTED_GAUGES


def test_every_catalog_ratio_is_defined() -> None:
    assert {r.name for r in RATIOS} == {
        "delivery",
        "bounce",
        "hard_bounce",
        "soft_bounce",
        "open",
        "human_open",
        "click_through",
        "click_to_open",
        "landing_conversion",
        "payment_success",
        "payment_abort",
        "installment_request",
        "landing_conversion_by_device",
        "installment_request_by_device",
        "promise_kept",
        "message_payment",
        "agent_promise_kept",
        "rpc",
        "contact",
        "wrong_number",
        "outbound_ptp_per_rpc",
        "outbound_kept_per_rpc",
        "promise_kept_cohort",
        "self_service_share",
        "self_service_amount_share",
        "self_service_promise_share",
    }


def test_promise_ratios_per_rpc_mix_windows_on_purpose_and_nothing_else_does() -> None:
    rpcs = 'contact_attempts{direction="outbound",outcome="right_party"}'
    made = 'promise_cohort{direction="outbound",kind="promise_to_pay",status="made"}'
    assert ratio_by_name("outbound_ptp_per_rpc").formula() == f"{made} / {rpcs}"
    kept = 'promise_cohort{direction="outbound",status="kept"}'
    assert ratio_by_name("outbound_kept_per_rpc").formula() == f"{kept} / {rpcs}"
    assert ratio_by_name("promise_kept_cohort").formula() == (
        'promise_cohort{status="kept"} / promise_cohort{status="made"}'
    )
    assert {r.name for r in RATIOS if r.mixed_windows} == {
        "outbound_ptp_per_rpc",
        "outbound_kept_per_rpc",
    }


def test_self_service_shares_leave_scheduled_payments_out() -> None:
    share = ratio_by_name("self_service_share")
    assert share.formula() == (
        'initiated_payments{initiated_by="self_service"} / '
        '(initiated_payments{initiated_by="self_service"} + '
        'initiated_payments{initiated_by="agent"})'
    )
    assert ratio_by_name("self_service_amount_share").labels == ("currency", "tenant")
    assert ratio_by_name("self_service_promise_share").formula() == (
        'promises{direction="self_service",status="made"} / promises{status="made"}'
    )


def test_the_contact_ratios_are_outbound_with_every_attempt_in_the_denominator() -> None:
    outbound = 'contact_attempts{direction="outbound"'
    assert ratio_by_name("rpc").formula() == (f'{outbound},outcome="right_party"}} / {outbound}}}')
    assert ratio_by_name("wrong_number").formula() == (
        f'({outbound},outcome="wrong_party"}} + {outbound},outcome="invalid_number"}})'
        f" / {outbound}}}"
    )
    assert ratio_by_name("contact").labels == (
        "channel",
        "team",
        "agent",
        "dialer_campaign",
        "tenant",
    )


def test_message_payment_ratio_is_by_segment() -> None:
    # K23: segment results; the terms' counters carry segment, so the ratio can keep it
    ratio = ratio_by_name("message_payment")
    assert ratio.labels == ("campaign", "variant", "segment", "tenant")
    for t in (*ratio.numerator, *ratio.denominator):
        assert "segment" in {label.name for label in counter_by_name(t.counter).labels}


def test_landing_load_time_is_a_sub_second_histogram_by_source_device_and_tenant() -> None:
    # K22: page load times, fine around the 2.5 s a page should load in
    (load,) = (h for h in HISTOGRAMS if h.name == "landing_load_seconds")
    assert metric_name(load) == "collectpulse_landing_load_seconds"
    assert load.labels == ("source", "device", "tenant")
    assert load.buckets_s[0] == 0.25 and 2.5 in load.buckets_s and load.buckets_s[-1] == 20.0
    assert list(load.buckets_s) == sorted(set(load.buckets_s))
    device = {label.name: label for label in counter_by_name("landing_pageviews").labels}["device"]
    assert device.values == ("mobile", "desktop", "tablet", "other") and device.optional


def test_promise_kept_ratio_divides_by_kept_plus_broken() -> None:
    kept = ratio_by_name("promise_kept")
    assert kept.formula() == (
        'promises{status="kept"} / (promises{status="kept"} + promises{status="broken"})'
    )


def test_summing_counters_export_an_all_time_total_and_a_windowed_gauge() -> None:
    sent = counter_by_name("messages_sent")
    assert metric_names(sent) == (
        "collectpulse_messages_sent_total",
        "collectpulse_windowed_messages_sent",
    )


def test_money_is_exported_in_minor_units_per_currency() -> None:
    money = [c for c in COUNTERS if "amount" in c.name]
    assert {c.name for c in money} == {
        "attributed_amount_minor",
        "collected_amount_minor",
        "reversed_amount_minor",
        "initiated_amount_minor",
    }
    for counter in money:
        assert metric_name(counter).endswith("_amount_minor_total")
        assert "currency" in [label.name for label in counter.labels]


def test_distinct_counts_are_windowed_estimates_without_a_total() -> None:
    visitors = counter_by_name("landing_unique_visitors")
    assert visitors.aggregation is Aggregation.HLL
    assert "HyperLogLog" in visitors.help
    assert metric_names(visitors) == ("collectpulse_windowed_landing_unique_visitors",)
    with pytest.raises(ValueError, match="no total"):
        metric_name(visitors)


def test_all_time_counters_have_no_windowed_name() -> None:
    with pytest.raises(ValueError, match="no window"):
        metric_name(counter_by_name("events_late"), windowed=True)


def test_ratio_gauge_and_histogram_names_follow_prometheus_conventions() -> None:
    assert metric_name(ratio_by_name("click_to_open")) == "collectpulse_click_to_open_ratio"
    assert all(metric_name(h).endswith("_seconds") for h in HISTOGRAMS)
    assert all(n.startswith("collectpulse_") for k in ALL_KPIS for n in metric_names(k))
    assert not any(metric_name(g).endswith("_total") for g in GAUGES)


def test_labels_never_name_personal_data() -> None:
    forbidden = {"customer_id", "email", "phone", "url", "visitor_id", "message_id"}
    names = {label.name for c in COUNTERS for label in c.labels}
    names |= {name for k in ALL_KPIS if not isinstance(k, Counter) for name in k.labels}
    assert not names & forbidden


def test_unknown_names_raise_a_key_error_listing_the_known_ones() -> None:
    with pytest.raises(KeyError, match="messages_sent"):
        counter_by_name("nope")
    with pytest.raises(KeyError, match="promise_kept"):
        ratio_by_name("nope")


# --- the validator catches bad edits ---------------------------------------------


def _with(*kpis: Kpi) -> list[str]:
    return definition_problems([*ALL_KPIS, *kpis])


def test_validator_flags_a_ratio_over_an_unknown_counter() -> None:
    bad = Ratio("bad", (term("nope"),), (term("messages_sent"),), "h", ("campaign",))
    assert any("unknown counter 'nope'" in p for p in _with(bad))


def test_validator_flags_a_filter_value_outside_the_closed_set() -> None:
    bad = Ratio("bad", (term("promises", status="late"),), (term("promises"),), "h", ())
    assert any("status='late'" in p for p in _with(bad))


def test_validator_flags_a_distinct_count_summed_over_a_label() -> None:
    bad = Ratio("bad", (term("landing_unique_visitors"),), (term("landing_pageviews"),), "h", ())
    assert any("must keep all its labels" in p for p in _with(bad))


def test_validator_flags_mixed_bucketings_and_all_time_counters() -> None:
    bad = Ratio("bad", (term("events_late"),), (term("messages_sent"),), "h", ())
    problems = _with(bad)
    assert any("mixes bucketings" in p for p in problems)
    assert any("all-time counter" in p for p in problems)
    allowed = Ratio(
        "ok", (term("promise_cohort"),), (term("contact_attempts"),), "h", (), mixed_windows=True
    )
    assert not any("mixes bucketings" in p for p in _with(allowed))


def test_validator_flags_a_name_collision_between_kinds() -> None:
    clash = Gauge("messages_sent_total", "h", "funnel", ())
    assert any("collectpulse_messages_sent_total" in p for p in _with(clash))


def test_validator_flags_unsorted_histogram_buckets_and_bad_names() -> None:
    bad = Histogram("Bad-Name_seconds", "h", "x", (), (60.0, 30.0))
    problems = _with(bad)
    assert any("strictly increasing" in p for p in problems)
    assert any("snake_case" in p for p in problems)


def test_definitions_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        counter_by_name("messages_sent").name = "x"  # type: ignore[misc]


# --- the names survive a real Prometheus exposition --------------------------------


def _label_names(kpi: Kpi) -> list[str]:
    if isinstance(kpi, Counter):
        return [label.name for label in kpi.labels]
    return list(kpi.labels)


class _EveryKpi:
    """Emit one sample of every family, as the exporter's collector would."""

    def collect(self) -> Iterator[Metric]:
        for kpi in ALL_KPIS:
            yield from _families(kpi, _label_names(kpi))


def _families(kpi: Kpi, labels: list[str]) -> Iterator[Metric]:
    values = ["x"] * len(labels)
    if isinstance(kpi, Counter):
        if kpi.has_total:
            total = CounterMetricFamily(metric_name(kpi), kpi.help, labels=labels)
            total.add_metric(values, 1)
            yield total
        if kpi.windowed:
            window = GaugeMetricFamily(
                metric_name(kpi, windowed=True), kpi.help, labels=[*labels, "window"]
            )
            window.add_metric([*values, "1h"], 1)
            yield window
    elif isinstance(kpi, Histogram):
        family = HistogramMetricFamily(metric_name(kpi), kpi.help, labels=labels)
        counts = bucket_counts([30.0], kpi.buckets_s)
        family.add_metric(values, cumulative_buckets(counts, kpi.buckets_s), sum_value=30.0)
        yield family
    else:
        gauge = GaugeMetricFamily(metric_name(kpi), kpi.help, labels=[*labels, "window"])
        gauge.add_metric([*values, "1h"], 0.5)
        yield gauge


def test_every_kpi_renders_as_a_distinct_prometheus_family() -> None:
    registry = CollectorRegistry()
    registry.register(_EveryKpi())

    text = generate_latest(registry).decode()
    families = list(text_string_to_metric_families(text))

    counts = Multiset(family.name for family in families)
    assert [name for name, count in counts.items() if count > 1] == []
    sample_names = {sample.name for family in families for sample in family.samples}
    expected = {name for kpi in ALL_KPIS for name in metric_names(kpi)}
    histogram_names = {metric_name(h) for h in HISTOGRAMS}
    assert expected - histogram_names <= sample_names
    assert {f"{name}_bucket" for name in histogram_names} <= sample_names


def test_help_texts_are_single_lines_a_grafana_user_can_read() -> None:
    for kpi in ALL_KPIS:
        assert "\n" not in kpi.help
        assert len(kpi.help) >= 30, kpi.name


def test_optional_labels_are_tenant_agent_team_dialer_campaign_and_device_only() -> None:
    optional = {label.name for c in COUNTERS for label in c.labels if label.optional}
    # team and dialer campaign: null when the dialer never bridged an agent / no campaign;
    # device: a schema_version 1 pageview does not say
    assert optional == {"tenant", "agent", "team", "dialer_campaign", "device"}
    assert Label("x").values == ()
