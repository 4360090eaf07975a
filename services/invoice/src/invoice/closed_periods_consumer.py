"""Consumes billing.period.closed.v1 and issues one invoice per closed tenant-period.

A record's offset is committed only once its outcome is durable in PostgreSQL: the invoice is
issued, or the period is recorded in ``invoice_failures`` because it cannot be invoiced as it
stands (see ``failures.PERMANENT_ERRORS``). Anything else — the database or the broker being
unreachable, an unexpected error — is retried with back-off and the offset is left alone, so a
crash replays the record; issuing is idempotent per tenant-period, so a replay returns the
invoice already issued.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from billing_runtime.cloudevents_codec import CloudEventDecodeError, decode_record
from invoice.failures import PERMANENT_ERRORS, FailureLog, RecordPosition
from invoice.issuing import InvoiceIssuer

logger = logging.getLogger(__name__)

PERIOD_CLOSED_TOPIC = "billing.period.closed.v1"
MAX_RETRY_SECONDS = 30.0


class ClosedPeriodEventError(CloudEventDecodeError):
    """A close record that decodes as a CloudEvent but does not name a tenant and a period."""


def closed_period_of(record: Any) -> tuple[str, str]:
    data = decode_record(record).get_data()
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("tenant_id"), str)
        or not isinstance(data.get("period"), str)
    ):
        raise ClosedPeriodEventError(
            "missing_fields", "billing.period.closed.v1 event without a tenant_id and a period"
        )
    return data["tenant_id"], data["period"]


class ClosedPeriodsConsumer:
    def __init__(
        self, consumer: Any, issuer: InvoiceIssuer, failures: FailureLog, *, retry_seconds: float = 2.0
    ) -> None:
        self._consumer = consumer
        self._issuer = issuer
        self._failures = failures
        self._retry_seconds = retry_seconds

    async def handle(self, record: Any) -> None:
        """Issue the record's invoice or record why it cannot be; retry anything transient."""
        delay = self._retry_seconds
        while True:
            try:
                await self._settle(record)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception(
                    "invoicing from %s[%s] offset %s failed; retrying in %.1fs",
                    record.topic,
                    record.partition,
                    record.offset,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)

    async def _settle(self, record: Any) -> None:
        tenant_id: str | None = None
        period: str | None = None
        try:
            tenant_id, period = closed_period_of(record)
            outcome = await self._issuer.invoice_period(tenant_id, period)
        except PERMANENT_ERRORS as error:
            await self._failures.record(
                error,
                tenant_id=tenant_id,
                period=period,
                position=RecordPosition(record.topic, record.partition, record.offset),
            )
            logger.error(
                "cannot invoice %s %s from %s[%s] offset %s: %s; recorded as failed, "
                "POST /v1/periods/{tenant}/{period}/invoice issues it once the cause is fixed",
                tenant_id,
                period,
                record.topic,
                record.partition,
                record.offset,
                error,
            )
            return
        if not outcome.created:
            logger.info("period %s of %s already invoiced as %s", period, tenant_id, outcome.invoice.number)

    async def _commit(self, partition: TopicPartition, next_offset: int) -> None:
        """Commit until the broker takes it: the record is settled, so moving on is safe only after."""
        delay = self._retry_seconds
        while True:
            try:
                await self._consumer.commit({partition: next_offset})
                return
            except asyncio.CancelledError:
                raise
            except (CommitFailedError, IllegalStateError):
                # The partition moved to another member: it replays the record, which is harmless
                # (the invoice or the failure is already stored), and retrying here never succeeds.
                logger.warning("%s was reassigned before offset %s was committed", partition, next_offset)
                return
            except Exception:
                logger.exception(
                    "committing %s offset %s failed; retrying in %.1fs", partition, next_offset, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            batches = await self._consumer.getmany(timeout_ms=500, max_records=50)
            for partition, records in batches.items():
                for record in records:
                    await self.handle(record)
                    await self._commit(
                        TopicPartition(partition.topic, partition.partition), record.offset + 1
                    )
