"""Prometheus configuration and rules: promtool checks them and runs their unit tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from functions.dev.prometheus import config as local_config
from tests.fixtures.services import missing
from tests.observability.promql import OBSERVABILITY, RULE_TESTS, RULES, load_yaml, rules

REQUIRED_ALERTS = {
    "ClickstreamFunctionDown",
    "ClickstreamHighErrorRatio",
    "ClickstreamFreshnessHigh",
    "ClickstreamDeadLettersGrowing",
    "ClickstreamCacheHitRateLow",
    "ClickstreamConsumerLagGrowing",
}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        missing("promtool not installed (apt-get install prometheus)")
    assert path is not None
    return path


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=120)


def test_rules_check(promtool: str) -> None:
    result = run(promtool, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass(promtool: str) -> None:
    result = run(promtool, "test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rule_unit_tests_can_fail(promtool: str, tmp_path: Path) -> None:
    """A wrong threshold makes the unit tests fail, so their success above means something."""
    broken = tmp_path / "rules" / RULES.name
    broken.parent.mkdir()
    broken.write_text(RULES.read_text().replace("> 0.01", "> 0.5"))
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy(RULE_TESTS, tests / RULE_TESTS.name)
    result = run(promtool, "test", "rules", RULE_TESTS.name, cwd=tests)
    assert result.returncode != 0
    assert "ClickstreamHighErrorRatio" in result.stdout + result.stderr


def test_every_required_alert_exists_and_is_tested_firing_and_clearing() -> None:
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    assert alerts == REQUIRED_ALERTS
    fired: set[str] = set()
    cleared: set[str] = set()
    for case in load_yaml(RULE_TESTS)["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check["exp_alerts"] else cleared).add(check["alertname"])
    assert fired == REQUIRED_ALERTS
    assert cleared == REQUIRED_ALERTS


def test_cluster_config_checks_with_its_rules(promtool: str, tmp_path: Path) -> None:
    """The cluster configuration, its rule files where the Deployment mounts them.

    Debian's Prometheus is built without Kubernetes discovery, so each `kubernetes_sd_configs`
    becomes an empty static target list here; the relabelling, the rest of the configuration
    and the rules are all checked as the cluster's Prometheus reads them.
    """
    cluster = load_yaml(OBSERVABILITY / "prometheus" / "prometheus.yaml")
    for job in cluster["scrape_configs"]:
        if job.pop("kubernetes_sd_configs", None) is not None:
            assert job["relabel_configs"], job["job_name"]
            job["static_configs"] = [{"targets": []}]
    assert cluster["rule_files"] == ["/etc/prometheus/rules/*.yaml"]
    cluster["rule_files"] = [f"{tmp_path}/rules/*.yaml"]
    (tmp_path / "rules").mkdir()
    shutil.copy(RULES, tmp_path / "rules" / RULES.name)
    config = tmp_path / "prometheus.yaml"
    config.write_text(json.dumps(cluster))
    result = run(promtool, "check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout


def test_local_config_checks(promtool: str, tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps(local_config({"ingest": 1, "query": 2})))
    result = run(promtool, "check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_cluster_and_local_scrape_the_same_job() -> None:
    cluster = load_yaml(OBSERVABILITY / "prometheus" / "prometheus.yaml")
    jobs = {job["job_name"] for job in cluster["scrape_configs"]}
    local = local_config({"ingest": 1})["scrape_configs"]
    assert isinstance(local, list)
    assert {job["job_name"] for job in local} <= jobs
    assert {"clickstream-functions", "knative-queue-proxy"} <= jobs
