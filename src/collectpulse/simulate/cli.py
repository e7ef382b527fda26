"""The `collectpulse simulate` command: its flags, and running the publisher with them.

`cli.py` registers the flags with `add_arguments` and calls `run_simulate`,
which prints a one-line summary every 10 s and at the end, and returns the
process exit code. Ctrl-C or SIGTERM stops publishing cleanly, with a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import secrets
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import TextIO

from collectpulse.events.roster import AgentEvent, CostEvent, TargetEvent
from collectpulse.settings import Settings
from collectpulse.simulate.costs import cost_records
from collectpulse.simulate.exceptions import KafkaSetupError, SimulateError
from collectpulse.simulate.floor import floor_records
from collectpulse.simulate.named import (
    DEFAULT_NAME,
    SCENARIOS,
    NamedScenario,
    describe_scenarios,
    named_scenario,
)
from collectpulse.simulate.publisher import PublishReport, publish
from collectpulse.simulate.scenario import Scenario

PROGRESS_EVERY_S = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the `simulate` flags on `parser`; bad values are argparse errors."""
    parser.add_argument(
        "--scenario",
        choices=list(SCENARIOS),
        default=DEFAULT_NAME,
        metavar="NAME",
        help=f"named demo scenario: {', '.join(SCENARIOS)} (default {DEFAULT_NAME}); "
        "--list-scenarios says what each shows and which alert it fires",
    )
    parser.add_argument(
        "--list-scenarios",
        action="store_true",
        help="describe the named scenarios and exit",
    )
    parser.add_argument(
        "--rate", type=positive_float, default=200.0, help="records per second (default 200)"
    )
    parser.add_argument(
        "--duration", type=positive_float, default=None, help="stop after this many seconds"
    )
    parser.add_argument(
        "--total", type=_non_negative_int, default=None, help="stop after this many records"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="random seed for a reproducible stream (default: a fresh one, printed); "
        "a repeated seed repeats its event ids, which the service counts only once",
    )
    parser.add_argument(
        "--duplicates",
        type=_fraction,
        default=0.0,
        help="share of events published again later with the same event_id (default 0)",
    )
    parser.add_argument(
        "--poison",
        type=_fraction,
        default=0.0,
        help="share of malformed records, for the dead-letter path (default 0)",
    )
    parser.add_argument(
        "--out-of-order",
        type=_fraction,
        default=0.0,
        help="share of messages whose sent event arrives after their first other event",
    )
    parser.add_argument(
        "--delay-scale",
        type=positive_float,
        default=None,
        help="multiply customer delays (opens, payments, promise due dates); "
        "1 is realistic (default: the scenario's, 0.0001, so the funnel and "
        "promises complete within the demo's first minutes)",
    )
    parser.add_argument(
        "--start",
        type=_aware_datetime,
        default=None,
        help="event time live traffic starts at, after the scenario's history if it "
        "has one; RFC 3339 with offset (default: now)",
    )


def run_simulate(settings: Settings, args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Publish as `args` say; print progress and a summary to `out`; return the exit code."""
    out = out or sys.stdout
    if args.list_scenarios:
        print(describe_scenarios(), file=out)
        return 0
    try:
        named = named_scenario(args.scenario)
        scenario = replace(
            named.scenario,
            duplicate_rate=args.duplicates,
            out_of_order_rate=args.out_of_order,
            delay_scale=args.delay_scale or named.scenario.delay_scale,
        )
        seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
        limits = [f"{args.total} records"] if args.total is not None else []
        limits += [f"{args.duration:g} s"] if args.duration is not None else []
        _say(
            out,
            f"scenario {named.name}, seed {seed}, {args.rate:g} records/s to "
            f"{settings.topic('*')} at {settings.kafka_bootstrap_servers}, "
            f"until {' or '.join(limits) or 'interrupted'}",
        )
        if named.history is not None:
            _say(out, f"first {named.history.duration_s:g} s of history, published at once")
        report = asyncio.run(_run(settings, args, seed, named, scenario, out))
    except (SimulateError, KafkaSetupError) as exc:
        print(f"collectpulse simulate: {exc}", file=sys.stderr)
        return 1
    _say(out, f"done: {report.summary()}")
    return 0


async def _run(
    settings: Settings,
    args: argparse.Namespace,
    seed: int,
    named: NamedScenario,
    scenario: Scenario,
    out: TextIO,
) -> PublishReport:
    stop = asyncio.Event()
    with _stopping_on_signals(stop.set):
        return await publish(
            settings,
            rate_per_s=args.rate,
            total=args.total,
            duration_s=args.duration,
            seed=seed,
            scenario=scenario,
            start=args.start,
            history=named.history,
            poison_rate=args.poison,
            stop=stop,
            on_progress=lambda report: _say(out, report.summary()),
            on_live=lambda report: _say(out, f"history published ({report.total} records), live"),
            progress_every_s=PROGRESS_EVERY_S,
            experiments=named.experiments,
            reference=_reference(named, scenario, datetime.now(UTC)),
        )


def _reference(
    named: NamedScenario, scenario: Scenario, now: datetime
) -> list[AgentEvent | TargetEvent | CostEvent]:
    """Every run's monthly costs, then the roster and targets of a floor scenario."""
    floor = floor_records(scenario, now) if named.floor else []
    return [*cost_records(scenario, now), *floor]


@contextlib.contextmanager
def _stopping_on_signals(on_signal: Callable[[], None]) -> Iterator[None]:
    """Route SIGINT and SIGTERM to `on_signal` while publishing, where the loop allows it."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal)
        except (NotImplementedError, RuntimeError, ValueError):
            continue  # not the main thread, or no signals here: Ctrl-C cancels instead
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _say(out: TextIO, line: str) -> None:
    print(f"simulate: {line}", file=out, flush=True)


def positive_float(text: str) -> float:
    value = _float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _fraction(text: str) -> float:
    value = _float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(
            f"must be a fraction from 0 up to (not incl.) 1, got {text!r}"
        )
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text!r}")
    return value


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _aware_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an RFC 3339 timestamp, got {text!r}") from None
    if value.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"needs an offset such as Z or +01:00, got {text!r}")
    return value


__all__ = ["PROGRESS_EVERY_S", "add_arguments", "positive_float", "run_simulate"]
