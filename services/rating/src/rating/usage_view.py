"""Usage aggregates as billing_core rates them."""

from __future__ import annotations

from collections.abc import Iterable

from billing_core import Period, UsageAggregate, UsageKey
from rating.ports import UsageRow


def usage_by_period(rows: Iterable[UsageRow]) -> dict[Period, dict[UsageKey, UsageAggregate]]:
    result: dict[Period, dict[UsageKey, UsageAggregate]] = {}
    for row in rows:
        key = UsageKey(row.site_id, row.category)
        result.setdefault(Period.parse(row.period), {})[key] = UsageAggregate(
            row.site_id, row.category, row.quantity, row.events
        )
    return result
