"""Plain records the service stores and reads back, independent of the storage used."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

DEFAULT_GRACE_HOURS = 72
DEFAULT_RECONCILIATION_THRESHOLD = Decimal("0.00")


@dataclass(frozen=True)
class TenantSettings:
    """Settings a tenant's finance team may change without touching the contract."""

    grace_hours: int = DEFAULT_GRACE_HOURS
    reconciliation_threshold: Decimal = DEFAULT_RECONCILIATION_THRESHOLD

    def to_data(self) -> dict[str, Any]:
        return {
            "grace_hours": self.grace_hours,
            "reconciliation_threshold": str(self.reconciliation_threshold),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TenantSettings:
        return cls(
            grace_hours=int(data.get("grace_hours", DEFAULT_GRACE_HOURS)),
            reconciliation_threshold=Decimal(
                str(data.get("reconciliation_threshold", DEFAULT_RECONCILIATION_THRESHOLD))
            ),
        )


@dataclass(frozen=True)
class TenantState:
    """The head of a tenant's configuration: the latest revision and what it holds."""

    tenant_id: str
    revision: int
    contract: dict[str, Any] | None
    settings: TenantSettings
    onboarded_at: datetime | None = None
    """When the tenant's first contract was loaded; the scheduler closes only later periods."""


@dataclass(frozen=True)
class ConfigRevision:
    """One entry of the append-only configuration history."""

    tenant_id: str
    revision: int
    kind: str
    actor: str
    reason: str
    recorded_at: datetime
    contract: dict[str, Any] | None
    settings: TenantSettings
    changes: list[dict[str, Any]] = field(default_factory=list)
    site_id: str | None = None
    effective_from: date | None = None


@dataclass(frozen=True)
class ClosedPeriod:
    """A period frozen for invoicing, with the configuration used and what usage it saw."""

    tenant_id: str
    period: str
    closed_at: datetime
    closed_by: str
    revision: int
    contract: dict[str, Any]
    settings: TenantSettings
    high_water: dict[str, Any]


@dataclass(frozen=True)
class UsageMark:
    """Identifies one state of a set of usage aggregates: how many rows and the sum of their
    change numbers. Ingest gives every insert or update a fresh, larger value of one sequence,
    so any change to the set (a row added, updated or removed) changes the mark."""

    aggregates: int = 0
    changes: int = 0


@dataclass(frozen=True)
class RatingBasis:
    """Everything a period's running charges rest on besides the contract revision and the
    period's own usage: the tenant's issued invoices (they never change once issued, so their
    count identifies them) and the aggregates of all earlier periods."""

    issued_invoices: int
    earlier_usage: UsageMark

    def to_data(self) -> dict[str, int]:
        return {
            "issued_invoices": self.issued_invoices,
            "earlier_aggregates": self.earlier_usage.aggregates,
            "earlier_changes": self.earlier_usage.changes,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> RatingBasis:
        return cls(
            int(data["issued_invoices"]),
            UsageMark(int(data["earlier_aggregates"]), int(data["earlier_changes"])),
        )


@dataclass(frozen=True)
class DashboardSnapshot:
    tenant_id: str
    period: str
    computed_at: datetime
    revision: int
    body: dict[str, Any]
    basis: RatingBasis | None = None
    """What the figures were computed from; None (stored before bases were kept) means unknown."""


@dataclass(frozen=True)
class StoredFigure:
    """A stored snapshot as a view reads it: what it rests on and its body as the stored JSON text,
    which is answered as it is while the snapshot is current (decoding and re-encoding it cost
    several milliseconds of CPU per view)."""

    revision: int
    basis: RatingBasis | None
    body_json: str


@dataclass(frozen=True)
class OutboxMessage:
    topic: str
    key: str
    event: dict[str, Any]
