"""Publishes the outbox to Kafka: rows written in the same transaction as the change they
announce, sent at least once, marked published only after the broker acknowledged them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.cloudevents_codec import ContentMode, encode_event, make_event, record_headers
from rating import tables as t

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        topic_name: Callable[[str], str],
        batch: int = 500,
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._topic_name = topic_name
        self._batch = batch

    async def publish_pending(self) -> int:
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(t.outbox.c.id, t.outbox.c.topic, t.outbox.c.key, t.outbox.c.event)
                    .where(t.outbox.c.published_at.is_(None))
                    .order_by(t.outbox.c.id)
                    .limit(self._batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            sends = []
            for row in rows:
                event = row.event
                cloud_event = make_event(
                    type=event["type"],
                    source=event["source"],
                    data=event["data"],
                    id=event["id"],
                    time=datetime.fromisoformat(event["time"]),
                    subject=event.get("subject"),
                )
                message = encode_event(cloud_event, mode=ContentMode.STRUCTURED, key=row.key)
                key = message.key.encode() if isinstance(message.key, str) else message.key
                sends.append(
                    await self._producer.send(
                        self._topic_name(row.topic),
                        value=message.value,
                        key=key,
                        headers=record_headers(message),
                    )
                )
            await asyncio.gather(*sends)
            await conn.execute(
                t.outbox.update()
                .where(t.outbox.c.id.in_([row.id for row in rows]))
                .values(published_at=sa.func.now())
            )
            return len(rows)

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if await self.publish_pending():
                    continue
            except Exception:  # the broker may be away for a while; rows stay queued
                log.exception("outbox publish failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
