"""A cost's tenant label (store.tenant_label): the tenant label's cap and redaction."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

from collectpulse.store.client import StoreClient
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.tenant_label import TenantLabels


class FakeRegistry:
    """``register_script`` of admit_labels.lua's rule: admit while the set holds < cap."""

    def __init__(self) -> None:
        self.sets: dict[str, list[str]] = {}
        self.calls = 0

    def register_script(self, source: str) -> Any:
        assert "SCARD" in source  # the admit_labels script, not another

        async def admit(keys: Sequence[str], args: Sequence[Any]) -> list[int]:
            self.calls += 1
            held = self.sets.setdefault(keys[0], [])
            out = []
            for value in args[1:]:
                if value not in held and len(held) < int(args[0]):
                    held.append(value)
                out.append(int(value in held))
            return out

        return admit


def labels(cap: int) -> tuple[TenantLabels, FakeRegistry]:
    registry = FakeRegistry()
    return TenantLabels(cast(StoreClient, registry), "cp", cap), registry


def test_tenants_over_the_cap_are_reported_as_other() -> None:
    tenant, registry = labels(cap=2)

    async def run() -> list[str]:
        return [await tenant.report(t) for t in ("acme", "beta", "gamma", "acme", "beta")]

    assert asyncio.run(run()) == ["acme", "beta", "__other__", "acme", "beta"]
    assert registry.sets == {"cp:{labels}:tenant": ["acme", "beta"]}
    assert registry.calls == 3  # an admitted tenant is not asked again


def test_personal_looking_tenants_are_redacted_and_not_admitted() -> None:
    tenant, registry = labels(cap=5)

    async def run() -> list[str]:
        values = ("jane@example.com", "+44 7700 900123", "https://x.io", f"a{FIELD_SEP}b", None)
        return [await tenant.report(t) for t in values]

    assert asyncio.run(run()) == ["__redacted__", "__redacted__", "__redacted__", "__other__", ""]
    assert registry.calls == 0
