"""Bad settings and bad flags: one clear line naming the variable or flag, exit 2, no traceback.

The cases are derived from the Settings models and the argparse tree, so a new
field or flag is walked without editing this file: every constrained field
(bounds, pattern, length, choices, a validator of its own) must refuse a value
that breaks its constraint, and no field may crash on any text.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from unittest import mock

import annotated_types
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from collectpulse.cli import build_parser, main
from collectpulse.localstack.settings import LocalStackSettings
from collectpulse.settings import Settings, SettingsError, load_settings

MODELS: tuple[type[BaseSettings], ...] = (Settings, LocalStackSettings)
JUNK = "%%not valid%%"
# environment variables cannot hold NUL; everything else may arrive
ENV_TEXT = st.text(st.characters(blacklist_characters="\x00", codec="utf-8"), max_size=40)


def env_name(model: type[BaseSettings], field: str) -> str:
    return f"{model.model_config.get('env_prefix', '')}{field.upper()}"


def _base(annotation: Any) -> Any:
    """The annotation without ``| None`` and ``Annotated``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _metadata(info: FieldInfo) -> list[Any]:
    found = list(info.metadata)
    annotation = info.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if typing.get_origin(arg) is typing.Annotated:
                found += list(typing.get_args(arg)[1:])
    return found


def invalid_values(model: type[BaseSettings], name: str, info: FieldInfo) -> list[str]:
    """Values that break a constraint the field declares; empty for free text."""
    base = _base(info.annotation)
    values = []
    if base is int:
        values += ["not-a-number", "1.5", "9" * 5000]
    if base is bool:
        values.append("maybe")
    if typing.get_origin(base) is Literal:
        values.append("NOT-ONE-OF-THE-CHOICES")
    for rule in _metadata(info):
        if isinstance(rule, annotated_types.Ge):
            values.append(str(int(rule.ge) - 1))  # type: ignore[call-overload]
        if isinstance(rule, annotated_types.Gt):
            values.append(str(rule.gt))
        if isinstance(rule, annotated_types.Le):
            values.append(str(int(rule.le) + 1))  # type: ignore[call-overload]
        if isinstance(rule, annotated_types.Lt):
            values.append(str(rule.lt))
        if isinstance(rule, annotated_types.MinLen) and rule.min_length > 0:
            values.append("")
        if isinstance(rule, annotated_types.MaxLen):
            values.append("x" * (rule.max_length + 1))
        pattern = getattr(rule, "pattern", None)
        if isinstance(pattern, str):
            values += [v for v in (JUNK, "", "x" * 300) if not re.search(pattern, v)][:1]
    validated = {
        field
        for decorator in model.__pydantic_decorators__.field_validators.values()
        if decorator.info.mode == "after"
        for field in decorator.info.fields
    }
    if name in validated:
        values.append(JUNK)
    return list(dict.fromkeys(values))


def cases() -> Iterator[Any]:
    for model in MODELS:
        for name, info in model.model_fields.items():
            for value in invalid_values(model, name, info):
                yield pytest.param(model, name, value, id=f"{env_name(model, name)}={value[:12]}")


def test_the_walk_finds_the_constrained_fields() -> None:
    """The derivation sees bounds, patterns, choices and validators (or the walk proves little)."""
    walked = {(model, name) for model, name, _ in (c.values for c in cases())}
    for model, name in [
        (Settings, "topic_partitions"),  # bounds
        (Settings, "key_prefix"),  # pattern
        (Settings, "kafka_security_protocol"),  # choices
        (Settings, "windows"),  # own validator
        (Settings, "redis_url"),
        (Settings, "kafka_bootstrap_servers"),
        (Settings, "shutdown_timeout"),
        (LocalStackSettings, "kafka_port"),
    ]:
        assert (model, name) in walked, name


def _load_with(model: type[BaseSettings], variable: str, value: str) -> BaseSettings:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTPULSE_")}
    with mock.patch.dict(os.environ, {**clean, variable: value}, clear=True):
        return load_settings(model)


