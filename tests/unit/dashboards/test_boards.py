"""What every generated dashboard must hold: KPI coverage, real metric and rule names, variables,
data source, layout. Checked on the JSON Grafana loads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from collectpulse.dashboards import recorded
from collectpulse.dashboards.boards import BOARDS
from collectpulse.dashboards.boards.gateway_row import GATEWAY_METRICS
from collectpulse.dashboards.grafana import to_json
from collectpulse.dashboards.recorded import LEVELS, RULE_LEVELS
from collectpulse.gateway.metrics import GatewayMetrics
from collectpulse.kpi.definitions import ALL_KPIS, COUNTERS, GAUGES
from collectpulse.kpi.model import Histogram, Kpi, Ratio, metric_names

ROOT = Path(__file__).resolve().parents[3]
RECORDING_RULES = ROOT / "deploy/prometheus/rules/recording.yml"
_METRIC = re.compile(r"\b(collectpulse_[a-z0-9_]+)")
_RULE = re.compile(r"\b(collectpulse:[a-z0-9_:]+)")
_BY = re.compile(r"\bby \(([^)]*)\)")
NOT_KPIS = {"up"}
"""Series the dashboards read that are Prometheus' own, not collectpulse's."""


@pytest.fixture(scope="module")
def models() -> dict[str, dict[str, Any]]:
    return {board.uid: to_json(board) for board in BOARDS}


def targets(models: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], str]]:
    for uid, model in models.items():
        for panel in model["panels"]:
            for target in panel.get("targets", ()):
                yield uid, panel, target["expr"]


def gateway_names() -> set[str]:
    """What a gateway serves on its /metrics (its own registry, not the exporter's)."""
    metrics = GatewayMetrics()
    metrics.declare(("ses",))
    metrics.verification_failures.labels("ses", "bad_signature")
    return {s.name for family in metrics.registry.collect() for s in family.samples}


def exported_names() -> set[str]:
    names = gateway_names()
    for kpi in ALL_KPIS:
        names.update(metric_names(kpi))
        if isinstance(kpi, Histogram):
            names.update(
                f"{kpi_name}_{s}"
                for kpi_name in metric_names(kpi)
                for s in ("bucket", "sum", "count")
            )
    return names


def recording_rules() -> dict[str, str]:
    """Rule name -> expression, from deploy/prometheus/rules/recording.yml."""
    loaded = YAML(typ="safe", pure=True).load(RECORDING_RULES.read_text())
    return {rule["record"]: rule["expr"] for group in loaded["groups"] for rule in group["rules"]}


def test_there_are_the_seven_dashboards_with_unique_uids() -> None:
    uids = [board.uid for board in BOARDS]
    assert len(uids) == 7 == len(set(uids))
    titles = {board.title.split(" / ")[1] for board in BOARDS}
    assert titles == {
        "Campaign funnel",
        "Deliverability",
        "Landing page & payments",
        "Promises to pay",
        "Agents",
        "Experiments",
        "Pipeline health",
    }


def test_every_kpi_of_the_definitions_table_is_on_a_dashboard(
    models: dict[str, dict[str, Any]],
) -> None:
    """A metric by name or through a recording rule; a ratio by its counters and definition."""
    panels = [panel for model in models.values() for panel in model["panels"]]
    queries = "\n".join(expr for _, _, expr in targets(models))

    def read(kpi: Kpi) -> bool:
        names = (*metric_names(kpi), *(f":{level}:{kpi.name}" for level in LEVELS))
        stems = (f":{level}:{kpi.name.removeprefix(level + '_')}:" for level in LEVELS)
        return any(re.search(rf"{re.escape(n)}(_bucket)?\b", queries) for n in names) or any(
            stem in queries for stem in stems
        )

    def computed(ratio: Ratio) -> bool:
        return any(
            ratio.help in panel.get("description", "")
            and all(
                re.search(rf":{t.counter}\b|_{t.counter}\b", target["expr"])
                for t in (*ratio.numerator, *ratio.denominator)
            )
            for panel in panels
            for target in panel.get("targets", ())
        )

    missing = [
        kpi.name for kpi in ALL_KPIS if not (computed(kpi) if isinstance(kpi, Ratio) else read(kpi))
    ]
    assert missing == [], "KPIs on no dashboard: add a panel in src/collectpulse/dashboards/boards"


def test_every_metric_a_query_reads_is_exported(models: dict[str, dict[str, Any]]) -> None:
    exported = exported_names()
    unknown = {
        f"{uid}: {name}"
        for uid, _, expr in targets(models)
        for name in _METRIC.findall(expr)
        if name not in exported
    }
    assert unknown == set()


def test_every_recording_rule_a_query_reads_is_in_the_rule_file(
    models: dict[str, dict[str, Any]],
) -> None:
    rules = recording_rules()
    read = {name for _, _, expr in targets(models) for name in _RULE.findall(expr)}
    assert read, "the dashboards reuse no recording rule"
    assert read - rules.keys() == set()


def test_rules_the_generator_may_pick_exist_and_keep_the_labels_it_assumes() -> None:
    rules = recording_rules()
    by_name = {kpi.name: kpi for kpi in (*COUNTERS, *GAUGES)}
    for kpi_name, levels in RULE_LEVELS.items():
        kpi = by_name[kpi_name]
        for level in levels:
            rule = recorded.rule_for(kpi, LEVELS[level])
            assert rule is not None and rule.name in rules, (kpi_name, level)
            kept = (
                set(_BY.findall(rules[rule.name])[0].replace(" ", "").split(","))
                if _BY.search(rules[rule.name])
                else None
            )
            if kept is not None:  # a rule over another rule keeps that rule's labels
                assert set(rule.labels) <= kept, (rule.name, rule.labels, kept)


def test_templating_defines_exactly_the_variables_the_queries_use(
    models: dict[str, dict[str, Any]],
) -> None:
    for uid, model in models.items():
        defined = [variable["name"] for variable in model["templating"]["list"]]
        assert defined[0] == "datasource", uid
        text = json.dumps([t["expr"] for p in model["panels"] for t in p.get("targets", ())])
        text += json.dumps([v.get("query", "") for v in model["templating"]["list"]])
        used = set(re.findall(r"\$\{?([A-Za-z]\w*)", text)) | {"datasource"}
        assert set(defined) == used, uid
        assert len(defined) == len(set(defined)), uid


def test_filter_variables_are_multi_value_with_an_all_that_matches_missing_labels(
    models: dict[str, dict[str, Any]],
) -> None:
    variables = {v["name"]: v for m in models.values() for v in m["templating"]["list"]}
    for name in ("tenant", "campaign", "channel"):
        assert variables[name]["multi"] and variables[name]["includeAll"], name
        assert variables[name]["allValue"] == ".*", name
    assert variables["window"]["current"]["value"] == "24h"
    assert variables["channel"]["query"] == "email,sms,letter,push,voice"


def test_every_panel_and_query_uses_the_datasource_variable(
    models: dict[str, dict[str, Any]],
) -> None:
    for uid, panel, _ in targets(models):
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, uid
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], (uid, panel["title"])


