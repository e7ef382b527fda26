"""Publishing the event models as JSON Schema files for upstream producers.

The files under `schemas/` are generated, never edited by hand: the models
are the contract, and `schema_drift` tells when the checked-in files no
longer match them.
"""

import json
from pathlib import Path
from typing import Any, Final

from collectpulse.events.models import (
    MODEL_BY_TOPIC,
    REFERENCE_MODELS,
    EventBase,
    ReferenceTopic,
    Topic,
)

SCHEMA_SUFFIX: Final = ".schema.json"
_MODELS: Final[dict[Topic | ReferenceTopic, type[EventBase]]] = {
    **{topic: model for topic, model in MODEL_BY_TOPIC.items()},
    **{topic: model for topic, model in REFERENCE_MODELS.items()},
}
"""Every topic producers publish to: the canonical ones and the reference ones."""
_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


def schema_file_name(topic: Topic | ReferenceTopic) -> str:
    """Return the file name of `topic`'s schema, e.g. `delivery.schema.json`."""
    return f"{topic.value}{SCHEMA_SUFFIX}"


def render_schema(topic: Topic | ReferenceTopic) -> str:
    """Return the exact text of `topic`'s schema file (stable: sorted keys, 2-space indent)."""
    model = _MODELS[topic]
    # Validation mode: the schema describes what producers may send, e.g.
    # fields with defaults are optional.
    schema: dict[str, Any] = model.model_json_schema(mode="validation")
    schema["$schema"] = _DIALECT
    schema["$id"] = f"urn:collectpulse:schema:{topic.value}"
    schema["title"] = f"collectpulse {topic.value} event"
    schema["description"] = (
        f"{(model.__doc__ or '').strip()} Topic `<prefix>{topic.value}` "
        f"(default prefix `collections.`). Unknown fields are ignored."
    )
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export_schemas(out_dir: Path) -> list[Path]:
    """Write one schema file per topic into `out_dir` and return their paths.

    Files are rewritten only when their text changes, so re-running the
    export leaves timestamps and the working tree untouched.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for topic in _MODELS:
        path = out_dir / schema_file_name(topic)
        text = render_schema(topic)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def schema_drift(out_dir: Path) -> list[str]:
    """List schema file names in `out_dir` that are missing, stale or left over.

    An empty list means the checked-in schemas match the models.
    """
    expected = {schema_file_name(topic): render_schema(topic) for topic in _MODELS}
    drifted = [
        name
        for name, text in expected.items()
        if not (out_dir / name).is_file() or (out_dir / name).read_text(encoding="utf-8") != text
    ]
    if out_dir.is_dir():
        # A schema for a topic that no longer exists would mislead producers.
        drifted += [
            path.name for path in out_dir.glob(f"*{SCHEMA_SUFFIX}") if path.name not in expected
        ]
    return sorted(drifted)
