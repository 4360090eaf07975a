"""Drafting and issuing the invoice of one closed tenant-period.

The tenant's invoicing lock (a PostgreSQL advisory lock, held by the issuing connection across its
transactions) keeps the tenant's invoices and credit notes in order; the number counter, shared by
every tenant of the environment, is locked only briefly:

1. one transaction reads the frozen contract, the usage and the ledger, rates through billing_core,
   and only then takes the next number (locking the counter row) and stores the numbered draft with
   its invoice.drafted.v1 event (outbox) — the counter row is held for the number and two inserts;
2. the issued JSON and PDF are rendered outside any transaction, in a worker thread;
3. a second transaction marks the draft issued with those bytes and resolves any recorded failure.

A number is never lost: it belongs to the committed draft from step 1, and a draft left behind by a
crash between steps is finished (steps 2–3) by the next attempt for that tenant, before anything else
of the tenant is rated, so the ledger always holds every numbered invoice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from billing_core import (
    Invoice,
    Period,
    invoice_from_data,
    invoice_to_data,
    parse_contract,
    rate_invoice,
)
from invoice.crediting import finish_credit_note
from invoice.documents import Renderer, render_document
from invoice.drafted_event import drafted_event
from invoice.drafts import DraftFacts, store_numbered_draft
from invoice.failures import FailureLog, resolve_failure
from invoice.inputs import InvoiceInputs
from invoice.ledger_rebuild import load_invoice_json as load_invoice_json
from invoice.ledger_rebuild import rebuild_ledger
from invoice.records import StoredInvoice
from invoice.settings import InvoiceSettings
from invoice.store import (
    drafts_of,
    enqueue,
    find_invoice,
    get_document,
    mark_issued,
    tenant_session_lock,
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
        *,
        renderer: Renderer = render_document,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._inputs = inputs
        self._clock = clock
        self._failures = failures
        self._renderer = renderer

    async def invoice_period(self, tenant_id: str, period: str) -> IssueOutcome:
        """Issue the invoice of a closed period, or return the one already issued (idempotent)."""
        rated_period = Period.parse(period)
        async with self._engine.connect() as conn, tenant_session_lock(conn, tenant_id):
            async with conn.begin():
                drafts = await drafts_of(conn, tenant_id, "invoice")
                credit_drafts = await drafts_of(conn, tenant_id, "credit_note")
            # Numbered by attempts that stopped before issuing: issued first, so the ledger has them.
            for left in drafts:
                await self._issue(conn, left, invoice_from_data(load_invoice_json(left.json_body)))
            for left in credit_drafts:
                await finish_credit_note(conn, left, self._settings, self._clock, self._renderer)
            async with conn.begin():
                existing = await find_invoice(conn, tenant_id, period)
                if existing is not None:
                    return IssueOutcome(existing, created=False)
                draft, invoice = await self._draft(conn, tenant_id, rated_period)
            issued = await self._issue(conn, draft, invoice)
        logger.info(
            "issued invoice %s for %s %s, total %s %s",
            issued.number,
            tenant_id,
            period,
            issued.total,
            issued.currency,
        )
        return IssueOutcome(issued, created=True)

    async def _draft(
        self, conn: AsyncConnection, tenant_id: str, period: Period
    ) -> tuple[StoredInvoice, Invoice]:
        """Rate, then number and store the draft; the counter row is locked from the number on."""
        contract = parse_contract(
            dict(await self._inputs.frozen_contract(conn, tenant_id, str(period))),
            source=f"frozen configuration of {tenant_id} {period}",
        )
        usage = await self._inputs.usage(conn, tenant_id, closed=str(period))
        ledger = await rebuild_ledger(conn, tenant_id)
        now = self._clock()
        issue_date = now.date()
        due_date = issue_date + timedelta(days=self._settings.payment_days)
        rated = rate_invoice(
            contract, period, usage, ledger, status="draft", issue_date=issue_date, due_date=due_date
        )
        data = invoice_to_data(rated)

        facts = DraftFacts(
            "invoice", tenant_id, str(period), rated.currency, rated.total, None, issue_date, due_date, now
        )
        draft = await store_numbered_draft(conn, self._settings.environment, data, facts)
        await enqueue(conn, topic=DRAFTED_TOPIC, key=tenant_id, event=drafted_event(data, now), now=now)
        return draft, dataclasses.replace(rated, number=draft.number)

    async def _issue(self, conn: AsyncConnection, draft: StoredInvoice, invoice: Invoice) -> StoredInvoice:
        """Render the issued documents with no lock but the tenant's, then store them in one short
        transaction that also resolves a failure recorded for the period."""
        issued_data = invoice_to_data(dataclasses.replace(invoice, status="issued"))
        document = await asyncio.to_thread(
            self._renderer,
            issued_data,
            self._settings,
            issue_date=draft.issue_date,
            due_date=draft.due_date,
        )
        now = self._clock()
        async with conn.begin():
            await mark_issued(
                conn,
                draft.number,
                json_body=document.json_body,
                json_sha256=document.json_sha256,
                pdf_body=document.pdf_body,
                pdf_sha256=document.pdf_sha256,
                issued_at=now,
            )
            settled = await resolve_failure(conn, draft.tenant_id, draft.period, draft.number, now)
            issued = await get_document(conn, draft.number)
        if issued is None:
            raise LookupError(f"invoice {draft.number} vanished after it was issued")
        if settled and self._failures is not None:
            await self._failures.refresh()
        return issued
