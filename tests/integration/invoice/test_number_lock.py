"""The number counter is locked only while a number is taken and its draft stored: rendering one
tenant's PDF never holds up another tenant's invoice, and numbers stay unique and gap-free."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from invoice_it_support import clock, close_period, seed
from sqlalchemy.ext.asyncio import AsyncEngine

from invoice.crediting import CreditNoteIssuer, CreditRequest
from invoice.documents import RenderedDocument, render_document
from invoice.issuing import InvoiceIssuer, load_invoice_json
from invoice.pg_inputs import PostgresInvoiceInputs
from invoice.settings import InvoiceSettings


def sequence_of(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


class HeldRenderer:
    """Renders as the service does, except that one tenant's rendering waits until released."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(
        self, data: Mapping[str, Any], settings: InvoiceSettings, *, issue_date: date, due_date: date
    ) -> RenderedDocument:
        if data["tenant"] == self.tenant:
            self.entered.set()
            if not self.release.wait(timeout=60):
                raise RuntimeError("the held rendering was never released")
        return render_document(data, settings, issue_date=issue_date, due_date=due_date)


async def closed_januaries(engine: AsyncEngine, settings: InvoiceSettings, *tenants: str) -> None:
    for tenant in tenants:
        await seed(engine, settings, tenant)
        await close_period(engine, settings, tenant, "2026-01")


async def test_other_tenants_are_issued_while_one_invoice_renders(
    engine: AsyncEngine, settings: InvoiceSettings
) -> None:
    await closed_januaries(engine, settings, "t-lock-slow", "t-lock-a", "t-lock-b")
    renderer = HeldRenderer("t-lock-slow")
    issuer = InvoiceIssuer(engine, settings, PostgresInvoiceInputs(settings), clock, renderer=renderer)

    slow = asyncio.create_task(issuer.invoice_period("t-lock-slow", "2026-01"))
    try:
        assert await asyncio.to_thread(renderer.entered.wait, 30), "the slow invoice never reached rendering"
        async with engine.connect() as conn:
            held = (
                await conn.execute(
                    sa.text("SELECT number, status FROM invoices WHERE tenant_id = 't-lock-slow'")
                )
            ).one()
        assert held.status == "draft"  # numbered and committed before its PDF exists
        # With the counter row locked through rendering these would wait for the release forever.
        others = [
            await asyncio.wait_for(issuer.invoice_period(tenant, "2026-01"), 30)
            for tenant in ("t-lock-a", "t-lock-b")
        ]
    finally:
        renderer.release.set()
    finished = await slow

    assert finished.invoice.number == held.number and finished.invoice.status == "issued"
    assert load_invoice_json(finished.invoice.json_body)["number"] == held.number
    numbers = [finished.invoice.number, *(outcome.invoice.number for outcome in others)]
    first = sequence_of(numbers[0])
    assert [sequence_of(number) for number in numbers] == [first, first + 1, first + 2]


class FailingOnce:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(
        self, data: Mapping[str, Any], settings: InvoiceSettings, *, issue_date: date, due_date: date
    ) -> RenderedDocument:
        self.calls += 1
        if self.calls == 1:
            raise OSError("worker lost while rendering")
        return render_document(data, settings, issue_date=issue_date, due_date=due_date)


async def test_a_draft_left_by_an_interrupted_issue_is_finished_with_its_number(
    engine: AsyncEngine, settings: InvoiceSettings
) -> None:
    await closed_januaries(engine, settings, "t-lock-resume")
    await close_period(engine, settings, "t-lock-resume", "2026-02")
    issuer = InvoiceIssuer(engine, settings, PostgresInvoiceInputs(settings), clock, renderer=FailingOnce())

    with pytest.raises(OSError, match="worker lost"):
        await issuer.invoice_period("t-lock-resume", "2026-01")
    async with engine.connect() as conn:
        left = (
            await conn.execute(
                sa.text("SELECT number, status FROM invoices WHERE tenant_id = 't-lock-resume'")
            )
        ).one()
    assert left.status == "draft"

    # The tenant's next invoice first issues the draft, so February's ledger counts January.
    february = await issuer.invoice_period("t-lock-resume", "2026-02")
    january = await issuer.invoice_period("t-lock-resume", "2026-01")
    assert not january.created and january.invoice.number == left.number
    assert january.invoice.status == "issued"
    assert sequence_of(february.invoice.number) == sequence_of(left.number) + 1
    sites = load_invoice_json(february.invoice.json_body)["sites"]
    nyc = next(site for site in sites if site["site"] == "nyc-01")
    january_nyc = next(
        site for site in load_invoice_json(january.invoice.json_body)["sites"] if site["site"] == "nyc-01"
    )
    assert Decimal(nyc["billed_to_date"]) == Decimal(january_nyc["total"]) + Decimal(nyc["total"])
    assert Decimal(january_nyc["total"]) > 0


async def test_other_tenants_are_issued_while_a_credit_note_renders(
    engine: AsyncEngine, settings: InvoiceSettings, issuer: InvoiceIssuer
) -> None:
    await closed_januaries(engine, settings, "t-lock-credited", "t-lock-c")
    invoice = (await issuer.invoice_period("t-lock-credited", "2026-01")).invoice
    renderer = HeldRenderer("t-lock-credited")
    creditor = CreditNoteIssuer(engine, settings, clock, renderer=renderer)

    crediting = asyncio.create_task(
        creditor.credit(invoice.number, CreditRequest(reason="goodwill", actor="finance@example.com"))
    )
    try:
        assert await asyncio.to_thread(renderer.entered.wait, 30), "the credit note never reached rendering"
        other = await asyncio.wait_for(issuer.invoice_period("t-lock-c", "2026-01"), 30)
    finally:
        renderer.release.set()
    note = (await crediting).credit_note

    assert note.status == "issued" and load_invoice_json(note.json_body)["number"] == note.number
    assert sequence_of(other.invoice.number) == sequence_of(note.number) + 1
