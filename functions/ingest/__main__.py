"""`python -m functions.ingest`: serve the ingest function on `PORT`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request

from functions.core.config import Settings, fails_fast, load_settings, require_kafka
from functions.core.db import connect
from functions.core.kafka import AsyncProducer
from functions.core.serving import function_app, probe_routes, serve
from functions.core.sites import KeyRing, KeyRingRefresher, env_grants
from functions.core.telemetry import init_metrics
from functions.ingest.cookieless import Salts, Visitors
from functions.ingest.enrich import Enricher
from functions.ingest.service import IngestService

log = logging.getLogger("clickstream.ingest")


def build_app(settings: Settings) -> Starlette:
    bootstrap = require_kafka(settings)
    meter = init_metrics("ingest", settings.metrics_port)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        enricher = None
        if settings.ingest_enrichment:
            enricher = Enricher(settings.ingest_trusted_proxies, settings.ingest_country_header)
            enricher.warm()  # before the first request, not during it
        keys = KeyRing(env_grants(settings.ingest_write_keys, (), ()))
        refresher = KeyRingRefresher(keys, lambda: connect(settings.database_url))
        await refresher.refresh()  # PostgreSQL down: environment keys only, until it is back
        refresher.start()
        producer = AsyncProducer(bootstrap)
        registered = keys.registered if settings.sites_require_registration else None
        salts = Salts(lambda: connect(settings.database_url))
        salts.start()  # creates today's salt and deletes the old ones, hourly
        visitors = Visitors(salts, settings.ingest_trusted_proxies)
        app.state.ingest = IngestService(
            producer, settings.kafka_topic, meter, enricher, registered, visitors
        )
        app.state.settings = settings
        app.state.keys = keys
        yield
        await refresher.close()
        await salts.close()
        unsent = producer.close()
        if unsent:
            log.error("%d events were not acknowledged by Kafka at shutdown", unsent)

    async def readiness(request: Request) -> dict[str, bool]:
        return {"kafka": await request.app.state.ingest.ready()}

    return function_app(
        Path(__file__).with_name("main.py"), "ingest", lifespan, probe_routes(readiness)
    )


@fails_fast
def main() -> None:
    settings = load_settings("ingest")
    serve(build_app(settings), settings.port)


if __name__ == "__main__":
    main()
