"""Searching a tenant's documents over HTTP: filters, pages that follow a cursor, refusals."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from invoice_it_support import clock, close_period, seed, store_usage
from sqlalchemy.ext.asyncio import AsyncEngine

from invoice.bootstrap import create_app
from invoice.issuing import InvoiceIssuer
from invoice.settings import InvoiceSettings

PERIODS = ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05")


@pytest_asyncio.fixture
async def client(settings: InvoiceSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://invoice") as client:
        yield client


@pytest.fixture
def tenant() -> str:
    return f"t-listing-{secrets.token_hex(3)}"


@pytest_asyncio.fixture
async def documents(
    engine: AsyncEngine,
    settings: InvoiceSettings,
    issuer: InvoiceIssuer,
    client: httpx.AsyncClient,
    tenant: str,
) -> list[dict[str, Any]]:
    """Five invoices of the tenant and a credit note against the first; the full listing."""
    await seed(engine, settings, tenant)
    for period in PERIODS:
        await store_usage(engine, settings, tenant, period, "nyc-01", "standard", "10", 1)
        await close_period(engine, settings, tenant, period)
        await issuer.invoice_period(tenant, period)
    first = (await issuer.invoice_period(tenant, PERIODS[0])).invoice.number
    credited = await client.post(
        f"/v1/invoices/{first}/credit-notes",
        json={"reason": "goodwill", "sites": [{"site": "nyc-01", "amount": "1.00"}]},
        headers={"X-Actor": "finance@example.com"},
    )
    assert credited.status_code == 201, credited.text
    listing = (await client.get("/v1/invoices", params={"tenant": tenant})).json()
    assert listing["next_cursor"] is None
    result: list[dict[str, Any]] = listing["invoices"]
    return result


async def test_pages_follow_the_cursor_through_every_document_once(
    client: httpx.AsyncClient, documents: list[dict[str, Any]], tenant: str
) -> None:
    assert len(documents) == 6
    assert [(d["period"], d["number"]) for d in documents] == sorted(
        (d["period"], d["number"]) for d in documents
    )
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"tenant": tenant, "limit": 4}
        if cursor is not None:
            params["cursor"] = cursor
        page = (await client.get("/v1/invoices", params=params)).json()
        pages += 1
        seen.extend(page["invoices"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 2 and seen == documents


async def test_filters_narrow_the_listing(
    client: httpx.AsyncClient, documents: list[dict[str, Any]], tenant: str
) -> None:
    async def numbers(**params: Any) -> list[str]:
        response = await client.get("/v1/invoices", params={"tenant": tenant, **params})
        assert response.status_code == 200, response.text
        return [entry["number"] for entry in response.json()["invoices"]]

    credit_notes = [d["number"] for d in documents if d["kind"] == "credit_note"]
    assert len(credit_notes) == 1
    assert await numbers(kind="credit_note") == credit_notes
    assert await numbers(kind="invoice", period="2026-01") == [
        d["number"] for d in documents if d["kind"] == "invoice" and d["period"] == "2026-01"
    ]
    assert await numbers(status="issued") == [d["number"] for d in documents]
    assert await numbers(status="draft") == []
    last = documents[-1]["number"]
    assert await numbers(number_prefix=last) == [last]
    assert await numbers(number_prefix="TEST-2026-") == [d["number"] for d in documents]
    assert await numbers(number_prefix="TEST-2026-%") == []  # a prefix is literal, not a pattern


async def test_bad_search_parameters_are_refused(client: httpx.AsyncClient) -> None:
    tenant = "t-listing"
    checks: tuple[dict[str, str | int], ...] = (
        {"tenant": tenant, "cursor": "bm90IGEgY3Vyc29y"},
        {"tenant": tenant, "limit": 0},
        {"tenant": tenant, "limit": 501},
        {"tenant": tenant, "status": "paid"},
        {"tenant": tenant, "kind": "receipt"},
        {"tenant": tenant, "period": "2026-13"},
        {"period": "2026-01"},
    )
    for params in checks:
        response = await client.get("/v1/invoices", params=params)
        assert response.status_code == 422, (params, response.text)
