"""The rating store on PostgreSQL (SQLAlchemy Core, asyncpg).

Changes to one tenant are serialised by a transaction-scoped advisory lock on the tenant,
taken before its head row is read, so two concurrent changes to one site both land, one
after the other, each seeing the other's result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rating import tables as t
from rating.autocommit import Connector, single_statements
from rating.records import (
    ClosedPeriod,
    ConfigRevision,
    DashboardSnapshot,
    OutboxMessage,
    RatingBasis,
    TenantSettings,
    TenantState,
)
from rating.sql_values import SqlText


def _state(row: Any) -> TenantState:
    return TenantState(
        tenant_id=row.tenant_id,
        revision=row.revision,
        contract=row.contract,
        settings=TenantSettings.from_data(row.settings),
        onboarded_at=row.onboarded_at,
    )


def state_of(rows: Sequence[Any]) -> TenantState | None:
    """The head from a tenants query's rows, or from a row outer-joined to one (NULLs: none)."""
    return _state(rows[0]) if rows and rows[0].tenant_id is not None else None


def tenant_query(tenant_id: SqlText) -> sa.Select[Any]:
    return sa.select(t.tenants).where(t.tenants.c.tenant_id == tenant_id)


def snapshot_query(tenant_id: SqlText, period: SqlText) -> sa.Select[Any]:
    table = t.dashboard_snapshots
    return sa.select(table).where(table.c.tenant_id == tenant_id, table.c.period == period)


def snapshot_from(
    tenant_id: str, period: str, computed_at: datetime, revision: int, body: Any, basis: Any
) -> DashboardSnapshot:
    """A stored snapshot from its columns (``basis`` as stored: JSON data or NULL)."""
    known = RatingBasis.from_data(basis) if basis is not None else None
    return DashboardSnapshot(tenant_id, period, computed_at, revision, body, known)


def snapshot_of(rows: Sequence[Any]) -> DashboardSnapshot | None:
    if not rows:
        return None
    row = rows[0]
    return snapshot_from(row.tenant_id, row.period, row.computed_at, row.revision, row.body, row.basis)


def closed_query(tenant_id: SqlText, period: SqlText) -> sa.Select[Any]:
    table = t.closed_periods
    return sa.select(table).where(table.c.tenant_id == tenant_id, table.c.period == period)


def _closed(row: Any) -> ClosedPeriod:
    return ClosedPeriod(
        tenant_id=row.tenant_id,
        period=row.period,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        revision=row.revision,
        contract=row.contract,
        settings=TenantSettings.from_data(row.settings),
        high_water=row.high_water,
    )


class SqlTenantTransaction:
    def __init__(self, conn: AsyncConnection, tenant_id: str) -> None:
        self._conn = conn
        self._tenant_id = tenant_id

    async def state(self) -> TenantState | None:
        row = (
            await self._conn.execute(sa.select(t.tenants).where(t.tenants.c.tenant_id == self._tenant_id))
        ).first()
        return _state(row) if row else None

    async def closed_periods(self) -> list[str]:
        query = sa.select(t.closed_periods.c.period).where(t.closed_periods.c.tenant_id == self._tenant_id)
        return sorted((await self._conn.execute(query)).scalars())

    async def append_revision(self, revision: ConfigRevision) -> None:
        await self._conn.execute(
            t.config_revisions.insert().values(
                tenant_id=revision.tenant_id,
                revision=revision.revision,
                kind=revision.kind,
                actor=revision.actor,
                reason=revision.reason,
                recorded_at=revision.recorded_at,
                site_id=revision.site_id,
                effective_from=revision.effective_from,
                contract=revision.contract,
                settings=revision.settings.to_data(),
                changes=revision.changes,
            )
        )
        onboarded = revision.recorded_at if revision.contract is not None else None
        head = insert(t.tenants).values(
            tenant_id=revision.tenant_id,
            revision=revision.revision,
            contract=revision.contract,
            settings=revision.settings.to_data(),
            onboarded_at=onboarded,
            updated_at=revision.recorded_at,
        )
        await self._conn.execute(
            head.on_conflict_do_update(
                index_elements=[t.tenants.c.tenant_id],
                set_={
                    "revision": head.excluded.revision,
                    "contract": head.excluded.contract,
                    "settings": head.excluded.settings,
                    "onboarded_at": sa.func.coalesce(t.tenants.c.onboarded_at, head.excluded.onboarded_at),
                    "updated_at": head.excluded.updated_at,
                },
            )
        )

    async def record_close(self, closed: ClosedPeriod) -> None:
        await self._conn.execute(
            t.closed_periods.insert().values(
                tenant_id=closed.tenant_id,
                period=closed.period,
                closed_at=closed.closed_at,
                closed_by=closed.closed_by,
                revision=closed.revision,
                contract=closed.contract,
                settings=closed.settings.to_data(),
                high_water=closed.high_water,
            )
        )

    async def enqueue(self, message: OutboxMessage) -> None:
        await self._conn.execute(
            t.outbox.insert().values(
                topic=message.topic, key=message.key, event=message.event, created_at=sa.func.now()
            )
        )


