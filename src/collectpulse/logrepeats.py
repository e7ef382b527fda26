"""Let a library's repeated log line through once a minute, not once per retry.

While Kafka is down, aiokafka logs an ERROR per failed connect, fetch and
coordinator lookup, many a second. collectpulse logs the outage itself, once
when it starts and once when it ends (``dependencies``); the library's lines
add detail the first time and noise after that. Each distinct message
template of the named loggers passes at most once per ``window_s``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

REPEAT_WINDOW_S = 60.0


class RepeatFilter(logging.Filter):
    """Drops a record whose logger, level and template passed within ``window_s``."""

    def __init__(
        self, window_s: float = REPEAT_WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._window_s = window_s
        self._clock = clock
        self._passed: dict[tuple[str, int, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        last = self._passed.get(key)
        if last is not None and now - last < self._window_s:
            return False
        self._passed[key] = now
        return True


def quiet_repeats(prefix: str, window_s: float = REPEAT_WINDOW_S) -> RepeatFilter:
    """Attach one ``RepeatFilter`` to every logger under ``prefix`` that exists now.

    A filter on a logger sees only the records logged on it, so each module's
    logger gets it; call this after the library is imported.
    """
    repeats = RepeatFilter(window_s)
    names = [prefix, *(n for n in logging.root.manager.loggerDict if n.startswith(prefix + "."))]
    for name in names:
        logging.getLogger(name).addFilter(repeats)
    return repeats
