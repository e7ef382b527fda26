"""Every alerting demo scenario fires exactly the alerts its description promises, in a
real Prometheus that scrapes the real exporter and evaluates the shipped rules; the
steady scenario beside them fires nothing.

The scenarios run side by side through one worker, one exporter and one Prometheus,
each under its own tenants (`with_tenant_prefix`) and seed, published by the
simulator's own `publish` exactly as `collectpulse simulate --scenario NAME` does:
the scenario's history at once, then live traffic until the test ends.

Time is compressed in three places, and only there:

- customer time, by the scenarios themselves (`DEMO_DELAY_SCALE`) and their history
  (the link broke 70 minutes ago), so the alert windows are full within seconds;
- the collections alerts hold for FOR_S instead of their 5 min to 1 h, and the
  baseline group is evaluated every few seconds instead of every 5 min; the pipeline
  alerts keep their shipped holds, since pipeline time is not compressed (a catch-up
  of a few seconds makes the lag alerts pending, as it would in production);
- the drop alerts compare with a 7-day baseline that needs 24 h of Prometheus history.
  That history is written into Prometheus' TSDB before it starts (promtool backfill):
  26 hours at the ratios the steady scenario shows in this very run (over the same
  hour of history conversion-drop publishes, read once its payment credits have come
  back through the customer-touch topic), for the steady and the conversion-drop
  tenants alike. Bounce-spike and broken-link run without the baselines, as
  on a fresh install, where the drop alerts stay silent.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from collectpulse.exporter.broker import OFFSETS_MAX_AGE_S
from collectpulse.settings import Settings
from collectpulse.simulate import named
from collectpulse.simulate.publisher import PublishReport, publish
from collectpulse.store.touches import TOUCH_TOPIC
from tests.support.metrics import Samples, scrape, total, wait_for
from tests.support.processes import worker_and_exporter
from tests.support.prometheus import PrometheusServer, promtool, start_prometheus

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules"
FOR_S = 3
BASELINE_INTERVAL_S = 3
LIVE_RATE_PER_S = 3.0
BACKFILL_HOURS = 26
BACKFILL_STEP_S = 120
# tenant prefix -> scenario; the steady one is the control and the baselines' source
RUNS = {
    "st-": "steady",
    "bs-": "bounce-spike",
    "bl-": "broken-link",
    "cd-": "conversion-drop",
}
WITH_BASELINE = ("st-", "cd-")
# the baselines are the steady tenants' ratios: measured over the same hour of history
# the conversion-drop run publishes, not over the few live seconds steady has of its own
HISTORY = {"st-": named.SCENARIOS["conversion-drop"].history}


def rules_for_compressed_time(into: Path) -> list[Path]:
    """Copies of the shipped rule files: collections alerts hold FOR_S, baselines are
    evaluated every BASELINE_INTERVAL_S; expressions and thresholds untouched."""
    into.mkdir()
    alerts = (RULES / "alerts.yml").read_text()
    collections, pipeline = alerts.split("  - name: collectpulse-pipeline-alerts\n")
    collections, held = re.subn(r"^(\s+for: )\S+$", rf"\g<1>{FOR_S}s", collections, flags=re.M)
    assert held == collections.count("- alert: "), "every collections alert has a `for:`"
    recording = (RULES / "recording.yml").read_text()
    recording, paced = re.subn(
        r"(- name: collectpulse-baselines\n\s+interval: )5m",
        rf"\g<1>{BASELINE_INTERVAL_S}s",
        recording,
    )
    assert paced == 1, "the baseline group is evaluated every 5m"
    texts = {
        "thresholds.yml": (RULES / "thresholds.yml").read_text(),
        "recording.yml": recording,
        "alerts.yml": collections + "  - name: collectpulse-pipeline-alerts\n" + pipeline,
    }
    for name, text in texts.items():
        (into / name).write_text(text)
    return [into / name for name in texts]


def steady_ratios(samples: Samples) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The steady tenants' 24 h landing conversion per source and message payment ratio
    per campaign, as the recording rules compute them, keyed without the prefix."""
    ratios: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    paid: dict[tuple[str, str], float] = defaultdict(float)
    delivered: dict[tuple[str, str], float] = defaultdict(float)
    for (name, labelset), v in samples.items():
        labels = dict(labelset)
        tenant = labels.get("tenant", "")
        if labels.get("window") != "24h" or not tenant.startswith("st-"):
            continue
        tenant = tenant.removeprefix("st-")
        if name == "collectpulse_landing_conversion_ratio":
            key = (("source", labels["source"]), ("tenant", tenant))
            ratios[("collectpulse:source:landing_conversion_ratio", key)] = v
        elif name == "collectpulse_windowed_messages_paid":
            paid[(labels["campaign"], tenant)] += v
        elif name == "collectpulse_windowed_messages_delivered":
            delivered[(labels["campaign"], tenant)] += v
    for (campaign, tenant), sent in delivered.items():
        if sent > 0:
            key = (("campaign", campaign), ("tenant", tenant))
            ratios[("collectpulse:campaign:message_payment_ratio", key)] = (
                paid[(campaign, tenant)] / sent
            )
    return ratios


