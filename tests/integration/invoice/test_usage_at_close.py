"""The closed period's invoice holds the usage its close saw (the high-water mark); what ingest stores
after the close becomes a prior-period adjustment on the next invoice. Events go through ingest's own
ledger into the real PostgreSQL; the mark is read by rating's own reader."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import pytest_asyncio
from invoice_it_support import REPO, close_period, store_usage, usage_of
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_core import (
    BillingLedger,
    Period,
    UsageAggregate,
    UsageKey,
    invoice_from_data,
    invoice_to_data,
    rate_invoice,
    record_invoice,
)
from billing_io.contract_yaml import load_contract
from billing_runtime.db import create_engine
from ingest.events import UsageEvent
from ingest.ledger_port import LedgerBatch
from ingest.pg_ledger import PostgresLedger
from invoice.issuing import InvoiceIssuer, load_invoice_json
from invoice.settings import InvoiceSettings
from invoice.usage_at_close import UsageAtCloseError

_ids = itertools.count()


@pytest_asyncio.fixture
async def ledger(settings: InvoiceSettings) -> AsyncIterator[PostgresLedger]:
    engine = create_engine(settings, "ingest")
    yield PostgresLedger(engine, settings.topic_name("usage.aggregated.v1"))
    await engine.dispose()


async def ingest(ledger: PostgresLedger, tenant: str, *usage: tuple[str, str, str, str, int]) -> None:
    """One ingest transaction: (period, site, category, quantity per event, events) each."""
    events = []
    for period, site, category, quantity, count in usage:
        year, month = (int(part) for part in period.split("-"))
        for _ in range(count):
            events.append(
                UsageEvent(
                    "urn:test:invoice",
                    f"{tenant}-{next(_ids)}",
                    datetime(year, month, 10, 12, tzinfo=UTC),
                    "ai.platform.unit.processed.v1",
                    tenant,
                    site,
                    category,
                    period,
                    Decimal(quantity),
                    b"{}",
                )
            )
    await ledger.record(LedgerBatch(events))


def usage_in(period: str, *rows: tuple[str, str, str, int]) -> dict[Period, dict[UsageKey, UsageAggregate]]:
    return {
        Period.parse(period): {
            UsageKey(site, category): UsageAggregate(site, category, Decimal(quantity), events)
            for site, category, quantity, events in rows
        }
    }


async def test_usage_stored_after_the_close_waits_for_the_next_invoice(
    engine: AsyncEngine, settings: InvoiceSettings, issuer: InvoiceIssuer, ledger: PostgresLedger
) -> None:
    tenant = "t-hw-late"
    contract = load_contract(REPO / "examples" / "contract.yaml")
    await ingest(
        ledger,
        tenant,
        ("2026-03", "nyc-01", "standard", "100", 3),
        ("2026-03", "nyc-01", "expedited", "40", 1),
    )
    await close_period(engine, settings, tenant, "2026-03")
    # Between the close and the invoice: more of a category the close saw, and a site it did not see.
    await ingest(
        ledger, tenant, ("2026-03", "nyc-01", "standard", "50", 1), ("2026-03", "bos-02", "standard", "10", 1)
    )

    march = (await issuer.invoice_period(tenant, "2026-03")).invoice
    data = load_invoice_json(march.json_body)
    at_close = usage_in("2026-03", ("nyc-01", "standard", "300", 3), ("nyc-01", "expedited", "40", 1))
    expected = invoice_to_data(rate_invoice(contract, Period(2026, 3), at_close, BillingLedger()))
    assert (data["total"], data["sites"]) == (expected["total"], expected["sites"])
    assert data["verification"]["event_count"] == 4
    boston = next(site for site in data["sites"] if site["site"] == "bos-02")
    assert [line for line in boston["lines"] if line["kind"] == "usage"] == []

    await ingest(ledger, tenant, ("2026-04", "nyc-01", "standard", "100", 1))
    await close_period(engine, settings, tenant, "2026-04")
    april = load_invoice_json((await issuer.invoice_period(tenant, "2026-04")).invoice.json_body)
    adjusted = {
        (site["site"], line.get("category"))
        for site in april["sites"]
        for line in site["lines"]
        if line["kind"] == "prior_period_adjustment" and line["period"] == "2026-03"
    }
    assert ("nyc-01", "standard") in adjusted and ("bos-02", "standard") in adjusted
    ledger_after_march = record_invoice(BillingLedger(), invoice_from_data(data))
    everything = await usage_of(engine, settings, tenant)
    expected_april = invoice_to_data(rate_invoice(contract, Period(2026, 4), everything, ledger_after_march))
    assert (april["total"], april["sites"]) == (expected_april["total"], expected_april["sites"])


async def test_usage_that_cannot_be_recounted_to_the_mark_is_refused_not_guessed(
    engine: AsyncEngine, settings: InvoiceSettings, issuer: InvoiceIssuer
) -> None:
    tenant = "t-hw-no-raw"  # aggregates without the raw events behind them: nothing to recount from
    await store_usage(engine, settings, tenant, "2026-03", "nyc-01", "standard", "300", 30)
    await close_period(engine, settings, tenant, "2026-03")
    await store_usage(engine, settings, tenant, "2026-03", "nyc-01", "standard", "350", 35)
    with pytest.raises(UsageAtCloseError, match="t-hw-no-raw 2026-03 at its close cannot be reconstructed"):
        await issuer.invoice_period(tenant, "2026-03")


async def test_a_close_without_a_high_water_mark_is_refused(
    engine: AsyncEngine, settings: InvoiceSettings, issuer: InvoiceIssuer
) -> None:
    tenant = "t-hw-no-mark"
    await store_usage(engine, settings, tenant, "2026-03", "nyc-01", "standard", "300", 30)
    await close_period(engine, settings, tenant, "2026-03", high_water={})
    with pytest.raises(UsageAtCloseError, match="no usable usage high-water mark"):
        await issuer.invoice_period(tenant, "2026-03")
