"""The Secrets `nox -s deploy` makes once per cluster: the database's, with a random
password, and the alerting one of knative/observability (Slack webhook, Grafana password).

Created by `nox -s deploy` rather than committed: no password lives in the repository, and
an existing Secret is never replaced, so re-deploying keeps the database reachable.
"""

from __future__ import annotations

import json
import secrets

DB_SECRET = "clickstream-db"
DB_USER = "clickstream"
DB_NAME = "clickstream"
# the keys the manifests read (a test checks each reference against these)
DB_SECRET_KEYS = ("POSTGRES_PASSWORD", "DATABASE_URL")
ALERTING_SECRET = "clickstream-alerting"
ALERTING_NAMESPACE = "clickstream-observability"
ALERTING_SECRET_KEYS = ("slack-webhook-url", "grafana-admin-password")


def db_secret_manifest(namespace: str, password: str | None = None) -> str:
    """The Secret as JSON for `kubectl create -f -` (stdin keeps the password off argv)."""
    password = password or secrets.token_urlsafe(24)
    url = f"postgresql://{DB_USER}:{password}@postgres.{namespace}.svc:5432/{DB_NAME}"
    return _secret(DB_SECRET, namespace, {"POSTGRES_PASSWORD": password, "DATABASE_URL": url})


def alerting_secret_manifest(slack_webhook_url: str, admin_password: str | None = None) -> str:
    """The Secret Grafana reads: where alerts go, and its admin password (random)."""
    data = {
        "slack-webhook-url": slack_webhook_url,
        "grafana-admin-password": admin_password or secrets.token_urlsafe(18),
    }
    return _secret(ALERTING_SECRET, ALERTING_NAMESPACE, data)


def _secret(name: str, namespace: str, data: dict[str, str]) -> str:
    labels = {"app.kubernetes.io/part-of": "clickstream"}
    metadata = {"name": name, "namespace": namespace, "labels": labels}
    return json.dumps(
        {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "stringData": data}
    )
