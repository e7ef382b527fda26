"""The fault harness inside the test suite: the short seeded run, and proof it can fail.

The short run starts its own Kafka and Redis (the session servers are shared
with other tests and must not be killed); the can-fail run kills nothing and
uses the session servers with a key and topic prefix of its own.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from collectpulse.events.models import Topic
from tests.faults.cluster import Servers
from tests.faults.generator import Kind, Log, Publication
from tests.faults.harness import FAULTS, SHORT, run

pytestmark = pytest.mark.integration


@pytest.mark.timeout(420)
async def test_short_fault_run_counts_every_event_exactly_once(tmp_path: Path) -> None:
    report = await run(SHORT, tmp_path / "run", servers=Servers.create(tmp_path / "stack"))
    print(report.render())

    assert set(report.fault_counts()) == set(FAULTS), "each fault type at least once"
    assert report.published[Kind.DUPLICATE] > 0
    assert report.published[Kind.POISON] > 0
    assert report.scraped_nonzero > 0
    assert report.differences == []


def _one_late_duplicate(log: Log) -> None:
    """Publish the first payment once more, at the very end (a later batch)."""
    first = next(p for p in log.publications if p.topic is Topic.PAYMENT)
    log.publications.append(Publication(first.topic, first.key, first.value, Kind.DUPLICATE))


@pytest.mark.timeout(240)
async def test_the_harness_reports_a_single_duplicate_applied_twice(
    local_stack: tuple[str, str], tmp_path: Path
) -> None:
    config = dataclasses.replace(
        SHORT,
        messages=40,
        publish_s=8.0,
        faults=(),
        workers=1,
        duplicate_share=0.0,
        poison_share=0.0,
        tweak_log=_one_late_duplicate,
        extra_env={"COLLECTPULSE_UNSAFE_TEST_DISABLE_DEDUPE": "true"},
    )
    bootstrap, redis_url = local_stack
    report = await run(config, tmp_path, bootstrap=bootstrap, redis_url=redis_url)
    print(report.render())

    assert report.published[Kind.DUPLICATE] == 1
    assert any(
        d.startswith('collectpulse_events_duplicate_total{topic="payment"}: expected 1, got 0')
        for d in report.differences
    ), report.differences
    assert any(d.startswith("collectpulse_payment_attempts_total{") for d in report.differences)
