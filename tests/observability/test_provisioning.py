"""Grafana provisioning and the kustomize directory: valid, consistent, complete."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.services import missing
from tests.observability.promql import (
    ALERTING,
    DASHBOARDS,
    DATASOURCES,
    OBSERVABILITY,
    dashboard,
    load_yaml,
)

REQUIRED_PIPELINE_PANELS = {
    "clickstream_ingest_events_total",
    "clickstream_process_freshness_seconds_bucket",
    "clickstream_process_events_total",
    "clickstream_deadletters_total",
    "clickstream_cache_lookups_total",
    "clickstream_query_duration_seconds_bucket",
    "up",
}


def datasource_uids() -> set[str]:
    return {source["uid"] for source in load_yaml(DATASOURCES)["datasources"]}


def references(node: Any) -> list[dict[str, Any]]:
    """Every `datasource` object anywhere in a dashboard."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if isinstance(node.get("datasource"), dict):
            found.append(node["datasource"])
        for value in node.values():
            found += references(value)
    elif isinstance(node, list):
        for value in node:
            found += references(value)
    return found


def test_two_dashboards_with_unique_uids() -> None:
    uids = [dashboard(path)["uid"] for path in DASHBOARDS]
    assert sorted(uids) == ["clickstream-function", "clickstream-pipeline"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_panels_have_unique_ids_and_provisioned_datasources(path: Path) -> None:
    document = dashboard(path)
    ids = [panel["id"] for panel in document["panels"]]
    assert len(ids) == len(set(ids)), ids
    assert all(panel.get("targets") for panel in document["panels"])
    refs = references(document)
    assert refs
    assert {ref["uid"] for ref in refs} <= datasource_uids()
    assert {ref["type"] for ref in refs} == {"prometheus"}
    for panel in document["panels"]:
        refids = [target["refId"] for target in panel["targets"]]
        assert len(refids) == len(set(refids)), panel["title"]


def test_pipeline_dashboard_shows_what_the_issue_asks_for() -> None:
    (path,) = [p for p in DASHBOARDS if dashboard(p)["uid"] == "clickstream-pipeline"]
    exprs = " ".join(t["expr"] for p in dashboard(path)["panels"] for t in p["targets"])
    for name in REQUIRED_PIPELINE_PANELS:
        assert name in exprs, name
    replicas = [p for p in dashboard(path)["panels"] if p["title"] == "Replicas per function"]
    assert {t["legendFormat"] for t in replicas[0]["targets"]} == {
        "ingest",
        "process",
        "query",
        "gateway",
    }
    # scaled to zero shows as 0, not as a gap
    assert all("or vector(0)" in t["expr"] for t in replicas[0]["targets"])


def test_alerting_routes_to_slack_from_a_secret() -> None:
    alerting = load_yaml(ALERTING)
    (point,) = alerting["contactPoints"]
    (receiver,) = point["receivers"]
    assert receiver["type"] == "slack"
    assert receiver["settings"]["url"] == "$SLACK_WEBHOOK_URL"
    assert alerting["policies"][0]["receiver"] == point["name"]
    for group in alerting["groups"]:
        for rule in group["rules"]:
            uids = {query["datasourceUid"] for query in rule["data"]}
            assert uids <= datasource_uids() | {"__expr__"}
            assert rule["condition"] in {query["refId"] for query in rule["data"]}


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        missing("kubectl not installed (it renders the kustomization)")
    assert kubectl is not None
    result = subprocess.run(
        [kubectl, "kustomize", str(OBSERVABILITY)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def test_kustomization_ships_every_file(rendered: list[dict[str, Any]]) -> None:
    configmaps = by_kind(rendered, "ConfigMap")
    shipped = {key for cm in configmaps.values() for key in cm["data"]}
    expected = {path.name for path in DASHBOARDS} | {
        "prometheus.yaml",
        "clickstream.rules.yaml",
        "datasources.yaml",
        "dashboards.yaml",
        "alerting.yaml",
    }
    assert shipped == expected
    for cm in configmaps.values():
        for key, text in cm["data"].items():
            source = next(OBSERVABILITY.rglob(key))
            assert text == source.read_text(), key
            (json.loads if key.endswith(".json") else yaml.safe_load)(text)


def test_deployments_mount_the_generated_configmaps(rendered: list[dict[str, Any]]) -> None:
    configmaps = set(by_kind(rendered, "ConfigMap"))
    deployments = by_kind(rendered, "Deployment")
    assert set(deployments) == {"prometheus", "grafana"}
    mounted = {
        volume["configMap"]["name"]
        for deployment in deployments.values()
        for volume in deployment["spec"]["template"]["spec"]["volumes"]
        if "configMap" in volume
    }
    assert mounted == configmaps
    (grafana,) = deployments["grafana"]["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item for item in grafana["env"]}
    assert env["SLACK_WEBHOOK_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "clickstream-alerting",
        "key": "slack-webhook-url",
    }


def test_prometheus_may_discover_pods(rendered: list[dict[str, Any]]) -> None:
    (binding,) = by_kind(rendered, "ClusterRoleBinding").values()
    (subject,) = binding["subjects"]
    account = by_kind(rendered, "ServiceAccount")[subject["name"]]
    assert subject["namespace"] == account["metadata"]["namespace"]
    role = by_kind(rendered, "ClusterRole")[binding["roleRef"]["name"]]
    assert {"pods"} <= {r for rule in role["rules"] for r in rule["resources"]}
    prometheus = by_kind(rendered, "Deployment")["prometheus"]["spec"]["template"]["spec"]
    assert prometheus["serviceAccountName"] == subject["name"]
