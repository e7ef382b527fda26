"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json`` and written
to docs/api/openapi.json (``python -m collectpulse.api``); tests validate answers with it."""

from __future__ import annotations

from typing import Any

from collectpulse.api.agents import SORTABLE

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


_AMOUNTS = {
    "type": "object",
    "description": "minor units per ISO 4217 currency",
    "additionalProperties": {"type": "integer"},
}

SCHEMAS: dict[str, Any] = {
    "AgentRow": _object(
        {
            "agent": {
                "type": "string",
                "description": "the agent id; __unassigned__ for what no agent earned",
            },
            "collected_amount_minor": _AMOUNTS,
            "outbound_attempts": _count(),
            "outbound_rpcs": {**_count(), "description": "outbound right-party contacts"},
            "rpc_ratio": {
                "type": ["number", "null"],
                "minimum": 0,
                "maximum": 1,
                "description": "outbound RPCs / outbound attempts; null without attempts",
            },
            "open_accounts": {
                **_count(),
                "description": "open accounts assigned to the agent now (any window)",
            },
            "promises_made": _count(),
            "promises_kept": _count(),
            "promises_broken": _count(),
            "promise_kept_ratio": {
                "type": ["number", "null"],
                "minimum": 0,
                "maximum": 1,
                "description": "kept / (kept + broken); null when none resolved",
            },
        }
    ),
    "TargetRow": _object(
        {
            "scope": {"enum": ["agent", "team", "tenant"]},
            "scope_id": {"type": "string"},
            "metric": {
                "enum": [
                    "collected_amount_minor",
                    "promises_made",
                    "promise_kept_ratio",
                    "rpc_count",
                    "rpc_ratio",
                ]
            },
            "period": {"enum": ["day", "week", "month"]},
            "tenant": {"type": "string"},
            "currency": {"type": ["string", "null"], "description": "money targets only"},
            "period_start": {"type": "string", "format": "date"},
            "target": {"type": "number", "minimum": 0},
            "actual": {
                "type": ["number", "null"],
                "description": "so far in the period; net collected in minor units for "
                "money; null for a ratio without a denominator yet",
            },
            "attainment": {"type": ["number", "null"], "description": "actual / target"},
            "elapsed_share": {"type": "number", "minimum": 0, "maximum": 1},
            "below_target": {"type": "boolean"},
        }
    ),
    "Targets": _object(
        {
            "as_of": _TIME,
            "total": _count(),
            "targets": {"type": "array", "items": {"$ref": "#/components/schemas/TargetRow"}},
        }
    ),
    "Agents": _object(
        {
            "window": {"type": "string"},
            "as_of": _TIME,
            "total": _count(),
            "offset": _count(),
            "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
            "agents": {"type": "array", "items": {"$ref": "#/components/schemas/AgentRow"}},
        }
    ),
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


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


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
            "/api/v1/agents": {
                "get": {
                    "summary": "The complete per-agent table of one window",
                    "description": "Every agent the store counted in the window, by its "
                    "own id (Prometheus shows only the agents under the label cap): "
                    "outbound attempts and right-party contacts it made, successful "
                    "payments it is credited with per currency, promises it made and "
                    "their outcomes credited to it whoever reported them, and the open "
                    "accounts assigned to it now. "
                    "Windows of up to 6 h sum minute buckets, longer ones hourly buckets "
                    "(their start aligned to the hour), as /metrics does.",
                    "parameters": [
                        _query(
                            "window",
                            {"type": "string"},
                            "one of COLLECTPULSE_WINDOWS; default the first",
                        ),
                        _query("tenant", {"type": "string"}, "only this tenant's counts"),
                        _query(
                            "sort",
                            {"enum": list(SORTABLE)},
                            "default collected_amount_minor (amounts by their sum)",
                        ),
                        _query("order", {"enum": ["asc", "desc"]}, "default desc"),
                        _query(
                            "limit",
                            {"type": "integer", "minimum": 1, "maximum": 1000},
                            "default 100",
                        ),
                        _query("offset", {"type": "integer", "minimum": 0}, "default 0"),
                    ],
                    "responses": _answers("Agents", 400, 503),
                }
            },
            "/api/v1/targets": {
                "get": {
                    "summary": "Target attainment so far in each target's calendar period",
                    "description": "Every agent, team and tenant target in force on the "
                    "tenant's local today (the latest valid_from not after it), with its "
                    "actual over the period so far (local day, ISO week from Monday, "
                    "month), actual / target, the elapsed share of the period, and whether "
                    "it is below target: a count or amount under target x elapsed share, a "
                    "ratio under the target. Prometheus has only agents_below_target.",
                    "parameters": [
                        _query("tenant", {"type": "string"}, "only this tenant's targets"),
                        _query("scope", {"enum": ["agent", "team", "tenant"]}, "one scope"),
                    ],
                    "responses": _answers("Targets", 400, 503),
                }
            },
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
