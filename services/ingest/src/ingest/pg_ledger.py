"""The usage ledger in PostgreSQL: one transaction per batch, a handful of statements, no per-event trip.

Per batch: claim the (source, id) pairs in ``event_ids`` (a COPY while batches keep being all new,
else ON CONFLICT DO NOTHING RETURNING, which tells which are new), COPY the new events into the
month-partitioned ``raw_events``, add their in-memory sums to ``usage_aggregates`` in one upsert,
queue notifications and dead letters in ``outbox`` and move the stored partition positions forward,
then commit. Rows are written in key order so that concurrent writers (the consumer and HTTP
requests) lock in the same order and cannot deadlock.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ingest.aggregation import AggregateTotal, aggregate
from ingest.events import UsageEvent
from ingest.ledger_port import LedgerBatch, LedgerOutcome
from ingest.outbox_messages import OutboxMessage, aggregated_notifications
from ingest.pg_copy_text import claim_rows, claims_copy, raw_events_copy, texts_plain
from ingest.tenant_zone_gate import TenantZoneGate

RAW_COLUMNS = (
    "source",
    "id",
    "event_time",
    "type",
    "tenant_id",
    "site_id",
    "category",
    "period",
    "quantity",
    "payload",
)
CLAIM_COLUMNS = ("id", "source")
"""The columns of event_ids: its primary key, (id, source)."""
FIRST_PARTITIONED_YEAR = 2000
LAST_PARTITIONED_YEAR = 2199

_CLAIM_IDS = """
WITH batch AS (
    SELECT * FROM unnest($1::text[], $2::text[]) AS b(source, id)
), claimed AS (
    INSERT INTO event_ids (source, id)
    SELECT source, id FROM batch ORDER BY id COLLATE "C", source COLLATE "C"
    ON CONFLICT DO NOTHING
    RETURNING source, id
), taken AS (
    SELECT b.source, b.id FROM batch b
    LEFT JOIN claimed c ON c.source = b.source AND c.id = b.id
    WHERE c.id IS NULL
)
SELECT n.claimed,
       CASE WHEN n.claimed < $3 THEN array(SELECT source FROM taken) END,
       CASE WHEN n.claimed < $3 THEN array(SELECT id FROM taken) END
FROM (SELECT count(*) AS claimed FROM claimed) AS n
"""
_ADD_AGGREGATES = """
INSERT INTO usage_aggregates AS a (tenant_id, site_id, category, period, quantity, events, last_change)
SELECT t.tenant_id, t.site_id, t.category, t.period, t.quantity, t.events, nextval('aggregate_changes')
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::bigint[])
     AS t(tenant_id, site_id, category, period, quantity, events)
ON CONFLICT (tenant_id, period, site_id, category) DO UPDATE
SET quantity = a.quantity + EXCLUDED.quantity,
    events = a.events + EXCLUDED.events,
    last_change = EXCLUDED.last_change,
    updated_at = now()
RETURNING tenant_id, site_id, category, period, quantity, events
"""
_QUEUE_OUTBOX = """
INSERT INTO outbox (topic, key, value, headers)
SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::bytea[])
"""
_STORE_POSITIONS = """
INSERT INTO consumer_positions AS p (consumer_group, topic, partition, next_offset)
SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[])
ON CONFLICT (consumer_group, topic, partition) DO UPDATE
SET next_offset = GREATEST(p.next_offset, EXCLUDED.next_offset), updated_at = now()
"""
_PARTITION_LOCK = "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.raw_events'))"
_READ_POSITIONS = """
SELECT partition, next_offset FROM consumer_positions WHERE consumer_group = $1 AND topic = $2
"""


def encode_headers(headers: Iterable[tuple[str, bytes]]) -> bytes:
    """Kafka headers as stored in the outbox: a JSON list of [name, hex value] (values are bytes)."""
    return json.dumps([[name, value.hex()] for name, value in headers]).encode()


def decode_headers(stored: bytes) -> tuple[tuple[str, bytes], ...]:
    return tuple((name, bytes.fromhex(value)) for name, value in json.loads(stored))


def month_partition(instant: datetime) -> tuple[str, datetime, datetime] | None:
    """The raw_events partition for an event time (UTC months); None means the default partition."""
    moment = instant.astimezone(UTC)
    if not FIRST_PARTITIONED_YEAR <= moment.year <= LAST_PARTITIONED_YEAR:
        return None
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    end = datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)
    return f"raw_events_{moment.year:04d}_{moment.month:02d}", start, end


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[Any]:
    """The pooled asyncpg connection itself, for COPY and array parameters."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        yield raw.driver_connection


