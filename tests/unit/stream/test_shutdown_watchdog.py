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
