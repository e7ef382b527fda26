"""One log line per change of a dependency, whatever the number and order of reports."""

from __future__ import annotations

import logging

import pytest

from collectpulse.dependencies import Dependencies, describe
from collectpulse.logrepeats import RepeatFilter

LOGGER = "test.dependencies"


@pytest.fixture
def deps() -> Dependencies:
    return Dependencies(logging.getLogger(LOGGER))


def changes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage().split(":")[0] for r in caplog.records if r.name == LOGGER]


def test_many_failures_and_successes_are_one_line_each_way(
    deps: Dependencies, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(50):
        deps.failed("redis", "ConnectionError", deps.attempt())
    assert deps.down() == {"redis": "ConnectionError"}
    assert not deps.healthy
    for _ in range(50):
        deps.worked("redis", deps.attempt())
    assert deps.healthy
    lines = changes(caplog)
    assert len(lines) == 2
    assert lines[0] == "dependency redis down"
    assert lines[1].startswith("dependency redis up again after")
    assert "(50 failed attempts" in caplog.records[-1].getMessage()


def down(deps: Dependencies, name: str, reason: str = "ConnectionError") -> None:
    deps.failed(name, reason, deps.attempt())
    deps.failed(name, reason, deps.attempt())


def test_one_failure_retried_at_once_with_success_is_not_an_outage(
    deps: Dependencies, caplog: pytest.LogCaptureFixture
) -> None:
    """A pooled connection to a restarted Redis fails once ('Connection closed by server')."""
    deps.failed("redis", "ConnectionError: Connection closed by server.", deps.attempt())
    assert deps.is_up("redis")
    deps.worked("redis", deps.attempt())
    deps.failed("redis", "ConnectionError: Connection closed by server.", deps.attempt())
    assert deps.is_up("redis")
    assert changes(caplog) == []


def test_a_success_that_started_before_a_failure_does_not_clear_it(deps: Dependencies) -> None:
    in_flight = deps.attempt()
    deps.failed("redis", "ConnectionError", deps.attempt())
    deps.worked("redis", in_flight)
    deps.failed("redis", "ConnectionError", deps.attempt())
    assert not deps.is_up("redis")


def test_a_failure_of_an_attempt_started_before_the_recovery_does_not_flap(
    deps: Dependencies, caplog: pytest.LogCaptureFixture
) -> None:
    down(deps, "kafka", "KafkaConnectionError")
    stale = deps.attempt()  # in flight while the broker comes back
    deps.worked("kafka", deps.attempt())
    deps.failed("kafka", "KafkaConnectionError", stale)
    assert deps.is_up("kafka")
    assert len(changes(caplog)) == 2


def test_a_success_started_before_the_outage_does_not_end_it(deps: Dependencies) -> None:
    early = deps.attempt()
    down(deps, "redis")
    deps.worked("redis", early)
    assert not deps.is_up("redis")


def test_each_dependency_has_its_own_state_and_the_reason_names_both(deps: Dependencies) -> None:
    down(deps, "redis")
    down(deps, "kafka", "KafkaTimeoutError")
    assert deps.reason == "redis: ConnectionError; kafka: KafkaTimeoutError"
    deps.worked("kafka", deps.attempt())
    assert deps.reason == "redis: ConnectionError"


def test_describe_does_not_repeat_the_class_name() -> None:
    class KafkaConnectionError(Exception):
        def __str__(self) -> str:
            return "KafkaConnectionError: Unable to bootstrap"

    assert describe(KafkaConnectionError()) == "KafkaConnectionError: Unable to bootstrap"
    assert (
        describe(ConnectionError("Error 111\n connecting"))
        == "ConnectionError: Error 111 connecting"
    )
    assert describe(TimeoutError()) == "TimeoutError"


def test_a_repeated_library_line_passes_once_per_window() -> None:
    now = [0.0]
    repeats = RepeatFilter(60.0, clock=lambda: now[0])

    def record(msg: str, level: int = logging.ERROR) -> logging.LogRecord:
        return logging.LogRecord("aiokafka", level, __file__, 1, msg, ("x",), None)

    assert repeats.filter(record("Unable connect to node %s"))
    assert not repeats.filter(record("Unable connect to node %s"))
    assert repeats.filter(record("Unable to update metadata from %s"))
    assert repeats.filter(record("debug detail %s", logging.DEBUG))
    assert repeats.filter(record("debug detail %s", logging.DEBUG))
    now[0] = 61.0
    assert repeats.filter(record("Unable connect to node %s"))
