"""A closed period that cannot be invoiced is recorded, listed and counted, never skipped; a
transient failure leaves the record's offset uncommitted. Real PostgreSQL and Kafka throughout."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from invoice_it_support import clock, close_period, seed, store_usage
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.db import create_engine
from billing_runtime.kafka import create_consumer, create_producer
from invoice.bootstrap import create_app
from invoice.closed_periods_consumer import PERIOD_CLOSED_TOPIC, ClosedPeriodsConsumer
from invoice.failures import FailureLog
from invoice.issuing import InvoiceIssuer
from invoice.pg_inputs import PostgresInvoiceInputs
from invoice.settings import InvoiceSettings
from rating.config_events import period_closed
from rating.records import ClosedPeriod, TenantSettings

UNREACHABLE_DATABASE = "postgresql+asyncpg://billing:billing@127.0.0.1:9/billing"
"""A port nothing listens on: every connection attempt fails as during a database outage."""


@pytest.fixture
def topic_settings(settings: InvoiceSettings, exclusive_topic_prefix: str) -> InvoiceSettings:
    """The run's schemas, topics of this test alone (the test counts committed offsets)."""
    return settings.model_copy(update={"topic_prefix": exclusive_topic_prefix})


async def publish_close(settings: InvoiceSettings, tenant: str, period: str) -> None:
    """The close record exactly as rating's outbox publishes it."""
    message = period_closed(
        ClosedPeriod(tenant, period, clock(), "test", 1, {}, TenantSettings(), {"last_change": 0})
    )
    await publish_raw(settings, json.dumps(message.event).encode(), key=tenant)


async def publish_raw(settings: InvoiceSettings, value: bytes, *, key: str) -> None:
    producer = create_producer(settings, client_id="invoice-failures-test")
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.topic_name(PERIOD_CLOSED_TOPIC),
            value=value,
            key=key.encode(),
            headers=[("content-type", b"application/cloudevents+json")],
        )
    finally:
        await producer.stop()


async def consume_until(
    settings: InvoiceSettings,
    issuer: InvoiceIssuer,
    failures: FailureLog,
    done: Callable[[AIOKafkaConsumer], Awaitable[bool]],
    *,
    linger: float = 0.0,
) -> dict[int, int | None]:
    """Runs the service's consumer on a real group until ``done``, then ``linger`` seconds more;
    answers the offsets the group has committed."""
    consumer = create_consumer(settings, PERIOD_CLOSED_TOPIC, group="invoice", client_id="invoice-test")
    await consumer.start()
    try:
        stopping = asyncio.Event()
        task = asyncio.create_task(
            ClosedPeriodsConsumer(consumer, issuer, failures, retry_seconds=0.2).run(stopping)
        )
        deadline = asyncio.get_running_loop().time() + 60
        while not await done(consumer):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the consumer did not get there within 60 s")
            await asyncio.sleep(0.2)
        await asyncio.sleep(linger)
        stopping.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return {tp.partition: await consumer.committed(tp) for tp in consumer.assignment()}
    finally:
        await consumer.stop()


async def committed_one(consumer: AIOKafkaConsumer) -> bool:
    offsets: list[int | None] = [await consumer.committed(tp) for tp in consumer.assignment()]
    return sum(offset or 0 for offset in offsets) >= 1


async def fetched_one(consumer: AIOKafkaConsumer) -> bool:
    positions: list[int] = [await consumer.position(tp) for tp in consumer.assignment()]
    return sum(positions) >= 1


