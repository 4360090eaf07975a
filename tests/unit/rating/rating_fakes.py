"""In-memory stand-ins for the rating service's ports, with the same locking contract."""

from __future__ import annotations

import asyncio
import copy
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any

from billing_core import Invoice
from rating.ports import PeriodUsage, RefreshInputs, UsageRow, ViewInputs, high_water_of, usage_mark
from rating.records import (
    ClosedPeriod,
    ConfigRevision,
    DashboardSnapshot,
    OutboxMessage,
    RatingBasis,
    StoredFigure,
    TenantState,
    UsageMark,
)


async def round_trip() -> None:
    """Let other tasks run, as each statement of the real store does while it waits on the
    database: what a transaction has read may meanwhile change unless a lock keeps others out."""
    await asyncio.sleep(0)


class MemoryTransaction:
    def __init__(self, store: MemoryStore, tenant_id: str) -> None:
        self._store = store
        self._tenant_id = tenant_id
        self.revisions: list[ConfigRevision] = []
        self.closes: list[ClosedPeriod] = []
        self.messages: list[OutboxMessage] = []

    async def state(self) -> TenantState | None:
        head = self._store.heads.get(self._tenant_id)
        for revision in self.revisions:
            head = self._store.advance(head, revision)
        await round_trip()
        return head

    async def closed_periods(self) -> list[str]:
        periods = sorted(set(self._store.closed.get(self._tenant_id, {})) | {c.period for c in self.closes})
        await round_trip()
        return periods

    async def append_revision(self, revision: ConfigRevision) -> None:
        self.revisions.append(revision)
        await round_trip()

    async def record_close(self, closed: ClosedPeriod) -> None:
        if closed.period in await self.closed_periods():
            raise RuntimeError(f"period {closed.period} closed twice")
        self.closes.append(closed)
        await round_trip()

    async def enqueue(self, message: OutboxMessage) -> None:
        self.messages.append(message)
        await round_trip()


class MemoryStore:
    def __init__(self) -> None:
        self.heads: dict[str, TenantState] = {}
        self.history: dict[str, list[ConfigRevision]] = defaultdict(list)
        self.closed: dict[str, dict[str, ClosedPeriod]] = defaultdict(dict)
        self.snapshots: dict[tuple[str, str], DashboardSnapshot] = {}
        self.offsets: dict[str, dict[tuple[str, int], int]] = defaultdict(dict)
        self.outbox: list[OutboxMessage] = []
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    @asynccontextmanager
    async def tenant_transaction(self, tenant_id: str) -> AsyncIterator[MemoryTransaction]:
        async with self._locks[tenant_id]:
            tx = MemoryTransaction(self, tenant_id)
            yield tx
            await round_trip()  # the commit
            # as the real store's primary keys, a revision or close already recorded refuses it all
            recorded = {revision.revision for revision in self.history.get(tenant_id, [])}
            twice = recorded & {revision.revision for revision in tx.revisions}
            if twice:
                raise RuntimeError(f"revision {min(twice)} of {tenant_id} recorded twice")
            for closed in tx.closes:
                if closed.period in self.closed.get(tenant_id, {}):
                    raise RuntimeError(f"period {closed.period} of {tenant_id} closed twice")
            for revision in tx.revisions:
                self.history[tenant_id].append(copy.deepcopy(revision))
                self.heads[tenant_id] = self.advance(self.heads.get(tenant_id), revision)
            for closed in tx.closes:
                self.closed[tenant_id][closed.period] = closed
            self.outbox.extend(tx.messages)

    @staticmethod
    def advance(head: TenantState | None, revision: ConfigRevision) -> TenantState:
        onboarded = head.onboarded_at if head and head.onboarded_at else None
        if onboarded is None and revision.contract is not None:
            onboarded = revision.recorded_at
        return TenantState(
            revision.tenant_id,
            revision.revision,
            copy.deepcopy(revision.contract),
            revision.settings,
            onboarded,
        )

    async def tenant(self, tenant_id: str) -> TenantState | None:
        return self.heads.get(tenant_id)

    async def tenants(self) -> list[TenantState]:
        return list(self.heads.values())

    async def revisions(self, tenant_id: str) -> list[ConfigRevision]:
        return list(self.history.get(tenant_id, []))

    async def closed_periods(self, tenant_id: str) -> list[str]:
        return sorted(self.closed.get(tenant_id, {}))

    async def closed_period(self, tenant_id: str, period: str) -> ClosedPeriod | None:
        return self.closed.get(tenant_id, {}).get(period)

    async def save_snapshots(
        self, snapshots: list[DashboardSnapshot], offsets: dict[tuple[str, int], int], group_id: str
    ) -> None:
        for snapshot in snapshots:
            self.snapshots[(snapshot.tenant_id, snapshot.period)] = snapshot
        self.offsets[group_id].update(offsets)

    async def snapshot(self, tenant_id: str, period: str) -> DashboardSnapshot | None:
        return self.snapshots.get((tenant_id, period))

    async def consumer_offsets(self, group_id: str) -> dict[tuple[str, int], int]:
        return dict(self.offsets[group_id])


