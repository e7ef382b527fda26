"""The shutdown watchdog ends the process once, with code 3, after the timeout it was given."""

from __future__ import annotations

import threading

from collectpulse.stream.shutdown import SHUTDOWN_TIMED_OUT, ShutdownWatchdog


def test_the_watchdog_exits_with_code_3_once_the_timeout_is_over() -> None:
    exited: list[int] = []
    done = threading.Event()

    def exit_process(code: int) -> None:
        exited.append(code)
        done.set()

    watchdog = ShutdownWatchdog(0.05, exit_process=exit_process)
    watchdog.arm("SIGTERM")
    watchdog.arm("SIGTERM")  # a second signal neither re-arms nor extends it
    assert done.wait(10)
    assert exited == [SHUTDOWN_TIMED_OUT]


def test_an_unarmed_watchdog_never_exits() -> None:
    exited: list[int] = []
    watchdog = ShutdownWatchdog(0.01, exit_process=exited.append)
    watchdog.finished()
    assert exited == []


def test_the_worker_keeps_the_root_logger_at_the_requested_level() -> None:
    """Faust's spinner would set it to DEBUG at -l warn: every library debug call would
    then build a log record on the hot path."""
    import logging

    import faust

    from collectpulse.stream.shutdown import worker_class

    root = logging.getLogger("collectpulse-test-root")
    root.addHandler(logging.NullHandler())
    root.setLevel(logging.WARN)
    worker = worker_class(ShutdownWatchdog(1.0))(faust.App("collectpulse-test-logger"))
    worker.on_setup_root_logger(root, logging.WARN)
    assert root.level == logging.WARN
    assert not root.isEnabledFor(logging.DEBUG)
