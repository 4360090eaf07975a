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
class DashboardSnapshot:
    tenant_id: str
    period: str
    computed_at: datetime
    revision: int
    body: dict[str, Any]


@dataclass(frozen=True)
class OutboxMessage:
    topic: str
    key: str
    event: dict[str, Any]
