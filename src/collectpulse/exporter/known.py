"""The label sets the exporter reports as 0 when the store has no count for them.

``increase(x[1h]) == 0`` and ``absent(x)`` alerts need a series to exist before its
first increment, so every known label combination is exported, with 0 when nothing
happened. "Known" is derived from what the store holds, never guessed, so
cardinality stays bounded by the label cap:

- closed label sets (``bounce_type``, ``status``, ``source``, ``direction``, ``kind``,
  canonical ``topic``, invalid ``reason``, provider skip ``kind``) are fully enumerated;
- funnel counters (``channel``, ``campaign``, ``variant``, ``segment``, ``tenant``):
  every combination any funnel counter has counted, all-time;
- tenant-level counters: every tenant seen in a count or admitted in the tenant
  registry (``cp:{labels}:tenant``); money: the currencies that tenant has used;
- provider tallies: the providers that have tallied anything;
- ``label_overflows``: every capped label;
- contact attempts: every counted series, with every outcome.

Open labels the store never saw (an agent without payments, a currency nobody paid
in) get no zero series. Response-time histograms are not pre-initialised: one per
channel x campaign x tenant would multiply the exposition by their 18 samples.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import get_args

from collectpulse.events.decode import Reason
from collectpulse.events.models import Topic
from collectpulse.events.providers.common import SkipKind
from collectpulse.kpi.definitions import COUNTERS
from collectpulse.kpi.labels import FUNNEL_LABELS
from collectpulse.kpi.model import Counter
from collectpulse.kpi.ratios import CounterValues, LabelSet
from collectpulse.store.reader import REGISTRY_LABELS, StoreView

FUNNEL = tuple(label.name for label in FUNNEL_LABELS)
TOPICS = tuple(t.value for t in Topic)
CANONICAL_REASONS = tuple(r for r in get_args(Reason) if r != "provider_error")
"""Why a canonical record is dead-lettered (``provider_error`` is for raw payloads only)."""
PROVIDER_DLQ_REASONS = ("empty", "too_large", "provider_error")
"""Why a raw provider payload is dead-lettered (stream.normalise)."""
SKIP_KINDS = tuple(get_args(SkipKind))

_PER_COUNTER: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("events_invalid", "reason"): CANONICAL_REASONS,
    ("provider_records_dead_lettered", "reason"): PROVIDER_DLQ_REASONS,
    ("provider_events_skipped", "kind"): SKIP_KINDS,
    ("label_overflows", "label"): REGISTRY_LABELS,
}
_SPREAD: Mapping[str, str] = {"contact_attempts": "outcome"}
"""Counters with open labels (team, dialer campaign) whose known series are the ones
counted, each spread over every value of one closed label: a dialer campaign with
right-party contacts shows 0 wrong numbers rather than no series."""
_FOLLOW: Mapping[str, str] = {
    "landing_paying_customers_by_device": "landing_unique_visitors_by_device",
    "landing_installment_plans_by_device": "landing_unique_visitors_by_device",
}
"""Counters with an open label (device) that follow another's series: a device with
visitors shows 0 paying customers rather than no series (and its conversion, 0)."""
_OPTIONAL_EMPTY = frozenset({"agent"})
"""Open optional labels pre-initialised only as "" (no agent), never per value."""

Combo = dict[str, str]


def known_label_sets(view: StoreView, totals: CounterValues) -> dict[str, frozenset[LabelSet]]:
    """Counter name -> the label sets to export (0 when uncounted), from ``view``."""
    seen = _seen(totals, view.windows.values())
    funnel = _funnel_combos(seen)
    tenants = _tenants(seen, view.label_values.get("tenant", frozenset()))
    currencies = _currencies_by_tenant(seen)
    providers = _values_of(seen, "provider")
    out: dict[str, frozenset[LabelSet]] = {}
    for counter in COUNTERS:
        followed = _FOLLOW.get(counter.name)
        if followed is not None:
            own = seen.get(counter.name, set())
            out[counter.name] = frozenset(own | seen.get(followed, set()))
            continue
        spread = _SPREAD.get(counter.name)
        if spread is not None:
            out[counter.name] = frozenset(_spread(counter, spread, seen.get(counter.name, set())))
            continue
        out[counter.name] = frozenset(_label_sets(counter, funnel, tenants, currencies, providers))
    return out


def _spread(counter: Counter, name: str, counted: set[LabelSet]) -> Iterable[LabelSet]:
    values = next(label.values for label in counter.labels if label.name == name)
    for series in counted:
        base = tuple(pair for pair in series if pair[0] != name)
        for value in values:
            yield tuple(sorted((*base, (name, value))))


def _label_sets(
    counter: Counter,
    funnel: list[Combo],
    tenants: list[str],
    currencies: Mapping[str, list[str]],
    providers: list[str],
) -> Iterable[LabelSet]:
    names = [label.name for label in counter.labels]
    if set(FUNNEL) <= set(names):
        bases = funnel
    elif "tenant" in names:
        bases = [{"tenant": t} for t in tenants]
    elif "topic" in names:
        bases = [{"topic": t} for t in TOPICS]
    elif "provider" in names:
        bases = [{"provider": p} for p in providers]
    else:
        bases = [{}]
    for base in bases:
        choices: list[list[tuple[str, str]]] = []
        for label in counter.labels:
            if label.name in base:
                continue
            values = _values(counter, label.name, label.values, base, currencies)
            if not values:
                break
            choices.append([(label.name, v) for v in values])
        else:
            for picked in itertools.product(*choices):
                yield tuple(sorted((*base.items(), *picked)))


def _values(
    counter: Counter,
    name: str,
    closed: tuple[str, ...],
    base: Combo,
    currencies: Mapping[str, list[str]],
) -> tuple[str, ...] | list[str]:
    if closed:
        return closed
    if (counter.name, name) in _PER_COUNTER:
        return _PER_COUNTER[(counter.name, name)]
    if name == "currency":
        return currencies.get(base.get("tenant", ""), [])
    if name in _OPTIONAL_EMPTY:
        return ("",)
    return ()


def _seen(totals: CounterValues, windows: Iterable[CounterValues]) -> dict[str, set[LabelSet]]:
    """Counter -> every label set with a count, all-time or in a window (distinct counts)."""
    out: dict[str, set[LabelSet]] = defaultdict(set)
    for values in (totals, *windows):
        for counter, series in values.items():
            out[counter].update(series)
    return out


def _funnel_combos(seen: Mapping[str, set[LabelSet]]) -> list[Combo]:
    combos: set[tuple[str, ...]] = set()
    for counter in COUNTERS:
        if {label.name for label in counter.labels} >= set(FUNNEL):
            for series in seen.get(counter.name, ()):
                labels = dict(series)
                combos.add(tuple(labels.get(name, "") for name in FUNNEL))
    return [dict(zip(FUNNEL, combo, strict=True)) for combo in sorted(combos)]


def _tenants(seen: Mapping[str, set[LabelSet]], registry: frozenset[str]) -> list[str]:
    return sorted(set(_values_of(seen, "tenant")) | registry)


def _currencies_by_tenant(seen: Mapping[str, set[LabelSet]]) -> dict[str, list[str]]:
    by_tenant: dict[str, set[str]] = defaultdict(set)
    for counter in ("collected_amount_minor", "attributed_amount_minor"):
        for series in seen.get(counter, ()):
            labels = dict(series)
            by_tenant[labels.get("tenant", "")].add(labels["currency"])
    return {tenant: sorted(values) for tenant, values in by_tenant.items()}


def _values_of(seen: Mapping[str, set[LabelSet]], name: str) -> list[str]:
    values = {
        value
        for series_set in seen.values()
        for series in series_set
        for label, value in series
        if label == name
    }
    return sorted(values)
