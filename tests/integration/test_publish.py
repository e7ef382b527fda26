"""`collectpulse publish` against the real broker: keys, topics, and all-or-nothing input."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collectpulse.publish.command import run_publish
from collectpulse.settings import Settings
from tests.support.kafka import create_topics, end_offsets, read_to_end

NOW = datetime.now(UTC)


def _open(event_id: str, message_id: str) -> dict[str, object]:
    return {"event_id": event_id, "occurred_at": NOW.isoformat(), "message_id": message_id}


def _payment(event_id: str, customer_id: str) -> dict[str, object]:
    return {
        "event_id": event_id,
        "occurred_at": (NOW - timedelta(minutes=1)).isoformat(),
        "payment_id": f"p-{event_id}",
        "customer_id": customer_id,
        "status": "succeeded",
        "amount_minor": 1250,
        "currency": "EUR",
    }


def _publish(
    settings: Settings, path: Path, *, topic: str | None, skip_invalid: bool = False
) -> tuple[int, str, str]:
    args = argparse.Namespace(file=str(path), topic=topic, skip_invalid=skip_invalid)
    out, err = io.StringIO(), io.StringIO()
    code = run_publish(settings, args, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_a_file_with_one_bad_line_publishes_nothing(settings: Settings, tmp_path: Path) -> None:
    asyncio.run(create_topics(settings))
    path = tmp_path / "opens.jsonl"
    lines = [_open("e-1", "m-1"), {"event_id": "e-2"}, _open("e-3", "m-3")]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")

    code, out, err = _publish(settings, path, topic="open")

    assert code == 1
    assert f"{path}: line 2: not a valid open event: occurred_at: Field required" in err
    assert "nothing published: 1 invalid object(s)" in err
    assert out == ""
    offsets = asyncio.run(end_offsets(settings, [settings.topic("open")]))
    assert set(offsets.values()) == {0}


def test_skip_invalid_publishes_the_valid_lines_with_the_message_key(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "opens.jsonl"
    lines = [_open("e-1", "m-1"), {"event_id": "e-2"}, _open("e-3", "m-3")]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")

    code, out, err = _publish(settings, path, topic="open", skip_invalid=True)

    assert code == 0, err
    assert "line 2:" in err
    assert "published 2 event(s) (open 2), skipped 1 invalid" in out
    records = asyncio.run(read_to_end(settings, settings.topic("open")))
    assert sorted((r.key, json.loads(r.value or b"")["event_id"]) for r in records) == [
        (b"m-1", "e-1"),
        (b"m-3", "e-3"),
    ]


def test_wrapped_events_go_to_their_own_topic_with_their_own_key(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.jsonl"
    lines = [
        {"topic": "open", "event": _open("e-1", "m-1")},
        {"topic": "payment", "event": _payment("e-2", "c-9")},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines))

    code, out, err = _publish(settings, path, topic=None)

    assert code == 0, err
    assert f"line 1: e-1 -> {settings.topic('open')} partition" in out
    assert f"line 2: e-2 -> {settings.topic('payment')} partition" in out
    opens = asyncio.run(read_to_end(settings, settings.topic("open")))
    payments = asyncio.run(read_to_end(settings, settings.topic("payment")))
    assert [(r.key, json.loads(r.value or b"")) for r in opens] == [(b"m-1", lines[0]["event"])]
    assert [(r.key, json.loads(r.value or b"")) for r in payments] == [(b"c-9", lines[1]["event"])]