def test_panels_have_unique_ids_descriptions_and_fit_the_grid(
    models: dict[str, dict[str, Any]],
) -> None:
    for uid, model in models.items():
        ids = [panel["id"] for panel in model["panels"]]
        assert len(ids) == len(set(ids)), uid
        occupied: set[tuple[int, int]] = set()
        for panel in model["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, (uid, panel["title"])
            cells = {
                (x, y)
                for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert not cells & occupied, f"{uid}: {panel['title']} overlaps another panel"
            occupied |= cells
            if panel["type"] != "row":
                assert panel.get("description"), (uid, panel["title"])
                assert panel["targets"], (uid, panel["title"])


def test_instant_panels_run_instant_queries_and_graphs_run_range_queries(
    models: dict[str, dict[str, Any]],
) -> None:
    for _, panel, _ in targets(models):
        instant = panel["type"] in ("stat", "bargauge", "table")
        assert all(t["instant"] is instant for t in panel["targets"]), panel["title"]
        assert all(t["range"] is not instant for t in panel["targets"]), panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)) and all(ref_ids), panel["title"]


def test_table_columns_are_named_after_their_queries(models: dict[str, dict[str, Any]]) -> None:
    for _, panel, _ in targets(models):
        if panel["type"] != "table":
            continue
        organize = next(t for t in panel["transformations"] if t["id"] == "organize")
        names = organize["options"]["renameByName"]
        assert all(names.values()), panel["title"]
        assert len(names) == len(panel["targets"]), panel["title"]


def test_raw_exporter_series_are_counted_once_across_exporters(
    models: dict[str, dict[str, Any]],
) -> None:
    for uid, panel, expr in targets(models):
        for name in _METRIC.findall(expr):
            if name in GATEWAY_METRICS:
                continue  # each gateway counts its own requests: summed, not deduplicated
            position = expr.index(name)
            assert "max without (instance)" in expr[:position] or "max by" in expr[:position], (
                f"{uid} / {panel['title']}: {name} is not deduplicated across exporters"
            )
