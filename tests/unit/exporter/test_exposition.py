"""The exporter's text rendering writes exactly what prometheus_client's generate_latest
writes, for collectpulse's plain rows, its families and anything else it is handed, and
prometheus_client's parser reads it back."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from collectpulse.exporter.collector import StoreCollector, SummedText, kpi_families
from collectpulse.exporter.exposition import render
from collectpulse.exporter.families import AnyFamily, Family, HistogramFamily, to_metric
from collectpulse.exporter.http import render_kpis
from collectpulse.store.fields import counter_field, histogram_field
from collectpulse.store.reader import StoreView
from collectpulse.store.totals import LAST_EVENT

NOW_S = 1_800_000_000


class Families(Collector):
    def __init__(self, *families: Metric) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def reference(*families: Metric) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families(*families))
    return generate_latest(registry)


def test_counters_gauges_and_histograms_render_byte_for_byte_like_generate_latest() -> None:
    counter = CounterMetricFamily("cp_sent", "Sent \\ messages\nper campaign", labels=["b", "a"])
    counter.add_metric(['quote " here', "back\\slash"], 3)
    counter.add_metric(["new\nline", ""], 1e10)
    gauge = GaugeMetricFamily("cp_ratio", "A ratio.", labels=["window"])
    gauge.add_metric(["1h"], 0.123456789)
    gauge.add_metric(["24h"], float("nan"))
    plain = GaugeMetricFamily("cp_workers", "Live workers.", value=2)
    histogram = HistogramMetricFamily("cp_lag_seconds", "Lag.", labels=["topic"])
    histogram.add_metric(["open"], buckets=[("0.5", 1), ("1.0", 4), ("+Inf", 5)], sum_value=3.5)

    families = (counter, gauge, plain, histogram)
    assert render(families) == reference(*families)


def test_other_family_types_are_left_to_generate_latest() -> None:
    info = InfoMetricFamily("cp_build", "Build.", value={"version": "1"})
    summary = SummaryMetricFamily("cp_size_bytes", "Size.", count_value=2, sum_value=10)
    created = CounterMetricFamily("cp_runs", "Runs.", value=1, created=1_700_000_000.0)

    assert render([info, summary, created]) == reference(info, summary, created)


def test_a_whole_store_view_renders_like_generate_latest() -> None:
    funnel = {"channel": "email", "campaign": 'sp"ring', "variant": "a", "segment": "default"}
    view = StoreView(
        NOW_S,
        (0,),
        {
            counter_field("messages_sent", funnel): 10,
            counter_field("messages_opened", funnel): 4,
            histogram_field("send_to_open_seconds", funnel, 2): 4,
            histogram_field("send_to_open_seconds", funnel, "sum_ms"): 2_400_000,
            f"{LAST_EVENT}\x1fopen": NOW_S - 5,
        },
        {"1h": {}},
        offsets={("open", 0): 12},
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(view))

    assert render(StoreCollector(view).collect()) == generate_latest(registry)


# --- plain rows (exporter.families), the /metrics path -------------------------------------


def row_families() -> list[AnyFamily]:
    sent = Family("cp_sent", "counter", "Sent \\ messages\nper campaign", ("b", "a"))
    sent.rows += [(('quote " here', "back\\slash"), 3), (("new\nline", ""), 1e10)]
    windowed = Family("cp_windowed_sent", "gauge", "Sent in the window.", ("channel", "window"))
    windowed.rows += [(("email", "1h"), 0.0), (("email", "24h"), -0.0), (("sms", "1h"), 2.0)]
    only_window = Family("cp_share_ratio", "gauge", "A share.", ("window",))
    only_window.rows += [(("1h",), 0.123456789), (("24h",), float("nan"))]
    plain = Family("cp_workers", "gauge", "Live workers.", ())
    plain.rows.append(((), 2))
    zulu = Family("cp_after_window", "gauge", "A label after window.", ("zone", "window"))
    zulu.rows += [(("eu", "1h"), 1.5e9), (("eu", "7d"), float("inf"))]
    lag = HistogramFamily("cp_lag_seconds", "Lag.", ("topic", "campaign"))
    lag.rows.append((("open", "x"), [("0.5", 1), ("1.0", 4), ("+Inf", 5)], 3.5))
    lag.rows.append((("click", "x"), [("0.5", 0), ("1.0", 0), ("+Inf", 2)], 0.0))
    bare = HistogramFamily("cp_size_bytes", "Size.", ())
    bare.rows.append(((), [("1.0", 1), ("+Inf", 1)], 0.5))
    return [sent, windowed, only_window, plain, zulu, lag, bare]


def test_rows_render_byte_for_byte_like_generate_latest_of_the_same_families() -> None:
    families = row_families()

    assert render(families) == reference(*(to_metric(f) for f in families))


def test_rows_parse_back_to_their_names_labels_values_help_and_type() -> None:
    families = row_families()

    parsed = {f.name: f for f in text_string_to_metric_families(render(families).decode())}

    assert set(parsed) == {f.name for f in families}
    for family in families:
        got = parsed[family.name]
        assert got.documentation == family.help
        if isinstance(family, HistogramFamily):
            assert got.type == "histogram"
            want = []
            for values, buckets, sum_value in family.rows:
                labels = dict(zip(family.labels, values, strict=True))
                want += [(f"{family.name}_bucket", {**labels, "le": le}, n) for le, n in buckets]
                want += [(f"{family.name}_count", labels, buckets[-1][1])]
                want += [(f"{family.name}_sum", labels, sum_value)]
        else:
            assert got.type == family.kind
            suffix = "_total" if family.kind == "counter" else ""
            want = [
                (family.name + suffix, dict(zip(family.labels, values, strict=True)), value)
                for values, value in family.rows
            ]
        assert [(s.name, s.labels, repr(s.value)) for s in got.samples] == [
            (name, labels, repr(float(value))) for name, labels, value in want
        ]


def test_a_negative_zero_keeps_its_sign_after_a_zero() -> None:
    gauge = Family("cp_lift_ratio", "gauge", "Lift.", ("variant",))
    gauge.rows += [(("a",), 0.0), (("b",), -0.0), (("c",), 0.0)]

    text = render([gauge]).decode()

    assert 'variant="a"} 0.0\n' in text
    assert 'variant="b"} -0.0\n' in text
    assert 'variant="c"} 0.0\n' in text


# --- the summed families' text reused while the store did not move ---------------------


def funnel_view(sent: int, token: object, now_s: int = NOW_S) -> StoreView:
    funnel = {"channel": "email", "campaign": "spring", "variant": "a", "segment": "default"}
    return StoreView(
        now_s,
        (0,),
        {counter_field("messages_sent", funnel): sent, f"{LAST_EVENT}\x1fdelivery": now_s - 5},
        {"1h": {}},
        summed=token,
    )


def test_kpis_render_like_all_families_whether_or_not_the_summed_text_is_reused() -> None:
    token = object()
    summed = SummedText()
    first, later = funnel_view(10, token), funnel_view(10, token, NOW_S + 60)

    assert render_kpis(first, min_sample=100, summed=summed) == render(kpi_families(first))
    # same token, later clock: the summed text is reused, the computed gauges are not
    assert render_kpis(later, min_sample=100, summed=summed) == render(kpi_families(later))


def test_summed_text_is_reused_only_for_the_same_token() -> None:
    summed, token = SummedText(), object()
    text = summed.render(funnel_view(10, token))
    # the token stands for the sums: a view claiming it is served the text of 10
    assert summed.render(funnel_view(99, token)) is text
    moved = summed.render(funnel_view(99, object()))
    assert b"collectpulse_messages_sent_total" in moved and moved != text
    assert b"} 99.0\n" in moved


def test_a_view_without_a_token_is_always_rendered_afresh() -> None:
    summed = SummedText()
    assert summed.render(funnel_view(10, None)) != summed.render(funnel_view(11, None))
