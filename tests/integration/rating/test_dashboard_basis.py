"""On the real database: a stored dashboard figure is shown only while its basis holds. Late usage
for an earlier period and a newly issued invoice (neither of which the usage consumer hears of for
the viewed period) make the next view recompute, equal to the full run from the contract start."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from rating_it_support import contract_yaml

from billing_core import Period, invoice_to_data, rate_run, rate_run_with_ledger
from billing_runtime.db import create_engine
from rating.dashboard_reads import SqlDashboardReads
from rating.issued_invoices import IssuedInvoiceReader, ledger_before
from rating.records import RatingBasis, UsageMark
from rating.usage_view import usage_by_period

YAML = {"content-type": "application/yaml", "x-actor": "ops"}
TENANT = "t_basis"
MARCH = Period(2026, 3)

ADD_USAGE = sa.text(
    "INSERT INTO usage_aggregates AS a (tenant_id, period, site_id, category, quantity, events, last_change) "
    "VALUES (:tenant, :period, :site, :category, :quantity, 1, nextval('aggregate_changes')) "
    "ON CONFLICT (tenant_id, period, site_id, category) DO UPDATE SET quantity = a.quantity + "
    "EXCLUDED.quantity, events = a.events + 1, last_change = EXCLUDED.last_change"
)
ISSUE = sa.text(
    "INSERT INTO invoices (number, kind, tenant_id, period, status, currency, total, issue_date, due_date, "
    "json_body, json_sha256, pdf_body, pdf_sha256, created_at, issued_at) VALUES (:number, 'invoice', "
    ":tenant, :period, 'issued', 'USD', :total, :day, :day, :body, :sha, :pdf, :sha, now(), now())"
)


async def add_usage(settings: Any, tenant: str, period: str, site: str, category: str, quantity: str) -> None:
    """As ingest adds to an aggregate: a fresh value of its change sequence on every update."""
    engine = create_engine(settings, "ingest", pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                ADD_USAGE,
                dict(tenant=tenant, period=period, site=site, category=category, quantity=quantity),
            )
    finally:
        await engine.dispose()


async def issue_through(app: Any, settings: Any, period: Period) -> None:
    """Issue the run's invoices through ``period`` into the invoice service's table, as it would."""
    _, contract = await app.state.parts.api.contracts.contract(TENANT)
    rows = await app.state.parts.usage.usage(TENANT, str(period))
    engine = create_engine(settings, "invoice", pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as conn:
            for invoice in rate_run(contract, usage_by_period(rows), period):
                body = json.dumps(invoice_to_data(invoice), sort_keys=True).encode()
                await conn.execute(
                    ISSUE,
                    {
                        "number": f"{TENANT}-{invoice.period}",
                        "tenant": TENANT,
                        "period": str(invoice.period),
                        "total": invoice.total,
                        "day": date(2026, 3, 1),
                        "body": body,
                        "sha": hashlib.sha256(body).hexdigest(),
                        "pdf": b"%PDF-1.4",
                    },
                )
    finally:
        await engine.dispose()


async def full_run(app: Any, settings: Any, period: Period) -> dict[str, Any]:
    _, contract = await app.state.parts.api.contracts.contract(TENANT)
    rows = await app.state.parts.usage.usage(TENANT, str(period))
    issued = await IssuedInvoiceReader(app.state.parts.engine, settings.schema_name("invoice")).issued(TENANT)
    invoices, _ = rate_run_with_ledger(contract, usage_by_period(rows), period, ledger_before(issued, period))
    return invoice_to_data(invoices[-1])


async def test_late_earlier_usage_and_new_invoices_reach_the_next_view(client, app, rating_settings, clock):
    assert (
        await client.put(f"/v1/contracts/{TENANT}", content=contract_yaml(TENANT), headers=YAML)
    ).status_code == 201
    clock.set(datetime(2026, 3, 20, tzinfo=UTC))
    for period, quantity in (("2026-01", "2000"), ("2026-02", "2500"), ("2026-03", "1500")):
        await add_usage(rating_settings, TENANT, period, "bos-02", "standard", quantity)
    await add_usage(rating_settings, TENANT, "2026-03", "nyc-01", "expedited", "40")

    async def view() -> dict[str, Any]:
        response = await client.get("/v1/dashboard", params={"tenant": TENANT, "period": str(MARCH)})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["invoice"] == await full_run(app, rating_settings, MARCH)
        return body

    first = await view()
    dashboard = app.state.parts.api.dashboard
    stored = await app.state.parts.store.snapshot(TENANT, str(MARCH))
    assert stored.basis == await dashboard.basis(TENANT, MARCH)
    assert stored.basis.issued_invoices == 0 and stored.basis.earlier_usage.aggregates == 2

    await add_usage(
        rating_settings, TENANT, "2026-02", "bos-02", "standard", "900"
    )  # late, February still open
    late = await view()
    assert late["total"] != first["total"]

    await issue_through(app, rating_settings, Period(2026, 2))
    issued = await view()
    basis = (await app.state.parts.store.snapshot(TENANT, str(MARCH))).basis
    assert basis.issued_invoices == 2

    await add_usage(
        rating_settings, TENANT, "2026-01", "bos-02", "standard", "100"
    )  # after January was issued
    adjusted = await view()
    assert adjusted != issued
    assert any(
        line["kind"] == "prior_period_adjustment" for site in adjusted["sites"] for line in site["lines"]
    )


async def test_a_refresh_reads_the_period_and_the_earlier_mark_in_one_statement(app, rating_settings):
    parts = app.state.parts
    issued = IssuedInvoiceReader(parts.engine, rating_settings.schema_name("invoice"))
    reads = SqlDashboardReads(parts.engine, parts.usage, issued)
    empty = await reads.refresh_inputs("t_mark", "2026-05")
    assert empty.state is None and not empty.closed and empty.issued_invoices == 0
    assert empty.usage.rows == [] and empty.usage.earlier == UsageMark(0, 0)
    await add_usage(rating_settings, "t_mark", "2026-04", "s1", "standard", "3")
    await add_usage(rating_settings, "t_mark", "2026-05", "s1", "standard", "2.000001")
    one = (await reads.refresh_inputs("t_mark", "2026-05")).usage
    await add_usage(rating_settings, "t_mark", "2026-04", "s1", "standard", "1")  # an update, no new row
    two = (await reads.refresh_inputs("t_mark", "2026-05")).usage
    assert [(row.period, row.quantity, row.events) for row in one.rows] == [
        ("2026-05", Decimal("2.000001"), 1)
    ]
    assert one.earlier.aggregates == two.earlier.aggregates == 1
    assert two.earlier.changes > one.earlier.changes
    assert two.earlier == (await reads.view_inputs("t_mark", "2026-05")).basis.earlier_usage
    assert RatingBasis(0, two.earlier) == RatingBasis.from_data(RatingBasis(0, two.earlier).to_data())


async def test_a_current_snapshot_is_answered_with_its_stored_text_and_a_stale_one_is_recomputed(
    client, app, rating_settings, clock
):
    tenant = "t_text"
    params = {"tenant": tenant, "period": str(MARCH)}
    assert (
        await client.put(f"/v1/contracts/{tenant}", content=contract_yaml(tenant), headers=YAML)
    ).status_code == 201
    clock.set(datetime(2026, 3, 20, tzinfo=UTC))
    await add_usage(rating_settings, tenant, "2026-02", "bos-02", "standard", "2500")
    await add_usage(rating_settings, tenant, "2026-03", "bos-02", "standard", "1500")
    first = await client.get("/v1/dashboard", params=params)
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    # Mark the stored body (revision and basis untouched, so it stays current): the next view must be
    # PostgreSQL's text of it, byte for byte, not a figure computed again.
    table = f'"{rating_settings.schema_name("rating")}".dashboard_snapshots'
    key = {"tenant": tenant, "period": str(MARCH)}
    async with app.state.parts.engine.begin() as conn:
        await conn.execute(
            sa.text(
                f'UPDATE {table} SET body = body || \'{{"marked": "é"}}\' WHERE tenant_id = :tenant '
                "AND period = :period"
            ),
            key,
        )
        stored_text = (
            await conn.execute(
                sa.text(f"SELECT body::text FROM {table} WHERE tenant_id = :tenant AND period = :period"),
                key,
            )
        ).scalar_one()
    current = await client.get("/v1/dashboard", params=params)
    assert current.status_code == 200 and current.headers["content-type"] == "application/json"
    assert current.content == stored_text.encode()
    assert current.json() == {**first.json(), "marked": "é"}

    await add_usage(rating_settings, tenant, "2026-02", "bos-02", "standard", "900")  # late: stale
    stale = await client.get("/v1/dashboard", params=params)
    assert stale.status_code == 200 and stale.headers["content-type"] == "application/json"
    body = stale.json()
    assert "marked" not in body
    _, contract = await app.state.parts.api.contracts.contract(tenant)
    rows = await app.state.parts.usage.usage(tenant, str(MARCH))
    assert body["invoice"] == invoice_to_data(rate_run(contract, usage_by_period(rows), MARCH)[-1])
