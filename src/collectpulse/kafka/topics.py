"""Every topic collectpulse reads or writes, and their creation (idempotent) before use.

Joins need every event of a message on the same partition number of each
co-partitioned topic (the canonical topics, ``dlq``, ``customer-touch``), so
they all get ``settings.topic_partitions`` partitions; an existing one with
another count is an error to fix by hand, never altered silently. The
``raw.<provider>`` topics are re-keyed by the normalisers and Faust's leader
topic uses partition 0 only, so their partition count is created the same but
never checked. The reference topics (``agent``, ``target``, ``cost``,
``experiment``: kpi-catalog section 8) are read by the exporter, never joined, so
their count is not checked either; all but ``cost`` are log-compacted (a cost's
correction is the one with the latest ``occurred_at``, not the last by offset, so
compaction could keep the wrong one).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import for_code

from collectpulse.events.models import ReferenceTopic, Topic
from collectpulse.events.providers import PROVIDERS
from collectpulse.kafka.errors import BrokerUnavailableError, KafkaSetupError, TopicLayoutError
from collectpulse.preflight import faust_leader_topic
from collectpulse.settings import Settings
from collectpulse.store.touches import TOUCH_TOPIC

DLQ = "dlq"
RAW_PREFIX: Final = "raw."
TOPIC_NAMES: tuple[str, ...] = (*(topic.value for topic in Topic), DLQ)
"""The canonical topics and the DLQ, without prefix: what the simulator writes to."""
_TOPIC_ALREADY_EXISTS = 36
_REFUSED = {29, 31}  # TOPIC_ / CLUSTER_AUTHORIZATION_FAILED
_INVALID_REPLICATION = 38
_MAX_AUTO_REPLICATION = 3


class TopicCreationRefusedError(KafkaSetupError):
    """The broker's authorizer refused to create topics; nothing else was wrong."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic to create: full name, partitions, and whether that count is required."""

    name: str
    partitions: int
    co_partitioned: bool
    config: tuple[tuple[str, str], ...] = ()
    """Topic configs set at creation, e.g. ``cleanup.policy=compact``."""


COMPACTED: Final = (("cleanup.policy", "compact"),)


def reference_topics(settings: Settings) -> tuple[TopicSpec, ...]:
    """The reference topics (roster, targets, costs, experiments), keyed by their subject,
    any partition count; compacted but ``cost``."""
    n = settings.topic_partitions
    return tuple(
        TopicSpec(settings.topic(t.value), n, False, () if t is ReferenceTopic.COST else COMPACTED)
        for t in ReferenceTopic
    )


def raw_topic_names(settings: Settings) -> tuple[str, ...]:
    return tuple(settings.topic(RAW_PREFIX + provider) for provider in PROVIDERS)


def worker_topics(settings: Settings) -> tuple[TopicSpec, ...]:
    """Every topic a worker reads or writes: canonical, DLQ, customer-touch, raw.<provider>
    and Faust's own leader topic (single partition)."""
    n = settings.topic_partitions
    shared = [TopicSpec(settings.topic(name), n, True) for name in (*TOPIC_NAMES, TOUCH_TOPIC)]
    raw = [TopicSpec(name, n, False) for name in raw_topic_names(settings)]
    leader = TopicSpec(faust_leader_topic(settings.consumer_group), 1, False)
    return (*shared, *raw, *reference_topics(settings), leader)


def replication_factor(settings: Settings, brokers: int) -> int:
    """The configured factor, checked against the cluster, or min(3, brokers) when unset."""
    wanted = settings.topic_replication_factor
    if wanted is None:
        return max(1, min(_MAX_AUTO_REPLICATION, brokers))
    if wanted > brokers:
        raise KafkaSetupError(
            f"COLLECTPULSE_TOPIC_REPLICATION_FACTOR={wanted} but the cluster has {brokers} "
            f"broker(s): lower it, or leave it unset for min(3, brokers)"
        )
    return wanted


TopicState = Literal["ok", "missing", "wrong_partitions"]


@dataclass(frozen=True, slots=True)
class TopicStatus:
    """What the cluster holds for one spec: its partitions and replicas (0 when missing)."""

    spec: TopicSpec
    partitions: int
    replicas: int

    @property
    def state(self) -> TopicState:
        if not self.partitions:
            return "missing"
        if self.spec.co_partitioned and self.partitions != self.spec.partitions:
            return "wrong_partitions"
        return "ok"


async def topic_status(admin: AIOKafkaAdminClient, specs: Sequence[TopicSpec]) -> list[TopicStatus]:
    """Each spec's topic as the cluster has it now."""
    existing = set(await admin.list_topics())
    present = [spec.name for spec in specs if spec.name in existing]
    described = {t["topic"]: t for t in await admin.describe_topics(present)} if present else {}
    out = []
    for spec in specs:
        partitions = described.get(spec.name, {}).get("partitions", [])
        replicas = max((len(p.get("replicas", ())) for p in partitions), default=0)
        out.append(TopicStatus(spec, len(partitions), replicas))
    return out


