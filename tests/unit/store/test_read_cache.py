"""The per-partition read cache: an entry lives exactly as long as its partition's write
version stands still, and keeps only the bucket runs and unique counts still in use."""

from __future__ import annotations

from collectpulse.store.read_cache import (
    PartitionCache,
    PartitionRead,
    RunKey,
    forget_unused,
    missing_runs,
    struggling_now,
)

HOUR: RunKey = (60, (3540, 3480))
DAY: RunKey = (3600, (0, -3600))


def entry(version: bytes = b"7") -> PartitionRead:
    return PartitionRead(
        version=version,
        names=["visitors"],
        offsets={b"delivery": b"41"},
        totals=[b"messages_sent", b"3"],
        runs={HOUR: [b"messages_sent", b"1"], DAY: [b"messages_sent", b"3"]},
        struggling=[(b"t\x1fc-1", 100.0), (b"t\x1fc-2", 200.0)],
        uniques={(60, 3540, 2, "visitors"): 4},
    )


def test_an_entry_at_the_partitions_version_is_served() -> None:
    cache = PartitionCache()
    kept = entry(b"7")
    cache.keep(3, kept)

    assert cache.partitions() == [3]
    assert cache.still_valid({3: b"7"}) == {3: kept}
    assert cache.still_valid({3: b"7"})[3] is kept


def test_an_entry_is_dropped_when_its_partitions_version_moves() -> None:
    cache = PartitionCache()
    cache.keep(3, entry(b"7"))
    cache.keep(4, entry(b"2"))

    valid = cache.still_valid({3: b"8", 4: b"2"})

    assert list(valid) == [4]
    # forgotten, not only skipped: moving back to 7 must not revive the old sums
    assert cache.partitions() == [4]
    assert cache.still_valid({3: b"7", 4: b"2"}) == {4: valid[4]}


def test_an_entry_is_dropped_when_its_version_is_gone_or_unlisted() -> None:
    cache = PartitionCache()
    cache.keep(3, entry(b"7"))
    cache.keep(5, entry(b"1"))

    assert cache.still_valid({3: None}) == {}
    assert cache.partitions() == []


def test_without_an_entry_every_run_is_read_with_one_only_the_turned_run() -> None:
    turned: RunKey = (60, (3600, 3540))

    assert missing_runs(None, [HOUR, DAY]) == [HOUR, DAY]
    assert missing_runs(entry(), [HOUR, DAY]) == []
    assert missing_runs(entry(), [turned, DAY]) == [turned]


def test_runs_and_unique_counts_no_longer_used_are_forgotten() -> None:
    kept = entry()
    forget_unused(kept, [DAY], {(3600, 0, 24, "visitors")})

    assert list(kept.runs) == [DAY]
    assert kept.uniques == {}


def test_struggling_customers_age_out_of_a_cached_entry() -> None:
    assert struggling_now(entry(), 99) == [(b"t\x1fc-1", 100.0), (b"t\x1fc-2", 200.0)]
    assert struggling_now(entry(), 100) == [(b"t\x1fc-2", 200.0)]
    assert struggling_now(entry(), 200) == []
