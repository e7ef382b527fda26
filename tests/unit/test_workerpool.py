"""The worker pool's supervisor: signals reach every child, one child's end ends them all.

The children are small real Python processes standing in for ``collectpulse worker``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from collectpulse.workerpool import child_env, supervise

Handler = Callable[[int, FrameType | None], None]

# exits 0 on SIGTERM after writing a file, so the test sees who received it
CHILD = """
import pathlib, signal, sys, time
out = pathlib.Path(sys.argv[1])
def stop(signum, frame):
    out.with_suffix(".stopped").write_text(str(signum))
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
out.with_suffix(".ready").write_text("")
exit_code = int(sys.argv[2])
if exit_code >= 0:
    sys.exit(exit_code)
while True:
    time.sleep(0.05)
"""


def child(tmp_path: Path, name: str, exit_code: int = -1) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / name), str(exit_code)])


def wait_ready(tmp_path: Path, *names: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not all((tmp_path / f"{n}.ready").exists() for n in names):
        assert time.monotonic() < deadline, "a child did not start"
        time.sleep(0.02)


def test_a_signal_to_the_supervisor_reaches_every_child_and_clean_ends_give_0(
    tmp_path: Path,
) -> None:
    children = [child(tmp_path, "a"), child(tmp_path, "b")]
    handlers: dict[int, Handler] = {}

    def install(sig: int, handler: Handler) -> None:
        handlers[sig] = handler

    def terminate_when_ready() -> None:
        wait_ready(tmp_path, "a", "b")
        handlers[signal.SIGTERM](signal.SIGTERM, None)

    thread = threading.Thread(target=terminate_when_ready)
    thread.start()
    code = supervise(children, install=install, stop_timeout_s=20, poll_s=0.02)
    thread.join()
    assert set(handlers) == {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    assert code == 0
    for name in ("a", "b"):
        assert (tmp_path / f"{name}.stopped").read_text() == str(int(signal.SIGTERM))


def test_one_child_ending_stops_the_others_and_its_exit_code_is_returned(
    tmp_path: Path,
) -> None:
    steady = child(tmp_path, "steady")
    wait_ready(tmp_path, "steady")  # its SIGTERM handler is in place
    children = [steady, child(tmp_path, "failing", exit_code=3)]
    code = supervise(children, install=lambda s, h: None, stop_timeout_s=20, poll_s=0.02)
    assert code == 3
    assert all(c.poll() is not None for c in children)
    assert (tmp_path / "steady.stopped").exists(), "the other child was not stopped"


def test_each_child_gets_a_data_dir_of_its_own(tmp_path: Path) -> None:
    dirs = {child_env(tmp_path, i)["COLLECTPULSE_DATA_DIR"] for i in range(4)}
    assert len(dirs) == 4 and all(d.startswith(str(tmp_path)) for d in dirs)
