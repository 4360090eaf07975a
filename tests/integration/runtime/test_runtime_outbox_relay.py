"""The shared outbox relay's contract on the real database and broker: rows go out oldest first and
are settled (deleted or marked) only when acknowledged, rows locked elsewhere are skipped, an
oversized record is either shrunk by the hook or leaves the batch unsettled, and the run loop
answers wake() and stopping."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest_asyncio
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.db import create_engine, ensure_schema
from billing_runtime.kafka import create_producer
from billing_runtime.outbox import (
    TOO_LARGE,
    TRUNCATED_FROM_HEADER,
    OutboxRecord,
    OutboxRelay,
    truncate_oversized,
)
from billing_runtime.settings import ServiceSettings

TOPIC = "usage.events.dlq.v1"
metadata = sa.MetaData()


def outbox_table(name: str, *extra: sa.Column[Any]) -> sa.Table:
    """Each test gets the tables fresh (dropped and created again), so counts are its own."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        *extra,
    )


deleted_outbox = outbox_table("relay_deleted_outbox")
marked_outbox = outbox_table("relay_marked_outbox", sa.Column("published_at", sa.DateTime(timezone=True)))
PUBLISHED_AT = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest_asyncio.fixture
async def settings(
    settings_factory: Callable[..., ServiceSettings], schema_prefix: str, exclusive_topic_prefix: str
) -> ServiceSettings:
    return settings_factory(schema_prefix=schema_prefix, topic_prefix=exclusive_topic_prefix)


@pytest_asyncio.fixture
async def engine(settings: ServiceSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings, "relay")
    await ensure_schema(engine, settings.schema_name("relay"))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def producer(settings: ServiceSettings) -> AsyncIterator[AIOKafkaProducer]:
    producer = create_producer(settings, client_id="runtime-outbox-test")
    await producer.start()
    yield producer
    await producer.stop()


def to_record(settings: ServiceSettings) -> Callable[[sa.Row[Any]], OutboxRecord]:
    def record(row: sa.Row[Any]) -> OutboxRecord:
        return OutboxRecord(
            settings.topic_name(row.topic), row.key.encode(), row.value, [("x-row", str(row.id).encode())]
        )

    return record


async def queue(engine: AsyncEngine, table: sa.Table, *rows: tuple[str, bytes]) -> None:
    async with engine.begin() as conn:
        for key, value in rows:
            await conn.execute(table.insert().values(topic=TOPIC, key=key, value=value))


async def count(engine: AsyncEngine, query: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text(query))).scalar_one())


