"""Closed periods that could not be invoiced: recorded, listed, counted, resolved by issuing.

A close record whose period cannot be invoiced as it stands (a category without a rate, an
invalid frozen contract, usage at the close that cannot be reconstructed) must never vanish:
the consumer records it here, and only once that row is committed does it commit the record's
Kafka offset. The row stays open until an invoice for the period is issued (a redelivery, or
POST /v1/periods/{tenant}/{period}/invoice once the cause is fixed); the issuing transaction
resolves it, and resolved rows stay as history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from billing_core import ContractError, RatingError
from billing_runtime.cloudevents_codec import CloudEventDecodeError
from invoice.inputs import PeriodNotClosedError, UnusableClosedPeriodError
from invoice.metrics import InvoiceMetrics
from invoice.tables import invoice_failures

PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    CloudEventDecodeError,
    ContractError,
    RatingError,
    PeriodNotClosedError,
    UnusableClosedPeriodError,
)
"""Errors that a retry of the same record cannot cure: the period is recorded as failed.

Anything else (database, broker, an unexpected bug) is retried and the offset stays uncommitted."""


def failure_kind(error: Exception) -> str:
    if isinstance(error, RatingError):
        return "rating"
    if isinstance(error, ContractError):
        return "contract"
    if isinstance(error, PeriodNotClosedError):
        return "not_closed"
    if isinstance(error, CloudEventDecodeError):
        return "event"
    return "inputs"


@dataclass(frozen=True)
class RecordPosition:
    """Where the close record that failed sits in Kafka."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class PeriodFailure:
    id: int
    tenant_id: str | None
    period: str | None
    error: str
    reason: str
    topic: str | None
    kafka_partition: int | None
    kafka_offset: int | None
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant": self.tenant_id,
            "period": self.period,
            "status": "failed" if self.resolved_at is None else "resolved",
            "error": self.error,
            "reason": self.reason,
            "record": None
            if self.topic is None
            else {"topic": self.topic, "partition": self.kafka_partition, "offset": self.kafka_offset},
            "attempts": self.attempts,
            "first_failed_at": self.first_failed_at.isoformat(),
            "last_failed_at": self.last_failed_at.isoformat(),
            "resolved_at": None if self.resolved_at is None else self.resolved_at.isoformat(),
            "resolved_by": self.resolved_by,
        }


async def record_failure(
    conn: AsyncConnection,
    *,
    tenant_id: str | None,
    period: str | None,
    error: str,
    reason: str,
    position: RecordPosition | None,
    at: datetime,
) -> None:
    """Open a failure for the period (or the unreadable record), or count one more attempt."""
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "period": period,
        "error": error,
        "reason": reason,
        "topic": None if position is None else position.topic,
        "kafka_partition": None if position is None else position.partition,
        "kafka_offset": None if position is None else position.offset,
        "attempts": 1,
        "first_failed_at": at,
        "last_failed_at": at,
    }
    statement = insert(invoice_failures).values(**values)
    update = {
        "error": statement.excluded.error,
        "reason": statement.excluded.reason,
        "attempts": invoice_failures.c.attempts + 1,
        "last_failed_at": statement.excluded.last_failed_at,
    }
    if tenant_id is None:
        target = [
            invoice_failures.c.topic,
            invoice_failures.c.kafka_partition,
            invoice_failures.c.kafka_offset,
        ]
        where: sa.ColumnElement[bool] = invoice_failures.c.tenant_id.is_(None)
    else:
        target = [invoice_failures.c.tenant_id, invoice_failures.c.period]
        where = sa.and_(invoice_failures.c.resolved_at.is_(None), invoice_failures.c.tenant_id.is_not(None))
        # Keep where the period was first seen failing; a retry through the API names no record.
        update["topic"] = sa.func.coalesce(invoice_failures.c.topic, statement.excluded.topic)
        update["kafka_partition"] = sa.func.coalesce(
            invoice_failures.c.kafka_partition, statement.excluded.kafka_partition
        )
        update["kafka_offset"] = sa.func.coalesce(
            invoice_failures.c.kafka_offset, statement.excluded.kafka_offset
        )
    await conn.execute(statement.on_conflict_do_update(index_elements=target, index_where=where, set_=update))


async def resolve_failure(
    conn: AsyncConnection, tenant_id: str, period: str, number: str, at: datetime
) -> bool:
    """Close the period's open failure, naming the invoice that settled it; False when none was open."""
    result = await conn.execute(
        sa.update(invoice_failures)
        .where(
            invoice_failures.c.tenant_id == tenant_id,
            invoice_failures.c.period == period,
            invoice_failures.c.resolved_at.is_(None),
        )
        .values(resolved_at=at, resolved_by=number)
    )
    return bool(result.rowcount)


async def list_failures(
    conn: AsyncConnection, *, tenant_id: str | None = None, include_resolved: bool = False
) -> list[PeriodFailure]:
    query = sa.select(invoice_failures)
    if tenant_id is not None:
        query = query.where(invoice_failures.c.tenant_id == tenant_id)
    if not include_resolved:
        query = query.where(invoice_failures.c.resolved_at.is_(None))
    rows = await conn.execute(query.order_by(invoice_failures.c.id))
    return [PeriodFailure(**dict(row._mapping)) for row in rows]


async def count_open_failures(conn: AsyncConnection) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(invoice_failures)
        .where(invoice_failures.c.resolved_at.is_(None))
    )
    return int((await conn.execute(query)).scalar_one())


class FailureLog:
    """Records failures in their own transaction and keeps the open-failures gauge current."""

    def __init__(
        self, engine: AsyncEngine, clock: Callable[[], datetime], metrics: InvoiceMetrics | None = None
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._metrics = metrics

    async def record(
        self,
        error: Exception,
        *,
        tenant_id: str | None,
        period: str | None,
        position: RecordPosition | None = None,
    ) -> None:
        kind = failure_kind(error)
        async with self._engine.begin() as conn:
            await record_failure(
                conn,
                tenant_id=tenant_id,
                period=period,
                error=kind,
                reason=str(error),
                position=position,
                at=self._clock(),
            )
        if self._metrics is not None:
            self._metrics.failures_recorded.labels(error=kind).inc()
        await self.refresh()

    async def refresh(self) -> int:
        async with self._engine.connect() as conn:
            count = await count_open_failures(conn)
        if self._metrics is not None:
            self._metrics.failures_open.set(count)
        return count
