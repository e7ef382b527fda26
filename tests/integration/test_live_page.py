"""The live page in a real browser (Playwright driving Debian's Chromium) on the real pipeline.

The known log of ``kpi_value_log`` goes through real Kafka, a real worker and a real
exporter; the page served by that exporter is read in headless Chromium and every
number on it that names a /metrics sample (``data-metric``) is compared with that
sample, scraped from /metrics and parsed by prometheus_client's parser.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import bcrypt
import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from collectpulse.events.models import Topic
from collectpulse.exporter.http import create_web_app
from collectpulse.kpi.computed import GAUGES
from collectpulse.kpi.model import metric_name
from collectpulse.settings import Settings
from tests.integration import contact_log
from tests.integration.kpi_value_log import build
from tests.integration.kpi_value_run import drained, publish_in_order, value_test_settings
from tests.support import events as ev
from tests.support.kafka import create_topics
from tests.support.metrics import Samples, scrape
from tests.support.pipeline import Pipeline, run_pipeline

CHROMIUM = "/usr/bin/chromium"
LIVE_UPDATE_S = 2.0
"""A new event must show on the open page within this long, without a reload."""


@dataclass
class Live:
    settings: Settings
    pipeline: Pipeline
    published: int


@pytest.fixture(scope="module")
async def live(
    local_stack: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Live]:
    logs = tmp_path_factory.mktemp("live-page")
    settings = value_test_settings(*local_stack, logs)
    log = build(int(time.time()))
    contacts = contact_log.build(int(time.time()))  # fills the contacts table
    records = log.phase1 + log.phase2 + contacts.phase1 + contacts.phase2
    await create_topics(settings)
    await publish_in_order(settings, records)
    with ExitStack() as stack:
        pipe = stack.enter_context(run_pipeline(settings, logs))
        published = len(records)
        await drained(settings, pipe.url("/metrics"), published, pipe.processes)
        yield Live(settings, pipe, published)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh page; the test fails if it logs a console error or throws."""
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    tab = await context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text}")

    tab.on("console", on_console)
    tab.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    yield tab
    await context.close()
    assert errors == [], errors


async def page_numbers(page: Page) -> list[dict[str, Any]]:
    """Every element that names its /metrics sample: metric, labels, value, agg, text."""
    return await page.eval_on_selector_all(
        "#live [data-metric]",
        """els => els.map(e => ({metric: e.dataset.metric, labels: JSON.parse(e.dataset.labels),
            value: e.dataset.value, agg: e.dataset.agg || "", text: e.textContent.trim()}))""",
    )


def expected(samples: Samples, number: dict[str, Any]) -> float | None:
    wanted = set(number["labels"].items())
    matching = [
        value
        for (name, labels), value in samples.items()
        if name == number["metric"]
        and (wanted <= labels if number["agg"] == "sum" else set(labels) == wanted)
    ]
    if number["agg"] == "sum":
        return math.fsum(matching) if matching else None
    return matching[0] if matching else None


def mismatches(samples: Samples, numbers: list[dict[str, Any]]) -> list[str]:
    """The page's numbers that differ from /metrics, value and shown text."""
    wrong = []
    for n in numbers:
        want = expected(samples, n)
        got = None if n["value"] == "" else float(n["value"])
        same = got == want if got is None or want is None else math.isclose(got, want)
        if not same or not shows(n["text"], want, n["metric"]):
            wrong.append(f"{n['metric']}{n['labels']}: page {got} ({n['text']!r}), metrics {want}")
    return wrong


def shows(text: str, value: float | None, metric: str) -> bool:
    """Whether the text shown is ``value`` as the page formats counts and ratios."""
    if value is None:
        return text == "\u2014"
    if metric.endswith(("_ratio", "_probability")) and text.endswith("%"):
        return abs(float(text.rstrip("%")) - value * 100) <= 0.05 + 1e-9
    if metric.startswith(("collectpulse_windowed_", "collectpulse_events_")):
        return text.replace(",", "") == f"{value:.0f}"
    return True  # times, seconds and p-values: their data-value is compared above


async def numbers_equal_metrics(page: Page, metrics_url: str) -> list[dict[str, Any]]:
    """The page's numbers once a scrape before and one after reading them agree (the
    store did not change meanwhile); asserts they equal that scrape."""
    deadline = time.monotonic() + 20
    while True:
        before = await scrape(metrics_url)
        numbers = await page_numbers(page)
        after = await scrape(metrics_url)
        shown = {n["metric"] for n in numbers}
        before, after = _only(before, shown), _only(after, shown)
        if before == after or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert before == after, "the page's /metrics samples kept changing for 20 s"
    assert mismatches(after, numbers) == []
    return numbers


def _only(samples: Samples, names: set[str]) -> Samples:
    return {key: value for key, value in samples.items() if key[0] in names}


async def test_every_number_on_the_page_equals_its_metrics_sample(live: Live, page: Page) -> None:
    await page.goto(live.pipeline.url("/"))
    numbers = await numbers_equal_metrics(page, live.pipeline.url("/metrics"))
    tables = await page.eval_on_selector_all(
        "#live table[id^=t-]", "ts => ts.map(t => [t.id, t.tBodies[0].rows.length])"
    )
    metrics = {n["metric"] for n in numbers}
    # the known log fills every table and the experiment and pipeline panels
    assert all(rows > 0 for _, rows in tables), tables
    assert {
        "collectpulse_windowed_messages_sent",
        "collectpulse_delivery_ratio",
        "collectpulse_landing_conversion_ratio",
        "collectpulse_windowed_collected_amount_minor",
        "collectpulse_promise_kept_ratio",
        "collectpulse_windowed_agent_promises",
        "collectpulse_windowed_contact_attempts",
        "collectpulse_rpc_ratio",
        "collectpulse_experiment_p_value",
        "collectpulse_processing_lag_seconds",
        "collectpulse_consumer_lag_records",
    } <= metrics
    assert len(numbers) > 100


