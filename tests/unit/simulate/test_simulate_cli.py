"""The `simulate` command: flags with clear errors, progress lines and a final summary."""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from collectpulse.events.models import Topic
from collectpulse.settings import Settings
from collectpulse.simulate import BrokerUnavailableError, PublishReport, add_arguments
from collectpulse.simulate import cli as simulate_cli


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="collectpulse simulate")
    add_arguments(parser)
    return parser.parse_args(argv)


def test_the_documented_flags_parse() -> None:
    args = _parse(
        "--rate", "200", "--duration", "60", "--seed", "1", "--total", "5000",
        "--duplicates", "0.05", "--poison", "0.01", "--out-of-order", "0.1",
        "--delay-scale", "0.01", "--start", "2025-03-01T09:00:00Z",
    )  # fmt: skip
    assert (args.rate, args.duration, args.seed, args.total) == (200.0, 60.0, 1, 5000)
    assert (args.duplicates, args.poison, args.out_of_order) == (0.05, 0.01, 0.1)
    assert args.start == datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_defaults_run_at_200_per_second_with_no_faults() -> None:
    args = _parse()
    assert (args.rate, args.total, args.duration, args.seed) == (200.0, None, None, None)
    assert (args.duplicates, args.poison, args.out_of_order) == (0, 0, 0)
    assert (args.scenario, args.delay_scale) == ("steady", None)  # the scenario's delays


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate", "-5"], "argument --rate: must be a positive number"),
        (["--rate", "0"], "argument --rate: must be a positive number"),
        (["--rate", "fast"], "argument --rate: must be a number"),
        (["--rate", "inf"], "argument --rate: must be a finite number"),
        (["--duration", "-1"], "argument --duration: must be a positive number"),
        (["--total", "-3"], "argument --total: must not be negative"),
        (["--total", "1.5"], "argument --total: must be a whole number"),
        (["--duplicates", "1.5"], "argument --duplicates: must be a fraction"),
        (["--poison", "-0.1"], "argument --poison: must be a fraction"),
        (["--start", "2025-03-01T09:00:00"], "argument --start: needs an offset"),
        (["--start", "yesterday"], "argument --start: must be an RFC 3339 timestamp"),
    ],
)
def test_bad_values_are_argparse_errors_naming_the_flag(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _parse(*argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def _report(total: int) -> PublishReport:
    return PublishReport(records={Topic.DELIVERY: total}, poison={}, duplicates=0, elapsed_s=10.0)


def test_run_prints_progress_and_a_final_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, Any] = {}

    async def fake_publish(settings: Settings, **kwargs: Any) -> PublishReport:
        calls.update(kwargs)
        on_progress: Callable[[PublishReport], None] = kwargs["on_progress"]
        on_progress(_report(2000))
        return _report(4000)

    monkeypatch.setattr(simulate_cli, "publish", fake_publish)
    out = io.StringIO()
    args = _parse("--total", "4000", "--seed", "9", "--duplicates", "0.05", "--delay-scale", "0.5")
    assert simulate_cli.run_simulate(Settings(), args, out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("simulate: scenario steady, seed 9, 200 records/s")
    assert lines[1].startswith("simulate: 2000 records in 10.0 s (200/s): delivery=2000")
    assert lines[2].startswith("simulate: done: 4000 records")
    assert (calls["seed"], calls["total"], calls["rate_per_s"]) == (9, 4000, 200.0)
    assert calls["scenario"].duplicate_rate == 0.05
    assert calls["scenario"].delay_scale == 0.5
    assert calls["progress_every_s"] == 10.0


def test_without_a_seed_a_fresh_one_is_drawn_and_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    seeds: list[int] = []

    async def fake_publish(settings: Settings, **kwargs: Any) -> PublishReport:
        seeds.append(kwargs["seed"])
        return _report(0)

    monkeypatch.setattr(simulate_cli, "publish", fake_publish)
    out = io.StringIO()
    simulate_cli.run_simulate(Settings(), _parse("--total", "1"), out=out)
    simulate_cli.run_simulate(Settings(), _parse("--total", "1"), out=out)
    assert seeds[0] != seeds[1]
    assert f"seed {seeds[0]}," in out.getvalue()


def test_a_broker_failure_is_one_line_on_stderr_and_exit_code_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def fake_publish(settings: Settings, **kwargs: Any) -> PublishReport:
        raise BrokerUnavailableError("Kafka at 127.0.0.1:1 failed")

    monkeypatch.setattr(simulate_cli, "publish", fake_publish)
    assert simulate_cli.run_simulate(Settings(), _parse("--total", "1"), out=io.StringIO()) == 1
    assert capsys.readouterr().err == "collectpulse simulate: Kafka at 127.0.0.1:1 failed\n"


def test_list_scenarios_describes_them_and_publishes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fake_publish(settings: Settings, **kwargs: Any) -> PublishReport:
        raise AssertionError("nothing is published for --list-scenarios")

    monkeypatch.setattr(simulate_cli, "publish", fake_publish)
    out = io.StringIO()
    assert simulate_cli.run_simulate(Settings(), _parse("--list-scenarios"), out=out) == 0
    assert "broken-link\n" in out.getvalue()
    assert "alerts: CollectpulseLandingPageSilence" in out.getvalue()


def test_a_named_scenario_publishes_its_behaviour_history_and_delays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: dict[str, Any] = {}

    async def fake_publish(settings: Settings, **kwargs: Any) -> PublishReport:
        calls.update(kwargs)
        kwargs["on_live"](_report(700))
        return _report(900)

    monkeypatch.setattr(simulate_cli, "publish", fake_publish)
    out = io.StringIO()
    args = _parse("--scenario", "broken-link", "--total", "900", "--seed", "1")
    assert simulate_cli.run_simulate(Settings(), args, out=out) == 0
    broken = next(t for t in calls["scenario"].tenants if t.name == "telco-one")
    assert not broken.landing_page_up
    assert calls["history"].duration_s == 70 * 60
    assert calls["scenario"].delay_scale == 1e-4
    assert "scenario broken-link" in out.getvalue()
    assert "history published (700 records), live" in out.getvalue()


def test_an_unknown_scenario_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse("--scenario", "meltdown")
    assert "invalid choice: 'meltdown'" in capsys.readouterr().err
