"""Every dashboard query against a real Prometheus scraping a real exporter after a simulated run.

Kafka and Redis are the session's; the worker, the exporter and the simulator
run as child processes; Prometheus (the Debian binary) scrapes the exporter
every second and evaluates deploy/prometheus's recording rules. A few
scripted records add what a short healthy run never shows but the pipeline
panels must: promises resolved in every direction and status, a late and an
orphaned event, a key mismatch, provider records skipped and dead-lettered,
and more agents than the label cap.

Each query of the checked-in JSON (what Grafana loads) is run the way its
panel runs it (instant or range), with the template variables substituted
twice: as the dashboard opens (All) and with the tenant, campaign and channel
whose control arm has most paid messages, checked against the variables' own
label_values queries. Each must parse
(API status success) and return at least one finite value.

The same run then feeds the checks that need only some simulated run
(tests/support/run_checks.py): every recording rule has a sample without an
evaluation error, and ``promtool check metrics`` finds no problem in the
exporter's output, whose families the KPI table all documents.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from collectpulse.dashboards.boards.gateway_row import GATEWAY_JOB
from collectpulse.dashboards.boards.pipeline import SCRAPE_JOB
from collectpulse.events.models import Topic
from collectpulse.settings import Settings
from collectpulse.simulate.scenario import CONTROL, DEFAULT_SCENARIO
from collectpulse.stream.normalise import raw_topic
from tests.support import events as ev
from tests.support.kafka import create_topics, publish
from tests.support.processes import collectpulse_process, free_port
from tests.support.prometheus import (  # noqa: F401 (prometheus_factory is a fixture)
    PrometheusFactory,
    PrometheusServer,
    prometheus_factory,
)
from tests.support.run_checks import check_exposition, check_recording_rules
from tests.unit.providers.provider_samples import ses_event

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy/grafana/dashboards"
RULES = sorted((ROOT / "deploy/prometheus/rules").glob("*.yml"))

SIMULATE_S = 30
SIMULATE_TIMEOUT_S = 45.0
DATA_TIMEOUT_S = 40.0
RATE_INTERVAL = "10s"
PAYMENT_GAP_S = 3.0
"""Between the scripted payments: more than a scrape interval, so each is its own sample."""
LABEL_CAP = 20
# Fast enough that opens, payments and promises happen within the run.
DELAY_SCALE = "0.0001"
SERVICE_ENV = {
    "COLLECTPULSE_EXPERIMENT_MIN_SAMPLE": "10",
    "COLLECTPULSE_LABEL_CAP": str(LABEL_CAP),
    "COLLECTPULSE_ORPHAN_WAIT": "5s",
}
# The Gateway row: Postmark accepted unsigned (development mode), Mailgun signed, so an
# unsigned Mailgun request is a verification failure.
GATEWAY_ENV = {
    "COLLECTPULSE_GATEWAY_UNSIGNED_PROVIDERS": "postmark",
    "COLLECTPULSE_GATEWAY_MAILGUN_SIGNING_KEY": "dashboards-test-key",
}
NOT_YET_EXPORTED: frozenset[str] = frozenset()
"""Defined in the KPI table (docs/KPIS.md) but not served on /metrics yet: their panels
must stay empty here, so this list fails the test once the exporter serves them."""
_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.*),\s*(?P<label>\w+)\)$")
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))")


def post_webhooks(base: str) -> None:
    """An accepted and a refused webhook, so every Gateway panel has series."""
    deadline = time.monotonic() + 60
    while httpx.get(f"{base}/readyz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "the gateway never got ready"
        time.sleep(0.3)
    accepted = httpx.post(
        f"{base}/webhooks/postmark",
        content=orjson.dumps({"RecordType": "Delivery", "MessageID": "dash-1"}),
        headers={"Content-Type": "application/json"},
    )
    assert accepted.status_code == 200, accepted.text
    refused = httpx.post(
        f"{base}/webhooks/mailgun", content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 401, refused.text


@dataclass(frozen=True)
class Target:
    """One panel query as the checked-in JSON has it."""

    board: str
    panel: str
    expr: str
    instant: bool

    def __str__(self) -> str:
        return f"{self.board} / {self.panel}: {self.expr}"

    @property
    def not_yet_exported(self) -> bool:
        return any(name in self.expr for name in NOT_YET_EXPORTED)


def load_boards() -> dict[str, dict[str, Any]]:
    boards = {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}
    assert len(boards) >= 8, f"expected the eight dashboards in {DASHBOARDS}, found {list(boards)}"
    return boards


def targets(boards: Mapping[str, dict[str, Any]]) -> list[Target]:
    found = []
    for name, board in boards.items():
        for panel in board["panels"]:
            for target in panel.get("targets", ()):
                found.append(Target(name, panel["title"], target["expr"], target["instant"]))
    return found


def variables(boards: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Variable name -> its definition (the boards share one definition per name)."""
    out: dict[str, dict[str, Any]] = {}
    for board in boards.values():
        for variable in board["templating"]["list"]:
            if variable["type"] != "datasource":
                assert out.get(variable["name"], variable) == variable, variable["name"]
                out[variable["name"]] = variable
    return out


