"""Reads the usage aggregates that ingest keeps, straight from its schema in the same database.

This is a deliberate, read-only coupling to ingest's table ``usage_aggregates`` (see
billing_runtime.read_models). Reading it in the same database means the dashboard and period close
see exactly the committed aggregates invoices use.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.db import quote_schema
from billing_runtime.read_models import usage_aggregates
from rating.ports import UsageRow


class IngestUsageReader:
    def __init__(self, engine: AsyncEngine, ingest_schema: str) -> None:
        self._engine = engine
        quote_schema(ingest_schema)  # refuses anything but a plain identifier, as the engine does
        self._aggregates = usage_aggregates(ingest_schema)

    async def usage(self, tenant_id: str, through: str) -> list[UsageRow]:
        table = self._aggregates
        query = sa.select(
            table.c.site_id, table.c.category, table.c.period, table.c.quantity, table.c.events
        ).where(table.c.tenant_id == tenant_id, table.c.period <= through)
        async with self._engine.connect() as conn:
            rows = await conn.execute(query)
            return [
                UsageRow(row.site_id, row.category, row.period, Decimal(row.quantity), int(row.events))
                for row in rows
            ]

    async def high_water(self, tenant_id: str, period: str) -> dict[str, Any]:
        table = self._aggregates
        query = sa.select(
            sa.func.coalesce(sa.func.max(table.c.last_change), 0).label("last_change"),
            sa.func.coalesce(sa.func.sum(table.c.events), 0).label("events"),
            sa.func.count().label("aggregates"),
        ).where(table.c.tenant_id == tenant_id, table.c.period == period)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).one()
            return {
                "last_change": int(row.last_change),
                "event_count": int(row.events),
                "aggregates": int(row.aggregates),
            }
