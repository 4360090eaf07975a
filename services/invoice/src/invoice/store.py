"""Reading and writing the invoice schema inside a caller's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from invoice.listing import InvoiceQuery
from invoice.records import StoredInvoice
from invoice.tables import document_audit, invoice_counters, invoices, outbox


def _stored(row: sa.Row[Any]) -> StoredInvoice:
    return StoredInvoice(**dict(row._mapping))


async def next_sequence(conn: AsyncConnection, prefix: str, year: int) -> int:
    """The next number of the series. The counter row stays locked until the transaction ends,
    so concurrent issuers queue behind it and a rolled-back issue leaves no gap: callers take it
    as late in their transaction as they can."""
    statement = (
        insert(invoice_counters)
        .values(prefix=prefix, year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[invoice_counters.c.prefix, invoice_counters.c.year],
            set_={"last_value": invoice_counters.c.last_value + 1},
        )
        .returning(invoice_counters.c.last_value)
    )
    return int((await conn.execute(statement)).scalar_one())


def _tenant_key(tenant_id: str) -> dict[str, str]:
    return {"key": f"invoice:{tenant_id}"}


async def lock_tenant(conn: AsyncConnection, tenant_id: str) -> None:
    """Serialise invoicing per tenant: each invoice depends on the tenant's earlier ones."""
    await conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), _tenant_key(tenant_id))


@asynccontextmanager
async def tenant_session_lock(conn: AsyncConnection, tenant_id: str) -> AsyncIterator[None]:
    """The tenant's invoicing lock (the one ``lock_tenant`` takes) held by this connection across
    several transactions. If it cannot be released cleanly the connection is discarded, which
    releases it, so it never goes back to the pool locked."""
    await conn.execute(sa.text("SELECT pg_advisory_lock(hashtext(:key))"), _tenant_key(tenant_id))
    await conn.commit()
    try:
        yield
    finally:
        try:
            if conn.in_transaction():
                await conn.rollback()
            await conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:key))"), _tenant_key(tenant_id))
            await conn.commit()
        except BaseException:
            await conn.invalidate()
            raise


async def find_invoice(conn: AsyncConnection, tenant_id: str, period: str) -> StoredInvoice | None:
    row = (
        await conn.execute(
            sa.select(invoices).where(
                invoices.c.tenant_id == tenant_id, invoices.c.period == period, invoices.c.kind == "invoice"
            )
        )
    ).first()
    return None if row is None else _stored(row)


async def drafts_of(conn: AsyncConnection, tenant_id: str, kind: str) -> list[StoredInvoice]:
    """The tenant's numbered documents of ``kind`` not issued yet, in period and number order."""
    rows = await conn.execute(
        sa.select(invoices)
        .where(invoices.c.tenant_id == tenant_id, invoices.c.kind == kind, invoices.c.status == "draft")
        .order_by(invoices.c.period, invoices.c.number)
    )
    return [_stored(row) for row in rows]


async def get_document(conn: AsyncConnection, number: str) -> StoredInvoice | None:
    row = (await conn.execute(sa.select(invoices).where(invoices.c.number == number))).first()
    return None if row is None else _stored(row)


async def search_documents(conn: AsyncConnection, query: InvoiceQuery) -> list[StoredInvoice]:
    """Documents matching ``query`` in (period, number) order after its position; ``limit`` 0 means all."""
    statement = sa.select(invoices).where(invoices.c.tenant_id == query.tenant_id)
    if query.period is not None:
        statement = statement.where(invoices.c.period == query.period)
    if query.status is not None:
        statement = statement.where(invoices.c.status == query.status)
    if query.kind is not None:
        statement = statement.where(invoices.c.kind == query.kind)
    if query.number_prefix is not None:
        statement = statement.where(invoices.c.number.startswith(query.number_prefix, autoescape=True))
    if query.after is not None:
        statement = statement.where(
            sa.tuple_(invoices.c.period, invoices.c.number) > (query.after.period, query.after.number)
        )
    statement = statement.order_by(invoices.c.period, invoices.c.number)
    if query.limit:
        statement = statement.limit(query.limit)
    return [_stored(row) for row in await conn.execute(statement)]


