"""Tenant time zones: parsing the setting and reading local hours and dates."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from collectpulse import zones
from collectpulse.settings import Settings

# 2026-03-29 00:30 UTC: Europe/Berlin moves to summer time at 01:00 UTC that day
SPRING = 1774744200.0


def test_the_setting_maps_tenants_to_zones_and_others_read_in_the_default() -> None:
    s = Settings(tenant_time_zones="acme=Europe/Berlin, globex=America/New_York")  # type: ignore[arg-type]
    assert s.tenant_time_zones == {"acme": "Europe/Berlin", "globex": "America/New_York"}
    berlin = zones.tenant_zone(s.tenant_time_zones, s.default_time_zone, "acme")
    other = zones.tenant_zone(s.tenant_time_zones, s.default_time_zone, "initech")
    assert zones.hour_and_weekday(SPRING, berlin) == (1, 7)  # 01:30 CET, a Sunday
    assert zones.hour_and_weekday(SPRING + 3600, berlin) == (3, 7)  # 03:30 CEST
    assert zones.hour_and_weekday(SPRING, other) == (0, 7)
    ny = zones.tenant_zone(s.tenant_time_zones, s.default_time_zone, "globex")
    assert zones.local_date(SPRING, ny) == date(2026, 3, 28)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("acme=Europe/Berlim", "unknown time zone 'Europe/Berlim'"),
        ("acme", "'acme' is not tenant=Zone"),
        ("acme=UTC,acme=Europe/Paris", "tenant 'acme' is given two zones"),
        ("=UTC", "is not tenant=Zone"),
        ('{"acme": 3}', "must map each tenant to a zone name"),
        ('{"acme": "Moon/Base"}', "unknown time zone 'Moon/Base'"),
    ],
)
def test_a_bad_mapping_is_refused_with_the_part_named(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(tenant_time_zones=text)  # type: ignore[arg-type]


def test_an_unknown_default_zone_or_mapped_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        Settings(default_time_zone="Mars/Olympus")
    with pytest.raises(ValidationError, match="unknown time zone 'Nowhere'"):
        Settings(tenant_time_zones={"acme": "Nowhere"})


def test_the_environment_sets_the_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLECTPULSE_TENANT_TIME_ZONES", "acme=Asia/Kolkata")
    monkeypatch.setenv("COLLECTPULSE_DEFAULT_TIME_ZONE", "Europe/London")
    s = Settings()
    assert s.tenant_time_zones == {"acme": "Asia/Kolkata"}
    assert zones.hour_and_weekday(SPRING, zones.zone(s.default_time_zone)) == (0, 7)


def test_the_json_form_child_processes_get_is_read_back(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, wanted in (("{}", {}), ('{"acme": "Europe/Berlin"}', {"acme": "Europe/Berlin"})):
        monkeypatch.setenv("COLLECTPULSE_TENANT_TIME_ZONES", value)
        assert Settings().tenant_time_zones == wanted


def test_a_child_process_environment_loads_the_same_tenant_zones() -> None:
    from collectpulse.localstack.processes import settings_env

    for zones_text in ("acme=Europe/Berlin,globex=America/New_York", ""):
        parent = Settings(tenant_time_zones=zones_text)  # type: ignore[arg-type]
        env = settings_env(parent)["COLLECTPULSE_TENANT_TIME_ZONES"]
        child = Settings(tenant_time_zones=env)  # type: ignore[arg-type]
        assert child.tenant_time_zones == parent.tenant_time_zones
