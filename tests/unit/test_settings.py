"""Settings come from COLLECTPULSE_* variables; bad values stop start-up naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from collectpulse.envcheck import known_variables, unknown_variables
from collectpulse.localstack.settings import LocalStackSettings
from collectpulse.settings import Settings, SettingsError, duration_s, load_settings


def test_defaults_match_the_catalog() -> None:
    s = Settings()
    assert s.topic_prefix == "collections."
    assert s.topic("delivery") == "collections.delivery"
    assert s.bucket_s == 60
    assert s.windows_s == {"1h": 3600, "24h": 86400, "7d": 604800}
    assert s.retention_s == 7 * 86400 + 7 * 86400


def test_windows_are_read_as_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLECTPULSE_WINDOWS", "15m, 1h")
    assert load_settings(Settings).windows == ("15m", "1h")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("COLLECTPULSE_HTTP_PORT", "70000"),
        ("COLLECTPULSE_BUCKET_SIZE", "one minute"),
        ("COLLECTPULSE_WINDOWS", "1h,forever"),
        ("COLLECTPULSE_LABEL_CAP", "0"),
        ("COLLECTPULSE_KEY_PREFIX", "has space"),
    ],
)
def test_an_invalid_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings(Settings)
    assert variable in str(raised.value)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600), ("7d", 604800)]
)
def test_durations_parse_to_seconds(text: str, seconds: int) -> None:
    assert duration_s(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "1x", "-1h", "0s", "1.5h"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        duration_s(text)


def test_the_cli_exits_2_with_the_variable_name_instead_of_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "collectpulse.cli", "exporter"],
        env={"COLLECTPULSE_HTTP_PORT": "not-a-port", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "COLLECTPULSE_HTTP_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_unsafe_test_switches_are_off_by_default_and_named_when_on() -> None:
    assert Settings().unsafe_test_switches == ()
    on = Settings(unsafe_test_disable_dedupe=True, unsafe_test_disable_offset_guard=True)
    assert on.unsafe_test_switches == (
        "COLLECTPULSE_UNSAFE_TEST_DISABLE_DEDUPE",
        "COLLECTPULSE_UNSAFE_TEST_DISABLE_OFFSET_GUARD",
    )


def test_a_worker_started_with_an_unsafe_test_switch_says_so_on_stderr(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "collectpulse.cli", "worker"],
        env={
            "COLLECTPULSE_UNSAFE_TEST_DISABLE_DEDUPE": "true",
            # nothing listens there: the worker stops right after its start-up checks
            "COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "COLLECTPULSE_REDIS_URL": "redis://127.0.0.1:1/0",
            "COLLECTPULSE_DATA_DIR": str(tmp_path),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "COLLECTPULSE_UNSAFE_TEST_DISABLE_DEDUPE is on" in result.stderr
    assert "never set it in production" in result.stderr


def test_the_future_tolerance_is_5_minutes_by_default_and_read_as_a_duration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().future_tolerance_s == 300
    monkeypatch.setenv("COLLECTPULSE_FUTURE_TOLERANCE", "90s")
    assert load_settings(Settings).future_tolerance_s == 90
    monkeypatch.setenv("COLLECTPULSE_FUTURE_TOLERANCE", "0m")
    with pytest.raises(SettingsError, match="COLLECTPULSE_FUTURE_TOLERANCE"):
        load_settings(Settings)


def test_a_misspelled_variable_is_named_with_the_closest_valid_one() -> None:
    known = known_variables((Settings, LocalStackSettings))
    environ = {
        "COLLECTPULSE_HTTP_PROT": "9000",
        "COLLECTPULSE_LOCAL_REDIS_PRT": "1",
        "COLLECTPULSE_HTTP_PORT": "9000",
        "PATH": "/bin",
    }
    assert unknown_variables(environ, known) == [
        "COLLECTPULSE_HTTP_PROT is not a collectpulse setting and is ignored; "
        "did you mean COLLECTPULSE_HTTP_PORT?",
        "COLLECTPULSE_LOCAL_REDIS_PRT is not a collectpulse setting and is ignored; "
        "did you mean COLLECTPULSE_LOCAL_REDIS_PORT?",
    ]


def test_a_variable_far_from_every_setting_points_to_the_settings_module() -> None:
    warnings = unknown_variables({"COLLECTPULSE_ZZZ": "1"}, known_variables((Settings,)))
    assert warnings == [
        "COLLECTPULSE_ZZZ is not a collectpulse setting and is ignored; "
        "see src/collectpulse/settings.py"
    ]


def test_every_setting_and_local_setting_is_known() -> None:
    known = known_variables((Settings, LocalStackSettings))
    assert {"COLLECTPULSE_REDIS_URL", "COLLECTPULSE_LOCAL_STATE_DIR"} <= known
    assert "COLLECTPULSE_LOCAL_REDIS_URL" not in known


def test_the_cli_warns_about_a_misspelled_variable_at_start(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from collectpulse import cli

    monkeypatch.setenv("COLLECTPULSE_WINDOW", "1h")
    with caplog.at_level("WARNING", logger="collectpulse"):
        cli._settings()
    assert "COLLECTPULSE_WINDOW is not a collectpulse setting" in caplog.text
    assert "did you mean COLLECTPULSE_WINDOWS?" in caplog.text


@pytest.mark.parametrize("text", ["5s", "31m", "soon"])
def test_a_group_session_timeout_outside_the_brokers_bounds_is_refused(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    assert Settings().group_session_timeout_s == 15
    monkeypatch.setenv("COLLECTPULSE_GROUP_SESSION_TIMEOUT", text)
    with pytest.raises(SettingsError, match="COLLECTPULSE_GROUP_SESSION_TIMEOUT"):
        load_settings(Settings)
