"""The invoice service against a real PostgreSQL and Kafka: issuing, numbering, immutability, API, outbox."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa
from invoice_it_support import REPO, clock, close_period, relayed_event, seed, store_usage, usage_of
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_core import (
    BillingLedger,
    Period,
    canonical_json,
    invoice_from_data,
    invoice_to_data,
    rate_invoice,
    record_invoice,
)
from billing_io.contract_yaml import load_contract
from invoice.bootstrap import create_app
from invoice.inputs import PeriodNotClosedError
from invoice.issuing import InvoiceIssuer, load_invoice_json
from invoice.settings import InvoiceSettings


async def test_issues_the_invoice_billing_core_rates_and_is_idempotent(
    engine: AsyncEngine, settings: InvoiceSettings, issuer: InvoiceIssuer
) -> None:
    await seed(engine, settings, "t-issue")
    await close_period(engine, settings, "t-issue", "2026-01")
    first = await issuer.invoice_period("t-issue", "2026-01")
    again = await issuer.invoice_period("t-issue", "2026-01")

    assert first.created and not again.created
    assert again.invoice.number == first.invoice.number
    assert first.invoice.number.startswith("TEST-2026-")
    assert first.invoice.status == "issued"
    stored = load_invoice_json(first.invoice.json_body)
    assert stored["status"] == "issued"
    assert stored["issue_date"] == "2026-06-02" and stored["due_date"] == "2026-07-02"

    contract = load_contract(REPO / "examples" / "contract.yaml")
    expected = rate_invoice(
        contract, Period(2026, 1), await usage_of(engine, settings, "t-issue"), BillingLedger()
    )
    expected_data = invoice_to_data(expected)
    assert stored["total"] == expected_data["total"]
    assert stored["sites"] == expected_data["sites"]
    assert first.invoice.pdf_body is not None and first.invoice.pdf_body.startswith(b"%PDF")


async def test_late_usage_becomes_an_adjustment_and_the_issued_invoice_never_changes(
    engine: AsyncEngine, settings: InvoiceSettings, issuer: InvoiceIssuer
) -> None:
    tenant = "t-late"
    await seed(engine, settings, tenant)
    await close_period(engine, settings, tenant, "2026-01")
    january = (await issuer.invoice_period(tenant, "2026-01")).invoice

    # 50 standard units for nyc-01 in January arrive after January was issued.
    await store_usage(engine, settings, tenant, "2026-01", "nyc-01", "standard", "350", 35)
    await close_period(engine, settings, tenant, "2026-02")
    february = (await issuer.invoice_period(tenant, "2026-02")).invoice

    data = load_invoice_json(february.json_body)
    adjustments = [
        line for site in data["sites"] for line in site["lines"] if line["kind"] == "prior_period_adjustment"
    ]
    assert adjustments and {line["period"] for line in adjustments} == {"2026-01"}
    # Same figures as billing_core gives when January's invoice is in the ledger.
    contract = load_contract(REPO / "examples" / "contract.yaml")
    usage = await usage_of(engine, settings, tenant)
    ledger = record_invoice(BillingLedger(), invoice_from_data(load_invoice_json(january.json_body)))
    expected = invoice_to_data(rate_invoice(contract, Period(2026, 2), usage, ledger))
    assert (data["total"], data["sites"]) == (expected["total"], expected["sites"])

    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.text(
                    "SELECT json_body, pdf_body, json_sha256, pdf_sha256 FROM invoices WHERE number = :n"
                ),
                {"n": january.number},
            )
        ).one()
    assert (row.json_body, row.pdf_body) == (january.json_body, january.pdf_body)


async def test_an_issued_invoice_cannot_be_updated_or_deleted(
    engine: AsyncEngine, settings: InvoiceSettings, issuer: InvoiceIssuer
) -> None:
    await seed(engine, settings, "t-immutable")
    await close_period(engine, settings, "t-immutable", "2026-01")
    number = (await issuer.invoice_period("t-immutable", "2026-01")).invoice.number
    for statement in (
        "UPDATE invoices SET total = 0 WHERE number = :n",
        "DELETE FROM invoices WHERE number = :n",
    ):
        with pytest.raises(DBAPIError, match="is issued and can no longer change"):
            async with engine.begin() as conn:
                await conn.execute(sa.text(statement), {"n": number})


async def test_numbers_are_unique_and_gap_free_when_periods_close_concurrently(
    engine: AsyncEngine, settings: InvoiceSettings, issuer: InvoiceIssuer
) -> None:
    tenants = [f"t-conc-{index}" for index in range(6)]
    for tenant in tenants:
        await seed(engine, settings, tenant)
        await close_period(engine, settings, tenant, "2026-01")
    outcomes = await asyncio.gather(*(issuer.invoice_period(tenant, "2026-01") for tenant in tenants))
    numbers = [outcome.invoice.number for outcome in outcomes]
    assert len(set(numbers)) == len(tenants)

    async with engine.connect() as conn:
        every = [row[0] for row in await conn.execute(sa.text("SELECT number FROM invoices"))]
    sequences = sorted(int(number.rsplit("-", 1)[1]) for number in every if number.startswith("TEST-2026-"))
    assert sequences == list(range(1, len(sequences) + 1))


async def test_a_period_that_is_not_closed_is_refused(issuer: InvoiceIssuer) -> None:
    with pytest.raises(PeriodNotClosedError, match="not closed"):
        await issuer.invoice_period("t-unknown", "2026-01")


async def test_api_serves_json_and_pdf_with_etags(engine: AsyncEngine, settings: InvoiceSettings) -> None:
    await seed(engine, settings, "t-api")
    await close_period(engine, settings, "t-api", "2026-01")
    app = create_app(settings, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://invoice") as client:
        created = await client.post("/v1/periods/t-api/2026-01/invoice")
        assert created.status_code == 201, created.text
        number = created.json()["number"]
        assert (await client.post("/v1/periods/t-api/2026-01/invoice")).status_code == 200

        listing = (await client.get("/v1/invoices", params={"tenant": "t-api"})).json()
        assert [entry["number"] for entry in listing["invoices"]] == [number]

        document = await client.get(f"/v1/invoices/{number}")
        assert document.status_code == 200
        assert json.loads(document.content, parse_float=Decimal)["number"] == number
        assert canonical_json(json.loads(document.content, parse_float=Decimal)) == document.content

        first = await client.get(f"/v1/invoices/{number}.pdf")
        second = await client.get(f"/v1/invoices/{number}.pdf")
        assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
        assert first.content == second.content
        etag = first.headers["etag"]
        cached = await client.get(f"/v1/invoices/{number}.pdf", headers={"If-None-Match": etag})
        assert cached.status_code == 304 and cached.content == b""
        assert (await client.get("/v1/invoices/TEST-2026-999999.pdf")).status_code == 404
        assert (await client.post("/v1/periods/t-api/2026-02/invoice")).status_code == 409


async def test_drafted_event_reaches_kafka_through_the_outbox(
    engine: AsyncEngine, settings: InvoiceSettings, issuer: InvoiceIssuer, catalogue_topics: tuple[str, ...]
) -> None:
    await seed(engine, settings, "t-outbox")
    await close_period(engine, settings, "t-outbox", "2026-01")
    number = (await issuer.invoice_period("t-outbox", "2026-01")).invoice.number

    found = await relayed_event(engine, settings, number)
    assert found is not None
    assert found["type"] == "billing.invoice.drafted.v1"
    assert found["data"]["tenant_id"] == "t-outbox" and found["data"]["period"] == "2026-01"
