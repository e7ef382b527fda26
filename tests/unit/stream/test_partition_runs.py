"""How the agent cuts a partition's batches into writes, and the broker URL it asks for."""

from __future__ import annotations

from yarl import URL

from collectpulse.settings import Settings
from collectpulse.stream.agents import _runs
from collectpulse.stream.app import broker_url
from collectpulse.stream.batch import RawRecord, RecordBatch


def _batch(topic: str, first: int, size: int) -> RecordBatch:
    records = [RawRecord(first + i, None, b"{}", (), 0) for i in range(size)]
    return RecordBatch(topic, 0, first, first + size - 1, records)


def test_runs_keep_the_order_and_stay_under_the_limit_unless_one_batch_is_bigger() -> None:
    batches = [
        _batch("delivery", 0, 3),
        _batch("open", 0, 4),
        _batch("delivery", 3, 2),
        _batch("click", 0, 12),
        _batch("open", 4, 1),
    ]

    runs = _runs(batches, max_records=8)

    assert [b for run in runs for b in run] == batches
    assert [[len(b) for b in run] for run in runs] == [[3, 4], [2], [12], [1]]


def test_runs_of_a_single_small_batch_is_that_batch() -> None:
    only = _batch("pageview", 7, 5)

    assert _runs([only], max_records=5000) == [[only]]


def test_the_broker_url_carries_the_batch_and_fetch_settings() -> None:
    settings = Settings(
        kafka_bootstrap_servers="k1:9092, k2:9093",
        batch_max_records=700,
        fetch_min_bytes=1,
        fetch_max_wait_ms=40,
    )

    url = URL(broker_url(settings.model_copy(update={"kafka_bootstrap_servers": "k1:9092"})))

    assert url.scheme == "batchkafka"
    assert dict(url.query) == {
        "max_batch_records": "700",
        "fetch_min_bytes": "1",
        "fetch_max_wait_ms": "40",
    }
    assert broker_url(settings).startswith("batchkafka://k1:9092;k2:9093?")
