"""The README's run command: the whole local pipeline comes up, counts rise, and it stops clean."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


def test_run_brings_the_stack_up_shows_rising_counts_and_leaves_no_process(tmp_path: Path) -> None:
    state = tmp_path / "stack"
    env = {
        **os.environ,
        "COLLECTPULSE_LOCAL_ROOT": str(ROOT),
        "COLLECTPULSE_LOCAL_STATE_DIR": str(state),
        "COLLECTPULSE_LOCAL_KAFKA_PORT": str(free_port()),
        "COLLECTPULSE_LOCAL_KAFKA_CONTROLLER_PORT": str(free_port()),
        "COLLECTPULSE_LOCAL_REDIS_PORT": str(free_port()),
        "COLLECTPULSE_LOCAL_KAFKA_PARTITIONS": "2",
        "COLLECTPULSE_TOPIC_PARTITIONS": "2",
        "COLLECTPULSE_HTTP_PORT": str(free_port()),
        "COLLECTPULSE_GATEWAY_PORT": str(free_port()),
    }
    result = subprocess.run(
        [sys.executable, "-m", "collectpulse.cli", "run", "--duration", "42", "--rate", "100"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "metrics: http://127.0.0.1:" in result.stdout
    counts = [int(n) for n in re.findall(r"events received: (\d+)", result.stdout)]
    assert counts == sorted(counts), f"counts went down: {counts}"
    # On a loaded machine the worker may not have counted anything by the first
    # tick; what matters is that counting starts and keeps rising.
    counting = [n for n in counts if n > 0]
    assert len(counting) >= 2, f"counts did not rise: {counts}\n{result.stdout}"
    assert counting[-1] > counting[0], f"counts did not rise: {counts}"
    gateway = f"webhooks: http://127.0.0.1:{env['COLLECTPULSE_GATEWAY_PORT']}/webhooks/"
    assert gateway in result.stdout
    assert "stopped: worker, exporter, gateway, simulator, kafka, redis" in result.stdout
    assert _processes_mentioning(str(state)) == []
