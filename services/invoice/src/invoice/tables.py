"""The invoice schema's tables (SQLAlchemy Core, unqualified names on the service's search path).

An issued row never changes: a trigger (migration 0002_invoices) refuses UPDATE and DELETE of
any row whose status is already 'issued', so the stored JSON and PDF bytes and their
SHA-256 stay what the customer received.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from billing_runtime.outbox import event_outbox_table

metadata = sa.MetaData()

invoices = sa.Table(
    "invoices",
    metadata,
    sa.Column("number", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("period", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("total", sa.Numeric, nullable=False),
    sa.Column("references_number", sa.Text, sa.ForeignKey("invoices.number"), nullable=True),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("json_body", sa.LargeBinary, nullable=False),
    sa.Column("json_sha256", sa.Text, nullable=False),
    sa.Column("pdf_body", sa.LargeBinary, nullable=True),
    sa.Column("pdf_sha256", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('invoice', 'credit_note')", name="invoices_kind"),
    sa.CheckConstraint("status IN ('draft', 'issued')", name="invoices_status"),
    sa.CheckConstraint(
        "status <> 'issued' OR (pdf_body IS NOT NULL AND pdf_sha256 IS NOT NULL AND issued_at IS NOT NULL)",
        name="invoices_issued_complete",
    ),
)
sa.Index(
    "invoices_one_per_tenant_period",
    invoices.c.tenant_id,
    invoices.c.period,
    unique=True,
    postgresql_where=invoices.c.kind == "invoice",
)

invoice_counters = sa.Table(
    "invoice_counters",
    metadata,
    sa.Column("prefix", sa.Text, primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("last_value", sa.BigInteger, nullable=False),
)

outbox = event_outbox_table(metadata, unpublished_index="invoice_outbox_unpublished")

document_audit = sa.Table(
    "document_audit",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("number", sa.Text, sa.ForeignKey("invoices.number"), nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("request", JSONB, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=True),
)
"""Append-only (trigger in migration 0003_credit_note_audit): who issued a credit note and why."""

invoice_failures = sa.Table(
    "invoice_failures",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=True),
    sa.Column("period", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("topic", sa.Text, nullable=True),
    sa.Column("kafka_partition", sa.Integer, nullable=True),
    sa.Column("kafka_offset", sa.BigInteger, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("resolved_by", sa.Text, nullable=True),
)
"""Closed periods (or unreadable close records) that could not be invoiced (migration 0005).

A row stays open until an invoice for its period is issued, which resolves it in the issuing
transaction; resolved rows are kept as history."""
