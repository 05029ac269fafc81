"""Erasure and export through real `gateway` and `query` processes, PostgreSQL and Redis
(docs/lifecycle.md): an erased person is in no row of any table and in no answer the gateway
gives, their erasure is recorded without their id; an export is the filtered range's raw
events, as SQL reads them, in both formats."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import json
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from functions.core.events import ClickEvent
from functions.process.store import write_events
from tests.fixtures.polling import eventually
from tests.fixtures.query_server import running_read_path
from tests.fixtures.reports_world import World, seed
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:8]
T0 = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=random.randrange(200 * 24))
WORLD = World(f"a-{RUN}.test", f"b-{RUN}.test", f"r-{RUN}.test", T0, T0 + timedelta(hours=2))
ERASE_SITE = f"erase-{RUN}.test"
VICTIM = f"victim-{RUN}"
BYSTANDER = f"bystander-{RUN}"
READ_TOKEN = "read-token-of-default-0123456789"
ADMIN_TOKEN = "admin-token-0123456789abcdef"
ERASURE_KEY = "erasure-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ADMIN_COMMAND = (sys.executable, "-m", "functions.admin")
EXPORTED = (
    "event_id, user_id, event_type, page_url, time_stamp, referrer, session_id, properties::text,"
    " browser, os, device, country, referrer_host, utm_source, utm_medium, utm_campaign"
)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


RANGE = {"site": WORLD.site, "from": iso(WORLD.start), "to": iso(WORLD.end)}


def seed_people(database_url: str) -> None:
    """The person to erase (two visits, one in a session, two pages, a dead letter) and a
    bystander on the same page, written as process writes them."""
    plan = [
        (VICTIM, None, 0, "/a"),
        (VICTIM, None, 1, "/a"),
        (VICTIM, f"s-{RUN}", 90, "/b"),
        (BYSTANDER, None, 2, "/a"),
    ]
    events = [
        ClickEvent(
            event_id=f"x{n}",
            user_id=user,
            event_type="pageview",
            page_url=page,
            time_stamp=T0 + timedelta(minutes=minute),
            session_id=session,
            site=ERASE_SITE,
        )
        for n, (user, session, minute, page) in enumerate(plan)
    ]

    async def write() -> None:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await write_events(conn, events)

    asyncio.run(write())
    letter = {"id": f"dl-{RUN}", "data": {"user_id": VICTIM, "site": ERASE_SITE}}
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO dead_letters (event_id, event) VALUES (%s, %s)",
            [f"dl-{RUN}", json.dumps(letter)],
        )


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A database of this module's own: an erasure removes raw events and keeps the anonymous
    roll-ups, by design, which the other modules' from-scratch comparisons of the session's
    database would count as differences."""
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def gateway(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    seed(database_url, WORLD)
    seed_people(database_url)
    logs = tmp_path_factory.mktemp("lifecycle")
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    tokens = {"GATEWAY_READ_TOKENS": READ_TOKEN, "GATEWAY_ADMIN_TOKENS": ADMIN_TOKEN}
    with (
        running_read_path(env, logs, {"ERASURE_HASH_KEY": ERASURE_KEY}, tokens) as url,
        httpx.Client(base_url=url, timeout=30, headers=AUTH) as client,
    ):
        yield client


def rows_naming(database_url: str, text: str) -> dict[str, int]:
    """Rows of every table of the schema whose text form holds `text`, by table."""
    found: dict[str, int] = {}
    with psycopg.connect(database_url) as conn:
        # a partition's rows are its parent's: each table once, as `click_events`
        tables = conn.execute(
            """SELECT relname FROM pg_class
               WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p')
                 AND NOT relispartition"""
        ).fetchall()
        assert len(tables) > 10
        for (table,) in tables:
            statement = sql.SQL("SELECT count(*) FROM {} AS t WHERE strpos(t::text, %s) > 0")
            row = conn.execute(statement.format(sql.Identifier(table)), [text]).fetchone()
            if row is not None and row[0]:
                found[table] = row[0]
    return found


def count(gateway: httpx.Client, user: str, page: str) -> int:
    answer = gateway.get(
        "/analytics/events", params={"user_id": user, "page_url": page, "site": ERASE_SITE}
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["count"])


def activity(gateway: httpx.Client, user: str) -> int:
    answer = gateway.get(
        f"/api/v1/users/{user}/activity",
        params={"site": ERASE_SITE, "from": iso(T0), "to": iso(T0 + timedelta(hours=3))},
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["total"])


def test_erasure_forgets_the_person_everywhere(gateway: httpx.Client, database_url: str) -> None:
    # read first, so that Redis, query and the gateway's own copy all hold answers about them
    assert count(gateway, VICTIM, "/a") == 2
    assert count(gateway, VICTIM, "/a") == 2
    assert activity(gateway, VICTIM) == 3
    before = rows_naming(database_url, VICTIM)
    assert set(before) == {"click_events", "visits", "page_clicks", "dead_letters"}

    path = f"/api/v1/users/{VICTIM}"
    refused = gateway.delete(path, params={"site": ERASE_SITE}, headers={"Authorization": ""})
    assert refused.status_code == 401
    refused = gateway.delete(
        path, params={"site": ERASE_SITE}, headers={"Authorization": f"Bearer {READ_TOKEN}"}
    )
    assert refused.status_code == 403
    assert rows_naming(database_url, VICTIM) == before

    answer = gateway.delete(path, params={"site": ERASE_SITE})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    removed = {"click_events": 3, "visits": 2, "page_clicks": 2, "dead_letters": 1}
    assert body["removed"] == removed

    assert rows_naming(database_url, VICTIM) == {}
    assert activity(gateway, VICTIM) == 0  # the cached answer is stale at once
    eventually(lambda: count(gateway, VICTIM, "/a") == 0, "the gateway still holds their count")
    assert count(gateway, VICTIM, "/b") == 0
    assert count(gateway, BYSTANDER, "/a") == 1
    assert activity(gateway, BYSTANDER) == 1

    with psycopg.connect(database_url) as conn:
        record = conn.execute(
            "SELECT site, subject, actor, removed FROM erasures WHERE id = %s",
            [body["erasure_id"]],
        ).fetchone()
    assert record is not None
    token_hash = hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest()[:16]
    subject = hmac.new(ERASURE_KEY.encode(), f"{ERASE_SITE}\x1f{VICTIM}".encode(), "sha256")
    assert record == (
        ERASE_SITE,
        subject.digest(),
        f"gateway token sha256:{token_hash}",
        removed,
    )

    again = gateway.delete(path, params={"site": ERASE_SITE})
    assert again.status_code == 200
    assert set(again.json()["removed"].values()) == {0}


def test_the_admin_command_erases_too(
    gateway: httpx.Client, database_url: str, redis_url: str
) -> None:
    assert count(gateway, BYSTANDER, "/a") == 1
    done = subprocess.run(
        [*ADMIN_COMMAND, "users", "erase", "--json", "--site", ERASE_SITE, BYSTANDER],
        env={**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["removed"] == {
        "click_events": 1,
        "visits": 1,
        "page_clicks": 1,
        "dead_letters": 0,
    }
    assert rows_naming(database_url, BYSTANDER) == {}
    eventually(lambda: count(gateway, BYSTANDER, "/a") == 0, "the gateway still holds the count")

    # redelivered after the erasure (even stamped anew): its idempotency key stayed, so the
    # person does not come back
    again = ClickEvent(
        event_id="x3",
        user_id=BYSTANDER,
        event_type="pageview",
        page_url="/a",
        time_stamp=T0 + timedelta(minutes=30),
        site=ERASE_SITE,
    )

    async def redeliver() -> int:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            return len((await write_events(conn, [again])).events)

    assert asyncio.run(redeliver()) == 0
    assert rows_naming(database_url, BYSTANDER) == {}
    with psycopg.connect(database_url) as conn:
        actor, subject = conn.execute(
            "SELECT actor, subject FROM erasures WHERE id = %s", [result["erasure_id"]]
        ).fetchone() or (None, None)
    assert str(actor).startswith("admin command, ")
    assert subject is None  # no ERASURE_HASH_KEY in its environment


def test_erasure_refuses_bad_arguments(gateway: httpx.Client) -> None:
    answer = gateway.delete(f"/api/v1/users/{VICTIM}", params={"site": "Not A Site"})
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "site"
    answer = gateway.delete("/api/v1/users/" + "u" * 300)
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "user_id"


# country DE and a visit entering on /home: alice's and erin's events (DESIGN.md filters)
FILTERS = ["country:is:DE", "entry_page:is:/home"]
_BY_HAND = f"""
SELECT {EXPORTED} FROM click_events e
WHERE e.site = %s AND e.time_stamp >= %s AND e.time_stamp < %s AND e.country = 'DE'
  AND EXISTS (SELECT 1 FROM visits v
              WHERE v.site = e.site AND v.entry_page = '/home'
                AND v.visit_key = coalesce('s:' || e.session_id, 'u:' || e.user_id)
                AND e.time_stamp BETWEEN v.started_at AND v.ended_at)
ORDER BY e.time_stamp, e.event_id
"""


def expected_export(database_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url) as conn:
        cursor = conn.execute(_BY_HAND, [WORLD.site, WORLD.start, WORLD.end])
        names = [column.name for column in cursor.description or ()]
        rows = cursor.fetchall()
    names[names.index("properties")] = "properties_json"
    return [
        {
            name: iso(value.astimezone(UTC)) if isinstance(value, datetime) else value
            for name, value in zip(names, row, strict=True)
        }
        for row in rows
    ]


def export(gateway: httpx.Client, kind: str) -> httpx.Response:
    answer = gateway.get("/api/v1/export", params={**RANGE, "filter": FILTERS, "format": kind})
    assert answer.status_code == 200, answer.text
    assert "content-length" not in answer.headers  # streamed
    return answer


def test_export_is_the_filtered_range_in_both_formats(
    gateway: httpx.Client, database_url: str
) -> None:
    expected = expected_export(database_url)
    assert {e["user_id"] for e in expected} == {"alice", "erin"}
    assert len(expected) == 6

    ndjson = export(gateway, "ndjson")
    assert ndjson.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line) for line in ndjson.text.splitlines()] == expected

    as_csv = export(gateway, "csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    header, *rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert header == list(expected[0])
    assert rows == [["" if v is None else v for v in e.values()] for e in expected]


def test_export_of_an_empty_range_is_empty(gateway: httpx.Client) -> None:
    before = {**RANGE, "from": iso(T0 - timedelta(days=30)), "to": iso(T0 - timedelta(days=29))}
    answer = gateway.get("/api/v1/export", params=before)
    assert answer.status_code == 200
    assert answer.text == ""


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "xml"}, "format"),
        ({"from": "yesterday"}, "from"),
        ({"from": iso(T0), "to": iso(T0 - timedelta(hours=1))}, "to"),
        ({"filter": "colour:is:red"}, "filter"),
    ],
)
def test_export_refuses_bad_arguments(
    gateway: httpx.Client, params: dict[str, str], field: str
) -> None:
    answer = gateway.get("/api/v1/export", params={**RANGE, **params})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field


def test_export_needs_an_admin_token(gateway: httpx.Client) -> None:
    answer = gateway.get(
        "/api/v1/export", params=RANGE, headers={"Authorization": f"Bearer {READ_TOKEN}"}
    )
    assert answer.status_code == 403


def test_a_user_id_holding_a_newline_reaches_the_route(gateway: httpx.Client) -> None:
    # functions-framework's catch-all route matches no path with a newline in it
    answer = gateway.delete("/api/v1/users/line%0Abreak", params={"site": ERASE_SITE})
    assert answer.status_code == 200, answer.text
    assert set(answer.json()["removed"].values()) == {0}
