"""Detached server processes tracked by pid files: start, liveness, clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic_settings import BaseSettings


def read_pid(pid_file: Path) -> int | None:
    """The pid recorded in ``pid_file`` if that process is still alive."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    # A zombie of ours still answers kill(0); reap it so it reads as gone.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        done = 0
    return None if done == pid else pid


_REASON_MARKERS = ("Address already in use", "FATAL", "ERROR", "Exception", "Error:")


def exit_reason(log_file: Path, *, tail_bytes: int = 65_536) -> str:
    """The line of a server's log that most likely says why it stopped ("" if none):
    a bind failure first, else the last error line, else the last line."""
    try:
        with log_file.open("rb") as log:
            log.seek(max(log_file.stat().st_size - tail_bytes, 0))
            lines = log.read().decode("utf-8", "replace").splitlines()
    except FileNotFoundError:
        return ""
    lines = [line.strip() for line in lines if line.strip()]
    for marker in _REASON_MARKERS:
        for line in reversed(lines):
            if marker in line:
                return line[:400]
    return lines[-1][:400] if lines else ""


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when a listening server could not bind ``host:port`` now (SO_REUSEADDR set,
    as servers do, so connections in TIME_WAIT do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def spawn(argv: Sequence[str], *, log_file: Path, pid_file: Path, cwd: Path | None = None) -> int:
    """Start ``argv`` in its own session (so it outlives us) and record its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def stop(pid_file: Path, *, timeout_s: float = 30.0) -> bool:
    """SIGTERM the recorded process group, SIGKILL it after ``timeout_s``; True if it ran."""
    pid = read_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and read_pid(pid_file) is not None:
        time.sleep(0.1)
    if read_pid(pid_file) is not None:
        _signal_group(pid, signal.SIGKILL)
        while read_pid(pid_file) is not None:
            time.sleep(0.05)
    pid_file.unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def spawn_cli(argv: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``collectpulse <argv>`` as a child in its own session, output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "collectpulse.cli", *argv],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop_children(children: Sequence[subprocess.Popen[bytes]], *, timeout_s: float = 30.0) -> None:
    """SIGTERM each child's process group, newest first; SIGKILL what outlives ``timeout_s``."""
    for child in reversed(children):
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for child in reversed(children):
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def settings_env(settings: BaseSettings, **extra: str) -> dict[str, str]:
    """This process's environment plus what makes a child load exactly ``settings``."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if isinstance(value, tuple):
            value = ",".join(value)
        elif isinstance(value, dict):  # tenant_time_zones: tenant=Zone,... (not a repr)
            value = ",".join(f"{k}={v}" for k, v in value.items())
        env[f"{prefix}{name.upper()}"] = str(value)
    env.update(extra)
    return env
