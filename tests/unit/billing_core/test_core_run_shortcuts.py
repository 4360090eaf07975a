"""The shortcuts that make a large run fast give the same results as the plain definitions:
a run's ledger builder, terms resolved once per version chain, printing quantities, rounding."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

import pytest
from core_builders import D, usage

from billing_core import (
    CURRENCIES,
    BillingLedger,
    Contract,
    Period,
    RatingError,
    UsageAggregate,
    UsageKey,
    format_quantity,
    parse_contract,
    prorate,
    rate_run_with_ledger,
    record_invoice,
    round_amount,
    terms_for,
)
from billing_core.collector import PROMOTE_AT, collector_paused
from billing_core.contract import default_chain, site_terms
from billing_core.ledger import LedgerBuilder, RatedCharges
from billing_core.money import line_amount

JULY = Period(2026, 7)


def repriced_contract() -> Contract:
    """Two sites, contract years from July, a default repricing in October and a site
    repricing in January (the second contract year's cap is lower than what is billed)."""
    data: dict[str, Any] = {
        "tenant": "acme",
        "name": "ACME",
        "currency": "USD",
        "contract_start": "2026-07-01",
        "defaults": [
            {"effective_from": "2026-07-01", "rates": {"standard": "1.20", "expedited": "2.50"}},
            {"effective_from": "2026-10-01", "rates": {"standard": "1.25"}},
        ],
        "sites": [
            {
                "id": "nyc",
                "pricing": [
                    {
                        "effective_from": "2026-07-01",
                        "minimum": {"amount": "500.00", "categories": ["standard"]},
                        "annual_cap": "3000.00",
                    },
                    {"effective_from": "2027-01-01", "rates": {"expedited": "2.75"}, "annual_cap": "100.00"},
                ],
            },
            {"id": "bos", "active_from": "2026-08-16", "pricing": []},
        ],
    }
    return parse_contract(data, source="repriced.yaml")


def year_of_usage(extra: int = 0) -> dict[Period, dict[UsageKey, UsageAggregate]]:
    months = [JULY.plus(i) for i in range(12)]
    return {
        period: {
            **usage("nyc", standard=100 + 7 * i + extra, expedited=40 + i),
            **usage("bos", standard=30 + i, expedited=D("0.5") + extra),
        }
        for i, period in enumerate(months)
    }


def recorded_one_by_one(start: BillingLedger, invoices: Iterator[Any] | list[Any]) -> BillingLedger:
    ledger = start
    for invoice in invoices:
        ledger = record_invoice(ledger, invoice)
    return ledger


def test_a_run_ledger_equals_recording_its_invoices_one_by_one() -> None:
    contract = repriced_contract()
    first_half = {p: u for p, u in year_of_usage().items() if p < JULY.plus(6)}
    invoices, ledger = rate_run_with_ledger(contract, first_half, JULY.plus(5))
    assert ledger == recorded_one_by_one(BillingLedger(), invoices)

    # Late usage for the first half arrives with the second half: adjustments and cap
    # credits of earlier periods go through the builder as well.
    later, after = rate_run_with_ledger(contract, year_of_usage(extra=3), JULY.plus(11), ledger)
    assert any(line.kind == "prior_period_adjustment" for line in later[0].sites[0].lines)
    assert any(line.kind == "cap_credit" for invoice in later for s in invoice.sites for line in s.lines)
    assert after == recorded_one_by_one(ledger, later)
    assert dict(after.billed) == dict(recorded_one_by_one(BillingLedger(), [*invoices, *later]).billed)


def test_recording_an_invoice_leaves_the_given_ledger_as_it_was() -> None:
    contract = repriced_contract()
    [july], ledger = rate_run_with_ledger(contract, year_of_usage(), JULY)
    snapshot = (dict(ledger.invoiced), dict(ledger.charges), dict(ledger.billed), dict(ledger.unbillable))
    [august], _ = rate_run_with_ledger(contract, year_of_usage(), JULY.next(), ledger)
    recorded = record_invoice(ledger, august)
    assert (
        dict(ledger.invoiced),
        dict(ledger.charges),
        dict(ledger.billed),
        dict(ledger.unbillable),
    ) == snapshot
    assert set(recorded.invoiced) == {JULY, JULY.next()} and july.number in recorded.invoiced.values()


def test_each_line_is_priced_with_the_terms_in_force_for_its_period() -> None:
    contract = repriced_contract()
    invoices, _ = rate_run_with_ledger(contract, year_of_usage(), JULY.plus(11))
    checked = 0
    prices = set()
    for invoice in invoices:
        for section in invoice.sites:
            terms = terms_for(contract, section.site, invoice.period)
            assert terms is not None
            for line in section.lines:
                if line.kind == "usage" and line.billed:
                    assert line.unit_price == terms.rates[line.category or ""]
                    prices.add(line.unit_price)
                    checked += 1
    assert checked == 12 * 2 + 11 * 2  # bos starts mid-August: no July lines
    assert prices == {D("1.20"), D("1.25"), D("2.50"), D("2.75")}


def test_one_default_chain_serves_every_site_without_being_changed() -> None:
    contract = repriced_contract()
    for period in [JULY.previous(), JULY, JULY.plus(3), JULY.plus(6), JULY.plus(14)]:
        defaults = default_chain(contract, period)
        before = None if defaults is None else defaults.copy()
        for site in contract.sites:
            if period >= contract.start_period:
                assert site_terms(site, period, defaults) == terms_for(contract, site.id, period)
        assert defaults == before


def test_a_run_leaves_the_garbage_collector_as_it_found_it() -> None:
    contract = repriced_contract()
    assert gc.isenabled()
    rate_run_with_ledger(contract, year_of_usage(), JULY.plus(2))
    assert gc.isenabled()
    with pytest.raises(RatingError):
        rate_run_with_ledger(contract, {JULY: usage("nyc", archival=1)}, JULY)
    assert gc.isenabled()
    gc.disable()
    try:
        rate_run_with_ledger(contract, year_of_usage(), JULY.plus(2))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_paused_block_hands_what_it_keeps_to_the_oldest_generation() -> None:
    assert gc.isenabled()
    with collector_paused():
        kept = [[] for _ in range(PROMOTE_AT)]
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert gc.get_count()[0] < PROMOTE_AT // 10 and gc.is_tracked(kept[0])
    assert any(item is kept for item in gc.get_objects(generation=2))
    with pytest.raises(ValueError), collector_paused():  # a block that raised is only resumed
        raise ValueError("stop")
    assert gc.isenabled()


def test_a_paused_block_leaves_frozen_objects_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector_paused():
            kept = [[] for _ in range(PROMOTE_AT)]
        assert gc.isenabled() and gc.get_freeze_count() == frozen and kept
    finally:
        gc.unfreeze()


@pytest.mark.parametrize(
    "text",
    [
        "300",
        "10",
        "1230.000",
        "100.5",
        "2.50000",
        "0.0",
        "1.5",
        "12.0",
        "0.50",
        "0.000001",
        "1E+3",
        "1.2E-7",
        "-2.50",
        "-0.000",
        "0",
        "999999999999.999999",
        "7" * 160 + ".5",
    ],
)
def test_printing_a_quantity_equals_the_normalised_plain_form(text: str) -> None:
    quantity = Decimal(text)
    expected = "0" if quantity == 0 else format(quantity.normalize(Context(prec=200)), "f")
    assert format_quantity(quantity) == expected


@pytest.mark.parametrize("currency", ["USD", "JPY"])
@pytest.mark.parametrize("amount", ["500", "499.995", "0.005", "1234.56789", "0", "0.004999"])
def test_prorating_a_whole_period_rounds_like_the_exact_ratio(currency: str, amount: str) -> None:
    money = CURRENCIES[currency]
    for days in (28, 30, 31):
        whole = prorate(D(amount), days, days, money)
        # The general path on the same ratio, written as a fraction that is not 1/1.
        via_ratio = prorate(D(amount) * 2, days, 2 * days, money)
        assert whole == via_ratio
        assert whole.as_tuple() == via_ratio.as_tuple()


@pytest.mark.parametrize("currency", ["USD", "JPY"])
@pytest.mark.parametrize(
    "value", ["0.005", "-0.005", "2.675", "-2.675", "0.0049999", "1E+3", "-0", "0E-9", "123456789.123456785"]
)
def test_rounding_equals_decimal_quantize_half_up(currency: str, value: str) -> None:
    money = CURRENCIES[currency]

    def plain(number: Decimal) -> tuple[Any, ...]:
        return tuple(number.quantize(money.quantum, ROUND_HALF_UP, Context(prec=200)).as_tuple())

    assert tuple(round_amount(D(value), money).as_tuple()) == plain(D(value))
    assert tuple(line_amount(D(value), D("1.5"), money).as_tuple()) == plain(D(value) * D("1.5"))


def test_the_ledger_copies_rated_charges_that_are_not_read_only() -> None:
    contract = repriced_contract()
    [july], _ = rate_run_with_ledger(contract, year_of_usage(), JULY)
    nyc = next(section for section in july.sites if section.site == "nyc")
    amounts = {"standard": nyc.amount_of("usage")}
    quantities = {"standard": D(100)}
    builder = LedgerBuilder(BillingLedger())
    builder.record(july, {"nyc": RatedCharges(amounts, quantities, None, nyc.total, True)})
    amounts["standard"] = D(0)
    quantities["standard"] = D(0)
    charges = builder.freeze().charges[("nyc", JULY)]
    assert dict(charges.amounts) == {"standard": nyc.amount_of("usage")}
    assert dict(charges.quantities) == {"standard": D(100)}
