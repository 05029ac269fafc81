"""Replay of dead letters against PostgreSQL and Kafka: select the chosen letters, produce
their events (acknowledged by the broker), then mark them replayed, never deleting a row.

Used by `query`'s `ReplayDeadLetters` and `python -m functions.admin dead-letters replay`;
the rules and the record format live in `replay.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import psycopg
from cloudevents.exceptions import GenericException as CloudEventError

from functions.core import replay
from functions.core.config import Settings, require_kafka
from functions.core.db import unavailable
from functions.core.errors import InvalidArgument
from functions.core.kafka import AsyncProducer

# a connection held for one `async with`: a pool's `connection`, or the admin command's one
Connect = Callable[[], AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]]

# the chosen letters, then: those not replayed yet (with only_unreplayed), of one site (with
# a site)
_CHOSEN = f"""(NOT %s OR replayed_at IS NULL)
AND (%s::text IS NULL OR {replay.LETTER_SITE_SQL} = %s)
ORDER BY id"""
_SELECT_IDS = f"SELECT id, event FROM dead_letters WHERE id = ANY(%s::bigint[]) AND {_CHOSEN}"
_SELECT_RANGE = f"SELECT id, event FROM dead_letters WHERE id BETWEEN %s AND %s AND {_CHOSEN}"
_MARK = """
UPDATE dead_letters SET replayed_at = now(), replay_count = replay_count + 1
WHERE id = ANY(%s::bigint[])
"""


class Replayer:
    """Replays over the connections `connect` gives. The producer is made on the first
    replay, so a service holding this (`query`) starts and serves reads without Kafka."""

    def __init__(self, connect: Connect, settings: Settings) -> None:
        self._connect = connect
        self._settings = settings
        self._producer: AsyncProducer | None = None

    def _producer_or_config_error(self) -> AsyncProducer:
        if self._producer is None:
            self._producer = AsyncProducer(require_kafka(self._settings))
        return self._producer

    async def replay(self, chosen: replay.Selection) -> int:
        """Produce the chosen letters' events, acknowledged by the broker, then mark them
        replayed; returns how many. Raises `ConfigError` without KAFKA_BOOTSTRAP_SERVERS,
        `DependencyUnavailable` when PostgreSQL or Kafka cannot serve, `InvalidArgument`
        when a chosen letter holds no event that can be rebuilt."""
        producer = self._producer_or_config_error()
        try:
            async with self._connect() as conn:
                which = (chosen.only_unreplayed, chosen.site, chosen.site)
                if chosen.ids:
                    cursor = await conn.execute(_SELECT_IDS, (list(chosen.ids), *which))
                else:
                    cursor = await conn.execute(
                        _SELECT_RANGE, (chosen.from_id, chosen.to_id, *which)
                    )
                letters: list[tuple[int, Any]] = await cursor.fetchall()
        except psycopg.OperationalError as error:
            raise unavailable(error) from error
        if not letters:
            return 0
        messages = []
        for letter_id, document in letters:
            try:
                messages.append(replay.replay_message(document))
            except CloudEventError as error:
                raise InvalidArgument(
                    chosen.field, f"dead letter {letter_id} holds no event to replay: {error}"
                ) from None
        # a crash between the two leaves produced letters unmarked: replaying them again is
        # harmless, `process` deduplicates on the event id
        await producer.send(self._settings.kafka_topic, messages)
        try:
            async with self._connect() as conn:
                await conn.execute(_MARK, ([letter_id for letter_id, _ in letters],))
        except psycopg.OperationalError as error:
            raise unavailable(error) from error
        return len(letters)

    def close(self) -> None:
        """Flush and stop the producer, if one was made."""
        if self._producer is not None:
            self._producer.close()
