"""A deployed installation's defences, with real `query`, `gateway` and `ingest` processes:
bodies and heads over their limits are refused (413, 431) before any function code; a read
while `query` cannot reach PostgreSQL answers 503 naming no host, port or statement; CORS
stays closed unless configured; GATEWAY_PUBLIC opens the reports only; a gateway on the
cluster without a token does not start; and no function's log holds a user id or a client
address this test sent.

`query` here points at a port nothing listens on: PostgreSQL stopped, as far as it can tell,
without stopping the server other tests share. The gateway's own key ring reads the real
database."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from grpc_health.v1 import health_pb2

from functions.core.limits import HEAD_MAX_BYTES
from functions.dev.ports import free_port
from tests.fixtures.functions import http_alive, new_topic, running_function
from tests.fixtures.query_server import QueryServer, running_query

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:8]
TOKEN = "read-token-security-0123456789"
ADMIN_TOKEN = "admin-token-security-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# user ids and client addresses (TEST-NET-3, documentation-only) the logs must not hold
USERS = [f"person-{RUN}-{n}" for n in range(3)]
ADDRESSES = [f"203.0.113.{n}" for n in (17, 42, 99)]
CLOSED_PORT = free_port()
TWO_MIB = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("security-logs")


@pytest.fixture(scope="module")
def query_down(redis_url: str, logs: Path) -> Iterator[QueryServer]:
    env = {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{CLOSED_PORT}/postgres",
        "REDIS_URL": redis_url,
    }
    not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
    with running_query(env, logs / "query.log", expect=not_serving) as server:
        yield server


def gateway_env(
    query: QueryServer, database_url: str, redis_url: str, **env: str
) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "QUERY_ADDR": query.address,
        "REDIS_URL": redis_url,
        "GATEWAY_READ_TOKENS": TOKEN,
        "GATEWAY_ADMIN_TOKENS": ADMIN_TOKEN,
        **env,
    }


@pytest.fixture(scope="module")
def gateway(
    query_down: QueryServer, database_url: str, redis_url: str, logs: Path
) -> Iterator[httpx.Client]:
    env = gateway_env(query_down, database_url, redis_url)
    with (
        running_function("functions.gateway", env, logs / "gateway.log", http_alive) as url,
        httpx.Client(base_url=url, timeout=20) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def public_gateway(
    query_down: QueryServer, database_url: str, redis_url: str, logs: Path
) -> Iterator[httpx.Client]:
    env = gateway_env(query_down, database_url, redis_url, GATEWAY_PUBLIC="true")
    with (
        running_function("functions.gateway", env, logs / "public-gateway.log", http_alive) as url,
        httpx.Client(base_url=url, timeout=20) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def ingest(kafka_bootstrap: str, database_url: str, logs: Path) -> Iterator[str]:
    env = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPIC": new_topic(kafka_bootstrap),
    }
    with running_function("functions.ingest", env, logs / "ingest.log") as url:
        yield url


def assert_error(answer: httpx.Response, status: int, code: str, field: str | None) -> None:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == (code, field)


@pytest.mark.parametrize("path", ["/api/v1/dead-letters/replay", "/analytics/events"])
def test_a_2_mib_post_is_413(gateway: httpx.Client, path: str) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
    answer = gateway.post(path, content=b"{" + b" " * TWO_MIB + b"}", headers=headers)
    assert_error(answer, 413, "PAYLOAD_TOO_LARGE", "body")


def test_a_chunked_body_over_the_limit_is_413(gateway: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(32):
            yield b" " * (64 * 1024)

    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
    answer = gateway.post("/api/v1/dead-letters/replay", content=chunks(), headers=headers)
    assert_error(answer, 413, "PAYLOAD_TOO_LARGE", "body")


def test_headers_over_the_limit_are_431(gateway: httpx.Client, ingest: str) -> None:
    big = {"X-Padding": "x" * (HEAD_MAX_BYTES + 1)}
    for client, path in ((gateway, "/api/v1/overview"), (httpx.Client(base_url=ingest), "/")):
        answer = client.get(path, headers=big)
        assert_error(answer, 431, "REQUEST_HEADER_FIELDS_TOO_LARGE", "headers")
    assert gateway.get("/healthz", headers={"X-Padding": "x" * 1000}).status_code == 200


def test_a_head_that_never_ends_is_cut_off(gateway: httpx.Client) -> None:
    """One header sent on and on: refused once past the limit, not buffered without end."""
    port = int(str(gateway.base_url).rsplit(":", 1)[1].rstrip("/"))
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: ")
        for _ in range(64):  # 256 KiB at most, stopping once the server has answered
            try:
                raw.sendall(b"y" * 4096)
            except OSError:
                break
            if select.select([raw], [], [], 0.05)[0]:
                break
        try:
            while chunk := raw.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_a_read_while_postgresql_is_down_is_503_naming_nothing(gateway: httpx.Client) -> None:
    answer = gateway.get(f"/api/v1/users/{USERS[0]}/activity", headers=AUTH)
    assert_error(answer, 503, "UNAVAILABLE", None)
    assert answer.headers["retry-after"] == "1"
    body = answer.text.lower()
    for revealing in ("127.0.0.1", str(CLOSED_PORT), "port", "select", "connection", "sql"):
        assert revealing not in body, body
    # a site of its own: nothing in the shared Redis can answer for it
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    overview = gateway.get("/api/v1/overview", headers=admin, params={"site": f"s-{RUN}"})
    assert_error(overview, 503, "UNAVAILABLE", None)


def test_cors_is_closed_unless_configured(gateway: httpx.Client) -> None:
    origin = {"Origin": "https://evil.example"}
    answer = gateway.get("/api/v1/overview", headers={**origin, **AUTH})
    assert "access-control-allow-origin" not in answer.headers
    preflight = gateway.options(
        "/api/v1/overview", headers={**origin, "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_public_reports_open_admin_and_personal_routes_closed(
    public_gateway: httpx.Client,
) -> None:
    # 503: past authorization, on to query (whose PostgreSQL is down here), for a site of
    # its own that nothing in the shared Redis answers for
    mine = {"site": f"p-{RUN}"}
    assert public_gateway.get("/api/v1/overview", params=mine).status_code == 503
    assert public_gateway.get("/api/v1/dead-letters").status_code == 401
    assert public_gateway.post("/api/v1/dead-letters/replay", json={"ids": [1]}).status_code == 401
    assert public_gateway.get(f"/api/v1/users/{USERS[1]}/activity", params=mine).status_code == 401
    assert public_gateway.get("/api/v1/dead-letters", headers=AUTH).status_code == 403


def test_the_gateway_on_the_cluster_without_a_token_does_not_start() -> None:
    env = {
        **os.environ,
        "K_SERVICE": "gateway",
        "GATEWAY_READ_TOKENS": "",
        "GATEWAY_ADMIN_TOKENS": "",
        "PORT": str(free_port()),
    }
    done = subprocess.run(
        [sys.executable, "-m", "functions.gateway"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1  # sys.exit with the line (functions/core/config.py)
    assert done.stderr.strip().splitlines() == [
        "configuration error: GATEWAY_ADMIN_TOKENS: no GATEWAY_ADMIN_TOKENS or"
        " GATEWAY_READ_TOKENS on the cluster: set one (the Secret clickstream-tokens), or"
        " GATEWAY_PUBLIC=true for public reports"
    ]


def test_no_log_holds_a_user_id_or_a_client_address(
    gateway: httpx.Client, ingest: str, logs: Path
) -> None:
    """Every route that names a person, errors included (400, 404, 413, 503), then each
    function's whole log searched."""
    for user, address in zip(USERS, ADDRESSES, strict=True):
        forwarded = {"X-Forwarded-For": address}
        gateway.get(f"/api/v1/users/{user}/activity", headers={**AUTH, **forwarded})
        gateway.get(f"/api/v1/users/{user}/activity", headers=forwarded)
        gateway.get("/analytics/events", params={"user_id": user, "page_url": "/p"}, headers=AUTH)
        gateway.get(f"/api/v1/no-such/{user}", headers={**AUTH, **forwarded})
        event = {
            "event_id": f"{RUN}-{user}",
            "user_id": user,
            "event_type": "click",
            "page_url": "/p",
        }
        accepted = httpx.post(f"{ingest}/ingest", json=event, headers=forwarded)
        assert accepted.status_code == 202, accepted.text
        refused = httpx.post(
            f"{ingest}/ingest", json={**event, "page_url": "no url"}, headers=forwarded
        )
        assert refused.status_code == 400
        too_large = httpx.post(f"{ingest}/ingest", content=b"x" * TWO_MIB, headers=forwarded)
        assert too_large.status_code == 413
    written = {path.name: path.read_text(errors="replace") for path in logs.glob("*.log")}
    assert {"gateway.log", "query.log", "ingest.log"} <= set(written)
    for name, text in written.items():
        for secret in (*USERS, *ADDRESSES):
            assert secret not in text, f"{name} holds {secret}"
