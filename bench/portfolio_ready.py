"""How soon the ``portfolio`` scenario fills the Portfolio board, end to end.

Runs ``collectpulse run --scenario portfolio`` (its own local Kafka and Redis, state
dir and ports, like ``make run SCENARIO=portfolio``) and polls the exporter's
/metrics every 2 s. Prints, for each portfolio family, the seconds from the start of
the command to its first sample, then the final values: DSO, ADD and CEI per window,
receivables by DPD bucket, collected per account and recovery by placement month,
the recovery age curves of ``GET /api/v1/recovery`` and the alerts the live page
(``GET /api/live``) shows at the end. A script, not a test: the
figures go to docs/BENCHMARKS.md.

    .venv/bin/python bench/portfolio_ready.py --duration 150
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = (
    "collectpulse_receivables_minor",
    "collectpulse_dso_days",
    "collectpulse_add_days",
    "collectpulse_cei_ratio",
    "collectpulse_cash_cei_ratio",
    "collectpulse_collected_per_account",
    "collectpulse_recovery_ratio",
    "collectpulse_repaid_by_dpd_ratio",
    "collectpulse_cost_per_contact",
    "collectpulse_cost_to_collect_ratio",
    "collectpulse_profit_per_account",
    "collectpulse_team_collected_per_account",
)
SAMPLE = re.compile(r"^(\w+)\{([^}]*)\} (\S+)$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())
    except OSError:
        return None


def samples(text: str) -> list[tuple[str, str, float]]:
    out = []
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match:
            out.append((match.group(1), match.group(2), float(match.group(3))))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=150.0)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="portfolio-ready-")) / "stack"
    port = free_port()
    env = {
        **os.environ,
        "COLLECTPULSE_LOCAL_STATE_DIR": str(state),
        "COLLECTPULSE_LOCAL_KAFKA_PORT": str(free_port()),
        "COLLECTPULSE_LOCAL_KAFKA_CONTROLLER_PORT": str(free_port()),
        "COLLECTPULSE_LOCAL_REDIS_PORT": str(free_port()),
        "COLLECTPULSE_HTTP_PORT": str(port),
        "COLLECTPULSE_GATEWAY_PORT": str(free_port()),
    }
    command = [sys.executable, "-m", "collectpulse.cli", "run", "--scenario", "portfolio"]
    command += ["--duration", f"{args.duration:g}"]
    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    first: dict[str, float] = {}
    last: list[tuple[str, str, float]] = []
    alerts: list[dict[str, object]] = []
    try:
        while proc.poll() is None:
            text = get(f"http://127.0.0.1:{port}/metrics")
            if text is not None:
                last = samples(text)
                seen = {name for name, _, _ in last}
                for family in FAMILIES:
                    if family in seen and family not in first:
                        first[family] = time.monotonic() - started
                if len(first) == len(FAMILIES) and "recovery" not in first:
                    first["recovery"] = time.monotonic() - started
                    api = get(f"http://127.0.0.1:{port}/api/v1/recovery")
                    print("GET /api/v1/recovery:", json.dumps(json.loads(api or "null"))[:3000])
            live = get(f"http://127.0.0.1:{port}/api/live")
            if live is not None:
                alerts = json.loads(live)["alerts"]["active"]
            time.sleep(2.0)
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=120)
    print(f"command exited {proc.returncode} after {time.monotonic() - started:.0f} s")
    for family in FAMILIES:
        seen_at = first.get(family)
        print(f"{family:40s} first sample at {seen_at:6.1f} s" if seen_at else f"{family} never")
    for name, labels, value in last:
        if name in FAMILIES:
            print(f"{name}{{{labels}}} {value:g}")
    # the live page's alert conditions (deploy/prometheus/rules/alerts.yml, no `for:`)
    # at the last poll: the scenario promises none
    print(f"live page alerts at the end: {len(alerts)}")
    for alert in alerts:
        print(f"  {alert['alert']} {alert['labels']} value {alert['value']:.4g}"
              f" threshold {alert['threshold']:.4g}")  # fmt: skip
    return 0 if len([f for f in FAMILIES if f in first]) == len(FAMILIES) else 1


if __name__ == "__main__":
    raise SystemExit(main())
