"""Customer-level, anytime-valid experiments on the real pipeline, against an oracle from the log.

A real worker applies a known log (deliveries backdated within retention, payments
before and after their deliveries, crossovers, customers not yet matured, exposures
before the start) and a real exporter serves /metrics. The expected counts and
statistics are computed here from the published events and the catalog's formulas
(section 10), never with collectpulse code. The experiment's configuration goes out
last, so the exporter's first evaluation sees the final counts; then more control
payers arrive, and the running-minimum p-value stays where the first evaluation put
it, in the exporter process and in a second reader alike.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from collectpulse.events.models import Topic
from collectpulse.settings import Settings
from collectpulse.store.client import store_client
from collectpulse.store.reader import StoreReader
from tests.integration.kpi_value_run import drained
from tests.support import events as ev
from tests.support.kafka import create_topics, publish, read_all
from tests.support.metrics import Samples, value, wait_for
from tests.support.pipeline import run_pipeline

HOUR = 3600
DAY = 86_400
HORIZON = 7 * DAY
CAMPAIGN = "tone"
ALPHA = 0.05
TUNING_N = 100
Record = tuple[str, str, dict[str, Any]]
"""(topic without prefix, key, body)."""


@dataclass
class Log:
    """The published events, in publishing order, and what the oracle reads from them."""

    now: int
    records: list[Record] = field(default_factory=list)

    def message(
        self, mid: str, customer: str, variant: str, at_s: int, segment: str = "std"
    ) -> None:
        sent = ev.sent(mid, at_s - 60, campaign=CAMPAIGN, variant=variant, customer_id=customer)
        sent["segment"] = segment
        self.records.append((Topic.DELIVERY, mid, sent))
        self.records.append((Topic.DELIVERY, mid, ev.delivered(mid, at_s)))

    def pay(self, customer: str, at_s: int, status: str = "succeeded") -> None:
        self.records.append((Topic.PAYMENT, customer, ev.payment(customer, at_s, status, 1000)))


def oracle(
    records: list[Record], now: int, started_s: int, segment: str | None = None
) -> dict[str, dict[str, int]]:
    """Per arm: exposed, matured, converted customers; and the crossovers (section 10).
    With ``segment``: only the customers whose exposing message (the earliest delivered;
    ties: the smaller segment) is of that segment (K23)."""
    owner: dict[str, tuple[str, str, str]] = {}
    delivered: dict[str, int] = {}
    paid: dict[str, list[int]] = defaultdict(list)
    for topic, _, body in records:
        at = int(datetime.fromisoformat(body["occurred_at"]).timestamp())
        if topic == Topic.DELIVERY and body["status"] == "sent":
            owner[body["message_id"]] = (body["customer_id"], body["variant"], body["segment"])
        elif topic == Topic.DELIVERY:
            delivered[body["message_id"]] = min(at, delivered.get(body["message_id"], at))
        elif topic == Topic.PAYMENT and body["status"] == "succeeded":
            paid[body["customer_id"]].append(at)
    exposure: dict[str, tuple[int, str]] = {}
    arms: dict[str, set[str]] = defaultdict(set)
    for mid, at in delivered.items():
        customer, variant, seg = owner[mid]
        exposure[customer] = min((at, seg), exposure.get(customer, (at, seg)))
        arms[customer].add(variant)
    first_bucket = math.ceil(started_s / HOUR) * HOUR  # counted from the start's hour on
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for customer, (at, seg) in exposure.items():
        bucket = at - at % HOUR
        if bucket < first_bucket or segment not in (None, seg):
            continue
        if len(arms[customer]) > 1:
            out["crossover"]["customers"] += 1
            continue
        (arm,) = arms[customer]
        out[arm]["exposed"] += 1
        if bucket + HOUR + HORIZON <= now:
            out[arm]["matured"] += 1
            if any(at <= p <= at + HORIZON for p in paid[customer]):
                out[arm]["converted"] += 1
    return out


def statistics(control: tuple[int, int], variant: tuple[int, int]) -> dict[str, float]:
    """The catalog's asymptotic confidence sequence; (successes, units) per arm."""
    (xa, na), (xb, nb) = control, variant
    pa, pb = xa / na, xb / nb
    se = math.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
    rho2 = (-2 * math.log(ALPHA) + math.log(1 - 2 * math.log(ALPHA))) / TUNING_N
    a = (na + nb) * rho2
    z = (pb - pa) / se
    e_value = (a + 1) ** -0.5 * math.exp(a * z * z / (2 * (a + 1)))
    half = se * math.sqrt((a + 1) / a * math.log((a + 1) / ALPHA**2))
    return {"p": min(1.0, 1 / e_value), "lower": pb - pa - half, "upper": pb - pa + half}


