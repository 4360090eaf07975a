"""What was already invoiced: the invoice service's issued invoices, as a billing_core ledger.

Running charges carry contract-year billed-to-date and late-usage adjustments exactly as the
next invoice will, so they start from the same ledger the invoice service rebuilds. The
invoices are read, read-only, from the invoice service's ``invoices`` table (kind
``invoice``, status ``issued``, the canonical JSON in ``json_body``) in the same database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_core import BillingLedger, Invoice, Period, invoice_from_data, record_invoice
from billing_runtime.read_models import invoice_documents
from rating.autocommit import single_statements
from rating.sql_values import SqlText


def ledger_before(invoices: Iterable[Invoice], period: Period) -> BillingLedger:
    """The ledger of the issued invoices of periods before ``period``, recorded in period order."""
    ledger = BillingLedger()
    for invoice in sorted(invoices, key=lambda item: item.period):
        if invoice.period < period:
            ledger = record_invoice(ledger, invoice)
    return ledger


class IssuedInvoiceReader:
    def __init__(self, engine: AsyncEngine, invoice_schema: str) -> None:
        self._engine = single_statements(engine)
        self._invoices = invoice_documents(invoice_schema)

    def _issued_of(self, tenant_id: SqlText) -> sa.ColumnElement[bool]:
        table = self._invoices
        return sa.and_(table.c.tenant_id == tenant_id, table.c.kind == "invoice", table.c.status == "issued")

    def count_query(self, tenant_id: SqlText) -> sa.Select[Any]:
        return sa.select(sa.func.count()).select_from(self._invoices).where(self._issued_of(tenant_id))

    async def count(self, tenant_id: str) -> int:
        async with self._engine.connect() as conn:
            return int((await conn.execute(self.count_query(tenant_id))).scalar_one())

    async def issued(self, tenant_id: str) -> list[Invoice]:
        table = self._invoices
        query = sa.select(table.c.json_body).where(self._issued_of(tenant_id)).order_by(table.c.period)
        async with self._engine.connect() as conn:
            bodies = (await conn.execute(query)).scalars().all()
        return [invoice_from_data(json.loads(bytes(body), parse_float=Decimal)) for body in bodies]
