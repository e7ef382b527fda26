"""Pace a producer to a rate: a token bucket that sleeps once per chunk, not per record."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

# Records are released in chunks of about this much time at the target rate:
# small enough to look smooth on a dashboard, large enough to keep sleeps rare.
CHUNK_S = 0.05
MAX_CHUNK = 1000


def chunk_size(rate_per_s: float) -> int:
    """How many records to release per sleep at `rate_per_s`."""
    return max(1, min(MAX_CHUNK, round(rate_per_s * CHUNK_S)))


class TokenBucket:
    """Grants `rate_per_s` tokens a second, holding at most `burst` unspent."""

    def __init__(
        self,
        rate_per_s: float,
        *,
        burst: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not rate_per_s > 0:
            raise ValueError(f"rate_per_s must be positive, got {rate_per_s}")
        if not burst >= 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self._rate_per_s = rate_per_s
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._refilled_at = clock()

    async def take(self, tokens: int) -> None:
        """Spend `tokens`, sleeping once for any the bucket does not hold yet."""
        self._refill()
        self._tokens -= tokens
        if self._tokens < 0:
            # The debt is paid by sleeping; tokens earned meanwhile clear it.
            await self._sleep(-self._tokens / self._rate_per_s)
            self._refill()

    def _refill(self) -> None:
        now = self._clock()
        earned = (now - self._refilled_at) * self._rate_per_s
        self._tokens = min(self._burst, self._tokens + earned)
        self._refilled_at = now


__all__ = ["CHUNK_S", "MAX_CHUNK", "TokenBucket", "chunk_size"]
