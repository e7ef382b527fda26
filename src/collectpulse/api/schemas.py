"""The component schemas of the ``/api/v1`` OpenAPI document (``api.openapi``): the shape
of every answer, which the tests validate answers against."""

from __future__ import annotations

from typing import Any

from collectpulse.kpi.send_time import STAGES, WINDOWS

_TIME = {"type": "string", "format": "date-time"}
_OPTIONAL_TIME = {"type": ["string", "null"], "format": "date-time"}
PROBLEM = {"$ref": "#/components/schemas/Problem"}


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
