"""PromQL rendered from the KPI definitions: matchers follow the KPI's labels, ratios follow
their definition, rules are reused where they keep the labels, raw series are deduplicated."""

from __future__ import annotations

import pytest

from collectpulse.dashboards import promql, recorded
from collectpulse.dashboards.promql import ALL, UNFILTERED, PromQLError, Selection
from collectpulse.kpi.definitions import GAUGES, HISTOGRAMS, counter_by_name, ratio_by_name
from collectpulse.kpi.model import Ratio, term

SENT = counter_by_name("messages_sent")
PROMISES = counter_by_name("promises")
VISITORS = counter_by_name("landing_unique_visitors")
LIFT = next(g for g in GAUGES if g.name == "experiment_lift_ratio")
SEND_TO_OPEN = next(h for h in HISTOGRAMS if h.name == "send_to_open_seconds")


def test_selector_filters_only_the_labels_the_kpi_carries() -> None:
    assert promql.selector(PROMISES, windowed=True) == (
        'collectpulse_windowed_promises{tenant=~"$tenant",window="$window"}'
    )
    assert promql.selector(SENT) == (
        'collectpulse_messages_sent_total{channel=~"$channel",campaign=~"$campaign",'
        'tenant=~"$tenant"}'
    )


def test_windowed_gauges_get_the_window_matcher_and_unfiltered_series_no_braces() -> None:
    assert promql.selector(LIFT).endswith('window="$window"}')
    assert promql.selector(counter_by_name("events_received"), UNFILTERED) == (
        "collectpulse_events_received_total"
    )


def test_pinning_a_label_the_kpi_lacks_or_a_value_outside_its_closed_set_fails() -> None:
    with pytest.raises(PromQLError, match="no label 'bounce_type'"):
        promql.selector(SENT, ALL.pin(bounce_type="hard"))
    with pytest.raises(PromQLError, match="not one of"):
        promql.selector(PROMISES, ALL.pin(status="forgotten"))
    with pytest.raises(PromQLError, match="to group by"):
        promql.windowed_sum(PROMISES, ("campaign",))


def test_ratio_is_numerator_or_zero_over_a_positive_denominator() -> None:
    by_channel = Selection(filters=("channel", "tenant"))
    expr = promql.ratio(ratio_by_name("delivery"), ("channel",), by_channel)
    matchers = '{channel=~"$channel",tenant=~"$tenant",window="$window"}'
    delivered = f"sum by (channel) (collectpulse:channel:messages_delivered{matchers})"
    sent = f"sum by (channel) (collectpulse:channel:messages_sent{matchers})"
    assert expr == f"({delivered} or {sent} * 0) / ({sent} > 0)"


def test_ratio_with_a_sum_of_terms_becomes_one_selector_per_side() -> None:
    expr = promql.ratio(ratio_by_name("promise_kept"), ("direction",))
    assert 'status="kept"' in expr
    assert expr.count('status=~"broken|kept"') == 2
    assert "+" not in expr


def test_terms_sharing_a_pinned_label_become_one_selector_varying_in_the_other() -> None:
    tenant_only = Selection(filters=("tenant",))
    expr = promql.ratio(ratio_by_name("wrong_number"), ("team",), tenant_only)
    attempts = "collectpulse_windowed_contact_attempts"
    outbound = 'tenant=~"$tenant",direction="outbound"'
    wrong = f'{attempts}{{{outbound},outcome=~"invalid_number|wrong_party",window="$window"}}'
    every = f'{attempts}{{{outbound},window="$window"}}'
    numerator = f"sum by (team) (max without (instance) ({wrong}))"
    denominator = f"sum by (team) (max without (instance) ({every}))"
    assert expr == f"({numerator} or {denominator} * 0) / ({denominator} > 0)"


def test_terms_differing_in_two_labels_cannot_be_one_selector() -> None:
    # direction=outbound,outcome=busy + direction=inbound,outcome=wrong_party would
    # also sum outbound wrong_party and inbound busy as one selector
    mixed = Ratio(
        "mixed",
        (
            term("contact_attempts", direction="outbound", outcome="busy"),
            term("contact_attempts", direction="inbound", outcome="wrong_party"),
        ),
        (term("contact_attempts"),),
        "help",
        ("tenant",),
    )
    with pytest.raises(PromQLError, match="exactly one label"):
        promql.ratio(mixed)


def test_the_narrowest_recording_rule_that_keeps_the_needed_labels_is_used() -> None:
    assert recorded.rule_for(SENT, {"channel", "tenant"}) == recorded.Rule(
        "collectpulse:channel:messages_sent", ("channel", "tenant")
    )
    assert recorded.rule_for(SENT, {"campaign", "channel"}).name == (  # type: ignore[union-attr]
        "collectpulse:campaign_channel:messages_sent"
    )
    assert recorded.rule_for(SENT, {"segment"}) is None
    assert recorded.rule_for(counter_by_name("attributed_amount_minor"), {"campaign"}) is None


def test_series_without_a_rule_are_deduplicated_across_exporters() -> None:
    by_segment = promql.windowed_sum(SENT, ("segment",))
    assert by_segment.startswith("sum by (segment) (max without (instance) (")
    assert "collectpulse_windowed_messages_sent{" in by_segment
    assert promql.per_second(SENT).startswith("sum (max without (instance) (rate(")


def test_landing_source_can_be_filtered_and_grouped_as_a_channel() -> None:
    from_channels = Selection(filters=("tenant",), also=(("source", "channel"),))
    expr = promql.windowed_sum(VISITORS, ("channel",), from_channels, rename=("source", "channel"))
    assert expr == (
        "sum by (channel) (label_replace(collectpulse:source:landing_unique_visitors"
        '{tenant=~"$tenant",source=~"$channel",window="$window"}, '
        '"channel", "$1", "source", "(.*)"))'
    )


def test_quantile_over_the_dashboard_range_keeps_le_in_the_grouping() -> None:
    expr = promql.quantile(SEND_TO_OPEN, 0.9, ("channel",), UNFILTERED)
    assert expr == (
        "histogram_quantile(0.9, sum by (le, channel) (max without (instance) "
        "(increase(collectpulse_send_to_open_seconds_bucket[$__range]))))"
    )


def test_derived_rules_drop_a_name_prefix_equal_to_their_level() -> None:
    dead = counter_by_name("provider_records_dead_lettered")
    assert recorded.derived("provider", dead, "increase15m").name == (
        "collectpulse:provider:records_dead_lettered:increase15m"
    )
    with pytest.raises(PromQLError, match="keeps no label"):
        promql.recorded_rule(recorded.derived("provider", dead, "x"), dead, ("reason",))


def test_a_stage_ratio_reads_one_fixed_window_of_a_gauge_with_its_own_windows() -> None:
    kpi = next(g for g in GAUGES if g.name == "send_hour_messages")
    expr = promql.stage_ratio(kpi, ("send_hour",), "paid", "delivered", "28d")
    assert 'stage="paid",window="28d"' in expr and 'stage="delivered",window="28d"' in expr
    assert "$window" not in expr and "campaign" not in expr  # the gauge has no campaign
    assert expr.endswith('window="28d"})) > 0)')
    with pytest.raises(PromQLError, match="no label"):
        promql.stage_ratio(kpi, ("campaign",), "paid", "delivered", "28d")
