"""collectpulse beside the engines a user would pick instead: same records, same broker.

Publishes the simulator's records (bench/pipeline.py's `generate`, same seed) to the
product's seven topics under a run prefix, computes what a correct KPI job must
count (per kind, after dedupe on `event_id`, each kind once per message, joined to
its `sent`), then runs, alternating the order each round:

- collectpulse end to end (bench/pipeline.py: one worker, its own copy of the same
  records, timed from the first to the last effect in Redis);
- bare aiokafka, bare Quix Streams and stock Faust (bench/consumers.py children,
  over all seven topics, timed after a 10 % warm-up);
- Quix Streams doing the same job (bench/peers/quix_same_job.py) and Kafka Streams
  doing the same job (bench/peers/kstreams, exactly_once_v2), over the four message
  topics, timed from their first input record to the moment their windowed counts
  equal the expected totals; a run whose totals differ does not count.

Then bench/scrape.py --combos 1000, and the record: docs/bench/latest.json, a line
of docs/bench/history.jsonl, docs/bench/rates.png and the history table in
docs/BENCHMARKS.md (bench/peers_record.py)::

    .venv-bench/bin/python bench/peers.py          # 1M events (Quix same job, stock Faust: 200k)
    .venv-bench/bin/python bench/peers.py --quick  # everything on 200,000

(``make bench`` creates ``.venv-bench`` with the bench extras: quixstreams, matplotlib.)
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka.admin import AIOKafkaAdminClient
from consumers import Measured, Run, run_once  # bench/, beside this script
from peers_record import write_record
from pipeline import Figures, create_topics, generate, publish
from pipeline import arguments as pipeline_arguments
from pipeline import run as run_pipeline

from collectpulse.events.models import Topic
from collectpulse.localstack import stack
from collectpulse.localstack.settings import LocalStackSettings
from collectpulse.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
KSTREAMS = BENCH / "peers" / "kstreams"
MESSAGE_TOPICS = ("delivery", "bounce", "open", "click")
SAME_JOB = ("quix_same_job", "kafka_streams_same_job")
BARE = {"bare_aiokafka": "aiokafka", "bare_quix": "quix", "stock_faust": "faust-stock"}


@dataclass
class Dataset:
    """One publication of the simulator's records and what a correct job counts in it."""

    events: int
    prefix: str
    message_events: int
    expected: dict[str, int]

    def topics(self, names: tuple[str, ...] | None = None) -> str:
        return ",".join(self.prefix + t for t in (names or tuple(t.value for t in Topic)))


