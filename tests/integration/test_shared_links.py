"""Shared links: `python -m functions.admin links add|list|revoke` and what a link opens on
real `query` and `gateway` processes: its one site's reports, never one person's rows, the
admin routes or another site; revoked, nothing. A database of this module's own: its keys
would close other tests' open routes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.functions import running_function
from tests.fixtures.polling import eventually
from tests.fixtures.query_server import running_query
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:8]
SITE, OTHER = f"shared-{RUN}.example", f"other-{RUN}.example"
PAST = {"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"}


def admin(url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "functions.admin", *arguments],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )


def admin_json(url: str, *arguments: str) -> Any:
    done = admin(url, *arguments, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def links_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def sites(links_url: str) -> dict[str, str]:
    """Each site's read token."""
    return {
        name: admin_json(links_url, "sites", "add", name)["read"]["secret"]
        for name in (SITE, OTHER)
    }


@pytest.fixture(scope="module")
def gateway(
    links_url: str, redis_url: str, sites: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    logs = tmp_path_factory.mktemp("links")
    env = {"DATABASE_URL": links_url, "REDIS_URL": redis_url}
    with running_query(env, logs / "query.log") as query:
        gateway_env = {**env, "QUERY_ADDR": query.address}
        with (
            running_function("functions.gateway", gateway_env, logs / "gateway.log") as url,
            httpx.Client(base_url=url, timeout=20) as client,
        ):
            yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_links_add_list_revoke_through_the_command(links_url: str, sites: dict[str, str]) -> None:
    added = admin(
        links_url,
        "links",
        "add",
        "--site",
        SITE,
        "--label",
        "the board",
        "--url",
        "https://stats.example/",
    )
    assert added.returncode == 0, added.stderr
    first, once = added.stdout.strip().splitlines()
    assert first.startswith("shared link ")
    assert f"(site {SITE}): https://stats.example/#token=csl_" in first
    assert "cannot be shown again" in once
    link_id = int(first.split()[2])

    listed = admin_json(links_url, "links", "list", "--site", SITE)["links"]
    assert [(k["id"], k["scope"], k["label"]) for k in listed] == [(link_id, "link", "the board")]
    assert "the board" in admin(links_url, "links", "list").stdout

    # `links revoke` revokes links only: a read token's id is no link
    read_id = admin_json(links_url, "keys", "list", "--site", SITE)["keys"][0]["id"]
    refused = admin(links_url, "links", "revoke", str(read_id))
    assert refused.returncode == 2
    assert f"no link {read_id}" in refused.stderr
    assert admin_json(links_url, "links", "revoke", str(link_id)) == {
        "id": link_id,
        "revoked": True,
    }
    again = admin_json(links_url, "links", "revoke", str(link_id))
    assert again == {"id": link_id, "revoked": False}


def test_a_label_is_1_to_200_characters(links_url: str, sites: dict[str, str]) -> None:
    done = admin(links_url, "links", "add", "--site", SITE, "--label", "x" * 201)
    assert done.returncode == 2
    assert "--label" in done.stderr


def test_a_link_reads_its_sites_reports_only_until_revoked(
    links_url: str, sites: dict[str, str], gateway: httpx.Client
) -> None:
    link = admin_json(links_url, "links", "add", "--site", SITE)
    token = link["secret"]
    assert link["link"] == f"/#token={token}"
    as_link = bearer(token)
    eventually(
        lambda: (
            gateway.get(
                "/api/v1/overview", params={**PAST, "site": SITE}, headers=as_link
            ).status_code
            == 200
        ),
        "the gateway never took the new link",
        timeout_s=15,
    )
    for path, extra in (
        ("/api/v1/visits", {}),
        ("/api/v1/pages/top", {}),
        ("/api/v1/breakdown", {"dimension": "page"}),
    ):
        params = {**PAST, "site": SITE, **extra}
        assert gateway.get(path, params=params, headers=as_link).status_code == 200, path
    sites_listed = gateway.get("/api/v1/sites", headers=as_link).json()["sites"]
    assert [s["name"] for s in sites_listed] == [SITE]

    refused = {
        "another site": gateway.get(
            "/api/v1/overview", params={**PAST, "site": OTHER}, headers=as_link
        ),
        "a person's activity": gateway.get(
            "/api/v1/users/u1/activity", params={"site": SITE}, headers=as_link
        ),
        "a person's count": gateway.get(
            "/analytics/events",
            params={"user_id": "u1", "page_url": "/", "site": SITE},
            headers=as_link,
        ),
        "dead letters": gateway.get("/api/v1/dead-letters", headers=as_link),
    }
    assert {what: answer.status_code for what, answer in refused.items()} == dict.fromkeys(
        refused, 403
    )
    # the site's read token still reads a person's rows (none here: 404, past the 403)
    activity = gateway.get(
        "/api/v1/users/u1/activity", params={"site": SITE}, headers=bearer(sites[SITE])
    )
    assert activity.status_code in (200, 404), activity.text

    admin_json(links_url, "links", "revoke", str(link["id"]))
    eventually(
        lambda: (
            gateway.get(
                "/api/v1/overview", params={**PAST, "site": SITE}, headers=as_link
            ).status_code
            == 401
        ),
        "the revoked link still reads",
        timeout_s=15,
    )
