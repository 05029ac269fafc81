"""Sites and keys on real PostgreSQL: the operator's command in a subprocess, the key ring
that ingest and gateway check secrets with, and its refresher through a real outage."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from functions.core import sites
from functions.core.errors import InvalidArgument
from functions.core.events import DEFAULT_SITE
from functions.core.sites import Grant, KeyRing, KeyRingRefresher
from tests.fixtures.services import fresh_database

pytestmark = pytest.mark.integration

CLOSED = "postgresql://postgres@127.0.0.1:1/postgres"  # nothing listens on port 1


@pytest.fixture(scope="module")
def sites_url() -> Iterator[str]:
    """A database of this module's own: its keys would close other tests' open routes."""
    with fresh_database() as url:
        yield url


def admin(url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`python -m functions.admin ...` as an operator runs it."""
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


def unique_site() -> str:
    return f"site-{uuid.uuid4().hex[:10]}.example"


async def connect(url: str) -> psycopg.AsyncConnection[Any]:
    return await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=2)


async def loaded_ring(url: str, static: Mapping[str, Grant] | None = None) -> KeyRing:
    ring = KeyRing(static)
    async with await connect(url) as conn:
        await ring.load(conn)
    return ring


def test_sites_add_list_remove_through_the_command(sites_url: str) -> None:
    name = unique_site()
    added = admin(sites_url, "sites", "add", name)
    assert added.returncode == 0, added.stderr
    lines = added.stdout.splitlines()
    assert lines[0] == f"added site {name}"
    assert lines[1].startswith("write key ")
    assert f"(site {name}): csw_" in lines[1]
    assert lines[2].startswith("read token ")
    assert f"(site {name}): csr_" in lines[2]
    assert "cannot be shown again" in lines[3]
    assert len(lines) == 4

    listed = admin(sites_url, "sites", "list")
    assert listed.returncode == 0, listed.stderr
    table = [line.split() for line in listed.stdout.splitlines()]
    assert table[0] == ["name", "created_at", "write", "read", "admin"]
    rows = {row[0]: row[2:] for row in table[1:]}
    assert rows[name] == ["1", "1", "0"]
    assert DEFAULT_SITE in rows

    document = admin_json(sites_url, "sites", "list")
    by_name = {site["name"]: site for site in document["sites"]}
    assert by_name[name]["write_keys"] == 1
    assert by_name[name]["read_keys"] == 1
    assert by_name[name]["admin_keys"] == 0
    assert by_name[name]["created_at"].endswith("Z")

    removed = admin(sites_url, "sites", "remove", name)
    assert removed.returncode == 0, removed.stderr
    assert "events stay" in removed.stdout
    assert name not in {site["name"] for site in admin_json(sites_url, "sites", "list")["sites"]}
    with psycopg.connect(sites_url) as conn:
        keys = conn.execute("SELECT count(*) FROM site_keys WHERE site = %s", (name,)).fetchone()
    assert keys == (0,)  # the keys went with the site


def test_the_json_of_add_carries_the_secrets_once(sites_url: str) -> None:
    name = unique_site()
    added = admin_json(sites_url, "sites", "add", name)
    assert added["name"] == name
    assert added["write"]["scope"] == "write"
    assert added["write"]["site"] == name
    assert added["read"]["scope"] == "read"
    assert added["read"]["site"] == name
    assert added["write"]["secret"].startswith("csw_")
    assert added["read"]["secret"].startswith("csr_")
    assert added["write"]["id"] != added["read"]["id"]

    admin_key = admin_json(sites_url, "keys", "add", "--all-sites", "--scope", "admin")
    assert admin_key["site"] is None
    assert admin_key["secret"].startswith("csa_")
    listed = admin_json(sites_url, "keys", "list", "--site", name)["keys"]
    assert {key["id"] for key in listed} == {added["write"]["id"], added["read"]["id"]}
    assert all("secret" not in key for key in listed)
    assert added["write"]["secret"] not in admin(sites_url, "keys", "list").stdout


