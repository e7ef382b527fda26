"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json`` and written
to docs/api/openapi.json (``python -m collectpulse.api``); tests validate answers with it."""

from __future__ import annotations

from typing import Any

from collectpulse.api.agents import SORTABLE
from collectpulse.api.schemas import PROBLEM, SCHEMAS
from collectpulse.kpi.send_time import OBSERVATIONAL, WINDOWS


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
            "content": {"application/problem+json": {"schema": PROBLEM}},
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
