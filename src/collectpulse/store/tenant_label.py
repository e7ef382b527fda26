"""The ``tenant`` label of a record read outside the partition writer (the cost agent).

The same registry, cap and redaction as every other tenant label (``store.label_slots``):
a value that looks personal is reported as ``__redacted__`` and one holding a key
separator as ``__other__`` (``screened_label``), neither admitted;
any other is admitted into ``cp:{labels}:tenant`` while it holds fewer than
``label_cap`` values, else reported as ``__other__``. So a cost's tenant joins K10 and
the contact attempts, which carry the same reported label.
"""

from __future__ import annotations

from collectpulse.kpi.labels import OTHER_VALUE
from collectpulse.store.client import StoreClient
from collectpulse.store.context import screened_label
from collectpulse.store.keys import Keys
from collectpulse.store.scripts import _source

LABEL = "tenant"


class TenantLabels:
    """Admits tenants into the capped registry and gives their reported label value."""

    def __init__(self, client: StoreClient, prefix: str, cap: int) -> None:
        self._admit = client.register_script(_source("admit_labels"))
        self._key = Keys(prefix).labels(LABEL)
        self._cap = cap
        self._admitted: set[str] = set()  # admitted stays admitted: no second call

    async def report(self, tenant: str | None) -> str:
        """The label value ``tenant`` is reported as ('' for no tenant)."""
        if not tenant:
            return ""
        screened = screened_label(tenant)
        if screened is not None:
            return screened
        if tenant not in self._admitted:
            reply = await self._admit(keys=[self._key], args=[self._cap, tenant])
            if not int(reply[0]):
                return OTHER_VALUE
            self._admitted.add(tenant)
        return tenant


__all__ = ["TenantLabels"]
