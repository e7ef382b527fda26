"""The collectpulse worker's job for the message topics, the natural Quix Streams way.

Exactly-once processing; one dataframe per message topic, concatenated (so a message's
state is shared by its delivery, bounce, open and click events); a stateful step keyed
by ``message_id`` dedupes on ``event_id`` and joins each kind of a message to its
``sent`` once, whatever the order (events before their sent wait in state); its output
is stamped with the send time, re-keyed to channel|campaign|variant|segment|kind with
``group_by`` (a repartition topic) and counted in 1-minute event-time tumbling windows.

The clock starts at the first input record processed (start-up and group join
excluded) and stops when the windowed counts seen downstream of the aggregate add up
to the expected totals per kind. Last line on stdout: ``{"events", "seconds",
"cpu_seconds", "totals", ...}``. Run by bench/peers.py::

    python bench/peers/quix_same_job.py --bootstrap 127.0.0.1:19092 --prefix p. \\
        --group g --events 174000 --expected '{"sent": 69030, ...}'
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from datetime import datetime, timedelta
from typing import Any

MESSAGE_TOPICS = ("delivery", "bounce", "open", "click")
SEP = "|"
WAITED = [0]  # kinds that arrived before their sent and were joined when it came


class Progress:
    """First input record to the moment the totals match; ends the process when done."""

    def __init__(self, events: int, expected: dict[str, int]) -> None:
        self.events = events
        self.expected = expected
        self.consumed = 0
        self.first = 0.0
        self.first_cpu = 0.0
        self.last_input = 0.0
        self.latest: dict[tuple[str, int], int] = {}
        self.totals: dict[str, int] = {}

    def input(self) -> None:
        if not self.first:
            self.first, self.first_cpu = time.perf_counter(), time.process_time()
        self.consumed += 1
        self.last_input = time.perf_counter()

    def observe(self, key: str, start: int, count: int) -> None:
        before = self.latest.get((key, start), 0)
        self.latest[(key, start)] = count
        kind = key.rpartition(SEP)[2]
        self.totals[kind] = self.totals.get(kind, 0) + count - before
        if self.consumed >= self.events and self.totals == self.expected:
            self.finish(0)

    def finish(self, code: int) -> None:
        now = time.perf_counter()
        result = {
            "events": self.consumed,
            "seconds": now - self.first if self.first else 0.0,
            "input_seconds": self.last_input - self.first if self.first else 0.0,
            "cpu_seconds": time.process_time() - self.first_cpu,
            "totals": dict(sorted(self.totals.items())),
            "joined_after_waiting": WAITED[0],
            "expected": dict(sorted(self.expected.items())),
        }
        os.write(1, (json.dumps(result) + "\n").encode())
        os._exit(code)  # a bench child: skip the framework's graceful shutdown


def event_ms(occurred_at: str) -> int:
    return int(datetime.fromisoformat(occurred_at).timestamp() * 1000)


def join(value: dict[str, Any], state: Any) -> list[dict[str, Any]]:
    """Dedupe, then the (dimensions, kind) pairs this event makes countable."""
    event_id = value["event_id"]
    if state.exists(event_id):
        return []
    state.set(event_id, 1)
    message = state.get("message") or {"dims": None, "sent_at": 0, "kinds": []}
    kind = value["_kind"]
    if kind in message["kinds"]:
        return []  # this kind of this message is already counted (or waiting for its sent)
    kinds = message["kinds"]
    kinds.append(kind)
    out: list[dict[str, Any]] = []
    if kind == "sent":
        dims = (value["channel"], value["campaign"], value.get("variant", ""))
        message["dims"] = SEP.join((*dims, value.get("segment", "")))
        message["sent_at"] = event_ms(value["occurred_at"])
        out = [{"dims": message["dims"], "kind": k, "at": message["sent_at"]} for k in kinds]
        WAITED[0] += len(kinds) - 1
    elif message["dims"] is not None:
        out = [{"dims": message["dims"], "kind": kind, "at": message["sent_at"]}]
    state.set("message", message)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--prefix", required=True, help="topic prefix of the published records")
    parser.add_argument("--group", required=True)
    parser.add_argument("--events", type=int, required=True, help="records on the message topics")
    parser.add_argument("--expected", required=True, help="JSON {kind: count} after dedupe")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()

    from quixstreams import Application

    progress = Progress(args.events, json.loads(args.expected))
    watchdog = threading.Timer(args.timeout, progress.finish, args=(1,))
    watchdog.daemon = True
    watchdog.start()

    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        processing_guarantee="exactly-once",
        state_dir=tempfile.mkdtemp(prefix="bench-quix-same-job-"),
        loglevel="WARNING",
    )
    merged = None
    for name in MESSAGE_TOPICS:
        topic = app.topic(args.prefix + name, key_deserializer="str", value_deserializer="json")
        sdf = app.dataframe(topic)
        if name == "delivery":
            sdf = sdf.apply(lambda v: {**v, "_kind": v["status"]})
        else:
            sdf = sdf.apply(lambda v, kind=name: {**v, "_kind": kind})
        merged = sdf if merged is None else merged.concat(sdf)
    assert merged is not None
    merged = merged.update(lambda _v: progress.input())
    counts = (
        merged.apply(join, stateful=True, expand=True)
        .set_timestamp(lambda value, _key, _ts, _headers: value["at"])
        .group_by(lambda v: v["dims"] + SEP + v["kind"], name="dims")
        # grace: a message's later events are stamped with its (earlier) send time
        .tumbling_window(timedelta(minutes=1), grace_ms=timedelta(hours=24))
        .count()
        .current()
    )
    counts.update(
        lambda value, key, _ts, _headers: progress.observe(key, value["start"], value["value"]),
        metadata=True,
    )
    app.run()


if __name__ == "__main__":
    main()
