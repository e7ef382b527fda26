"""A real Prometheus server (the Debian binary) for tests, and its HTTP API.

``start_prometheus`` runs ``prometheus`` on a free loopback port with its own data
dir and a generated config (scrape targets, scrape/evaluation interval, rule
files), waits for ``/-/ready`` and stops it on exit. A server that cannot start
fails the test with its log; nothing is skipped (``scripts/bootstrap`` installs
the binaries). ``promtool`` runs the Debian ``promtool`` the same way.

Usage, sync or async (the async names start with ``a``)::

    with start_prometheus({"collectpulse": [f"127.0.0.1:{port}"]},
                          rule_files=[...], workdir=tmp_path) as prom:
        prom.wait_for_targets_up()
        prom.query("up")                     # [{'metric': {...}, 'value': [t, '1']}]
        prom.values("collectpulse:bounce:ratio1h")   # {frozenset(labels): float}
        await prom.await_until(prom.alerts, lambda a: ..., timeout_s=60, what="...")

or through the ``prometheus_factory`` fixture (import it into a test module).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.support.processes import free_port

T = TypeVar("T")
Labels = frozenset[tuple[str, str]]
Targets = Mapping[str, Sequence[str]]
"""Scrape job name -> ``host:port`` targets (scraped at ``/metrics``)."""

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


class PrometheusError(RuntimeError):
    """Prometheus or promtool is missing, did not start, or its API answered an error."""


def binary(name: str) -> str:
    """Path of ``prometheus`` / ``promtool``; fails (never skips) when it is missing."""
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else "")
    if not found:
        raise PrometheusError(f"{name} not found: run scripts/bootstrap (Debian package)")
    return found


def promtool(
    *args: str | Path, stdin: str | None = None, timeout_s: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """``promtool <args>`` (``stdin`` fed to it); the caller asserts on ``returncode``."""
    return subprocess.run(
        [binary("promtool"), *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def render_config(
    targets: Targets,
    *,
    rule_files: Sequence[Path] = (),
    scrape_interval_s: float = 1.0,
    evaluation_interval_s: float = 1.0,
    alertmanagers: Sequence[str] = (),
) -> dict[str, Any]:
    """A prometheus.yml as data (JSON is valid YAML, so no YAML library is needed)."""
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": _duration(scrape_interval_s),
            "scrape_timeout": _duration(min(scrape_interval_s, 10.0)),
            "evaluation_interval": _duration(evaluation_interval_s),
        },
        "rule_files": [str(Path(p).resolve()) for p in rule_files],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": list(hosts)}]}
            for job, hosts in targets.items()
        ],
    }
    if alertmanagers:
        config["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": list(alertmanagers)}]}]
        }
    return config


def _duration(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"


@dataclass
class PrometheusServer:
    """A running server: its base URL, process, files, and the HTTP API helpers."""

    url: str
    process: subprocess.Popen[bytes]
    config_path: Path
    log_path: Path
    _client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    # --- HTTP API (sync) -------------------------------------------------------------

    def api(self, path: str, **params: str) -> Any:
        """GET ``/api/v1/<path>`` and return its ``data``; raises on an API error."""
        response = self._client.get(f"{self.url}/api/v1/{path}", params=params)
        body = response.json()
        if response.status_code != 200 or body.get("status") != "success":
            raise PrometheusError(f"GET /api/v1/{path} {params}: {response.status_code} {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query: the vector's samples ``{'metric': {...}, 'value': [t, 'v']}``."""
        data = self.api("query", query=expr)
        if data["resultType"] != "vector":
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def values(self, expr: str) -> dict[Labels, float]:
        """Instant query as label set -> value (``__name__`` kept when present)."""
        return {frozenset(s["metric"].items()): float(s["value"][1]) for s in self.query(expr)}

    def alerts(self) -> list[dict[str, Any]]:
        """Active alerts (``pending`` or ``firing``) from ``/api/v1/alerts``."""
        return list(self.api("alerts")["alerts"])

    def alert_states(self) -> dict[str, set[str]]:
        """Alert name -> the states of its active instances, e.g. ``{'X': {'firing'}}``."""
        states: dict[str, set[str]] = {}
        for alert in self.alerts():
            states.setdefault(alert["labels"]["alertname"], set()).add(alert["state"])
        return states

    def firing(self) -> set[str]:
        """Names of the alerts with at least one firing instance."""
        return {name for name, states in self.alert_states().items() if "firing" in states}

    def rules(self) -> list[dict[str, Any]]:
        """Every loaded rule (recording and alerting), flattened over groups."""
        return [rule for group in self.api("rules")["groups"] for rule in group["rules"]]

    def rule_errors(self) -> dict[str, str]:
        """Rule name -> last evaluation error, for every rule whose health is not ok."""
        return {
            r["name"]: r.get("lastError", "")
            for r in self.rules()
            if r.get("health") not in ("ok", "unknown")
        }

    def targets(self) -> list[dict[str, Any]]:
        return list(self.api("targets", state="active")["activeTargets"])

    def wait_for_targets_up(self, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        return self.wait_until(
            self.targets,
            lambda ts: bool(ts) and all(t["health"] == "up" for t in ts),
            timeout_s=timeout_s,
            what="every scrape target up",
        )

    def wait_until(
        self,
        fetch: Callable[[], T],
        done: Callable[[T], bool],
        *,
        timeout_s: float,
        what: str,
        interval_s: float = 0.5,
    ) -> T:
        """Call ``fetch`` until ``done(result)``; fails with the last result after the timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.check_running()
            result = fetch()
            if done(result):
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout_s}s waiting for {what}: {result}")
            time.sleep(interval_s)

    # --- the same, for async tests (blocking calls run in a thread) -------------------

    async def aquery(self, expr: str) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.query, expr)

    async def avalues(self, expr: str) -> dict[Labels, float]:
        return await asyncio.to_thread(self.values, expr)

    async def aalerts(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.alerts)

    async def await_until(
        self,
        fetch: Callable[[], T],
        done: Callable[[T], bool],
        *,
        timeout_s: float,
        what: str,
        interval_s: float = 0.5,
    ) -> T:
        """``wait_until`` without blocking the event loop (``fetch`` is a sync callable)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            self.check_running()
            result = await asyncio.to_thread(fetch)
            if done(result):
                return result
            if loop.time() >= deadline:
                raise AssertionError(f"timed out after {timeout_s}s waiting for {what}: {result}")
            await asyncio.sleep(interval_s)

    # --- process -----------------------------------------------------------------------

    def check_running(self) -> None:
        if self.process.poll() is not None:
            raise PrometheusError(
                f"prometheus exited with {self.process.returncode}:\n{self.log_tail()}"
            )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def load_rules(self, rule_files: Sequence[Path]) -> None:
        """Evaluate ``rule_files`` from now on (config rewritten, then reloaded).

        Loading rules after the first scrape keeps alerts such as ``absent(up)`` from
        seeing the empty database of a server that has not scraped yet.
        """
        config = json.loads(self.config_path.read_text())
        config["rule_files"] = [str(Path(p).resolve()) for p in rule_files]
        self.config_path.write_text(json.dumps(config, indent=2))
        self.reload()

    def reload(self) -> None:
        """Re-read the config and rule files (``POST /-/reload``)."""
        response = self._client.post(f"{self.url}/-/reload")
        if response.status_code != 200:
            raise PrometheusError(f"reload failed: {response.status_code} {response.text}")

    def stop(self) -> None:
        self._client.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextmanager
def start_prometheus(
    targets: Targets,
    *,
    workdir: Path,
    rule_files: Sequence[Path] = (),
    scrape_interval_s: float = 1.0,
    evaluation_interval_s: float = 1.0,
    alertmanagers: Sequence[str] = (),
    config: Mapping[str, Any] | None = None,
) -> Iterator[PrometheusServer]:
    """A ready Prometheus scraping ``targets``; stopped (SIGTERM, then SIGKILL) on exit.

    ``workdir`` holds ``prometheus.yml``, ``data/`` and ``prometheus.log``. Pass
    ``config`` to use a whole config of your own instead of the generated one.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "prometheus.yml"
    rendered = config or render_config(
        targets,
        rule_files=rule_files,
        scrape_interval_s=scrape_interval_s,
        evaluation_interval_s=evaluation_interval_s,
        alertmanagers=alertmanagers,
    )
    config_path.write_text(json.dumps(rendered, indent=2))
    server = _launch(config_path, workdir)
    try:
        yield server
    finally:
        server.stop()


def _launch(config_path: Path, workdir: Path, attempts: int = 3) -> PrometheusServer:
    """Start and wait for readiness; a port taken between choosing and binding is retried."""
    log_path = workdir / "prometheus.log"
    for _ in range(attempts):
        port = free_port()
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [
                    binary("prometheus"),
                    f"--config.file={config_path}",
                    f"--storage.tsdb.path={workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--web.enable-lifecycle",
                    "--log.level=info",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = PrometheusServer(f"http://127.0.0.1:{port}", process, config_path, log_path)
        if _wait_ready(server):
            return server
        server.stop()
        if "address already in use" not in server.log_tail():
            break
    raise PrometheusError(f"prometheus did not become ready:\n{server.log_tail()}")


def _wait_ready(server: PrometheusServer) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                return False
            try:
                if client.get(f"{server.url}/-/ready").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    return False


PrometheusFactory = Callable[..., PrometheusServer]


@pytest.fixture
def prometheus_factory(tmp_path: Path) -> Iterator[PrometheusFactory]:
    """``prometheus_factory(targets, rule_files=..., ...)`` starts a server for this test.

    Every server started is stopped at teardown. Use it by importing the fixture
    into the test module: ``from tests.support.prometheus import prometheus_factory``.
    """
    started: list[Any] = []

    def factory(targets: Targets, **kwargs: Any) -> PrometheusServer:
        context = start_prometheus(
            targets, workdir=tmp_path / f"prometheus-{len(started)}", **kwargs
        )
        started.append(context)
        return context.__enter__()

    yield factory
    for context in reversed(started):
        context.__exit__(None, None, None)
