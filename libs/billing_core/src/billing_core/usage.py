"""Usage events and the per-period aggregates that rating consumes.

Aggregation is shared by the offline command, the services and the tests so that
deduplication and period assignment are decided in exactly one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from .money import exact_add, quantity_problem
from .periods import Period, period_of

__all__ = [
    "PeriodUsage",
    "UsageAggregate",
    "UsageByPeriod",
    "UsageEvent",
    "UsageKey",
    "aggregate_events",
    "site_usage",
]


@dataclass(frozen=True)
class UsageEvent:
    """One processed-unit event; ``(source, id)`` identifies it across redeliveries."""

    source: str
    id: str
    time: datetime
    tenant: str
    site: str
    category: str
    quantity: Decimal = Decimal(1)


class UsageKey(NamedTuple):
    site: str
    category: str


@dataclass(frozen=True)
class UsageAggregate:
    """Sum of quantities and count of distinct events for one (site, category) in a period."""

    site: str
    category: str
    quantity: Decimal
    events: int

    @property
    def key(self) -> UsageKey:
        return UsageKey(self.site, self.category)


PeriodUsage = Mapping[UsageKey, UsageAggregate]
"""A tenant's usage in one period."""

UsageByPeriod = Mapping[Period, PeriodUsage]
"""A tenant's usage in every period known so far."""


def aggregate_events(
    events: Iterable[UsageEvent], timezone: str, tenant: str | None = None
) -> dict[Period, dict[UsageKey, UsageAggregate]]:
    """Aggregate events per period (in the tenant's zone) and (site, category).

    Duplicates by (source, id) count once; the first occurrence is kept, so redeliveries of
    the same event never change a result. When ``tenant`` is given, other tenants' events
    are skipped (the caller reports them). A bad quantity or naive time raises ValueError
    naming the event.
    """
    seen: set[tuple[str, str]] = set()
    sums: dict[Period, dict[UsageKey, tuple[Decimal, int]]] = {}
    for event in events:
        if tenant is not None and event.tenant != tenant:
            continue
        identity = (event.source, event.id)
        if identity in seen:
            continue
        problem = quantity_problem(event.quantity)
        if problem is not None:
            raise ValueError(f"event {event.source} {event.id}: {problem}")
        try:
            period = period_of(event.time, timezone)
        except ValueError as exc:
            raise ValueError(f"event {event.source} {event.id}: {exc}") from None
        seen.add(identity)
        bucket = sums.setdefault(period, {})
        key = UsageKey(event.site, event.category)
        quantity, count = bucket.get(key, (Decimal(0), 0))
        bucket[key] = (exact_add(quantity, event.quantity), count + 1)
    return {
        period: {
            key: UsageAggregate(key.site, key.category, quantity, count)
            for key, (quantity, count) in sorted(bucket.items())
        }
        for period, bucket in sorted(sums.items())
    }


def site_usage(usage: PeriodUsage, site: str) -> dict[str, UsageAggregate]:
    """One site's aggregates of a period, by category."""
    return {key.category: aggregate for key, aggregate in usage.items() if key.site == site}