async def test_a_new_event_shows_within_two_seconds_without_a_reload(
    live: Live, page: Page
) -> None:
    await page.goto(live.pipeline.url("/?campaign=live-probe"))
    await page.wait_for_selector("body[data-as-of]")  # the event stream is open
    selector = '#live [data-metric="collectpulse_windowed_messages_sent"]'
    assert await page.locator(selector).count() == 0
    await page.evaluate("window.__notReloaded = true")
    now = time.time()
    body = {**ev.sent("live-probe-1", now, campaign="live-probe", variant="a"), "tenant": "t-live"}
    published = time.monotonic()
    await publish_in_order(live.settings, [(Topic.DELIVERY, "live-probe-1", body)])
    await page.wait_for_function(
        f"document.querySelector('{selector}')?.dataset.value === '1.0'",
        timeout=LIVE_UPDATE_S * 1000,
    )
    shown_after_s = time.monotonic() - published
    assert await page.evaluate("window.__notReloaded") is True
    print(f"new event on the page {shown_after_s:.2f} s after its publish")


async def test_the_window_selector_switches_every_number_to_that_window(
    live: Live, page: Page
) -> None:
    await page.goto(live.pipeline.url("/"))
    await page.select_option("#f-window", "24h")
    await page.wait_for_function(
        "document.querySelector('#live .asof')?.textContent.includes('window 24h')"
    )
    assert "window=24h" in page.url
    numbers = await numbers_equal_metrics(page, live.pipeline.url("/metrics"))
    # gauges with windows of their own (whole local days: K8, K4-K7 by team) keep them
    own = {metric_name(g) for g in GAUGES if "window" in g.labels}
    windows = {
        n["labels"]["window"] for n in numbers if "window" in n["labels"] and n["metric"] not in own
    }
    assert windows == {"24h"}
    assert any(n["metric"] in own for n in numbers)  # the log makes some (the team tables)


async def test_a_filter_keeps_only_that_tenants_rows(live: Live, page: Page) -> None:
    await page.goto(live.pipeline.url("/"))
    tenants = await page.eval_on_selector_all("#f-tenant option", "os => os.map(o => o.value)")
    tenant = next(t for t in tenants if t)
    await page.select_option("#f-tenant", tenant)
    await page.wait_for_function(f"location.search.includes('tenant={tenant}')")
    funnel = "#t-funnel [data-metric='collectpulse_windowed_messages_sent']"
    await page.wait_for_function(
        f"""[...document.querySelectorAll("{funnel}")].length > 0 &&
            [...document.querySelectorAll("{funnel}")]
              .every(e => JSON.parse(e.dataset.labels).tenant === {json.dumps(tenant)})"""
    )
    await numbers_equal_metrics(page, live.pipeline.url("/metrics"))


async def test_the_numbers_are_in_the_html_without_javascript(live: Live) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        html = (await client.get(live.pipeline.url("/?window=7d"))).raise_for_status().text
        api = (await client.get(live.pipeline.url("/api/live?window=7d"))).raise_for_status()
        bad = await client.get(live.pipeline.url("/api/live?window=2h"))
    assert '<table id="t-funnel">' in html
    assert 'data-metric="collectpulse_windowed_messages_sent"' in html
    sent = sum(
        r["values"]["messages_sent"]
        for t in api.json()["tables"]
        if t["key"] == "funnel"
        for r in t["rows"]
    )
    assert sent > 0
    assert bad.status_code == 400 and "1h, 24h, 7d" in bad.text


async def test_the_struggling_page_lists_the_customers_of_the_api(live: Live, page: Page) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        api = (await client.get(live.pipeline.url("/api/struggling-customers"))).json()
    assert api["count"] > 0
    await page.goto(live.pipeline.url("/struggling"))
    text = await page.inner_text("#struggling-count")
    assert text.startswith(f"{api['count']} customer(s)")
    shown = await page.eval_on_selector_all("#live tbody th", "hs => hs.map(h => h.textContent)")
    assert shown == [c["customer_id"] for c in api["customers"]]


async def test_static_files_are_served_with_the_uplot_licence(live: Live) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        for path in ("live.js", "live.css", "uplot/uPlot.iife.min.js", "uplot/LICENSE"):
            response = await client.get(live.pipeline.url(f"/static/{path}"))
            assert response.status_code == 200, path
    assert "Leon Sorokin" in response.text


async def test_the_page_needs_the_same_basic_auth_as_metrics(settings: Settings) -> None:
    users = {"ops": bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4))}
    app = create_web_app(settings, users=users)
    async with TestClient(TestServer(app)) as client:
        for path in ("/", "/api/live", "/struggling", "/static/live.js", "/metrics"):
            refused = await client.get(path)
            assert refused.status == 401, path
        token = base64.b64encode(b"ops:s3cret").decode()
        allowed = await client.get("/api/live", headers={"Authorization": f"Basic {token}"})
        assert allowed.status == 200
        assert (await allowed.json())["window"] == "1h"
