"""The label dimensions KPIs are broken down by (catalog section 3), with their closed value sets.

Open labels (campaign, variant, ...) are cardinality-capped by the store;
values past the cap are reported as ``__other__``. Customer ids, e-mail
addresses, phone numbers and URLs are never labels.
"""

from __future__ import annotations

import re

from collectpulse.kpi.model import Label

OTHER_VALUE = "__other__"
"""The value a capped label reports once its cardinality cap is reached."""
REDACTED_VALUE = "__redacted__"
"""The value reported for a label value that looks like personal data."""

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_URL = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)")
_DIGITS = re.compile(r"\d")


def looks_personal(value: str) -> bool:
    """True for an e-mail address, a URL or a phone-number-like value (8+ digits).

    Such values never become label values (catalog section 3), e.g. an agent id
    that is the agent's e-mail address.
    """
    if _EMAIL.search(value) or _URL.search(value):
        return True
    digits = len(_DIGITS.findall(value))
    return digits >= 8 and digits >= len(value.replace(" ", "")) * 0.6


CHANNEL = Label("channel", ("email", "sms", "letter", "push", "voice"))
CAMPAIGN = Label("campaign")
VARIANT = Label("variant")
SEGMENT = Label("segment")
TENANT = Label("tenant", optional=True)
SOURCE = Label("source", ("direct", "email", "sms", "letter", "other"))
BOUNCE_TYPE = Label("bounce_type", ("hard", "soft"))
CURRENCY = Label("currency")
AGENT = Label("agent", optional=True)
PAYMENT_STATUS = Label("status", ("succeeded", "failed", "aborted"))
DIRECTION = Label("direction", ("inbound", "outbound", "self_service"))
PROMISE_KIND = Label("kind", ("promise_to_pay", "installment_plan"))
PROMISE_STATUS = Label("status", ("made", "kept", "broken", "cancelled"))
TOPIC = Label("topic")
INVALID_REASON = Label(
    "reason", ("too_large", "not_json", "not_object", "validation", "empty", "future_event")
)
"""Why a canonical record was dead-lettered (``events.decode.Reason`` but ``provider_error``)."""
LABEL_NAME = Label("label")
STATE_LIMIT = Label(
    "limit",
    (
        "max_parked_per_message",
        "max_parked_messages",
        "max_customer_messages",
        "max_customer_promises",
        "max_customer_allocations",
    ),
)
"""The settings that bound waiting state (``Settings``, the ``# Limits`` block)."""

# Contacts (kpi-catalog sections 8 and 9): their own closed sets under shared names.
CONTACT_DIRECTION = Label("direction", ("inbound", "outbound"))
CONTACT_CHANNEL = Label("channel", ("call", "chat", "email_reply"))
CONTACT_OUTCOME = Label(
    "outcome", ("right_party", "wrong_party", "no_answer", "voicemail", "busy", "invalid_number")
)
TEAM = Label("team", optional=True)
DIALER_CAMPAIGN = Label("dialer_campaign", optional=True)
CONTACT_LABELS = (
    TENANT,
    CONTACT_DIRECTION,
    CONTACT_CHANNEL,
    CONTACT_OUTCOME,
    TEAM,
    AGENT,
    DIALER_CAMPAIGN,
)

FUNNEL_LABELS = (CHANNEL, CAMPAIGN, VARIANT, SEGMENT, TENANT)
"""Every funnel counter's dimensions, inherited from the message's sent event."""
LANDING_LABELS = (SOURCE, TENANT)
DEVICE = Label("device", ("mobile", "desktop", "tablet", "other"), optional=True)
"""The pageview's device (schema_version 2); a view that does not say reports ``""``."""
PAGEVIEW_LABELS = (SOURCE, DEVICE, TENANT)
PROMISE_LABELS = (DIRECTION, PROMISE_KIND, TENANT)
