"""``collectpulse run``: the whole local pipeline for a newcomer, stopped cleanly on Ctrl-C.

Starts the local Kafka and Redis, then the worker, the exporter, the webhook
gateway (every provider unsigned unless its secret is exported: development
only, docs/GATEWAY.md) and the simulator as child processes, prints where the
page, the metrics and the logs are and the headline KPIs every 10 s; on Ctrl-C /
SIGTERM / ``--duration`` it stops everything it started, the servers included,
and leaves no process behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from collectpulse.events.providers import PROVIDERS
from collectpulse.localstack import kafka, redis, stack
from collectpulse.localstack.headline import Headline, headline
from collectpulse.localstack.processes import spawn_cli, stop_children
from collectpulse.localstack.settings import LocalStackSettings

SUMMARY_EVERY_S = 10.0


def _headline(url: str) -> Headline | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return None
    return headline(text)


def _where(cfg: LocalStackSettings, port: str, logs: Path) -> list[str]:
    """Where to look: the page, the metrics and every process's log file."""
    base = f"http://127.0.0.1:{port}"
    return [
        f"live page: {base}/   metrics: {base}/metrics   Ctrl-C stops everything",
        f"logs: {logs}/{{worker,exporter,gateway,simulate}}.log, "
        f"kafka {kafka.paths(cfg).log_file}, redis {redis.log_file(cfg)}",
        "wipe the local data: make reset",
    ]


def _server_down(cfg: LocalStackSettings) -> str | None:
    """Which server died under us (e.g. its port was taken), instead of frozen counts."""
    if kafka.status(cfg) is None:
        return f"Kafka exited; see {kafka.paths(cfg).log_file}"
    if redis.status(cfg) is None:
        return f"Redis exited; see {redis.log_file(cfg)}"
    return None


def run_everything(
    cfg: LocalStackSettings, *, rate: float, duration_s: float | None, scenario: str = "steady"
) -> int:
    bootstrap, redis_url = stack.start(cfg)
    state = (cfg.root / cfg.state_dir).resolve()
    env = {
        **os.environ,
        "COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "COLLECTPULSE_REDIS_URL": redis_url,
        "COLLECTPULSE_DATA_DIR": str(state / "worker"),
    }
    port = env.get("COLLECTPULSE_HTTP_PORT", "9464")
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        children.append(spawn_cli(["worker", "-l", "warn"], env, state / "logs/worker.log"))
        children.append(spawn_cli(["exporter"], env, state / "logs/exporter.log"))
        gateway_env = {"COLLECTPULSE_GATEWAY_UNSIGNED_PROVIDERS": ",".join(PROVIDERS)} | env
        children.append(spawn_cli(["gateway"], gateway_env, state / "logs/gateway.log"))
        # the named scenario's compressed customer time fills every panel within minutes
        sim = [
            "simulate",
            "--rate",
            str(rate),
            "--duration",
            str(duration_s or 10**9),
            "--scenario",
            scenario,
        ]
        children.append(spawn_cli(sim, env, state / "logs/simulate.log"))
        print(f"kafka {bootstrap}, redis {redis_url}")
        print("\n".join(_where(cfg, port, state / "logs")), flush=True)
        gateway_port = env.get("COLLECTPULSE_GATEWAY_PORT", "9465")
        print(f"webhooks: http://127.0.0.1:{gateway_port}/webhooks/<provider> (docs/GATEWAY.md)")
        started = time.monotonic()
        next_summary = started + SUMMARY_EVERY_S
        while not stopping:
            if duration_s is not None and time.monotonic() - started >= duration_s:
                break
            if any(c.poll() is not None for c in children[:2]):
                print("a worker or exporter exited; see the logs", file=sys.stderr)
                return 1
            server_down = _server_down(cfg)
            if server_down:
                print(server_down, file=sys.stderr)
                return 1
            if time.monotonic() >= next_summary:
                kpis = _headline(metrics_url)
                shown = "events received: n/a" if kpis is None else kpis.line()
                print(f"[{time.monotonic() - started:5.0f} s] {shown}", flush=True)
                next_summary += SUMMARY_EVERY_S
            time.sleep(0.2)
        return 0
    finally:
        stop_children(children)
        stack.stop(cfg)
        print("stopped: worker, exporter, gateway, simulator, kafka, redis")
