"""Reading and evaluating the customer-level experiments (section 10) for a store view.

For each configured campaign (``store.experiment_config``) the per-partition
unit counts (``store.experiment_units``) are summed, from the experiment's
``started_at`` on: exposed customers per arm for the sample-ratio check,
matured ones (exposed at least a horizon ago) and their conversions for the
anytime-valid comparison with control. Each evaluation lowers the stored
running minimum of the always-valid p-value (a Lua min-update), so every
exporter and the live page report the same p-value and verdict, whichever
evaluated last. Reads span slots; each write is one call in ``{experiments}``.

Per segment (K23) the same figures are computed from the per-segment counts, each
with its own running minimum: descriptive, not for decisions. They are not
corrected for the number of segments (which grows as segments appear, so no fixed
correction fits), carry no SRM check and no verdict; only a segment registered
before the start may be read as a test of its own (docs/EXPERIMENTS.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from collectpulse.kpi.experiment import Arm
from collectpulse.kpi.sequential import ArmResult, evaluate_arms
from collectpulse.kpi.srm import SrmResult, srm_check
from collectpulse.settings import Settings, duration_s
from collectpulse.store.client import StoreClient
from collectpulse.store.experiment_config import ExperimentConfig, ExperimentStore, minimum_field
from collectpulse.store.experiment_units import (
    CONVERTED,
    CROSSOVER,
    UNITS,
    exposure_bucket_s,
    units_key,
)
from collectpulse.store.keys import FIELD_SEP, Keys


@dataclass
class ArmCounts:
    """One arm's customers since the start: all exposed, matured, matured and converted."""

    exposed: int = 0
    matured: int = 0
    converted: int = 0


@dataclass(frozen=True)
class SegmentResult:
    """One segment of an experiment: its customers' counts and comparisons (descriptive)."""

    segment: str
    arms: Mapping[str, ArmCounts]
    crossovers: int
    comparisons: tuple[ArmResult, ...] = field(default=())


@dataclass(frozen=True)
class ExperimentResult:
    """One experiment (campaign and tenant) as evaluated at one read."""

    campaign: str
    tenant: str
    config: ExperimentConfig
    arms: Mapping[str, ArmCounts]
    """Every arm of the split, in name order (zero counts for an arm not exposed yet)."""
    crossovers: int
    srm: SrmResult | None
    comparisons: tuple[ArmResult, ...] = field(default=())
    """Each variant against control, with the stored running-minimum p-value."""
    segments: tuple[SegmentResult, ...] = field(default=())
    """The same by the customers' segment, in segment order (K23)."""


Counted = dict[tuple[str, ...], tuple[dict[str, ArmCounts], int]]


