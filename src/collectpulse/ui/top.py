"""``collectpulse top``: the headline KPIs and pipeline health in a terminal, every second.

It reads what ``/metrics`` reads: the exporter's ``StoreReader`` view of Redis
and, for consumer lag, the exporter's ``Broker`` log positions. The numbers are
the live page's model (``ui.model``) of that view, totalled by ``ui.headline``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace

from redis.exceptions import RedisError
from rich.console import Console, RenderableType
from rich.live import Live

from collectpulse.dependencies import describe
from collectpulse.exporter.broker import Broker, BrokerUnavailable, LogPositions
from collectpulse.exporter.health import Probes
from collectpulse.exporter.http import REDIS_TIMEOUT_S
from collectpulse.settings import Settings
from collectpulse.store.client import redis_client
from collectpulse.store.reader import StoreReader, StoreView
from collectpulse.ui.headline import Headline, headline
from collectpulse.ui.keys import key_presses
from collectpulse.ui.model import Filters, live_model
from collectpulse.ui.screen import frame

REFRESH_S = 1.0
_STORE_FAILURES = (RedisError, OSError, TimeoutError)


@dataclass(frozen=True)
class Selection:
    """What the user chose to look at: a window of ``Settings.windows`` and a tenant."""

    windows: tuple[str, ...]
    window_index: int = 0
    tenant: str | None = None
    """None: every tenant summed."""

    @property
    def window(self) -> str:
        return self.windows[self.window_index]

    def next_window(self) -> Selection:
        return replace(self, window_index=(self.window_index + 1) % len(self.windows))

    def next_tenant(self, tenants: tuple[str, ...]) -> Selection:
        """All tenants, then each known tenant in turn, then all again."""
        cycle: list[str | None] = [None, *tenants]
        at = cycle.index(self.tenant) if self.tenant in cycle else 0
        return replace(self, tenant=cycle[(at + 1) % len(cycle)])


@dataclass(frozen=True)
class Snapshot:
    """The latest read: the store view (None until one worked) and what went wrong."""

    view: StoreView | None = None
    positions: LogPositions | None = None
    store_error: str | None = None
    kafka_error: str | None = None


class Top:
    """The refresh loop and the key bindings around one ``Live`` display."""

    def __init__(self, settings: Settings, console: Console, *, refresh_s: float) -> None:
        self._settings = settings
        self._console = console
        self._refresh_s = refresh_s
        self.selection = Selection(windows=tuple(settings.windows))
        self.snapshot = Snapshot()
        self._shown: Headline | None = None
        self._changed = asyncio.Event()
        self._quit = asyncio.Event()

    def on_key(self, key: str) -> None:
        """q quits, w cycles the window, t the tenant; other keys are ignored."""
        key = key.lower()
        if key == "q":
            self._quit.set()
        elif key == "w":
            self.selection = self.selection.next_window()
        elif key == "t" and self._shown is not None:
            self.selection = self.selection.next_tenant(self._shown.tenants)
        else:
            return
        self._changed.set()

    @property
    def quitting(self) -> bool:
        return self._quit.is_set()

    def quit(self) -> None:
        self._quit.set()
        self._changed.set()

    def render(self) -> RenderableType:
        snap, sel = self.snapshot, self.selection
        self._shown = None
        if snap.view is not None:
            probes = Probes(kafka_error=snap.kafka_error, positions=snap.positions)
            model = live_model(
                snap.view,
                window=sel.window,
                filters=Filters(tenant=sel.tenant),
                min_sample=self._settings.experiment_min_sample,
                probes=probes,
            )
            self._shown = headline(model)
        problem = f"store (Redis): {snap.store_error}" if snap.store_error else None
        return frame(self._shown, window=sel.window, tenant=sel.tenant, problem=problem)

    async def run(self, stdin_fd: int) -> None:
        client = redis_client(self._settings)
        broker = Broker(self._settings)
        refresher = asyncio.create_task(self._refresh(StoreReader(client, self._settings), broker))
        try:
            with (
                key_presses(stdin_fd, self.on_key),
                Live(self.render(), console=self._console, screen=True, auto_refresh=False) as live,
            ):
                while not self._quit.is_set():
                    await self._changed.wait()
                    self._changed.clear()
                    live.update(self.render(), refresh=True)
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            await broker.close()
            await client.aclose()

    async def _refresh(self, reader: StoreReader, broker: Broker) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            self.snapshot = await read_snapshot(reader, broker, self.snapshot.view)
            self._changed.set()
            await asyncio.sleep(max(self._refresh_s - (loop.time() - started), 0.0))


async def read_snapshot(
    reader: StoreReader, broker: Broker, previous: StoreView | None
) -> Snapshot:
    """Read the store and Kafka's log positions side by side; on a store failure the
    previous view stays on screen with the error above it."""

    async def view() -> StoreView | str:
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_S):
                return await reader.read()
        except _STORE_FAILURES as exc:
            return (
                "no answer within the timeout" if isinstance(exc, TimeoutError) else describe(exc)
            )

    async def positions() -> LogPositions | str:
        try:
            return await broker.positions()
        except BrokerUnavailable as exc:
            return str(exc)

    got_view, got_positions = await asyncio.gather(view(), positions())
    return Snapshot(
        view=got_view if isinstance(got_view, StoreView) else previous,
        positions=got_positions if isinstance(got_positions, LogPositions) else None,
        store_error=got_view if isinstance(got_view, str) else None,
        kafka_error=got_positions if isinstance(got_positions, str) else None,
    )


def run_top(settings: Settings, *, refresh_s: float = REFRESH_S) -> int:
    """Show the view until q, Ctrl-C or SIGTERM; 0 on a clean exit."""

    async def main() -> None:
        top = Top(settings, Console(), refresh_s=refresh_s)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, top.quit)
        await top.run(sys.stdin.fileno())

    with _quiet_logs():
        asyncio.run(main())
    return 0


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """Failures are shown on the screen; log lines written under the live display would
    tear it, so they are held back while it runs."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        root.setLevel(level)
