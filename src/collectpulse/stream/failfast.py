"""Exit the worker when a batch fails for a reason retrying cannot fix.

Outages are waited out (``stream.retry``); anything else escaping an agent
(a Redis error reply such as OOM, a bug) must not reach Faust: faust-streaming
0.15.3 acknowledges a batch in a ``finally`` even when the agent raises, then
restarts the agent in the same process, whose next batch of that partition
would move the store's applied offset past the failed one, and lose it. Exiting
at once, before control returns to the stream, leaves the failed batch
unapplied and unacknowledged; whoever owns the partition next resumes from the
store's offset (kpi-catalog section 6), as after a kill -9.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

log = logging.getLogger(__name__)

EXIT_BATCH_FAILED = 70
"""The worker's exit code after such a failure (EX_SOFTWARE)."""


def exit_on_batch_failure(exc: BaseException, where: str) -> NoReturn:
    """Log why (the error type and text, which carry no event data) and exit now."""
    log.critical(
        "%s: a batch failed with %s: %s; exiting with code %d without acknowledging it, so "
        "that no later batch is applied past it (the partition resumes from the store's "
        "offset)",
        where,
        type(exc).__name__,
        exc,
        EXIT_BATCH_FAILED,
        exc_info=exc,
    )
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_BATCH_FAILED)


def each_batch(
    apply: Callable[[Any], Awaitable[None]], where: str
) -> Callable[[Any], Awaitable[None]]:
    """An agent body applying ``apply`` to each batch of its stream, exiting the worker
    on a failure retrying cannot fix (outages are waited out inside ``apply``)."""

    async def agent(stream: Any) -> None:
        async for batch in stream:
            try:
                await apply(batch)
            except Exception as exc:
                exit_on_batch_failure(exc, where)

    return agent


__all__ = ["EXIT_BATCH_FAILED", "each_batch", "exit_on_batch_failure"]
