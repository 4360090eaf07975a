"""The columns of ingest's tables that invoicing reads (read-only; ingest's migrations own them)."""

from __future__ import annotations

import sqlalchemy as sa


def usage_aggregates(schema: str) -> sa.TableClause:
    """One row per tenant, period, site and category: running totals and the sequence value of the
    last change (``last_change``), updated in place."""
    return sa.table(
        "usage_aggregates",
        sa.column("tenant_id"),
        sa.column("period"),
        sa.column("site_id"),
        sa.column("category"),
        sa.column("quantity", sa.Numeric),
        sa.column("events", sa.BigInteger),
        sa.column("last_change", sa.BigInteger),
        schema=schema,
    )


def raw_events(schema: str) -> sa.TableClause:
    """Every distinct event, append-only, partitioned by event time; ``received_at`` is the start of
    the ingest transaction that stored it."""
    return sa.table(
        "raw_events",
        sa.column("tenant_id"),
        sa.column("site_id"),
        sa.column("category"),
        sa.column("quantity", sa.Numeric),
        sa.column("event_time", sa.DateTime(timezone=True)),
        sa.column("received_at", sa.DateTime(timezone=True)),
        schema=schema,
    )
