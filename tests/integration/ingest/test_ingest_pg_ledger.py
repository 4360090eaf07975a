"""The PostgreSQL ledger on its own: claims, repeats, partitions, append-only raw events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from billing_runtime.db import create_engine
from ingest.events import UsageEvent
from ingest.ledger_port import LedgerBatch, PartitionPosition
from ingest.pg_ledger import PostgresLedger
from ingest.settings import IngestSettings


def event(tenant: str, n: int, when: datetime, quantity: str = "1.5") -> UsageEvent:
    period = f"{when.year:04d}-{when.month:02d}"
    return UsageEvent(
        "urn:test", f"{tenant}-{n}", when, "t.v1", tenant, "s1", "standard", period, Decimal(quantity), b"{}"
    )


NOT_A_TOPIC = "aggregated"
"""The ledgers here queue their notifications for this name, which no broker topic has."""


@pytest_asyncio.fixture(autouse=True)
async def _remove_queued_notifications(ingest_settings: IngestSettings) -> AsyncIterator[None]:
    """The notifications these tests queue are for no real topic: they are removed after each
    test, so that no later test's outbox relay meets them, whatever order the tests run in."""
    yield
    engine = create_engine(ingest_settings, "ingest")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM outbox WHERE topic = :t"), {"t": NOT_A_TOPIC})
    finally:
        await engine.dispose()


async def stored_counts(engine: AsyncEngine, tenant: str) -> tuple[int, int]:
    """The tenant's raw events and the events its aggregates count."""
    async with engine.connect() as connection:
        raw = await connection.scalar(
            text("SELECT count(*) FROM raw_events WHERE tenant_id = :t"), {"t": tenant}
        )
        counted = await connection.scalar(
            text("SELECT coalesce(sum(events), 0) FROM usage_aggregates WHERE tenant_id = :t"),
            {"t": tenant},
        )
    return int(raw), int(counted)


async def test_repeats_inside_a_batch_and_pairs_taken_earlier_count_once(
    ingest_settings: IngestSettings,
) -> None:
    engine = create_engine(ingest_settings, "ingest")
    ledger = PostgresLedger(engine, NOT_A_TOPIC)
    tenant = f"ledger-{uuid.uuid4().hex[:8]}"
    march = datetime(2026, 3, 5, tzinfo=UTC)
    try:
        first = await ledger.record(LedgerBatch([event(tenant, 3, march)]))
        assert len(first.fresh) == 1
        batch = [
            event(tenant, 1, march),
            event(tenant, 2, march),
            event(tenant, 1, march),
            event(tenant, 3, march),
        ]
        outcome = await ledger.record(
            LedgerBatch(batch, positions=[PartitionPosition("topic", 0, 10)], consumer_group=tenant)
        )
        assert [e.id for e in outcome.fresh] == [f"{tenant}-1", f"{tenant}-2"]
        assert [(t.quantity, t.events) for t in outcome.totals] == [(Decimal("4.5"), 3)]
        await ledger.record(
            LedgerBatch([], positions=[PartitionPosition("topic", 0, 4)], consumer_group=tenant)
        )
        assert await ledger.positions(tenant, "topic") == {0: 10}
        async with engine.connect() as connection:
            raw = await connection.scalar(
                text("SELECT count(*) FROM raw_events WHERE tenant_id = :t"), {"t": tenant}
            )
        assert raw == 3
    finally:
        await engine.dispose()


