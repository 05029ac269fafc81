"""The gateway's HTTP behaviour with real `query` and `gateway` processes: read tokens, CORS,
error statuses naming the parameter, Cache-Control, its request-duration metric."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from functions.dev.ports import free_port
from tests.fixtures.functions import http_alive, running_function
from tests.fixtures.metrics import metric
from tests.fixtures.polling import eventually
from tests.fixtures.query_server import running_query

pytestmark = pytest.mark.integration

TOKEN = "read-token-0123456789abcdef"
ADMIN_TOKEN = "admin-token-0123456789abcdef"
ORIGIN = "https://dashboard.example"


@pytest.fixture(scope="module")
def query_addr(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    with running_query(env, tmp_path_factory.mktemp("query") / "query.log") as server:
        yield server.address


@pytest.fixture(scope="module")
def metrics_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def gateway(
    query_addr: str,
    metrics_port: int,
    redis_url: str,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[httpx.Client]:
    env = {
        "DATABASE_URL": database_url,  # the sites' tokens
        "QUERY_ADDR": query_addr,
        "REDIS_URL": redis_url,
        "GATEWAY_READ_TOKENS": f"other-token-0123456789,{TOKEN}",
        "GATEWAY_ADMIN_TOKENS": ADMIN_TOKEN,
        "CORS_ALLOWED_ORIGINS": ORIGIN,
        "METRICS_PORT": str(metrics_port),
    }
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    with (
        running_function("functions.gateway", env, log) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        yield client


AUTH = {"Authorization": f"Bearer {TOKEN}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.mark.parametrize(
    "path", ["/api/v1/overview", "/api/v1/pages/top", "/analytics/events?user_id=u&page_url=/"]
)
def test_reads_need_a_token(gateway: httpx.Client, path: str) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": TOKEN},
    ):
        answer = gateway.get(path, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "UNAUTHENTICATED"
        assert answer.headers["www-authenticate"] == "Bearer"
    assert gateway.get(path, headers=AUTH).status_code == 200


def lookups(metrics_port: int, result: str) -> float:
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    return metric(url, "clickstream_gateway_cache_lookups_total", result=result)


def test_a_count_the_gateway_holds_is_answered_by_the_same_rules(
    gateway: httpx.Client, metrics_port: int
) -> None:
    params = {"user_id": "held-user", "page_url": "/held"}

    def answered_from_the_copy() -> bool:  # once the copy is live and has fetched the count
        hits = lookups(metrics_port, "hit")
        assert gateway.get("/analytics/events", params=params, headers=AUTH).json()["count"] == 0
        return lookups(metrics_port, "hit") == hits + 1

    eventually(answered_from_the_copy, "the gateway never answered from its copy", timeout_s=10)
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}):
        assert gateway.get("/analytics/events", params=params, headers=headers).status_code == 401
    answer = gateway.get("/analytics/events", params=params, headers=AUTH)
    assert answer.json() == {**params, "count": 0}
    assert answer.headers["cache-control"] == "private, max-age=5"
    assert answer.headers["content-type"] == "application/json"
    in_body = gateway.post("/analytics/events", json=params, headers=AUTH)
    assert in_body.json() == {**params, "count": 0}
    missing = gateway.get("/analytics/events", params={"user_id": "held-user"}, headers=AUTH)
    assert missing.status_code == 400
    assert missing.json()["error"]["field"] == "page_url"


def held_read(gateway: httpx.Client, metrics_port: int, user: str) -> str:
    """The request line + headers of a read of `user` on `/held`, once the gateway holds it."""
    params = {"user_id": user, "page_url": "/held"}

    def held() -> bool:
        hits = lookups(metrics_port, "hit")
        gateway.get("/analytics/events", params=params, headers=AUTH)
        return lookups(metrics_port, "hit") == hits + 1

    eventually(held, f"the gateway never held {user}'s count", timeout_s=10)
    return (
        f"GET /analytics/events?user_id={user}&page_url=/held HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
    )


def exchange(
    gateway: httpx.Client, raw: str, answers: int
) -> list[tuple[str, dict[str, str], bytes]]:
    """Send `raw` on one new connection and read `answers` responses off it, in the order they
    came: (status line, headers, body)."""
    with socket.create_connection(
        (gateway.base_url.host, gateway.base_url.port), timeout=10
    ) as sock:
        sock.sendall(raw.encode())
        received, parsed = b"", list[tuple[str, dict[str, str], bytes]]()
        while len(parsed) < answers:
            head_end = received.find(b"\r\n\r\n")
            if head_end >= 0:
                status, *lines = received[:head_end].decode().split("\r\n")
                headers = dict(line.split(": ", 1) for line in lines)
                end = head_end + 4 + int(headers["content-length"])
                if len(received) >= end:
                    parsed.append((status, headers, received[head_end + 4 : end]))
                    received = received[end:]
                    continue
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(parsed)} answers"
            received += chunk
        assert received == b""
        return parsed


def test_a_held_count_on_the_wire(gateway: httpx.Client, metrics_port: int) -> None:
    request = held_read(gateway, metrics_port, "wire-user")
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    labels = {"route": "/analytics/events", "method": "GET", "status_class": "2xx"}
    name = "clickstream_http_server_request_duration_seconds_count"
    timed, hits = metric(url, name, **labels), lookups(metrics_port, "hit")
    [(status, headers, body)] = exchange(gateway, request + "\r\n", 1)
    assert status == "HTTP/1.1 200 OK"
    assert list(headers) == ["date", "server", "content-type", "cache-control", "content-length"]
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "private, max-age=5"
    assert body == b'{"user_id":"wire-user","page_url":"/held","count":0}'
    assert (metric(url, name, **labels), lookups(metrics_port, "hit")) == (timed + 1, hits + 1)


def test_pipelined_reads_are_answered_in_order(gateway: httpx.Client, metrics_port: int) -> None:
    held = held_read(gateway, metrics_port, "piped-user") + "\r\n"
    # a count the gateway must fetch from `query` first, then one it holds, then a probe
    fetched = held.replace("piped-user", "piped-new-user")
    probe = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    answers = exchange(gateway, fetched + held + probe, 3)
    assert [status for status, _, _ in answers] == ["HTTP/1.1 200 OK"] * 3
    assert [body for _, _, body in answers] == [
        b'{"user_id":"piped-new-user","page_url":"/held","count":0}',
        b'{"user_id":"piped-user","page_url":"/held","count":0}',
        b'{"status":"ok"}',
    ]


def test_reads_sent_faster_than_their_answers_are_read(
    gateway: httpx.Client, metrics_port: int
) -> None:
    # the client writes 40,000 pipelined held reads through a small receive buffer and starts
    # reading only once the gateway stopped answering, so the answers back up until its
    # transport pauses writing and the reads go through uvicorn's own cycle; every answer
    # still comes, in order
    reads = [held_read(gateway, metrics_port, user) + "\r\n" for user in ("flood-a", "flood-b")]
    raw = "".join(reads) * 20_000
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    deferred = "clickstream_gateway_held_reads_deferred_total"
    before = metric(url, deferred, reason="client_not_reading")
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(30)
        sock.connect((gateway.base_url.host, gateway.base_url.port))
        sender = threading.Thread(target=sock.sendall, args=(raw.encode(),))
        sender.start()
        # not reading until the gateway stops answering: its answers have backed up
        stalled, hits = 0, -1.0
        deadline = time.monotonic() + 60
        while stalled < 3 and time.monotonic() < deadline:
            time.sleep(0.3)
            now = lookups(metrics_port, "hit")
            stalled, hits = (stalled + 1, now) if now == hits else (0, now)
        received = b""
        while received.count(b"HTTP/1.1 200 OK") < 40_000:
            chunk = sock.recv(1 << 20)
            assert chunk, "the gateway closed the connection"
            received += chunk
        sender.join()
    bodies = re.findall(rb'"user_id":"(flood-[ab])"', received)
    assert bodies == [b"flood-a", b"flood-b"] * 20_000
    # the fault happened: answers backed up and reads went through the paused path
    assert metric(url, deferred, reason="client_not_reading") > before


@pytest.mark.parametrize(
    ("version", "header"), [("HTTP/1.1", "Connection: close\r\n"), ("HTTP/1.0", "")]
)
def test_a_held_read_closing_its_connection(
    gateway: httpx.Client, metrics_port: int, version: str, header: str
) -> None:
    request = held_read(gateway, metrics_port, "closing-user").replace("HTTP/1.1", version)
    with socket.create_connection(
        (gateway.base_url.host, gateway.base_url.port), timeout=10
    ) as sock:
        sock.sendall(f"{request}{header}\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):  # until the gateway closes the connection
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nconnection: close" in head
    assert body == b'{"user_id":"closing-user","page_url":"/held","count":0}'


def test_a_held_read_from_the_dashboard_origin_gets_cors_headers(
    gateway: httpx.Client, metrics_port: int
) -> None:
    held_read(gateway, metrics_port, "cors-user")
    params = {"user_id": "cors-user", "page_url": "/held"}
    answer = gateway.get("/analytics/events", params=params, headers={**AUTH, "Origin": ORIGIN})
    assert answer.json()["count"] == 0
    assert answer.headers["access-control-allow-origin"] == ORIGIN


def test_open_routes_need_no_token(gateway: httpx.Client) -> None:
    assert gateway.get("/openapi.json").json()["openapi"] == "3.1.0"
    assert gateway.get("/healthz").status_code == 200
    assert gateway.get("/readyz").json()["checks"] == {"query": True}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/pages/top?limit=abc", "limit"),
        ("/api/v1/pages/top?limit=1001", "limit"),
        ("/api/v1/pages/top?limit=0", "limit"),
        ("/api/v1/overview?from=yesterday", "from"),
        ("/api/v1/overview?to=2025-01-01T00:00:00", "to"),
        ("/api/v1/overview?from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z", "to"),
        ("/api/v1/timeseries?bucket=day", "bucket"),
        ("/api/v1/timeseries?from=2025-01-01T00:00:00Z&to=2025-03-01T00:00:00Z", "bucket"),
        ("/api/v1/users/a%00b/activity", "user_id"),
        ("/api/v1/overview?site=Shop.Example", "site"),
        ("/analytics/events?page_url=/", "user_id"),
        # well-formed reads that `query` refuses, through the gateway's own count path
        ("/analytics/events?user_id=u&page_url=/" + "x" * 2048, "page_url"),
        ("/analytics/events?user_id=u%00v&page_url=/", "user_id"),
    ],
)
def test_bad_parameters_are_400_naming_them(gateway: httpx.Client, path: str, field: str) -> None:
    answer = gateway.get(path, headers=AUTH)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "INVALID_ARGUMENT"
    assert error["field"] == field
    assert answer.headers["cache-control"] == "no-store"


def test_unknown_routes_and_methods(gateway: httpx.Client) -> None:
    assert gateway.get("/api/v1/nothing", headers=AUTH).status_code == 404
    wrong = gateway.post("/api/v1/overview", headers=AUTH)
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET"


def test_successes_carry_cache_control(gateway: httpx.Client) -> None:
    assert gateway.get("/api/v1/overview", headers=AUTH).headers["cache-control"] == (
        "private, max-age=5"
    )
    assert gateway.get("/api/v1/dead-letters", headers=ADMIN).headers["cache-control"] == "no-store"
    assert gateway.get("/api/v1/sites", headers=AUTH).headers["cache-control"] == "no-store"


def test_a_bad_dead_letter_cursor_is_400_naming_it(gateway: httpx.Client) -> None:
    answer = gateway.get("/api/v1/dead-letters?cursor=x", headers=ADMIN)
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "cursor"


def test_cors_for_the_dashboard_origin(gateway: httpx.Client) -> None:
    preflight = gateway.options(
        "/api/v1/overview",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    answer = gateway.get("/api/v1/overview", headers={**AUTH, "Origin": ORIGIN})
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    other = gateway.get("/api/v1/overview", headers={**AUTH, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_request_duration_metric_per_route_template(
    gateway: httpx.Client, metrics_port: int
) -> None:
    gateway.get("/api/v1/users/someone/activity", headers=AUTH)
    text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    series = re.findall(
        r"clickstream_http_server_request_duration_seconds_count\{(.*)\} (\S+)", text
    )
    labels = [dict(re.findall(r'(\w+)="([^"]*)"', found)) for found, _ in series]
    template = "/api/v1/users/{user_id}/activity"
    assert any(d.get("route") == template and d.get("status_class") == "2xx" for d in labels), text


def test_query_down_is_503(tmp_path: Path, database_url: str) -> None:
    # nothing listens at QUERY_ADDR
    env = {"DATABASE_URL": database_url, "QUERY_ADDR": f"127.0.0.1:{free_port()}"}
    with running_function("functions.gateway", env, tmp_path / "gw.log", http_alive) as url:
        for path in ("/api/v1/overview", "/analytics/events?user_id=u&page_url=/"):
            answer = httpx.get(url + path, timeout=10)
            assert answer.status_code == 503
            assert answer.json()["error"]["code"] in ("UNAVAILABLE", "DEADLINE_EXCEEDED")
        assert httpx.get(url + "/readyz", timeout=10).status_code == 503
