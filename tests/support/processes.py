"""Run collectpulse commands as real child processes configured from a Settings object."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from collectpulse.localstack.processes import settings_env as settings_env  # for the tests
from collectpulse.settings import Settings

# A killed worker leaves its consumer group after the broker's minimum, 6 s, instead of the
# shipped 15 s: the tests that kill workers wait less.
GROUP_ENV = {"COLLECTPULSE_GROUP_SESSION_TIMEOUT": "6s"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn_collectpulse(
    settings: Settings, *args: str, log: Path, **env: str
) -> subprocess.Popen[bytes]:
    """``collectpulse <args>`` as a child in its own process group, output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "collectpulse.cli", *args],
            env=settings_env(settings, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_process(proc: subprocess.Popen[bytes], *, timeout_s: float = 30.0) -> None:
    """SIGTERM the child's process group, SIGKILL it after ``timeout_s``; wait for it."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            kill_process(proc)


def kill_process(proc: subprocess.Popen[bytes]) -> None:
    """``kill -9`` of the child's process group (no clean shutdown at all); wait for it."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@contextmanager
def collectpulse_process(
    settings: Settings, *args: str, log: Path, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``collectpulse <args>`` as a child; SIGTERM (then SIGKILL) on exit."""
    proc = spawn_collectpulse(settings, *args, log=log, **env)
    try:
        yield proc
    finally:
        stop_process(proc)


@contextmanager
def worker_and_exporter(
    settings: Settings, logs: Path
) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A real worker and exporter for ``settings``: the /metrics URL and both processes."""
    port = free_port()
    with (
        collectpulse_process(settings, "worker", "-l", "warn", log=logs / "worker.log") as worker,
        collectpulse_process(
            settings, "exporter", log=logs / "exporter.log", COLLECTPULSE_HTTP_PORT=str(port)
        ) as exporter,
    ):
        yield f"http://127.0.0.1:{port}/metrics", [worker, exporter]
