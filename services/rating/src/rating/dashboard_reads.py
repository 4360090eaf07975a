"""The reads of one dashboard refresh or view, made on one pooled connection.

Each checkout of a pooled connection costs a liveness round trip (with a transaction of its own)
and about a millisecond of CPU; a refresh or view needs four small statements, so running them on
one connection, in autocommit, costs a quarter of the checkouts. The statements are the readers'
own, so each table keeps one definition of how it is read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rating.autocommit import single_statements
from rating.ingest_usage import IngestUsageReader, mark_of, period_usage_of
from rating.issued_invoices import IssuedInvoiceReader
from rating.ports import RefreshInputs, ViewInputs
from rating.records import RatingBasis
from rating.sql_store import closed_query, snapshot_of, snapshot_query, state_of, tenant_query


async def _all(conn: AsyncConnection, query: Any) -> list[Any]:
    return list((await conn.execute(query)).all())


class SqlDashboardReads:
    def __init__(self, engine: AsyncEngine, usage: IngestUsageReader, issued: IssuedInvoiceReader) -> None:
        self._engine = single_statements(engine)
        self._usage = usage
        self._issued = issued

    async def refresh_inputs(self, tenant_id: str, period: str) -> RefreshInputs:
        async with self._engine.connect() as conn:
            return RefreshInputs(
                state=state_of(await _all(conn, tenant_query(tenant_id))),
                closed=bool(await _all(conn, closed_query(tenant_id, period))),
                usage=period_usage_of(await _all(conn, self._usage.period_usage_query(tenant_id, period))),
                issued_invoices=int((await conn.execute(self._issued.count_query(tenant_id))).scalar_one()),
            )

    async def view_inputs(self, tenant_id: str, period: str) -> ViewInputs:
        async with self._engine.connect() as conn:
            return ViewInputs(
                state=state_of(await _all(conn, tenant_query(tenant_id))),
                snapshot=snapshot_of(await _all(conn, snapshot_query(tenant_id, period))),
                basis=RatingBasis(
                    int((await conn.execute(self._issued.count_query(tenant_id))).scalar_one()),
                    mark_of((await conn.execute(self._usage.mark_query(tenant_id, period))).one()),
                ),
            )
