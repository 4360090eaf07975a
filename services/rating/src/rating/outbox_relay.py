"""Rating's outbox relay: rows hold CloudEvents as JSON, sent in structured mode under the row's key
and marked published (database time) once the broker acknowledged them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.cloudevents_codec import ContentMode, encode_event, make_event, record_headers
from billing_runtime.outbox import OutboxRecord, OutboxRelay
from rating import tables as t


def build_outbox_relay(
    engine: AsyncEngine, topic_name: Callable[[str], str], *, batch: int = 500, idle_seconds: float = 0.2
) -> OutboxRelay:
    def record(row: sa.Row[Any]) -> OutboxRecord:
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
        return OutboxRecord(topic_name(row.topic), key, message.value, record_headers(message))

    return OutboxRelay(
        engine, t.outbox, record, batch=batch, idle_seconds=idle_seconds, published_at=sa.func.now
    )
