"""``collectpulse top`` driven for real: in tmux, over a real worker, exporter, Kafka and Redis.

A small known log is applied; the headline numbers on the screen must equal
both the sums of the exporter's /metrics and the values worked out by hand
from the log. A new event must show within a few seconds, ``w`` and ``t``
must switch the window and tenant, and ``q`` must exit with code 0.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from collectpulse.events.models import Topic
from collectpulse.settings import Settings
from tests.integration.kpi_value_log import Record
from tests.integration.kpi_value_run import drained, publish_in_order
from tests.support import events as ev
from tests.support.kafka import create_topics, publish
from tests.support.metrics import Samples, scrape, total, wait_for
from tests.support.pipeline import run_pipeline
from tests.support.processes import settings_env
from tests.support.tmux import Terminal, terminal

pytestmark = pytest.mark.integration

SCREEN_TIMEOUT_S = 15.0
"""Deadline for the screen to show what the store holds (top refreshes every second)."""
NEW_EVENT_DEADLINE_S = 5.0
"""A new event must be on screen this soon after it is published."""


def delivery(mid: str, at_s: int, tenant: str, **fields: Any) -> Record:
    return Topic.DELIVERY, mid, {**fields, "tenant": tenant}


def known_log(now: int) -> list[Record]:
    """Tenant acme: 4 emails (3 delivered, 1 hard bounce, 2 opened, 1 clicked, 1 paid);
    tenant bravo: 1 sms, delivered. Payments: 12,345 EUR succeeded, 500 EUR failed.
    Promises: 2 kept, 1 broken. One record that is not JSON (dead-lettered)."""
    t = now - 600
    log: list[Record] = []
    for i in range(1, 5):
        body = ev.sent(f"m{i}", t, customer_id=f"c{i}", campaign="winback")
        log.append(delivery(f"m{i}", t, "acme", **body))
    log.append(delivery("m5", t, "bravo", **ev.sent("m5", t, channel="sms", customer_id="c5")))
    for mid in ("m1", "m2", "m3"):
        log.append(delivery(mid, t + 5, "acme", **ev.delivered(mid, t + 5)))
    log.append(delivery("m5", t + 5, "bravo", **ev.delivered("m5", t + 5, channel="sms")))
    log.append((Topic.BOUNCE, "m4", {**ev.bounce("m4", t + 5, "hard"), "tenant": "acme"}))
    log += [(Topic.OPEN, m, ev.opened(m, t + 10)) for m in ("m1", "m2")]
    log.append((Topic.CLICK, "m1", ev.clicked("m1", t + 20)))
    paid = {**ev.payment("c1", t + 30, "succeeded", 12_345), "message_id": "m1"}
    log.append((Topic.PAYMENT, "c1", {**paid, "tenant": "acme"}))
    log.append((Topic.PAYMENT, "c2", {**ev.payment("c2", t + 30, "failed", 500), "tenant": "acme"}))
    for customer, status in (("c1", "kept"), ("c2", "broken"), ("c3", "kept")):
        body = {**ev.promise(customer, t + 40, status, "outbound"), "tenant": "acme"}
        log.append((Topic.PROMISE, customer, body))
    return log


def by_hand() -> dict[str, list[str]]:
    """The all-tenant 1h screen rows worked out from ``known_log``."""
    return {
        "sent": ["5"],
        "delivered": ["4", "80.0%"],  # 4 / 5 sent
        "opened": ["2", "50.0%"],  # 2 / 4 delivered
        "clicked": ["1", "25.0%"],  # 1 / 4 delivered
        "paid": ["1", "25.0%"],  # m1, named by the payment / 4 delivered
        "bounced": ["20.0%"],  # m4 / 5 sent
        "collected EUR (minor units)": ["12,345"],
        "payment success ratio": ["50.0%"],  # 1 succeeded / 2 attempts
        "promise kept ratio": ["66.7%"],  # 2 kept / (2 kept + 1 broken)
        "struggling customers (all tenants)": ["0"],
    }


def percent(numerator: float, denominator: float) -> str:
    return "-" if denominator == 0 else f"{numerator / denominator * 100:.1f}%"


def from_metrics(s: Samples, window: str, tenant: str | None = None) -> dict[str, list[str]]:
    """The same rows from /metrics: the windowed counters summed as PromQL's sum() would."""
    match = {"window": window} if tenant is None else {"window": window, "tenant": tenant}

    def w(name: str, **labels: str) -> float:
        return total(s, f"collectpulse_windowed_{name}", **match, **labels)

    sent, delivered = w("messages_sent"), w("messages_delivered")
    stages = {"opened": w("messages_opened"), "clicked": w("messages_clicked")}
    stages["paid"] = w("messages_paid")
    kept, broken = w("promises", status="kept"), w("promises", status="broken")
    rows = {
        "sent": [f"{sent:,.0f}"],
        "delivered": [f"{delivered:,.0f}", percent(delivered, sent)],
        **{stage: [f"{n:,.0f}", percent(n, delivered)] for stage, n in stages.items()},
        "bounced": [percent(w("messages_bounced_any"), sent)],
        "payment success ratio": [
            percent(w("payment_attempts", status="succeeded"), w("payment_attempts"))
        ],
        "promise kept ratio": [percent(kept, kept + broken)],
        "struggling customers (all tenants)": [
            f"{total(s, 'collectpulse_struggling_customers'):,.0f}"
        ],
        "landing conversion (all sources)": [
            percent(w("landing_paying_customers"), w("landing_unique_visitors"))
        ],
    }
    currencies = {dict(labels).get("currency") for (name, labels), _ in s.items()}
    for currency in sorted(c for c in currencies if c):
        amount = w("collected_amount_minor", currency=currency)
        if amount:
            rows[f"collected {currency} (minor units)"] = [f"{amount:,.0f}"]
    return rows


