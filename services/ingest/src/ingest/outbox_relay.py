"""Publishes outbox rows to Kafka and deletes them once the broker has acknowledged every one.

Rows are claimed with FOR UPDATE SKIP LOCKED, so several ingest processes can relay side by side.
A crash after publishing and before deleting publishes those rows again: consumers must be (and
are, by the running-totals design of usage.aggregated.v1) idempotent. A record the producer or the
broker refuses as too large (a dead letter can be slightly larger than the record it carries) is
published cut short with a ``dlq_value_truncated_from`` header instead of blocking every row after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError
from sqlalchemy.ext.asyncio import AsyncEngine

from ingest.metrics import IngestMetrics
from ingest.pg_ledger import decode_headers, driver_connection

log = logging.getLogger(__name__)

TOO_LARGE = (MessageSizeTooLargeError, RecordTooLargeError)
TRUNCATED_BYTES = 512 * 1024
_CLAIM = "SELECT id, topic, key, value, headers FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"
_DELETE = "DELETE FROM outbox WHERE id = ANY($1::bigint[])"


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        metrics: IngestMetrics,
        *,
        batch: int,
        idle_seconds: float = 0.5,
    ) -> None:
        self._engine = engine
        self._metrics = metrics
        self._batch = batch
        self._idle_seconds = idle_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Called after a batch commits, so notifications go out without waiting for the next poll."""
        self._wake.set()

    async def publish_once(self, producer: Any) -> int:
        """Publish up to one batch of the oldest rows (a started aiokafka producer); returns how many."""
        async with driver_connection(self._engine) as connection, connection.transaction():
            rows = await connection.fetch(_CLAIM, self._batch)
            if not rows:
                return 0
            pending = [await self._send(producer, row) for row in rows]
            for row, future in zip(rows, pending, strict=True):
                try:
                    await future
                except TOO_LARGE:  # the broker's own limit: never let one record block the outbox
                    await (await self._send(producer, row, shrink=True))
            await connection.execute(_DELETE, [row["id"] for row in rows])
        for row in rows:
            self._metrics.outbox_published.labels(topic=row["topic"]).inc()
        return len(rows)

    async def _send(self, producer: Any, row: Any, *, shrink: bool = False) -> Any:
        """Queue one row; a record over the size limits goes out cut to TRUNCATED_BYTES, saying so."""
        headers = list(decode_headers(row["headers"]))
        value = row["value"]
        if not shrink:
            try:
                return await producer.send(row["topic"], value=value, key=row["key"], headers=headers)
            except TOO_LARGE:
                pass
        log.warning("outbox record %s (%d bytes) is over the size limit; publishing its first %d bytes",
                    row["id"], len(value or b""), TRUNCATED_BYTES)  # fmt: skip
        headers.append(("dlq_value_truncated_from", str(len(value or b"")).encode()))
        return await producer.send(
            row["topic"], value=(value or b"")[:TRUNCATED_BYTES], key=row["key"], headers=headers
        )

    async def run(self, producer: Any, stopping: asyncio.Event) -> None:
        delay = self._idle_seconds
        while not stopping.is_set():
            try:
                published = await self.publish_once(producer)
                delay = self._idle_seconds
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying in %.1fs", delay)
                published = 0
                delay = min(delay * 2, 10.0)
            if published < self._batch:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)

    async def drain(self, producer: Any) -> None:
        """Publish what is queued (at shutdown); errors are left for the next start."""
        try:
            while await self.publish_once(producer):
                pass
        except Exception:
            log.exception("outbox not fully drained at shutdown; the rest is published on next start")
