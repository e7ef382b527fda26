"""The template variables every collectpulse dashboard can use: window, tenant, campaign, channel.

Their values come from the data (``label_values`` over collectpulse's own
series) or, for closed label sets, from the KPI labels table; the window
variable defaults to the service's default 24h window when it is configured.
"""

from __future__ import annotations

from collectpulse.dashboards.model import Variable
from collectpulse.dashboards.promql import WINDOW, Selection, selector
from collectpulse.kpi.definitions import counter_by_name
from collectpulse.kpi.labels import CHANNEL
from collectpulse.kpi.model import PREFIX, WINDOWED_PREFIX
from collectpulse.settings import Settings

DATASOURCE = "datasource"
"""The data-source variable; every panel queries ``${datasource}``."""

_SENT = counter_by_name("messages_sent")


def _default_window() -> str:
    windows: tuple[str, ...] = Settings.model_fields["windows"].default
    return "24h" if "24h" in windows else windows[0]


VARIABLES: tuple[Variable, ...] = (
    Variable(
        WINDOW,
        "Window",
        "Rolling window of the windowed KPIs (the service's COLLECTPULSE_WINDOWS).",
        query=f'label_values({{__name__=~"{WINDOWED_PREFIX}.+"}}, {WINDOW})',
        include_all=False,
        default=_default_window(),
    ),
    Variable(
        "tenant",
        "Tenant",
        "Creditor or portfolio; All includes events without a tenant.",
        query=f'label_values({{__name__=~"{PREFIX}.+",tenant!=""}}, tenant)',
    ),
    Variable(
        "campaign",
        "Campaign",
        "Campaigns of the selected tenants with messages sent in the window.",
        query=f"label_values({selector(_SENT, Selection(filters=('tenant',)), windowed=True)}, "
        "campaign)",
    ),
    Variable(
        "channel",
        "Channel",
        "Message channel (closed set from the KPI labels table).",
        values=CHANNEL.values,
    ),
)

VARIABLES_BY_NAME = {variable.name: variable for variable in VARIABLES}


def closure(names: set[str]) -> tuple[Variable, ...]:
    """The variables named, plus those their own queries reference, in declaration order."""
    wanted = set(names)
    changed = True
    while changed:
        changed = False
        for variable in VARIABLES:
            if variable.name in wanted:
                needed = {v.name for v in VARIABLES if f"${v.name}" in variable.query}
                if not needed <= wanted:
                    wanted |= needed
                    changed = True
    unknown = wanted - VARIABLES_BY_NAME.keys() - {DATASOURCE}
    if unknown:
        raise KeyError(f"queries reference undefined template variables: {sorted(unknown)}")
    return tuple(variable for variable in VARIABLES if variable.name in wanted)
