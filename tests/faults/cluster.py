"""The harness's own servers and processes: everything here can be killed with SIGKILL.

Kafka and Redis are started by the project's local-stack code in a state dir
of the run (never the session servers of tests/conftest.py, which other tests
share). A restart reuses the same data dir and port: Redis reloads its AOF
(``everysec``), Kafka its log dirs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from collectpulse.localstack import kafka, redis
from collectpulse.localstack.processes import read_pid
from collectpulse.localstack.settings import LocalStackSettings
from collectpulse.settings import Settings
from tests.support.processes import (
    GROUP_ENV,
    free_port,
    kill_process,
    spawn_collectpulse,
    stop_process,
)

ROOT = Path(__file__).resolve().parents[2]


def _sigkill_pid_file(pid_file: Path) -> int:
    """``kill -9`` of a server recorded in ``pid_file`` (its whole process group)."""
    pid = read_pid(pid_file)
    if pid is None:
        raise RuntimeError(f"no live process in {pid_file}")
    os.killpg(pid, signal.SIGKILL)
    while read_pid(pid_file) is not None:
        time.sleep(0.05)
    return pid


def _refuse_taken_port(port: int, pid_file: Path) -> None:
    """A server of someone else on our port would answer for ours, and survive our kills."""
    if read_pid(pid_file) is not None:
        return
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} is already served by another process: pick another")


def _started(pid_file: Path, port: int) -> None:
    if read_pid(pid_file) is None:
        raise RuntimeError(f"the server for port {port} exited at start; see {pid_file.parent}")


@dataclass
class Servers:
    """A Kafka broker and a Redis server of the run's own."""

    cfg: LocalStackSettings

    @classmethod
    def create(
        cls, state_dir: Path, *, kafka_port: int = 0, controller_port: int = 0, redis_port: int = 0
    ) -> Servers:
        return cls(
            LocalStackSettings(
                root=ROOT,
                state_dir=state_dir,
                kafka_port=kafka_port or free_port(),
                kafka_controller_port=controller_port or free_port(),
                redis_port=redis_port or free_port(),
                kafka_partitions=3,
            )
        )

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.cfg.kafka_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.cfg.redis_port}/0"

    @property
    def _kafka_pid_file(self) -> Path:
        return kafka.paths(self.cfg).pid_file

    @property
    def _redis_pid_file(self) -> Path:
        return (self.cfg.root / self.cfg.state_dir / "redis/redis.pid").resolve()

    def start_kafka(self) -> None:
        _refuse_taken_port(self.cfg.kafka_port, self._kafka_pid_file)
        kafka.start(self.cfg)
        _started(self._kafka_pid_file, self.cfg.kafka_port)

    def start_redis(self) -> None:
        _refuse_taken_port(self.cfg.redis_port, self._redis_pid_file)
        redis.start(self.cfg)
        _started(self._redis_pid_file, self.cfg.redis_port)

    def kill_kafka(self) -> None:
        _sigkill_pid_file(self._kafka_pid_file)

    def kill_redis(self) -> None:
        _sigkill_pid_file(self._redis_pid_file)

    def stop(self) -> None:
        kafka.stop_kafka(self.cfg)
        redis.stop_redis(self.cfg)


@dataclass
class Workers:
    """``collectpulse worker`` processes in one consumer group, plus the exporter."""

    settings: Settings
    logs: Path
    env: dict[str, str] = field(default_factory=dict)
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started_at: dict[int, float] = field(default_factory=dict)
    exited: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: int = 0

    def start(self) -> subprocess.Popen[bytes]:
        self.started += 1
        n = self.started
        # each worker keeps Faust's local state in a dir of its own
        env = {**GROUP_ENV, **self.env, "COLLECTPULSE_DATA_DIR": str(self.logs / f"worker-{n}")}
        proc = spawn_collectpulse(
            self.settings, "worker", "-l", "warn", log=self.logs / f"worker-{n}.log", **env
        )
        self.running.append(proc)
        self.started_at[proc.pid] = time.monotonic()
        return proc

    def age_s(self, proc: subprocess.Popen[bytes]) -> float:
        return time.monotonic() - self.started_at[proc.pid]

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        kill_process(proc)
        self._retire(proc)

    async def stop(self, proc: subprocess.Popen[bytes]) -> None:
        await asyncio.to_thread(stop_process, proc, timeout_s=60.0)
        self._retire(proc)

    def died(self) -> list[subprocess.Popen[bytes]]:
        """Workers that exited without the harness asking (a crash is a finding)."""
        gone = [p for p in self.running if p.poll() is not None]
        for proc in gone:
            self._retire(proc)
        return gone

    def _retire(self, proc: subprocess.Popen[bytes]) -> None:
        if proc in self.running:
            self.running.remove(proc)
        self.exited.append(proc)

    def stop_all(self) -> None:
        for proc in list(self.running):
            stop_process(proc)
            self._retire(proc)


def start_exporter(settings: Settings, logs: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    proc = spawn_collectpulse(
        settings, "exporter", log=logs / "exporter.log", COLLECTPULSE_HTTP_PORT=str(port)
    )
    return f"http://127.0.0.1:{port}/metrics", proc
