"""Up or down, per dependency (Redis, Kafka), with exactly one log line per change.

Many callers report on the same dependency at once: the worker's agents (one
per topic and partition group), its probe, the exporter's scrapes and
readiness checks. Reports arrive out of order: an attempt that started before
Redis came back can fail after another attempt already succeeded. Each
attempt therefore takes a ticket when it starts (``attempt()``), and a report
changes the state only when its attempt started after the one that caused the
last change. A dependency goes down on the second failure not followed by a
newer success: one failed command retried at once with success (a pooled
connection to a restarted Redis answers "Connection closed by server" once)
is not an outage. So one outage is one "down" line and one "up" line, whatever
the number of callers and retries, and never a flap from a stale report.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

DEPENDENCIES = ("redis", "kafka")
FAILURES_TO_GO_DOWN = 2
MAX_REASON_CHARS = 200


def describe(exc: BaseException) -> str:
    """Class and message of a failure, short enough for a log line and a heartbeat."""
    name, text = type(exc).__name__, " ".join(str(exc).split())
    out = text if text.startswith(name) else f"{name}: {text}" if text else name
    return out[:MAX_REASON_CHARS]


@dataclass
class _State:
    up: bool = True
    reason: str = ""
    changed_by: int = -1
    """Ticket of the attempt that caused the last change."""
    down_since: float = 0.0
    failures: int = 0
    streak: list[int] = field(default_factory=list)
    """While up: tickets of failures newer than the newest success."""


class Dependencies:
    """The up/down state of each dependency as seen by one process."""

    def __init__(
        self,
        log: logging.Logger,
        names: Iterable[str] = DEPENDENCIES,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._clock = clock
        self._tickets = itertools.count()
        self._states = {name: _State() for name in names}

    def attempt(self) -> int:
        """A ticket for an attempt about to start; pass it to ``failed`` or ``worked``."""
        return next(self._tickets)

    def failed(self, name: str, reason: str, ticket: int) -> None:
        state = self._states[name]
        state.failures += 1
        if ticket < state.changed_by:
            return  # started before the last change: it says nothing newer
        if not state.up:
            state.reason = reason
            return
        state.streak.append(ticket)
        if len(state.streak) < FAILURES_TO_GO_DOWN:
            return
        state.up, state.reason, state.changed_by = False, reason, ticket
        state.down_since, state.failures, state.streak = self._clock(), len(state.streak), []
        self._log.warning("dependency %s down: %s; retrying with backoff", name, reason)

    def worked(self, name: str, ticket: int) -> None:
        state = self._states[name]
        if state.up:
            # failures of attempts that started before this success are old news
            state.streak = [t for t in state.streak if t > ticket]
            return
        if ticket < state.changed_by:
            return
        self._log.warning(
            "dependency %s up again after %.1f s down (%d failed attempts, last: %s)",
            name,
            self._clock() - state.down_since,
            state.failures,
            state.reason,
        )
        state.up, state.reason, state.changed_by, state.failures = True, "", ticket, 0

    def is_up(self, name: str) -> bool:
        return self._states[name].up

    def down(self) -> dict[str, str]:
        """The dependencies that are down, with the reason of their last failure."""
        return {name: s.reason for name, s in self._states.items() if not s.up}

    @property
    def healthy(self) -> bool:
        return all(s.up for s in self._states.values())

    @property
    def reason(self) -> str:
        """``"redis: <why>; kafka: <why>"`` for the dependencies that are down."""
        return "; ".join(f"{name}: {why}" for name, why in self.down().items())
