"""Billing rules §8, cases A–F: every line and total of site nyc-01, USD, period 2026-03."""

from __future__ import annotations

from core_builders import MARCH, SITE, D, example_contract, summary, usage

from billing_core import BillingLedger, Invoice, Period, invoice_to_data, rate_invoice, record_invoice

YEAR_START = Period(2026, 1)


def ledger_with_billed(amount: str) -> BillingLedger:
    return BillingLedger(billed={(SITE, YEAR_START): D(amount)})


A_USAGE = {"standard": 300, "expedited": 40, "review": 100}

A_LINES = [
    ("usage", "expedited", "100.00", True),
    ("usage", "review", "0.00", False),
    ("usage", "standard", "360.00", True),
    ("minimum_shortfall", None, "40.00", True),
]


def rate_march(billed_so_far: str, **quantities: int) -> Invoice:
    return rate_invoice(
        example_contract(), MARCH, {MARCH: usage(**quantities)}, ledger_with_billed(billed_so_far)
    )


def test_case_a_shortfall_tops_up_to_the_minimum() -> None:
    invoice = rate_march("1000.00", **A_USAGE)
    (site,) = invoice.sites
    assert summary(site.lines) == A_LINES
    by_category = {line.category: line for line in site.lines}
    assert by_category["standard"].explanation == "300 × 1.20"
    assert by_category["expedited"].explanation == "40 × 2.50"
    assert by_category["review"].explanation == "category disabled"
    assert by_category[None].explanation == "minimum 500.00 − eligible 460.00 (standard, expedited)"
    assert site.total == D("500.00")
    assert invoice.total == D("500.00")
    assert site.billed_to_date == D("1500.00")
    assert site.cap_remaining == D("58500.00")


def test_case_b_cap_reached_mid_period_pays_exactly_the_remaining_allowance() -> None:
    invoice = rate_march("59800.00", **A_USAGE)
    (site,) = invoice.sites
    assert summary(site.lines) == [*A_LINES, ("cap_credit", None, "-300.00", True)]
    assert site.lines[-1].contract_year == "2026-01/2026-12"
    assert "60000.00" in site.lines[-1].explanation and "59800.00" in site.lines[-1].explanation
    assert invoice.total == D("200.00")
    assert site.billed_to_date == D("60000.00")
    assert site.cap_remaining == D("0.00")


def test_case_c_cap_already_reached_pays_nothing_even_below_minimum() -> None:
    invoice = rate_march("60000.00", **A_USAGE)
    (site,) = invoice.sites
    assert summary(site.lines) == [*A_LINES, ("cap_credit", None, "-500.00", True)]
    assert invoice.total == D("0.00")


def test_case_d_non_counting_category_never_reduces_the_shortfall() -> None:
    invoice = rate_march("0.00", standard=100, storage=1000)
    (site,) = invoice.sites
    assert summary(site.lines) == [
        ("usage", "standard", "120.00", True),
        ("usage", "storage", "100.00", True),
        ("minimum_shortfall", None, "380.00", True),
    ]
    assert site.lines[-1].explanation == "minimum 500.00 − eligible 120.00 (standard, expedited)"
    assert invoice.total == D("600.00")


def test_case_e_site_onboarded_mid_month_owes_a_prorated_minimum() -> None:
    contract = example_contract(active_from="2026-03-16")
    invoice = rate_invoice(contract, MARCH, {}, BillingLedger())
    (site,) = invoice.sites
    assert summary(site.lines) == [("minimum_shortfall", None, "258.06", True)]
    assert (
        site.lines[0].explanation
        == "minimum 500.00 × 16/31 days = 258.06 − eligible 0.00 (standard, expedited)"
    )
    assert invoice.total == D("258.06")


def test_case_f_late_usage_is_adjusted_on_the_next_invoice() -> None:
    contract = example_contract()
    march_usage = usage(**A_USAGE)
    march = rate_invoice(contract, MARCH, {MARCH: march_usage}, BillingLedger())
    assert march.total == D("500.00")
    ledger = record_invoice(BillingLedger(), march)

    late = usage(standard=350, expedited=40, review=100)  # 50 standard arrived after issue
    april_period = Period(2026, 4)
    april = rate_invoice(contract, april_period, {MARCH: late, april_period: usage(standard=500)}, ledger)
    (site,) = april.sites
    adjustments = [line for line in site.lines if line.kind == "prior_period_adjustment"]
    assert summary(tuple(adjustments)) == [
        ("prior_period_adjustment", "standard", "60.00", True),
        ("prior_period_adjustment", None, "-40.00", True),
    ]
    assert all(line.period == MARCH for line in adjustments)
    assert adjustments[0].quantity == D("50")
    assert adjustments[0].explanation == "late usage for 2026-03"
    assert april.amount_of("prior_period_adjustment") == D("20.00")
    # April's own usage (500 × 1.20 = 600.00) meets the minimum; the adjustment adds 20.00.
    assert april.total == D("620.00")
    data = invoice_to_data(april)
    assert data["totals"]["prior_period_adjustment"] == "20.00"
    assert data["sites"][0]["billed_to_date"] == "1120.00"
