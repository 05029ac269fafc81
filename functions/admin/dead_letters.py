"""`dead-letters list|replay`: the letters `process` stored, and their replay into the
events topic (the same rules and code as `ReplayDeadLetters`, `functions/core/replayer.py`)."""

from __future__ import annotations

import argparse
from contextlib import nullcontext

import psycopg
from clickstream.analytics.v1 import analytics_pb2 as pb

from functions.admin.command import Parser, Result, database
from functions.core import replay
from functions.core.config import Settings
from functions.core.db import unavailable
from functions.core.errors import InvalidArgument
from functions.core.events import site_argument
from functions.core.replayer import Replayer
from functions.gateway.routes import dead_letters_json
from functions.query import loads
from functions.query.validate import MAX_LIMIT

# the replay rules name the API's fields; this command's options spell them so
_OPTIONS = {"ids": "--id", "from_id": "--from-id", "to_id": "--to-id"}


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_LIMIT}, got {value}")
    return value


def _site(text: str) -> str:
    try:
        return site_argument(text)
    except InvalidArgument as error:
        raise argparse.ArgumentTypeError(error.message) from None


def _site_option(command: Parser) -> None:
    # the same choice as the API's `site` (`replay.LETTER_SITE_SQL`): absent, every letter,
    # those whose site cannot be read included
    command.add_argument(
        "--site", type=_site, metavar="NAME", help="only this site's letters (default: every one)"
    )


def register(groups: argparse._SubParsersAction[Parser], common: Parser) -> None:
    group = groups.add_parser("dead-letters", help="list and replay dead letters")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", parents=[common], help="the newest dead letters")
    listing.add_argument("--limit", type=_limit, default=20, help="how many (default 20)")
    _site_option(listing)
    listing.set_defaults(handler=list_letters)
    replaying = commands.add_parser(
        "replay",
        parents=[common],
        help="produce letters' events into the events topic again, then mark them",
        description=f"Choose letters by --id (repeated) or by --from-id and --to-id (both"
        f" included), with --site of that site only; at most {replay.MAX_REPLAY} a call."
        " `process` deduplicates on the event id, so replaying twice counts an event once.",
    )
    replaying.add_argument(
        "--id", dest="ids", type=int, action="append", default=[], metavar="N", help="a letter"
    )
    replaying.add_argument("--from-id", type=int, metavar="N", help="the first of a range")
    replaying.add_argument("--to-id", type=int, metavar="M", help="the last of a range")
    replaying.add_argument(
        "--only-unreplayed", action="store_true", help="skip letters replayed before"
    )
    _site_option(replaying)
    replaying.set_defaults(handler=replay_letters)


async def list_letters(arguments: argparse.Namespace, settings: Settings) -> Result:
    """The newest letters (of one site with --site), as `GET /api/v1/dead-letters` lists
    them."""
    async with database(settings) as conn:
        try:
            items, last = await loads.dead_letters(conn, arguments.limit, None, arguments.site)
        except psycopg.OperationalError as error:
            raise unavailable(error) from error
    page = pb.ListDeadLettersResponse(items=items)
    if last is not None:
        page.next_cursor = str(last)
    row = "{:>10}  {:<24}  {:>4}  {:>7}  {:<24}  {}"
    lines = [row.format("id", "received_at", "code", "replays", "replayed_at", "event_id")]
    lines += [
        row.format(
            item.id,
            item.received_at.ToJsonString(),
            item.knativeerrorcode or "-",
            item.replay_count,
            item.replayed_at.ToJsonString() if item.HasField("replayed_at") else "-",
            item.event_id or "-",
        )
        for item in items
    ]
    return Result("\n".join(lines) if items else "no dead letters", dead_letters_json(page))


async def replay_letters(arguments: argparse.Namespace, settings: Settings) -> Result:
    try:
        chosen = replay.selection(
            arguments.ids,
            arguments.from_id,
            arguments.to_id,
            arguments.only_unreplayed,
            arguments.site,
        )
    except InvalidArgument as error:
        raise InvalidArgument(_OPTIONS.get(error.field, error.field), error.message) from None
    async with database(settings) as conn:
        replayer = Replayer(lambda: nullcontext(conn), settings)
        try:
            replayed = await replayer.replay(chosen)
        finally:
            replayer.close()
    return Result(
        f"replayed {replayed} dead letter(s) into topic {settings.kafka_topic}",
        {"replayed": replayed},
    )