@pytest.mark.parametrize(("model", "name", "value"), list(cases()))
def test_every_constrained_setting_refuses_a_bad_value_naming_its_variable(
    model: type[BaseSettings], name: str, value: str
) -> None:
    variable = env_name(model, name)
    with pytest.raises(SettingsError) as raised:
        _load_with(model, variable, value)
    message = str(raised.value)
    assert variable in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("model", "name"), [(m, n) for m in MODELS for n in m.model_fields], ids=str
)
@settings(max_examples=25, deadline=None)
@given(value=ENV_TEXT)
def test_no_setting_crashes_on_any_text(model: type[BaseSettings], name: str, value: str) -> None:
    """Any text is accepted or refused with one line naming the variable; nothing else."""
    variable = env_name(model, name)
    try:
        _load_with(model, variable, value)
    except SettingsError as exc:
        assert variable in str(exc)
        assert "\n" not in str(exc)


def test_a_refused_redis_url_is_not_echoed() -> None:
    with pytest.raises(SettingsError) as raised:
        _load_with(Settings, "COLLECTPULSE_REDIS_URL", "redis://user:hunter2@host:notaport/0")
    assert "COLLECTPULSE_REDIS_URL" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_a_window_that_is_not_a_multiple_of_the_bucket_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="COLLECTPULSE_WINDOWS: window 1h is not a multiple"):
        _load_with(Settings, "COLLECTPULSE_BUCKET_SIZE", "7m")


# --- command-line flags -------------------------------------------------------------------


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def _converts_to_float(action: argparse.Action) -> bool:
    try:
        return isinstance(action.type("1"), float)  # type: ignore[misc,operator]
    except (TypeError, ValueError, argparse.ArgumentTypeError):
        return False


def flag_cases() -> Iterator[Any]:
    for command, parser in _subcommands().items():
        # valid positionals, so the flag under test is the only problem
        good = [
            str(next(iter(a.choices)))
            for a in parser._actions
            if not a.option_strings and a.choices is not None
        ]
        yield pytest.param(
            [command, *good, "--no-such-flag"], "--no-such-flag", id=f"{command}-unknown"
        )
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            flag = action.option_strings[-1] if action.option_strings else None
            named = flag or str(action.dest)
            bad = []
            if action.choices is not None or action.type is not None:
                bad.append(JUNK)
            if action.type is not None and _converts_to_float(action):
                bad += ["nan", "inf", "-inf"]
            for value in bad:
                argv = [command, *good, flag, value] if flag else [command, value]
                yield pytest.param(argv, named, id=f"{command}-{named}={value}")
            if flag and action.nargs is None:
                argv = [command, *good, flag]
                yield pytest.param(argv, flag, id=f"{command}-{flag}-missing")


def test_the_flag_walk_covers_every_subcommand_and_typed_flag() -> None:
    walked = {c.values[1] for c in flag_cases()}
    assert {"--rate", "--duration", "--loglevel", "--start", "action"} <= walked
    assert {c.values[0][0] for c in flag_cases()} == set(_subcommands())


@pytest.mark.parametrize(("argv", "named"), list(flag_cases()))
def test_every_bad_flag_gives_one_line_naming_it_and_exit_2(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert named in err
    assert err.count("\n") == 1, err


def test_no_subcommand_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


# --- real processes: what an operator sees --------------------------------------------------


def _run(argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "collectpulse.cli", *argv],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("argv", "variable", "value"),
    [
        (["worker"], "COLLECTPULSE_TOPIC_PARTITIONS", "0"),
        (["worker"], "COLLECTPULSE_SHUTDOWN_TIMEOUT", "soon"),
        (["exporter"], "COLLECTPULSE_REDIS_URL", "nonsense"),
        (["simulate", "--total", "1"], "COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS", "no-port"),
        (["run"], "COLLECTPULSE_WINDOWS", "1h,forever"),
        (["local", "status"], "COLLECTPULSE_LOCAL_KAFKA_PORT", "0"),
    ],
)
def test_a_process_with_a_bad_setting_exits_2_naming_it(
    argv: list[str], variable: str, value: str
) -> None:
    result = _run(argv, **{variable: value})
    assert result.returncode == 2
    assert variable in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_a_worker_whose_data_dir_cannot_be_made_names_the_variable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = _run(["worker"], COLLECTPULSE_DATA_DIR=str(blocker / "worker"))
    assert result.returncode == 2
    assert "COLLECTPULSE_DATA_DIR" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_exporter_that_cannot_listen_names_the_variables() -> None:
    result = _run(["exporter"], COLLECTPULSE_HTTP_HOST="no-such-host.invalid")
    assert result.returncode == 2
    assert "COLLECTPULSE_HTTP_HOST" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_flag_in_a_real_process_is_one_line() -> None:
    result = _run(["run", "--rate", "nan"])
    assert result.returncode == 2
    assert "--rate" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
