"""What the invoice integration tests share: the pinned clock, example usage, and what rating and
ingest store for a tenant (a closed period's frozen contract, usage aggregates), written as they do."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_core import UsageByPeriod, contract_to_data
from billing_io.contract_yaml import load_contract
from billing_runtime.kafka import create_producer
from invoice.outbox_relay import build_outbox_relay
from invoice.pg_inputs import PostgresInvoiceInputs
from invoice.settings import InvoiceSettings
from rating.ingest_usage import IngestUsageReader

REPO = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 6, 2, 9, 30, tzinfo=UTC)
USAGE = {  # period -> (site, category) -> (quantity, events)
    "2026-01": {
        ("nyc-01", "standard"): ("300", 30),
        ("nyc-01", "expedited"): ("40", 4),
        ("bos-02", "standard"): ("10", 1),
    },
    "2026-02": {("nyc-01", "standard"): ("120", 12), ("chi-03", "storage"): ("1000.5", 3)},
}


def clock() -> datetime:
    return NOW


def contract_document(tenant: str) -> dict[str, Any]:
    document = contract_to_data(load_contract(REPO / "examples" / "contract.yaml"))
    document["tenant"] = tenant
    return document


async def close_period(
    engine: AsyncEngine,
    settings: InvoiceSettings,
    tenant: str,
    period: str,
    *,
    high_water: dict[str, Any] | None = None,
) -> None:
    """What the rating service stores when it closes a period: the frozen contract document and the
    usage high-water mark, read from ingest's aggregates by rating's own reader unless given."""
    if high_water is None:
        high_water = await IngestUsageReader(engine, settings.schema_name("ingest")).high_water(
            tenant, period
        )
    table = f'"{settings.schema_name("rating")}".closed_periods'
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                f"INSERT INTO {table} (tenant_id, period, closed_at, closed_by, revision, contract, "
                "settings, high_water) VALUES (:t, :p, :at, 'test', 1, CAST(:c AS jsonb), '{}', "
                "CAST(:h AS jsonb))"
            ),
            {
                "t": tenant,
                "p": period,
                "at": NOW,
                "c": json.dumps(contract_document(tenant)),
                "h": json.dumps(high_water),
            },
        )


async def store_usage(
    engine: AsyncEngine,
    settings: InvoiceSettings,
    tenant: str,
    period: str,
    site: str,
    category: str,
    quantity: str,
    events: int,
) -> None:
    """What ingest keeps per (tenant, period, site, category): the de-duplicated running total."""
    table = f'"{settings.schema_name("ingest")}".usage_aggregates'
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                f"INSERT INTO {table} (tenant_id, period, site_id, category, quantity, events, last_change) "
                "VALUES (:t, :p, :s, :c, :q, :e, 1) ON CONFLICT (tenant_id, period, site_id, category) "
                "DO UPDATE SET quantity = EXCLUDED.quantity, events = EXCLUDED.events"
            ),
            {"t": tenant, "p": period, "s": site, "c": category, "q": Decimal(quantity), "e": events},
        )


async def usage_of(engine: AsyncEngine, settings: InvoiceSettings, tenant: str) -> UsageByPeriod:
    async with engine.connect() as conn:
        return await PostgresInvoiceInputs(settings).usage(conn, tenant)


async def seed(engine: AsyncEngine, settings: InvoiceSettings, tenant: str) -> None:
    for period, rows in USAGE.items():
        for (site, category), (quantity, events) in rows.items():
            await store_usage(engine, settings, tenant, period, site, category, quantity, events)


async def relayed_event(engine: AsyncEngine, settings: InvoiceSettings, number: str) -> dict[str, Any] | None:
    """Relays the invoice outbox to Kafka, then the event on invoice.drafted.v1 about document
    ``number`` (None if it does not arrive within 20 seconds)."""
    producer = create_producer(settings, client_id="invoice-test")
    await producer.start()
    try:
        relay = build_outbox_relay(engine, settings.topic_name, clock)
        while await relay.publish_once(producer):
            pass
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        settings.topic_name("invoice.drafted.v1"),
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    event: dict[str, Any] = json.loads(record.value)
                    if event["data"]["number"] == number:
                        return event
    finally:
        await consumer.stop()
    return None
