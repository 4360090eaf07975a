"""Columns of one service's tables that another service reads, read-only, in the same database.

Each is defined once here rather than mirrored in every reader; the owning service's migrations stay
the only source of the schema. The schema name is a parameter because tests prefix it per run.
"""

from __future__ import annotations

import sqlalchemy as sa


def usage_aggregates(ingest_schema: str) -> sa.TableClause:
    """Ingest's running totals, one row per tenant, period, site and category, updated in place;
    ``last_change`` is the sequence value of the row's last update."""
    return sa.table(
        "usage_aggregates",
        sa.column("tenant_id"),
        sa.column("period"),
        sa.column("site_id"),
        sa.column("category"),
        sa.column("quantity", sa.Numeric),
        sa.column("events", sa.BigInteger),
        sa.column("last_change", sa.BigInteger),
        schema=ingest_schema,
    )


def raw_events(ingest_schema: str) -> sa.TableClause:
    """Ingest's distinct events, append-only, partitioned by event time; ``received_at`` is the start
    of the ingest transaction that stored the event."""
    return sa.table(
        "raw_events",
        sa.column("tenant_id"),
        sa.column("site_id"),
        sa.column("category"),
        sa.column("quantity", sa.Numeric),
        sa.column("event_time", sa.DateTime(timezone=True)),
        sa.column("received_at", sa.DateTime(timezone=True)),
        schema=ingest_schema,
    )


def invoice_documents(invoice_schema: str) -> sa.TableClause:
    """The invoice service's invoices and credit notes (``kind``); an issued row never changes and
    ``json_body`` holds its canonical JSON."""
    return sa.table(
        "invoices",
        sa.column("tenant_id"),
        sa.column("period"),
        sa.column("kind"),
        sa.column("status"),
        sa.column("json_body", sa.LargeBinary),
        schema=invoice_schema,
    )
