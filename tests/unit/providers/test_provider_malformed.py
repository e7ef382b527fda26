"""Unreadable payloads fail with ProviderError only, whatever their shape."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from provider_samples import (
    as_bytes,
    mailgun_webhook,
    postmark_bounce,
    sendgrid_event,
    ses_bounce,
    sns_wrap,
    twilio_fields,
)

from collectpulse.events.providers import PROVIDERS, NormaliseResult, ProviderError, normalise

AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
VALID: dict[str, Any] = {
    "ses": sns_wrap(ses_bounce("Permanent", "General")),
    "ses-direct": ses_bounce("Transient", "MailboxFull"),
    "sendgrid": [sendgrid_event("bounce", type="bounce"), sendgrid_event("open")],
    "mailgun": mailgun_webhook("failed", severity="permanent", reason="bounce"),
    "postmark": postmark_bounce("HardBounce"),
    "twilio": twilio_fields("undelivered", ErrorCode="30005"),
}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)


def provider_of(sample: str) -> str:
    return sample.split("-")[0]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    copy = json.loads(json.dumps(value))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new
    return copy


def assert_normalises_or_raises_provider_error(provider: str, payload: bytes) -> None:
    try:
        result = normalise(provider, payload, received_at=AT)
    except ProviderError:
        return
    assert isinstance(result, NormaliseResult)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("payload", [b"", b"{", b"\xff\xfe", b"null", b"42", b'"text"'])
def test_payload_that_is_not_a_json_object_is_a_provider_error(
    provider: str, payload: bytes
) -> None:
    with pytest.raises(ProviderError, match=provider):
        normalise(provider, payload, received_at=AT)


@pytest.mark.parametrize("sample", ["ses-direct", "mailgun", "postmark"])
def test_event_fields_of_the_wrong_type_name_the_field(sample: str) -> None:
    payload = VALID[sample]
    path = {"ses-direct": ("mail", "messageId"), "mailgun": ("event-data", "timestamp")}.get(
        sample, ("BouncedAt",)
    )

    with pytest.raises(ProviderError, match=str(path[-1])):
        normalise(provider_of(sample), as_bytes(replaced(payload, path, ["not", "a", "scalar"])))


@pytest.mark.parametrize("sample", sorted(VALID))
def test_every_sample_is_valid_as_written(sample: str) -> None:
    result = normalise(provider_of(sample), as_bytes(VALID[sample]), received_at=AT)

    assert result.events


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_field_replaced_by_any_json_only_ever_raises_provider_error(
    data: st.DataObject,
) -> None:
    sample = data.draw(st.sampled_from(sorted(VALID)))
    path = data.draw(st.sampled_from(paths(VALID[sample])))
    mutated = replaced(VALID[sample], path, data.draw(JSON_VALUES))

    assert_normalises_or_raises_provider_error(provider_of(sample), as_bytes(mutated))


@settings(max_examples=200, deadline=None)
@given(provider=st.sampled_from(PROVIDERS), value=JSON_VALUES)
def test_arbitrary_json_only_ever_raises_provider_error(provider: str, value: Any) -> None:
    assert_normalises_or_raises_provider_error(provider, as_bytes(value))


@settings(max_examples=200, deadline=None)
@given(provider=st.sampled_from(PROVIDERS), payload=st.binary(max_size=64))
def test_arbitrary_bytes_only_ever_raise_provider_error(provider: str, payload: bytes) -> None:
    assert_normalises_or_raises_provider_error(provider, payload)