def counts_by_experiment(
    raw: Sequence[Mapping[Any, Any]],
    configs: Mapping[str, ExperimentConfig],
    *,
    now_s: int,
    horizon_s: int,
    segmented: bool = False,
) -> Counted:
    """(campaign, tenant) -> (arm -> counts, crossovers), summed over the partitions' hashes
    (``HGETALL`` replies: field and count as bytes or str); ``segmented``:
    (campaign, tenant, segment) from the per-segment fields."""
    bucket_s = exposure_bucket_s(horizon_s)
    out: Counted = {}
    crossovers: dict[tuple[str, ...], int] = defaultdict(int)
    arms: dict[tuple[str, ...], dict[str, ArmCounts]] = defaultdict(dict)
    width = 6 if segmented else 5
    for fields in raw:
        for name, value in fields.items():
            text = name.decode() if isinstance(name, bytes) else name
            parts = text.split(FIELD_SEP)
            if len(parts) != width or parts[0] not in configs:
                continue
            campaign, arm, tenant, kind, start = parts[:5]
            key = (campaign, tenant, *parts[5:])
            config = configs[campaign]
            bucket = int(start)
            if bucket < -(-config.started_s // bucket_s) * bucket_s:
                continue  # exposed before the start (rounded up to a bucket)
            count = int(value)
            if kind == CROSSOVER:
                crossovers[key] += count
                arms.setdefault(key, {})  # an experiment with crossovers only
                continue
            if arm not in config.variants:
                continue  # a variant outside the split: not part of this experiment
            counts = arms[key].setdefault(arm, ArmCounts())
            matured = bucket + bucket_s + horizon_s <= now_s
            if kind == UNITS:
                counts.exposed += count
                counts.matured += count if matured else 0
            elif kind == CONVERTED and matured:
                counts.converted += count
    for key, by_arm in arms.items():
        variants = configs[key[0]].variants
        out[key] = ({v: by_arm.get(v, ArmCounts()) for v in sorted(variants)}, crossovers[key])
    return out


async def read_experiments(
    client: StoreClient, settings: Settings, partitions: Sequence[int], now_s: int
) -> tuple[ExperimentResult, ...]:
    """Every configured experiment with exposures, evaluated now; minima lowered in the store."""
    store = ExperimentStore(client, settings.key_prefix)
    configs = await store.configs()
    if not configs:
        return ()
    keys = Keys(settings.key_prefix)
    pipe = client.pipeline(transaction=False)
    for p in partitions:
        for campaign in configs:
            pipe.hgetall(units_key(keys.tag(p), campaign))
    raw = await pipe.execute() if partitions else []
    horizon_s = duration_s(settings.experiment_horizon)
    counted = counts_by_experiment(raw, configs, now_s=now_s, horizon_s=horizon_s)
    by_segment = counts_by_experiment(
        raw, configs, now_s=now_s, horizon_s=horizon_s, segmented=True
    )
    overall: dict[tuple[str, ...], SrmResult | None] = {}
    for key, (arms, _) in counted.items():
        exposed = {arm: counts.exposed for arm, counts in arms.items()}
        overall[key] = srm_check(exposed, configs[key[0]].variants)
    groups = {key: (arms, overall[key]) for key, (arms, _) in counted.items()}
    # a segment's comparisons carry no SRM check: the experiment's gates the verdict
    groups |= {key: (arms, None) for key, (arms, _) in by_segment.items()}
    compared = await _compare(store, configs, groups, settings)
    results = []
    for key, (arms, crossovers) in sorted(counted.items()):
        campaign, tenant = key
        segments = tuple(
            SegmentResult(seg_key[2], seg_arms, seg_crossovers, compared[seg_key])
            for seg_key, (seg_arms, seg_crossovers) in sorted(by_segment.items())
            if seg_key[:2] == key
        )
        config = configs[campaign]
        results.append(
            ExperimentResult(
                campaign, tenant, config, arms, crossovers, overall[key], compared[key], segments
            )
        )
    return tuple(results)


async def _compare(
    store: ExperimentStore,
    configs: Mapping[str, ExperimentConfig],
    groups: Mapping[tuple[str, ...], tuple[Mapping[str, ArmCounts], SrmResult | None]],
    settings: Settings,
) -> dict[tuple[str, ...], tuple[ArmResult, ...]]:
    """``evaluate_arms`` per (campaign, tenant[, segment]) with the running minima kept in the
    store: every group's minima lowered in one call, then read back in one."""
    min_units = settings.experiment_min_sample

    def evaluate(
        key: tuple[str, ...], previous: Mapping[str, float] | None
    ) -> tuple[ArmResult, ...]:
        arms, srm = groups[key]
        config = configs[key[0]]
        units = [Arm(name, c.converted, c.matured) for name, c in arms.items()]
        return evaluate_arms(
            units,
            config.control,
            previous,
            srm,
            alpha=config.alpha,
            tuning_n=config.tuning_n,
            min_units=min_units,
        )

    fields: dict[tuple[str, ...], dict[str, str]] = {}
    current: dict[str, float] = {}
    for key in groups:
        campaign, tenant, *segment = key
        started_s = configs[campaign].started_s
        fields[key] = {}
        for r in evaluate(key, None):
            name = minimum_field(campaign, tenant, r.variant.variant, started_s, *segment)
            fields[key][r.variant.variant] = name
            if r.statistics is not None:
                current[name] = r.statistics.p_value
    stored = await store.lower_minima(current)
    names = [name for by_variant in fields.values() for name in by_variant.values()]
    stored |= await store.minima([name for name in names if name not in stored])
    return {
        key: evaluate(
            key, {variant: stored[name] for variant, name in by_variant.items() if name in stored}
        )
        for key, by_variant in fields.items()
    }
