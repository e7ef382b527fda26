"""docker-compose.yml without a Docker engine: the Compose Specification's JSON schema, then
what the schema cannot know (files, ports, dependencies, settings, the local topology).

The schema is the compose-spec project's ``compose-spec.json`` as vendored and kept
up to date by the check-jsonschema package (dev extra; Apache-2.0, licence file
``check_jsonschema/builtin_schemas/vendor/licenses/LICENSE.compose-spec``).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from ruamel.yaml import YAML

from collectpulse.cli import build_parser
from collectpulse.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
COLLECTPULSE_IMAGE_SERVICES = ("worker", "exporter", "simulator")
LOCAL_TOPOLOGY = ("kafka", "redis", "worker", "exporter", "simulator")
"""What `collectpulse run` starts (src/collectpulse/localstack/run.py)."""
OBSERVABILITY = {"prometheus": 9090, "alertmanager": 9093, "grafana": 3000}
"""Service -> the port its image listens on."""


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(COMPOSE)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def compose_schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema: dict[str, Any] = json.loads(vendored.read_text())
    return schema


def schema_errors(document: Any) -> list[str]:
    validator = Draft7Validator(compose_schema(), format_checker=Draft7Validator.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {name: str(value) for name, value in env.items()}


def bind_mounts(service: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(host path, container path) of the service's bind mounts (named volumes skipped)."""
    for volume in service.get("volumes", ()):
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                yield volume["source"], volume["target"]
            continue
        source, target, *_ = volume.split(":")
        if source.startswith((".", "/")):
            yield source, target


def published(service: dict[str, Any]) -> list[tuple[int, int]]:
    """(host port, container port) pairs of ``"HOST:CONTAINER"`` port entries."""
    pairs = []
    for entry in service.get("ports", ()):
        host, container = str(entry).rsplit(":", 1)
        pairs.append((int(host.rsplit(":", 1)[-1]), int(container.split("/")[0])))
    return pairs


# --- the schema ------------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    assert schema_errors(compose) == []


