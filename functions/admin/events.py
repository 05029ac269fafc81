"""`events offsets|replay`: the Kafka half of a backup and its restore (docs/lifecycle.md).

Before `pg_dump`, `events offsets` saves where the consumer group stands: every record before
those offsets was finished (stored, or dead-lettered) before the dump began, so the dump holds
it. After `pg_restore`, `events replay` produces every record from those offsets to the end of
the topic into the topic again; `process` deduplicates on the event id, so the records the
dump already holds count once, and the database is whole again.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import msgspec

from functions.admin.command import Parser, Result
from functions.core.config import Settings, require_kafka
from functions.core.errors import InvalidArgument
from functions.core.kafka import AsyncProducer, committed_offsets, records_from


class SavedOffsets(msgspec.Struct, frozen=True):
    """What `events offsets --json` prints and `events replay --offsets` reads."""

    topic: str
    group: str
    offsets: dict[int, int]  # partition -> the first record not yet finished


def register(groups: argparse._SubParsersAction[Parser], common: Parser) -> None:
    group = groups.add_parser("events", help="the events topic, for backups and restores")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    saving = commands.add_parser(
        "offsets",
        parents=[common],
        help="where the consumer group stands, to save (with --json) before pg_dump",
    )
    saving.set_defaults(handler=offsets)
    replaying = commands.add_parser(
        "replay",
        parents=[common],
        help="after pg_restore: produce the records from saved offsets into the topic again",
    )
    replaying.add_argument(
        "--offsets", required=True, type=Path, metavar="FILE", help="what `offsets --json` saved"
    )
    replaying.set_defaults(handler=replay)


async def offsets(arguments: argparse.Namespace, settings: Settings) -> Result:
    bootstrap = require_kafka(settings)
    topic, group = settings.kafka_topic, settings.consumer_group
    found = await asyncio.to_thread(committed_offsets, bootstrap, group, topic)
    listed = ", ".join(f"{p}: {o}" for p, o in sorted(found.items()))
    return Result(f"{topic} ({group}): {listed}", SavedOffsets(topic, group, found))


def _saved(path: Path) -> SavedOffsets:
    try:
        return msgspec.json.decode(path.read_bytes(), type=SavedOffsets)
    except OSError as error:
        raise InvalidArgument("--offsets", f"cannot be read: {error.strerror}") from None
    except msgspec.DecodeError as error:
        message = f"is not what `events offsets --json` saves: {error}"
        raise InvalidArgument("--offsets", message) from None


async def replay(arguments: argparse.Namespace, settings: Settings) -> Result:
    bootstrap = require_kafka(settings)
    saved = _saved(arguments.offsets)
    producer = AsyncProducer(bootstrap)
    produced = 0
    try:
        for batch in records_from(bootstrap, saved.topic, saved.offsets):
            await producer.send(saved.topic, batch)
            produced += len(batch)
    finally:
        producer.close()
    return Result(f"produced {produced} records into {saved.topic} again", {"produced": produced})
