"""Running charges start from what was already invoiced (rules §5 and §8 case F)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from billing_core import Period, rate_run
from rating.contract_documents import load_contract
from rating.contracts import Author
from rating.usage_view import usage_by_period

CASE_F = {
    "tenant": "casef",
    "name": "Case F",
    "currency": "USD",
    "contract_start": "2026-03-01",
    "sites": [
        {
            "id": "nyc-01",
            "name": "New York 01",
            "pricing": [
                {
                    "effective_from": "2026-03-01",
                    "rates": {"standard": "1.20", "expedited": "2.50", "review": "0.40", "storage": "0.10"},
                    "disabled": ["review"],
                    "minimum": {"amount": "500.00", "categories": ["standard", "expedited"]},
                    "annual_cap": "60000.00",
                }
            ],
        }
    ],
}


async def test_late_usage_after_an_issued_invoice_shows_as_an_adjustment(
    contracts, dashboard, usage, issued, clock
):
    await contracts.put_contract("casef", CASE_F, "casef.yaml", Author("ops", "onboarding"))
    usage.add("casef", "nyc-01", "standard", "2026-03", "300")
    usage.add("casef", "nyc-01", "expedited", "2026-03", "40")
    usage.add("casef", "nyc-01", "review", "2026-03", "100")
    contract = load_contract(CASE_F, "casef.yaml")
    [march] = rate_run(contract, usage_by_period(await usage.usage("casef", "2026-03")), Period(2026, 3))
    assert march.total == Decimal("500.00")
    issued.invoices["casef"].append(march)
    usage.add("casef", "nyc-01", "standard", "2026-03", "50")  # arrives after March was issued
    clock.set(datetime(2026, 4, 10, tzinfo=UTC))
    april = json.loads(await dashboard.view("casef", Period(2026, 4)))
    site = april["sites"][0]
    adjustments = [line for line in site["lines"] if line["kind"] == "prior_period_adjustment"]
    assert {(line.get("category") or "shortfall", line["amount"]) for line in adjustments} == {
        ("standard", "60.00"),
        ("shortfall", "-40.00"),
    }
    # April itself has no usage yet: its whole minimum is short, plus the +20.00 for March.
    assert site["total"] == "520.00"
    assert site["billed_to_date"] == "1020.00"
