"""SIGTERM: finish the in-flight batches, but never take longer than the shutdown timeout.

On SIGTERM (or SIGINT) Faust's worker stops fetching, waits until every
delivered batch is acknowledged (``stream_wait_empty``: the agent has applied
it to Redis, together with the partition's applied offset), commits those
offsets to Kafka, then stops the agents. That wait has no bound: a batch
stuck on an unreachable Redis would hold the process forever. The watchdog,
armed by the signal, ends the process with ``SHUTDOWN_TIMED_OUT`` after
``COLLECTPULSE_SHUTDOWN_TIMEOUT``. Nothing is lost by that: an unacknowledged
batch's records are fetched again by the partition's next owner, which
resumes from the store's applied offset, so a write that did reach Redis is
not counted twice.

A thread, not an asyncio task, so it fires even when the event loop is blocked.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import faust

log = logging.getLogger(__name__)

SHUTDOWN_TIMED_OUT = 3
"""Exit code of a worker whose shutdown outlived the timeout."""


class ShutdownWatchdog:
    """Ends the process ``timeout_s`` after ``arm()`` unless it exited before."""

    def __init__(
        self, timeout_s: float, *, exit_process: Callable[[int], object] = os._exit
    ) -> None:
        self.timeout_s = timeout_s
        self._exit = exit_process
        self._timer: threading.Timer | None = None
        self._armed_at = 0.0

    def arm(self, signal_name: str) -> None:
        if self._timer is not None:
            return  # a second signal does not extend the deadline
        log.warning(
            "%s: finishing the in-flight batches, then exiting (at most %g s)",
            signal_name,
            self.timeout_s,
        )
        self._armed_at = time.monotonic()
        self._timer = threading.Timer(self.timeout_s, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        log.critical(
            "shutdown not finished %.1f s after the signal (COLLECTPULSE_SHUTDOWN_TIMEOUT): "
            "exiting with code %d; batches not acknowledged are applied by the next owner "
            "of their partition, from the store's offset, so nothing is lost or counted twice",
            time.monotonic() - self._armed_at,
            SHUTDOWN_TIMED_OUT,
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        self._exit(SHUTDOWN_TIMED_OUT)

    def finished(self) -> None:
        """The worker stopped and its loop is torn down; only the interpreter's exit is left
        (still bounded by the timer)."""
        if self._timer is None:
            return
        log.warning(
            "stopped %.1f s after the signal: in-flight batches applied and committed",
            time.monotonic() - self._armed_at,
        )


def worker_class(watchdog: ShutdownWatchdog) -> type[faust.Worker]:
    """Faust's worker, arming ``watchdog`` on SIGTERM and SIGINT (``App(Worker=...)``)."""

    class Worker(faust.Worker):
        def _on_sigterm(self) -> None:
            watchdog.arm("SIGTERM")
            super()._on_sigterm()

        def _on_sigint(self) -> None:
            watchdog.arm("SIGINT")
            super()._on_sigint()

        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            # Faust's terminal spinner sets the root logger to DEBUG at -l warn or
            # error, so every library debug call builds a record: ~5% of the CPU of
            # a live stream (py-spy). A service has no terminal to spin in.
            self.spinner = None
            super().on_setup_root_logger(logger, level)

        def stop_and_shutdown(self) -> None:
            # runs the stop the signal scheduled (wait for acks, commit), then the loop's teardown
            super().stop_and_shutdown()
            watchdog.finished()

    return Worker