def backfill(
    data_dir: Path, ratios: dict[tuple[str, tuple[tuple[str, str], ...]], float], now: float
) -> None:
    """BACKFILL_HOURS of these ratios, for every tenant of WITH_BASELINE, into a TSDB."""
    lines = []
    last = int(now) - int(now) % BACKFILL_STEP_S - BACKFILL_STEP_S
    steps = range(last - BACKFILL_HOURS * 3600, last + 1, BACKFILL_STEP_S)
    for (metric, key), ratio in sorted(ratios.items()):
        for prefix in WITH_BASELINE:
            labels = {**dict(key), "window": "24h"}
            labels["tenant"] = prefix + labels["tenant"]
            rendered = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            lines += [f"{metric}{{{rendered}}} {ratio} {t}" for t in steps]
    source = data_dir.parent / "baselines.om"
    source.write_text(
        "\n".join(sorted(lines, key=lambda line: line.rsplit(" ", 1)[0])) + "\n# EOF\n"
    )
    made = promtool("tsdb", "create-blocks-from", "openmetrics", source, data_dir)
    assert made.returncode == 0, made.stderr


def expected_alerts() -> dict[str, set[str]]:
    return {prefix: set(named.SCENARIOS[name].alerts) for prefix, name in RUNS.items()}


def alerts_by_prefix(alerts: list[dict[str, Any]], state: str) -> dict[str, set[str]]:
    """Scenario prefix (or "" for alerts without a scenario tenant) -> alert names."""
    found: dict[str, set[str]] = {prefix: set() for prefix in [*RUNS, ""]}
    for alert in alerts:
        if alert["state"] != state:
            continue
        tenant = alert["labels"].get("tenant", "")
        prefix = next((p for p in RUNS if tenant.startswith(p)), "")
        found[prefix].add(alert["labels"]["alertname"])
    return found


async def wait_for_alerts(prom: PrometheusServer, timeout_s: float) -> list[dict[str, Any]]:
    """Until every scenario's alerts fire; then FOR_S and a baseline round longer, so
    anything else about to fire has had its chance."""
    expected = expected_alerts()
    await prom.await_until(
        prom.alerts,
        lambda alerts: all(
            names <= alerts_by_prefix(alerts, "firing")[prefix]
            for prefix, names in expected.items()
        ),
        timeout_s=timeout_s,
        what=f"{expected} firing",
    )
    await asyncio.sleep(FOR_S + BASELINE_INTERVAL_S + 2)
    return await prom.aalerts()


