"""Drive a terminal program for real: a tmux server of its own, keys in, the screen out."""

from __future__ import annotations

import asyncio
import shlex
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Terminal:
    """One tmux session on a private socket (so tests never see each other's servers)."""

    socket: str
    session: str
    exit_code_file: Path
    stderr_file: Path

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def screen(self) -> str:
        """The visible pane, as text (``capture-pane -p``); fails with the program's exit
        code and stderr once it has exited (its session is gone)."""
        try:
            return self._tmux("capture-pane", "-p", "-t", self.session)
        except subprocess.CalledProcessError:
            code = self.exit_code_file.read_text().strip() if self.exit_code_file.exists() else "?"
            stderr = self.stderr_file.read_text() if self.stderr_file.exists() else ""
            raise AssertionError(f"the program exited with {code}; stderr:\n{stderr}") from None

    def press(self, key: str) -> None:
        self._tmux("send-keys", "-t", self.session, "-l", key)

    async def wait_for_screen(
        self, done: Callable[[str], bool], *, timeout_s: float, poll_s: float = 0.1
    ) -> str:
        """Capture until ``done(screen)`` holds; on timeout, the last capture (the test
        asserts on it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        screen = self.screen()
        while not done(screen) and loop.time() < deadline:
            await asyncio.sleep(poll_s)
            screen = self.screen()
        return screen

    async def exit_code(self, *, timeout_s: float) -> int | None:
        """The program's exit code once it has exited; None if it still runs at the deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            text = self.exit_code_file.read_text() if self.exit_code_file.exists() else ""
            if text.endswith("\n"):
                return int(text)
            await asyncio.sleep(0.1)
        return None


@contextmanager
def terminal(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    workdir: Path,
    width: int = 140,
    height: int = 60,
) -> Iterator[Terminal]:
    """Run ``command`` in a detached ``width`` x ``height`` tmux pane with ``env`` (the new
    server copies it); its stderr and exit code go to files in ``workdir``. The server is
    killed on exit."""
    socket = f"cp-test-{uuid.uuid4().hex[:8]}"
    rc_file, stderr_file = workdir / f"{socket}.rc", workdir / f"{socket}.stderr"
    shell = (
        f"{shlex.join(command)} 2>{shlex.quote(str(stderr_file))}; "
        f"echo $? > {shlex.quote(str(rc_file))}"
    )
    size = ["-x", str(width), "-y", str(height)]
    subprocess.run(
        ["tmux", "-L", socket, "new-session", "-d", "-s", "main", *size, shell],
        env=dict(env),
        check=True,
    )
    term = Terminal(socket, "main", rc_file, stderr_file)
    # the server leaves its socket file behind when the program's exit ends it
    socket_path = Path(term._tmux("display-message", "-p", "#{socket_path}").strip())
    try:
        yield term
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
        socket_path.unlink(missing_ok=True)
