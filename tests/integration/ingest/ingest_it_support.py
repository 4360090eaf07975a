"""Helpers of the ingest integration tests: a running service in-process, unique tenants."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ingest.bootstrap import create_app
from ingest.settings import IngestSettings
from ingest.traffic import SyntheticUsage

Totals = dict[tuple[str, str, str], tuple[Decimal, int]]
"""(tenant, site, category) → (quantity, distinct events), summed over periods."""


@dataclass
class RunningIngest:
    app: FastAPI
    client: httpx.AsyncClient
    settings: IngestSettings

    async def usage(self, tenant: str, period: str) -> dict[str, Any]:
        response = await self.client.get("/v1/usage", params={"tenant": tenant, "period": period})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def wait_for_events(
        self, tenant: str, period: str, expected: int, timeout: float = 90
    ) -> dict[str, Any]:
        """Poll GET /v1/usage until the tenant-period counts ``expected`` events (fails on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            usage = await self.usage(tenant, period)
            counted = sum(line["events"] for line in usage["sites"])
            if counted >= expected or time.monotonic() > deadline:
                return usage
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def running_ingest(settings: IngestSettings) -> AsyncIterator[RunningIngest]:
    """The real app with its lifespan (consumer, relay) and an in-process HTTP client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            yield RunningIngest(app, client, settings)


def unique_tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:10]}"


def expected_usage(events: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[Decimal, int]]:
    totals: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for event in events:
        slot = totals[(event["data"]["site_id"], event["data"]["category"])]
        slot[0] += Decimal(event["data"]["quantity"])
        slot[1] += 1
    return {key: (quantity, count) for key, (quantity, count) in totals.items()}


def synthetic_totals(traffic: SyntheticUsage, distinct: int) -> Totals:
    """What the aggregates must hold once events 0 … distinct-1 of ``traffic`` are counted."""
    totals: dict[tuple[str, str, str], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for n in range(distinct):
        tenant, site, category, quantity = traffic.fields(n)
        slot = totals[(tenant, site, category)]
        slot[0] += Decimal(quantity)
        slot[1] += 1
    return {key: (quantity, events) for key, (quantity, events) in totals.items()}


async def ledger_totals(engine: AsyncEngine, tenants: list[str]) -> Totals:
    """What the aggregates of ``tenants`` hold, summed over periods."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT tenant_id, site_id, category, sum(quantity), sum(events) FROM usage_aggregates "
                "WHERE tenant_id = ANY(:t) GROUP BY tenant_id, site_id, category"
            ),
            {"t": tenants},
        )
        return {(t, s, c): (q, int(e)) for t, s, c, q, e in rows}


def as_table(usage: dict[str, Any]) -> dict[tuple[str, str], tuple[Decimal, int]]:
    return {
        (line["site"], line["category"]): (Decimal(line["quantity"]), line["events"])
        for line in usage["sites"]
    }


async def read_topic(settings: IngestSettings, topic: str, want: Any, timeout: float = 60) -> list[Any]:
    """Records of ``topic`` (from the start) for which ``want(record)`` holds, until a quiet spell."""
    consumer = AIOKafkaConsumer(
        settings.topic_name(topic),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"{settings.topic_prefix}reader-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    found: list[Any] = []
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    try:
        while time.monotonic() < deadline:
            fetched = await consumer.getmany(timeout_ms=500)
            batch = [record for records in fetched.values() for record in records if want(record)]
            found.extend(batch)
            if batch:
                quiet_since = time.monotonic()
            elif found and time.monotonic() - quiet_since > 3:
                break
    finally:
        await consumer.stop()
    return found
