"""What the dashboards, rules and Grafana alerting query: their PromQL, and its metric names."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

OBSERVABILITY = Path(__file__).resolve().parents[2] / "knative" / "observability"
RULES = OBSERVABILITY / "prometheus" / "rules" / "clickstream.rules.yaml"
RULE_TESTS = OBSERVABILITY / "prometheus" / "tests" / "clickstream.test.yaml"
DASHBOARDS = sorted((OBSERVABILITY / "grafana" / "dashboards").glob("*.json"))
ALERTING = OBSERVABILITY / "grafana" / "alerting.yaml"
DATASOURCES = OBSERVABILITY / "grafana" / "datasources.yaml"
# series Prometheus makes itself, not a function
PROMETHEUS_SERIES = frozenset({"up", "ALERTS"})

_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (functions, labels and keywords left out)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = _GROUPING.sub(" ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        if text[match.end() :].lstrip().startswith("(") or match.group() in _KEYWORDS:
            continue
        names.add(match.group())
    return names


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(RULES)["groups"] for rule in group["rules"]]


def recorded() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def dashboard(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def panel_targets(document: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for panel in document["panels"]:
        for target in panel.get("targets", []):
            yield panel, target


def grafana_alert_queries() -> list[str]:
    return [
        query["model"]["expr"]
        for group in load_yaml(ALERTING)["groups"]
        for rule in group["rules"]
        for query in rule["data"]
        if "expr" in query["model"]
    ]


def every_expression() -> dict[str, str]:
    """Each PromQL expression of the observability stack, by where it is used."""
    found = {f"rule {r.get('record') or r['alert']}": r["expr"] for r in rules()}
    for path in DASHBOARDS:
        for panel, target in panel_targets(dashboard(path)):
            found[f"{path.name} panel {panel['id']} {target['refId']}"] = target["expr"]
    for n, expr in enumerate(grafana_alert_queries()):
        found[f"grafana alert query {n}"] = expr
    return found
