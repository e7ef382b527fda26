"""Single key presses from a terminal, delivered to a callback on the asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import tty
from collections.abc import Callable, Iterator

READ_BYTES = 64


@contextlib.contextmanager
def key_presses(fd: int, on_key: Callable[[str], None]) -> Iterator[bool]:
    """Call ``on_key`` with each character typed on ``fd`` while the block runs.

    The terminal is put in cbreak mode (keys arrive unbuffered and unechoed; Ctrl-C
    still interrupts) and restored on exit. Yields False, reading nothing, when
    ``fd`` is not a terminal (stdin redirected): the view then runs until a signal.
    """
    if not os.isatty(fd):
        yield False
        return
    loop = asyncio.get_running_loop()
    saved = termios.tcgetattr(fd)

    def readable() -> None:
        data = os.read(fd, READ_BYTES)
        if not data:  # the terminal went away: stop watching rather than spin
            loop.remove_reader(fd)
            return
        for char in data.decode(errors="replace"):
            on_key(char)

    tty.setcbreak(fd)
    loop.add_reader(fd, readable)
    try:
        yield True
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
