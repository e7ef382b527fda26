"""The README's run command: the stack comes up clean, KPIs rise, it stops clean, reset wipes it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
LOGGED = ("worker", "exporter", "gateway", "simulate")


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


@dataclass(frozen=True)
class Run:
    """One ``collectpulse run`` and what it left: output, logs read at once, leftovers."""

    result: subprocess.CompletedProcess[str]
    env: dict[str, str]
    state: Path
    http_port: str
    logs: dict[str, str]
    leftover_processes: list[str]


def run_env(state: Path, **extra: str) -> dict[str, str]:
    """`collectpulse run`'s environment: its own state dir and free ports, 2 partitions."""
    return {
        **os.environ,
        "COLLECTPULSE_LOCAL_ROOT": str(ROOT),
        "COLLECTPULSE_LOCAL_STATE_DIR": str(state),
        "COLLECTPULSE_LOCAL_KAFKA_PORT": str(free_port()),
        "COLLECTPULSE_LOCAL_KAFKA_CONTROLLER_PORT": str(free_port()),
        "COLLECTPULSE_LOCAL_REDIS_PORT": str(free_port()),
        "COLLECTPULSE_LOCAL_KAFKA_PARTITIONS": "2",
        "COLLECTPULSE_TOPIC_PARTITIONS": "2",
        "COLLECTPULSE_GATEWAY_PORT": str(free_port()),
        **extra,
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    state = tmp_path_factory.mktemp("run") / "stack"
    http_port = str(free_port())
    env = run_env(state, COLLECTPULSE_HTTP_PORT=http_port)
    env["COLLECTPULSE_HTTP_PROT"] = "1"  # a typo a newcomer could make
    result = subprocess.run(
        [sys.executable, "-m", "collectpulse.cli", "run", "--duration", "32", "--rate", "100"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    logs = {
        name: path.read_text()
        for name in LOGGED
        if (path := state / "logs" / f"{name}.log").exists()
    }
    return Run(result, env, state, http_port, logs, _processes_mentioning(str(state)))


def test_run_shows_rising_counts_and_leaves_no_process(run: Run) -> None:
    out = run.result.stdout
    assert run.result.returncode == 0, out + run.result.stderr
    counts = [int(n) for n in re.findall(r"events received: (\d+)", out)]
    assert counts == sorted(counts), f"counts went down: {counts}"
    # On a loaded machine the worker may not have counted anything by the first
    # tick; what matters is that counting starts and keeps rising.
    counting = [n for n in counts if n > 0]
    assert len(counting) >= 2, f"counts did not rise: {counts}\n{out}"
    assert counting[-1] > counting[0], f"counts did not rise: {counts}"
    gateway = f"webhooks: http://127.0.0.1:{run.env['COLLECTPULSE_GATEWAY_PORT']}/webhooks/"
    assert gateway in out
    assert "stopped: worker, exporter, gateway, simulator, kafka, redis" in out
    assert run.leftover_processes == []


def test_run_prints_the_page_and_the_headline_kpis(run: Run) -> None:
    out = run.result.stdout
    assert f"live page: http://127.0.0.1:{run.http_port}/ " in out
    assert f"metrics: http://127.0.0.1:{run.http_port}/metrics" in out
    kpi_line = re.compile(
        r"sent (\d+), delivered (\d+\.\d%|n/a), opened (\d+\.\d%|n/a), paid (\d+), "
        r"collected \(minor units\) "
    )
    sent = [int(m.group(1)) for m in kpi_line.finditer(out)]
    assert sent and sent[-1] > 0, out


def test_every_log_path_printed_exists(run: Run) -> None:
    logs_line = next(line for line in run.result.stdout.splitlines() if line.startswith("logs: "))
    kafka_log = re.search(r"kafka (\S+),", logs_line)
    redis_log = re.search(r"redis (\S+)$", logs_line)
    assert kafka_log and redis_log, logs_line
    assert Path(kafka_log.group(1)) == run.state / "kafka" / "kafka.log"
    assert Path(redis_log.group(1)) == run.state / "redis" / "redis.log"
    assert sorted(run.logs) == sorted(LOGGED), f"missing process logs: {logs_line}"


def test_a_clean_start_logs_no_error(run: Run) -> None:
    for name in ("worker", "exporter", "gateway"):
        errors = [line for line in run.logs[name].splitlines() if "ERROR" in line]
        assert errors == [], f"{name}.log:\n" + "\n".join(errors[:20])


def test_a_misspelled_variable_is_named_at_start(run: Run) -> None:
    assert "COLLECTPULSE_HTTP_PROT is not a collectpulse setting" in run.result.stderr
    assert "did you mean COLLECTPULSE_HTTP_PORT?" in run.result.stderr


def test_reset_wipes_kafka_redis_worker_state_and_logs(run: Run) -> None:
    assert (run.state / "kafka").is_dir() and (run.state / "redis").is_dir()
    result = subprocess.run(
        [sys.executable, "-m", "collectpulse.cli", "local", "reset"],
        env=run.env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"removed {run.state / 'kafka'}" in result.stdout
    assert f"removed {run.state / 'redis'}" in result.stdout
    assert "local data wiped" in result.stdout
    assert not (run.state / "kafka").exists()
    assert not (run.state / "redis").exists()
    assert not (run.state / "worker").exists()


def test_run_stops_and_says_so_when_kafka_dies(tmp_path: Path) -> None:
    state = tmp_path / "stack"
    env = run_env(state, COLLECTPULSE_HTTP_PORT=str(free_port()))
    proc = subprocess.Popen(
        [sys.executable, "-m", "collectpulse.cli", "run", "--rate", "50"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the stack is up once the page is announced
            if line.startswith("live page: "):
                break
        kafka_pid = int((state / "kafka" / "kafka.pid").read_text())
        os.kill(kafka_pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    assert f"Kafka exited; see {state / 'kafka' / 'kafka.log'}" in err
    assert "stopped: worker, exporter, gateway, simulator, kafka, redis" in out
    assert _processes_mentioning(str(state)) == []