async def test_raw_events_land_in_month_partitions_and_cannot_be_changed(
    ingest_settings: IngestSettings,
) -> None:
    engine = create_engine(ingest_settings, "ingest")
    ledger = PostgresLedger(engine, NOT_A_TOPIC)
    tenant = f"ledger-{uuid.uuid4().hex[:8]}"
    times = [
        datetime(2031, 7, 31, 23, 59, tzinfo=UTC),
        datetime(2031, 8, 1, tzinfo=UTC),
        datetime(1990, 1, 1, tzinfo=UTC),
    ]
    try:
        await ledger.record(LedgerBatch([event(tenant, n, when) for n, when in enumerate(times)]))
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT tableoid::regclass::text, id FROM raw_events WHERE tenant_id = :t ORDER BY id"
                    ),
                    {"t": tenant},
                )
            ).all()
        partitions = [name.rsplit(".", 1)[-1] for name, _ in rows]
        assert partitions == ["raw_events_2031_07", "raw_events_2031_08", "raw_events_default"]
        for statement in (
            "UPDATE raw_events SET quantity = 2 WHERE tenant_id = :t",
            "DELETE FROM raw_events WHERE tenant_id = :t",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with engine.begin() as connection:
                    await connection.execute(text(statement), {"t": tenant})
    finally:
        await engine.dispose()


async def test_claims_stay_exact_whichever_way_each_batch_is_claimed(
    ingest_settings: IngestSettings,
) -> None:
    """All-new batches are claimed with a COPY; a batch with a taken or repeated pair falls back to
    the exact claim, and the batches after it go on being counted once until all-new ones return."""
    engine = create_engine(ingest_settings, "ingest")
    ledger = PostgresLedger(engine, NOT_A_TOPIC)
    tenant = f"ledger-{uuid.uuid4().hex[:8]}"
    march = datetime(2026, 3, 5, tzinfo=UTC)
    batches = [
        [0, 1, 2],  # all new
        [3, 4],  # all new
        [4, 5, 5, 6],  # 4 taken, 5 repeated inside the batch
        [0, 1, 2, 3],  # a replay: nothing new
        [7, 6, 8],  # 6 taken
        [9, 10],  # all new again
        [11, 9],  # 9 taken right after an all-new batch
        [12],
    ]
    expected_fresh = [[0, 1, 2], [3, 4], [5, 6], [], [7, 8], [9, 10], [11], [12]]
    try:
        for numbers, expected in zip(batches, expected_fresh, strict=True):
            outcome = await ledger.record(LedgerBatch([event(tenant, n, march) for n in numbers]))
            assert sorted(int(e.id.rsplit("-", 1)[1]) for e in outcome.fresh) == expected, numbers
        assert await stored_counts(engine, tenant) == (13, 13)
    finally:
        await engine.dispose()


async def test_concurrent_writers_of_the_same_events_count_each_pair_once(
    ingest_settings: IngestSettings,
) -> None:
    """Two ledgers (as two processes would) write the same new events at the same time, listed in
    opposite orders, both claiming with a COPY: claims are taken in key order, so neither deadlocks
    (the one that waits then finds every pair taken) and every pair counts once."""
    engines = [create_engine(ingest_settings, "ingest") for _ in range(2)]
    tenant = f"ledger-{uuid.uuid4().hex[:8]}"
    march = datetime(2026, 3, 5, tzinfo=UTC)
    size, rounds = 3000, 4
    try:
        for round_number in range(rounds):
            ledgers = [PostgresLedger(engine, NOT_A_TOPIC) for engine in engines]  # both expect new pairs
            forward = [event(tenant, n, march) for n in range(round_number * size, (round_number + 1) * size)]
            outcomes = await asyncio.gather(
                ledgers[0].record(LedgerBatch(forward)),
                ledgers[1].record(LedgerBatch(forward[::-1])),
            )
            assert sorted(len(outcome.fresh) for outcome in outcomes) == [0, size]
        assert await stored_counts(engines[0], tenant) == (size * rounds, size * rounds)
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_kept_connection_the_server_dropped_fails_one_write_and_is_replaced(
    ingest_settings: IngestSettings,
) -> None:
    """The ledger keeps its connection between batches; when the server ends it, the next write
    fails as a whole (the consumer retries it) and the one after runs on a new connection."""
    name = f"ledger-kept-{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(
        ingest_settings.database_url_value(),
        connect_args={
            "server_settings": {
                "search_path": f"{ingest_settings.schema_name('ingest')},public",
                "application_name": name,
            }
        },
    )
    ledger = PostgresLedger(engine, NOT_A_TOPIC, keep_connection=True)
    tenant = name
    march = datetime(2026, 3, 5, tzinfo=UTC)
    try:
        await ledger.record(LedgerBatch([event(tenant, 0, march)]))
        await ledger.record(LedgerBatch([event(tenant, 1, march)]))
        async with engine.connect() as connection:
            kept = (
                (
                    await connection.execute(
                        text(
                            "SELECT pid FROM pg_stat_activity WHERE application_name = :name "
                            "AND pid <> pg_backend_pid()"
                        ),
                        {"name": name},
                    )
                )
                .scalars()
                .all()
            )
            assert len(kept) == 1  # one connection served both batches and stays open
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": kept[0]})
        with pytest.raises(Exception):  # how asyncpg reports the lost server varies with timing
            await ledger.record(LedgerBatch([event(tenant, 2, march)]))
        outcome = await ledger.record(LedgerBatch([event(tenant, 2, march), event(tenant, 1, march)]))
        assert [e.id for e in outcome.fresh] == [f"{tenant}-2"]
        assert await stored_counts(engine, tenant) == (3, 3)
    finally:
        await ledger.close()
        await engine.dispose()
