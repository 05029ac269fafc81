"""`sites retention SITE 90d|keep` and `retention run`: how long a site's raw events are kept,
and the maintenance that makes time partitions ahead and drops the expired ones
(functions/core/retention.py), which `process` also runs hourly."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import psycopg

from functions.admin.command import Parser, Result, database
from functions.core import retention
from functions.core.config import Settings
from functions.core.db import unavailable
from functions.core.errors import InvalidArgument


def register_site_command(commands: argparse._SubParsersAction[Parser], common: Parser) -> None:
    """`sites retention`, in the `sites` group."""
    setting = commands.add_parser(
        "retention",
        parents=[common],
        help="keep a site's raw events N days (e.g. 90d), or for ever (keep)",
        description="Raw events older than the retention are dropped by the hourly"
        " maintenance, a week at a time; reports over them stay as they were. The first"
        " retention of a site moves its raw events into partitions of their own.",
    )
    setting.add_argument("name", metavar="NAME")
    setting.add_argument("retention", metavar="RETENTION", help="Nd (days) or keep")
    setting.set_defaults(handler=set_retention)


def register(groups: argparse._SubParsersAction[Parser], common: Parser) -> None:
    group = groups.add_parser("retention", help="the retention of raw events")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    running = commands.add_parser(
        "run",
        parents=[common],
        help="make time partitions ahead and drop expired raw events now",
    )
    running.set_defaults(handler=run)


# the core names its arguments; this command's operands spell them so
_OPERANDS = {"site": "NAME", "retention": "RETENTION"}


async def set_retention(arguments: argparse.Namespace, settings: Settings) -> Result:
    try:
        kept_for = retention.parse_retention(arguments.retention)
        async with database(settings) as conn:
            try:
                done = await retention.set_retention(conn, arguments.name, kept_for)
            except psycopg.OperationalError as error:
                raise unavailable(error) from error
    except InvalidArgument as error:
        raise InvalidArgument(_OPERANDS.get(error.field, error.field), error.message) from None
    how = "for ever" if done.retention_days is None else f"{done.retention_days} days"
    text = f"site {done.site} keeps its raw events {how}"
    if done.moved:
        text += f"; {done.moved} raw events moved into partition {done.partition}"
    return Result(
        text,
        {
            "site": done.site,
            "retention_days": done.retention_days,
            "partition": done.partition,
            "moved": done.moved,
        },
    )


async def run(arguments: argparse.Namespace, settings: Settings) -> Result:
    async with database(settings) as conn:
        try:
            done = await retention.maintain(conn, datetime.now(UTC))
        except psycopg.OperationalError as error:
            raise unavailable(error) from error
    if not done.ran:
        return Result("another maintenance is running: nothing done", {"ran": False})
    lines = [
        f"{site}: dropped {done.dropped[site]} partitions, deleted {done.deleted[site]} late"
        f" events and {done.keys_deleted.get(site, 0)} idempotency keys"
        for site in done.dropped
    ]
    return Result(
        "\n".join(lines) or "partitions made ahead; no site has a retention",
        {
            "ran": True,
            "dropped": done.dropped,
            "deleted": done.deleted,
            "keys_deleted": done.keys_deleted,
        },
    )