class SqlRatingStore:
    def __init__(self, engine: AsyncEngine, single: Connector | None = None) -> None:
        """``single`` runs the single-statement reads and writes (default: the engine in autocommit)."""
        self._engine = engine
        self._single: Connector = single if single is not None else single_statements(engine)

    @asynccontextmanager
    async def tenant_transaction(self, tenant_id: str) -> AsyncIterator[SqlTenantTransaction]:
        async with self._engine.begin() as conn:
            schema = (await conn.execute(sa.text("SELECT current_schema()"))).scalar_one()
            await conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": f"{schema}/tenant/{tenant_id}"},
            )
            yield SqlTenantTransaction(conn, tenant_id)

    async def _all(self, query: Any) -> list[Any]:
        async with self._single.connect() as conn:
            return list((await conn.execute(query)).all())

    async def tenant(self, tenant_id: str) -> TenantState | None:
        return state_of(await self._all(tenant_query(tenant_id)))

    async def tenants(self) -> list[TenantState]:
        return [_state(row) for row in await self._all(sa.select(t.tenants).order_by(t.tenants.c.tenant_id))]

    async def revisions(self, tenant_id: str) -> list[ConfigRevision]:
        query = (
            sa.select(t.config_revisions)
            .where(t.config_revisions.c.tenant_id == tenant_id)
            .order_by(t.config_revisions.c.revision)
        )
        return [
            ConfigRevision(
                tenant_id=row.tenant_id,
                revision=row.revision,
                kind=row.kind,
                actor=row.actor,
                reason=row.reason,
                recorded_at=row.recorded_at,
                contract=row.contract,
                settings=TenantSettings.from_data(row.settings),
                changes=row.changes,
                site_id=row.site_id,
                effective_from=row.effective_from,
            )
            for row in await self._all(query)
        ]

    async def closed_periods(self, tenant_id: str) -> list[str]:
        query = sa.select(t.closed_periods.c.period).where(t.closed_periods.c.tenant_id == tenant_id)
        return sorted(row.period for row in await self._all(query))

    async def closed_period(self, tenant_id: str, period: str) -> ClosedPeriod | None:
        rows = await self._all(closed_query(tenant_id, period))
        return _closed(rows[0]) if rows else None

    async def save_snapshots(
        self, snapshots: list[DashboardSnapshot], offsets: dict[tuple[str, int], int], group_id: str
    ) -> None:
        # One statement (the snapshots' upsert a CTE of the offsets' one) is atomic on its own.
        statements: list[Any] = []
        if snapshots:
            rows = [
                {
                    "tenant_id": s.tenant_id,
                    "period": s.period,
                    "computed_at": s.computed_at,
                    "revision": s.revision,
                    "body": s.body,
                    "basis": s.basis.to_data() if s.basis is not None else None,
                }
                for s in snapshots
            ]
            upsert = insert(t.dashboard_snapshots).values(rows)
            statements.append(
                upsert.on_conflict_do_update(
                    index_elements=[t.dashboard_snapshots.c.tenant_id, t.dashboard_snapshots.c.period],
                    set_={
                        "computed_at": upsert.excluded.computed_at,
                        "revision": upsert.excluded.revision,
                        "body": upsert.excluded.body,
                        "basis": upsert.excluded.basis,
                    },
                    # a slower, older computation never replaces a newer figure
                    where=t.dashboard_snapshots.c.computed_at <= upsert.excluded.computed_at,
                )
            )
        if offsets:
            rows = [
                {"group_id": group_id, "topic": topic, "partition": partition, "next_offset": offset}
                for (topic, partition), offset in offsets.items()
            ]
            upsert = insert(t.consumer_offsets).values(rows)
            statements.append(
                upsert.on_conflict_do_update(
                    index_elements=[
                        t.consumer_offsets.c.group_id,
                        t.consumer_offsets.c.topic,
                        t.consumer_offsets.c.partition,
                    ],
                    set_={"next_offset": upsert.excluded.next_offset},
                )
            )
        if not statements:
            return
        statement = statements[-1]
        if len(statements) == 2:
            statement = statement.add_cte(statements[0].cte("saved_snapshots"))
        async with self._single.connect() as conn:
            await conn.execute(statement)

    async def snapshot(self, tenant_id: str, period: str) -> DashboardSnapshot | None:
        return snapshot_of(await self._all(snapshot_query(tenant_id, period)))

    async def consumer_offsets(self, group_id: str) -> dict[tuple[str, int], int]:
        query = sa.select(t.consumer_offsets).where(t.consumer_offsets.c.group_id == group_id)
        return {(row.topic, row.partition): row.next_offset for row in await self._all(query)}
