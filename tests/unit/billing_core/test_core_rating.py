"""Rating edge cases: windows, caps, unbillable usage, late usage across contract years, runs."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from core_builders import (
    MARCH,
    SITE,
    example_contract,
    example_contract_data,
    july_contract_data,
    merged,
    summary,
    usage,
)

from billing_core import (
    BillingLedger,
    Period,
    PricingVersion,
    RatingError,
    parse_contract,
    rate_invoice,
    rate_run,
    rate_run_with_ledger,
    record_invoice,
    what_if,
)

APRIL = Period(2026, 4)


def test_offboarding_mid_month_prorates_the_minimum_and_stops_billing_after() -> None:
    contract = example_contract(active_until="2026-03-11")  # active 1–10 March
    invoice = rate_invoice(contract, MARCH, {MARCH: usage(standard=50)}, BillingLedger())
    (site,) = invoice.sites
    # minimum 500.00 × 10/31 = 161.29; eligible 60.00
    assert summary(site.lines) == [
        ("usage", "standard", "60.00", True),
        ("minimum_shortfall", None, "101.29", True),
    ]
    ledger = record_invoice(BillingLedger(), invoice)
    april = rate_invoice(contract, APRIL, {APRIL: usage(standard=10)}, ledger)
    assert april.sites == ()
    assert april.total == D("0.00")
    [unbillable] = april.unbillable
    assert (unbillable.site, unbillable.category, unbillable.quantity, unbillable.reason) == (
        SITE,
        "standard",
        D(10),
        "site not active in period",
    )


def test_onboarding_mid_month_with_usage() -> None:
    contract = example_contract(active_from="2026-03-16")
    invoice = rate_invoice(contract, MARCH, {MARCH: usage(expedited=40)}, BillingLedger())
    # minimum 258.06 prorated, eligible 100.00
    assert summary(invoice.sites[0].lines) == [
        ("usage", "expedited", "100.00", True),
        ("minimum_shortfall", None, "158.06", True),
    ]
    february = rate_invoice(contract, Period(2026, 2), {}, BillingLedger())
    assert february.sites == ()


def test_cap_lowered_below_what_was_billed_bills_nothing_and_refunds_nothing() -> None:
    data = example_contract_data()
    data["sites"][0]["pricing"].append({"effective_from": "2026-04-01", "annual_cap": "40000.00"})
    contract = parse_contract(data)
    ledger = BillingLedger(billed={(SITE, Period(2026, 1)): D("50000.00")})
    invoice = rate_invoice(contract, APRIL, {APRIL: usage(standard=1000)}, ledger)
    (site,) = invoice.sites
    assert summary(site.lines) == [
        ("usage", "standard", "1200.00", True),
        ("cap_credit", None, "-1200.00", True),
    ]
    assert site.total == D("0.00")
    assert site.billed_to_date == D("50000.00")
    assert site.cap_remaining == D("0.00")


def test_unknown_site_usage_is_reported_not_billed() -> None:
    invoice = rate_invoice(
        example_contract(),
        MARCH,
        {MARCH: merged(usage(standard=500), usage("sfo-09", standard=7))},
        BillingLedger(),
    )
    assert [s.site for s in invoice.sites] == [SITE]
    assert invoice.total == D("600.00")
    [item] = invoice.unbillable
    assert (item.site, item.quantity, item.events, item.reason) == ("sfo-09", D(7), 7, "unknown site")


def test_site_with_no_version_in_force_is_unpriced() -> None:
    data = example_contract_data()
    data["sites"][0]["pricing"][0]["effective_from"] = "2026-04-01"
    invoice = rate_invoice(parse_contract(data), MARCH, {MARCH: usage(standard=5)}, BillingLedger())
    assert invoice.sites == ()
    assert [u.reason for u in invoice.unbillable] == ["no pricing in force"]


def test_usage_without_a_rate_fails_naming_tenant_site_category_and_period() -> None:
    with pytest.raises(RatingError) as caught:
        rate_invoice(example_contract(), MARCH, {MARCH: usage(archival=3)}, BillingLedger())
    error = caught.value
    assert (error.tenant, error.site, error.category, error.period) == ("acme", SITE, "archival", "2026-03")
    assert (
        "acme" in str(error)
        and "nyc-01" in str(error)
        and "archival" in str(error)
        and "2026-03" in str(error)
    )


def test_disabled_category_without_a_rate_is_shown_unbilled() -> None:
    data = example_contract_data()
    data["sites"][0]["pricing"][0]["disabled"] = ["review", "audit"]
    invoice = rate_invoice(
        parse_contract(data), MARCH, {MARCH: usage(audit=4, standard=500)}, BillingLedger()
    )
    lines = invoice.sites[0].lines
    assert summary(lines) == [("usage", "audit", "0.00", False), ("usage", "standard", "600.00", True)]
    assert lines[0].unit_price is None


def test_period_already_invoiced_is_refused() -> None:
    contract = example_contract()
    ledger = record_invoice(BillingLedger(), rate_invoice(contract, MARCH, {}, BillingLedger()))
    with pytest.raises(ValueError, match="already invoiced"):
        rate_invoice(contract, MARCH, {}, ledger)


def test_run_carries_billed_to_date_and_the_cap_resets_each_contract_year() -> None:
    contract = parse_contract(july_contract_data())
    monthly = usage(standard=20000)  # 24000.00 a month against a 60000.00 cap
    months = [Period(2026, 7).plus(i) for i in range(13)]
    invoices = rate_run(contract, dict.fromkeys(months, monthly), through=Period(2027, 7))
    assert [str(i.period) for i in invoices] == [str(p) for p in months]
    assert [str(i.total) for i in invoices[:4]] == ["24000.00", "24000.00", "12000.00", "0.00"]
    assert [str(i.sites[0].billed_to_date) for i in invoices[:4]] == [
        "24000.00",
        "48000.00",
        "60000.00",
        "60000.00",
    ]
    assert invoices[2].sites[0].lines[-1].contract_year == "2026-07/2027-06"
    july_2027 = invoices[12]
    assert july_2027.contract_year == "2027-07/2028-06"
    assert july_2027.total == D("24000.00")
    assert july_2027.sites[0].cap_remaining == D("36000.00")


def test_late_usage_for_an_earlier_contract_year_is_capped_against_that_year() -> None:
    contract = example_contract()
    december, january = Period(2026, 12), Period(2027, 1)
    near_cap = BillingLedger(billed={(SITE, Period(2026, 1)): D("59900.00")})
    dec_invoice = rate_invoice(contract, december, {december: usage(standard=300, expedited=40)}, near_cap)
    assert dec_invoice.total == D("100.00")  # 500.00 capped to the 100.00 left
    ledger = record_invoice(near_cap, dec_invoice)

    late = {december: usage(standard=400, expedited=40), january: usage(standard=500)}
    jan_invoice = rate_invoice(contract, january, late, ledger)
    (site,) = jan_invoice.sites
    assert summary(site.lines) == [
        ("usage", "standard", "600.00", True),
        ("prior_period_adjustment", "standard", "120.00", True),
        ("prior_period_adjustment", None, "-40.00", True),
        ("cap_credit", None, "-80.00", True),
    ]
    assert [line.contract_year for line in site.lines[1:]] == ["2026-01/2026-12"] * 3
    assert "2026-01/2026-12" in site.lines[-1].explanation
    assert site.total == D("600.00")
    assert site.contract_year == "2027-01/2027-12"
    assert site.billed_to_date == D("600.00")

    after = record_invoice(ledger, jan_invoice)
    assert after.billed[(SITE, Period(2026, 1))] == D("60000.00")
    assert after.billed[(SITE, Period(2027, 1))] == D("600.00")
    assert after.charges_for(SITE, december).amounts["standard"] == D("480.00")
    assert after.charges_for(SITE, december).shortfall == D("0.00")


def test_rerating_with_no_late_usage_adds_no_adjustment() -> None:
    contract = example_contract()
    usage_by_period = {Period(2026, m): usage(standard=100 * m, review=m) for m in range(1, 4)}
    invoices, ledger = rate_run_with_ledger(contract, usage_by_period, through=MARCH)
    assert len(invoices) == 3
    april = rate_invoice(contract, APRIL, usage_by_period, ledger)
    assert april.amount_of("prior_period_adjustment") == D("0")
    assert all(line.kind != "prior_period_adjustment" for s in april.sites for line in s.lines)


def test_a_second_late_batch_is_adjusted_against_the_first_adjustment() -> None:
    contract = example_contract()
    march_only = {MARCH: usage(standard=300, expedited=40)}
    ledger = record_invoice(BillingLedger(), rate_invoice(contract, MARCH, march_only, BillingLedger()))
    first_late = {MARCH: usage(standard=350, expedited=40)}
    april = rate_invoice(contract, APRIL, first_late, ledger)
    ledger = record_invoice(ledger, april)
    second_late = {MARCH: usage(standard=360, expedited=40)}
    may = rate_invoice(contract, Period(2026, 5), second_late, ledger)
    adjustments = [line for line in may.sites[0].lines if line.kind == "prior_period_adjustment"]
    assert summary(tuple(adjustments)) == [("prior_period_adjustment", "standard", "12.00", True)]
    assert adjustments[0].quantity == D("10")


def test_usage_before_the_contract_start_is_reported_once() -> None:
    contract = example_contract()
    usage_by_period = {Period(2025, 12): usage(standard=9), Period(2026, 1): usage(standard=500)}
    invoices = rate_run(contract, usage_by_period, through=Period(2026, 2))
    assert [(u.period, u.reason) for u in invoices[0].unbillable] == [
        (Period(2025, 12), "before contract start")
    ]
    assert invoices[1].unbillable == ()


def test_event_count_counts_distinct_events_on_usage_lines() -> None:
    invoice = rate_invoice(
        example_contract(),
        MARCH,
        {MARCH: merged(usage(standard=300, review=5), usage("x", standard=2))},
        BillingLedger(),
    )
    assert invoice.event_count == 305


def test_yen_invoice_has_whole_amounts() -> None:
    data = example_contract_data()
    data["currency"] = "JPY"
    data["sites"][0]["pricing"][0].update(
        {
            "rates": {"standard": "12.5", "expedited": "250"},
            "minimum": {"amount": "50000"},
            "annual_cap": None,
        }
    )
    invoice = rate_invoice(
        parse_contract(data), MARCH, {MARCH: usage(standard=3, expedited=1)}, BillingLedger()
    )
    # 3 × 12.5 = 37.5 → 38; minimum counts all categories: 50000 − 288
    assert summary(invoice.sites[0].lines) == [
        ("usage", "expedited", "250", True),
        ("usage", "standard", "38", True),
        ("minimum_shortfall", None, "49712", True),
    ]
    assert invoice.sites[0].lines[-1].explanation == "minimum 50000 − eligible 288 (all categories)"


def test_what_if_compares_current_and_proposed_totals() -> None:
    contract = example_contract()
    usage_by_period = {MARCH: usage(standard=1000), APRIL: usage(standard=100)}
    proposed = PricingVersion(effective_from=APRIL.first_day, rates={"standard": D("1.00")})
    rows = what_if(contract, SITE, proposed, [MARCH, APRIL], usage_by_period)
    assert [(str(r.period), str(r.current), str(r.proposed), str(r.difference)) for r in rows] == [
        ("2026-03", "1200.00", "1200.00", "0.00"),
        ("2026-04", "500.00", "500.00", "0.00"),  # 100 units are below the minimum either way
    ]
    bigger = {MARCH: usage(standard=1000), APRIL: usage(standard=1000)}
    rows = what_if(contract, SITE, proposed, [MARCH, APRIL], bigger)
    assert [str(r.difference) for r in rows] == ["0.00", "-200.00"]


def test_a_run_from_an_issued_ledger_adjusts_late_usage_once() -> None:
    contract = example_contract()
    issued = {MARCH: usage(standard=300, expedited=40)}
    _, ledger = rate_run_with_ledger(contract, issued, through=MARCH)
    later = {MARCH: usage(standard=350, expedited=40), APRIL: usage(standard=500), Period(2026, 5): usage()}
    invoices = rate_run(contract, later, through=Period(2026, 5), ledger=ledger)
    assert [str(i.period) for i in invoices] == ["2026-04", "2026-05"]
    assert [str(i.amount_of("prior_period_adjustment")) for i in invoices] == ["20.00", "0"]


def test_cap_change_exactly_at_the_contract_year_boundary_applies_to_the_new_year() -> None:
    contract = parse_contract(july_contract_data(next_year_cap="70000.00"))
    months = [Period(2026, 7).plus(i) for i in range(13)]
    invoices = rate_run(contract, dict.fromkeys(months, usage(standard=50000)), through=Period(2027, 7))
    june, july = invoices[-2].sites[0], invoices[-1].sites[0]
    assert (june.contract_year, str(june.billed_to_date), str(june.cap_remaining)) == (
        "2026-07/2027-06",
        "60000.00",
        "0.00",
    )
    assert (july.contract_year, str(july.total), str(july.cap_remaining)) == (
        "2027-07/2028-06",
        "60000.00",
        "10000.00",
    )
