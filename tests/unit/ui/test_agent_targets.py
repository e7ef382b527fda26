"""The live page's collectors and targets section: every tagged number is its /metrics sample."""

from __future__ import annotations

from datetime import date

from tests.unit.ui.test_customer_experiments import _samples, _tagged

from collectpulse.kpi.accounts import AccountTotals
from collectpulse.kpi.targets import Target
from collectpulse.store.reader import StoreView
from collectpulse.ui.model import Filters, live_model
from collectpulse.ui.render import live_fragment

NOW_S = 1_806_406_000  # 2027-03-30T12:06:40Z
TODAY = date(2027, 3, 30)


def _view() -> StoreView:
    c = "collected_amount_minor"
    return StoreView(
        NOW_S,
        (0,),
        {},
        {"1h": {}},
        accounts=AccountTotals(collectors={("acme", "east"): frozenset({"eve"})}),
        agent_net={
            (c, "acme", "EUR", "ann", TODAY): 500,
            (c, "acme", "EUR", "bob", date(2027, 3, 10)): 300,
            (c, "acme", "EUR", "eve", TODAY): 70,
            ("promises_made", "acme", "", "ann", TODAY): 1,
        },
        roster={
            ("acme", "ann"): ("north", "collector", "active"),
            ("acme", "bob"): ("north", "collector", "active"),
        },
        targets=(
            Target(
                "agent:ann:promises_made:day",
                "acme",
                "agent",
                "ann",
                "promises_made",
                "day",
                "",
                ((date(2027, 1, 1), 10.0),),
            ),
        ),
    )


def test_every_number_of_the_collectors_section_is_its_metrics_sample() -> None:
    view = _view()
    model = live_model(view, window="1h", filters=Filters(), min_sample=100)
    fragment = live_fragment(model)
    samples = _samples(view)
    section = fragment[fragment.index('id="agent-targets-h"') :]
    tagged = _tagged(section[: section.index("</section>")])
    assert len(tagged) == 3  # north 7d and 30d (eve's tenant has a roster), ann below
    for metric, labels, value in tagged:
        assert float(value) == samples[(metric, frozenset(labels.items()))]
    assert (
        samples[
            (
                "collectpulse_collected_per_collector",
                frozenset(
                    {"currency": "EUR", "team": "north", "tenant": "acme", "window": "30d"}.items()
                ),
            )
        ]
        == (500 + 300) / 2
    )
    below = ("metric", "promises_made"), ("team", "north"), ("tenant", "acme")
    assert samples[("collectpulse_agents_below_target", frozenset(below))] == 1