def pipeline_from_metrics(s: Samples) -> str:
    dead = total(s, "collectpulse_events_dead_lettered_total") + total(
        s, "collectpulse_provider_records_dead_lettered_total"
    )
    return (
        f"live workers {total(s, 'collectpulse_live_workers'):.0f} · "
        f"consumer lag {total(s, 'collectpulse_consumer_lag_records'):,.0f} records · "
        f"dead-lettered {dead:,.0f}"
    )


def rows(screen: str) -> dict[str, list[str]]:
    """Table rows on the screen: first cell -> the other non-empty cells."""
    out = {}
    for line in screen.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 2 and cells[1]:
            out[cells[1]] = [c for c in cells[2:] if c]
    return out


def shown(screen: str, wanted: dict[str, list[str]]) -> dict[str, list[str] | None]:
    """Of the rows in ``wanted``, what the screen shows (bounced: its ratio only)."""
    on_screen = rows(screen)
    out: dict[str, list[str] | None] = {}
    for label, values in wanted.items():
        got = on_screen.get(label)
        out[label] = got[: len(values)] if got is not None else None
    return out


def title(screen: str) -> str:
    return screen.splitlines()[0] if screen else ""


def top_command() -> list[str]:
    # the way tests/support/processes starts every collectpulse command
    return [sys.executable, "-m", "collectpulse.cli", "top"]


async def test_top_shows_the_exporters_numbers_live_and_obeys_its_keys(
    settings: Settings, tmp_path: Path
) -> None:
    now = int(time.time())
    log = known_log(now)
    await create_topics(settings)
    with (
        run_pipeline(settings, tmp_path) as pipe,
        terminal(top_command(), env=settings_env(settings), workdir=tmp_path) as term,
    ):
        url = pipe.url("/metrics")
        await publish_in_order(settings, log)
        await publish(settings, settings.topic(Topic.DELIVERY.value), [(b"bad", b"not json")])
        await drained(settings, url, len(log) + 1, pipe.processes)
        samples = await scrape(url)
        expected = from_metrics(samples, "1h")
        hand = by_hand()
        assert {k: expected.get(k) for k in hand} == hand, "/metrics differs from the log"
        screen = await term.wait_for_screen(
            lambda s: shown(s, expected) == expected, timeout_s=SCREEN_TIMEOUT_S
        )
        assert shown(screen, expected) == expected, screen
        assert shown(screen, hand) == hand, screen
        health = pipeline_from_metrics(await scrape(url))
        screen = await term.wait_for_screen(lambda s: health in s, timeout_s=SCREEN_TIMEOUT_S)
        assert health in screen, screen
        assert "dead-lettered 1" in health

        await _a_new_event_shows_within_seconds(settings, term, now)
        await _w_and_t_switch_window_and_tenant(term, url)

        term.press("q")
        assert await term.exit_code(timeout_s=10) == 0
        assert "Traceback" not in term.stderr_file.read_text()


async def _a_new_event_shows_within_seconds(settings: Settings, term: Terminal, now: int) -> None:
    body = ev.sent("m6", now - 60, channel="sms", customer_id="c6")
    published_s = time.monotonic()
    await publish_in_order(settings, [delivery("m6", now - 60, "bravo", **body)])
    screen = await term.wait_for_screen(
        lambda s: rows(s).get("sent") == ["6"], timeout_s=NEW_EVENT_DEADLINE_S
    )
    seen_after_s = time.monotonic() - published_s
    assert rows(screen).get("sent") == ["6"], screen
    print(f"new event on screen {seen_after_s:.2f} s after publishing")


async def _w_and_t_switch_window_and_tenant(term: Terminal, url: str) -> None:
    # top reads Redis each second, the exporter caches its read for a second: wait for
    # /metrics to count the new event too
    samples = await wait_for(
        url, lambda s: total(s, "collectpulse_windowed_messages_sent", window="1h") == 6
    )
    for window in ("24h", "7d", "1h"):
        term.press("w")
        expected = from_metrics(samples, window)
        screen = await term.wait_for_screen(
            lambda s, w=window: f"window {w}" in title(s), timeout_s=SCREEN_TIMEOUT_S
        )
        assert f"window {window}" in title(screen), screen
        assert shown(screen, expected) == expected, screen
    for tenant in ("acme", "bravo"):
        term.press("t")
        expected = from_metrics(samples, "1h", tenant)
        screen = await term.wait_for_screen(
            lambda s, t=tenant: f"tenant {t} " in title(s), timeout_s=SCREEN_TIMEOUT_S
        )
        assert f"tenant {tenant} " in title(screen), screen
        assert shown(screen, expected) == expected, screen
    assert rows(screen).get("sent") == ["2"]  # bravo: m5 and m6
