"""Label values that look like personal data are never reported as themselves."""

from __future__ import annotations

import pytest

from collectpulse.kpi.labels import looks_personal


@pytest.mark.parametrize(
    "value",
    [
        "jane.doe@example.com",
        "+44 7700 900123",
        "07700900123",
        "https://pay.example.com/x",
        "www.example.com",
        "ftp://host/file",
    ],
)
def test_emails_phones_and_urls_look_personal(value: str) -> None:
    assert looks_personal(value)


@pytest.mark.parametrize(
    "value", ["agent-7", "winback-2026", "control", "legal", "segment-12345678", "2026q4", ""]
)
def test_ordinary_label_values_do_not(value: str) -> None:
    assert not looks_personal(value)
