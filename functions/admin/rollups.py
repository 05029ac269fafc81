"""`rollups build`: build every pending report roll-up now (functions/process/roller.py),
rather than waiting for process's background passes: after a bulk load, or to check one."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import psycopg

from functions.admin.command import Parser, Result, database
from functions.core.config import Settings
from functions.core.db import unavailable
from functions.process.roller import build_pending


def register(groups: argparse._SubParsersAction[Parser], common: Parser) -> None:
    group = groups.add_parser("rollups", help="the report roll-ups")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    building = commands.add_parser(
        "build",
        parents=[common],
        help="build every pending roll-up of closed hours, days and longer buckets now",
    )
    building.set_defaults(handler=build)


async def build(arguments: argparse.Namespace, settings: Settings) -> Result:
    async with database(settings) as conn:
        try:
            built = await build_pending(conn, datetime.now(UTC))
        except psycopg.OperationalError as error:
            raise unavailable(error) from error
    return Result(
        f"built {built.hours} hour, {built.days} day and {built.longer} longer roll-ups",
        {"hours": built.hours, "days": built.days, "longer": built.longer},
    )
