"""Issuing a credit note against an issued invoice, in one transaction.

Under the tenant's lock (the same one invoicing takes, so a credit and the next invoice never
interleave) it reads the invoice and its earlier credit notes, rebuilds the ledger, draws the
next number of the invoices' series, lets billing_core compute the credit note, and stores it
issued, with its JSON and PDF bytes, an audit entry naming who asked and why, and its event in
the outbox. A refusal rolls everything back, so no number is used up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from billing_core import (
    CreditLimitError,
    CreditNoteError,
    SiteCredit,
    credit_invoice,
    credit_note_from_data,
    credit_note_to_data,
    invoice_from_data,
)
from invoice.credit_note_event import CREDIT_NOTE_TOPIC, credit_note_issued_event
from invoice.documents import Renderer, render_document
from invoice.drafts import DraftFacts, store_numbered_draft
from invoice.ledger_rebuild import load_invoice_json, rebuild_ledger
from invoice.records import StoredInvoice
from invoice.settings import InvoiceSettings
from invoice.store import (
    audit_entries,
    credit_notes_of,
    drafts_of,
    enqueue,
    find_by_idempotency_key,
    get_document,
    insert_audit,
    mark_issued,
    tenant_session_lock,
)

logger = logging.getLogger(__name__)

CREDIT_NOTE_ISSUED = "credit_note.issued"


class DocumentNotFoundError(LookupError):
    """No invoice carries the number a credit was asked for."""


@dataclass(frozen=True)
class CreditRequest:
    reason: str
    actor: str
    sites: Sequence[SiteCredit] | None = None
    """None credits every site no earlier credit note touched, in full."""
    idempotency_key: str | None = None
    """A client's key for this request: repeating it returns the credit note it issued."""

    def audit_record(self, invoice_number: str) -> dict[str, object]:
        sites = None
        if self.sites is not None:
            sites = [
                {"site": s.site, "amount": None if s.amount is None else str(s.amount)} for s in self.sites
            ]
        return {"invoice": invoice_number, "sites": sites}


@dataclass(frozen=True)
class CreditOutcome:
    credit_note: StoredInvoice
    created: bool
    """False when an earlier request with the same idempotency key issued it."""


class CreditNoteIssuer:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: InvoiceSettings,
        clock: Callable[[], datetime],
        *,
        renderer: Renderer = render_document,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._clock = clock
        self._renderer = renderer

    async def credit(self, invoice_number: str, request: CreditRequest) -> CreditOutcome:
        """Issue a credit note for the invoice; CreditNoteError (or CreditLimitError) says why not."""
        if not request.actor.strip():
            raise CreditNoteError("a credit note needs the name of who asks for it")
        async with self._engine.connect() as conn:
            async with conn.begin():
                target = await get_document(conn, invoice_number)
            if target is None:
                raise DocumentNotFoundError(f"no invoice numbered {invoice_number!r}")
            if target.kind != "invoice":
                raise CreditNoteError(f"{invoice_number} is a credit note; only an invoice can be credited")
            async with tenant_session_lock(conn, target.tenant_id):
                async with conn.begin():
                    left = await drafts_of(conn, target.tenant_id, "credit_note")
                for draft in left:  # numbered by a request that stopped before issuing
                    await finish_credit_note(conn, draft, self._settings, self._clock, self._renderer)
                async with conn.begin():
                    replayed = await self._replayed(conn, invoice_number, request)
                    if replayed is not None:
                        return CreditOutcome(replayed, created=False)
                    draft = await self._draft(conn, invoice_number, request)
                stored = await finish_credit_note(conn, draft, self._settings, self._clock, self._renderer)
        logger.info(
            "issued credit note %s for invoice %s (%s %s), asked by %s",
            stored.number,
            invoice_number,
            stored.total,
            stored.currency,
            request.actor,
        )
        return CreditOutcome(stored, created=True)

    async def _draft(
        self, conn: AsyncConnection, invoice_number: str, request: CreditRequest
    ) -> StoredInvoice:
        """Compute the credit note, then number it and store it with its audit entry; the number
        counter is locked from the number on, never while computing."""
        # Read again under the tenant's lock: an invoice seen as a draft may have been issued meanwhile.
        target = await get_document(conn, invoice_number)
        if target is None or target.status != "issued":
            raise CreditLimitError(
                f"invoice {invoice_number} is not issued yet; only an issued invoice can be credited"
            )
        invoice = invoice_from_data(load_invoice_json(target.json_body))
        earlier = [
            credit_note_from_data(load_invoice_json(stored.json_body))
            for stored in await credit_notes_of(conn, invoice_number)
        ]
        ledger = await rebuild_ledger(conn, target.tenant_id)
        now = self._clock()
        issue_date = now.date()
        note = credit_invoice(
            invoice,
            number="",
            reason=request.reason,
            ledger=ledger,
            sites=request.sites,
            earlier=earlier,
            status="issued",
            issue_date=issue_date,
        )
        data = credit_note_to_data(note)

        # A credit note is not payable: its due date is its issue date.
        facts = DraftFacts(
            "credit_note",
            target.tenant_id,
            target.period,
            note.currency,
            note.total,
            invoice_number,
            issue_date,
            issue_date,
            now,
        )
        draft = await store_numbered_draft(conn, self._settings.environment, data, facts)
        await insert_audit(
            conn,
            number=draft.number,
            action=CREDIT_NOTE_ISSUED,
            actor=request.actor.strip(),
            reason=note.reason,
            request=request.audit_record(invoice_number),
            at=now,
            idempotency_key=request.idempotency_key,
        )
        return draft

    @staticmethod
    async def _replayed(
        conn: AsyncConnection, invoice_number: str, request: CreditRequest
    ) -> StoredInvoice | None:
        """The credit note an earlier request with the same key issued; refuses a key reused for
        a different request. Runs under the tenant lock, so it sees a concurrent first attempt."""
        if request.idempotency_key is None:
            return None
        entry = await find_by_idempotency_key(conn, CREDIT_NOTE_ISSUED, request.idempotency_key)
        if entry is None:
            return None
        if (
            entry["request"] != request.audit_record(invoice_number)
            or entry["reason"] != request.reason.strip()
        ):
            raise CreditNoteError(
                f"Idempotency-Key {request.idempotency_key!r} was already used for another credit "
                f"request (credit note {entry['number']})"
            )
        return await get_document(conn, entry["number"])


async def finish_credit_note(
    conn: AsyncConnection,
    draft: StoredInvoice,
    settings: InvoiceSettings,
    clock: Callable[[], datetime],
    renderer: Renderer = render_document,
) -> StoredInvoice:
    """Issue a numbered credit note draft: render its PDF with no lock but the tenant's, then store
    it and queue its event in one short transaction."""
    data = load_invoice_json(draft.json_body)
    document = await asyncio.to_thread(
        renderer, data, settings, issue_date=draft.issue_date, due_date=draft.due_date
    )
    now = clock()
    async with conn.begin():
        actor = (await audit_entries(conn, [draft.number]))[draft.number][0]["actor"]
        await mark_issued(
            conn,
            draft.number,
            json_body=document.json_body,
            json_sha256=document.json_sha256,
            pdf_body=document.pdf_body,
            pdf_sha256=document.pdf_sha256,
            issued_at=now,
        )
        await enqueue(
            conn,
            topic=CREDIT_NOTE_TOPIC,
            key=draft.tenant_id,
            event=credit_note_issued_event(data, actor, now),
            now=now,
        )
        issued = await get_document(conn, draft.number)
    if issued is None:
        raise LookupError(f"credit note {draft.number} vanished after it was issued")
    return issued