class PostgresLedger:
    def __init__(
        self,
        engine: AsyncEngine,
        aggregated_topic: str,
        zones: TenantZoneGate | None = None,
        *,
        keep_connection: bool = False,
    ) -> None:
        """``keep_connection``: hold one connection between batches instead of taking it from the pool
        each time (whose check-out pings the server and whose return resets the session, two round
        trips that wait behind the consumer's CPU work); ``close`` must then be called before the
        engine is disposed of."""
        self._engine = engine
        self._aggregated_topic = aggregated_topic
        self._zones = zones
        self._keep_connection = keep_connection
        self._kept: AsyncConnection | None = None
        self._partitions: set[str] = set()
        self._partition_lock = asyncio.Lock()
        self._expect_new = True
        """Whether the last claim found every pair new: then the next batch tries the COPY claim."""

    async def record(self, batch: LedgerBatch) -> LedgerOutcome:
        """Most batches are all new, and a plain COPY into the primary key of ``event_ids`` costs
        less than half of an ``ON CONFLICT`` insert. So while the previous claim found every pair
        new, the batch is written with a COPY claim; a pair already taken (or repeated in the batch)
        makes that COPY fail, the transaction rolls back and the batch is written again with the
        exact claim. The exact claim stays in use until a batch turns out all new again (a replay
        after a restart is duplicates batch after batch, and would otherwise pay twice).
        """
        await self._ensure_partitions(batch.events)
        async with self._connection() as connection:
            if self._expect_new and batch.events:
                try:
                    async with connection.transaction():
                        return await self._write(connection, batch, copy_claims=True)
                except _PairTaken:
                    self._expect_new = False
            async with connection.transaction():
                return await self._write(connection, batch, copy_claims=False)

    async def _write(self, connection: Any, batch: LedgerBatch, *, copy_claims: bool) -> LedgerOutcome:
        events = batch.events
        if self._zones is not None:  # periods in the tenants' stored zones, locked until commit
            events = await self._zones.settle(connection, events)
        plain_texts = texts_plain(events)  # holds for every subset: one probe for both COPYs
        if copy_claims:
            await _copy_claims(connection, events, plain_texts)
            fresh = list(events)
        else:
            fresh = await _claim_on_conflict(connection, events)
            self._expect_new = len(fresh) == len(events)
        if fresh:
            rows = raw_events_copy(fresh, plain_texts)
            await _copy_text(connection, "raw_events", rows, RAW_COLUMNS)
        totals = await self._add(connection, fresh)
        messages = [*aggregated_notifications(totals, self._aggregated_topic), *batch.dead_letters]
        await _queue(connection, messages)
        if batch.positions:
            await connection.execute(
                _STORE_POSITIONS,
                [batch.consumer_group] * len(batch.positions),
                [p.topic for p in batch.positions],
                [p.partition for p in batch.positions],
                [p.next_offset for p in batch.positions],
            )
        return LedgerOutcome(fresh, totals)

    async def close(self) -> None:
        """Give the kept connection back to the pool."""
        kept, self._kept = self._kept, None
        if kept is not None:
            await kept.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        """The kept connection when it is free (else one from the pool); after a failure the
        connection is dropped, not kept: its state is unknown, or the server went away."""
        if not self._keep_connection:
            async with driver_connection(self._engine) as connection:
                yield connection
            return
        held, self._kept = self._kept, None
        if held is None:
            held = await self._engine.connect()
        try:
            raw = await held.get_raw_connection()
            yield raw.driver_connection
        except BaseException:
            await held.invalidate()
            await held.close()
            raise
        if self._kept is None:
            self._kept = held
        else:
            await held.close()

    async def positions(self, consumer_group: str, topic: str) -> dict[int, int]:
        async with driver_connection(self._engine) as connection:
            rows = await connection.fetch(_READ_POSITIONS, consumer_group, topic)
        return {row["partition"]: row["next_offset"] for row in rows}

    async def _add(self, connection: Any, fresh: Sequence[UsageEvent]) -> list[AggregateTotal]:
        if not fresh:
            return []
        tallies = sorted(aggregate(fresh).items())
        rows = await connection.fetch(
            _ADD_AGGREGATES,
            [key[0] for key, _ in tallies],
            [key[1] for key, _ in tallies],
            [key[2] for key, _ in tallies],
            [key[3] for key, _ in tallies],
            [tally.quantity for _, tally in tallies],
            [tally.events for _, tally in tallies],
        )
        return [AggregateTotal(*row) for row in rows]

    async def _ensure_partitions(self, events: Sequence[UsageEvent]) -> None:
        """Create missing month partitions before the batch transaction (DDL takes strong locks)."""
        needed: dict[str, tuple[datetime, datetime]] = {}
        # The month of the previous event (most batches hold one or two), as UTC datetimes and as
        # timestamps: compared as in ingest.periods.TenantPeriods, by tzinfo.
        low = high = datetime.max.replace(tzinfo=UTC)
        low_stamp, high_stamp = 0.0, 0.0
        for event in events:
            instant = event.time
            if instant.tzinfo is UTC:
                if low <= instant < high:
                    continue
            elif low_stamp <= instant.timestamp() < high_stamp:
                continue
            slot = month_partition(instant)
            if slot is None:
                continue
            low, high = slot[1], slot[2]
            low_stamp, high_stamp = low.timestamp(), high.timestamp()
            if slot[0] not in self._partitions:
                needed[slot[0]] = (slot[1], slot[2])
        if not needed:
            return
        async with self._partition_lock, driver_connection(self._engine) as connection:
            for name, (start, end) in sorted(needed.items()):
                async with connection.transaction():
                    # Serialise creators across processes; IF NOT EXISTS alone races on the catalogue.
                    await connection.execute(_PARTITION_LOCK)
                    await connection.execute(
                        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF raw_events "
                        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                    )
                self._partitions.add(name)


