"""The label dimensions KPIs are broken down by (catalog section 3), with their closed value sets.

Open labels (campaign, variant, ...) are cardinality-capped by the store;
values past the cap are reported as ``__other__``. Customer ids, e-mail
addresses, phone numbers and URLs are never labels.
"""

from __future__ import annotations

from collectpulse.kpi.model import Label

OTHER_VALUE = "__other__"
"""The value a capped label reports once its cardinality cap is reached."""

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
INVALID_REASON = Label("reason")
LABEL_NAME = Label("label")

FUNNEL_LABELS = (CHANNEL, CAMPAIGN, VARIANT, SEGMENT, TENANT)
"""Every funnel counter's dimensions, inherited from the message's sent event."""
LANDING_LABELS = (SOURCE, TENANT)
PROMISE_LABELS = (DIRECTION, PROMISE_KIND, TENANT)
