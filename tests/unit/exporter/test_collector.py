"""The KPI families the collector builds from hand-made store views, read back through a
fresh ``CollectorRegistry`` as Prometheus would scrape them."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from collectpulse.exporter.collector import StoreCollector
from collectpulse.exporter.known import CANONICAL_REASONS, SKIP_KINDS, TOPICS
from collectpulse.kpi.accounts import AccountTotals
from collectpulse.kpi.definitions import COUNTERS, GAUGES, metric_name
from collectpulse.kpi.ratios import LabelSet, labelset
from collectpulse.store.fields import counter_field
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.reader import REGISTRY_LABELS, StoreView
from collectpulse.store.totals import LAST_APPLIED_MS, LAST_EVENT, LAST_EVENT_MS

NOW_S = 1_800_000_000
SPRING = {"channel": "email", "campaign": "spring", "variant": "a", "segment": "default"}
AUTUMN_SMS = {"channel": "sms", "campaign": "autumn", "variant": "b", "segment": "vip"}


def totals(counts: Mapping[str, list[tuple[Mapping[str, str], int]]]) -> dict[str, int]:
    """Raw store fields from ``counter -> [(labels, value)]``."""
    return {
        counter_field(counter, labels): value
        for counter, series in counts.items()
        for labels, value in series
    }


def window(
    counts: Mapping[str, list[tuple[Mapping[str, str], int]]],
) -> dict[str, dict[LabelSet, float]]:
    out: dict[str, dict[LabelSet, float]] = {}
    for counter, series in counts.items():
        order = next(c for c in COUNTERS if c.name == counter).labels
        out[counter] = {
            labelset({label.name: labels.get(label.name, "") for label in order}): float(value)
            for labels, value in series
        }
    return out


def scrape(view: StoreView, **kwargs: int) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(StoreCollector(view, **kwargs))
    return registry


def sample_count(registry: CollectorRegistry, name: str) -> int:
    return sum(1 for family in registry.collect() for s in family.samples if s.name == name)


def funnel(labels: Mapping[str, str], tenant: str = "") -> dict[str, str]:
    return {**labels, "tenant": tenant}


# --- values ------------------------------------------------------------------------------


def test_counted_totals_and_windows_are_exported_under_their_metric_names() -> None:
    spring = funnel(SPRING)
    view = StoreView(
        NOW_S,
        (0,),
        totals({"messages_sent": [(spring, 40)], "messages_delivered": [(spring, 30)]}),
        {"1h": window({"messages_sent": [(spring, 4)], "messages_delivered": [(spring, 3)]})},
    )

    registry = scrape(view)

    assert registry.get_sample_value("collectpulse_messages_sent_total", spring) == 40
    windowed = {**spring, "window": "1h"}
    assert registry.get_sample_value("collectpulse_windowed_messages_delivered", windowed) == 3
    assert registry.get_sample_value("collectpulse_delivery_ratio", windowed) == 0.75


def test_timestamps_give_last_event_time_processing_lag_and_applied_offsets() -> None:
    view = StoreView(
        NOW_S,
        (0, 1),
        {
            f"{LAST_EVENT}\x1fopen": NOW_S - 30,
            f"{LAST_EVENT_MS}\x1fopen": (NOW_S - 30) * 1000 + 250,
            f"{LAST_APPLIED_MS}\x1fopen": (NOW_S - 28) * 1000,
        },
        offsets={("open", 0): 41, ("open", 1): 7},
    )

    registry = scrape(view)

    assert registry.get_sample_value(
        "collectpulse_last_event_timestamp_seconds", {"topic": "open"}
    ) == (NOW_S - 30)
    assert (
        registry.get_sample_value("collectpulse_processing_lag_seconds", {"topic": "open"}) == 1.75
    )
    assert (
        registry.get_sample_value(
            "collectpulse_applied_offset", {"topic": "open", "partition": "1"}
        )
        == 7
    )


# --- zeros for known label combinations ----------------------------------------------------


def test_every_funnel_counter_and_window_has_a_zero_for_a_combination_the_store_has_seen() -> None:
    spring = funnel(SPRING)
    view = StoreView(
        NOW_S,
        (0,),
        totals({"messages_sent": [(spring, 5)]}),
        {"1h": {}, "24h": window({"messages_sent": [(spring, 5)]})},
    )

    registry = scrape(view)

    for counter in ("messages_opened", "messages_clicked", "messages_paid", "messages_bounced_any"):
        assert registry.get_sample_value(f"collectpulse_{counter}_total", spring) == 0, counter
        for name in ("1h", "24h"):
            labels = {**spring, "window": name}
            assert registry.get_sample_value(f"collectpulse_windowed_{counter}", labels) == 0
    assert (
        registry.get_sample_value("collectpulse_windowed_messages_sent", {**spring, "window": "1h"})
        == 0
    )


def test_bounce_types_are_enumerated_for_each_known_combination() -> None:
    spring, autumn = funnel(SPRING), funnel(AUTUMN_SMS, tenant="northbank")
    view = StoreView(
        NOW_S,
        (0,),
        totals(
            {
                "messages_sent": [(spring, 5), (autumn, 2)],
                "messages_bounced": [({**spring, "bounce_type": "soft"}, 1)],
            }
        ),
    )

    registry = scrape(view)

    for labels in (spring, autumn):
        for bounce_type in ("hard", "soft"):
            value = registry.get_sample_value(
                "collectpulse_messages_bounced_total", {**labels, "bounce_type": bounce_type}
            )
            expected = 1 if (labels, bounce_type) == (spring, "soft") else 0
            assert value == expected
    assert sample_count(registry, "collectpulse_messages_bounced_total") == 4


def test_combinations_are_the_ones_counted_never_a_cross_product_of_label_values() -> None:
    spring, autumn = funnel(SPRING), funnel(AUTUMN_SMS)
    view = StoreView(NOW_S, (0,), totals({"messages_sent": [(spring, 5), (autumn, 2)]}))

    registry = scrape(view)

    # spring x sms or autumn x email never happened: no series for them
    assert sample_count(registry, "collectpulse_messages_opened_total") == 2
    crossed = {**spring, "channel": "sms"}
    assert registry.get_sample_value("collectpulse_messages_opened_total", crossed) is None


def test_an_empty_store_exports_zeros_for_every_closed_label_set() -> None:
    registry = scrape(StoreView(NOW_S, (), {}))

    for counter in ("events_received", "events_late", "events_orphaned", "events_duplicate"):
        for topic in TOPICS:
            value = registry.get_sample_value(f"collectpulse_{counter}_total", {"topic": topic})
            assert value == 0, (counter, topic)
    assert sample_count(registry, "collectpulse_events_invalid_total") == len(TOPICS) * len(
        CANONICAL_REASONS
    )
    for label in REGISTRY_LABELS:
        assert (
            registry.get_sample_value("collectpulse_label_overflows_total", {"label": label}) == 0
        )
    # no tenant, campaign or provider is known yet: nothing else is invented
    assert sample_count(registry, "collectpulse_messages_sent_total") == 0
    assert sample_count(registry, "collectpulse_payment_attempts_total") == 0
    assert sample_count(registry, "collectpulse_provider_events_skipped_total") == 0


def test_a_tenant_in_the_label_registry_gets_zeros_before_its_first_count() -> None:
    view = StoreView(NOW_S, (), {}, {"1h": {}}, label_values={"tenant": frozenset({"northbank"})})

    registry = scrape(view)

    for status in ("succeeded", "failed", "aborted"):
        labels = {"tenant": "northbank", "status": status}
        assert registry.get_sample_value("collectpulse_payment_attempts_total", labels) == 0
        windowed = {**labels, "window": "1h"}
        assert registry.get_sample_value("collectpulse_windowed_payment_attempts", windowed) == 0
    for source in ("direct", "email", "sms", "letter", "other"):
        labels = {"source": source, "tenant": "northbank", "window": "1h"}
        assert (
            registry.get_sample_value("collectpulse_windowed_landing_unique_visitors", labels) == 0
        )
    assert sample_count(registry, "collectpulse_promises_total") == 3 * 2 * 4


def test_money_is_pre_initialised_in_the_currencies_the_tenant_has_used() -> None:
    spring = funnel(SPRING, tenant="northbank")
    view = StoreView(
        NOW_S,
        (0,),
        totals(
            {
                "messages_sent": [(spring, 5)],
                "collected_amount_minor": [
                    ({"tenant": "northbank", "currency": "EUR", "agent": "agent-7"}, 900),
                    ({"tenant": "telco-one", "currency": "USD", "agent": ""}, 100),
                ],
            }
        ),
    )

    registry = scrape(view)

    eur = {**spring, "currency": "EUR"}
    assert registry.get_sample_value("collectpulse_attributed_amount_minor_total", eur) == 0
    usd = {**spring, "currency": "USD"}
    assert registry.get_sample_value("collectpulse_attributed_amount_minor_total", usd) is None
    no_agent = {"tenant": "northbank", "currency": "EUR", "agent": ""}
    assert registry.get_sample_value("collectpulse_collected_amount_minor_total", no_agent) == 0


def test_provider_tallies_are_enumerated_for_providers_in_use_only() -> None:
    view = StoreView(NOW_S, (), {"provider_events_skipped\x1fses\x1fcomplaint": 3})

    registry = scrape(view)

    assert sample_count(registry, "collectpulse_provider_events_skipped_total") == len(SKIP_KINDS)
    labels = {"provider": "ses", "kind": "complaint"}
    assert registry.get_sample_value("collectpulse_provider_events_skipped_total", labels) == 3
    dead = {"provider": "ses", "reason": "provider_error"}
    assert registry.get_sample_value("collectpulse_provider_records_dead_lettered_total", dead) == 0
    assert (
        registry.get_sample_value(
            "collectpulse_provider_events_skipped_total",
            {"provider": "twilio", "kind": "complaint"},
        )
        is None
    )


def test_a_ratio_stays_absent_while_its_denominator_is_a_pre_initialised_zero() -> None:
    spring = funnel(SPRING)
    view = StoreView(NOW_S, (0,), totals({"messages_sent": [(spring, 5)]}), {"1h": {}})

    registry = scrape(view)

    labels = {**spring, "window": "1h"}
    assert registry.get_sample_value("collectpulse_windowed_messages_delivered", labels) == 0
    assert registry.get_sample_value("collectpulse_open_ratio", labels) is None
    assert registry.get_sample_value("collectpulse_delivery_ratio", labels) is None


def test_overflowed_values_are_reported_as_other_and_counted_by_label() -> None:
    other = funnel({**SPRING, "campaign": "__other__"})
    view = StoreView(
        NOW_S,
        (0,),
        totals(
            {
                "messages_sent": [(other, 12)],
                "label_overflows": [({"label": "campaign"}, 12)],
            }
        ),
    )

    registry = scrape(view)

    assert registry.get_sample_value("collectpulse_messages_sent_total", other) == 12
    assert registry.get_sample_value("collectpulse_messages_opened_total", other) == 0
    overflow = registry.get_sample_value(
        "collectpulse_label_overflows_total", {"label": "campaign"}
    )
    assert overflow == 12


# --- the exposition --------------------------------------------------------------------------


def test_help_text_of_every_family_is_the_kpi_definition() -> None:
    spring = funnel(SPRING)
    view = StoreView(NOW_S, (0,), totals({"messages_sent": [(spring, 5)]}), {"1h": {}})

    text = generate_latest(scrape(view)).decode()

    helps = {f.name: f.documentation for f in text_string_to_metric_families(text)}
    for counter in COUNTERS:
        if counter.has_total:
            assert helps[metric_name(counter).removesuffix("_total")] == counter.help
    for gauge in GAUGES:
        if metric_name(gauge) in helps:
            assert helps[metric_name(gauge)] == gauge.help


def test_paid_letters_without_delivery_receipts_do_not_break_the_experiment() -> None:
    """A letter can be paid but is never delivered: successes stay within trials."""
    email_a = funnel({**SPRING, "variant": "control"})
    email_b = funnel({**SPRING, "variant": "b"})
    letter_a = funnel({**SPRING, "channel": "letter", "variant": "control"})
    counts = {
        "messages_delivered": [(email_a, 200), (email_b, 200)],
        "messages_paid": [(email_a, 20), (email_b, 40), (letter_a, 500)],
    }
    view = StoreView(NOW_S, (0,), totals(counts), {"24h": window(counts)})

    registry = scrape(view, experiment_min_sample=100)

    labels = {
        "campaign": "spring",
        "variant": "b",
        "control": "control",
        "tenant": "",
        "window": "24h",
    }
    # (40/200) / (20/200) - 1: the 500 paid letters are no trials and no successes
    assert registry.get_sample_value("collectpulse_experiment_lift_ratio", labels) == 1.0


def test_a_histogram_whose_observations_were_all_taken_back_is_not_exported() -> None:
    """A moved payment credit leaves zeroed fields: absent, as if never observed."""
    spring = funnel(SPRING)
    moved = {
        counter_field("send_to_payment_seconds", spring) + FIELD_SEP + "3": 0,
        counter_field("send_to_payment_seconds", spring) + FIELD_SEP + "sum_ms": 0,
    }
    registry = scrape(StoreView(NOW_S, (0,), moved, {}))
    assert sample_count(registry, "collectpulse_send_to_payment_seconds_count") == 0


def legacy_field(histogram: str, labels: Mapping[str, str], bucket: str) -> str:
    """A response-time field as a store wrote it before histograms lost ``variant``."""
    values = [labels.get(name, "") for name in ("channel", "campaign", "variant", "tenant")]
    return FIELD_SEP.join((histogram, *values, bucket))


def test_response_times_are_by_campaign_and_the_variants_share_one_series() -> None:
    spring_a = funnel(SPRING, tenant="acme")
    spring_b = funnel({**SPRING, "variant": "b"}, tenant="acme")
    series = counter_field("send_to_open_seconds", spring_a)
    # the store increments one field for both variants
    assert counter_field("send_to_open_seconds", spring_b) == series
    fields = {series + FIELD_SEP + "1": 5, series + FIELD_SEP + "sum_ms": 5_000_000}

    registry = scrape(StoreView(NOW_S, (0,), fields, {}))

    labels = {"channel": "email", "campaign": "spring", "tenant": "acme"}
    assert registry.get_sample_value("collectpulse_send_to_open_seconds_count", labels) == 5
    assert registry.get_sample_value("collectpulse_send_to_open_seconds_sum", labels) == 5_000
    assert sample_count(registry, "collectpulse_send_to_open_seconds_count") == 1


def test_fields_stored_with_a_variant_still_count_under_their_campaign() -> None:
    """A store written before the histograms lost ``variant``: nothing observed is lost,
    and a take-back written since cancels the observation it takes back."""
    spring = funnel(SPRING, tenant="acme")
    autumn = funnel(AUTUMN_SMS, tenant="acme")
    fields = {
        legacy_field("send_to_click_seconds", spring, "2"): 4,
        legacy_field("send_to_click_seconds", spring, "sum_ms"): 1_000_000,
        counter_field("send_to_click_seconds", spring) + FIELD_SEP + "2": 1,
        counter_field("send_to_click_seconds", spring) + FIELD_SEP + "sum_ms": 250_000,
        legacy_field("send_to_click_seconds", autumn, "4"): 1,
        legacy_field("send_to_click_seconds", autumn, "sum_ms"): 7_000_000,
        counter_field("send_to_click_seconds", autumn) + FIELD_SEP + "4": -1,
        counter_field("send_to_click_seconds", autumn) + FIELD_SEP + "sum_ms": -7_000_000,
    }
    registry = scrape(StoreView(NOW_S, (0,), fields, {}))

    labels = {"channel": "email", "campaign": "spring", "tenant": "acme"}
    assert registry.get_sample_value("collectpulse_send_to_click_seconds_count", labels) == 5
    assert registry.get_sample_value("collectpulse_send_to_click_seconds_sum", labels) == 1_250
    assert sample_count(registry, "collectpulse_send_to_click_seconds_count") == 1


def test_outbound_attempts_per_handled_account_is_served_per_window_team_and_tenant() -> None:
    attempts = {
        "tenant": "t1",
        "direction": "outbound",
        "channel": "call",
        "outcome": "busy",
        "team": "early",
        "agent": "",
        "dialer_campaign": "",
    }
    values = {
        "contact_attempts": [(attempts, 9)],
        "account_exits": [({"team": "early", "tenant": "t1"}, 2)],
    }
    open_now = {("t1", "open", "early", "ann", "2026-12-01"): 1}
    view = StoreView(
        NOW_S, (0,), totals(values), {"30d": window(values)}, accounts=AccountTotals(open=open_now)
    )

    registry = scrape(view)

    labels = {"team": "early", "tenant": "t1", "window": "30d"}
    # 9 attempts over 1 open now + 2 exits in the window
    assert registry.get_sample_value("collectpulse_outbound_attempts_per_account", labels) == 3.0
