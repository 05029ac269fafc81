"""`sites add|list|remove` and `keys add|list|revoke`: the tenants and their keys
(functions/core/sites.py), and `sites retention` (functions/admin/retention.py). A new
secret is printed once: only its hash is stored."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
import psycopg

from functions.admin import retention
from functions.admin.command import Parser, Result, database
from functions.core import sites
from functions.core.config import Settings
from functions.core.db import unavailable
from functions.core.errors import DependencyUnavailable, InvalidArgument
from functions.core.events import SITE_PATTERN

# the core names its arguments; this command's options and operands spell them so
_OPTIONS = {
    "name": "NAME",
    "site": "--site",
    "scope": "--scope",
    "key_id": "ID",
    "label": "--label",
}
_ONCE = "store the secrets now: they cannot be shown again"
_ONCE_ONE = "store the secret now: it cannot be shown again"


def register(groups: argparse._SubParsersAction[Parser], common: Parser) -> None:
    group = groups.add_parser("sites", help="add, list and remove sites (the tenants)")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    adding = commands.add_parser(
        "add",
        parents=[common],
        help="add a site with a write key and a read token, printed once",
        description=f"NAME matches {SITE_PATTERN}, e.g. shop.example.com.",
    )
    adding.add_argument("name", metavar="NAME")
    adding.set_defaults(handler=add_site)
    listing = commands.add_parser("list", parents=[common], help="every site and its keys")
    listing.set_defaults(handler=list_sites)
    removing = commands.add_parser(
        "remove",
        parents=[common],
        help="remove a site and its keys; its events stay in the event tables",
        description="Remove a site and revoke its keys for good (deleted, not marked)."
        " Its events stay in the event tables; an event naming it again registers it"
        " again, unless SITES_REQUIRE_REGISTRATION=true. The default site stays.",
    )
    removing.add_argument("name", metavar="NAME")
    removing.set_defaults(handler=remove_site)
    retention.register_site_command(commands, common)

    group = groups.add_parser("keys", help="add, list and revoke write keys and tokens")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    adding = commands.add_parser(
        "add",
        parents=[common],
        help="a new key for one site (or, admin only, every site), printed once",
        description="write: send events of the site; read: its reports; link: a shared"
        " link (see `links`); admin: its dead letters, replay, erasure, export and sites.",
    )
    where = adding.add_mutually_exclusive_group(required=True)
    where.add_argument("--site", metavar="NAME", help="the site the key is valid on")
    where.add_argument(
        "--all-sites", action="store_true", help="valid on every site (admin keys only)"
    )
    adding.add_argument("--scope", required=True, choices=sites.SCOPES)
    adding.set_defaults(handler=add_key)
    listing = commands.add_parser("list", parents=[common], help="every key, revoked or not")
    listing.add_argument("--site", metavar="NAME", help="only this site's keys")
    listing.set_defaults(handler=list_keys)
    revoking = commands.add_parser(
        "revoke",
        parents=[common],
        help="revoke a key (ingest and gateway refuse it within their reload interval)",
    )
    revoking.add_argument("key_id", type=int, metavar="ID")
    revoking.set_defaults(handler=revoke_key)


@asynccontextmanager
async def sites_connection(settings: Settings) -> AsyncIterator[sites.Conn]:
    """A connection, and the core's errors spelt as this command's options."""
    async with database(settings) as conn:
        try:
            yield conn
        except InvalidArgument as error:
            raise InvalidArgument(_OPTIONS.get(error.field, error.field), error.message) from None
        except psycopg.errors.UndefinedTable:
            raise DependencyUnavailable(
                "postgresql", "no sites table: run `python -m functions.core.migrate`"
            ) from None
        except psycopg.OperationalError as error:
            raise unavailable(error) from error


# DESIGN.md's words: ingest takes write keys, the gateway read and admin tokens
_KINDS = {
    "write": "write key",
    "read": "read token",
    "admin": "admin token",
    "link": "shared link token",
}


def _key_line(key: sites.NewKey) -> str:
    where = f"site {key.site}" if key.site is not None else "every site"
    return f"{_KINDS[key.scope]} {key.id} ({where}): {key.secret}"


async def add_site(arguments: argparse.Namespace, settings: Settings) -> Result:
    async with sites_connection(settings) as conn:
        added = await sites.add_site(conn, arguments.name)
    lines = [f"added site {added.name}", _key_line(added.write), _key_line(added.read), _ONCE]
    return Result("\n".join(lines), msgspec.to_builtins(added))


async def list_sites(arguments: argparse.Namespace, settings: Settings) -> Result:
    async with sites_connection(settings) as conn:
        rows = await sites.list_sites(conn)
    row = "{:<32}  {:<32}  {:>5}  {:>4}  {:>5}"
    lines = [row.format("name", "created_at", "write", "read", "admin")]
    lines += [
        row.format(r.name, r.created_at.isoformat(), r.write_keys, r.read_keys, r.admin_keys)
        for r in rows
    ]
    return Result("\n".join(lines), {"sites": msgspec.to_builtins(rows)})


async def remove_site(arguments: argparse.Namespace, settings: Settings) -> Result:
    async with sites_connection(settings) as conn:
        if not await sites.remove_site(conn, arguments.name):
            raise InvalidArgument("NAME", f"no site {arguments.name!r}")
    return Result(
        f"removed site {arguments.name} and its keys; its events stay",
        {"name": arguments.name, "removed": True},
    )


async def add_key(arguments: argparse.Namespace, settings: Settings) -> Result:
    if arguments.all_sites and arguments.scope != "admin":
        raise InvalidArgument("--all-sites", "only admin tokens may be valid on every site")
    site = None if arguments.all_sites else arguments.site
    async with sites_connection(settings) as conn:
        key = await sites.add_key(conn, site, arguments.scope)
    return Result(f"{_key_line(key)}\n{_ONCE_ONE}", msgspec.to_builtins(key))


async def list_keys(arguments: argparse.Namespace, settings: Settings) -> Result:
    async with sites_connection(settings) as conn:
        keys = await sites.list_keys(conn)
    if arguments.site is not None:
        keys = [key for key in keys if key.site == arguments.site]
    return Result(key_rows(keys), {"keys": msgspec.to_builtins(keys)})


def key_rows(keys: list[sites.KeyRow], label: bool = False) -> str:
    """`keys` as a table for a person (with each link's label when `label`)."""
    row = "{:>8}  {:<5}  {:<32}  {:<32}  " + ("{:<32}  {}" if label else "{}")
    lines = [row.format("id", "scope", "site", "created_at", "revoked_at", "label")]
    lines += [
        row.format(
            k.id,
            k.scope,
            k.site if k.site is not None else "*",
            k.created_at.isoformat(),
            k.revoked_at.isoformat() if k.revoked_at else "-",
            k.label or "-",
        )
        for k in keys
    ]
    return "\n".join(lines)


async def revoke_key(arguments: argparse.Namespace, settings: Settings) -> Result:
    async with sites_connection(settings) as conn:
        revoked = await sites.revoke_key(conn, arguments.key_id)
    key_id = arguments.key_id
    text = f"revoked key {key_id}" if revoked else f"key {key_id} was revoked already"
    return Result(text, {"id": key_id, "revoked": revoked})
