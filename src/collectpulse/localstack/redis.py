"""A real Redis server (Debian's redis-server) on loopback with its own data dir."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from collectpulse.localstack.kafka import LocalStackError
from collectpulse.localstack.processes import exit_reason, read_pid, spawn, stop
from collectpulse.localstack.settings import LocalStackSettings


def _data_dir(cfg: LocalStackSettings) -> Path:
    return (cfg.root / cfg.state_dir / "redis").resolve()


def _pid_file(cfg: LocalStackSettings) -> Path:
    return _data_dir(cfg) / "redis.pid"


def log_file(cfg: LocalStackSettings) -> Path:
    return _data_dir(cfg) / "redis.log"


def redis_server_binary() -> str:
    """``redis-server``, installed from Debian's package when missing and we are root."""
    found = shutil.which("redis-server")
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise LocalStackError("redis-server is missing; install Redis 7+ (Debian: redis-server)")
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=True, env=env)
    found = shutil.which("redis-server")
    if not found:
        raise LocalStackError("apt-get ran but redis-server is still missing")
    return found


def start(cfg: LocalStackSettings, *, timeout_s: float = 30.0) -> str:
    """Start Redis (AOF everysec, as in production) unless running; return its URL."""
    url = f"redis://127.0.0.1:{cfg.redis_port}/0"
    data = _data_dir(cfg)
    data.mkdir(parents=True, exist_ok=True)
    if read_pid(_pid_file(cfg)) is None:
        argv = [
            redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(cfg.redis_port),
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
        ]
        spawn(argv, log_file=log_file(cfg), pid_file=_pid_file(cfg))
    deadline = time.monotonic() + timeout_s
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    while time.monotonic() < deadline:
        try:
            if client.ping():
                return url
        except (redis.ConnectionError, redis.BusyLoadingError):
            if read_pid(_pid_file(cfg)) is None:
                log = log_file(cfg)
                raise LocalStackError(
                    f"Redis exited during start-up: {exit_reason(log) or 'no log'} (log: {log})"
                ) from None
        time.sleep(0.1)
    raise LocalStackError(f"Redis at {url} did not answer within {timeout_s:.0f} s")


def status(cfg: LocalStackSettings) -> int | None:
    return read_pid(_pid_file(cfg))


def stop_redis(cfg: LocalStackSettings, *, timeout_s: float = 30.0) -> bool:
    return stop(_pid_file(cfg), timeout_s=timeout_s)
