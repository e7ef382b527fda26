"""Why a local server stopped, read from the tail of its log (no server started)."""

from __future__ import annotations

from pathlib import Path

from collectpulse.localstack.processes import exit_reason

BIND_FAILURE = (
    "[2026-12-04 12:00:01,000] INFO starting (kafka.server.KafkaRaftServer)\n"
    "[2026-12-04 12:00:02,000] ERROR Exiting Kafka due to fatal exception "
    "(kafka.Kafka$)\n"
    "org.apache.kafka.common.KafkaException: Socket server failed to bind to "
    "127.0.0.1:20011: Address already in use.\n"
    "\tat kafka.network.Acceptor.openServerSocket(SocketServer.scala:734)\n"
)


def test_a_bind_failure_is_the_reason_even_above_later_error_lines(tmp_path: Path) -> None:
    log = tmp_path / "kafka.log"
    log.write_text(BIND_FAILURE + "[2026-12-04 12:00:03,000] ERROR shutting down\n")
    assert "127.0.0.1:20011: Address already in use" in exit_reason(log)


def test_else_the_last_error_line_else_the_last_line(tmp_path: Path) -> None:
    log = tmp_path / "redis.log"
    log.write_text("1:M started\n1:M # FATAL CONFIG FILE ERROR (Redis 7.0.15)\n1:M bye\n")
    assert exit_reason(log) == "1:M # FATAL CONFIG FILE ERROR (Redis 7.0.15)"
    log.write_text("started\nkilled\n\n")
    assert exit_reason(log) == "killed"


def test_no_log_gives_no_reason(tmp_path: Path) -> None:
    assert exit_reason(tmp_path / "absent.log") == ""
