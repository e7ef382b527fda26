"""Reading and evaluating the customer-level experiments (section 10) for a store view.

For each configured campaign (``store.experiment_config``) the per-partition
unit counts (``store.experiment_units``) are summed, from the experiment's
``started_at`` on: exposed customers per arm for the sample-ratio check,
matured ones (exposed at least a horizon ago) and their conversions for the
anytime-valid comparison with control. Each evaluation lowers the stored
running minimum of the always-valid p-value (a Lua min-update), so every
exporter and the live page report the same p-value and verdict, whichever
evaluated last. Reads span slots; each write is one call in ``{experiments}``.
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


def counts_by_experiment(
    raw: Sequence[Mapping[Any, Any]],
    configs: Mapping[str, ExperimentConfig],
    *,
    now_s: int,
    horizon_s: int,
) -> dict[tuple[str, str], tuple[dict[str, ArmCounts], int]]:
    """(campaign, tenant) -> (arm -> counts, crossovers), summed over the partitions' hashes
    (``HGETALL`` replies: field and count as bytes or str)."""
    bucket_s = exposure_bucket_s(horizon_s)
    out: dict[tuple[str, str], tuple[dict[str, ArmCounts], int]] = {}
    crossovers: dict[tuple[str, str], int] = defaultdict(int)
    arms: dict[tuple[str, str], dict[str, ArmCounts]] = defaultdict(dict)
    for fields in raw:
        for name, value in fields.items():
            text = name.decode() if isinstance(name, bytes) else name
            parts = text.split(FIELD_SEP)
            if len(parts) != 5 or parts[0] not in configs:
                continue
            campaign, arm, tenant, kind, start = parts
            config = configs[campaign]
            bucket = int(start)
            if bucket < -(-config.started_s // bucket_s) * bucket_s:
                continue  # exposed before the start (rounded up to a bucket)
            count = int(value)
            if kind == CROSSOVER:
                crossovers[(campaign, tenant)] += count
                arms.setdefault((campaign, tenant), {})  # an experiment with crossovers only
                continue
            if arm not in config.variants:
                continue  # a variant outside the split: not part of this experiment
            counts = arms[(campaign, tenant)].setdefault(arm, ArmCounts())
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
    results = []
    for (campaign, tenant), (arms, crossovers) in sorted(counted.items()):
        config = configs[campaign]
        exposed = {arm: counts.exposed for arm, counts in arms.items()}
        srm = srm_check(exposed, config.variants)
        comparisons = await _compare(store, config, tenant, arms, srm, settings)
        results.append(
            ExperimentResult(campaign, tenant, config, arms, crossovers, srm, comparisons)
        )
    return tuple(results)


async def _compare(
    store: ExperimentStore,
    config: ExperimentConfig,
    tenant: str,
    arms: Mapping[str, ArmCounts],
    srm: SrmResult | None,
    settings: Settings,
) -> tuple[ArmResult, ...]:
    """``evaluate_arms`` with the running minima kept in the store (lowered first)."""
    units = [Arm(name, c.converted, c.matured) for name, c in arms.items()]
    alpha, tuning_n, min_units = config.alpha, config.tuning_n, settings.experiment_min_sample
    now = evaluate_arms(
        units, config.control, srm=srm, alpha=alpha, tuning_n=tuning_n, min_units=min_units
    )
    fields = {
        r.variant.variant: minimum_field(
            config.campaign, tenant, r.variant.variant, config.started_s
        )
        for r in now
    }
    current = {
        fields[r.variant.variant]: r.statistics.p_value for r in now if r.statistics is not None
    }
    stored = await store.lower_minima(current)
    stored |= await store.minima([name for name in fields.values() if name not in stored])
    previous = {variant: stored[name] for variant, name in fields.items() if name in stored}
    return evaluate_arms(
        units, config.control, previous, srm, alpha=alpha, tuning_n=tuning_n, min_units=min_units
    )
