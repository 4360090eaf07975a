"""PostgreSQL adapter of InvoiceInputs: read-only views of the rating and ingest schemas.

Schemas are named through the settings (a test run prefixes them), and the JSON
documents are read as text and parsed with exact decimals, never through float.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from billing_core import Period, UsageAggregate, UsageByPeriod, UsageKey
from billing_runtime.read_models import usage_aggregates
from invoice.inputs import PeriodNotClosedError, UnusableClosedPeriodError
from invoice.settings import InvoiceSettings
from invoice.usage_at_close import HighWaterMark, UsageAtClose


class PostgresInvoiceInputs:
    def __init__(self, settings: InvoiceSettings) -> None:
        self._closed_periods = sa.table(
            "closed_periods",
            sa.column("tenant_id"),
            sa.column("period"),
            sa.column("contract"),
            sa.column("high_water"),
            schema=settings.schema_name("rating"),
        )
        self._aggregates = usage_aggregates(settings.schema_name("ingest"))
        self._at_close = UsageAtClose(settings.schema_name("ingest"))

    async def _closed_document(self, conn: AsyncConnection, tenant_id: str, period: str, column: str) -> Any:
        """A JSON column of the period's close, with exact decimals; PeriodNotClosedError without one."""
        closed = self._closed_periods
        text = (
            await conn.execute(
                sa.select(sa.cast(closed.c[column], sa.Text)).where(
                    closed.c.tenant_id == tenant_id, closed.c.period == period
                )
            )
        ).scalar_one_or_none()
        if text is None:
            raise PeriodNotClosedError(f"period {period} of tenant {tenant_id!r} is not closed")
        return json.loads(text, parse_float=Decimal)

    async def frozen_contract(self, conn: AsyncConnection, tenant_id: str, period: str) -> Mapping[str, Any]:
        document = await self._closed_document(conn, tenant_id, period, "contract")
        if not isinstance(document, dict):
            raise UnusableClosedPeriodError(
                f"frozen configuration of {tenant_id} {period} is not a JSON object"
            )
        return document

    async def usage(
        self, conn: AsyncConnection, tenant_id: str, *, closed: str | None = None
    ) -> UsageByPeriod:
        aggregates = self._aggregates
        rows = await conn.execute(
            sa.select(
                aggregates.c.period,
                aggregates.c.site_id,
                aggregates.c.category,
                aggregates.c.quantity,
                aggregates.c.events,
            )
            .where(aggregates.c.tenant_id == tenant_id)
            .order_by(aggregates.c.period, aggregates.c.site_id, aggregates.c.category)
        )
        usage: dict[Period, dict[UsageKey, UsageAggregate]] = {}
        for period, site_id, category, quantity, events in rows:
            usage.setdefault(Period.parse(period), {})[UsageKey(site_id, category)] = UsageAggregate(
                site_id, category, Decimal(quantity), int(events)
            )
        if closed is not None:
            contract = await self._closed_document(conn, tenant_id, closed, "contract")
            timezone = contract.get("timezone") if isinstance(contract, dict) else None
            at_close = await self._at_close.usage(
                conn, tenant_id, closed, await self._mark(conn, tenant_id, closed), timezone or "UTC"
            )
            usage[Period.parse(closed)] = at_close
        return usage

    async def _mark(self, conn: AsyncConnection, tenant_id: str, period: str) -> HighWaterMark:
        document = await self._closed_document(conn, tenant_id, period, "high_water")
        return HighWaterMark(tenant_id, period, document if isinstance(document, dict) else {})
