"""K8 collected per collector: roster collectors first, open-account agents without one."""

from __future__ import annotations

from datetime import date

from collectpulse.kpi.collectors import active_collectors, collected_per_collector

TODAY = date(2027, 3, 31)


def test_a_rostered_tenant_counts_its_active_collectors_only() -> None:
    roster = {
        ("t1", "ann"): ("north", "collector", "active"),
        ("t1", "bob"): ("north", "collector", "active"),
        ("t1", "cy"): ("north", "supervisor", "active"),
        ("t1", "dee"): ("north", "collector", "inactive"),
    }
    collectors = {("t1", "north"): frozenset({"eve"}), ("t2", "south"): frozenset({"fay", "gus"})}
    active = active_collectors(roster, collectors)
    assert active == {("t1", "north"): {"ann", "bob"}, ("t2", "south"): {"fay", "gus"}}
    c = "collected_amount_minor"
    net = {
        (c, "t1", "EUR", "ann", TODAY): 100,
        (
            "collected_amount_minor",
            "t1",
            "EUR",
            "dee",
            date(2027, 3, 25),
        ): 50,  # inactive now: still the team's money
        (c, "t1", "EUR", "cy", date(2027, 3, 10)): 30,  # only in 30d
        (
            "collected_amount_minor",
            "t1",
            "EUR",
            "ann",
            date(2027, 3, 1),
        ): 1000,  # 31 days ago: in neither window
        (
            "collected_amount_minor",
            "t1",
            "EUR",
            "eve",
            TODAY,
        ): 7,  # not rostered: the team of her accounts
        (
            "collected_amount_minor",
            "t1",
            "EUR",
            "__unassigned__",
            TODAY,
        ): 9,  # no team, no collectors: nowhere
        (c, "t2", "GBP", "fay", TODAY): 40,
        (
            "collected_amount_minor",
            "t2",
            "GBP",
            "zed",
            TODAY,
        ): -4,  # a reversal of an agent holding no account now
    }
    got = collected_per_collector(net, roster, collectors, TODAY)
    assert got == {
        ("EUR", "north", "t1", "7d"): (100 + 50 + 7) / 2,
        ("EUR", "north", "t1", "30d"): (100 + 50 + 30 + 7) / 2,
        ("GBP", "south", "t2", "7d"): 40 / 2,
        ("GBP", "south", "t2", "30d"): 40 / 2,
    }


def test_each_tenant_has_its_own_local_today() -> None:
    net = {("collected_amount_minor", "t1", "EUR", "ann", date(2027, 3, 24)): 10}
    collectors = {("t1", "north"): frozenset({"ann"})}
    days = {"t1": date(2027, 3, 30)}
    assert collected_per_collector(net, {}, collectors, days.__getitem__) == {
        ("EUR", "north", "t1", "7d"): 10.0,
        ("EUR", "north", "t1", "30d"): 10.0,
    }
    days["t1"] = date(2027, 3, 31)  # a day later the 24th is 8 days back
    assert ("EUR", "north", "t1", "7d") not in collected_per_collector(
        net, {}, collectors, days.__getitem__
    )
