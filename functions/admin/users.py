"""`users erase`: erase one person of one site (functions/core/erasure.py, docs/lifecycle.md),
as `DELETE /api/v1/users/{user_id}` does, working directly against PostgreSQL and Redis."""

from __future__ import annotations

import argparse
import getpass

import psycopg

from functions.admin.command import Parser, Result, database
from functions.core.cache import Cache
from functions.core.config import Settings
from functions.core.db import unavailable
from functions.core.erasure import erase
from functions.core.errors import InvalidArgument
from functions.core.events import site_argument


def register(groups: argparse._SubParsersAction[Parser], common: Parser) -> None:
    group = groups.add_parser("users", help="the people whose events are stored")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    erasing = commands.add_parser(
        "erase",
        parents=[common],
        help="remove a person's events, visits, counts and dead letters; record the erasure",
        description="Remove every row naming USER in the site, make every cached answer"
        " about them stale, and record who asked, when and how many rows went, under a keyed"
        " hash of USER (ERASURE_HASH_KEY), never USER itself. Anonymous roll-ups and the"
        " distinct-user sketches keep what they counted.",
    )
    erasing.add_argument("--site", default="default", metavar="NAME", help="default: default")
    erasing.add_argument("user", metavar="USER")
    erasing.set_defaults(handler=erase_user)


async def erase_user(arguments: argparse.Namespace, settings: Settings) -> Result:
    site = site_argument(arguments.site, "--site")
    user: str = arguments.user
    if not user:
        raise InvalidArgument("USER", "is required")
    cache = Cache(settings.redis_url)
    try:
        async with database(settings) as conn:
            erased = await erase(
                conn,
                cache,
                site,
                user,
                f"admin command, {getpass.getuser()}",
                settings.erasure_hash_key,
            )
    except psycopg.OperationalError as error:
        raise unavailable(error) from error
    finally:
        await cache.close()
    rows = ", ".join(f"{n} from {table}" for table, n in erased.removed.items())
    return Result(
        f"erasure {erased.id} at {erased.erased_at.isoformat()}: removed {rows}",
        {"erasure_id": erased.id, "erased_at": erased.erased_at, "removed": erased.removed},
    )
