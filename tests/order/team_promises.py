"""Oracle for K4-K7 by team (catalog §9), computed from a log without collectpulse code.

A promise and its outcomes count for the agent of its first ``made`` event, a contact
for its own agent; an agent's team is the roster's, else the team of its open accounts
(each account at its highest version; the smallest team name when several), else
``__unassigned__``. The gauges cover whole tenant-local days (7d and 30d); the logs the
tests replay lie within the last hours, so both windows hold every event (UTC tenants).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from tests.faults.oracle import Key, P

UNASSIGNED = "__unassigned__"
TEAM_WINDOWS = ("7d", "30d")
TEAM_FAMILIES = frozenset(
    P + name
    for name in (
        "team_outbound_ptp_per_rpc_ratio",
        "team_outbound_kept_per_rpc_ratio",
        "team_promise_kept_cohort_ratio",
        "team_promises_made",
        "team_promise_kept_ratio",
    )
)
TEAM_RATIOS = TEAM_FAMILIES - {P + "team_promises_made"}


def team_samples(
    valid: Sequence[tuple[str, dict[str, Any]]],
    roster: Mapping[tuple[str, str], str] | None = None,
) -> dict[Key, float]:
    """``valid``: the log's (topic, body) without duplicate events, in any order;
    ``roster``: (tenant, agent id) -> team."""
    team_of = _teams(valid, roster or {})

    def team(body: dict[str, Any], agent: str | None) -> tuple[str, str]:
        tenant = body.get("tenant") or ""
        return team_of.get((tenant, agent or ""), UNASSIGNED), tenant

    made: dict[str, dict[str, Any]] = {}
    for topic, p in valid:
        if topic == "promise" and p["status"] == "made":
            made.setdefault(p["promise_id"], p)
    kept_ids = {p["promise_id"] for t, p in valid if t == "promise" and p["status"] == "kept"}
    sums: Counter[tuple[tuple[str, str], str]] = Counter()
    for pid, p in made.items():
        at, ever_kept = team(p, p.get("agent_id")), pid in kept_ids
        outbound = p["direction"] == "outbound"
        sums[(at, "made")] += 1
        sums[(at, f"made {p['direction']} {p['kind']}")] += 1
        sums[(at, f"kept {p['direction']} {p['kind']}")] += ever_kept
        sums[(at, "ptp")] += outbound and p["kind"] == "promise_to_pay"
        sums[(at, "outbound kept")] += outbound and ever_kept
    seen_contacts: set[str] = set()
    for topic, p in valid:
        if topic == "promise" and p["status"] in ("kept", "broken") and p["promise_id"] in made:
            # the outcome counts under its own tenant, for the maker
            sums[(team(p, made[p["promise_id"]].get("agent_id")), p["status"])] += 1
        if topic == "contact" and p["contact_id"] not in seen_contacts:
            seen_contacts.add(p["contact_id"])
            if p["direction"] == "outbound":
                sums[(team(p, p.get("agent_id")), "rpcs")] += p["outcome"] == "right_party"
    return _gauges(sums)


def _teams(
    valid: Sequence[tuple[str, dict[str, Any]]], roster: Mapping[tuple[str, str], str]
) -> dict[tuple[str, str], str]:
    latest: dict[str, dict[str, Any]] = {}
    for topic, p in valid:
        if topic == "account" and p["version"] > latest.get(p["account_id"], {}).get("version", 0):
            latest[p["account_id"]] = p
    held: dict[tuple[str, str], str] = {}
    for a in latest.values():
        if a["status"] in ("open", "in_plan") and a.get("agent_id"):
            key = (a.get("tenant") or "", a["agent_id"])
            team = a.get("team") or UNASSIGNED
            held[key] = min(held.get(key, team), team)
    return {**held, **roster}


def _gauges(sums: Counter[tuple[tuple[str, str], str]]) -> dict[Key, float]:
    want: dict[Key, float] = {}

    def put(name: str, part: int, whole: int, at: dict[str, str]) -> None:
        if whole:
            want[(P + name, frozenset((k, v) for k, v in at.items() if v))] = part / whole

    splits = {kind.split(" ", 1)[1] for _, kind in sums if kind.startswith("made ")}
    for at in {at for at, _ in sums}:
        (team, tenant) = at
        rpcs, kept, broken = sums[(at, "rpcs")], sums[(at, "kept")], sums[(at, "broken")]
        for window in TEAM_WINDOWS:
            labels = {"team": team, "tenant": tenant, "window": window}
            put("team_outbound_ptp_per_rpc_ratio", sums[(at, "ptp")], rpcs, labels)
            put("team_outbound_kept_per_rpc_ratio", sums[(at, "outbound kept")], rpcs, labels)
            put("team_promise_kept_ratio", kept, kept + broken, labels)
            if sums[(at, "made")] or kept or broken:
                put("team_promises_made", sums[(at, "made")], 1, labels)
            for split in splits:
                direction, kind = split.split(" ")
                cohort = labels | {"direction": direction, "kind": kind}
                whole = sums[(at, f"made {split}")]
                put("team_promise_kept_cohort_ratio", sums[(at, f"kept {split}")], whole, cohort)
    return want


__all__ = ["TEAM_FAMILIES", "TEAM_RATIOS", "UNASSIGNED", "team_samples"]
