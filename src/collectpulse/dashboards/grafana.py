"""Turn a `Board` into Grafana's dashboard JSON model with grafana-foundation-sdk.

The only module that knows Grafana's object model: panels of each kind,
Prometheus targets, template variables, links between the dashboards. The
SDK release is the one generated for Grafana 11.6, the version docker-compose
runs.
"""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import bargauge, common, heatmap, stat, table, timeseries
from grafana_foundation_sdk.builders import dashboard as sdk
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_model
from grafana_foundation_sdk.models import dashboard as dashboard_model
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from collectpulse.dashboards.model import Board, Panel, PanelKind, Query, Unit, Variable
from collectpulse.dashboards.variables import DATASOURCE, closure

DATASOURCE_TYPE = "prometheus"
DATASOURCE_REF = dashboard_model.DataSourceRef(type_val=DATASOURCE_TYPE, uid=f"${{{DATASOURCE}}}")
TAG = "collectpulse"
"""Every dashboard carries this tag; the dashboards' link menu lists them by it."""
ALL_VALUE = ".*"
REFRESH = "30s"
GRID_WIDTH = 24
DEFAULT_RANGE = ("now-6h", "now")

PanelBuilder = timeseries.Panel | stat.Panel | bargauge.Panel | table.Panel | heatmap.Panel


def to_json(board: Board) -> dict[str, Any]:
    """The board as Grafana's dashboard JSON model (plain dicts and lists)."""
    builder = (
        sdk.Dashboard(board.title)
        .uid(board.uid)
        .description(board.description)
        .tags([TAG, *board.tags])
        .refresh(REFRESH)
        .time(*DEFAULT_RANGE)
        .timezone("browser")
        .tooltip(dashboard_model.DashboardCursorSync.CROSSHAIR)
        .link(
            sdk.DashboardLink("collectpulse dashboards")
            .type(dashboard_model.DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
        .with_variable(
            sdk.DatasourceVariable(DATASOURCE).label("Data source").type(DATASOURCE_TYPE)
        )
    )
    for variable in closure(board.variables_used()):
        builder.with_variable(_variable(variable))
    y = 0
    for row in board.rows:
        builder.with_row(sdk.Row(row.title).grid_pos(dashboard_model.GridPos(1, GRID_WIDTH, 0, y)))
        y += 1
        for panel, position in zip(row.panels, _layout(row.panels, y), strict=True):
            builder.with_panel(_panel(panel).grid_pos(position))
            y = max(y, position.y + position.h)
    model: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    _number_panels(model)
    return model


def _layout(panels: tuple[Panel, ...], top: int) -> list[dashboard_model.GridPos]:
    """Left to right from ``top``, wrapping a panel that would cross the grid's right edge."""
    positions = []
    x, y, line_height = 0, top, 0
    for panel in panels:
        if x + panel.width > GRID_WIDTH:
            x, y, line_height = 0, y + line_height, 0
        positions.append(dashboard_model.GridPos(panel.height, panel.width, x, y))
        x += panel.width
        line_height = max(line_height, panel.height)
    return positions


def _number_panels(model: dict[str, Any]) -> None:
    """Give every panel and row a unique id (Grafana links a panel by it)."""
    for number, panel in enumerate(model["panels"], start=1):
        panel["id"] = number


def _variable(variable: Variable) -> sdk.QueryVariable | sdk.CustomVariable:
    built: sdk.QueryVariable | sdk.CustomVariable
    if variable.query:
        built = (
            sdk.QueryVariable(variable.name)
            .datasource(DATASOURCE_REF)
            .query(variable.query)
            .refresh(dashboard_model.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(dashboard_model.VariableSort.ALPHABETICAL_ASC)
        )
    else:
        built = sdk.CustomVariable(variable.name).values(",".join(variable.values))
    built.label(variable.label).description(variable.description)
    if variable.include_all:
        built.multi(True).include_all(True).all_value(ALL_VALUE)
        built.current(dashboard_model.VariableOption(True, "All", "$__all"))
    elif variable.default:
        built.current(dashboard_model.VariableOption(True, variable.default, variable.default))
    return built


def _targets(panel: Panel) -> list[Dataquery]:
    targets = []
    for ref_id, query in zip(_ref_ids(), panel.queries, strict=False):
        target = (
            Dataquery()
            .expr(query.expr)
            .legend_format(query.legend or "__auto")
            .ref_id(ref_id)
            .datasource(DATASOURCE_REF)
        )
        if panel.kind.instant:
            target.instant()
        else:
            target.range()
        if panel.kind is PanelKind.TABLE:
            target.format(PromQueryFormat.TABLE)
        elif panel.kind is PanelKind.HEATMAP and not panel.rows:
            target.format(PromQueryFormat.HEATMAP)
        targets.append(target)
    return targets


def _ref_ids() -> list[str]:
    return [chr(ord("A") + i) for i in range(26)]


def _panel(panel: Panel) -> PanelBuilder:
    built = _visualisation(panel)
    built.title(panel.title).description(panel.description).datasource(DATASOURCE_REF)
    built.targets(list(_targets(panel)))
    built.unit(panel.unit.value)
    if panel.unit is Unit.RATIO and panel.bounded:
        built.min(0).max(1)
    return built


def _visualisation(panel: Panel) -> PanelBuilder:
    if panel.kind is PanelKind.TIMESERIES:
        return _timeseries(panel)
    if panel.kind is PanelKind.STAT:
        return stat.Panel().reduce_options(_last()).graph_mode(common_model.BigValueGraphMode.NONE)
    if panel.kind is PanelKind.BAR_GAUGE:
        return (
            bargauge.Panel()
            .reduce_options(_last())
            .orientation(common_model.VizOrientation.HORIZONTAL)
            .display_mode(common_model.BarGaugeDisplayMode.GRADIENT)
        )
    if panel.kind is PanelKind.TABLE:
        return _table(panel.queries)
    return (
        heatmap.Panel()
        .calculate(False)
        .y_axis(heatmap.YAxisConfig().unit(Unit.NONE.value if panel.rows else panel.unit.value))
        .cell_gap(1)
    )


def _timeseries(panel: Panel) -> timeseries.Panel:
    legend = (
        common.VizLegendOptions()
        .display_mode(common_model.LegendDisplayMode.TABLE)
        .placement(common_model.LegendPlacement.RIGHT)
        .show_legend(True)
        .calcs(["lastNotNull", "max"])
    )
    built = timeseries.Panel().legend(legend).fill_opacity(10).line_width(1)
    if panel.stacked:
        built.stacking(common.StackingConfig().mode(common_model.StackingMode.NORMAL))
    return built


def _table(queries: tuple[Query, ...]) -> table.Panel:
    """Instant queries joined on their labels; each query's value column named by its legend."""
    rename = {
        f"Value #{ref_id}": query.legend for ref_id, query in zip(_ref_ids(), queries, strict=False)
    }
    built = table.Panel()
    if len(queries) > 1:
        built.with_transformation(dashboard_model.DataTransformerConfig("merge", options={}))
    else:
        rename = {"Value": queries[0].legend}
    built.with_transformation(
        dashboard_model.DataTransformerConfig(
            "organize", options={"excludeByName": {"Time": True}, "renameByName": rename}
        )
    )
    return built


def _last() -> common.ReduceDataOptions:
    return common.ReduceDataOptions().calcs(["lastNotNull"]).values(False)
