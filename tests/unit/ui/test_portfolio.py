"""The live page's portfolio section: every tagged number is its /metrics sample."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from tests.unit.ui.test_customer_experiments import _samples, _tagged

from collectpulse.kpi.accounts import AccountTotals
from collectpulse.kpi.costs import Cost
from collectpulse.store.reader import StoreView
from collectpulse.ui.model import Filters, live_model
from collectpulse.ui.render import live_fragment

NOW_S = 1_806_406_000  # 2027-03-30T12:06:40Z; in Auckland already 01:06 on the 31st
TOTALS = AccountTotals(
    receivables={
        ("acme", "EUR", "2027-03-30"): (30_000, 3),  # current in UTC, 1 DPD in Auckland
        ("acme", "EUR", "2027-02-15"): (20_000, 2),
        ("globex", "USD", "2027-04-10"): (5_000, 1),
    },
    flows={
        ("acme", "EUR", date(2027, 3, 10)): (90_000, 40_000, 25_000),
        ("globex", "USD", date(2027, 1, 2)): (8_000, 0, 0),  # 87 days before: 90d only
    },
)


def _view(zones: dict[str, str]) -> StoreView:
    return StoreView(NOW_S, (0,), {}, {"1h": {}}, accounts=TOTALS, tenant_zones=zones)


def test_every_number_of_the_portfolio_section_is_its_metrics_sample() -> None:
    view = _view({"acme": "Pacific/Auckland"})
    model = live_model(view, window="1h", filters=Filters(), min_sample=100)
    fragment = live_fragment(model)
    samples = _samples(view)
    section = fragment[fragment.index('id="portfolio-h"') :]
    tagged = _tagged(section[: section.index("</section>")])
    checked = 0
    for metric, labels, value in tagged:
        if metric.startswith("collectpulse_receivables_minor"):
            want = sum(
                v
                for (name, ls), v in samples.items()
                if name == metric and dict(ls).items() >= labels.items()
            )
        elif metric.removeprefix("collectpulse_") in {
            "dso_days",
            "best_possible_dso_days",
            "add_days",
            "cei_ratio",
            "cash_cei_ratio",
            "balance_weighted_dpd_days",
        }:
            key = (metric, frozenset(labels.items()))
            if value == "":
                assert key not in samples
                continue
            want = samples[key]
        else:
            continue
        assert float(value) == want, (metric, labels)
        checked += 1
    # 4 rows x 7 samples, less USD's absent DSO, BPDSO, ADD (30d), CEIs and weighted DPD
    assert checked == 28 - 3 - 4 - 2
    rows = {(r["labels"]["currency"], r["labels"]["window"]): r for r in model["portfolio"]}
    # acme's today is 2027-03-31 in Auckland: its 30 000 due on the 30th is past due
    acme = rows[("EUR", "30d")]["values"]
    assert (acme["receivables_minor"], acme["past_due_minor"]) == (50_000, 50_000)
    assert acme["dso_days"] == 50_000 / 90_000 * 30
    assert rows[("USD", "30d")]["values"]["dso_days"] is None  # S = 0 in 30 days
    assert rows[("USD", "90d")]["values"]["dso_days"] == 5_000 / 8_000 * 90


def test_the_tenant_filter_keeps_its_rows() -> None:
    model = live_model(_view({}), window="1h", filters=Filters(tenant="globex"), min_sample=1)
    assert {r["labels"]["tenant"] for r in model["portfolio"]} == {"globex"}
    utc = {
        r["labels"]["window"]: r
        for r in live_model(_view({}), window="1h", filters=Filters(), min_sample=1)["portfolio"]
        if r["labels"]["currency"] == "EUR"
    }
    assert utc["30d"]["values"]["past_due_minor"] == 20_000  # UTC: the 30th is current


def test_collected_per_account_and_recovery_cells_are_their_metrics_samples() -> None:
    from collectpulse.kpi.allocation import AllocationTotals

    allocation = AllocationTotals(
        days={("acme", "EUR", date(2027, 3, 29)): {"a": 5_000, "u": 300, "x": 1}},
        cohorts={("acme", "EUR", "2027-01"): {"p": 40_000, "n": 10_000}},
    )
    view = StoreView(NOW_S, (0,), {}, {"1h": {}}, accounts=TOTALS, allocation=allocation)
    model = live_model(view, window="1h", filters=Filters(), min_sample=100)
    fragment = live_fragment(model)
    samples = _samples(view)
    checked = 0
    for metric, labels, value in _tagged(fragment[fragment.index('id="portfolio-h"') :]):
        name = metric.removeprefix("collectpulse_")
        if name in {"handled_accounts", "collected_per_account", "recovery_ratio"}:
            assert float(value) == samples[(metric, frozenset(labels.items()))], metric
            checked += 1
    # EUR and USD (one open account, nothing collected), 30d and 90d: handled and per
    # account; one cohort
    assert checked == 9
    rows = {(r["labels"]["currency"], r["labels"]["window"]): r for r in model["portfolio"]}
    eur = rows[("EUR", "30d")]["values"]
    assert (eur["handled_accounts"], eur["collected_per_account"]) == (6, 5_000 / 6)
    assert model["recovery"][0]["recovery_ratio"] == 0.25


def test_collected_per_account_by_team_cells_are_their_metrics_samples() -> None:
    from dataclasses import replace

    from collectpulse.kpi.allocation import AllocationTotals

    day = date(2027, 3, 29)
    allocation = AllocationTotals(
        teams={
            ("acme", "EUR", "early", day): {"a": 4_000, "x": 1},
            ("acme", "EUR", "__unassigned__", day): {"a": 1_000},
        }
    )
    # acme EUR: 5 open, 3 of them in early; the 2 stored before the team count: unassigned
    totals = replace(TOTALS, open_teams={("acme", "EUR", "early"): 3})
    view = StoreView(NOW_S, (0,), {}, {"1h": {}}, accounts=totals, allocation=allocation)
    model = live_model(view, window="1h", filters=Filters(), min_sample=100)
    fragment = live_fragment(model)
    samples = _samples(view)
    section = fragment[fragment.index('id="team-k10-h"') :]
    tagged = _tagged(section[: section.index("</section>")])
    for metric, labels, value in tagged:
        key = (metric, frozenset(labels.items()))
        if value == "":  # H = 0: no sample
            assert key not in samples
            continue
        assert float(value) == samples[key], metric
    # acme EUR early and unassigned, globex USD unassigned; 30d and 90d; two gauges each
    assert len(tagged) == 12
    rows = {
        (r["labels"]["tenant"], r["labels"]["team"], r["labels"]["window"]): r
        for r in model["team_collected"]
    }
    assert rows[("acme", "early", "30d")]["team_collected_per_account"] == 4_000 / 4
    assert rows[("acme", "__unassigned__", "30d")]["team_handled_accounts"] == 2


def test_the_cost_cells_are_their_metrics_samples() -> None:
    march = date(2027, 3, 1), date(2027, 4, 1)
    costs = (
        Cost("lab", "acme", "labour", "EUR", 31_000, *march),
        Cost("tel", "acme", "telephony", "EUR", 3_100, *march),
    )
    totals = replace(TOTALS, attempts={("acme", date(2027, 3, 20)): 50})
    view = replace(_view({}), accounts=totals, costs=costs)
    fragment = live_fragment(live_model(view, window="1h", filters=Filters(), min_sample=1))
    samples = _samples(view)
    section = fragment[fragment.index('id="portfolio-h"') :]
    checked = 0
    for metric, labels, value in _tagged(section[: section.index("</section>")]):
        name = metric.removeprefix("collectpulse_")
        if name == "cost_minor":
            matching = [
                v
                for (n, ls), v in samples.items()
                if n == metric and dict(ls).items() >= labels.items()
            ]
            if value == "":  # globex has no cost
                assert matching == []
                continue
            want = sum(matching)
        elif name in {"cost_per_contact", "cost_to_collect_ratio", "profit_per_account"}:
            key = (metric, frozenset(labels.items()))
            if value == "":
                assert key not in samples
                continue
            want = samples[key]
        else:
            continue
        assert float(value) == want, (metric, labels)
        checked += 1
    # today 2027-03-30 (UTC): 30d = 03-01 .. 03-30, March's labour 1 000 and telephony 100
    # a day; 5 open accounts handled, nothing collected (no cost-to-collect sample),
    # March's labour does not cover 90d (no profit there)
    assert checked == 5
    rows = {(r["labels"]["currency"], r["labels"]["window"]): r for r in view_rows(view)}
    w30, w90 = rows[("EUR", "30d")]["values"], rows[("EUR", "90d")]["values"]
    assert w30["cost_minor"] == 33_000 and w30["cost_per_contact"] == 33_000 / 50
    assert w30["profit_per_account"] == (0 - 33_000) / 5
    assert w30["cost_to_collect_ratio"] is None and w90["profit_per_account"] is None


def view_rows(view: StoreView) -> list[dict[str, Any]]:
    return live_model(view, window="1h", filters=Filters(), min_sample=1)["portfolio"]  # type: ignore[no-any-return]