def test_secrets_are_stored_only_as_hashes(sites_url: str) -> None:
    added = admin_json(sites_url, "sites", "add", unique_site())
    made = admin_json(sites_url, "keys", "add", "--site", added["name"], "--scope", "admin")
    secrets = [added["write"]["secret"], added["read"]["secret"], made["secret"]]
    with psycopg.connect(sites_url) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        ]
        assert "site_keys" in tables
        # every row of every table as text, bytea columns in hex
        dump = "\n".join(
            str(row[0])
            for table in tables
            for row in conn.execute(
                sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(table))
            )
        )
        for secret in secrets:
            assert secret not in dump
            assert secret.encode().hex() not in dump
            stored = conn.execute(
                "SELECT count(*) FROM site_keys WHERE secret_hash = sha256(convert_to(%s, 'UTF8'))",
                (secret,),
            ).fetchone()
            assert stored == (1,)


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        (["sites", "add", DEFAULT_SITE], "exists already"),
        (["sites", "add", "Shop.example"], "NAME"),
        (["sites", "add", "a_b"], "must match"),
        (["sites", "add", "x" * 254], "NAME"),
        (["sites", "add", ""], "NAME"),
        (["sites", "remove", DEFAULT_SITE], "cannot be removed"),
        (["sites", "remove", "no-such-site"], "no site 'no-such-site'"),
        (["keys", "add", "--all-sites", "--scope", "write"], "--all-sites"),
        (["keys", "add", "--all-sites", "--scope", "read"], "--all-sites"),
        (["keys", "add", "--site", "no-such-site", "--scope", "read"], "no site 'no-such-site'"),
        (["keys", "add", "--site", "Bad_Name", "--scope", "read"], "--site"),
        (["keys", "add", "--site", DEFAULT_SITE, "--scope", "owner"], "--scope"),
        (["keys", "add", "--scope", "read"], "--site"),
        (["keys", "add", "--site", "a", "--all-sites", "--scope", "admin"], "--all-sites"),
        (["keys", "revoke", "987654321"], "no key 987654321"),
        (["keys", "revoke", "one"], "ID"),
        (["sites", "rename"], "rename"),
    ],
)
def test_refusals_are_one_line_and_exit_2(sites_url: str, arguments: list[str], names: str) -> None:
    done = admin(sites_url, *arguments)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert names in done.stderr


def test_a_duplicate_site_changes_nothing(sites_url: str) -> None:
    name = unique_site()
    assert admin(sites_url, "sites", "add", name).returncode == 0
    again = admin(sites_url, "sites", "add", name)
    assert again.returncode == 2
    assert again.stderr.strip() == (
        f"python -m functions.admin: error: NAME: site {name!r} exists already"
    )
    rows = {s["name"]: s for s in admin_json(sites_url, "sites", "list")["sites"]}
    assert (rows[name]["write_keys"], rows[name]["read_keys"]) == (1, 1)  # no second pair


def test_the_default_site_stays(sites_url: str) -> None:
    assert admin(sites_url, "sites", "remove", DEFAULT_SITE).returncode == 2
    listed = admin_json(sites_url, "sites", "list")["sites"]
    assert DEFAULT_SITE in {site["name"] for site in listed}


def test_a_database_down_is_exit_1_in_one_line() -> None:
    done = admin(CLOSED, "sites", "list")
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "postgresql unavailable" in done.stderr


def test_revoking_twice_is_not_an_error(sites_url: str) -> None:
    key = admin_json(sites_url, "keys", "add", "--site", DEFAULT_SITE, "--scope", "write")
    first = admin(sites_url, "keys", "revoke", str(key["id"]))
    assert (first.returncode, first.stdout) == (0, f"revoked key {key['id']}\n")
    again = admin_json(sites_url, "keys", "revoke", str(key["id"]))
    assert again == {"id": key["id"], "revoked": False}


def test_the_ring_grants_fresh_keys_and_refuses_wrong_and_revoked_ones(sites_url: str) -> None:
    async def scenario() -> None:
        async with await connect(sites_url) as conn:
            site = await sites.add_site(conn, unique_site())
            ring = await loaded_ring(sites_url)
            assert ring.loaded
            assert not ring.empty
            assert ring.grant(site.write.secret) == Grant("write", site.name)
            assert ring.grant(site.read.secret) == Grant("read", site.name)
            assert ring.registered(site.name)
            for wrong in (site.write.secret + "x", site.read.secret[:-1], "", "csw_"):
                assert ring.grant(wrong) is None
            assert ring.grant(sites.new_secret("write")) is None

            assert await sites.revoke_key(conn, site.write.id) is True
            assert await sites.revoke_key(conn, site.write.id) is False
            assert ring.grant(site.write.secret) is not None  # until the next load
            await ring.load(conn)
            assert ring.grant(site.write.secret) is None
            assert ring.grant(site.read.secret) == Grant("read", site.name)

            assert await sites.remove_site(conn, site.name) is True
            assert await sites.remove_site(conn, site.name) is False
            await ring.load(conn)
            assert ring.grant(site.read.secret) is None  # removed with its site
            assert not ring.registered(site.name)

    asyncio.run(scenario())