@dataclass
class Results:
    rates: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cpu_us: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    figures: dict[int, list[Figures]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    per_round: list[dict[str, float]] = field(default_factory=list)  # side-by-side ratios
    events: dict[str, int] = field(default_factory=dict)  # case -> events it ran on
    loads: list[float] = field(default_factory=list)  # 1-minute load average at each case start


def expected_totals(records: list[tuple[str, bytes, bytes]]) -> tuple[int, dict[str, int]]:
    """(records on the message topics, {kind: count}) the same-job peers must arrive at."""
    seen: set[str] = set()
    kinds: dict[bytes, set[str]] = defaultdict(set)
    consumed = 0
    for topic, key, value in records:
        if topic not in MESSAGE_TOPICS:
            continue
        consumed += 1
        event = orjson.loads(value)
        if event["event_id"] in seen:
            continue
        seen.add(event["event_id"])
        kinds[key].add(event["status"] if topic == "delivery" else topic)
    totals: Counter[str] = Counter()
    for each in kinds.values():
        if "sent" in each:  # a message never sent is never joined, by any engine
            totals.update(each)
    return consumed, dict(sorted(totals.items()))


async def publish_dataset(bootstrap: str, redis_url: str, events: int, seed: int) -> Dataset:
    prefix = f"peers{uuid.uuid4().hex[:8]}."
    settings = Settings(
        kafka_bootstrap_servers=bootstrap,
        redis_url=redis_url,
        topic_prefix=prefix,
        topic_partitions=8,
    )
    records = generate(events, seed=seed)
    consumed, expected = expected_totals(records)
    started = time.monotonic()
    await create_topics(settings)
    await publish(settings, records, rate=None)
    print(f"published {events:,} records under {prefix} in {time.monotonic() - started:.0f}s")
    return Dataset(events, prefix, consumed, expected)


async def delete_topics_containing(bootstrap: str, *markers: str) -> None:
    """Remove a run's topics and the engines' internal ones (repartition, changelog)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await asyncio.wait_for(admin.start(), 15)
    try:
        doomed = [t for t in await admin.list_topics() if any(m in t for m in markers)]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


def build_kstreams() -> None:
    """(Re)build the Kafka Streams peer when its class is missing or older than its sources."""
    built = KSTREAMS / "target" / "classes" / "collectpulse" / "bench" / "SameJob.class"
    sources = [KSTREAMS / "pom.xml", *KSTREAMS.glob("src/**/*.java")]
    newest = max(p.stat().st_mtime for p in sources)
    if not built.exists() or built.stat().st_mtime < newest:
        print("building bench/peers/kstreams (mvn -q package) ...")
        subprocess.run(["mvn", "-q", "-B", "package"], cwd=KSTREAMS, check=True, timeout=900)


def same_job_command(name: str, data: Dataset, bootstrap: str, group: str) -> list[str]:
    expected = json.dumps(data.expected)
    if name == "quix_same_job":
        script = BENCH / "peers" / "quix_same_job.py"
        return [sys.executable, str(script), f"--bootstrap={bootstrap}",
                f"--prefix={data.prefix}", f"--group={group}",
                f"--events={data.message_events}", f"--expected={expected}"]  # fmt: skip
    classpath = f"{KSTREAMS / 'target' / 'classes'}:{KSTREAMS / 'target' / 'libs'}/*"
    return ["java", "-Xmx1g", "-cp", classpath, "collectpulse.bench.SameJob",
            f"--bootstrap={bootstrap}", f"--prefix={data.prefix}", f"--app-id={group}",
            f"--events={data.message_events}", f"--expected={expected}",
            f"--state-dir=/tmp/{group}"]  # fmt: skip


def run_same_job(name: str, data: Dataset, bootstrap: str, timeout_s: float) -> dict[str, Any]:
    group = f"peers-{name.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    command = same_job_command(name, data, bootstrap, group)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f}s"}
    finally:
        asyncio.run(delete_topics_containing(bootstrap, group))
        subprocess.run(["rm", "-rf", f"/tmp/{group}"], check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"error": f"exit {done.returncode}: {done.stderr[-1500:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    if result["totals"] != data.expected or done.returncode != 0:
        result["error"] = f"totals {result['totals']} != expected {data.expected}"
    return result


def run_bare(name: str, data: Dataset, bootstrap: str, timeout_s: float) -> Measured | None:
    group = f"peers.{BARE[name]}.{uuid.uuid4().hex[:8]}"
    command = [sys.executable, str(BENCH / "consumers.py"), "child", BARE[name],
               f"--bootstrap={bootstrap}", f"--topic={data.topics()}", "--partitions=8",
               f"--events={data.events}", f"--group={group}", "--loop=asyncio",
               "--batch=5000", f"--warmup={data.events // 10}"]  # fmt: skip
    return run_once(Run(command, group, bootstrap), timeout_s)


def run_case(
    case: str, data: Dataset, args: argparse.Namespace, stack_at: tuple[str, str], out: Results
) -> None:
    bootstrap, redis_url = stack_at
    load = os.getloadavg()[0]
    out.loads.append(round(load, 1))
    label = f"{case} ({data.events:,})"
    key = case
    if case == "collectpulse":
        ns = pipeline_arguments().parse_args(
            [f"--events={data.events}", "--partitions=8", f"--seed={args.seed}",
             "--latency-events=5000", "--latency-rate=5000", "--no-references"]
        )  # fmt: skip
        figures = asyncio.run(run_pipeline(ns, bootstrap, redis_url))
        out.figures[data.events].append(figures)
        key = ours_key(data.events, args.events)
        out.rates[key].append(figures.rate_per_s)
        out.cpu_us[key].append(figures.worker_cpu_us_per_event)
        rate: float | None = figures.rate_per_s
    elif case in SAME_JOB:
        result = run_same_job(case, data, bootstrap, args.timeout)
        if "error" in result:
            out.failures.append(f"{label}: {result['error']}")
            rate = None
        else:
            rate = result["events"] / result["seconds"]
            out.rates[case].append(rate)
            out.cpu_us[case].append(result["cpu_seconds"] / result["events"] * 1e6)
    else:
        measured = run_bare(case, data, bootstrap, args.timeout)
        rate = measured.events_per_s if measured else None
        if measured is None:
            out.failures.append(f"{label}: no result")
        else:
            out.rates[case].append(measured.events_per_s)
            out.cpu_us[case].append(measured.cpu_us_per_event)
    if rate:
        out.per_round[-1][key] = rate
    out.events[key] = data.events
    shown = f"{rate:,.0f} events/s" if rate else "FAILED"
    print(f"  {label:<40} {shown:>18}   (load average {load:.1f} at its start)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--slow-events", type=int, default=200_000,
                        help="events for the slow cases (Quix same job, stock Faust)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="everything on 200,000 events")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=900.0, help="per run, seconds")
    parser.add_argument("--only", nargs="*", help="cases to run (default: all)")
    parser.add_argument("--no-scrape", action="store_true")
    parser.add_argument("--no-record", action="store_true", help="print only, write nothing")
    args = parser.parse_args()
    missing = [m for m in ("quixstreams", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:  # found now, not after 25 minutes of cases
        needs = ", ".join(missing)
        sys.exit(f"bench/peers.py needs {needs}: run `make bench` (it creates .venv-bench)")
    if args.quick:
        args.events = args.slow_events = 200_000
    started_load = os.getloadavg()
    stack_at = stack.start(LocalStackSettings(root=ROOT))
    build_kstreams()

    sizes = sorted({args.events, args.slow_events})
    datasets = {n: asyncio.run(publish_dataset(*stack_at, n, args.seed)) for n in sizes}
    big, small = datasets[args.events], datasets[args.slow_events]
    plan: list[tuple[str, Dataset]] = [
        ("collectpulse", big),
        ("bare_aiokafka", big),
        ("bare_quix", big),
        ("kafka_streams_same_job", big),
        ("quix_same_job", small),
        ("stock_faust", small),
    ]
    if small is not big:
        plan.insert(1, ("collectpulse", small))
    plan = [(c, d) for c, d in plan if not args.only or c in args.only]
    out = Results()
    try:
        for round_no in range(args.rounds):
            print(f"round {round_no + 1} of {args.rounds}", flush=True)
            out.per_round.append({})
            for case, data in plan if round_no % 2 == 0 else reversed(plan):
                run_case(case, data, args, stack_at, out)
    finally:
        prefixes = [d.prefix for d in datasets.values()]
        asyncio.run(delete_topics_containing(stack_at[0], *prefixes))

    scrape = None if args.no_scrape else run_scrape()
    medians = {k: statistics.median(v) for k, v in out.rates.items() if v}
    print(summary(medians, out, args))
    if not args.no_record:
        write_record(
            ROOT, args=args, medians=medians, out=out, scrape=scrape, load=started_load,
            expected={n: d.expected for n, d in datasets.items()},
        )  # fmt: skip


def run_scrape() -> tuple[float, float] | None:
    """Cold p50 and p99 (ms) of bench/scrape.py --combos 1000, every partition written
    before each cold scrape (``--moving 8``), as under a live worker: the exporter's
    per-partition read cache then helps nothing, so the figure is a full fresh read."""
    done = subprocess.run(
        [sys.executable, str(BENCH / "scrape.py"), "--combos", "1000", "--scrapes", "30",
         "--moving", "8"],
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    for line in done.stdout.splitlines():
        words = line.split()
        if line.strip().startswith("cold") and "p50" in words and "p99" in words:
            return float(words[words.index("p50") + 1]), float(words[words.index("p99") + 1])
    print(f"bench/scrape.py gave no cold figures:\n{done.stdout[-800:]}{done.stderr[-800:]}")
    return None


def ours_key(events: int, main_events: int) -> str:
    """The collectpulse case a peer is compared with: the one on as many events."""
    return "collectpulse" if events == main_events else f"collectpulse_{events}"


def summary(medians: dict[str, float], out: Results, args: argparse.Namespace) -> str:
    lines = [f"\nmedians ({args.rounds} rounds, cases alternated; events/s):"]
    for name, rate in medians.items():
        ours = medians.get(ours_key(out.events[name], args.events))
        ratio = f"collectpulse / this = {ours / rate:5.2f}x (same events)" if ours else ""
        runs = ", ".join(f"{r:,.0f}" for r in out.rates[name])
        lines.append(f"  {name:<28} {rate:>10,.0f}   {ratio}   runs: {runs}")
    lines += [f"  FAILED {f}" for f in out.failures]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