async def ensure_topics(
    admin: AIOKafkaAdminClient,
    settings: Settings,
    *,
    timeout_s: float = 30.0,
    extra: tuple[str, ...] = (),
) -> tuple[str, ...]:
    """Create the missing canonical topics and DLQ (and ``extra``, co-partitioned too,
    names without prefix); return the names created. The simulator's set-up."""
    n = settings.topic_partitions
    names = dict.fromkeys(settings.topic(name) for name in (*TOPIC_NAMES, *extra))
    specs = [TopicSpec(name, n, True) for name in names]
    return await create_missing(admin, settings, specs, timeout_s=timeout_s)


async def create_missing(
    admin: AIOKafkaAdminClient,
    settings: Settings,
    specs: Sequence[TopicSpec],
    *,
    timeout_s: float = 30.0,
) -> tuple[str, ...]:
    """Create the ``specs`` topics that are missing, wait until they have leaders; return
    the names created. Raises ``TopicLayoutError`` (nothing created) when a co-partitioned
    topic exists with another count, ``TopicCreationRefusedError`` when the authorizer
    refuses, ``KafkaSetupError`` for a replication factor the cluster cannot give."""
    statuses = await topic_status(admin, specs)
    _check_layout(statuses)
    missing = [status.spec for status in statuses if status.state == "missing"]
    if not missing:
        return ()
    brokers = len((await admin.describe_cluster())["brokers"])
    replication = replication_factor(settings, brokers)
    response = await admin.create_topics(
        [
            NewTopic(spec.name, spec.partitions, replication, topic_configs=dict(spec.config))
            for spec in missing
        ],
        timeout_ms=int(timeout_s * 1000),
    )
    _raise_for_errors(response.to_object()["topic_errors"], replication)
    await _wait_for_leaders(admin, missing, timeout_s)
    return tuple(spec.name for spec in missing)


def _check_layout(statuses: Iterable[TopicStatus]) -> None:
    wrong = [s for s in statuses if s.state == "wrong_partitions"]
    if wrong:
        expected = wrong[0].spec.partitions
        found = ", ".join(f"{s.spec.name} has {s.partitions}" for s in wrong)
        raise TopicLayoutError(
            f"topics must be co-partitioned with COLLECTPULSE_TOPIC_PARTITIONS={expected} "
            f"partitions, but {found}; recreate them or change the setting"
        )


def _raise_for_errors(results: Iterable[dict[str, Any]], replication: int) -> None:
    failed = {r["topic"]: r for r in results if r["error_code"] not in (0, _TOPIC_ALREADY_EXISTS)}
    refused = sorted(name for name, r in failed.items() if r["error_code"] in _REFUSED)
    if refused:
        raise TopicCreationRefusedError(
            f"the broker refuses to create {', '.join(refused)} (authorization failed): grant "
            "Create on them (docs/SECURITY.md), or have an operator allowed to create topics "
            "run `collectpulse topics create` with the same COLLECTPULSE_* settings"
        )
    if any(r["error_code"] == _INVALID_REPLICATION for r in failed.values()):
        raise KafkaSetupError(
            f"the broker refuses replication factor {replication}: "
            "set COLLECTPULSE_TOPIC_REPLICATION_FACTOR to at most the number of brokers"
        )
    for name, r in sorted(failed.items()):
        error = for_code(r["error_code"]).__name__
        raise BrokerUnavailableError(
            f"could not create topic {name}: {error} {r.get('error_message') or ''}".rstrip()
        )


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, specs: Sequence[TopicSpec], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    names = [spec.name for spec in specs]
    while True:
        described = {t["topic"]: t for t in await admin.describe_topics(names)}
        # Another client may have won the race to create a topic, differently.
        _check_layout(
            TopicStatus(spec, len(described[spec.name]["partitions"]), 0)
            for spec in specs
            if described.get(spec.name, {}).get("partitions")
        )
        if all(_is_ready(described.get(spec.name), spec) for spec in specs):
            return
        if time.monotonic() > deadline:
            raise BrokerUnavailableError(f"topics {names} have no leaders after {timeout_s} s")
        await asyncio.sleep(0.2)


def _is_ready(topic: dict[str, Any] | None, spec: TopicSpec) -> bool:
    if topic is None or topic["error_code"] != 0 or not topic["partitions"]:
        return False
    if spec.co_partitioned and len(topic["partitions"]) != spec.partitions:
        return False
    return all(partition["leader"] >= 0 for partition in topic["partitions"])


__all__ = [
    "DLQ",
    "RAW_PREFIX",
    "TOPIC_NAMES",
    "TopicCreationRefusedError",
    "TopicSpec",
    "TopicStatus",
    "create_missing",
    "ensure_topics",
    "raw_topic_names",
    "reference_topics",
    "replication_factor",
    "topic_status",
    "worker_topics",
]
