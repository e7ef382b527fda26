"""A bounce spike and a landing-page silence, published through Kafka, fire exactly their
alerts in a real Prometheus that scrapes the real exporter and evaluates the shipped rules.

Three campaigns are scripted against the wall clock:

- ``winter-reminder`` (email): 240 messages in the last 30 minutes, 30% hard-bounced;
  its recipients reach the landing page -> CollectpulseHardBounceSpike and
  CollectpulseHighBounceRatio.
- ``final-notice`` (sms): one message every 45 s for 90 minutes, all delivered, and not
  one landing-page view -> CollectpulseLandingPageSilence (the broken link).
- ``payment-plan`` (email): delivered, opened, its recipients reach the page -> nothing.

Every other alert (pipeline, workers, lag, dead letters, drops against baselines) must
stay inactive. The rules are the production files with one change: every ``for:`` is
shortened to FOR_S, because the shipped 5-minute to 1-hour holds exist to keep a blip
from paging and would take this test far past its time budget. Expressions, thresholds,
labels and annotations are exactly the shipped ones.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import orjson

from collectpulse.events.models import Topic
from collectpulse.settings import Settings
from tests.support import events as ev
from tests.support.kafka import create_topics, publish
from tests.support.metrics import Samples, total, value, wait_for
from tests.support.processes import worker_and_exporter
from tests.support.prometheus import PrometheusServer, start_prometheus

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules"
RULE_FILES = ("thresholds.yml", "recording.yml", "alerts.yml")
FOR_S = 3
SPIKE, SILENT, HEALTHY = "winter-reminder", "final-notice", "payment-plan"
SPIKE_SENT, SPIKE_HARD = 240, 72
EXPECTED = {
    "CollectpulseHardBounceSpike": {"campaign": SPIKE, "channel": "email"},
    "CollectpulseHighBounceRatio": {"campaign": SPIKE, "channel": "email"},
    "CollectpulseLandingPageSilence": {"campaign": SILENT},
}

Records = dict[Topic, list[tuple[bytes, bytes]]]


def rules_with_short_for(into: Path) -> list[Path]:
    """Copies of the shipped rule files whose alerts hold for FOR_S instead."""
    into.mkdir()
    copies = []
    for name in RULE_FILES:
        text = (RULES / name).read_text()
        text, replaced = re.subn(r"^(\s+for: )\S+$", rf"\g<1>{FOR_S}s", text, flags=re.M)
        if name == "alerts.yml":
            assert replaced == text.count("- alert: "), "every alert has a `for:` line"
        (into / name).write_text(text)
        copies.append(into / name)
    return copies


def _put(records: Records, topic: Topic, key: str, body: dict[str, Any]) -> None:
    records.setdefault(topic, []).append((key.encode(), orjson.dumps(body)))


def messages(now: float) -> tuple[Records, list[tuple[str, str]]]:
    """Sends, deliveries, bounces and opens; and the (customer, message) pairs that view
    the landing page afterwards."""
    records: Records = {}
    viewers = []
    for i in range(SPIKE_SENT):
        mid, customer, sent_s = f"spike-{i}", f"spike-cust-{i}", now - 1800 + i * 7
        _put(
            records, Topic.DELIVERY, mid, ev.sent(mid, sent_s, campaign=SPIKE, customer_id=customer)
        )
        if i % 10 < 3:
            _put(records, Topic.BOUNCE, mid, ev.bounce(mid, sent_s + 20, "hard"))
        else:
            _put(records, Topic.DELIVERY, mid, ev.delivered(mid, sent_s + 10))
            if i % 10 == 9:
                viewers.append((customer, mid))
    for i in range(120):
        mid, sent_s = f"silent-{i}", now - 5400 + i * 45
        body = ev.sent(mid, sent_s, campaign=SILENT, channel="sms", customer_id=f"silent-cust-{i}")
        _put(records, Topic.DELIVERY, mid, body)
        _put(records, Topic.DELIVERY, mid, ev.delivered(mid, sent_s + 10, channel="sms"))
    for i in range(100):
        mid, customer, sent_s = f"healthy-{i}", f"healthy-cust-{i}", now - 2400 + i * 20
        body = ev.sent(mid, sent_s, campaign=HEALTHY, customer_id=customer)
        _put(records, Topic.DELIVERY, mid, body)
        _put(records, Topic.DELIVERY, mid, ev.delivered(mid, sent_s + 10))
        if i % 3 == 0:
            _put(records, Topic.OPEN, mid, ev.opened(mid, min(sent_s + 300, now - 5)))
        if i % 5 == 0:
            viewers.append((customer, mid))
    return records, viewers


def pageviews(viewers: list[tuple[str, str]], now: float) -> Records:
    records: Records = {}
    for n, (customer, mid) in enumerate(viewers):
        visitor = f"visitor-{customer}"
        body = {**ev.pageview(visitor, now - 60 + n % 30), "customer_id": customer}
        body["message_id"] = mid
        _put(records, Topic.PAGEVIEW, visitor, body)
    return records


async def publish_all(settings: Settings, records: Records) -> int:
    for topic, batch in records.items():
        await publish(settings, settings.topic(topic.value), batch)
    return sum(len(batch) for batch in records.values())


def silence_s(samples: Samples, campaign: str) -> float | None:
    return value(samples, "collectpulse_landing_silence_seconds", campaign=campaign, tenant="")


async def watch_alerts(
    prom: PrometheusServer, timeout_s: float
) -> tuple[dict[str, set[str]], list[dict[str, Any]], set[str]]:
    """Poll until the expected alerts fire, then a little longer; return the final states,
    the final active alerts, and every alert name seen firing meanwhile."""
    seen: set[str] = set()

    def poll() -> dict[str, set[str]]:
        states = prom.alert_states()
        seen.update(name for name, s in states.items() if "firing" in s)
        return states

    await prom.await_until(
        poll,
        lambda s: all("firing" in s.get(name, ()) for name in EXPECTED),
        timeout_s=timeout_s,
        what=f"{sorted(EXPECTED)} firing",
    )
    # a few more evaluations: anything else about to fire has had FOR_S to do so
    await asyncio.sleep(FOR_S + 3)
    return await asyncio.to_thread(poll), await prom.aalerts(), seen


async def test_bounce_spike_and_landing_silence_fire_their_alerts_and_nothing_else(
    settings: Settings, tmp_path: Path
) -> None:
    now = time.time()
    first, viewers = messages(now)

    async with asyncio.timeout(170):
        await create_topics(settings)
        with worker_and_exporter(settings, tmp_path) as (url, processes):
            published = await publish_all(settings, first)
            # landing views are credited through the recipients' delivered messages:
            # publish them once the deliveries are applied
            applied = await wait_for(
                url,
                lambda s: total(s, "collectpulse_events_received_total") >= published,
                timeout_s=60,
                processes=processes,
            )
            assert total(applied, "collectpulse_events_received_total") == published
            published += await publish_all(settings, pageviews(viewers, now))
            ready = await wait_for(
                url,
                lambda s: (
                    total(s, "collectpulse_events_received_total") >= published
                    and (silence_s(s, HEALTHY) or 1e9) < 600
                    and (silence_s(s, SPIKE) or 1e9) < 600
                ),
                timeout_s=60,
                processes=processes,
            )
            hard = total(
                ready, "collectpulse_messages_bounced_total", campaign=SPIKE, bounce_type="hard"
            )
            assert hard == SPIKE_HARD
            assert (silence_s(ready, SILENT) or 0) > 3600
            assert (silence_s(ready, HEALTHY) or 1e9) < 600, "views must end a campaign's silence"

            with start_prometheus(
                {"collectpulse": [url.removeprefix("http://").removesuffix("/metrics")]},
                workdir=tmp_path / "prometheus",
            ) as prom:
                # rules from the first scrape on, as in a Prometheus that has been running:
                # held for FOR_S only, `absent(up)` must not see the empty start
                prom.wait_for_targets_up()
                prom.load_rules(rules_with_short_for(tmp_path / "rules"))
                states, alerts, seen_firing = await watch_alerts(prom, timeout_s=60)
                ratio = prom.values(
                    'collectpulse:campaign_channel:hard_bounce_ratio{window="1h",channel="email"}'
                )
                errors = prom.rule_errors()

    assert seen_firing == set(EXPECTED), f"only the scripted alerts fire: {alerts}"
    assert states == {name: {"firing"} for name in EXPECTED}, alerts
    assert len(alerts) == len(EXPECTED), f"one alert per campaign, not per exporter: {alerts}"
    for alert in alerts:
        wanted = EXPECTED[alert["labels"]["alertname"]]
        assert {k: alert["labels"].get(k) for k in wanted} == wanted, alert
    assert errors == {}
    by_campaign = {dict(labels)["campaign"]: v for labels, v in ratio.items()}
    assert by_campaign == {SPIKE: SPIKE_HARD / SPIKE_SENT, HEALTHY: 0.0}
