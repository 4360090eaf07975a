"""Consumes billing.period.closed.v1 and issues one invoice per closed tenant-period.

The offset of a record is committed only after its invoice transaction has committed (or the
record was judged unusable and logged), so a crash replays it; issuing is idempotent per
tenant-period, so a replay returns the invoice already issued.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import TopicPartition

from billing_core import ContractError, RatingError
from billing_runtime.cloudevents_codec import CloudEventDecodeError, decode_record
from invoice.inputs import PeriodNotClosedError
from invoice.issuing import InvoiceIssuer

logger = logging.getLogger(__name__)

PERIOD_CLOSED_TOPIC = "billing.period.closed.v1"
PERMANENT = (CloudEventDecodeError, ContractError, RatingError, PeriodNotClosedError, ValueError, KeyError)


def closed_period_of(record: Any) -> tuple[str, str]:
    data = decode_record(record).get_data()
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("tenant_id"), str)
        or not isinstance(data.get("period"), str)
    ):
        raise ValueError("billing.period.closed.v1 event without tenant_id and period")
    return data["tenant_id"], data["period"]


class ClosedPeriodsConsumer:
    def __init__(self, consumer: Any, issuer: InvoiceIssuer, *, retry_seconds: float = 2.0) -> None:
        self._consumer = consumer
        self._issuer = issuer
        self._retry_seconds = retry_seconds

    async def handle(self, record: Any) -> None:
        """Issue the record's invoice, retrying transient failures until it is done or judged unusable."""
        delay = self._retry_seconds
        while True:
            try:
                tenant_id, period = closed_period_of(record)
                outcome = await self._issuer.invoice_period(tenant_id, period)
                if not outcome.created:
                    logger.info(
                        "period %s of %s already invoiced as %s", period, tenant_id, outcome.invoice.number
                    )
                return
            except PERMANENT:
                logger.exception(
                    "cannot invoice from %s offset %s; left for POST /v1/periods/{tenant}/{period}/invoice",
                    record.topic,
                    record.offset,
                )
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("invoicing failed for offset %s; retrying in %.1fs", record.offset, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            batches = await self._consumer.getmany(timeout_ms=500, max_records=50)
            for partition, records in batches.items():
                for record in records:
                    await self.handle(record)
                    await self._consumer.commit(
                        {TopicPartition(partition.topic, partition.partition): record.offset + 1}
                    )