# --- scripted records ------------------------------------------------------------------


def _keyed(key: str, payload: dict[str, Any]) -> tuple[bytes, bytes]:
    return key.encode(), orjson.dumps(payload)


def scripted_records(settings: Settings, now: float) -> dict[str, list[tuple[bytes, bytes]]]:
    """Topic -> records for what a short simulated run does not produce by itself."""
    by_topic: dict[str, list[tuple[bytes, bytes]]] = {}

    def put(topic: str, key: str, payload: dict[str, Any]) -> None:
        by_topic.setdefault(topic, []).append(_keyed(key, payload))

    for tenant in (t.name for t in DEFAULT_SCENARIO.tenants):
        for direction in ("inbound", "outbound", "self_service"):
            customer = f"script-{tenant}-{direction}"
            for outcome in ("kept", "broken", "cancelled"):
                # one promise per outcome, made by an agent: the outcome is credited to it
                promise = {"tenant": tenant, "promise_id": f"{customer}-{outcome}"}
                for status in ("made", outcome):
                    body = {**ev.promise(customer, now, status, direction), **promise}
                    body["agent_id"] = "script-agent-0"
                    put(settings.topic(Topic.PROMISE.value), customer, body)
        # an account placed, closed and re-opened: an exit and a re-entry (K20)
        account = f"script-acct-{tenant}"
        for version, status in enumerate(("open", "closed", "open"), start=1):
            body = {
                "event_id": f"{account}-v{version}",
                "occurred_at": ev.iso(now),
                "account_id": account,
                "customer_id": account,
                "change": "placed" if version == 1 else "status",
                "version": version,
                "balance_minor": 5000,
                "delta_minor": 5000 if version == 1 else 0,
                "currency": "EUR",
                "due_date": "2026-11-01",
                "status": status,
                "team": "early",
                "tenant": tenant,
            }
            put(settings.topic(Topic.ACCOUNT.value), account, body)
        for n in range(LABEL_CAP + 5):  # more agents than the cap: label overflows
            customer = f"script-payer-{tenant}-{n}"
            body = {
                **ev.payment(customer, now, "succeeded", 1000 + n),
                "tenant": tenant,
                "agent_id": f"script-agent-{n}",
            }
            put(settings.topic(Topic.PAYMENT.value), customer, body)
        # a daily target far above what the script's agent makes: agents below target (K24)
        target = {"event_id": f"script-target-{tenant}", "occurred_at": ev.iso(now)}
        target |= {"tenant": tenant, "scope": "agent", "scope_id": "script-agent-0"}
        target |= {"metric": "promises_made", "period": "day", "value": 1e9}
        target["valid_from"] = "2026-01-01"
        put(settings.topic("target"), f"agent:script-agent-0:{tenant}", target)
    month_ago = now - 30 * 86400  # past every window and the attribution horizon: late
    late = ev.sent("script-late", month_ago, campaign="script-late")
    put(settings.topic(Topic.DELIVERY.value), "script-late", late)
    # An open whose sent never comes: an orphan after the orphan wait.
    put(settings.topic(Topic.OPEN.value), "script-orphan", ev.opened("script-orphan", now))
    # Keyed by something other than the visitor id: a key mismatch.
    put(settings.topic(Topic.PAGEVIEW.value), "not-the-visitor", ev.pageview("script-vis", now))
    complaint = ses_event("Complaint", {"complainedRecipients": [], "timestamp": ev.iso(now)})
    put(raw_topic(settings, "ses"), "script-ses", complaint)
    by_topic[raw_topic(settings, "ses")].append((b"script-ses-poison", b"{not json"))
    return by_topic


