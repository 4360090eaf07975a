"""Invoice's outbox relay (invoice.drafted.v1 and the other invoice events): rows hold structured
CloudEvents as JSON, sent after the invoice is committed and marked published at the service clock's
time once the broker acknowledged them; consumers treat the event id as idempotency key."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.outbox import OutboxRecord, OutboxRelay
from invoice.tables import outbox

STRUCTURED = [("content-type", b"application/cloudevents+json")]


def build_outbox_relay(
    engine: AsyncEngine,
    topic_name: Callable[[str], str],
    clock: Callable[[], datetime],
    *,
    batch: int = 100,
    idle_seconds: float = 0.5,
) -> OutboxRelay:
    def record(row: sa.Row[Any]) -> OutboxRecord:
        value = json.dumps(row.event, separators=(",", ":")).encode("utf-8")
        return OutboxRecord(topic_name(row.topic), row.key.encode("utf-8"), value, list(STRUCTURED))

    return OutboxRelay(engine, outbox, record, batch=batch, idle_seconds=idle_seconds, published_at=clock)
