"""Contact KPIs (K1-K3) on the real pipeline against the oracle of ``contact_log``.

One run publishes the generated log to real Kafka (phase 1 before the worker
starts, phase 2 once phase 1 is applied: duplicates in a later write, a wrongly
keyed contact and two invalid ones), a real worker applies it and the real
exporter's /metrics is compared with counts made in ``contact_log`` from the
published bodies.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from collectpulse.settings import Settings
from collectpulse.stream.deadletter import DLQ_TOPIC
from tests.integration import contact_log
from tests.integration.contact_log import ContactLog, Labels
from tests.integration.kpi_value_run import drained, publish_in_order
from tests.support.kafka import create_topics, read_all
from tests.support.metrics import Samples, scrape
from tests.support.pipeline import run_pipeline

WINDOWS = ("1h", "24h", "7d")


@dataclass(frozen=True)
class Run:
    settings: Settings
    log: ContactLog
    samples: Samples
    dead: list[tuple[bytes | None, bytes | None, dict[str, bytes]]]


@pytest.fixture(scope="module")
async def run(
    local_stack: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Run]:
    logs = tmp_path_factory.mktemp("contact-values")
    tag = uuid.uuid4().hex[:10]
    settings = Settings(
        kafka_bootstrap_servers=local_stack[0],
        redis_url=local_stack[1],  # type: ignore[arg-type]
        topic_prefix=f"t{tag}.",
        key_prefix=f"t{tag}",
        consumer_group=f"collectpulse-test-{tag}",
        data_dir=logs / "worker",
        topic_partitions=4,
    )
    log = contact_log.build(int(time.time()))
    await create_topics(settings)
    await publish_in_order(settings, log.phase1)
    with run_pipeline(settings, logs) as pipe:
        url = pipe.url("/metrics")
        await drained(settings, url, len(log.phase1), pipe.processes)
        await publish_in_order(settings, log.phase2)
        await drained(settings, url, len(log.phase1) + len(log.phase2), pipe.processes)
        samples = await scrape(url)
    dead = await read_all(settings, settings.topic(DLQ_TOPIC), expect=log.invalid)
    yield Run(settings, log, samples, dead)


def series(
    samples: Samples, name: str, *, zeros: bool = False, **match: str
) -> dict[Labels, float]:
    """Samples of ``name`` with labels ``match`` (zeros only if asked: the exporter
    pre-initialises some), keyed by their other non-empty labels (the exporter writes an
    absent optional label as "")."""
    want = set(match.items())
    return {
        frozenset((k, v) for k, v in labels if k not in match and v): round(value, 9)
        for (sample, labels), value in samples.items()
        if sample == name and want <= labels and (value or zeros)
    }


def test_the_log_has_the_edge_cases_the_tests_are_about(run: Run) -> None:
    contacts = contact_log.unique_contacts(run.log)
    outcomes = {b["outcome"] for b in contacts if b["direction"] == "outbound"}
    assert outcomes == {
        "right_party",
        "wrong_party",
        "no_answer",
        "voicemail",
        "busy",
        "invalid_number",
    }
    assert any(b["customer_id"] is None for b in contacts), "an unidentified inbound contact"
    assert len(run.log.valid_bodies) - len(contacts) == 6, "six duplicate contact ids"


def test_contact_attempts_count_each_contact_id_once_all_time_and_per_window(run: Run) -> None:
    s = run.samples
    total = series(s, "collectpulse_contact_attempts_total")
    assert total == contact_log.attempts(run.log, None)
    for window in WINDOWS:
        got = series(s, "collectpulse_windowed_contact_attempts", window=window)
        assert got == contact_log.attempts(run.log, window), window


def test_an_unidentified_inbound_contact_counts_in_the_inbound_volumes(run: Run) -> None:
    unidentified = [b for b in contact_log.unique_contacts(run.log) if b["customer_id"] is None]
    inbound = series(run.samples, "collectpulse_contact_attempts_total", direction="inbound")
    identified = [
        b
        for b in contact_log.unique_contacts(run.log)
        if b["direction"] == "inbound" and b["customer_id"] is not None
    ]
    assert sum(inbound.values()) == len(unidentified) + len(identified)


@pytest.mark.parametrize(
    ("ratio", "outcomes"),
    [
        ("rpc", {"right_party"}),
        ("contact", {"right_party", "wrong_party"}),
        ("wrong_number", {"wrong_party", "invalid_number"}),
    ],
)
def test_outbound_ratios_keep_unanswered_voicemail_and_busy_in_the_denominator(
    run: Run, ratio: str, outcomes: set[str]
) -> None:
    for window in WINDOWS:
        got = series(run.samples, f"collectpulse_{ratio}_ratio", zeros=True, window=window)
        assert got == contact_log.outbound_ratios(run.log, window, outcomes), (ratio, window)


def test_duplicates_bad_contacts_and_wrong_keys_are_counted_per_topic(run: Run) -> None:
    s = run.samples
    assert series(s, "collectpulse_events_duplicate_total") == {
        frozenset({("topic", "contact")}): 6
    }
    assert series(s, "collectpulse_events_invalid_total", topic="contact") == {
        frozenset({("reason", "validation")}): run.log.invalid
    }
    assert series(s, "collectpulse_events_dead_lettered_total") == {
        frozenset({("topic", "contact")}): run.log.invalid
    }
    assert series(s, "collectpulse_events_key_mismatch_total") == {
        frozenset({("topic", "contact")}): run.log.wrong_keys
    }
    reasons = sorted(headers["cp-error-class"] for _, _, headers in run.dead)
    assert reasons == [b"inbound_outcome", b"outbound_customer"]
    source = {headers["cp-source-topic"] for _, _, headers in run.dead}
    assert source == {run.settings.topic("contact").encode()}