def scripted_experiments(settings: Settings, now: float) -> dict[str, list[tuple[bytes, bytes]]]:
    """A customer-level experiment on every simulated campaign (control against its first
    other variant), its customers exposed 8 days ago: matured, past the guards (12 per arm,
    6 payers each), so every experiment panel has data whichever campaign is picked."""
    by_topic: dict[str, list[tuple[bytes, bytes]]] = {}
    exposed = now - 8 * 86400
    for campaign in DEFAULT_SCENARIO.campaigns:
        arms = (CONTROL, next(v.name for v in campaign.variants if v.name != CONTROL))
        config = {
            "event_id": f"script-exp-{campaign.name}",
            "occurred_at": ev.iso(now),
            "campaign": campaign.name,
            "variants": dict.fromkeys(arms, 0.5),
            "control": CONTROL,
            "started_at": ev.iso(exposed - 3600),
        }
        by_topic.setdefault(settings.topic("experiment"), []).append(_keyed(campaign.name, config))
        for arm in arms:
            for n in range(12):
                customer, mid = (
                    f"script-x-{campaign.name}-{arm}-{n}",
                    f"script-xm-{campaign.name}-{arm}-{n}",
                )
                sent = ev.sent(
                    mid,
                    exposed,
                    campaign=campaign.name,
                    variant=arm,
                    channel=campaign.channel,
                    customer_id=customer,
                )
                delivered = ev.delivered(mid, exposed + 60, channel=campaign.channel)
                messages = by_topic.setdefault(settings.topic(Topic.DELIVERY.value), [])
                messages += [
                    _keyed(mid, {**sent, "tenant": campaign.tenant}),
                    _keyed(mid, delivered),
                ]
                if n % 2:
                    paid = {
                        **ev.payment(customer, exposed + 3600, "succeeded", 1000),
                        "tenant": campaign.tenant,
                    }
                    by_topic.setdefault(settings.topic(Topic.PAYMENT.value), []).append(
                        _keyed(customer, paid)
                    )
    return by_topic


PAID_MESSAGES = ("script-paid-1", "script-paid-2")
PAID_CUSTOMER = "script-paid-customer"


def scripted_journeys(settings: Settings, now: float) -> dict[str, list[tuple[bytes, bytes]]]:
    """Two messages of one campaign sent, delivered and opened; paid by ``scripted_payment``.

    The simulator's compressed journeys pay within milliseconds of the delivery, so on
    a loaded machine a payment can overtake the delivery's customer touch (which
    crosses the repartition topic) and stay unattributed. These payments are published
    after the simulator run, a few seconds apart: the second increments a histogram
    series the first created, so ``increase()`` has something to show.
    """
    delivery: list[tuple[bytes, bytes]] = []
    opens: list[tuple[bytes, bytes]] = []
    for mid in PAID_MESSAGES:
        sent = ev.sent(mid, now - 120, customer_id=PAID_CUSTOMER, campaign="script-paid")
        delivery += [_keyed(mid, sent), _keyed(mid, ev.delivered(mid, now - 110))]
        opens.append(_keyed(mid, ev.opened(mid, now - 100)))
    return {settings.topic(Topic.DELIVERY.value): delivery, settings.topic(Topic.OPEN.value): opens}


