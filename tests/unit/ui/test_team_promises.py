"""The live page's promises-by-team section: every tagged number is its /metrics sample,
an undefined ratio is an untagged dash, and the tenant filter applies."""

from __future__ import annotations

from tests.unit.ui.test_agent_targets import TODAY, _view
from tests.unit.ui.test_customer_experiments import _samples, _tagged

from collectpulse.kpi.team_promises import cohort_column
from collectpulse.store.reader import StoreView
from collectpulse.ui.model import Filters, live_model
from collectpulse.ui.render import live_fragment


def _with_promises() -> StoreView:
    view = _view()
    facts = {
        ("outbound_rpcs", "acme", "", "ann", TODAY): 4,
        ("outbound_ptp_made", "acme", "", "ann", TODAY): 1,
        ("outbound_kept_cohort", "acme", "", "ann", TODAY): 1,
        (cohort_column("made", "outbound", "promise_to_pay"), "acme", "", "ann", TODAY): 1,
        (cohort_column("kept", "outbound", "promise_to_pay"), "acme", "", "ann", TODAY): 1,
        ("promises_made", "other", "", "zed", TODAY): 2,  # another tenant, no team
    }
    view.agent_net.update(facts)
    return view


def _section(fragment: str) -> str:
    section = fragment[fragment.index('id="team-promises-h"') :]
    return section[: section.index("</section>")]


def test_every_number_of_the_team_section_is_its_metrics_sample() -> None:
    view = _with_promises()
    fragment = live_fragment(live_model(view, window="1h", filters=Filters(), min_sample=100))
    samples = _samples(view)
    tagged = _tagged(_section(fragment))
    for metric, labels, value in tagged:
        assert float(value) == samples[(metric, frozenset(labels.items()))]
    north = {"team": "north", "tenant": "acme", "window": "7d"}
    assert ("collectpulse_team_outbound_ptp_per_rpc_ratio", north, repr(0.25)) in tagged
    assert ("collectpulse_team_promises_made", north, repr(1.0)) in tagged
    # north resolved nothing: no kept-ratio sample, a dash; zed's tenant has no RPC
    assert not any(m == "collectpulse_team_promise_kept_ratio" for m, _, _ in tagged)
    unassigned = {"team": "__unassigned__", "tenant": "other", "window": "30d"}
    assert ("collectpulse_team_promises_made", unassigned, repr(2.0)) in tagged
    cohort = {"direction": "outbound", "kind": "promise_to_pay"} | north
    assert ("collectpulse_team_promise_kept_cohort_ratio", cohort, repr(1.0)) in tagged


def test_the_tenant_filter_keeps_its_teams_only() -> None:
    model = live_model(
        _with_promises(), window="1h", filters=Filters(tenant="other"), min_sample=100
    )
    rows = model["team_promises"]["teams"]
    assert {row["labels"]["tenant"] for row in rows} == {"other"}
    assert model["team_promises"]["cohort"] == []
