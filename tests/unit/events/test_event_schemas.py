"""The published JSON Schemas and producer guide agree with the models."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from event_samples import VALID_PAYLOADS, payload, without
from jsonschema import Draft202012Validator

from collectpulse.events.decode import Invalid, decode
from collectpulse.events.keys import partition_key
from collectpulse.events.models import Topic
from collectpulse.events.roster import (
    REFERENCE_MODELS,
    ExperimentEvent,
    ReferenceTopic,
    reference_key,
)
from collectpulse.events.schema_export import (
    export_schemas,
    render_schema,
    schema_drift,
    schema_file_name,
)

SCHEMAS_DIR = Path(__file__).resolve().parents[3] / "schemas"
PUBLISHED: list[Topic | ReferenceTopic] = [*Topic, *ReferenceTopic]


def _validator(topic: Topic | ReferenceTopic) -> Draft202012Validator:
    return Draft202012Validator(json.loads(render_schema(topic)))


def test_checked_in_schemas_match_the_models() -> None:
    drift = schema_drift(SCHEMAS_DIR)
    assert drift == [], f"run `collectpulse schemas export` to regenerate: {drift}"


def test_export_writes_one_schema_per_topic(tmp_path: Path) -> None:
    written = export_schemas(tmp_path / "schemas")
    every = [*Topic, *ReferenceTopic]
    assert sorted(path.name for path in written) == sorted(schema_file_name(t) for t in every)
    assert schema_drift(tmp_path / "schemas") == []


@pytest.mark.parametrize("topic", PUBLISHED)
def test_schema_files_are_stable_and_self_describing(topic: Topic | ReferenceTopic) -> None:
    text = render_schema(topic)
    schema = json.loads(text)
    assert text == json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert schema["$id"] == f"urn:collectpulse:schema:{topic.value}"
    assert topic.value in schema["title"]
    assert schema["description"]
    Draft202012Validator.check_schema(schema)


def test_drift_lists_changed_missing_and_left_over_files(tmp_path: Path) -> None:
    export_schemas(tmp_path)
    (tmp_path / "open.schema.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "click.schema.json").unlink()
    (tmp_path / "retired.schema.json").write_text("{}\n", encoding="utf-8")
    assert schema_drift(tmp_path) == [
        "click.schema.json",
        "open.schema.json",
        "retired.schema.json",
    ]


def test_export_leaves_unchanged_files_untouched(tmp_path: Path) -> None:
    [first, *_] = export_schemas(tmp_path)
    before = first.stat().st_mtime_ns
    export_schemas(tmp_path)
    assert first.stat().st_mtime_ns == before


@pytest.mark.parametrize("topic", list(Topic))
def test_schema_accepts_what_the_model_accepts(topic: Topic) -> None:
    assert list(_validator(topic).iter_errors(VALID_PAYLOADS[topic])) == []


@pytest.mark.parametrize(
    ("topic", "data"),
    [
        (Topic.DELIVERY, without(Topic.DELIVERY, "campaign")),
        (Topic.DELIVERY, payload(Topic.DELIVERY, variant=None)),
        (Topic.OPEN, payload(Topic.OPEN, occurred_at="2025-03-01T10:00:00")),
        (Topic.PAYMENT, payload(Topic.PAYMENT, currency="XYZ")),
        (Topic.PAYMENT, payload(Topic.PAYMENT, amount_minor=-5)),
        (Topic.PROMISE, payload(Topic.PROMISE, direction="sideways")),
        (Topic.CONTACT, payload(Topic.CONTACT, customer_id=None)),
        (Topic.CONTACT, payload(Topic.CONTACT, direction="inbound", outcome="voicemail")),
        (Topic.CONTACT, payload(Topic.CONTACT, channel="fax")),
        (Topic.CONTACT, payload(Topic.CONTACT, duration_s=-1)),
        (Topic.PAYMENT, payload(Topic.PAYMENT, initiated_by="robot")),
        (Topic.PAGEVIEW, payload(Topic.PAGEVIEW, load_ms=-3)),
    ],
)
def test_schema_rejects_what_the_model_rejects(topic: Topic, data: dict[str, Any]) -> None:
    assert list(_validator(topic).iter_errors(data)) != []
    assert isinstance(decode(topic, json.dumps(data).encode(), max_bytes=65536), Invalid)


def _readme_examples() -> dict[str, tuple[str, dict[str, Any]]]:
    text = (SCHEMAS_DIR / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^`(\w+)`, key `([^`]+)`[^\n]*\n\n```json\n(.*?)```", text, re.M | re.S)
    return {topic: (key, json.loads(body)) for topic, key, body in blocks}


def test_the_producer_guide_has_one_example_per_topic() -> None:
    assert sorted(_readme_examples()) == sorted(topic.value for topic in PUBLISHED)


@pytest.mark.parametrize("topic", list(ReferenceTopic))
def test_each_reference_topic_example_is_valid_and_shows_its_key(topic: ReferenceTopic) -> None:
    key, example = _readme_examples()[topic.value]
    event = REFERENCE_MODELS[topic].model_validate_json(json.dumps(example))
    assert reference_key(event) == key.encode()  # type: ignore[arg-type]
    assert list(_validator(topic).iter_errors(example)) == []


@pytest.mark.parametrize("topic", list(Topic))
def test_each_producer_guide_example_is_valid_and_shows_its_key(topic: Topic) -> None:
    key, example = _readme_examples()[topic.value]
    event = decode(topic, json.dumps(example).encode(), max_bytes=65536)
    assert not isinstance(event, Invalid), event
    assert partition_key(event) == key.encode()
    assert list(_validator(topic).iter_errors(example)) == []


def test_the_experiment_example_is_valid_and_keyed_by_campaign() -> None:
    key, example = _readme_examples()[ReferenceTopic.EXPERIMENT.value]
    event = decode(ReferenceTopic.EXPERIMENT, json.dumps(example).encode(), max_bytes=65536)
    assert isinstance(event, ExperimentEvent), event
    assert event.campaign == key
    assert list(_validator(ReferenceTopic.EXPERIMENT).iter_errors(example)) == []
