"""The command line of `functions.admin`: a group of subcommands per module, one-line
errors, and a result printed for a person or, with `--json`, as JSON.

A group module has `register(groups, common)`: it adds its parser to `groups`, its commands
under it (each taking `common`'s options as a parent), and sets `handler` on each command
to an async function of (arguments, settings) returning a `Result`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import msgspec
import psycopg

from functions.core.config import Settings, load_settings
from functions.core.db import connect, unavailable
from functions.core.errors import ConfigError, DependencyUnavailable, InvalidArgument

PROG = "python -m functions.admin"


@dataclass(frozen=True, slots=True)
class Result:
    text: str  # for a person
    document: object  # printed with `--json`


Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, Result]]


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr and exit status 2, without the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


class Group(Protocol):
    def register(self, groups: argparse._SubParsersAction[Parser], common: Parser) -> None: ...


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """One autocommit connection to DATABASE_URL (a command needs no pool, and a pool would
    log every failed attempt before giving up)."""
    try:
        conn = await connect(settings.database_url)
    except psycopg.OperationalError as error:
        raise unavailable(error) from error
    async with conn:
        yield conn


def parser(groups: Iterable[Group]) -> Parser:
    """The whole command line, every group registered."""
    main = Parser(prog=PROG, description="Operator commands on PostgreSQL and Kafka.")
    common = Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the result as JSON")
    subparsers = main.add_subparsers(dest="group", required=True, metavar="GROUP")
    for group in groups:
        group.register(subparsers, common)
    return main


def run(groups: Iterable[Group], argv: Sequence[str]) -> int:
    """Parse `argv`, run the chosen command; the exit status: 0, 1 (a dependency down) or
    2 (bad arguments or configuration), each failure one line on stderr."""
    arguments = parser(groups).parse_args(argv)
    handler: Handler = arguments.handler
    try:
        result = asyncio.run(handler(arguments, load_settings("admin")))
    except (ConfigError, InvalidArgument) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except DependencyUnavailable as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    print(msgspec.json.encode(result.document).decode() if arguments.json else result.text)
    return 0
