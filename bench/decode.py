"""Decode cost per event: the pydantic path against the compiled one, side by side.

Generates simulated records (the project's realistic mix of all seven topics),
cuts them into per (topic, partition) batches like Kafka would, and times, in
one process and alternated so machine noise hits every case alike:

- ``decode`` by pydantic alone (the code before the compiled decoder) and ``decode``
  as it is now (compiled first, pydantic for what it refuses);
- ``decode_batch`` (decode + key check + event time + ``Record``) on each;
- the generated msgspec types alone (no model instance), the floor.

    PYTHONPATH=$PWD/src:$PWD .venv/bin/python bench/decode.py --events 200000 --runs 3
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable

import msgspec
from bench.store_path import batches
from pydantic import ValidationError

from collectpulse.events import decode as decode_module
from collectpulse.events.compiled import typed_dict_of
from collectpulse.events.decode import Invalid, decode
from collectpulse.events.models import MODEL_BY_TOPIC, EventBase, Topic
from collectpulse.stream import agents
from collectpulse.stream.batch import RecordBatch

MAX_BYTES = 65_536


def decode_by_pydantic(topic: Topic, value: bytes | None, *, max_bytes: int) -> EventBase | Invalid:
    """``events.decode.decode`` as it was before the compiled decoder (commit 723a43a)."""
    if not value:
        return decode_module._EMPTY
    if len(value) > max_bytes:
        return Invalid("too_large", "too_large", f"value is {len(value)} bytes; limit {max_bytes}")
    try:
        event: EventBase = decode_module._VALIDATE_JSON[topic](value)
    except ValidationError as exc:
        return decode_module._from_validation_error(exc)
    except Exception as exc:
        return Invalid("validation", type(exc).__name__, "unexpected error while decoding")
    return event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    work = batches(args.events, args.partitions, args.batch, args.seed)
    by_topic = [(Topic(b.topic), [r.value or b"" for r in b.records]) for b in work]
    n = sum(len(b.records) for b in work)
    gc.freeze()  # as `collectpulse worker` does after start-up: the corpus is not GC work
    types_only = {
        t: msgspec.json.Decoder(typed_dict_of(m)).decode for t, m in MODEL_BY_TOPIC.items()
    }
    now_s = int(time.time())

    # Each case keeps a batch's results until the batch is done, as the worker
    # does: what lives that long is what the GC has to walk.
    def run_decode(fn: Callable[..., object]) -> Callable[[], None]:
        def go() -> None:
            for topic, values in by_topic:
                kept = [fn(topic, value, max_bytes=MAX_BYTES) for value in values]
                del kept

        return go

    def run_batch(fn: Callable[..., EventBase | Invalid]) -> Callable[[], None]:
        def go() -> None:
            agents.decode = fn  # type: ignore[attr-defined]
            try:
                for batch in work:
                    _decode_batch(batch)
            finally:
                agents.decode = decode  # type: ignore[attr-defined]

        return go

    def _decode_batch(batch: RecordBatch) -> None:
        agents.decode_batch(
            Topic(batch.topic), batch, max_bytes=MAX_BYTES, now_s=now_s, future_tolerance_s=300
        )

    def run_types_only() -> None:
        for topic, values in by_topic:
            decoder = types_only[topic]
            kept = [decoder(value) for value in values]
            del kept

    cases: dict[str, Callable[[], None]] = {
        "decode, pydantic (before)": run_decode(decode_by_pydantic),
        "decode, compiled (now)": run_decode(decode),
        "decode_batch, pydantic (before)": run_batch(decode_by_pydantic),
        "decode_batch, compiled (now)": run_batch(decode),
        "msgspec types alone (floor)": run_types_only,
    }
    spent: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, case in cases.items():
            started = time.process_time()
            case()
            spent[name].append((time.process_time() - started) / n * 1e6)

    print(f"{n:,} simulated records in {len(work)} batches, {args.runs} alternated runs")
    print(f"{'µs/event (CPU)':<34}{'median':>8}{'min':>8}{'max':>8}")
    for name, values in spent.items():
        row = f"{statistics.median(values):>8.2f}{min(values):>8.2f}{max(values):>8.2f}"
        print(f"{name:<34}{row}")


if __name__ == "__main__":
    main()