async def _copy_text(connection: Any, table: str, rows: bytes, columns: Sequence[str]) -> None:
    """COPY rows already in text format (``ingest.pg_copy_text``). Wrapped in a memoryview because
    asyncpg would take plain bytes for a file name."""
    await connection.copy_to_table(table, source=memoryview(rows), columns=columns, format="text")


class _PairTaken(Exception):
    """The COPY claim met a pair already taken: the batch's transaction is rolled back."""


async def _copy_claims(connection: Any, events: Sequence[UsageEvent], plain_texts: bool) -> None:
    """Claim every pair with one COPY; raises _PairTaken when one of them is taken.

    Sorted by (id, source) like the exact path, so concurrent writers wait for each other's keys in
    one order and cannot deadlock (Python orders str by code point, as the C collation orders UTF-8).
    """
    rows = claims_copy(claim_rows(events), plain_texts)
    try:
        await _copy_text(connection, "event_ids", rows, CLAIM_COLUMNS)
    except asyncpg.UniqueViolationError as taken:
        raise _PairTaken from taken


async def _claim_on_conflict(connection: Any, events: Sequence[UsageEvent]) -> list[UsageEvent]:
    """The exact claim, which tells which events are new. The statement answers with the number
    claimed and the pairs that were already taken (a handful), not with every claimed pair: decoding
    thousands of rows would cost more than the insert itself. When every pair was claimed, the taken
    pairs are not even looked for (PostgreSQL runs a CASE branch's subquery only when the branch is
    taken)."""
    if not events:
        return []
    claimed, taken_sources, taken_ids = await connection.fetchrow(
        _CLAIM_IDS,
        [e.source for e in events],
        [e.id for e in events],
        len(events),
    )
    if claimed == len(events):
        return list(events)  # every pair was new, so none repeats inside the batch either
    skip = set(zip(taken_sources, taken_ids, strict=True))
    fresh = []
    for event in events:
        key = (event.source, event.id)
        if key not in skip:
            skip.add(key)
            fresh.append(event)
    return fresh


async def _queue(connection: Any, messages: Sequence[OutboxMessage]) -> None:
    if not messages:
        return
    await connection.execute(
        _QUEUE_OUTBOX,
        [m.topic for m in messages],
        [m.key for m in messages],
        [m.value for m in messages],
        [encode_headers(m.headers) for m in messages],
    )
