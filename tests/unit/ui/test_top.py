"""``collectpulse top``'s key bindings and its terminal handling (a real pseudo-terminal)."""

from __future__ import annotations

import asyncio
import os
import termios

from rich.console import Console

from collectpulse.settings import Settings
from collectpulse.ui.keys import key_presses
from collectpulse.ui.top import Selection, Top


def test_w_cycles_the_configured_windows() -> None:
    selection = Selection(windows=("1h", "24h", "7d"))
    seen = []
    for _ in range(4):
        selection = selection.next_window()
        seen.append(selection.window)
    assert seen == ["24h", "7d", "1h", "24h"]


def test_t_cycles_all_tenants_then_each_one() -> None:
    selection = Selection(windows=("1h",))
    seen = []
    for _ in range(4):
        selection = selection.next_tenant(("acme", "bravo"))
        seen.append(selection.tenant)
    assert seen == ["acme", "bravo", None, "acme"]


def test_t_from_a_tenant_that_is_gone_starts_over() -> None:
    selection = Selection(windows=("1h",), tenant="gone")
    assert selection.next_tenant(("acme",)).tenant == "acme"


async def test_keys_change_the_selection_and_q_quits() -> None:
    top = Top(Settings(windows=("1h", "24h")), Console(), refresh_s=1.0)
    top.on_key("w")
    assert top.selection.window == "24h"
    top.on_key("x")
    assert top.selection.window == "24h"
    assert not top.quitting
    top.on_key("q")
    assert top.quitting


async def test_key_presses_arrive_unbuffered_and_the_terminal_is_restored() -> None:
    controller, terminal = os.openpty()
    try:
        before = termios.tcgetattr(terminal)
        got: list[str] = []
        arrived = asyncio.Event()

        def on_key(key: str) -> None:
            got.append(key)
            if len(got) == 2:
                arrived.set()

        with key_presses(terminal, on_key) as reading:
            assert reading
            # cbreak: no line buffering, no echo
            assert not termios.tcgetattr(terminal)[3] & (termios.ICANON | termios.ECHO)
            os.write(controller, b"wq")
            await asyncio.wait_for(arrived.wait(), timeout=5)
        assert got == ["w", "q"]
        assert termios.tcgetattr(terminal) == before
    finally:
        os.close(controller)
        os.close(terminal)


async def test_a_redirected_stdin_is_not_read() -> None:
    read_end, write_end = os.pipe()
    try:
        with key_presses(read_end, lambda key: None) as reading:
            assert not reading
    finally:
        os.close(read_end)
        os.close(write_end)