async def issued_invoices(conn: AsyncConnection, tenant_id: str) -> list[StoredInvoice]:
    """The tenant's issued invoices in period order: the ledger is rebuilt from them."""
    rows = await conn.execute(
        sa.select(invoices)
        .where(invoices.c.tenant_id == tenant_id, invoices.c.kind == "invoice", invoices.c.status == "issued")
        .order_by(invoices.c.period)
    )
    return [_stored(row) for row in rows]


async def insert_document(conn: AsyncConnection, document: StoredInvoice) -> None:
    await conn.execute(sa.insert(invoices).values(**document.__dict__))


async def mark_issued(
    conn: AsyncConnection,
    number: str,
    *,
    json_body: bytes,
    json_sha256: str,
    pdf_body: bytes,
    pdf_sha256: str,
    issued_at: datetime,
) -> None:
    result = await conn.execute(
        sa.update(invoices)
        .where(invoices.c.number == number, invoices.c.status == "draft")
        .values(
            status="issued",
            json_body=json_body,
            json_sha256=json_sha256,
            pdf_body=pdf_body,
            pdf_sha256=pdf_sha256,
            issued_at=issued_at,
        )
    )
    if result.rowcount != 1:
        raise LookupError(f"invoice {number} is not a draft")


async def enqueue(
    conn: AsyncConnection, *, topic: str, key: str, event: dict[str, Any], now: datetime
) -> None:
    await conn.execute(sa.insert(outbox).values(topic=topic, key=key, event=event, created_at=now))


async def _issued_credit_notes(
    conn: AsyncConnection, condition: sa.ColumnElement[bool]
) -> list[StoredInvoice]:
    rows = await conn.execute(
        sa.select(invoices)
        .where(condition, invoices.c.kind == "credit_note", invoices.c.status == "issued")
        .order_by(invoices.c.issued_at, invoices.c.number)
    )
    return [_stored(row) for row in rows]


async def credit_notes_of(conn: AsyncConnection, invoice_number: str) -> list[StoredInvoice]:
    """An invoice's issued credit notes in the order they were issued."""
    return await _issued_credit_notes(conn, invoices.c.references_number == invoice_number)


async def issued_credit_notes(conn: AsyncConnection, tenant_id: str) -> list[StoredInvoice]:
    """The tenant's issued credit notes: the ledger rebuild counts them after the invoices."""
    return await _issued_credit_notes(conn, invoices.c.tenant_id == tenant_id)


async def insert_audit(
    conn: AsyncConnection,
    *,
    number: str,
    action: str,
    actor: str,
    reason: str,
    request: dict[str, Any],
    at: datetime,
    idempotency_key: str | None = None,
) -> None:
    await conn.execute(
        sa.insert(document_audit).values(
            number=number,
            action=action,
            actor=actor,
            reason=reason,
            request=request,
            at=at,
            idempotency_key=idempotency_key,
        )
    )


async def find_by_idempotency_key(conn: AsyncConnection, action: str, key: str) -> dict[str, Any] | None:
    """The audit entry an earlier request with this key left (number, reason, request), if any."""
    query = sa.select(document_audit.c.number, document_audit.c.reason, document_audit.c.request).where(
        document_audit.c.action == action, document_audit.c.idempotency_key == key
    )
    row = (await conn.execute(query)).first()
    return None if row is None else dict(row._mapping)


async def audit_entries(conn: AsyncConnection, numbers: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Audit entries per document number, oldest first."""
    rows = await conn.execute(
        sa.select(document_audit).where(document_audit.c.number.in_(numbers)).order_by(document_audit.c.id)
    )
    entries: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        entries.setdefault(row.number, []).append(
            {"action": row.action, "actor": row.actor, "reason": row.reason, "at": row.at.isoformat()}
        )
    return entries
