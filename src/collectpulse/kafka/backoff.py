"""Pause after a failed metadata refresh, so a stopped broker is not polled in a busy loop.

When a partition has no known leader, aiokafka's producer sender and fetcher
call ``force_metadata_update()`` and wait only for it; with no broker
answering, the refresh fails at once (connection refused) and they ask again.
With the broker stopped, one worker made about 900 failed refreshes a second,
two ERROR log lines each (``tests/integration/test_degraded.py``, before this
pause). Pausing after a failed refresh bounds that to one a second; a refresh
that works is not delayed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiokafka
from aiokafka.client import AIOKafkaClient

AIOKAFKA_VERSION = "0.14.0"
FAILED_REFRESH_PAUSE_S = 1.0
_installed = False


def install(pause_s: float = FAILED_REFRESH_PAUSE_S) -> None:
    """Wrap ``AIOKafkaClient._metadata_update`` (private; checked for this aiokafka pin)."""
    if aiokafka.__version__ != AIOKAFKA_VERSION:
        raise RuntimeError(
            f"{__name__} wraps a private method of aiokafka {AIOKAFKA_VERSION}, but "
            f"{aiokafka.__version__} is installed: re-check it before changing the pin"
        )
    global _installed
    if _installed:
        return
    original = AIOKafkaClient._metadata_update

    async def _metadata_update(self: AIOKafkaClient, *args: Any, **kwargs: Any) -> Any:
        updated = await original(self, *args, **kwargs)
        if not updated:
            await asyncio.sleep(pause_s)
        return updated

    AIOKafkaClient._metadata_update = _metadata_update
    _installed = True