def test_schema_check_rejects_what_compose_would_reject(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["worker"]["depends_on"] = {"kafka": {"condition": "when_ready"}}
    broken["services"]["exporter"]["ports"] = [{"target": 9464, "publish": 9464}]  # typo
    broken["services"]["redis"]["restart_policy"] = "always"
    errors = schema_errors(broken)
    assert any("services/worker/depends_on" in e for e in errors), errors
    assert any("services/exporter/ports" in e for e in errors), errors
    assert any("restart_policy" in e for e in errors), errors


# --- what the schema cannot know -------------------------------------------------------


def test_stack_has_the_local_topology_plus_prometheus_alertmanager_and_grafana(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(services) == {*LOCAL_TOPOLOGY, *OBSERVABILITY}
    assert services["simulator"].get("profiles") == ["demo"], "the simulator is optional"
    assert all("profiles" not in s for name, s in services.items() if name != "simulator")


def test_bind_mounted_files_and_build_contexts_exist(services: dict[str, dict[str, Any]]) -> None:
    missing = [
        f"{name}: {source}"
        for name, service in services.items()
        for source, _ in bind_mounts(service)
        if not (ROOT / source).exists()
    ]
    assert missing == []
    for name in COLLECTPULSE_IMAGE_SERVICES:
        context = ROOT / str(services[name]["build"])
        assert (context / "Dockerfile").is_file(), name


def test_named_volumes_are_declared(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    used = {
        volume.split(":")[0]
        for service in services.values()
        for volume in service.get("volumes", ())
        if isinstance(volume, str) and not volume.startswith((".", "/"))
    }
    assert used <= set(compose.get("volumes", {}))


def test_depends_on_targets_exist_and_health_conditions_have_healthchecks(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for target, condition in dict(service.get("depends_on", {})).items():
            assert target in services, f"{name} depends on unknown {target}"
            assert "simulator" not in (target,), f"{name} depends on the optional simulator"
            if condition.get("condition") == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}'s health"


def test_published_ports_are_unique_and_reach_what_each_service_listens_on(
    services: dict[str, dict[str, Any]],
) -> None:
    hosts = [host for service in services.values() for host, _ in published(service)]
    assert len(hosts) == len(set(hosts)), hosts
    exporter_port = int(environment(services["exporter"])["COLLECTPULSE_HTTP_PORT"])
    assert (exporter_port, exporter_port) in published(services["exporter"])
    for name, port in OBSERVABILITY.items():
        assert port in [container for _, container in published(services[name])], name
    kafka = environment(services["kafka"])
    external = re.search(r"EXTERNAL://localhost:(\d+)", kafka["KAFKA_ADVERTISED_LISTENERS"])
    assert external, "producers on the host need an advertised EXTERNAL listener"
    assert (int(external[1]), int(external[1])) in published(services["kafka"])


def test_collectpulse_variables_are_real_settings_with_valid_values(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    known = {f"COLLECTPULSE_{field.upper()}" for field in Settings.model_fields}
    for name in COLLECTPULSE_IMAGE_SERVICES:
        env = environment(services[name])
        ours = {k: v for k, v in env.items() if k.startswith("COLLECTPULSE_")}
        assert ours, f"{name} sets no COLLECTPULSE_ variable"
        assert set(ours) <= known, f"{name}: unknown {sorted(set(ours) - known)}"
        for variable, value in ours.items():
            monkeypatch.setenv(variable, value)
        try:
            settings = load_settings(Settings)
        except SettingsError as exc:
            pytest.fail(f"{name}: {exc}")
        assert settings.kafka_bootstrap_servers.split(":")[0] in services
        redis_host = settings.redis_url.get_secret_value().split("//")[1].split(":")[0]
        assert redis_host in services


def test_commands_of_the_collectpulse_image_are_real_subcommands(
    services: dict[str, dict[str, Any]],
) -> None:
    parser = build_parser()
    for name in COLLECTPULSE_IMAGE_SERVICES:
        try:
            args = parser.parse_args(services[name]["command"])
        except SystemExit:
            pytest.fail(f"{name}: `collectpulse {' '.join(services[name]['command'])}` is invalid")
        assert args.command == name.replace("simulator", "simulate")


def test_kafka_is_the_kraft_broker_version_the_local_scripts_run(
    services: dict[str, dict[str, Any]],
) -> None:
    pom = ET.parse(ROOT / "deploy/kafka/pom.xml").getroot()
    version = next(el.text for el in pom.iter() if el.tag.endswith("kafka.version"))
    kafka = services["kafka"]
    assert kafka["image"] == f"apache/kafka:{version}"
    assert set(environment(kafka)["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}


def test_redis_persists_with_aof_every_second(services: dict[str, dict[str, Any]]) -> None:
    command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--appendfsync everysec" in command
    assert any(target == "/data" for target in _volume_targets(services["redis"]))


def _volume_targets(service: dict[str, Any]) -> list[str]:
    return [str(v).split(":")[1] for v in service.get("volumes", ()) if isinstance(v, str)]


def test_prometheus_loads_the_rules_and_scrapes_the_exporter_and_alertmanager(
    services: dict[str, dict[str, Any]],
) -> None:
    mounts = dict((target, source) for source, target in bind_mounts(services["prometheus"]))
    config_path = next(
        arg.split("=", 1)[1]
        for arg in services["prometheus"]["command"]
        if arg.startswith("--config.file=")
    )
    config = load_yaml(ROOT / mounts[config_path])
    config_dir = Path(config_path).parent
    for rule_file in config["rule_files"]:
        in_container = config_dir / rule_file
        source = next(
            ROOT / src / in_container.relative_to(target)
            for target, src in mounts.items()
            if in_container.is_relative_to(target)
        )
        assert source.is_file(), f"{rule_file} is not mounted from an existing file"
    scrape = {job["job_name"]: job for job in config["scrape_configs"]}
    exporter_port = environment(services["exporter"])["COLLECTPULSE_HTTP_PORT"]
    targets = scrape["collectpulse"]["static_configs"][0]["targets"]
    assert f"exporter:{exporter_port}" in targets
    alertmanagers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert f"alertmanager:{OBSERVABILITY['alertmanager']}" in alertmanagers


def test_grafana_provisioning_points_at_prometheus_and_the_mounted_dashboards(
    services: dict[str, dict[str, Any]],
) -> None:
    mounts = {target: ROOT / source for source, target in bind_mounts(services["grafana"])}
    provisioning = mounts["/etc/grafana/provisioning"]
    (datasource,) = load_yaml(provisioning / "datasources/prometheus.yml")["datasources"]
    assert datasource["url"] == f"http://prometheus:{OBSERVABILITY['prometheus']}"
    prometheus_config = load_yaml(ROOT / "deploy/prometheus/prometheus.yml")
    assert datasource["jsonData"]["timeInterval"] == prometheus_config["global"]["scrape_interval"]
    (provider,) = load_yaml(provisioning / "dashboards/collectpulse.yml")["providers"]
    dashboards = mounts[provider["options"]["path"]]
    assert sorted(dashboards.glob("*.json")), "no dashboard JSON where the provider looks"
    home = environment(services["grafana"])["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (dashboards / Path(home).relative_to(provider["options"]["path"])).is_file()
