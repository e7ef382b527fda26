"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json`` and written
to docs/api/openapi.json (``python -m collectpulse.api``); tests validate answers with it."""

from __future__ import annotations

from typing import Any

from collectpulse.api.agents import SORTABLE
from collectpulse.kpi.send_time import OBSERVATIONAL, STAGES, WINDOWS

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
            "outbound_ptp_made": {
                **_count(),
                "description": "outbound promises to pay made in the window (K4)",
            },
            "promises_made_cohort": {
                **_count(),
                "description": "promises made in the window, as promises_made (K6)",
            },
            "promises_kept_cohort": {
                **_count(),
                "description": "of the promises made in the window, those kept so far (K6)",
            },
            "outbound_kept_cohort": {
                **_count(),
                "description": "of the outbound promises made in the window, those kept so far",
            },
            "outbound_ptp_per_rpc_ratio": {
                "type": ["number", "null"],
                "minimum": 0,
                "description": "outbound_ptp_made / outbound_rpcs (K4); null without RPCs",
            },
            "outbound_kept_per_rpc_ratio": {
                "type": ["number", "null"],
                "minimum": 0,
                "description": "outbound_kept_cohort / outbound_rpcs (K5); null without RPCs",
            },
            "promise_kept_cohort_ratio": {
                "type": ["number", "null"],
                "minimum": 0,
                "maximum": 1,
                "description": "promises_kept_cohort / promises_made_cohort (K6); null "
                "when none made",
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
    "CollectedPerAccountRow": _object(
        {
            "tenant": {"type": "string"},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "handled_accounts": {
                **_count(),
                "description": "H(W) = open accounts now + exits(W) - re-entries(W)",
            },
            "allocated_net_minor": {
                "type": "integer",
                "description": "net collected (succeeded - reversed) allocated to accounts",
            },
            "unallocated_net_minor": {"type": "integer"},
            "collected_per_account": {
                "type": ["number", "null"],
                "description": "allocated net / H(W) (K10); null while H = 0",
            },
            "accounts": {
                **_count(),
                "description": "the population of the percentiles: H(W), or the accounts "
                "paid when more (an account paid but never placed)",
            },
            "paid_accounts": _count(),
            "p50_minor": {
                "type": ["integer", "null"],
                "description": "median net allocated per account, the accounts nothing was "
                "allocated to counting as 0 (nearest rank)",
            },
            "p90_minor": {"type": ["integer", "null"]},
        }
    ),
    "CollectedPerAccount": _object(
        {
            "window": {"enum": ["30d", "90d"]},
            "as_of": _TIME,
            "rows": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/CollectedPerAccountRow"},
            },
        }
    ),
    "Cohort": _object(
        {
            "tenant": {"type": "string"},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "cohort": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
            "placed_minor": {"type": "integer"},
            "collected_minor": {"type": "integer"},
            "recovery_ratio": {"type": ["number", "null"]},
            "curve": {
                "type": "array",
                "items": _object(
                    {
                        "age_days": {"enum": [30, 60, 90, 180]},
                        "recovery_ratio": {"type": ["number", "null"]},
                    }
                ),
            },
        }
    ),
    "Recovery": _object(
        {
            "as_of": _TIME,
            "cohorts": {"type": "array", "items": {"$ref": "#/components/schemas/Cohort"}},
        }
    ),
    "SendTime": _object(
        {
            "window": {"enum": list(WINDOWS)},
            "as_of": _TIME,
            "stages": {"type": "array", "items": {"enum": list(STAGES)}},
            "layout": {"type": "string"},
            "note": {"type": "string"},
            "grids": {"type": "array", "items": {"$ref": "#/components/schemas/SendTimeGrid"}},
        }
    ),
    "SendTimeGrid": _object(
        {
            "campaign": {"type": "string"},
            "channel": {"type": "string"},
            "tenant": {"type": "string", "description": "empty: the messages name none"},
            "time_zone": {
                "type": "string",
                "description": "the IANA zone the tenant's weekdays and hours are local to",
            },
            "stages": _object(
                {
                    stage: {
                        "type": "array",
                        "minItems": 7,
                        "maxItems": 7,
                        "items": {
                            "type": "array",
                            "minItems": 24,
                            "maxItems": 24,
                            "items": _count(),
                        },
                    }
                    for stage in STAGES
                }
            ),
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
            "agent, the send-time grid per campaign). Served by the exporter, behind its "
            "TLS and basic auth (docs/SECURITY.md); nothing here is logged.",
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
            "/api/v1/collected-per-account": {
                "get": {
                    "summary": "Net collected per account handled (K10) and its spread",
                    "description": "Per tenant and currency: net collected (succeeded "
                    "payments - reversed amounts, each on the tenant-local day of its own "
                    "occurred_at) allocated to accounts in the window (its account_id, "
                    "else the customer's only account in the currency open just before "
                    "the payment, else unallocated), the accounts handled H(W) and the "
                    "median and 90th percentile of the net allocated per account, the "
                    "handled accounts without any counting as 0.",
                    "parameters": [
                        _query("window", {"enum": ["30d", "90d"]}, "default 30d"),
                        _query("tenant", {"type": "string"}, "only this tenant's rows"),
                    ],
                    "responses": _answers("CollectedPerAccount", 400, 503),
                }
            },
            "/api/v1/recovery": {
                "get": {
                    "summary": "Recovery by placement month (K16) with its age curve",
                    "description": "Per tenant, currency and placement month of the last "
                    "12 (the tenant-local month of each account's placed event): the "
                    "placed balance, the net collected allocated to those accounts so far, "
                    "their ratio, and the curve of the net allocated within 30, 60, 90 and "
                    "180 days of each account's placement day over the placed balance.",
                    "parameters": [
                        _query("tenant", {"type": "string"}, "only this tenant's cohorts")
                    ],
                    "responses": _answers("Recovery", 400, 503),
                }
            },
            "/api/v1/send-time": {
                "get": {
                    "summary": "Messages by local send weekday and hour, per campaign (K21)",
                    "description": "The full 7x24 grid per campaign, channel and tenant: "
                    "messages delivered, opened by a person, clicked and with a "
                    "successful payment attributed to them, each counted once in the "
                    "local weekday and hour (the tenant's zone, "
                    "COLLECTPULSE_TENANT_TIME_ZONES) of the message's send: an open, "
                    "click or payment arriving later counts in the slot the message was "
                    "sent in. Windows by send time, aligned to the hour. Prometheus has "
                    "the hour and the weekday separately, without campaign "
                    f"(collectpulse_send_hour_messages, _weekday_). {OBSERVATIONAL}",
                    "parameters": [
                        _query("window", {"enum": list(WINDOWS)}, "default 7d"),
                        _query("campaign", {"type": "string"}, "only this campaign"),
                        _query("channel", {"type": "string"}, "only this channel"),
                        _query("tenant", {"type": "string"}, "only this tenant"),
                    ],
                    "responses": _answers("SendTime", 400, 503),
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
