"""Numbering a computed invoice or credit note and storing it as a draft: the only place the number
counter is locked.

The counter row stays locked from ``next_sequence`` to the end of the caller's transaction, so the
caller computes everything before and commits right after (a few inserts): the number is written
into the JSON with its checksum here, and the PDF is rendered only once the draft is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from billing_core import canonical_json, invoice_checksum
from invoice.documents import sha256_hex
from invoice.numbering import format_number, number_prefix
from invoice.records import StoredInvoice
from invoice.store import insert_document, next_sequence


@dataclass(frozen=True)
class DraftFacts:
    """What the stored row says besides the number and the bytes."""

    kind: str
    tenant_id: str
    period: str
    currency: str
    total: Decimal
    references_number: str | None
    issue_date: date
    due_date: date
    created_at: datetime


async def store_numbered_draft(
    conn: AsyncConnection, environment: str, data: dict[str, Any], facts: DraftFacts
) -> StoredInvoice:
    """Take the next number of the issue year's series, write it (and the checksum) into ``data``
    and insert the draft row."""
    prefix = number_prefix(environment)
    year = facts.issue_date.year
    number = format_number(prefix, year, await next_sequence(conn, prefix, year))
    data["number"] = number
    data["verification"]["checksum"] = invoice_checksum(data)
    body = canonical_json(data)
    draft = StoredInvoice(
        number=number,
        kind=facts.kind,
        tenant_id=facts.tenant_id,
        period=facts.period,
        status="draft",
        currency=facts.currency,
        total=facts.total,
        references_number=facts.references_number,
        issue_date=facts.issue_date,
        due_date=facts.due_date,
        json_body=body,
        json_sha256=sha256_hex(body),
        pdf_body=None,
        pdf_sha256=None,
        created_at=facts.created_at,
        issued_at=None,
    )
    await insert_document(conn, draft)
    return draft