def scripted_payment(
    settings: Settings, message_id: str, now: float
) -> dict[str, list[tuple[bytes, bytes]]]:
    body = {**ev.payment(PAID_CUSTOMER, now, "succeeded", 5000), "message_id": message_id}
    return {settings.topic(Topic.PAYMENT.value): [_keyed(PAID_CUSTOMER, body)]}


async def publish_script(
    settings: Settings, records: Mapping[str, list[tuple[bytes, bytes]]]
) -> None:
    for topic, batch in records.items():
        await publish(settings, topic, batch)


# --- running the queries ---------------------------------------------------------------


def substitute(expr: str, values: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return _VARIABLE.sub(value, expr)


def label_values(prom: PrometheusServer, query: str, values: Mapping[str, str]) -> list[str]:
    """Run a ``label_values(selector, label)`` variable query as Grafana does."""
    match = _LABEL_VALUES.match(query)
    assert match, f"not a label_values query: {query}"
    selector = substitute(match["selector"], values)
    found: list[str] = prom.api(f"label/{match['label']}/values", **{"match[]": selector})
    return found


def finite_values(prom: PrometheusServer, target: Target, expr: str, start: float) -> list[float]:
    """Evaluate as the panel does; raises PrometheusError when the query does not parse."""
    if target.instant:
        samples = prom.api("query", query=expr)["result"]
        points = [float(sample["value"][1]) for sample in samples]
    else:
        end = time.time()
        data = prom.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step="2")
        points = [float(v) for series in data["result"] for _, v in series["values"]]
    return [p for p in points if math.isfinite(p)]


def empty_targets(
    prom: PrometheusServer, all_targets: list[Target], values: Mapping[str, str], start: float
) -> list[Target]:
    """Targets without a finite value; ``$__range`` is the whole run, as Grafana's time range."""
    now_values = {**values, "__range": f"{math.ceil(time.time() - start)}s"}
    return [
        target
        for target in all_targets
        if not finite_values(prom, target, substitute(target.expr, now_values), start)
    ]


def wait_for_data(
    prom: PrometheusServer, all_targets: list[Target], values: Mapping[str, str], start: float
) -> list[Target]:
    """Poll until every query that should has data; return the empty ones at the deadline."""
    deadline = time.monotonic() + DATA_TIMEOUT_S  # per pass
    while True:
        empty = empty_targets(prom, all_targets, values, start)
        if all(t.not_yet_exported for t in empty) or time.monotonic() > deadline:
            return empty
        time.sleep(2)


def check_empty(empty: list[Target], all_targets: list[Target], when: str) -> None:
    unexpected = [str(t) for t in empty if not t.not_yet_exported]
    assert not unexpected, f"queries without data {when}:\n" + "\n".join(unexpected)
    now_served = [str(t) for t in all_targets if t.not_yet_exported and t not in empty]
    assert not now_served, "served now, remove from NOT_YET_EXPORTED:\n" + "\n".join(now_served)


def as_opened(defs: Mapping[str, dict[str, Any]], prom: PrometheusServer) -> dict[str, str]:
    """Variable values as the dashboards open: the default window, All elsewhere."""
    values = {}
    for name, variable in defs.items():
        current = variable.get("current", {}).get("value", "")
        values[name] = variable["allValue"] if current == "$__all" else current
    options = label_values(prom, defs["window"]["query"], values)
    assert values["window"] in options, f"default window {values['window']} not in {options}"
    return values