async def joins_settled(
    url: str, published: int, processes: Sequence[subprocess.Popen[bytes]]
) -> Samples:
    """Once every published record is applied and the credits that follow them through
    the customer-touch topic are too (the exporter's log end offsets are cached for
    OFFSETS_MAX_AGE_S, so only a scrape after that shows the touches' lag)."""
    await wait_for(
        url,
        lambda s: total(s, "collectpulse_events_received_total") >= published,
        timeout_s=90,
        processes=processes,
    )
    loop = asyncio.get_running_loop()
    fresh_after = loop.time() + OFFSETS_MAX_AGE_S + 1
    settled = await wait_for(
        url,
        lambda s: (
            loop.time() >= fresh_after
            and total(s, "collectpulse_consumer_lag_records", topic=TOUCH_TOPIC) == 0
        ),
        timeout_s=60,
        processes=processes,
    )
    lag = total(settled, "collectpulse_consumer_lag_records", topic=TOUCH_TOPIC)
    assert lag == 0, f"the customer-touch topic did not drain: {lag} records behind"
    return settled


async def test_each_scenario_fires_exactly_its_alerts(settings: Settings, tmp_path: Path) -> None:
    stop = asyncio.Event()
    histories: dict[str, PublishReport] = {}
    live = {prefix: asyncio.Event() for prefix in RUNS}

    def went_live(prefix: str, report: PublishReport) -> None:
        histories[prefix] = report
        live[prefix].set()

    async with asyncio.timeout(200):
        with worker_and_exporter(settings, tmp_path) as (url, processes):
            publishers = [
                asyncio.create_task(
                    publish(
                        settings,
                        rate_per_s=LIVE_RATE_PER_S,
                        total=None,
                        duration_s=None,
                        seed=100 + n,
                        scenario=named.with_tenant_prefix(named.SCENARIOS[name].scenario, prefix),
                        history=HISTORY.get(prefix, named.SCENARIOS[name].history),
                        stop=stop,
                        on_live=lambda report, p=prefix: went_live(p, report),
                    )
                )
                for n, (prefix, name) in enumerate(RUNS.items())
            ]
            try:
                for prefix, name in RUNS.items():
                    if HISTORY.get(prefix, named.SCENARIOS[name].history) is None:
                        live[prefix].set()
                await asyncio.gather(*(event.wait() for event in live.values()))
                published = sum(report.total for report in histories.values())
                applied = await joins_settled(url, published, processes)
                ratios = steady_ratios(applied)
                prom_dir = tmp_path / "prometheus"
                (prom_dir / "data").mkdir(parents=True)
                backfill(prom_dir / "data", ratios, time.time())
                with start_prometheus(
                    {"collectpulse": [url.removeprefix("http://").removesuffix("/metrics")]},
                    workdir=prom_dir,
                ) as prom:
                    prom.wait_for_targets_up()
                    prom.load_rules(rules_for_compressed_time(tmp_path / "rules"))
                    alerts = await wait_for_alerts(prom, timeout_s=60)
                    errors = prom.rule_errors()
                    final = await scrape(url)
            finally:
                stop.set()
                reports = await asyncio.gather(*publishers)

    firing = alerts_by_prefix(alerts, "firing")
    assert firing == {**expected_alerts(), "": set()}, alerts
    assert errors == {}
    live_records = {
        p: report.total - (histories[p].total if p in histories else 0)
        for p, report in zip(RUNS, reports, strict=True)
    }
    assert all(n > 0 for n in live_records.values()), f"live traffic in every run: {live_records}"
    # the promised alerts point at the campaign the scenario broke
    labels = {(a["labels"]["alertname"], a["labels"].get("campaign")) for a in alerts}
    assert ("CollectpulseHardBounceSpike", "reminder-d10") in labels
    assert ("CollectpulseLandingPageSilence", "sms-reminder") in labels
    silent = {
        a["labels"]["tenant"]
        for a in alerts
        if a["labels"]["alertname"] == "CollectpulseLandingPageSilence"
    }
    assert silent == {"bl-telco-one"}, alerts
    assert total(final, "collectpulse_events_received_total") > published