async def failure_rows(engine: AsyncEngine, tenant: str) -> list[sa.Row[Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT * FROM invoice_failures WHERE tenant_id = :t ORDER BY id"), {"t": tenant}
        )
        return list(rows)


async def add_rate_to_frozen_contract(
    engine: AsyncEngine, settings: InvoiceSettings, tenant: str, period: str, category: str
) -> None:
    """An operator's repair of the frozen configuration once told which rate was missing (the
    table is append-only for the services, so the repair lifts its trigger for the statement)."""
    table = f'"{settings.schema_name("rating")}".closed_periods'
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER closed_periods_append_only"))
        await conn.execute(
            sa.text(
                f"UPDATE {table} SET contract = jsonb_set(contract, :path, CAST(:rate AS jsonb)) "
                "WHERE tenant_id = :t AND period = :p"
            ),
            {"path": ["defaults", "0", "rates", category], "rate": '"0.50"', "t": tenant, "p": period},
        )
        await conn.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER closed_periods_append_only"))


def open_failures_gauge(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith("invoice_period_failures_open "):
            return float(line.split()[1])
    raise AssertionError("invoice_period_failures_open is not exported")


async def test_a_period_that_cannot_be_rated_is_recorded_listed_counted_and_cleared_by_the_retry(
    engine: AsyncEngine, settings: InvoiceSettings, topic_settings: InvoiceSettings
) -> None:
    tenant = "t-fail-rate"
    await seed(engine, settings, tenant)
    await store_usage(engine, settings, tenant, "2026-01", "nyc-01", "translation", "12", 2)
    await close_period(engine, settings, tenant, "2026-01")
    app = create_app(topic_settings, clock=clock)
    failures = FailureLog(engine, clock)
    issuer = InvoiceIssuer(engine, settings, PostgresInvoiceInputs(settings), clock, failures)

    await publish_close(topic_settings, tenant, "2026-01")
    offsets = await consume_until(topic_settings, issuer, failures, committed_one)

    # The offset moved on, but only because the failure is stored with the rating error's words.
    assert sum(offset or 0 for offset in offsets.values()) == 1
    [row] = await failure_rows(engine, tenant)
    assert (row.period, row.error, row.resolved_at) == ("2026-01", "rating", None)
    for named in (tenant, "nyc-01", "'translation'", "2026-01", "no rate"):
        assert named in row.reason
    assert row.topic == topic_settings.topic_name(PERIOD_CLOSED_TOPIC) and row.kafka_offset == 0

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://invoice") as client:
        listed = (await client.get("/v1/invoices/failures", params={"tenant": tenant})).json()
        assert [(f["period"], f["status"], f["error"]) for f in listed["failures"]] == [
            ("2026-01", "failed", "rating")
        ]
        assert open_failures_gauge((await client.get("/metrics")).text) >= 1

        # Retrying before the cause is fixed keeps the failure open and counts the attempt.
        refused = await client.post(f"/v1/periods/{tenant}/2026-01/invoice")
        assert refused.status_code == 422 and "'translation'" in refused.json()["detail"]
        [row] = await failure_rows(engine, tenant)
        assert row.attempts == 2 and row.resolved_at is None

        await add_rate_to_frozen_contract(engine, settings, tenant, "2026-01", "translation")
        issued = await client.post(f"/v1/periods/{tenant}/2026-01/invoice")
        assert issued.status_code == 201, issued.text
        number = issued.json()["number"]

        [row] = await failure_rows(engine, tenant)
        assert row.resolved_by == number and row.resolved_at is not None
        assert (await client.get("/v1/invoices/failures", params={"tenant": tenant})).json()["failures"] == []
        history = (
            await client.get("/v1/invoices/failures", params={"tenant": tenant, "include_resolved": "true"})
        ).json()["failures"]
        assert [(f["status"], f["resolved_by"]) for f in history] == [("resolved", number)]


async def test_an_unreadable_close_record_is_recorded_by_its_position(
    engine: AsyncEngine, settings: InvoiceSettings, topic_settings: InvoiceSettings
) -> None:
    failures = FailureLog(engine, clock)
    issuer = InvoiceIssuer(engine, settings, PostgresInvoiceInputs(settings), clock, failures)
    event = period_closed(
        ClosedPeriod("t-fail-event", "2026-01", clock(), "test", 1, {}, TenantSettings(), {})
    ).event
    del event["data"]["tenant_id"]
    await publish_raw(topic_settings, json.dumps(event).encode(), key="t-fail-event")

    offsets = await consume_until(topic_settings, issuer, failures, committed_one)

    assert sum(offset or 0 for offset in offsets.values()) == 1
    async with engine.connect() as conn:
        rows = list(
            await conn.execute(
                sa.text("SELECT * FROM invoice_failures WHERE topic = :topic"),
                {"topic": topic_settings.topic_name(PERIOD_CLOSED_TOPIC)},
            )
        )
    assert [(r.tenant_id, r.error, r.kafka_offset) for r in rows] == [(None, "event", 0)]
    assert "tenant_id" in rows[0].reason


async def test_a_database_outage_leaves_the_offset_uncommitted_and_records_nothing(
    engine: AsyncEngine, settings: InvoiceSettings, topic_settings: InvoiceSettings
) -> None:
    tenant = "t-fail-outage"
    await seed(engine, settings, tenant)
    await close_period(engine, settings, tenant, "2026-01")
    down = topic_settings.model_copy(update={"database_url": SecretStr(UNREACHABLE_DATABASE)})
    unreachable = create_engine(down, "invoice")
    try:
        failures = FailureLog(unreachable, clock)
        issuer = InvoiceIssuer(unreachable, down, PostgresInvoiceInputs(down), clock, failures)
        await publish_close(topic_settings, tenant, "2026-01")
        # Fetched, then several retries (0.2 s apart, doubling) fail while the database is away.
        offsets = await consume_until(topic_settings, issuer, failures, fetched_one, linger=2.0)
    finally:
        await unreachable.dispose()

    assert all(offset is None for offset in offsets.values())
    assert await failure_rows(engine, tenant) == []
    async with engine.connect() as conn:
        invoiced = await conn.execute(
            sa.text("SELECT count(*) FROM invoices WHERE tenant_id = :t"), {"t": tenant}
        )
        assert invoiced.scalar_one() == 0

    # Once the database is back, the same record is invoiced: nothing was skipped.
    failures = FailureLog(engine, clock)
    issuer = InvoiceIssuer(engine, settings, PostgresInvoiceInputs(settings), clock, failures)
    offsets = await consume_until(topic_settings, issuer, failures, committed_one)
    assert sum(offset or 0 for offset in offsets.values()) == 1
    async with engine.connect() as conn:
        invoiced = await conn.execute(
            sa.text("SELECT count(*) FROM invoices WHERE tenant_id = :t"), {"t": tenant}
        )
        assert invoiced.scalar_one() == 1
