"""Invoice JSON shape (formats §4), canonical checksum, verification and ledger rebuild."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal as D

from core_builders import MARCH, SITE, example_contract, merged, usage

from billing_core import (
    BillingLedger,
    Period,
    canonical_json,
    invoice_checksum,
    invoice_from_data,
    invoice_to_data,
    rate_invoice,
    rate_run_with_ledger,
    record_invoice,
    verify_invoice_data,
)


def example_a_data() -> dict:  # type: ignore[type-arg]
    ledger = BillingLedger(billed={(SITE, Period(2026, 1)): D("1000.00")})
    invoice = rate_invoice(
        example_contract(),
        MARCH,
        {MARCH: merged(usage(standard=300, expedited=40, review=100), usage("ghost", standard=2))},
        ledger,
        number="US-2026-000042",
        status="released",
        issue_date=date(2026, 4, 1),
        due_date=date(2026, 5, 1),
    )
    return invoice_to_data(invoice)


def test_invoice_json_fields_and_strings() -> None:
    data = example_a_data()
    assert {k: data[k] for k in ("number", "tenant", "period", "currency", "status", "total")} == {
        "number": "US-2026-000042",
        "tenant": "acme",
        "period": "2026-03",
        "currency": "USD",
        "status": "released",
        "total": "500.00",
    }
    (site,) = data["sites"]
    assert (site["site"], site["total"], site["billed_to_date"], site["cap_remaining"]) == (
        "nyc-01",
        "500.00",
        "1500.00",
        "58500.00",
    )
    assert site["lines"][2] == {
        "kind": "usage",
        "category": "standard",
        "quantity": "300",
        "unit_price": "1.20",
        "amount": "360.00",
        "billed": True,
        "explanation": "300 × 1.20",
    }
    assert site["lines"][1]["billed"] is False and site["lines"][1]["amount"] == "0.00"
    assert site["lines"][3] == {
        "kind": "minimum_shortfall",
        "amount": "40.00",
        "billed": True,
        "explanation": "minimum 500.00 − eligible 460.00 (standard, expedited)",
    }
    assert data["totals"] == {
        "usage": "460.00",
        "minimum_shortfall": "40.00",
        "cap_credit": "0.00",
        "prior_period_adjustment": "0.00",
        "total": "500.00",
    }
    assert data["summary"] == {
        "sites": {"nyc-01": "500.00"},
        "categories": {"expedited": "100.00", "review": "0.00", "standard": "360.00"},
    }
    assert data["unbillable"] == [
        {
            "site": "ghost",
            "category": "standard",
            "period": "2026-03",
            "quantity": "2",
            "events": 2,
            "reason": "unknown site",
        }
    ]
    verification = data["verification"]
    assert verification["sum_of_site_totals"] == "500.00"
    assert verification["sum_of_components"] == "500.00"
    assert verification["line_count"] == 4
    assert verification["event_count"] == 440


def test_checksum_is_sha256_of_canonical_json_without_the_checksum() -> None:
    data = example_a_data()
    stripped = json.loads(json.dumps(data))
    del stripped["verification"]["checksum"]
    expected = hashlib.sha256(
        json.dumps(stripped, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    assert data["verification"]["checksum"] == f"sha256:{expected}"
    assert invoice_checksum(data) == data["verification"]["checksum"]
    assert b" " not in canonical_json({"a": 1, "b": [1, 2]})
    assert canonical_json({"b": 1, "a": "×"}) == '{"a":"×","b":1}'.encode()


def test_a_sound_invoice_verifies_and_a_tampered_one_does_not() -> None:
    data = example_a_data()
    assert verify_invoice_data(data) == []
    tampered = json.loads(json.dumps(data))
    tampered["sites"][0]["lines"][2]["amount"] = "361.00"
    problems = verify_invoice_data(tampered)
    assert any("checksum" in p for p in problems)
    assert any("sites[0].total" in p for p in problems)
    short = json.loads(json.dumps(data))
    short["total"] = "500.0"
    assert any("exactly 2 decimals" in p for p in verify_invoice_data(short))


def test_invoice_data_round_trips() -> None:
    data = example_a_data()
    assert invoice_to_data(invoice_from_data(data)) == data


def test_the_ledger_rebuilt_from_stored_invoices_equals_the_run_ledger() -> None:
    contract = example_contract()
    usage_by_period = {Period(2026, m): usage(standard=15000 * m, review=m) for m in range(1, 7)}
    invoices, run_ledger = rate_run_with_ledger(contract, usage_by_period, through=Period(2026, 6))
    rebuilt = BillingLedger()
    for invoice in invoices:
        stored = json.loads(canonical_json(invoice_to_data(invoice)))
        rebuilt = record_invoice(rebuilt, invoice_from_data(stored))
    assert rebuilt == run_ledger
    assert rebuilt.billed[(SITE, Period(2026, 1))] == D("60000.00")
