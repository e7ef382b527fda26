"""The ``collectpulse publish`` flags and run: read, validate everything, then produce.

Nothing is produced from an input with a bad object unless ``--skip-invalid``:
a half-published file is harder to fix than a rejected one. Re-running a
file is safe: the worker counts each ``event_id`` once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TextIO

from collectpulse.events.models import Topic
from collectpulse.kafka.errors import KafkaSetupError
from collectpulse.publish.producing import Published, PublishFailedError, produce
from collectpulse.publish.reading import read_records
from collectpulse.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        nargs="?",
        default="-",
        help="JSON object, JSON array or JSON Lines file; - or absent: stdin",
    )
    parser.add_argument(
        "--topic",
        choices=[topic.value for topic in Topic],
        default=None,
        help="the event type of every object (published to <prefix><topic>); without it "
        'each object must be a wrapper {"topic": TYPE, "event": {...}}',
    )
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="publish the valid events even if some are invalid (those are reported)",
    )


def run_publish(
    settings: Settings,
    args: argparse.Namespace,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Publish as ``args`` say; report each event to ``out``, problems to ``err``; exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    source = "stdin" if args.file == "-" else args.file
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"collectpulse publish: cannot read {source}: {exc}", file=err)
        return 1
    records, bad = read_records(
        text,
        topic=Topic(args.topic) if args.topic else None,
        max_event_bytes=settings.max_event_bytes,
        now_s=int(time.time()),
        future_tolerance_s=settings.future_tolerance_s,
    )
    for problem in bad:
        print(f"collectpulse publish: {source}: {problem}", file=err)
    if bad and not args.skip_invalid:
        print(
            f"collectpulse publish: nothing published: {len(bad)} invalid object(s) in {source} "
            "(fix them, or --skip-invalid to publish the valid ones)",
            file=err,
        )
        return 1
    if not records:
        print(f"collectpulse publish: no events in {source}", file=err)
        return 1
    try:
        published = asyncio.run(produce(settings, records))
    except KafkaSetupError as exc:
        print(f"collectpulse publish: nothing published: {exc}", file=err)
        return 1
    except PublishFailedError as exc:
        _report(exc.published, out)
        print(f"collectpulse publish: {exc}", file=err)
        return 1
    _report(published, out)
    skipped = f", skipped {len(bad)} invalid" if bad else ""
    print(f"published {len(published)} event(s){_by_topic(published)}{skipped}", file=out)
    return 0


def _report(published: list[Published], out: TextIO) -> None:
    # event ids, not keys: keys are customer or visitor ids
    for p in published:
        print(
            f"line {p.record.line}: {p.record.event_id} -> {p.topic} "
            f"partition {p.partition} offset {p.offset}",
            file=out,
        )


def _by_topic(published: list[Published]) -> str:
    counts = Counter(p.record.topic.value for p in published)
    return " (" + ", ".join(f"{name} {n}" for name, n in sorted(counts.items())) + ")"