def build(now: int) -> tuple[Log, Log, Log, Log]:
    """The phases, each applied (touches too) before the next is published: payments
    that come before their deliveries, and crossovers; the deliveries; the payments
    after them; later control payers (after the first evaluation)."""
    early, messages, payments, extra = Log(now), Log(now), Log(now), Log(now)
    base = now - 11 * DAY
    for i in range(40):
        # two segments of 20 customers per arm, each above the guards (5 payers, 5 not)
        segment = "vip" if i < 20 else "std"
        for arm, converts in (("control", i % 4 == 0), ("social", i % 4 != 3)):
            customer, at = f"{arm}-{i}", base + i * 600
            messages.message(f"m-{customer}", customer, arm, at, segment)
            if converts and i % 8 == 0:
                early.pay(customer, at + HOUR)  # applied before its delivery arrives
            elif converts:
                payments.pay(customer, at + 6 * DAY)
            elif arm == "control" and i % 4 == 1:
                early.pay(customer, at - HOUR)  # before exposure: no outcome
                payments.pay(customer, at + DAY, "failed")
            elif arm == "social":
                payments.pay(customer, at + HORIZON + HOUR)  # after the horizon
                if i % 8 == 3:  # a later message of the same arm does not move exposure
                    # ... nor its segment
                    messages.message(f"m2-{customer}", customer, arm, at + 2 * DAY, "other")
    for i in range(5):  # crossovers: both arms delivered, paid, counted nowhere
        customer, at = f"cross-{i}", base + i * 900
        early.message(f"mc-{customer}", customer, "control", at, "vip")
        messages.message(f"ms-{customer}", customer, "social", at + 2 * HOUR)  # std: later
        payments.pay(customer, at + DAY)
    for i in range(6):  # exposed two days ago: in the SRM counts, not matured
        for arm in ("control", "social"):
            customer = f"young-{arm}-{i}"
            messages.message(f"m-{customer}", customer, arm, now - 2 * DAY + i * 60, "vip")
            payments.pay(customer, now - DAY)
    for i in range(3):  # first delivered before the start: not part of the experiment
        customer = f"early-{i}"
        messages.message(f"m-{customer}", customer, "control", now - 13 * DAY + i * 60)
    for i in range(30):  # more control payers weaken the effect
        customer, at = f"late-control-{i}", now - 10 * DAY + i * 600
        extra.message(f"m-{customer}", customer, "control", at)
        extra.pay(customer, at + 2 * HOUR)
    return early, messages, payments, extra


def config(now: int, event_id: str, **change: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "occurred_at": ev.iso(now - 60),
        "campaign": CAMPAIGN,
        "variants": {"control": 0.5, "social": 0.5},
        "control": "control",
        "started_at": ev.iso(now - 12 * DAY),
        "alpha": ALPHA,
        "tuning_n": TUNING_N,
        **change,
    }


@pytest.fixture
def experiment_settings(local_stack: tuple[str, str], tmp_path: Path) -> Settings:
    run = uuid.uuid4().hex[:10]
    return Settings(
        kafka_bootstrap_servers=local_stack[0],
        redis_url=local_stack[1],
        topic_prefix=f"x{run}.",
        key_prefix=f"x{run}",
        consumer_group=f"collectpulse-test-{run}",
        data_dir=tmp_path / "worker",
        topic_partitions=4,
        experiment_min_sample=20,
    )


