"""``collectpulse worker --processes N``: N worker processes in one consumer group.

One Faust worker is one Python process, so it uses one core at most; on a
machine with several cores, N processes in the same consumer group share the
partitions between them (Kafka's rebalancing, as N machines would). This is a
thin supervisor, not a process manager: it starts the N ``collectpulse
worker`` children, forwards SIGTERM/SIGINT/SIGHUP to each, and ends when one of
them ends, stopping the others, with that child's exit code, so that systemd or
Kubernetes restarts the whole set (a group short of one worker would carry on
at a lower rate without anyone noticing).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

STOP_TIMEOUT_S = 60.0
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


def process_count(text: str) -> int:
    """``--processes``: a whole number >= 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def child_env(data_dir: Path, index: int) -> dict[str, str]:
    """Each child its own data dir: two Faust apps must not share ``datadir``."""
    return {**os.environ, "COLLECTPULSE_DATA_DIR": str(data_dir / f"process-{index}")}


def _die_with_parent() -> None:
    """Linux: a child gets SIGTERM when the supervisor dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn_workers(count: int, loglevel: str, data_dir: Path) -> list[subprocess.Popen[bytes]]:
    argv = [sys.executable, "-m", "collectpulse.cli", "worker", "-l", loglevel]
    return [
        subprocess.Popen(
            argv,
            env=child_env(data_dir, i),
            stdin=subprocess.DEVNULL,
            # own sessions: a terminal's Ctrl-C reaches the supervisor only, which
            # forwards it once (Faust ends at once on a second SIGINT)
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        for i in range(count)
    ]


def _signal_all(children: Sequence[subprocess.Popen[bytes]], sig: int) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(sig)


def supervise(
    children: Sequence[subprocess.Popen[bytes]],
    *,
    stop_timeout_s: float = STOP_TIMEOUT_S,
    poll_s: float = 0.2,
    install: Callable[[int, Callable[[int, FrameType | None], None]], object] = signal.signal,
) -> int:
    """Forward signals until a child ends (or a signal came), stop the rest, return the
    first non-zero exit code among them (0 when all ended cleanly)."""
    stopping: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)
        _signal_all(children, signum)

    for sig in FORWARDED:
        install(sig, forward)
    first_exit: int | None = None
    while first_exit is None and not stopping:
        first_exit = next((c.returncode for c in children if c.poll() is not None), None)
        time.sleep(poll_s)
    if not stopping:
        _signal_all(children, signal.SIGTERM)
    deadline = time.monotonic() + stop_timeout_s
    codes = []
    for child in children:
        try:
            codes.append(child.wait(timeout=max(deadline - time.monotonic(), 0.1)))
        except subprocess.TimeoutExpired:
            child.kill()
            codes.append(child.wait())
    ordered = [first_exit, *codes] if first_exit is not None else codes
    return next((code for code in ordered if code), 0)


def run_workers(count: int, loglevel: str, data_dir: Path) -> int:
    """Start ``count`` workers and supervise them until they end."""
    print(f"collectpulse worker: starting {count} processes in one consumer group", flush=True)
    return supervise(spawn_workers(count, loglevel, data_dir))
