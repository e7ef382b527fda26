"""``python -m tests.faults [--long] [...]``: a fault run with its own Kafka and Redis.

Prints the report and exits 1 when it found a difference. ``make faults`` runs
the long preset; the ports default to the 22xxx range (docs/RELIABILITY.md).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import shutil
import sys
import tempfile
from pathlib import Path

from tests.faults.cluster import ROOT, Servers
from tests.faults.harness import FAULTS, LONG, SHORT, RunConfig, run

UNSAFE = {
    "dedupe": "COLLECTPULSE_UNSAFE_TEST_DISABLE_DEDUPE",
    "offset-guard": "COLLECTPULSE_UNSAFE_TEST_DISABLE_OFFSET_GUARD",
}


def _faults(text: str) -> tuple[str, ...]:
    """``worker_kill*5,broker_kill`` -> the fault list."""
    out: list[str] = []
    for part in filter(None, text.split(",")):
        name, _, times = part.partition("*")
        if name not in FAULTS:
            raise argparse.ArgumentTypeError(f"--faults: unknown fault {name!r}; know {FAULTS}")
        out.extend([name] * int(times or 1))
    return tuple(out)


def parse(argv: list[str]) -> tuple[RunConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__)
    parser.add_argument("--long", action="store_true", help="the long preset (make faults)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--messages", type=int, help="messages in the log (about 5 records each)")
    parser.add_argument("--publish-seconds", type=float)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--faults", type=_faults, help="e.g. worker_kill*5,rebalance,broker_kill")
    parser.add_argument("--unsafe", choices=sorted(UNSAFE), action="append", default=[])
    parser.add_argument("--kafka-port", type=int, default=22092)
    parser.add_argument("--kafka-controller-port", type=int, default=22093)
    parser.add_argument("--redis-port", type=int, default=22379)
    parser.add_argument("--keep", action="store_true", help="keep the run's dir (logs, data)")
    args = parser.parse_args(argv)
    config = LONG if args.long else SHORT
    changes = {
        "seed": args.seed,
        "messages": args.messages,
        "publish_s": args.publish_seconds,
        "workers": args.workers,
        "faults": args.faults,
    }
    config = dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})
    if args.unsafe:
        config = dataclasses.replace(config, extra_env={UNSAFE[u]: "true" for u in args.unsafe})
    return config, args


def main(argv: list[str]) -> int:
    config, args = parse(argv)
    # aiokafka logs every refused connection while the broker is down or restarting
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    (ROOT / ".local").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="faults-", dir=ROOT / ".local"))
    servers = Servers.create(
        workdir.relative_to(ROOT) / "stack",
        kafka_port=args.kafka_port,
        controller_port=args.kafka_controller_port,
        redis_port=args.redis_port,
    )
    print(f"fault run in {workdir} ({config.publish_s:g} s of publishing)", flush=True)
    try:
        report = asyncio.run(run(config, workdir / "run", servers=servers))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report.render())
    return 1 if report.differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