async def send(settings: Settings, log: Log) -> None:
    by_topic: dict[str, list[tuple[bytes | None, bytes]]] = defaultdict(list)
    for topic, key, body in log.records:
        by_topic[topic].append((key.encode(), orjson.dumps(body)))
    for topic, messages in by_topic.items():
        await publish(settings, settings.topic(topic), messages)


def arm_value(samples: Samples, name: str, arm: str) -> float | None:
    return value(samples, name, campaign=CAMPAIGN, arm=arm, control="control", tenant="")


def segment_value(
    samples: Samples, name: str, segment: str, arm: str | None = None
) -> float | None:
    """A per-segment sample: of ``arm``, else of the social variant against control."""
    who = {"arm": arm} if arm is not None else {"variant": "social"}
    return value(
        samples, name, campaign=CAMPAIGN, control="control", segment=segment, tenant="", **who
    )


def versus(samples: Samples, name: str) -> float | None:
    return value(samples, name, campaign=CAMPAIGN, variant="social", control="control", tenant="")


async def test_customer_level_experiment_counts_and_running_minimum(
    experiment_settings: Settings, tmp_path: Path
) -> None:
    settings = experiment_settings
    now = int(time.time())
    early, messages, payments, extra = build(now)
    experiment_topic = settings.topic("experiment")
    await create_topics(settings, extra=[experiment_topic])
    with run_pipeline(settings, tmp_path) as pipe:
        url, procs = pipe.url("/metrics"), pipe.processes
        published = 0
        for phase in (early, messages, payments):
            await send(settings, phase)
            published += len(phase.records)
            # received, and applied to the end of every topic, the touch topic's too
            await drained(settings, url, published, procs)
        logged = early.records + messages.records + payments.records
        expected = oracle(logged, now, now - 12 * DAY)
        assert expected["crossover"]["customers"] == 5
        assert expected["control"]["matured"] == expected["social"]["matured"] == 40
        assert (expected["control"]["converted"], expected["social"]["converted"]) == (10, 30)

        # the configuration last: a bad one first (DLQ), then the valid one, then a bad
        # one for the same campaign, which must not replace it
        bad_split = config(now, "cfg-bad", campaign="broken", variants={"a": 0.5, "b": 0.4})
        await publish(
            settings,
            experiment_topic,
            [
                (b"broken", orjson.dumps({**bad_split, "control": "a"})),
                (CAMPAIGN.encode(), orjson.dumps(config(now, "cfg-1"))),
                (CAMPAIGN.encode(), orjson.dumps(config(now, "cfg-2", control="nobody"))),
            ],
        )

        def evaluated(s: Samples) -> bool:
            units = arm_value(s, "collectpulse_experiment_units", "control")
            return units == expected["control"]["matured"] and units is not None

        # the touches cross the repartition topic after the events are received
        samples = await wait_for(url, evaluated, timeout_s=60, processes=procs)
        for arm in ("control", "social"):
            assert arm_value(samples, "collectpulse_experiment_units", arm) == 40
            assert (
                arm_value(samples, "collectpulse_experiment_conversions", arm)
                == (expected[arm]["converted"])
            )
            assert (
                arm_value(samples, "collectpulse_experiment_exposed_units", arm)
                == (expected[arm]["exposed"])
            )
        crossovers = value(
            samples,
            "collectpulse_experiment_crossover_customers",
            campaign=CAMPAIGN,
            control="control",
            tenant="",
        )
        assert crossovers == 5
        stats = statistics((10, 40), (30, 40))
        assert versus(samples, "collectpulse_experiment_av_p_value") == pytest.approx(
            stats["p"], rel=1e-9
        )
        assert stats["p"] <= ALPHA
        assert versus(samples, "collectpulse_experiment_diff_lower") == pytest.approx(
            stats["lower"], rel=1e-9
        )
        assert versus(samples, "collectpulse_experiment_diff_upper") == pytest.approx(
            stats["upper"], rel=1e-9
        )
        verdict = {
            v: value(
                samples,
                "collectpulse_experiment_verdict",
                campaign=CAMPAIGN,
                variant="social",
                control="control",
                tenant="",
                verdict=v,
            )
            for v in ("collecting", "significant", "inconclusive", "srm")
        }
        assert verdict == {"collecting": 0, "significant": 1, "inconclusive": 0, "srm": 0}
        split = {"campaign": CAMPAIGN, "control": "control", "tenant": ""}
        assert value(samples, "collectpulse_experiment_srm_flag", **split) == 0
        assert value(samples, "collectpulse_experiment_srm_p_value", **split) == 1.0  # 46 / 46
        assert not [key for key in samples if ("campaign", "broken") in key[1]]
        dead = await read_all(settings, settings.topic("dlq"), expect=2)
        assert sorted(h["cp-error-class"] for _, _, h in dead) == [
            b"unknown_control",
            b"weights_sum",
        ]
        assert {h["cp-source-topic"] for _, _, h in dead} == {experiment_topic.encode()}

        # K23: the same by the exposing message's segment, descriptive (no verdict)
        by_segment = {seg: oracle(logged, now, now - 12 * DAY, seg) for seg in ("vip", "std")}
        assert by_segment["vip"]["crossover"]["customers"] == 5
        assert [by_segment[seg]["social"]["converted"] for seg in ("vip", "std")] == [15, 15]
        for seg, want in by_segment.items():
            for arm in ("control", "social"):
                got = {
                    kind: segment_value(
                        samples, f"collectpulse_experiment_segment_{name}", seg, arm
                    )
                    for kind, name in (
                        ("exposed", "exposed_units"),
                        ("matured", "units"),
                        ("converted", "conversions"),
                    )
                }
                assert got == {k: want[arm][k] for k in got}, (seg, arm)
            crossed = value(
                samples,
                "collectpulse_experiment_segment_crossover_customers",
                **split,
                segment=seg,
            )
            assert crossed == want["crossover"]["customers"], seg
            seg_stats = statistics((5, 20), (15, 20))
            for name, key in (
                ("av_p_value", "p"),
                ("diff_lower", "lower"),
                ("diff_upper", "upper"),
            ):
                got_value = segment_value(samples, f"collectpulse_experiment_segment_{name}", seg)
                assert got_value == pytest.approx(seg_stats[key], rel=1e-9), (seg, name)
        assert not [
            k
            for k in samples
            if k[0] == "collectpulse_experiment_verdict" and ("segment", "vip") in k[1]
        ]

        # more control payers: the current p-value rises, the reported one does not
        await send(settings, extra)
        await drained(settings, url, published + len(extra.records), procs)

        def grown(s: Samples) -> bool:
            return arm_value(s, "collectpulse_experiment_units", "control") == 70

        samples = await wait_for(url, grown, timeout_s=60, processes=procs)
        assert grown(samples)
        later = statistics((40, 70), (30, 40))
        assert later["p"] > stats["p"]  # the test is only meaningful if it rose
        reported = versus(samples, "collectpulse_experiment_av_p_value")
        assert reported is not None and reported <= stats["p"] * (1 + 1e-9)
        assert versus(samples, "collectpulse_experiment_diff_lower") == pytest.approx(
            later["lower"], rel=1e-9
        )
        # a second exporter (a reader of its own) reports the same stored minimum
        client = store_client(settings)
        try:
            view = await StoreReader(client, settings).read()
        finally:
            await client.aclose()
        (result,) = view.experiments
        (comparison,) = result.comparisons
        assert comparison.p_value == reported
        assert result.arms["control"].matured == 70
        # the std segment got the late control payers: its own minimum stays put too
        std = next(seg for seg in result.segments if seg.segment == "std")
        assert std.arms["control"].matured == 50
        assert statistics((35, 50), (15, 20))["p"] > seg_stats["p"]
        (std_comparison,) = std.comparisons
        assert std_comparison.p_value is not None
        assert std_comparison.p_value <= seg_stats["p"] * (1 + 1e-9)
        assert segment_value(samples, "collectpulse_experiment_segment_av_p_value", "std") == (
            pytest.approx(std_comparison.p_value, rel=1e-9)
        )
