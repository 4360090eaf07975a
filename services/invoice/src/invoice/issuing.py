"""Drafting and issuing the invoice of one closed tenant-period, in one transaction.

The transaction takes a per-tenant lock, allocates the next number from the locked
counter row, rates through billing_core with the ledger rebuilt from the tenant's
issued invoices and credit notes, stores the draft and its invoice.drafted.v1 event
(outbox), then issues it with its JSON and PDF bytes. Either all of it is committed or none.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from billing_core import Period, canonical_json, invoice_to_data, parse_contract, rate_invoice
from invoice.documents import render_document, sha256_hex
from invoice.drafted_event import drafted_event
from invoice.failures import FailureLog, resolve_failure
from invoice.inputs import InvoiceInputs
from invoice.ledger_rebuild import load_invoice_json as load_invoice_json
from invoice.ledger_rebuild import rebuild_ledger
from invoice.numbering import format_number, number_prefix
from invoice.records import StoredInvoice
from invoice.settings import InvoiceSettings
from invoice.store import (
    enqueue,
    find_invoice,
    get_document,
    insert_document,
    lock_tenant,
    mark_issued,
    next_sequence,
)

logger = logging.getLogger(__name__)

DRAFTED_TOPIC = "invoice.drafted.v1"


@dataclass(frozen=True)
class IssueOutcome:
    invoice: StoredInvoice
    created: bool


class InvoiceIssuer:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: InvoiceSettings,
        inputs: InvoiceInputs,
        clock: Callable[[], datetime],
        failures: FailureLog | None = None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._inputs = inputs
        self._clock = clock
        self._failures = failures

    async def invoice_period(self, tenant_id: str, period: str) -> IssueOutcome:
        """Issue the invoice of a closed period, or return the one already issued (idempotent)."""
        rated_period = Period.parse(period)
        async with self._engine.begin() as conn:
            await lock_tenant(conn, tenant_id)
            existing = await find_invoice(conn, tenant_id, period)
            if existing is not None:
                return IssueOutcome(existing, created=False)
            contract = parse_contract(
                dict(await self._inputs.frozen_contract(conn, tenant_id, period)),
                source=f"frozen configuration of {tenant_id} {period}",
            )
            usage = await self._inputs.usage(conn, tenant_id, closed=period)
            ledger = await rebuild_ledger(conn, tenant_id)

            now = self._clock()
            issue_date = now.date()
            due_date = issue_date + timedelta(days=self._settings.payment_days)
            prefix = number_prefix(self._settings.environment)
            number = format_number(
                prefix, issue_date.year, await next_sequence(conn, prefix, issue_date.year)
            )
            draft = rate_invoice(
                contract,
                rated_period,
                usage,
                ledger,
                number=number,
                status="draft",
                issue_date=issue_date,
                due_date=due_date,
            )
            draft_data = invoice_to_data(draft)
            draft_json = canonical_json(draft_data)
            await insert_document(
                conn,
                StoredInvoice(
                    number=number,
                    kind="invoice",
                    tenant_id=tenant_id,
                    period=period,
                    status="draft",
                    currency=draft.currency,
                    total=draft.total,
                    references_number=None,
                    issue_date=issue_date,
                    due_date=due_date,
                    json_body=draft_json,
                    json_sha256=sha256_hex(draft_json),
                    pdf_body=None,
                    pdf_sha256=None,
                    created_at=now,
                    issued_at=None,
                ),
            )
            await enqueue(
                conn, topic=DRAFTED_TOPIC, key=tenant_id, event=drafted_event(draft_data, now), now=now
            )

            issued_data = invoice_to_data(dataclasses.replace(draft, status="issued"))
            document = render_document(issued_data, self._settings, issue_date=issue_date, due_date=due_date)
            await mark_issued(
                conn,
                number,
                json_body=document.json_body,
                json_sha256=document.json_sha256,
                pdf_body=document.pdf_body,
                pdf_sha256=document.pdf_sha256,
                issued_at=now,
            )
            settled = await resolve_failure(conn, tenant_id, period, number, now)
            issued = await get_document(conn, number)
        if settled and self._failures is not None:
            await self._failures.refresh()
        if issued is None:
            raise LookupError(f"invoice {number} vanished after it was issued")
        logger.info(
            "issued invoice %s for %s %s, total %s %s", number, tenant_id, period, draft.total, draft.currency
        )
        return IssueOutcome(issued, created=True)