async def read_topic(settings: ServiceSettings, expected: int) -> list[Any]:
    """Every record on the test's own topic, once ``expected`` arrived (or after a minute)."""
    consumer = AIOKafkaConsumer(
        settings.topic_name(TOPIC),
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    found: list[Any] = []
    try:
        for _ in range(120):
            fetched = await consumer.getmany(timeout_ms=500)
            found.extend(record for records in fetched.values() for record in records)
            if len(found) >= expected:
                break
    finally:
        await consumer.stop()
    return found


async def test_acknowledged_rows_are_deleted_and_go_out_in_row_order(
    settings: ServiceSettings, engine: AsyncEngine, producer: AIOKafkaProducer
) -> None:
    told: list[Sequence[OutboxRecord]] = []
    await queue(engine, deleted_outbox, ("k", b"first"), ("k", b"second"), ("k", b"third"))
    relay = OutboxRelay(engine, deleted_outbox, to_record(settings), batch=2, on_published=told.append)

    assert await relay.publish_once(producer) == 2
    assert await count(engine, "SELECT count(*) FROM relay_deleted_outbox") == 1
    assert await relay.publish_once(producer) == 1
    assert await relay.publish_once(producer) == 0

    assert await count(engine, "SELECT count(*) FROM relay_deleted_outbox") == 0
    assert [[r.value for r in records] for records in told] == [[b"first", b"second"], [b"third"]]
    published = await read_topic(settings, 3)
    assert [record.value for record in published] == [b"first", b"second", b"third"]
    assert all(record.key == b"k" for record in published)
    assert [dict(record.headers)["x-row"] for record in published] == [b"1", b"2", b"3"]


async def test_marked_rows_keep_their_row_with_the_publication_time_and_are_not_sent_again(
    settings: ServiceSettings, engine: AsyncEngine, producer: AIOKafkaProducer
) -> None:
    await queue(engine, marked_outbox, ("a", b"one"), ("b", b"two"))
    relay = OutboxRelay(
        engine, marked_outbox, to_record(settings), batch=10, published_at=lambda: PUBLISHED_AT
    )

    assert await relay.publish_once(producer) == 2
    assert await relay.publish_once(producer) == 0

    async with engine.connect() as conn:
        marks = (await conn.execute(sa.select(marked_outbox.c.published_at))).scalars().all()
    assert marks == [PUBLISHED_AT, PUBLISHED_AT]
    published = await read_topic(settings, 2)
    assert sorted(record.value for record in published) == [b"one", b"two"]


async def test_rows_locked_by_another_relay_are_skipped_not_waited_for(
    settings: ServiceSettings, engine: AsyncEngine, producer: AIOKafkaProducer
) -> None:
    await queue(engine, deleted_outbox, ("k", b"held"), ("k", b"free"))
    relay = OutboxRelay(engine, deleted_outbox, to_record(settings), batch=10)
    async with engine.begin() as holder:
        await holder.execute(
            sa.select(deleted_outbox.c.id).where(deleted_outbox.c.value == b"held").with_for_update()
        )
        assert await asyncio.wait_for(relay.publish_once(producer), 30) == 1
    assert await relay.publish_once(producer) == 1
    published = await read_topic(settings, 2)
    assert [record.value for record in published] == [b"free", b"held"]


async def test_an_oversized_record_without_a_hook_leaves_the_whole_batch_queued(
    settings: ServiceSettings, engine: AsyncEngine, producer: AIOKafkaProducer
) -> None:
    await queue(engine, deleted_outbox, ("k", b"small"), ("k", b"x" * 1_200_000))
    relay = OutboxRelay(engine, deleted_outbox, to_record(settings), batch=10)
    try:
        await relay.publish_once(producer)
    except TOO_LARGE:
        refused = True
    else:
        refused = False
    assert refused
    assert await count(engine, "SELECT count(*) FROM relay_deleted_outbox") == 2


async def test_an_oversized_record_goes_out_shrunk_by_the_hook_and_the_rest_follow(
    settings: ServiceSettings, engine: AsyncEngine, producer: AIOKafkaProducer
) -> None:
    await queue(engine, deleted_outbox, ("big", b"x" * 1_200_000), ("small", b"fine"))
    relay = OutboxRelay(
        engine, deleted_outbox, to_record(settings), batch=10, shrink=truncate_oversized(1000)
    )

    assert await relay.publish_once(producer) == 2

    assert await count(engine, "SELECT count(*) FROM relay_deleted_outbox") == 0
    by_key = {record.key: record for record in await read_topic(settings, 2)}
    assert by_key[b"small"].value == b"fine"
    assert by_key[b"big"].value == b"x" * 1000
    assert dict(by_key[b"big"].headers)[TRUNCATED_FROM_HEADER] == b"1200000"


async def test_run_publishes_on_wake_and_ends_when_stopping_is_set_without_waiting_out_the_idle_delay(
    settings: ServiceSettings, engine: AsyncEngine, producer: AIOKafkaProducer
) -> None:
    relay = OutboxRelay(engine, deleted_outbox, to_record(settings), batch=10, idle_seconds=3600)
    stopping = asyncio.Event()
    running = asyncio.create_task(relay.run(producer, stopping))
    try:
        await asyncio.sleep(0.5)  # the first poll found nothing; the relay now idles for an hour
        marker = uuid.uuid4().hex.encode()
        await queue(engine, deleted_outbox, ("k", marker))
        relay.wake()
        for _ in range(100):
            if await count(engine, "SELECT count(*) FROM relay_deleted_outbox") == 0:
                break
            await asyncio.sleep(0.1)
        assert await count(engine, "SELECT count(*) FROM relay_deleted_outbox") == 0
        stopping.set()
        await asyncio.wait_for(running, 30)
    finally:
        running.cancel()
    assert [record.value for record in await read_topic(settings, 1)] == [marker]
