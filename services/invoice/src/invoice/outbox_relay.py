"""Publishes the invoice outbox (invoice.drafted.v1) to Kafka, after the invoice is committed.

Rows are claimed with FOR UPDATE SKIP LOCKED and marked published once the broker acknowledged
them; a crash in between publishes them again, so consumers treat the event id as idempotency key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from invoice.tables import outbox

logger = logging.getLogger(__name__)

STRUCTURED = [("content-type", b"application/cloudevents+json")]


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        producer: Any,
        topic_name: Callable[[str], str],
        clock: Callable[[], datetime],
        *,
        batch: int = 100,
        idle_seconds: float = 0.5,
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._topic_name = topic_name
        self._clock = clock
        self._batch = batch
        self._idle_seconds = idle_seconds

    async def publish_once(self) -> int:
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.event)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self._batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            pending = [
                await self._producer.send(
                    self._topic_name(row.topic),
                    value=json.dumps(row.event, separators=(",", ":")).encode("utf-8"),
                    key=row.key.encode("utf-8"),
                    headers=STRUCTURED,
                )
                for row in rows
            ]
            await asyncio.gather(*pending)
            await conn.execute(
                sa.update(outbox)
                .where(outbox.c.id.in_([row.id for row in rows]))
                .values(published_at=self._clock())
            )
        return len(rows)

    async def run(self, stopping: asyncio.Event) -> None:
        delay = self._idle_seconds
        while not stopping.is_set():
            try:
                published = await self.publish_once()
                delay = self._idle_seconds
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("invoice outbox relay failed; retrying in %.1fs", delay)
                published = 0
                delay = min(delay * 2, 10.0)
            if published < self._batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), delay)
