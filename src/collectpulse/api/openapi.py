"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json`` and written
to docs/api/openapi.json (``python -m collectpulse.api``); tests validate answers with it."""

from __future__ import annotations

from typing import Any

_TIME = {"type": "string", "format": "date-time"}
_OPTIONAL_TIME = {"type": ["string", "null"], "format": "date-time"}
_PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _object(properties: dict[str, Any], *, nullable: bool = False) -> dict[str, Any]:
    return {
        "type": ["object", "null"] if nullable else "object",
        "required": sorted(properties),
        "additionalProperties": False,
        "properties": properties,
    }


def _count() -> dict[str, Any]:
    return {"type": "integer", "minimum": 0}


SCHEMAS: dict[str, Any] = {
    "Problem": _object(
        {"title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}
    ),
    "Message": _object(
        {
            "message_id": {"type": "string"},
            "campaign": {"type": "string"},
            "channel": {"type": "string"},
            "sent_at": _TIME,
            "delivered_at": _OPTIONAL_TIME,
            "opened_at": _OPTIONAL_TIME,
            "clicked_at": _OPTIONAL_TIME,
        }
    ),
    "Payment": _object(
        {
            "occurred_at": _TIME,
            "status": {"enum": ["succeeded", "failed", "aborted"]},
            "amount_minor": _count(),
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        },
        nullable=True,
    ),
    "Engagement": _object(
        {
            "customer_id": {"type": "string"},
            "since": _TIME,
            "until": _TIME,
            "totals": _object(
                {
                    name: _count()
                    for name in (
                        "received",
                        "opened",
                        "clicked",
                        "views",
                        "payment_attempts",
                        "promise_events",
                    )
                }
            ),
            "messages": {
                "type": "array",
                "maxItems": 100,
                "items": {"$ref": "#/components/schemas/Message"},
            },
            "views": {
                "type": "array",
                "maxItems": 100,
                "items": _object({"viewed_at": _TIME, "source": {"type": "string"}}),
            },
            "last_payment": {"$ref": "#/components/schemas/Payment"},
            "last_successful_payment": {"$ref": "#/components/schemas/Payment"},
            "last_promise": _object(
                {
                    "occurred_at": _TIME,
                    "kind": {"enum": ["promise_to_pay", "installment_plan"]},
                    "status": {"enum": ["made", "kept", "broken", "cancelled"]},
                    "direction": {"enum": ["inbound", "outbound", "self_service"]},
                    "amount_minor": _count(),
                    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                    "due_date": {"type": "string", "format": "date"},
                },
                nullable=True,
            ),
        }
    ),
}


def _answers(ok: str, *errors: int) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ok}"}}},
        },
        "401": {"description": "basic auth is configured and the request lacks it"},
    }
    for status in errors:
        answers[str(status)] = {
            "description": {400: "bad parameters", 503: "the store (Redis) is unavailable"}[status],
            "content": {"application/problem+json": {"schema": _PROBLEM}},
        }
    return answers


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "collectpulse API",
            "version": "1",
            "description": "JSON views that do not fit Prometheus labels (per customer, per "
            "agent). Served by the exporter, behind its TLS and basic auth "
            "(docs/SECURITY.md); nothing here is logged.",
        },
        "paths": {
            "/api/v1/customers/{customer_id}/engagement": {
                "get": {
                    "summary": "A customer's engagement, for the agent desktop before a call",
                    "description": "Messages that reached the customer (delivered, or sent on "
                    "a channel without delivery receipts) with their first delivery, open and "
                    "click, landing views, and the last payment attempt, successful "
                    "payment and promise event, over the engagement history "
                    "(COLLECTPULSE_ENGAGEMENT_HISTORY, 30 days by default). A customer with "
                    "nothing recorded gets empty lists, not 404: collectpulse only knows "
                    "customers by their events.",
                    "parameters": [
                        {
                            "name": "customer_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 128},
                        }
                    ],
                    "responses": _answers("Engagement", 400, 503),
                }
            },
        },
        "components": {"schemas": SCHEMAS},
    }
