"""Composition root: the one place the rating service's parts are built and wired.

``create_app()`` is what ``python -m rating`` and ``uvicorn --factory`` run: the HTTP API,
plus (in the app's lifespan) the usage.aggregated consumer, the period-close scheduler and
the outbox relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.app import create_service_app, database_check, kafka_check
from billing_runtime.db import create_engine
from billing_runtime.kafka import consumer_group, create_consumer, create_producer
from rating.api import RatingApi, install
from rating.autocommit import single_statements
from rating.clock import Clock, SystemClock
from rating.contracts import ContractService
from rating.dashboard import DashboardService
from rating.dashboard_cache import DashboardCache
from rating.dashboard_reads import SqlDashboardReads
from rating.held_connection import HeldConnection
from rating.ingest_usage import IngestUsageReader
from rating.issued_invoices import IssuedInvoiceReader
from rating.outbox_relay import build_outbox_relay
from rating.period_close import PeriodCloser
from rating.ports import RatingStore
from rating.pricing_preview import PricingPreview
from rating.settings import RatingSettings
from rating.sql_store import SqlRatingStore
from rating.usage_consumer import UsageConsumer

log = logging.getLogger(__name__)
SERVICE = "rating"
USAGE_TOPIC = "usage.aggregated.v1"


@dataclass(frozen=True)
class RatingParts:
    settings: RatingSettings
    engine: AsyncEngine
    store: RatingStore
    usage: IngestUsageReader
    issued: IssuedInvoiceReader
    clock: Clock
    cache: DashboardCache
    api: RatingApi

    def consumer_dashboard(self, held: HeldConnection) -> tuple[SqlRatingStore, DashboardService]:
        """The usage consumer's store and dashboard: its flushes run on ``held``, sharing the cache."""
        store = SqlRatingStore(self.engine, single=held)
        reads = SqlDashboardReads(held, self.usage, self.issued)
        return store, DashboardService(store, self.usage, self.issued, reads, self.clock, self.cache)


def build_parts(settings: RatingSettings, clock: Clock | None = None) -> RatingParts:
    engine = create_engine(settings, SERVICE, pool_size=10, max_overflow=10)
    store = SqlRatingStore(engine)
    usage = IngestUsageReader(engine, settings.schema_name("ingest"))
    issued = IssuedInvoiceReader(engine, settings.schema_name("invoice"))
    clock = clock or SystemClock()
    cache = DashboardCache()
    reads = SqlDashboardReads(single_statements(engine), usage, issued)
    dashboard = DashboardService(store, usage, issued, reads, clock, cache)
    api = RatingApi(
        contracts=ContractService(store, clock),
        dashboard=dashboard,
        closer=PeriodCloser(store, usage, clock, dashboard),
        preview=PricingPreview(store, usage, issued, clock),
    )
    return RatingParts(settings, engine, store, usage, issued, clock, cache, api)


async def _guarded(name: str, work: Coroutine[Any, Any, None]) -> None:
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("%s stopped with an error", name)
        raise


def create_app(settings: RatingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or RatingSettings()
    parts = build_parts(settings, clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        producer = consumer = None
        held = HeldConnection(parts.engine)
        try:
            if settings.rating_run_outbox:
                producer = create_producer(settings, client_id="rating-outbox")
                await producer.start()
                relay = build_outbox_relay(
                    parts.engine, settings.topic_name, idle_seconds=settings.rating_outbox_interval_seconds
                )
                tasks.append(asyncio.create_task(_guarded("outbox", relay.run(producer, stop))))
            if settings.rating_run_consumer:
                consumer = create_consumer(
                    settings, USAGE_TOPIC, group=settings.rating_consumer_group, client_id="rating-dashboard"
                )
                await consumer.start()
                consumer_store, consumer_dashboard = parts.consumer_dashboard(held)
                usage_consumer = UsageConsumer(
                    consumer,
                    consumer_store,
                    consumer_dashboard,
                    group_id=consumer_group(settings, settings.rating_consumer_group),
                    topic=settings.topic_name(USAGE_TOPIC),
                    coalesce_seconds=settings.rating_coalesce_seconds,
                    metrics=app.state.metrics,
                )
                app.state.usage_consumer = usage_consumer
                tasks.append(asyncio.create_task(_guarded("usage consumer", usage_consumer.run(stop))))
            if settings.rating_run_scheduler:
                tasks.append(
                    asyncio.create_task(
                        _guarded(
                            "period close scheduler",
                            parts.api.closer.run(settings.rating_scheduler_interval_seconds, stop),
                        )
                    )
                )
            yield
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if consumer is not None:
                await consumer.stop()
            if producer is not None:
                await producer.stop()
            await held.close()
            await parts.engine.dispose()

    app = create_service_app(
        settings,
        name=SERVICE,
        checks=[database_check(parts.engine), kafka_check(settings)],
        lifespan=lifespan,
    )
    app.state.parts = parts
    install(app, parts.api)
    return app