def test_grants_stay_on_their_sites(sites_url: str) -> None:
    async def scenario() -> None:
        async with await connect(sites_url) as conn:
            a = await sites.add_site(conn, unique_site())
            b = await sites.add_site(conn, unique_site())
            everywhere = await sites.add_key(conn, None, "admin")
            a_admin = await sites.add_key(conn, a.name, "admin")
            ring = await loaded_ring(sites_url)

        read_a = ring.grant(a.read.secret)
        assert read_a is not None
        assert read_a.reads(a.name)
        assert not read_a.reads(b.name)
        assert not read_a.administers(a.name)
        write_a = ring.grant(a.write.secret)
        assert write_a is not None
        assert write_a.writes(a.name)
        assert not write_a.writes(b.name)
        assert not write_a.reads(a.name)
        all_sites = ring.grant(everywhere.secret)
        assert all_sites == Grant("admin", None)
        assert all(all_sites.reads(s) for s in (a.name, b.name, DEFAULT_SITE, "unknown"))
        assert all_sites.administers(b.name)
        assert not all_sites.writes(a.name)
        only_a = ring.grant(a_admin.secret)
        assert only_a is not None
        assert only_a.administers(a.name)
        assert only_a.reads(a.name)
        assert not only_a.administers(b.name)
        assert not only_a.reads(b.name)

    asyncio.run(scenario())


def test_static_grants_survive_reloads(sites_url: str) -> None:
    async def scenario() -> None:
        static = sites.env_grants({"w" * 16: DEFAULT_SITE}, ["r" * 16], ["a" * 16])
        ring = KeyRing(static)
        async with await connect(sites_url) as conn:
            for _ in range(2):
                await ring.load(conn)
                assert ring.grant("w" * 16) == Grant("write", DEFAULT_SITE)
                assert ring.grant("r" * 16) == Grant("read", DEFAULT_SITE)
                assert ring.grant("a" * 16) == Grant("admin", None)

    asyncio.run(scenario())


def test_register_sites_adds_only_the_missing_ones(sites_url: str) -> None:
    async def scenario() -> None:
        names = [unique_site(), unique_site()]
        async with await connect(sites_url) as conn:
            await sites.register_sites(conn, [*names, DEFAULT_SITE, names[0]])
            await sites.register_sites(conn, names)  # again: nothing to do, no error
            await sites.register_sites(conn, [])
            with pytest.raises(InvalidArgument) as caught:
                await sites.register_sites(conn, ["Not Valid"])
            assert caught.value.field == "site"
            listed = {row.name: row for row in await sites.list_sites(conn)}
            ring = await loaded_ring(sites_url)
        for name in names:
            assert ring.registered(name)
            assert (listed[name].write_keys, listed[name].read_keys) == (0, 0)
        assert not ring.registered("not valid")

    asyncio.run(scenario())


def test_the_refresher_keeps_the_last_ring_through_an_outage(
    sites_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="clickstream.sites")
    name = f"refresher-{uuid.uuid4().hex[:8]}"  # to find the refresher's own backend
    url = [CLOSED]

    async def factory() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            url[0], autocommit=True, connect_timeout=2, application_name=name
        )

    def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]

    async def scenario() -> None:
        async with await connect(sites_url) as conn:
            site = await sites.add_site(conn, unique_site())
            ring = await loaded_ring(sites_url)
            refresher = KeyRingRefresher(ring, factory, interval_s=0.05)
            try:
                refresher.start()  # every attempt a real refused connection
                await asyncio.sleep(0.6)  # about a dozen of them
                assert ring.grant(site.write.secret) == Grant("write", site.name)
                assert len(warnings()) == 1, warnings()
                assert "postgresql unavailable" in warnings()[0]

                url[0] = sites_url
                await sites.revoke_key(conn, site.write.id)
                await eventually(lambda: ring.grant(site.write.secret) is None, 2.0)
                assert "keys reloaded again" in [r.getMessage() for r in caplog.records]
                assert ring.grant(site.read.secret) is not None

                # a second outage: the connection it holds is lost, and no new one is had
                url[0] = CLOSED
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = %s",
                    (name,),
                )
                await asyncio.sleep(0.6)
                assert len(warnings()) == 2, warnings()
                assert ring.grant(site.read.secret) == Grant("read", site.name)
            finally:
                await refresher.close()

    asyncio.run(scenario())


def test_a_pooled_refresher_drops_a_revoked_key_within_its_interval(sites_url: str) -> None:
    async def scenario() -> None:
        pool = AsyncConnectionPool(sites_url, min_size=1, max_size=2, open=False)
        await pool.open(wait=True)
        try:
            async with pool.connection() as conn:
                site = await sites.add_site(conn, unique_site())
            ring = KeyRing()
            refresher = KeyRingRefresher(ring, pool, interval_s=0.2)
            refresher.start()
            try:
                await eventually(lambda: ring.grant(site.write.secret) is not None, 2.0)
                async with pool.connection() as conn:
                    await sites.revoke_key(conn, site.write.id)
                revoked_at = time.monotonic()
                await eventually(lambda: ring.grant(site.write.secret) is None, 2.0)
                assert time.monotonic() - revoked_at < 0.2 + 0.5  # interval plus a load
            finally:
                await refresher.close()
                await refresher.close()  # closing twice is harmless
        finally:
            await pool.close()

    asyncio.run(scenario())


async def eventually(condition: Callable[[], bool], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.01)
