"""Reads the usage aggregates that ingest keeps, straight from its schema in the same database.

This is a deliberate, read-only coupling to ingest's table ``usage_aggregates`` (see
billing_runtime.read_models). Reading it in the same database means the dashboard and period close
see exactly the committed aggregates invoices use.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.db import quote_schema
from billing_runtime.read_models import usage_aggregates
from rating.autocommit import single_statements
from rating.ports import UsageRow
from rating.records import UsageMark
from rating.sql_values import SqlText


def _row(row: Any) -> UsageRow:
    return UsageRow(
        row.site_id, row.category, row.period, Decimal(row.quantity), int(row.events), int(row.last_change)
    )


def mark_of(row: Any) -> UsageMark:
    return UsageMark(int(row.aggregates), int(row.changes))


def rows_from_json(text: str, period: str) -> list[UsageRow]:
    return [
        UsageRow(site, category, period, Decimal(quantity), int(events), int(last_change))
        for site, category, quantity, events, last_change in json.loads(text, parse_float=Decimal)
    ]


class IngestUsageReader:
    def __init__(self, engine: AsyncEngine, ingest_schema: str) -> None:
        self._engine = single_statements(engine)
        quote_schema(ingest_schema)  # refuses anything but a plain identifier, as the engine does
        self._aggregates = usage_aggregates(ingest_schema)

    def _rows(self, *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
        table = self._aggregates
        return sa.select(
            table.c.site_id,
            table.c.category,
            table.c.period,
            table.c.quantity,
            table.c.events,
            table.c.last_change,
        ).where(*where)

    def mark_query(self, tenant_id: SqlText, period: SqlText) -> sa.Select[Any]:
        """The mark of the aggregates of periods before ``period`` (see ``mark_of``)."""
        table = self._aggregates
        return sa.select(
            sa.func.count().label("aggregates"),
            sa.func.coalesce(sa.func.sum(table.c.last_change), 0).label("changes"),
        ).where(table.c.tenant_id == tenant_id, table.c.period < period)

    async def _fetch(self, query: sa.Select[Any]) -> list[UsageRow]:
        async with self._engine.connect() as conn:
            return [_row(row) for row in await conn.execute(query)]

    async def usage(self, tenant_id: str, through: str) -> list[UsageRow]:
        table = self._aggregates
        return await self._fetch(self._rows(table.c.tenant_id == tenant_id, table.c.period <= through))

    async def usage_before(self, tenant_id: str, period: str) -> list[UsageRow]:
        table = self._aggregates
        return await self._fetch(self._rows(table.c.tenant_id == tenant_id, table.c.period < period))

    def period_rows_json(self, tenant_id: SqlText, period: SqlText) -> sa.ScalarSelect[Any]:
        """The period's rows as one JSON array of [site, category, quantity text, events, last
        change] (read with ``rows_from_json``), for statements that want one row back."""
        table = self._aggregates
        line = sa.func.json_build_array(
            table.c.site_id,
            table.c.category,
            sa.cast(table.c.quantity, sa.Text),
            table.c.events,
            table.c.last_change,
        )
        return (
            sa.select(sa.func.coalesce(sa.cast(sa.func.json_agg(line), sa.Text), "[]"))
            .where(table.c.tenant_id == tenant_id, table.c.period == period)
            .scalar_subquery()
        )

    async def mark_before(self, tenant_id: str, period: str) -> UsageMark:
        async with self._engine.connect() as conn:
            return mark_of((await conn.execute(self.mark_query(tenant_id, period))).one())

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
