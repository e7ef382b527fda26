"""A child process started with ``settings_env`` loads the settings it was given."""

from __future__ import annotations

import pytest

from collectpulse.localstack.processes import settings_env
from collectpulse.settings import Settings


def _load_in_child(given: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in settings_env(given).items():
        if name.startswith("COLLECTPULSE_"):
            monkeypatch.setenv(name, value)
    return Settings()


def test_tenant_time_zones_reach_the_child_and_read_back_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    zones = {"acme": "Europe/Berlin", "globex": "America/New_York"}
    given, none = Settings(tenant_time_zones=zones), Settings(tenant_time_zones={})
    assert _load_in_child(given, monkeypatch).tenant_time_zones == zones
    # none set: the empty mapping (str({}) was "{}", which the parser rejects)
    assert _load_in_child(none, monkeypatch).tenant_time_zones == {}


def test_tenant_revenue_models_reach_the_child_and_bad_ones_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    models = {"acme": "agency", "globex": "in_house"}
    given = Settings(tenant_revenue_models=models)  # type: ignore[arg-type]
    assert _load_in_child(given, monkeypatch).tenant_revenue_models == models
    none = Settings(tenant_revenue_models={})
    assert _load_in_child(none, monkeypatch).tenant_revenue_models == {}
    parsed = Settings(tenant_revenue_models="acme=agency, globex=in_house")  # type: ignore[arg-type]
    assert parsed.tenant_revenue_models == models
    for bad in ("acme=agent", "acme", '["acme"]'):
        with pytest.raises(ValueError, match="tenant_revenue_models"):
            Settings(tenant_revenue_models=bad)  # type: ignore[arg-type]