def busiest(
    defs: Mapping[str, dict[str, Any]], prom: PrometheusServer, opened: Mapping[str, str]
) -> dict[str, str]:
    """The tenant, campaign and channel whose control arm has most paid messages (so the
    experiment panels have a lift to show), checked against the variables' options.

    Only channels whose simulated messages are opened qualify: an SMS campaign has no
    opens, so its open panels are rightly empty (and SMS and e-mail campaigns often tie).
    """
    opening = "|".join(c for c, b in DEFAULT_SCENARIO.channels.items() if b.open > 0)
    expr = (
        "topk(1, sum by (tenant, campaign, channel) (collectpulse_windowed_messages_paid"
        f'{{variant="{CONTROL}",window="{opened["window"]}",channel=~"{opening}"}}))'
    )
    top = prom.api("query", query=expr)["result"]
    assert top, "no message was paid in the window"
    picked = {**opened, **{k: top[0]["metric"][k] for k in ("tenant", "campaign", "channel")}}
    for name in ("tenant", "campaign"):
        options = label_values(prom, defs[name]["query"], picked)
        assert picked[name] in options, f"{name} {picked[name]} not offered: {options}"
    channels = defs["channel"]["query"].split(",")
    assert picked["channel"] in channels, f"channel {picked['channel']} not in {channels}"
    return picked


# --- the test --------------------------------------------------------------------------


@pytest.fixture
def boards() -> dict[str, dict[str, Any]]:
    return load_boards()


SIMULATE_ARGS = (
    *("simulate", "--rate", "400", "--duration", str(SIMULATE_S), "--delay-scale", DELAY_SCALE),
    *("--poison", "0.01", "--duplicates", "0.02", "--out-of-order", "0.02", "--seed", "20261123"),
)


@pytest.mark.timeout(210)  # every wait is bounded: < 3.5 minutes in all
def test_every_panel_query_parses_and_returns_data_and_the_run_passes_promtool(
    settings: Settings,
    tmp_path: Path,
    boards: dict[str, dict[str, Any]],
    prometheus_factory: PrometheusFactory,  # noqa: F811
) -> None:
    all_targets = targets(boards)
    defs = variables(boards)
    port, gateway_port = free_port(), free_port()
    raw = [raw_topic(settings, "ses"), raw_topic(settings, "postmark"), settings.topic("target")]
    asyncio.run(create_topics(settings, extra=raw))
    with (
        collectpulse_process(
            settings, "worker", "-l", "warn", log=tmp_path / "worker.log", **SERVICE_ENV
        ),
        collectpulse_process(
            settings,
            "exporter",
            log=tmp_path / "exporter.log",
            COLLECTPULSE_HTTP_PORT=str(port),
            **SERVICE_ENV,
        ),
        collectpulse_process(
            settings,
            "gateway",
            log=tmp_path / "gateway.log",
            **GATEWAY_ENV,
            COLLECTPULSE_GATEWAY_PORT=str(gateway_port),
        ),
    ):
        prom = prometheus_factory(
            {SCRAPE_JOB: [f"127.0.0.1:{port}"], GATEWAY_JOB: [f"127.0.0.1:{gateway_port}"]},
            rule_files=RULES,
        )
        prom.wait_for_targets_up()
        start = time.time()
        post_webhooks(f"http://127.0.0.1:{gateway_port}")
        asyncio.run(publish_script(settings, scripted_records(settings, start)))
        asyncio.run(publish_script(settings, scripted_journeys(settings, start)))
        asyncio.run(publish_script(settings, scripted_experiments(settings, start)))
        with collectpulse_process(settings, *SIMULATE_ARGS, log=tmp_path / "sim.log") as simulator:
            code = simulator.wait(timeout=SIMULATE_TIMEOUT_S)
        assert code == 0, (tmp_path / "sim.log").read_text()
        for mid in PAID_MESSAGES:
            asyncio.run(publish_script(settings, scripted_payment(settings, mid, time.time())))
            time.sleep(PAYMENT_GAP_S)
        assert not prom.rule_errors(), prom.rule_errors()

        opened = as_opened(defs, prom)
        opened["__rate_interval"] = RATE_INTERVAL
        check_empty(wait_for_data(prom, all_targets, opened, start), all_targets, "(All)")

        picked = busiest(defs, prom, opened)
        check_empty(wait_for_data(prom, all_targets, picked, start), all_targets, str(picked))
        # the same run serves the checks that once had a run each
        check_recording_rules(prom)
        check_exposition(f"http://127.0.0.1:{port}/metrics")
