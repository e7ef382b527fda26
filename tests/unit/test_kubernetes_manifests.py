"""deploy/kubernetes/ validated offline: the Kubernetes API's own schemas, and what the
schemas cannot know (probes on endpoints that exist, settings that exist, selectors that
select, resources requested).

The built-in kinds are checked with ``kubernetes-validate`` (the OpenAPI schemas of
Kubernetes 1.37, strict: an unknown field is an error). The ServiceMonitor is a
Prometheus Operator CRD whose schema that package does not ship; it is checked here
structurally (the fields the Operator reads, their types and duration format, and
that it selects our Services' named ports). Nothing here runs on a cluster.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from collectpulse.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy/kubernetes"
K8S_VERSION = "1.37.0"
PROM_DURATION = re.compile(r"^(0|(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?)$")
ENDPOINTS = {
    "exporter": {"/metrics", "/healthz", "/readyz"},
    "gateway": {"/metrics", "/healthz", "/readyz"},
}


def documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    out = []
    for name in kustomization["resources"]:
        out += [d for d in yaml.safe_load_all((MANIFESTS / name).read_text()) if d]
    return out


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in documents() if d["kind"] == kind]


def deployment(component: str) -> dict[str, Any]:
    (found,) = [
        d
        for d in by_kind("Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]
    return found


def container(component: str) -> dict[str, Any]:
    (only,) = deployment(component)["spec"]["template"]["spec"]["containers"]
    return dict(only)


def test_every_file_the_kustomization_names_exists_and_every_manifest_is_listed() -> None:
    listed = set(yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())["resources"])
    on_disk = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


@pytest.mark.parametrize(
    "doc",
    [d for d in documents() if d["kind"] != "ServiceMonitor"],
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_builtin_kinds_match_the_kubernetes_api_schema(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_validator_refuses_a_wrong_manifest() -> None:
    """The schema check can fail: a misspelt field and a wrong type are both refused."""
    bad = deployment("exporter")
    bad["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)
    bad = deployment("exporter")
    bad["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_every_setting_named_is_a_collectpulse_setting() -> None:
    fields = set(Settings.model_fields)
    (config,) = by_kind("ConfigMap")
    (secret,) = by_kind("Secret")
    for name in [*config["data"], *secret["stringData"]]:
        assert name.startswith("COLLECTPULSE_"), name
        assert name.removeprefix("COLLECTPULSE_").lower() in fields, f"no setting {name}"
    # as loaded by the services: the values parse (ports, durations, windows)
    env = {k.removeprefix("COLLECTPULSE_").lower(): v for k, v in config["data"].items()}
    settings = Settings(**env)
    assert settings.http_host == "0.0.0.0", "loopback would be unreachable from the Service"
    assert settings.gateway_host == "0.0.0.0", "loopback would be unreachable from the Service"


def test_every_pod_reads_the_configmap_and_the_secret() -> None:
    for component in ("worker", "exporter", "gateway"):
        sources = container(component)["envFrom"]
        assert {"configMapRef": {"name": "collectpulse"}} in sources
        assert {"secretRef": {"name": "collectpulse"}} in sources


def test_probes_use_endpoints_the_servers_have_and_the_exporter_is_ready_by_healthz() -> None:
    for component, paths in ENDPOINTS.items():
        c = container(component)
        for probe in ("livenessProbe", "readinessProbe"):
            assert c[probe]["httpGet"]["path"] in paths
            assert c[probe]["httpGet"]["port"] in {p["name"] for p in c["ports"]}
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    # docs/OPERATIONS.md: /readyz judges the whole pipeline, not the exporter process
    assert container("exporter")["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container("gateway")["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_ports_are_the_settings_ports() -> None:
    (config,) = by_kind("ConfigMap")
    exporter = {p["name"]: p["containerPort"] for p in container("exporter")["ports"]}
    gateway = {p["name"]: p["containerPort"] for p in container("gateway")["ports"]}
    assert exporter == {"metrics": int(config["data"]["COLLECTPULSE_HTTP_PORT"])}
    assert gateway == {"webhooks": int(config["data"]["COLLECTPULSE_GATEWAY_PORT"])}


def test_every_container_requests_cpu_and_memory_and_has_a_memory_limit() -> None:
    for component in ("worker", "exporter", "gateway"):
        resources = container(component)["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), component
        assert "memory" in resources["limits"], component


def test_workers_are_not_more_than_the_partitions() -> None:
    (config,) = by_kind("ConfigMap")
    partitions = int(config["data"]["COLLECTPULSE_TOPIC_PARTITIONS"])
    assert 1 <= deployment("worker")["spec"]["replicas"] <= partitions


def test_the_grace_period_covers_the_workers_shutdown_timeout() -> None:
    (config,) = by_kind("ConfigMap")
    timeout_s = Settings(shutdown_timeout=config["data"]["COLLECTPULSE_SHUTDOWN_TIMEOUT"])
    grace_s = deployment("worker")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace_s > timeout_s.shutdown_timeout_s


def test_services_and_disruption_budgets_select_their_deployments_pods() -> None:
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in by_kind("Deployment")
    }
    for kind in ("Service", "PodDisruptionBudget"):
        for doc in by_kind(kind):
            selector = doc["spec"]["selector"]
            wanted = selector.get("matchLabels", selector)
            chosen = [n for n, labels in pods.items() if wanted.items() <= labels.items()]
            assert chosen == [doc["metadata"]["name"]], f"{kind} {doc['metadata']['name']}"
    budgets = {d["metadata"]["name"] for d in by_kind("PodDisruptionBudget")}
    assert budgets == set(pods)


def test_the_service_monitor_scrapes_the_named_metrics_ports_of_our_services() -> None:
    (monitor,) = by_kind("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor) == {"apiVersion", "kind", "metadata", "spec"}
    spec = monitor["spec"]
    assert set(spec) <= {"selector", "endpoints", "namespaceSelector", "jobLabel"}
    wanted = spec["selector"]["matchLabels"]
    services = [s for s in by_kind("Service") if wanted.items() <= s["metadata"]["labels"].items()]
    ports = {p["name"] for s in services for p in s["spec"]["ports"]}
    assert {e["port"] for e in spec["endpoints"]} == ports == {"metrics", "webhooks"}
    for endpoint in spec["endpoints"]:
        assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout", "scheme"}
        assert endpoint["path"] == "/metrics"
        for field in ("interval", "scrapeTimeout"):
            assert PROM_DURATION.match(endpoint[field]), f"{field}: {endpoint[field]}"
        assert _seconds(endpoint["scrapeTimeout"]) <= _seconds(endpoint["interval"])


def _seconds(duration: str) -> int:
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([hms])", duration))
