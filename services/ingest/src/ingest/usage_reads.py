"""Reads of the usage aggregates for GET /v1/usage."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_core.money import format_quantity

_USAGE = text(
    "SELECT site_id, category, quantity, events FROM usage_aggregates "
    "WHERE tenant_id = :tenant AND period = :period ORDER BY site_id, category"
)


async def tenant_period_usage(engine: AsyncEngine, tenant: str, period: str) -> dict[str, Any]:
    """formats §5: {"tenant", "period", "sites": [{"site", "category", "quantity", "events"}]}."""
    async with engine.connect() as connection:
        rows = (await connection.execute(_USAGE, {"tenant": tenant, "period": period})).all()
    return {
        "tenant": tenant,
        "period": period,
        "sites": [
            {"site": site, "category": category, "quantity": format_quantity(quantity), "events": events}
            for site, category, quantity, events in rows
        ],
    }
