"""The ports the rating service depends on: its own store and the usage it reads."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from billing_core import Invoice
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


@dataclass(frozen=True)
class UsageRow:
    """Usage of one (site, category, period) of a tenant, as ingest aggregated it."""

    site_id: str
    category: str
    period: str
    quantity: Decimal
    events: int
    last_change: int = 0
    """Sequence value of the row's last update (see UsageMark)."""


def usage_mark(rows: list[UsageRow]) -> UsageMark:
    return UsageMark(len(rows), sum(row.last_change for row in rows))


def high_water_of(rows: list[UsageRow]) -> dict[str, Any]:
    """What a period's aggregates have seen: the same figures as ``UsageReader.high_water``."""
    return {
        "last_change": max((row.last_change for row in rows), default=0),
        "event_count": sum(row.events for row in rows),
        "aggregates": len(rows),
    }


@dataclass(frozen=True)
class PeriodUsage:
    """One period's aggregates and the mark of every earlier period's, read in one statement."""

    rows: list[UsageRow]
    earlier: UsageMark


class UsageReader(Protocol):
    async def usage(self, tenant_id: str, through: str) -> list[UsageRow]:
        """Every aggregate of the tenant for periods up to and including ``through``."""
        ...

    async def usage_before(self, tenant_id: str, period: str) -> list[UsageRow]:
        """Every aggregate of the tenant for periods before ``period``."""
        ...

    async def high_water(self, tenant_id: str, period: str) -> dict[str, Any]:
        """What the aggregates of one tenant-period have seen so far (for period close)."""
        ...


class IssuedInvoices(Protocol):
    async def issued(self, tenant_id: str) -> list[Invoice]:
        """The tenant's issued invoices (not credit notes), in period order."""
        ...


class TenantTransaction(Protocol):
    """Changes to one tenant, made while holding that tenant's lock; all or nothing."""

    async def state(self) -> TenantState | None: ...

    async def closed_periods(self) -> list[str]: ...

    async def append_revision(self, revision: ConfigRevision) -> None:
        """Append to the history and move the tenant's head to this revision."""
        ...

    async def record_close(self, closed: ClosedPeriod) -> None: ...

    async def enqueue(self, message: OutboxMessage) -> None: ...


class RatingStore(Protocol):
    def tenant_transaction(self, tenant_id: str) -> AbstractAsyncContextManager[TenantTransaction]: ...

    async def tenant(self, tenant_id: str) -> TenantState | None: ...

    async def tenants(self) -> list[TenantState]: ...

    async def revisions(self, tenant_id: str) -> list[ConfigRevision]: ...

    async def closed_periods(self, tenant_id: str) -> list[str]: ...

    async def closed_period(self, tenant_id: str, period: str) -> ClosedPeriod | None: ...

    async def save_snapshots(
        self, snapshots: list[DashboardSnapshot], offsets: dict[tuple[str, int], int], group_id: str
    ) -> None:
        """Store snapshots and the consumer offsets that led to them in one transaction."""
        ...

    async def snapshot(self, tenant_id: str, period: str) -> DashboardSnapshot | None: ...

    async def consumer_offsets(self, group_id: str) -> dict[tuple[str, int], int]: ...


@dataclass(frozen=True)
class RefreshInputs:
    """What a dashboard refresh reads of one tenant-period. ``issued_invoices`` is the count of the
    tenant's issued invoices: they never change once issued, so the count identifies the list."""

    state: TenantState | None
    closed: bool
    usage: PeriodUsage
    issued_invoices: int


@dataclass(frozen=True)
class ViewInputs:
    """What a dashboard view reads to tell whether the stored snapshot still holds."""

    state: TenantState | None
    snapshot: StoredFigure | None
    basis: RatingBasis


class DashboardReads(Protocol):
    """The reads of one refresh or view, together (one connection in SQL)."""

    async def refresh_inputs(self, tenant_id: str, period: str) -> RefreshInputs: ...

    async def view_inputs(self, tenant_id: str, period: str) -> ViewInputs: ...
