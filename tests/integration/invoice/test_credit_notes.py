"""Credit notes on a real PostgreSQL and Kafka: full and partial credits through the API, the
limits, numbering shared with invoices, the untouched original, and the next period's ledger."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from invoice_it_support import REPO, clock, close_period, relayed_event, seed, store_usage, usage_of
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_core import (
    BillingLedger,
    CreditLimitError,
    Period,
    SiteCredit,
    credit_note_from_data,
    invoice_from_data,
    invoice_to_data,
    rate_invoice,
    record_credit_note,
    record_invoice,
    verify_invoice_data,
)
from billing_io.contract_yaml import load_contract
from invoice.bootstrap import create_app
from invoice.crediting import CreditNoteIssuer, CreditRequest
from invoice.issuing import InvoiceIssuer, load_invoice_json
from invoice.settings import InvoiceSettings

ACTOR = {"X-Actor": "finance.admin@example.com"}


@pytest.fixture
def creditor(engine: AsyncEngine, settings: InvoiceSettings) -> CreditNoteIssuer:
    return CreditNoteIssuer(engine, settings, clock)


@pytest_asyncio.fixture
async def client(settings: InvoiceSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://invoice") as client:
        yield client


async def stored_row(engine: AsyncEngine, number: str) -> sa.Row[Any]:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                sa.text(
                    "SELECT json_body, pdf_body, json_sha256, pdf_sha256 FROM invoices WHERE number = :n"
                ),
                {"n": number},
            )
        ).one()


def sequence_of(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


def exact(response: httpx.Response) -> dict[str, Any]:
    data = json.loads(response.content, parse_float=Decimal)
    assert isinstance(data, dict)
    return data


async def issued_january(
    engine: AsyncEngine, settings: InvoiceSettings, issuer: InvoiceIssuer, tenant: str
) -> dict[str, Any]:
    await seed(engine, settings, tenant)
    await close_period(engine, settings, tenant, "2026-01")
    return load_invoice_json((await issuer.invoice_period(tenant, "2026-01")).invoice.json_body)


async def test_full_credit_reverses_the_invoice_and_leaves_it_byte_for_byte_unchanged(
    engine: AsyncEngine, settings: InvoiceSettings, issuer: InvoiceIssuer, client: httpx.AsyncClient
) -> None:
    invoice = await issued_january(engine, settings, issuer, "t-credit-full")
    number = invoice["number"]
    before = await stored_row(engine, number)

    created = await client.post(
        f"/v1/invoices/{number}/credit-notes", json={"reason": "pilot month not billable"}, headers=ACTOR
    )
    assert created.status_code == 201, created.text
    note = exact(created)
    assert created.headers["location"] == f"/v1/credit-notes/{note['number']}"
    assert note["document_type"] == "credit_note" and note["references"] == number
    assert note["reason"] == "pilot month not billable" and note["status"] == "issued"
    assert Decimal(note["total"]) == -Decimal(invoice["total"])
    assert note["total"] == "-" + invoice["total"]  # same minor digits, exactly negated
    billed_sites = [site for site in invoice["sites"] if any(line["billed"] for line in site["lines"])]
    assert [site["site"] for site in note["sites"]] == [site["site"] for site in billed_sites]
    for credited_site, site in zip(note["sites"], billed_sites, strict=True):
        reversed_lines = [
            (line["kind"], -Decimal(line["amount"])) for line in site["lines"] if line["billed"]
        ]
        assert [(line["kind"], Decimal(line["amount"])) for line in credited_site["lines"]] == reversed_lines
        assert credited_site["total"] == "-" + site["total"]
    # Every amount has exactly the two USD decimals and every sum matches: the credit note verifies.
    assert verify_invoice_data(note) == []

    fetched = await client.get(f"/v1/credit-notes/{note['number']}")
    assert fetched.content == created.content
    assert fetched.headers["etag"] == f'"{hashlib.sha256(created.content).hexdigest()}"'
    pdf = await client.get(f"/v1/credit-notes/{note['number']}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    cached = await client.get(
        f"/v1/credit-notes/{note['number']}.pdf", headers={"If-None-Match": pdf.headers["etag"]}
    )
    assert cached.status_code == 304
    assert (
        await client.get(f"/v1/credit-notes/{number}")
    ).status_code == 404  # an invoice, not a credit note

    again = await client.post(f"/v1/invoices/{number}/credit-notes", json={"reason": "again"}, headers=ACTOR)
    assert again.status_code == 409 and "no site left to credit" in again.json()["detail"]
    more = await client.post(
        f"/v1/invoices/{number}/credit-notes",
        json={"reason": "again", "sites": [{"site": "nyc-01", "amount": "0.01"}]},
        headers=ACTOR,
    )
    assert more.status_code == 409 and "0.00 left to credit" in more.json()["detail"]

    after = await stored_row(engine, number)
    assert hashlib.sha256(after.json_body).hexdigest() == before.json_sha256 == after.json_sha256
    assert hashlib.sha256(after.pdf_body).hexdigest() == before.pdf_sha256 == after.pdf_sha256
    assert (after.json_body, after.pdf_body) == (before.json_body, before.pdf_body)

    listing = (await client.get(f"/v1/invoices/{number}/credit-notes")).json()
    assert listing["credited"] == invoice["total"] and listing["invoice_total"] == invoice["total"]
    (entry,) = listing["credit_notes"]
    assert entry["number"] == note["number"] and entry["kind"] == "credit_note"
    assert entry["references"] == number
    assert [(a["actor"], a["reason"]) for a in entry["audit"]] == [
        ("finance.admin@example.com", "pilot month not billable")
    ]


async def test_refused_requests_use_no_number_and_credit_notes_share_the_invoice_series(
    engine: AsyncEngine, settings: InvoiceSettings, issuer: InvoiceIssuer, client: httpx.AsyncClient
) -> None:
    tenant = "t-credit-numbers"
    invoice = await issued_january(engine, settings, issuer, tenant)
    number = invoice["number"]
    refusals = [
        ({"reason": "r"}, {}, 422),  # no X-Actor
        ({"reason": ""}, ACTOR, 422),
        ({"reason": "r", "sites": ["lon-09"]}, ACTOR, 422),
        ({"reason": "r", "sites": [{"site": "nyc-01", "amount": "500.01"}]}, ACTOR, 409),
    ]
    for body, headers, status in refusals:
        response = await client.post(f"/v1/invoices/{number}/credit-notes", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
    missing = await client.post(
        "/v1/invoices/TEST-2026-999999/credit-notes", json={"reason": "r"}, headers=ACTOR
    )
    assert missing.status_code == 404

    first = exact(
        await client.post(
            f"/v1/invoices/{number}/credit-notes",
            json={"reason": "SLA breach 12 Jan", "sites": [{"site": "nyc-01", "amount": "75.25"}]},
            headers=ACTOR,
        )
    )
    assert first["total"] == "-75.25"
    # A credit note cannot itself be credited.
    nested = await client.post(
        f"/v1/invoices/{first['number']}/credit-notes", json={"reason": "r"}, headers=ACTOR
    )
    assert nested.status_code == 422
    await close_period(engine, settings, tenant, "2026-02")
    february = (await issuer.invoice_period(tenant, "2026-02")).invoice.number
    second = exact(
        await client.post(f"/v1/invoices/{number}/credit-notes", json={"reason": "rest"}, headers=ACTOR)
    )
    # The rest: the sites no credit touched yet, in full (nyc-01 keeps its stated credit).
    assert [site["site"] for site in second["sites"]] == [
        site["site"] for site in invoice["sites"] if site["site"] != "nyc-01" and site["total"] != "0.00"
    ]

    numbers = [first["number"], february, second["number"]]
    prefix = number.rsplit("-", 1)[0]
    assert all(n.rsplit("-", 1)[0] == prefix for n in numbers)
    # Issued one after the other with nothing else in between: consecutive, no gap left by refusals.
    # (Other tests of this run issue documents concurrently, so compare within this tenant's order.)
    async with engine.connect() as conn:
        every = sorted(
            sequence_of(row[0])
            for row in await conn.execute(
                sa.text("SELECT number FROM invoices WHERE number LIKE :p"), {"p": f"{prefix}-%"}
            )
        )
    assert every == list(range(1, len(every) + 1))
    assert sequence_of(first["number"]) > sequence_of(number)


async def test_the_next_period_bills_to_date_net_of_the_credit(
    engine: AsyncEngine,
    settings: InvoiceSettings,
    issuer: InvoiceIssuer,
    creditor: CreditNoteIssuer,
) -> None:
    tenant = "t-credit-ledger"
    january = await issued_january(engine, settings, issuer, tenant)
    outcome = await creditor.credit(
        january["number"],
        CreditRequest(
            reason="onboarding discount", actor="finance", sites=[SiteCredit("nyc-01", Decimal("120.00"))]
        ),
    )
    note = load_invoice_json(outcome.credit_note.json_body)
    (nyc_credit,) = note["sites"]
    january_nyc = next(site for site in january["sites"] if site["site"] == "nyc-01")
    assert nyc_credit["billed_to_date"] == str(Decimal(january_nyc["billed_to_date"]) - Decimal("120.00"))

    # Late January usage too: it must be billed as the late part only, not the credited amount again.
    await store_usage(engine, settings, tenant, "2026-01", "nyc-01", "standard", "350", 35)
    await close_period(engine, settings, tenant, "2026-02")
    february = load_invoice_json((await issuer.invoice_period(tenant, "2026-02")).invoice.json_body)
    nyc = next(site for site in february["sites"] if site["site"] == "nyc-01")
    assert Decimal(nyc["billed_to_date"]) == (
        Decimal(january_nyc["total"]) - Decimal("120.00") + Decimal(nyc["total"])
    )
    adjustments = [
        (line.get("category"), line["amount"])
        for line in nyc["lines"]
        if line["kind"] == "prior_period_adjustment"
    ]
    assert adjustments == [("standard", "60.00"), (None, "-40.00")]

    contract = load_contract(REPO / "examples" / "contract.yaml")
    ledger = record_credit_note(
        record_invoice(BillingLedger(), invoice_from_data(january)), credit_note_from_data(note)
    )
    expected = invoice_to_data(
        rate_invoice(contract, Period(2026, 2), await usage_of(engine, settings, tenant), ledger)
    )
    assert (february["total"], february["sites"]) == (expected["total"], expected["sites"])


async def test_concurrent_full_credits_of_one_invoice_issue_exactly_one(
    engine: AsyncEngine, settings: InvoiceSettings, issuer: InvoiceIssuer, creditor: CreditNoteIssuer
) -> None:
    january = await issued_january(engine, settings, issuer, "t-credit-race")
    outcomes = await asyncio.gather(
        *(creditor.credit(january["number"], CreditRequest(reason=f"try {i}", actor="a")) for i in range(4)),
        return_exceptions=True,
    )
    issued = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert len(issued) == 1 and len(refused) == 3
    assert all(isinstance(error, CreditLimitError) for error in refused)


async def test_credit_notes_and_their_audit_cannot_be_changed(
    engine: AsyncEngine, settings: InvoiceSettings, issuer: InvoiceIssuer, creditor: CreditNoteIssuer
) -> None:
    january = await issued_january(engine, settings, issuer, "t-credit-immutable")
    number = (
        await creditor.credit(january["number"], CreditRequest(reason="r", actor="a"))
    ).credit_note.number
    for statement, message in (
        ("UPDATE invoices SET total = 0 WHERE number = :n", "is issued and can no longer change"),
        ("DELETE FROM invoices WHERE number = :n", "is issued and can no longer change"),
        ("UPDATE document_audit SET actor = 'someone else' WHERE number = :n", "can no longer change"),
        ("DELETE FROM document_audit WHERE number = :n", "can no longer change"),
    ):
        with pytest.raises(DBAPIError, match=message):
            async with engine.begin() as conn:
                await conn.execute(sa.text(statement), {"n": number})


async def test_credit_note_event_reaches_kafka_through_the_outbox(
    engine: AsyncEngine,
    settings: InvoiceSettings,
    issuer: InvoiceIssuer,
    creditor: CreditNoteIssuer,
    catalogue_topics: tuple[str, ...],
) -> None:
    january = await issued_january(engine, settings, issuer, "t-credit-outbox")
    number = (
        await creditor.credit(january["number"], CreditRequest(reason="r", actor="ops@x"))
    ).credit_note.number

    found = await relayed_event(engine, settings, number)
    assert found is not None
    assert found["type"] == "billing.credit_note.issued.v1"
    assert found["data"]["invoice_number"] == january["number"]
    assert found["data"]["total"] == "-" + january["total"] and found["data"]["actor"] == "ops@x"


async def test_a_repeated_idempotency_key_returns_the_credit_note_it_issued(
    engine: AsyncEngine, settings: InvoiceSettings, issuer: InvoiceIssuer, client: httpx.AsyncClient
) -> None:
    number = (await issued_january(engine, settings, issuer, "t-credit-retry"))["number"]
    url = f"/v1/invoices/{number}/credit-notes"
    body = {"reason": "billing run twice", "sites": [{"site": "nyc-01", "amount": "10.00"}]}
    headers = {**ACTOR, "Idempotency-Key": "7d2c1c9e-retry"}

    first = await client.post(url, json=body, headers=headers)
    retried = await client.post(url, json=body, headers=headers)
    assert (first.status_code, retried.status_code) == (201, 200)
    assert retried.content == first.content
    changed = await client.post(url, json={**body, "reason": "another"}, headers=headers)
    assert changed.status_code == 422 and "already used for another credit request" in changed.text

    listing = (await client.get(f"/v1/invoices/{number}/credit-notes")).json()
    assert [entry["number"] for entry in listing["credit_notes"]] == [exact(first)["number"]]
    assert listing["credited"] == "10.00"
