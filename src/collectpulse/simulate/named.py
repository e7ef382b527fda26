"""The named demo scenarios: what each one simulates, what a user sees, which alert fires.

Pure data over `Scenario`. Each named scenario is the healthy `steady`
operation with one thing broken, and perhaps a `History`: event time that
already happened when the scenario starts, published at once, so the alert's
window is already full (a link that broke an hour ago, a day of backlog).
Customer time is compressed by `DEMO_DELAY_SCALE`, so promises made in the
demo are kept or broken within it and letters' postal tracking confirms
delivery within seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType

from collectpulse.events.roster import ExperimentEvent
from collectpulse.simulate.exceptions import ScenarioError
from collectpulse.simulate.scenario import (
    CONTROL,
    DEFAULT_SCENARIO,
    Scenario,
    Variant,
)

# 10,000x: a 7-day promise resolves in about a minute, a letter's 2-day postal
# delivery in ~17 s, an e-mail is opened within a second of its delivery.
DEMO_DELAY_SCALE = 1e-4
DEFAULT_NAME = "steady"


@dataclass(frozen=True, slots=True)
class History:
    """`duration_s` of event time before the start, at `events_per_s`, published at once."""

    duration_s: float
    events_per_s: float

    def __post_init__(self) -> None:
        if not (self.duration_s > 0 and self.events_per_s > 0):
            raise ScenarioError("a history needs a positive duration and event rate")


@dataclass(frozen=True, slots=True)
class ExperimentSplit:
    """An experiment the scenario configures on the `experiment` topic: its declared split.

    The declared split may differ from the campaign's real assignment weights: that is
    how a broken randomiser (a sample-ratio mismatch) is simulated.
    """

    campaign: str
    weights: tuple[tuple[str, float], ...]
    tuning_n: int = 5000


@dataclass(frozen=True, slots=True)
class NamedScenario:
    """A scenario a user asks for by name; `alerts` are the alert names it makes fire."""

    name: str
    description: str
    alerts: tuple[str, ...]
    scenario: Scenario
    history: History | None = None
    experiments: tuple[ExperimentSplit, ...] = ()
    floor: bool = False
    """Publish the dialer's roster and the agents' daily targets first (simulate.floor)."""


def experiment_configs(
    splits: Sequence[ExperimentSplit], started_at: datetime, now: datetime
) -> list[ExperimentEvent]:
    """The `experiment` records of ``splits``, started at ``started_at`` (the history's start)."""
    return [
        ExperimentEvent(
            event_id=f"sim-experiment-{split.campaign}-{int(started_at.timestamp())}",
            occurred_at=max(now, started_at),
            campaign=split.campaign,
            variants=dict(split.weights),
            control=CONTROL,
            started_at=started_at,
            tuning_n=split.tuning_n,
        )
        for split in splits
    ]


def with_tenant_prefix(scenario: Scenario, prefix: str) -> Scenario:
    """The same operation under tenants named `<prefix><name>`, to run beside another."""
    tenants = tuple(replace(t, name=prefix + t.name) for t in scenario.tenants)
    campaigns = tuple(replace(c, tenant=prefix + c.tenant) for c in scenario.campaigns)
    return replace(scenario, tenants=tenants, campaigns=campaigns)


def _steady() -> Scenario:
    # The default agency, with the bounce rates of a well-kept list: its hard bounces
    # (including soft ones that expire) stay well under the 5% that pages. With the
    # default's 30% of soft-bounced e-mails expiring, a campaign's hour read 3.3-3.8%
    # hard (SMS 2.7-3.1%), close enough to 5% that live traffic sometimes paged on a steady
    # run.
    channels = dict(DEFAULT_SCENARIO.channels)
    channels["email"] = replace(channels["email"], hard_bounce=0.01, delivered_after_soft=0.9)
    channels["sms"] = replace(channels["sms"], hard_bounce=0.012, delivered_after_soft=0.9)
    return replace(
        DEFAULT_SCENARIO, channels=MappingProxyType(channels), delay_scale=DEMO_DELAY_SCALE
    )


def _changed_campaign(scenario: Scenario, name: str, **changes: object) -> Scenario:
    campaigns = tuple(
        replace(c, **changes) if c.name == name else c  # type: ignore[arg-type]
        for c in scenario.campaigns
    )
    return replace(scenario, campaigns=campaigns)


def _page_down(scenario: Scenario, tenant: str) -> Scenario:
    tenants = tuple(
        replace(t, landing_page_up=False) if t.name == tenant else t for t in scenario.tenants
    )
    return replace(scenario, tenants=tenants)


STEADY = _steady()
HALVES = (("control", 0.5), ("empathetic", 0.5))
# Outcomes count once matured: a customer's first delivery at least the experiment horizon
# (default 7 d) ago. A backdated history of 7 d + 1 h plus 12 h of matured exposures, dense
# enough for ~2,500 customers per arm, is published first (~430,000 records, about a
# minute); the live traffic after it matures only a week later.
_MATURED_HISTORY = History(duration_s=7 * 86_400 + 3600 + 12 * 3600.0, events_per_s=0.65)


def _customer_test(
    scenario: Scenario, challenger: Variant, control_weight: float = 1.0
) -> Scenario:
    """reminder-d10 as a customer-level test of control against ``challenger``."""
    return _changed_campaign(
        scenario,
        "reminder-d10",
        weight=20.0,
        assign_by_customer=True,
        variants=(Variant(CONTROL, weight=control_weight), challenger),
    )


# Enough history, at a modest density, to fill an hour's window past the alerts' minimum
# volumes in a few seconds of publishing.
_HOUR_OF_HISTORY = History(duration_s=70 * 60.0, events_per_s=3.0)

_ALL = (
    NamedScenario(
        "steady",
        "A healthy mid-sized agency: three tenants, e-mail, SMS and letter campaigns with "
        "A/B variants. Every panel fills within two minutes: the funnel, bounces, landing "
        "views and conversion, amounts, promises made and then kept or broken, and every "
        "channel's delivery ratio (letters are confirmed by postal tracking). No alert fires.",
        (),
        STEADY,
    ),
    NamedScenario(
        "bounce-spike",
        "A stale list went out half an hour ago: a quarter of campaign reminder-d10's "
        "e-mails (tenant northbank) hard-bounce at once. Its hard-bounce ratio jumps to "
        "~25%; CollectpulseHardBounceSpike fires (critical, after its 5 min hold) and, as "
        "those bounces also count in the 24 h bounce ratio, CollectpulseHighBounceRatio "
        "(warning, after 30 min).",
        ("CollectpulseHardBounceSpike", "CollectpulseHighBounceRatio"),
        _changed_campaign(STEADY, "reminder-d10", stale_contacts=0.25),
        History(duration_s=30 * 60.0, events_per_s=3.0),
    ),
    NamedScenario(
        "broken-link",
        "Tenant telco-one's payment link has been broken for 70 minutes: its sms-reminder "
        "messages are still sent, delivered and clicked, but nobody reaches the landing "
        "page, so its landing views and payments through the page stop. "
        "CollectpulseLandingPageSilence fires for sms-reminder after its 10 min hold.",
        ("CollectpulseLandingPageSilence",),
        _page_down(STEADY, "telco-one"),
        _HOUR_OF_HISTORY,
    ),
    NamedScenario(
        "conversion-drop",
        "The payment form broke: visitors still reach the landing page, but few pay or "
        "set up a plan. Landing conversion and message payment ratios fall to a fraction "
        "of steady's. CollectpulseLandingConversionDrop and "
        "CollectpulseMessagePaymentRatioDrop fire (after 1 h) against their 7-day "
        "baselines, so only on a Prometheus that has recorded at least 24 h of healthy "
        "history; a fresh demo shows the drop on the page, and no alert.",
        ("CollectpulseLandingConversionDrop", "CollectpulseMessagePaymentRatioDrop"),
        replace(STEADY, pay_after_landing=0.03, installment_after_landing=0.02),
        _HOUR_OF_HISTORY,
    ),
    NamedScenario(
        "ab-winner",
        "Campaign reminder-d10 runs a customer-level 50/50 test of control against "
        "'empathetic', which gets more clicks and twice the payments. A backdated week of "
        "it is published first, so customers exposed more than the 7-day horizon ago have "
        "matured: within minutes the customer-level experiment table (and /metrics) shows "
        "empathetic 'significant', with a difference interval above zero, an always-valid "
        "p-value below 0.05 and a clean split. No alert fires.",
        (),
        _customer_test(STEADY, Variant("empathetic", click_lift=1.3, pay_lift=2.0)),
        _MATURED_HISTORY,
        (ExperimentSplit("reminder-d10", HALVES),),
    ),
    NamedScenario(
        "ab-null",
        "Campaign reminder-d10 runs a customer-level 50/50 test of control against "
        "'empathetic', which performs exactly like control (an A/A test). After the same "
        "backdated week as ab-winner, the experiment table shows 'inconclusive' and an "
        "always-valid p-value that stays above 0.05 however long you watch. No alert fires.",
        (),
        _customer_test(STEADY, Variant("empathetic")),
        _MATURED_HISTORY,
        (ExperimentSplit("reminder-d10", HALVES),),
    ),
    NamedScenario(
        "ab-broken-split",
        "Campaign reminder-d10's test is configured 50/50, but the randomiser assigns 55% "
        "of customers to control. The experiment table shows the sample-ratio mismatch "
        "flag and the verdict 'srm' (the numbers, never a winner), and "
        "CollectpulseExperimentSampleRatioMismatch fires after its 15 min hold.",
        ("CollectpulseExperimentSampleRatioMismatch",),
        _customer_test(STEADY, Variant("empathetic"), control_weight=55 / 45),
        _MATURED_HISTORY,
        (ExperimentSplit("reminder-d10", HALVES),),
    ),
    NamedScenario(
        "backlog",
        "A day of steady traffic (about 860,000 events) is published at once, as after "
        "an upstream outage, then live traffic follows. Consumer lag jumps and drains, "
        "the 24 h panels fill with a whole day, processing lag peaks and returns to "
        "under a second. No alert is expected: the lag alerts hold for 10 min, longer "
        "than a healthy worker needs to drain; on a machine that needs longer, "
        "CollectpulseProcessingLagHigh fires, which is its job.",
        (),
        STEADY,
        History(duration_s=24 * 3600.0, events_per_s=10.0),
    ),
)

# A year of steady traffic, thin enough to publish in about a minute (~430,000 records),
# so about 2,400 accounts are placed across twelve placement months (~200 a month).
_YEAR_OF_HISTORY = History(duration_s=365 * 86_400.0, events_per_s=0.0136)

_PORTFOLIO = NamedScenario(
    "portfolio",
    "A year of steady operation published at once, then live traffic: accounts placed "
    "every month with a days-past-due mix, assigned and reassigned, paid in full (the "
    "payment names its account; a few are charged back and re-open), put on plans or "
    "written off. Within about a minute the Portfolio board shows receivables by DPD "
    "bucket, DSO, ADD and CEI over 30 and 90 days, collected per account and recovery "
    "by placement month for the last twelve months (age curves at /api/v1/recovery). "
    "No alert is expected.",
    (),
    STEADY,
    _YEAR_OF_HISTORY,
)

_AGENT_FLOOR = NamedScenario(
    "agent-floor",
    "The contact centre as the Agents board shows it: the dialer's roster is published on "
    "the agent topic (every agent an active collector, two teams per tenant) with daily "
    "targets per agent (promises made, right-party contacts), then an hour of history and "
    "live traffic. Attempts by outcome, RPC and contact ratios by team, promises per RPC "
    "and kept so far by agent, collected per collector and agents below target (pro rata "
    "of the day) fill in; every agent at /api/v1/agents, each target's attainment at "
    "/api/v1/targets. No alert is expected.",
    (),
    STEADY,
    _HOUR_OF_HISTORY,
    floor=True,
)

SCENARIOS: Mapping[str, NamedScenario] = MappingProxyType(
    {s.name: s for s in (*_ALL, _PORTFOLIO, _AGENT_FLOOR)}
)


def named_scenario(name: str) -> NamedScenario:
    """The scenario called `name`; a `ScenarioError` naming the valid ones otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ScenarioError(
            f"unknown scenario {name!r}; choose one of: {', '.join(SCENARIOS)}"
        ) from None


def describe_scenarios() -> str:
    """Every scenario, its description and its alerts, for `--list-scenarios`."""
    blocks = []
    for item in SCENARIOS.values():
        default = " (default)" if item.name == DEFAULT_NAME else ""
        alerts = ", ".join(item.alerts) or "none"
        blocks.append(f"{item.name}{default}\n  {item.description}\n  alerts: {alerts}")
    return "\n\n".join(blocks)


__all__ = [
    "DEFAULT_NAME",
    "DEMO_DELAY_SCALE",
    "SCENARIOS",
    "STEADY",
    "ExperimentSplit",
    "History",
    "NamedScenario",
    "describe_scenarios",
    "experiment_configs",
    "named_scenario",
    "with_tenant_prefix",
]
