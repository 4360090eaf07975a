"""Ingest's outbox relay: rows carry finished Kafka records (topic, key, value, stored headers) and
are deleted once the broker acknowledged them.

Consumers are idempotent by the running-totals design of usage.aggregated.v1. A record the producer
or the broker refuses as too large (a dead letter can be slightly larger than the record it carries)
is published cut short with a ``dlq_value_truncated_from`` header instead of blocking every row after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.outbox import OutboxRecord, OutboxRelay, truncate_oversized
from ingest.metrics import IngestMetrics
from ingest.pg_ledger import decode_headers

TRUNCATED_BYTES = 512 * 1024

# The columns the relay reads of the outbox created by migration 0002_usage_ledger.
OUTBOX = sa.Table(
    "outbox",
    sa.MetaData(),
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("key", sa.LargeBinary),
    sa.Column("value", sa.LargeBinary),
    sa.Column("headers", sa.LargeBinary, nullable=False),
)


def _record(row: sa.Row[Any]) -> OutboxRecord:
    return OutboxRecord(row.topic, row.key, row.value, list(decode_headers(row.headers)))


def build_outbox_relay(
    engine: AsyncEngine, metrics: IngestMetrics, *, batch: int, idle_seconds: float = 0.5
) -> OutboxRelay:
    def count(records: Sequence[OutboxRecord]) -> None:
        for record in records:
            metrics.outbox_published.labels(topic=record.topic).inc()

    return OutboxRelay(
        engine,
        OUTBOX,
        _record,
        batch=batch,
        idle_seconds=idle_seconds,
        shrink=truncate_oversized(TRUNCATED_BYTES),
        on_published=count,
    )
