"""The Secrets `nox -s deploy` makes once per cluster: the database's, with a random
password, the tokens' (an admin token, a read token and a write key, printed once), and the
alerting one of knative/observability (Slack webhook, Grafana password).

Created by `nox -s deploy` rather than committed: no password lives in the repository, and
an existing Secret is never replaced, so re-deploying keeps the database reachable.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from functions.core.sites import new_secret

DB_SECRET = "clickstream-db"
DB_USER = "clickstream"
DB_NAME = "clickstream"
# the keys the manifests read (a test checks each reference against these)
DB_SECRET_KEYS = ("POSTGRES_PASSWORD", "DATABASE_URL")
# what the gateway and ingest check requests against: without a token the gateway refuses
# to start on the cluster (functions/gateway/__main__.py), and without write keys anyone
# could send events
TOKENS_SECRET = "clickstream-tokens"
TOKENS_SECRET_KEYS = ("GATEWAY_ADMIN_TOKENS", "GATEWAY_READ_TOKENS", "INGEST_WRITE_KEYS")
ALERTING_SECRET = "clickstream-alerting"
ALERTING_NAMESPACE = "clickstream-observability"
ALERTING_SECRET_KEYS = ("slack-webhook-url", "grafana-admin-password")


def db_secret_manifest(namespace: str, password: str | None = None) -> str:
    """The Secret as JSON for `kubectl create -f -` (stdin keeps the password off argv)."""
    password = password or secrets.token_urlsafe(24)
    url = f"postgresql://{DB_USER}:{password}@postgres.{namespace}.svc:5432/{DB_NAME}"
    return _secret(DB_SECRET, namespace, {"POSTGRES_PASSWORD": password, "DATABASE_URL": url})


@dataclass(frozen=True, slots=True)
class Tokens:
    """The first secrets of an installation, for the `default` site (an admin token valid
    on every site, to make the others with `python -m functions.admin`)."""

    admin: str
    read: str
    write: str

    @classmethod
    def new(cls) -> Tokens:
        return cls(new_secret("admin"), new_secret("read"), new_secret("write"))

    def lines(self) -> list[str]:
        """What `nox -s deploy` prints, once: nothing else can show them again."""
        return [
            f"admin token (every site): {self.admin}",
            f"read token (site default): {self.read}",
            f"write key (site default): {self.write}",
            f"store them now: they are not shown again (Secret {TOKENS_SECRET})",
        ]


def tokens_secret_manifest(namespace: str, tokens: Tokens) -> str:
    data = {
        "GATEWAY_ADMIN_TOKENS": tokens.admin,
        "GATEWAY_READ_TOKENS": tokens.read,
        "INGEST_WRITE_KEYS": tokens.write,
    }
    return _secret(TOKENS_SECRET, namespace, data)


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
