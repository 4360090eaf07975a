"""Reads the usage aggregates that ingest keeps, straight from its schema in the same database.

This is a deliberate, read-only coupling to ingest's table ``usage_aggregates`` (one row per
tenant, period, site and category with the quantity, the distinct event count and
``last_change``, a sequence number of the last update). Reading it in the same database
means the dashboard and period close see exactly the committed aggregates invoices use.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.db import quote_schema
from rating.ports import UsageRow


class IngestUsageReader:
    def __init__(self, engine: AsyncEngine, ingest_schema: str) -> None:
        self._engine = engine
        table = f"{quote_schema(ingest_schema)}.usage_aggregates"
        # The table name is a validated, quoted identifier; values are bound parameters.
        usage = "SELECT site_id, category, period, quantity, events FROM {table} "
        usage += "WHERE tenant_id = :tenant AND period <= :through"
        high_water = "SELECT coalesce(max(last_change), 0) AS last_change, "
        high_water += "coalesce(sum(events), 0) AS events, "
        high_water += "count(*) AS aggregates FROM {table} WHERE tenant_id = :tenant AND period = :period"
        self._usage = sa.text(usage.format(table=table))
        self._high_water = sa.text(high_water.format(table=table))

    async def usage(self, tenant_id: str, through: str) -> list[UsageRow]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(self._usage, {"tenant": tenant_id, "through": through})
            return [
                UsageRow(row.site_id, row.category, row.period, Decimal(row.quantity), int(row.events))
                for row in rows
            ]

    async def high_water(self, tenant_id: str, period: str) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            row = (await conn.execute(self._high_water, {"tenant": tenant_id, "period": period})).one()
            return {
                "last_change": int(row.last_change),
                "event_count": int(row.events),
                "aggregates": int(row.aggregates),
            }
