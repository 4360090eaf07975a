"""The transactional outbox relay every service runs: rows written in the same transaction as the
change they announce are published to Kafka at least once, and settled (deleted, or marked
published) only after the broker acknowledged every one of them.

Rows are claimed oldest first with FOR UPDATE SKIP LOCKED, so several processes can relay the same
table side by side. A crash after publishing and before the settling commit publishes those rows
again, so consumers treat the event id (or the running totals they carry) as idempotency key.
What differs between services is configuration: the table, how a row becomes a Kafka record,
whether published rows are deleted or marked, and what to do with a record the broker refuses as
too large.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

TOO_LARGE = (MessageSizeTooLargeError, RecordTooLargeError)
TRUNCATED_FROM_HEADER = "dlq_value_truncated_from"


@dataclass(frozen=True)
class OutboxRecord:
    """One Kafka record as it is sent: the topic is the full (prefixed) name."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def event_outbox_table(metadata: sa.MetaData, *, unpublished_index: str) -> sa.Table:
    """The ``outbox`` of a service that queues CloudEvents as JSON (``event``) under a topic name
    without prefix; rows are kept and marked published. The service's migrations own the table."""
    table = sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("event", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    sa.Index(unpublished_index, table.c.id, postgresql_where=table.c.published_at.is_(None))
    return table


def truncate_oversized(limit: int) -> Callable[[OutboxRecord], OutboxRecord]:
    """A too-large hook that sends the record's first ``limit`` bytes with a header giving the
    original size, so one oversized record (a dead letter is slightly larger than what it carries)
    never blocks the rows behind it."""

    def shrink(record: OutboxRecord) -> OutboxRecord:
        value = record.value or b""
        headers = [*record.headers, (TRUNCATED_FROM_HEADER, str(len(value)).encode())]
        return replace(record, value=value[:limit], headers=headers)

    return shrink


class OutboxRelay:
    """Relays one outbox table (columns ``id`` and, when rows are marked, ``published_at``).

    ``published_at`` gives the value stored in that column once a row is acknowledged; without it
    acknowledged rows are deleted. ``shrink`` (see ``truncate_oversized``) replaces a record that the
    producer or the broker refuses as too large; without it such a record fails the batch, which is
    retried. ``on_published`` is told, after the commit, which records went out.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        table: sa.Table,
        to_record: Callable[[sa.Row[Any]], OutboxRecord],
        *,
        batch: int,
        idle_seconds: float = 0.5,
        published_at: Callable[[], Any] | None = None,
        shrink: Callable[[OutboxRecord], OutboxRecord] | None = None,
        on_published: Callable[[Sequence[OutboxRecord]], None] | None = None,
        max_backoff_seconds: float = 10.0,
    ) -> None:
        self._engine = engine
        self._table = table
        self._to_record = to_record
        self._batch = batch
        self._idle_seconds = idle_seconds
        self._published_at = published_at
        self._shrink = shrink
        self._on_published = on_published
        self._max_backoff_seconds = max_backoff_seconds
        self._wake = asyncio.Event()
        claim = sa.select(table).order_by(table.c.id).limit(batch).with_for_update(skip_locked=True)
        if published_at is not None:
            claim = claim.where(table.c.published_at.is_(None))
        self._claim = claim

    def wake(self) -> None:
        """Called after a transaction that wrote outbox rows commits, so they go out without
        waiting for the next poll."""
        self._wake.set()

    async def publish_once(self, producer: Any) -> int:
        """Publish up to one batch of the oldest rows with a started aiokafka producer; returns how
        many were published and settled."""
        async with self._engine.begin() as conn:
            rows = (await conn.execute(self._claim)).all()
            if not rows:
                return 0
            records = [self._to_record(row) for row in rows]
            pending = [
                await self._send(producer, row.id, record) for row, record in zip(rows, records, strict=True)
            ]
            for row, record, future in zip(rows, records, pending, strict=True):
                try:
                    await future
                except TOO_LARGE:  # the broker's own limit
                    if self._shrink is None:
                        raise
                    await (await self._send_shrunk(producer, row.id, record, self._shrink))
            await conn.execute(self._settle([row.id for row in rows]))
        if self._on_published is not None:
            self._on_published(records)
        return len(rows)

    def _settle(self, ids: list[Any]) -> sa.Executable:
        where = self._table.c.id.in_(ids)
        if self._published_at is None:
            return sa.delete(self._table).where(where)
        return sa.update(self._table).where(where).values(published_at=self._published_at())

    async def _send(self, producer: Any, row_id: Any, record: OutboxRecord) -> Any:
        """Queue one record; returns the future of the broker's acknowledgement."""
        try:
            return await producer.send(
                record.topic, value=record.value, key=record.key, headers=record.headers
            )
        except TOO_LARGE:  # the producer's own limit
            if self._shrink is None:
                raise
        return await self._send_shrunk(producer, row_id, record, self._shrink)

    @staticmethod
    async def _send_shrunk(
        producer: Any, row_id: Any, record: OutboxRecord, shrink: Callable[[OutboxRecord], OutboxRecord]
    ) -> Any:
        smaller = shrink(record)
        log.warning("outbox record %s (%d bytes) is over the size limit; publishing %d bytes of it",
                    row_id, len(record.value or b""), len(smaller.value or b""))  # fmt: skip
        return await producer.send(
            smaller.topic, value=smaller.value, key=smaller.key, headers=smaller.headers
        )

    async def run(self, producer: Any, stopping: asyncio.Event) -> None:
        """Relay until ``stopping`` is set; a failure (the broker or the database away) is logged
        and retried with a doubling delay, the rows staying queued."""
        delay = self._idle_seconds
        while not stopping.is_set():
            try:
                published = await self.publish_once(producer)
                delay = self._idle_seconds
            except Exception:
                log.exception("outbox relay of %s failed; retrying in %.1fs", self._table.name, delay)
                published = 0
                delay = min(delay * 2, self._max_backoff_seconds)
            if published < self._batch:
                self._wake.clear()
                await _first_of(self._wake, stopping, timeout=delay)

    async def drain(self, producer: Any) -> None:
        """Publish what is queued (at shutdown); errors are left for the next start."""
        try:
            while await self.publish_once(producer):
                pass
        except Exception:
            log.exception("outbox not fully drained at shutdown; the rest is published on next start")


async def _first_of(*events: asyncio.Event, timeout: float) -> None:
    """Wait until any of ``events`` is set, or ``timeout`` seconds."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*waiters, return_exceptions=True)
