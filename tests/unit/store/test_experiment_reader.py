"""Summing the partitions' experiment counts: the start, maturity and arms outside the split."""

from __future__ import annotations

from collectpulse.store.experiment_config import ExperimentConfig
from collectpulse.store.experiment_reader import ArmCounts, counts_by_experiment
from collectpulse.store.experiment_units import count_field

HOUR = 3600
DAY = 86_400
NOW = 1_800_000_000 - 1_800_000_000 % HOUR + 1800  # half past an hour
START = NOW - 20 * DAY + 600  # ten minutes past an hour: counted from the next hour
CONFIG = ExperimentConfig("tone", {"control": 0.5, "b": 0.5}, "control", START, 0.05, 5000)


def field(arm: str, kind: str, bucket: int, tenant: str = "t") -> str:
    return count_field("tone", arm, tenant, kind, bucket)


def test_partitions_are_summed_from_the_start_with_maturity_by_the_hour() -> None:
    start_hour = START - START % HOUR
    matured = NOW - 7 * DAY - HOUR - 1800  # its hour ended exactly 7 days ago
    young = matured + HOUR  # its hour ends 7 days ago only in an hour
    p0 = {
        field("control", "u", start_hour): 4,  # before the start's next hour: not counted
        field("control", "u", start_hour + HOUR): 3,
        field("control", "c", start_hour + HOUR): 1,
        field("control", "u", matured): 2,
        field("b", "u", young): 5,
        field("b", "c", young): 5,  # converted, but not matured yet
        field("", "x", matured): 1,
    }
    p1 = {
        field("control", "u", matured).encode(): b"1",
        field("zzz", "u", matured).encode(): b"9",  # an arm outside the split
        count_field("other", "control", "t", "u", matured).encode(): b"7",  # not configured
        b"not a count field": b"1",
    }
    counted = counts_by_experiment([p0, p1], {"tone": CONFIG}, now_s=NOW, horizon_s=7 * DAY)
    assert counted == {
        ("tone", "t"): (
            {"b": ArmCounts(5, 0, 0), "control": ArmCounts(6, 6, 1)},
            1,
        )
    }


def test_an_experiment_with_crossovers_only_lists_every_arm_at_zero() -> None:
    raw = [{field("", "x", NOW - 10 * DAY): 2}]
    counted = counts_by_experiment(raw, {"tone": CONFIG}, now_s=NOW, horizon_s=7 * DAY)
    assert counted == {("tone", "t"): ({"b": ArmCounts(), "control": ArmCounts()}, 2)}


def test_per_segment_fields_are_summed_apart_from_the_experiments() -> None:
    bucket = NOW - 10 * DAY - (NOW - 10 * DAY) % HOUR  # matured

    def seg(arm: str, kind: str, segment: str) -> str:
        return count_field("tone", arm, "t", kind, bucket, segment)

    raw = [
        {field("control", "u", bucket): 5, seg("control", "u", "vip"): 2, seg("b", "u", "vip"): 3},
        {seg("control", "u", "new"): 3, seg("control", "c", "new"): 1, seg("", "x", "new"): 1},
    ]
    args = {"now_s": NOW, "horizon_s": 7 * DAY}
    assert counts_by_experiment(raw, {"tone": CONFIG}, **args) == {
        ("tone", "t"): ({"b": ArmCounts(), "control": ArmCounts(5, 5, 0)}, 0)
    }
    assert counts_by_experiment(raw, {"tone": CONFIG}, **args, segmented=True) == {
        ("tone", "t", "new"): ({"b": ArmCounts(), "control": ArmCounts(3, 3, 1)}, 1),
        ("tone", "t", "vip"): ({"b": ArmCounts(3, 3, 0), "control": ArmCounts(2, 2, 0)}, 0),
    }
