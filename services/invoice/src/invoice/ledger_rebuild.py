"""The tenant's billing ledger rebuilt from its stored issued documents.

Invoices are recorded in period order, then credit notes: a credit note only lowers the
billed-to-date of the contract years its amounts belong to, so its place in the order does
not change the result, but leaving it out would let later invoices bill against a cap as if
the credited amounts were still owed.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from billing_core import (
    BillingLedger,
    credit_note_from_data,
    invoice_from_data,
    record_credit_note,
    record_invoice,
)
from invoice.store import issued_credit_notes, issued_invoices


def load_invoice_json(body: bytes) -> dict[str, Any]:
    """A stored document's JSON with exact decimals (never through float)."""
    data = json.loads(body, parse_float=Decimal)
    if not isinstance(data, dict):
        raise ValueError("stored invoice JSON is not an object")
    return data


async def rebuild_ledger(conn: AsyncConnection, tenant_id: str) -> BillingLedger:
    ledger = BillingLedger()
    for stored in await issued_invoices(conn, tenant_id):
        ledger = record_invoice(ledger, invoice_from_data(load_invoice_json(stored.json_body)))
    for stored in await issued_credit_notes(conn, tenant_id):
        ledger = record_credit_note(ledger, credit_note_from_data(load_invoice_json(stored.json_body)))
    return ledger