class MemoryUsage:
    """Usage aggregates as ingest would hold them, keyed by (tenant, site, category, period)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str, str], UsageRow] = {}
        self.changes = 0
        """The sequence every insert or update draws its ``last_change`` from, as ingest's does."""
        self.reads_before = 0
        """How often the aggregates of earlier periods were read row by row."""

    def add(
        self, tenant_id: str, site_id: str, category: str, period: str, quantity: str, events: int = 1
    ) -> None:
        key = (tenant_id, site_id, category, period)
        current = self.rows.get(key)
        self.changes += 1
        if current is None:
            self.rows[key] = UsageRow(site_id, category, period, Decimal(quantity), events, self.changes)
        else:
            self.rows[key] = replace(
                current,
                quantity=current.quantity + Decimal(quantity),
                events=current.events + events,
                last_change=self.changes,
            )

    def _of(self, tenant_id: str) -> list[UsageRow]:
        return [row for (tenant, *_), row in self.rows.items() if tenant == tenant_id]

    async def usage(self, tenant_id: str, through: str) -> list[UsageRow]:
        return [row for row in self._of(tenant_id) if row.period <= through]

    async def usage_before(self, tenant_id: str, period: str) -> list[UsageRow]:
        self.reads_before += 1
        return [row for row in self._of(tenant_id) if row.period < period]

    async def mark_before(self, tenant_id: str, period: str) -> UsageMark:
        return usage_mark([row for row in self._of(tenant_id) if row.period < period])

    async def period_usage(self, tenant_id: str, period: str) -> PeriodUsage:
        return PeriodUsage(
            [row for row in self._of(tenant_id) if row.period == period],
            await self.mark_before(tenant_id, period),
        )

    async def high_water(self, tenant_id: str, period: str) -> dict[str, Any]:
        return high_water_of([row for row in self._of(tenant_id) if row.period == period])


class MemoryIssued:
    """Issued invoices as the invoice service would hold them."""

    def __init__(self) -> None:
        self.invoices: dict[str, list[Invoice]] = defaultdict(list)
        self.reads = 0
        """How often the issued invoices themselves were read."""

    async def issued(self, tenant_id: str) -> list[Invoice]:
        self.reads += 1
        return sorted(self.invoices[tenant_id], key=lambda invoice: invoice.period)

    async def count(self, tenant_id: str) -> int:
        return len(self.invoices[tenant_id])


class MemoryDashboardReads:
    """The dashboard's reads, answered by the fakes above one after the other."""

    def __init__(self, store: MemoryStore, usage: MemoryUsage, issued: MemoryIssued) -> None:
        self._store = store
        self._usage = usage
        self._issued = issued

    async def refresh_inputs(self, tenant_id: str, period: str) -> RefreshInputs:
        return RefreshInputs(
            await self._store.tenant(tenant_id),
            await self._store.closed_period(tenant_id, period) is not None,
            await self._usage.period_usage(tenant_id, period),
            await self._issued.count(tenant_id),
        )

    async def view_inputs(self, tenant_id: str, period: str) -> ViewInputs:
        snapshot = await self._store.snapshot(tenant_id, period)
        stored = None
        if snapshot is not None:
            # Sorted keys, as no freshly computed body is: a view answered from it is told apart.
            text = json.dumps(snapshot.body, sort_keys=True)
            stored = StoredFigure(snapshot.revision, snapshot.basis, text)
        return ViewInputs(
            await self._store.tenant(tenant_id),
            stored,
            RatingBasis(
                await self._issued.count(tenant_id), await self._usage.mark_before(tenant_id, period)
            ),
        )
