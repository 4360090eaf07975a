"""The reads of one dashboard refresh or view, made on one pooled connection.

Each checkout of a pooled connection costs a liveness check (three round trips) and about a
millisecond of CPU, and each statement a round trip; on a busy host round trips are most of a
refresh's time. A refresh and a view therefore each read everything they need in one statement,
in autocommit. The statements are built from the readers' own queries, so each table
keeps one definition of how it is read.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from rating.autocommit import Connector
from rating.ingest_usage import IngestUsageReader, mark_of, rows_from_json
from rating.issued_invoices import IssuedInvoiceReader
from rating.ports import PeriodUsage, RefreshInputs, ViewInputs
from rating.records import RatingBasis, StoredFigure
from rating.sql_store import closed_query, snapshot_query, state_of, tenant_query
from rating.sql_values import SqlText


class SqlDashboardReads:
    def __init__(self, connector: Connector, usage: IngestUsageReader, issued: IssuedInvoiceReader) -> None:
        """``connector`` must give autocommit connections (``single_statements`` or a held one)."""
        self._engine = connector
        self._usage = usage
        self._issued = issued
        # Built once with bind parameters: building and keying them again cost more CPU per
        # request than the rest of a view.
        tenant, period = sa.bindparam("tenant_id", type_=sa.Text), sa.bindparam("period", type_=sa.Text)
        self._refresh = self.refresh_query(tenant, period)
        self._view = self.view_query(tenant, period)

    def refresh_query(self, tenant_id: SqlText, period: SqlText) -> sa.Select[Any]:
        """Everything a refresh reads as one row: the earlier mark's row, the tenant's head joined to
        it (NULLs without one), whether the period is closed, the issued count and the period's rows."""
        mark = self._usage.mark_query(tenant_id, period).subquery("mark")
        head = tenant_query(tenant_id).subquery("head")
        return sa.select(
            head,
            mark.c.aggregates,
            mark.c.changes,
            closed_query(tenant_id, period).exists().label("closed"),
            self._issued.count_query(tenant_id).scalar_subquery().label("issued"),
            self._usage.period_rows_json(tenant_id, period).label("usage_rows"),
        ).select_from(mark.outerjoin(head, sa.true()))

    async def refresh_inputs(self, tenant_id: str, period: str) -> RefreshInputs:
        async with self._engine.connect() as conn:
            row = (await conn.execute(self._refresh, {"tenant_id": tenant_id, "period": period})).one()
        return RefreshInputs(
            state=state_of([row]),
            closed=bool(row.closed),
            usage=PeriodUsage(rows_from_json(row.usage_rows, period), mark_of(row)),
            issued_invoices=int(row.issued),
        )

    def view_query(self, tenant_id: SqlText, period: SqlText) -> sa.Select[Any]:
        """What a view reads as one row: the earlier mark's row with the tenant's head and the stored
        snapshot joined to it (NULLs where there is none) and the issued count. The snapshot's body
        comes as PostgreSQL's text of it, to be answered without being decoded."""
        mark = self._usage.mark_query(tenant_id, period).subquery("mark")
        head = tenant_query(tenant_id).subquery("head")
        snapshot = snapshot_query(tenant_id, period).subquery("snapshot")
        return sa.select(
            head,
            snapshot.c.revision.label("snapshot_revision"),
            sa.cast(snapshot.c.body, sa.Text).label("body_json"),
            snapshot.c.basis,
            mark.c.aggregates,
            mark.c.changes,
            self._issued.count_query(tenant_id).scalar_subquery().label("issued"),
        ).select_from(mark.outerjoin(head, sa.true()).outerjoin(snapshot, sa.true()))

    async def view_inputs(self, tenant_id: str, period: str) -> ViewInputs:
        async with self._engine.connect() as conn:
            row = (await conn.execute(self._view, {"tenant_id": tenant_id, "period": period})).one()
        snapshot = None
        if row.body_json is not None:
            basis = RatingBasis.from_data(row.basis) if row.basis is not None else None
            snapshot = StoredFigure(row.snapshot_revision, basis, row.body_json)
        return ViewInputs(
            state=state_of([row]), snapshot=snapshot, basis=RatingBasis(int(row.issued), mark_of(row))
        )
