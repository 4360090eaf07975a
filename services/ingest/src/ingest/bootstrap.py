"""Composition root of the ingest service: the only place that builds engines, clients and the app.

``create_app`` is what `uvicorn --factory ingest.bootstrap:create_app` and ``python -m ingest`` run.
The app's lifespan creates the Kafka clients (they need a running loop), starts the outbox relay and
(unless disabled) the consumer; on shutdown it stops fetching, lets the batch in hand finish within
the grace period (or abandons it, rolled back), drains the outbox and closes every client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.app import ReadinessCheck, create_service_app, database_check, kafka_check
from billing_runtime.db import create_engine
from billing_runtime.kafka import consumer_group, create_consumer, create_producer
from ingest.api import install_routes
from ingest.checking import EventChecker
from ingest.classification import load_classifier
from ingest.collector_tuning import collector_tuned_for_batches
from ingest.consumer import SeekToStoredPositions, UsageConsumer
from ingest.intake import Intake
from ingest.metrics import IngestMetrics
from ingest.outbox_relay import build_outbox_relay
from ingest.periods import TenantPeriods
from ingest.pg_ledger import PostgresLedger, driver_connection
from ingest.settings import SERVICE, IngestSettings
from ingest.tenant_zone_gate import TenantZoneGate
from ingest.zone_changes import ZoneChanges
from ingest.zone_consumer import ZoneConsumer

log = logging.getLogger(__name__)

USAGE_EVENTS = "usage.events.v1"
USAGE_DLQ = "usage.events.dlq.v1"
USAGE_AGGREGATED = "usage.aggregated.v1"
CONFIG_CHANGED = "billing.config.changed.v1"


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()
    periods = TenantPeriods(settings.ingest_tenant_timezones, settings.ingest_default_timezone)
    checker = EventChecker(load_classifier(settings.ingest_classification_rules), periods)
    engine = create_engine(settings, SERVICE)
    zones = TenantZoneGate(periods)
    ledger = PostgresLedger(engine, settings.topic_name(USAGE_AGGREGATED), zones, keep_connection=True)
    zone_changes = ZoneChanges(engine, periods, settings.topic_name(USAGE_AGGREGATED))
    group = consumer_group(settings, settings.ingest_consumer_group)
    tasks: dict[str, asyncio.Task[None]] = {}

    async def consumer_running() -> None:
        task = tasks.get("consumer")
        if settings.ingest_consume and (task is None or task.done()):
            raise RuntimeError("the Kafka consumer is not running")

    async def zone_consumer_running() -> None:
        task = tasks.get("zones")
        if settings.ingest_consume and (task is None or task.done()):
            raise RuntimeError("the tenant zone consumer is not running")

    checks = [
        database_check(engine),
        kafka_check(settings),
        ReadinessCheck("consumer", consumer_running),
        ReadinessCheck("zone_consumer", zone_consumer_running),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stopping = asyncio.Event()
        producer = create_producer(settings, client_id="ingest-outbox")
        await producer.start()
        tasks["relay"] = asyncio.create_task(relay.run(producer, stopping), name="ingest-outbox-relay")
        await _preload_zones(engine, zones)
        consumer = zone_consumer = None
        if settings.ingest_consume:
            zone_consumer = create_consumer(
                settings, group=settings.ingest_zone_consumer_group, client_id="ingest-zones"
            )
            await zone_consumer.start()
            zone_group = consumer_group(settings, settings.ingest_zone_consumer_group)
            zone_consumer.subscribe(
                [settings.topic_name(CONFIG_CHANGED)],
                listener=SeekToStoredPositions(zone_consumer, ledger, zone_group),
            )
            applying = ZoneConsumer(
                zone_consumer,
                zone_changes,
                group=zone_group,
                max_wait_ms=settings.ingest_fetch_max_wait_ms,
                after_commit=relay.wake,
            )
            tasks["zones"] = asyncio.create_task(applying.run(stopping), name="ingest-zone-consumer")
            tasks["zones"].add_done_callback(_report_end)
            consumer = create_consumer(
                settings,
                group=settings.ingest_consumer_group,
                client_id="ingest",
                heartbeat_interval_ms=settings.ingest_heartbeat_interval_ms,
            )
            await consumer.start()
            usage = UsageConsumer(
                consumer,
                intake,
                metrics,
                group=group,
                max_records=settings.ingest_batch_max_records,
                max_wait_ms=settings.ingest_fetch_max_wait_ms,
                after_commit=relay.wake,
                handover_wait_seconds=settings.ingest_shutdown_grace_seconds,
            )
            consumer.subscribe([settings.topic_name(USAGE_EVENTS)], listener=usage.rebalance_listener(ledger))
            tasks["consumer"] = asyncio.create_task(usage.run(stopping), name="ingest-consumer")
            tasks["consumer"].add_done_callback(_report_end)
        try:
            with collector_tuned_for_batches(settings.ingest_batch_max_records):
                yield
        finally:
            stopping.set()
            await _finish(list(tasks.values()), settings.ingest_shutdown_grace_seconds)
            await relay.drain(producer)
            if consumer is not None:
                await consumer.stop()
            if zone_consumer is not None:
                await zone_consumer.stop()
            await producer.stop()
            await ledger.close()
            await engine.dispose()

    app = create_service_app(settings, name=SERVICE, checks=checks, lifespan=lifespan)
    metrics = IngestMetrics(app.state.metrics)
    intake = Intake(
        checker,
        ledger,
        metrics,
        dlq_topic=settings.topic_name(USAGE_DLQ),
        max_event_bytes=settings.ingest_max_event_bytes,
    )
    relay = build_outbox_relay(engine, metrics, batch=settings.ingest_outbox_batch)
    install_routes(app, intake, engine, settings.ingest_max_request_bytes)
    return app


def _report_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the Kafka consumer %s stopped", task.get_name(), exc_info=task.exception())


async def _preload_zones(engine: AsyncEngine, zones: TenantZoneGate) -> None:
    """Adopt the stored tenant zones before any event is checked. Only saves work: without it each
    batch adopts the zones of its tenants itself (see ingest.tenant_zone_gate)."""
    try:
        async with driver_connection(engine) as connection:
            adopted = await zones.preload(connection)
    except Exception as error:
        log.warning("tenant zones not preloaded (%r); batches will adopt them", error)
        return
    log.info("%d tenant zones adopted from their contracts", adopted)


async def _finish(tasks: list[asyncio.Task[None]], grace: float) -> None:
    """Let running work end by itself within ``grace`` seconds, then cancel (rolling back)."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
