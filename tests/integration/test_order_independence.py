"""Every number is independent of arrival order (issue #15), on the real servers.

One seeded log (tests/order/log.py: every canonical type, raw SES webhooks on
``raw.ses``, upstream duplicates, payments and promises with and without
``message_id``, costs with corrections, four partitions) is published in four orders, each through a
worker of its own: in event time at a steady pace (the live reference), all at
once, topic by topic (account events newest version first, then payments and
promises, then pageviews, then message events) and shuffled with a fixed seed.
After each drain the whole /metrics output, without time, liveness and position
series, must be the same for all four orders and equal to what tests/order/oracle.py
computes from the log (account state in version order: tests/order/accounts.py).
"""

from __future__ import annotations

import asyncio
import functools
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from collectpulse.kpi.allocation import agency_revenue as kpi_agency_revenue
from collectpulse.settings import Settings
from collectpulse.store.allocation_reader import read_allocation
from collectpulse.store.keys import Keys
from tests.order.log import generate
from tests.order.oracle import expected
from tests.order.run import (
    WINDOWS,
    Order,
    as_published,
    comparable,
    differences_between,
    differences_from,
    order_event_time,
    order_shuffled,
    order_topic_by_topic,
    run_order,
    run_settings,
    summary,
)
from tests.support.metrics import Samples

pytestmark = pytest.mark.integration


Revenue = dict[tuple[str, str | None, str], float]


async def agency_revenue(settings: Settings) -> Revenue:
    """The run's allocation hashes as the exporter reads them, through K11's accessor;
    the tenant label "" as the oracle's None."""
    client = Redis.from_url(settings.redis_url.get_secret_value())
    try:
        partitions = range(settings.topic_partitions)
        now_s = time.time()
        totals = await read_allocation(client, Keys(settings.key_prefix), partitions, now_s)
    finally:
        await client.aclose()
    today = datetime.fromtimestamp(now_s, UTC).date()
    got = kpi_agency_revenue(totals, lambda _tenant: today)
    return {(c, t or None, w): v for (c, t, w), v in got.items()}


SEED = 20261204
ORDERS = (
    Order("paced", order_event_time, 400.0),
    Order("at_once", order_event_time, None),
    Order("by_topic", order_topic_by_topic, None),
    Order("shuffled", functools.partial(order_shuffled, seed=SEED), None),
)


async def test_four_orders_give_the_same_metrics_and_the_oracles(
    local_stack: tuple[str, str], tmp_path: Path
) -> None:
    log = generate(SEED, base_s=int(time.time()) - 60)
    assert {e.canonical_topic for e in log} == {
        "delivery", "bounce", "open", "click", "pageview", "payment", "promise", "account",
        "contact", "cost",
    }  # fmt: skip
    assert any(e.topic == "raw.ses" for e in log) and any(e.duplicate for e in log)
    truth = expected(log, WINDOWS)

    async def one(order: Order) -> tuple[Samples, Revenue]:
        settings = run_settings(*local_stack, tmp_path / order.name / "worker")
        records = as_published(order.arrange(log))
        samples = await run_order(
            settings, records, tmp_path / order.name, rate_per_s=order.rate_per_s
        )
        return samples, await agency_revenue(settings)  # K11's input: not on /metrics

    # the four runs side by side (each its own prefix, group and worker): several
    # workers draining one cluster at once is how the product runs anyway
    done = await asyncio.gather(*(one(order) for order in ORDERS))
    runs = {
        order.name: comparable(samples) for order, (samples, _) in zip(ORDERS, done, strict=True)
    }
    report = [
        f"agency revenue of order {order.name}: {revenue} != {truth.agency_revenue}"
        for order, (_, revenue) in zip(ORDERS, done, strict=True)
        if revenue != pytest.approx(truth.agency_revenue)
    ]
    across = differences_between(runs)
    if across:
        report += [f"{len(across)} samples differ between the orders:", *across]
    for name, got in runs.items():
        wrong = differences_from(truth, got)
        if wrong:
            report += [f"{len(wrong)} samples of order {name} differ from the oracle:", *wrong]
    await asyncio.to_thread((tmp_path / "differences.txt").write_text, "\n".join(report))
    assert not report, (
        summary(report)
        + f"\n(every line: {tmp_path / 'differences.txt'})\n"
        + ("\n".join(report[:60]))
    )
    # the log exercised the joins the orders could break
    for name in ("landing_paying_customers", "landing_installment_plans", "messages_paid"):
        assert any(k[0] == f"collectpulse_windowed_{name}" and v for k, v in truth.samples.items())
    for name in ("open_accounts", "receivables_minor", "accounts_per_collector"):
        assert any(k[0] == f"collectpulse_{name}" and v for k, v in truth.samples.items())
    # K4-K6, K19, K20: kept promises in their made bucket, exits and re-entries of the
    # version chain, and the ratios over them (tests/order/agent_ratios.py)
    for name in (
        "promise_cohort_total",
        "account_exits_total",
        "account_reentries_total",
        "outbound_kept_per_rpc_ratio",
        "promise_kept_cohort_ratio",
        "self_service_share_ratio",
        "outbound_attempts_per_account",
    ):
        assert any(k[0] == f"collectpulse_{name}" and v for k, v in truth.samples.items()), name
    # K10 by team and K11's agency revenue: several teams, a non-zero fee
    teams = {dict(k[1])["team"] for k in truth.samples if k[0].endswith("team_handled_accounts")}
    assert len(teams) >= 2 and any(truth.agency_revenue.values()), teams
    kept = {k for k in truth.samples if ("status", "kept") in k[1]}
    assert any(k[0] == "collectpulse_promise_cohort_total" for k in kept)
    # and the contact rules: duplicates by contact id, unidentified inbound callers
    contacts = [e.body for e in log if e.canonical_topic == "contact"]
    assert len({b["event_id"] for b in contacts}) > len({b["contact_id"] for b in contacts})
    assert any(b["customer_id"] is None for b in contacts)
    # K11, K12: a corrected cost (its standing record by occurred_at, not arrival) and the
    # ratios over it, profit per account included (labour covers both windows)
    for name in ("cost_minor", "cost_per_contact", "cost_to_collect_ratio", "profit_per_account"):
        assert any(k[0] == f"collectpulse_{name}" for k in truth.samples), name
