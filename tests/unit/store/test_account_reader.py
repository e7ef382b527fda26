"""The partitions' account hashes summed into the exporter's totals."""

from collectpulse.kpi.accounts import AccountTotals
from collectpulse.store.account_reader import merge_accounts

SEP = "\x1f"


def test_partitions_are_summed_and_collectors_are_counted_once() -> None:
    p0 = [
        {f"t{SEP}open{SEP}early{SEP}ann{SEP}2027-01-01".encode(): b"2"},
        {
            f"t{SEP}EUR{SEP}2027-01-01{SEP}b".encode(): b"700",
            f"t{SEP}EUR{SEP}2027-01-01{SEP}n": "2",
            f"t{SEP}EUR{SEP}early{SEP}t": "2",
        },
        {f"t{SEP}early{SEP}ann".encode(): b"2"},
    ]
    p1 = [
        {f"t{SEP}open{SEP}early{SEP}ann{SEP}2027-01-01".encode(): b"1"},
        {
            f"t{SEP}EUR{SEP}2027-01-01{SEP}b".encode(): b"50",
            f"t{SEP}EUR{SEP}2027-01-01{SEP}n": "1",
            f"t{SEP}EUR{SEP}early{SEP}t".encode(): b"1",
        },
        {f"t{SEP}early{SEP}ann".encode(): b"1", f"t{SEP}early{SEP}id{SEP}with-sep".encode(): b"1"},
    ]
    assert merge_accounts([*p0, *p1]) == AccountTotals(
        open={("t", "open", "early", "ann", "2027-01-01"): 3},
        receivables={("t", "EUR", "2027-01-01"): (750, 3)},
        collectors={("t", "early"): frozenset({"ann", f"id{SEP}with-sep"})},
        open_teams={("t", "EUR", "early"): 3},
    )


def test_daily_flows_are_summed_over_partitions_per_tenant_currency_and_day() -> None:
    from datetime import date

    from collectpulse.store.account_reader import flow_days, merge_flows

    days = flow_days(1_806_450_000)  # 2027-03-30T...Z: the read starts on the 31st
    assert (days[0], days[1], len(days)) == ("2027-03-31", "2027-03-30", 92)
    p0 = [{f"t{SEP}EUR{SEP}s".encode(): b"700", f"t{SEP}EUR{SEP}c": "5"}, {}]
    p1 = [{f"t{SEP}EUR{SEP}s".encode(): b"50"}, {f"t{SEP}EUR{SEP}r": "9", "junk": "1"}]
    assert merge_flows(days[:2], [p0, p1]) == {
        ("t", "EUR", date(2027, 3, 31)): (750, 0, 5),
        ("t", "EUR", date(2027, 3, 30)): (0, 9, 0),
    }
