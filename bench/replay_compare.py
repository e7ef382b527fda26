"""Live vs backlog: one simulated log replayed paced and as a backlog gives the same /metrics.

The simulator's seeded log (``bench/pipeline.py``'s ``generate``: event times end
about now) is published twice, each time into its own topic prefix, key prefix and
consumer group with a worker and an exporter of its own: once at a steady pace
while the worker runs (the live reference), once all at once before the worker
starts (a backlog). Each is drained (every record counted, the store's offsets at
the end of every canonical and then the touch topic, two scrapes in a row equal)
and the two /metrics outputs, without time, liveness and position series, are
compared sample by sample. A script, not a test (issue #15):

    PYTHONPATH=$PWD/src:$PWD .venv/bin/python bench/replay_compare.py --events 200000

Servers: its own Kafka and Redis on free ports (stopped at the end), or the ones
COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS / COLLECTPULSE_REDIS_URL name.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from pipeline import generate  # bench/pipeline.py, beside this script
from tests.order.run import comparable, differences_between, run_order, run_settings
from tests.support.local_stack import own_stack_settings

from collectpulse.localstack import stack


async def compare(args: argparse.Namespace, bootstrap: str, redis_url: str, work: Path) -> int:
    began = time.monotonic()
    records = generate(args.events, seed=args.seed)
    print(f"log: {len(records):,} simulated records, seed {args.seed}")
    runs = {}
    for name, rate, backlog in (("paced", args.rate, False), ("backlog", None, True)):
        settings = run_settings(bootstrap, redis_url, work / name / "worker")
        settings = settings.model_copy(update={"topic_partitions": args.partitions})
        start = time.monotonic()
        samples = await run_order(
            settings,
            records,
            work / name,
            rate_per_s=rate,
            backlog=backlog,
            drain_timeout_s=args.timeout,
        )
        runs[name] = comparable(samples)
        pace = f"{rate:,.0f}/s" if rate else "all at once, before the worker started"
        print(f"{name}: published {pace}; drained in {time.monotonic() - start:.0f} s")
    differences = differences_between(runs)
    compared = set(runs["paced"]) | set(runs["backlog"])
    nonzero = sum(1 for key in compared if runs["paced"].get(key) or runs["backlog"].get(key))
    print(f"series compared: {len(compared):,} ({nonzero:,} non-zero)")
    print(f"differences: {len(differences)}")
    for line in differences:
        print(f"  {line}")
    print(f"total {time.monotonic() - began:.0f} s")
    return 1 if differences else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", type=float, default=5_000.0, help="paced replay, events/s")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=600.0, help="drain deadline, s")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="replay-compare-"))
    bootstrap = os.environ.get("COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS")
    redis_url = os.environ.get("COLLECTPULSE_REDIS_URL")
    if bootstrap and redis_url:
        sys.exit(asyncio.run(compare(args, bootstrap, redis_url, work)))
    with own_stack_settings("replay-compare-") as cfg:
        try:
            bootstrap, redis_url = stack.start(cfg)
            code = asyncio.run(compare(args, bootstrap, redis_url, work))
        finally:
            stack.stop(cfg)
    print(f"worker and exporter logs: {work}")
    sys.exit(code)


if __name__ == "__main__":
    main()
