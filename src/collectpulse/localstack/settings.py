"""Where the development stack (Kafka, Redis) lives: ``COLLECTPULSE_LOCAL_<FIELD>``.

Apart from the service's ``Settings``: only ``collectpulse local``/``run``, the tests
and the benchmarks start a stack of their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from collectpulse.settings import Port


class LocalStackSettings(BaseSettings):
    """Where the development stack (Kafka, Redis) lives; ``COLLECTPULSE_LOCAL_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="COLLECTPULSE_LOCAL_", frozen=True, extra="ignore")

    root: Path = Path(".")
    state_dir: Path = Path(".local")
    kafka_port: Port = 19092
    kafka_controller_port: Port = 19093
    kafka_partitions: int = Field(default=8, ge=1, le=256)
    kafka_heap_mb: int = Field(default=512, ge=128)
    kafka_brokers: Literal[1, 3] = 1
    """3: a replicated KRaft cluster (localstack/kafka_cluster.py) instead of one broker."""
    redis_port: Port = 16379
    # `local start --redis-cluster`: six nodes on redis_cluster_port + 0..5, their
    # cluster bus on redis_cluster_bus_port + 0..5
    redis_cluster_port: Port = 17001
    redis_cluster_bus_port: Port = 27001


__all__ = ["LocalStackSettings"]
