"""Our murmur2 partitioner must place keys exactly where Kafka's default partitioner does."""

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as reference_murmur2
from hypothesis import given
from hypothesis import strategies as st

from collectpulse.kafka.partitioning import key_partitioner, murmur2


@given(st.binary(max_size=600))
def test_murmur2_matches_the_java_client_port(data: bytes) -> None:
    assert murmur2(data) == reference_murmur2(data)


@given(st.binary(min_size=1, max_size=80), st.integers(min_value=1, max_value=64))
def test_partition_matches_the_default_partitioner(key: bytes, partitions: int) -> None:
    everything = list(range(partitions))
    expected = DefaultPartitioner()(key, everything, everything)
    assert key_partitioner(partitions)(key) == expected


def test_answers_stay_right_after_the_memo_starts_afresh() -> None:
    partition_of = key_partitioner(8, memo=3)
    keys = [f"customer-{i}".encode() for i in range(10)]
    first = [partition_of(k) for k in keys]
    again = [partition_of(k) for k in keys]
    assert first == again
    everything = list(range(8))
    assert first == [DefaultPartitioner()(k, everything, everything) for k in keys]


def test_zero_partitions_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        key_partitioner(0)
