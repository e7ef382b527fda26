"""``collectpulse run``: the whole local pipeline for a newcomer, stopped cleanly on Ctrl-C.

Starts the local Kafka and Redis, then the worker, the exporter, the webhook
gateway (every provider unsigned unless its secret is exported: development
only, docs/GATEWAY.md) and the simulator as child processes, prints where the
metrics are and a short summary every 10 s; on Ctrl-C / SIGTERM / ``--duration``
it stops everything it started, the servers included, and leaves no process behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from collectpulse.events.providers import PROVIDERS
from collectpulse.localstack import stack
from collectpulse.localstack.processes import spawn_cli, stop_children
from collectpulse.settings import LocalStackSettings

SUMMARY_EVERY_S = 10.0


def _received_total(url: str) -> float | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return None
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("collectpulse_events_received_total{")
    )


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
        print(f"metrics: {metrics_url}   logs: {state / 'logs'}   Ctrl-C stops everything")
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
            if time.monotonic() >= next_summary:
                received = _received_total(metrics_url)
                shown = "n/a" if received is None else f"{received:.0f}"
                print(f"[{time.monotonic() - started:5.0f} s] events received: {shown}", flush=True)
                next_summary += SUMMARY_EVERY_S
            time.sleep(0.2)
        return 0
    finally:
        stop_children(children)
        stack.stop(cfg)
        print("stopped: worker, exporter, gateway, simulator, kafka, redis")
