"""Credit notes: reversing an issued invoice in full or in part, the limits, and the ledger effect."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

import pytest
from core_builders import MARCH, SITE, D, example_contract_data, merged, usage

from billing_core import (
    BillingLedger,
    CreditLimitError,
    CreditNote,
    CreditNoteError,
    Invoice,
    Period,
    SiteCredit,
    UsageByPeriod,
    canonical_json,
    credit_invoice,
    credit_note_from_data,
    credit_note_to_data,
    invoice_checksum,
    invoice_to_data,
    parse_contract,
    rate_invoice,
    record_credit_note,
    record_invoice,
    verify_invoice_data,
)

APRIL = Period(2026, 4)
YEAR_START = Period(2026, 1)
BOS = "bos-02"


def two_site_contract_data(currency: str = "USD") -> dict[str, Any]:
    data: dict[str, Any] = example_contract_data()
    data["currency"] = currency
    data["sites"].append(
        {
            "id": BOS,
            "name": "Boston 02",
            "pricing": [
                {
                    "effective_from": "2026-01-01",
                    "rates": {"standard": D("0.75"), "expedited": D("1.333333")},
                    "minimum": {"amount": D("300")},
                }
            ],
        }
    )
    return data


MARCH_USAGE = merged(usage(standard=300, expedited=40, review=100), usage(BOS, standard="412.5", expedited=7))


def issued(invoice: Invoice) -> Invoice:
    return dataclasses.replace(invoice, status="issued")


def march_invoice(
    currency: str = "USD", billed_so_far: str = "0", usage_by_period: UsageByPeriod | None = None
) -> tuple[Invoice, BillingLedger]:
    """March rated and issued; the ledger returned already holds it."""
    contract = parse_contract(two_site_contract_data(currency), source="two-sites.yaml")
    before = BillingLedger(billed={(SITE, YEAR_START): D(billed_so_far)})
    invoice = issued(
        rate_invoice(contract, MARCH, usage_by_period or {MARCH: MARCH_USAGE}, before, number="T-2026-000001")
    )
    return invoice, record_invoice(before, invoice)


def amounts(note: CreditNote) -> dict[str, list[tuple[str, str]]]:
    return {site.site: [(line.kind, str(line.amount)) for line in site.lines] for site in note.sites}


def test_full_credit_negates_every_billed_line_and_sums_to_minus_the_invoice_total() -> None:
    invoice, ledger = march_invoice()
    note = credit_invoice(invoice, number="T-2026-000002", reason="disputed volumes", ledger=ledger)

    # nyc-01: 360.00 + 100.00 + shortfall 40.00 (review is not billed, so not credited);
    # bos-02: 412.5 × 0.75 = 309.375 -> 309.38, 7 × 1.333333 = 9.333331 -> 9.33, minimum already met.
    assert amounts(note) == {
        SITE: [("usage", "-100.00"), ("usage", "-360.00"), ("minimum_shortfall", "-40.00")],
        BOS: [("usage", "-9.33"), ("usage", "-309.38")],
    }
    assert invoice.total == D("818.71")
    assert note.total == -invoice.total
    data = credit_note_to_data(note)
    assert data["total"] == "-818.71"
    assert data["references"] == invoice.number and data["document_type"] == "credit_note"
    assert data["summary"]["sites"] == {SITE: "-500.00", BOS: "-318.71"}
    assert data["totals"]["usage"] == "-778.71" and data["totals"]["minimum_shortfall"] == "-40.00"
    assert data["credited_invoice"] == {
        "number": invoice.number,
        "total": "818.71",
        "credited_before": "0.00",
        "credited_after": "818.71",
    }
    quantities = [line.get("quantity") for line in data["sites"][1]["lines"]]
    assert quantities == ["-7", "-412.5"]
    assert verify_invoice_data(data) == []


def test_credit_amounts_keep_the_currency_minor_digits() -> None:
    invoice, ledger = march_invoice("JPY")
    data = credit_note_to_data(credit_invoice(invoice, number="T-2", reason="goodwill", ledger=ledger))
    lines = [line["amount"] for site in data["sites"] for line in site["lines"]]
    # 412.5 × 0.75 = 309.375 -> 309 yen; 7 × 1.333333 = 9.33 -> 9 yen; 300 × 1.20 = 360.
    assert lines == ["-100", "-360", "-40", "-9", "-309"]
    assert data["total"] == "-818"
    assert verify_invoice_data(data) == []


def test_checksum_covers_the_canonical_json_and_the_data_round_trips() -> None:
    invoice, ledger = march_invoice()
    note = credit_invoice(invoice, number="T-2", reason="wrong site mapping", ledger=ledger, status="issued")
    data = credit_note_to_data(note)
    body = canonical_json(data)
    reread = json.loads(body, parse_float=Decimal)
    assert reread["verification"]["checksum"] == invoice_checksum(reread)
    assert credit_note_from_data(reread) == note

    tampered = json.loads(body, parse_float=Decimal)
    tampered["sites"][0]["lines"][0]["amount"] = "-90.00"
    assert "verification.checksum: does not match the canonical JSON" in verify_invoice_data(tampered)


def test_crediting_twice_beyond_the_total_is_refused() -> None:
    invoice, ledger = march_invoice()
    first = credit_invoice(invoice, number="T-2", reason="duplicate billing", ledger=ledger)
    with pytest.raises(CreditLimitError, match="no site left to credit in full"):
        credit_invoice(invoice, number="T-3", reason="again", ledger=ledger, earlier=[first])
    with pytest.raises(CreditLimitError, match=r"already credited 500\.00.*at most 0\.00"):
        credit_invoice(
            invoice, number="T-3", reason="again", ledger=ledger, earlier=[first], sites=[SiteCredit(SITE)]
        )
    with pytest.raises(CreditLimitError, match=r"0\.01 is more than the 0\.00 left"):
        credit_invoice(
            invoice,
            number="T-3",
            reason="again",
            ledger=ledger,
            earlier=[first],
            sites=[SiteCredit(SITE, D("0.01"))],
        )


def test_partial_credits_add_up_to_at_most_the_site_and_the_invoice_total() -> None:
    invoice, ledger = march_invoice()
    part = credit_invoice(
        invoice, number="T-2", reason="outage 3 March", ledger=ledger, sites=[SiteCredit(SITE, D("120.50"))]
    )
    assert amounts(part) == {SITE: [("credit", "-120.50")]}
    assert part.sites[0].lines[0].explanation == "outage 3 March"
    ledger = record_credit_note(ledger, part)

    # A full reversal of a site already partly credited would give back more than it billed.
    with pytest.raises(CreditLimitError, match=r"already credited 120\.50.*at most 379\.50"):
        credit_invoice(
            invoice, number="T-3", reason="r", ledger=ledger, earlier=[part], sites=[SiteCredit(SITE)]
        )
    with pytest.raises(CreditLimitError, match=r"379\.51 is more than the 379\.50 left"):
        credit_invoice(
            invoice,
            number="T-3",
            reason="r",
            ledger=ledger,
            earlier=[part],
            sites=[SiteCredit(SITE, D("379.51"))],
        )

    # Without sites, what no credit touched yet is reversed: bos-02 only.
    rest = credit_invoice(invoice, number="T-3", reason="r", ledger=ledger, earlier=[part])
    assert [site.site for site in rest.sites] == [BOS] and rest.total == D("-318.71")
    last = credit_invoice(
        invoice,
        number="T-4",
        reason="r",
        ledger=ledger,
        earlier=[part, rest],
        sites=[SiteCredit(SITE, D("379.50"))],
    )
    assert part.total + rest.total + last.total == -invoice.total
    assert credit_note_to_data(last)["credited_invoice"]["credited_after"] == "818.71"


@pytest.mark.parametrize(
    ("sites", "reason", "message"),
    [
        ([SiteCredit("sfo-04")], "r", "the invoice has no such site"),
        ([SiteCredit(SITE), SiteCredit(SITE)], "r", "the site is named twice"),
        ([SiteCredit(SITE, D("10.005"))], "r", "more than the 2 decimals of USD"),
        ([SiteCredit(SITE, D("0"))], "r", "must be above zero"),
        ([SiteCredit(SITE, D("-5.00"))], "r", "must be above zero"),
        (None, "   ", "needs a reason"),
    ],
)
def test_bad_requests_say_what_is_wrong(sites: list[SiteCredit] | None, reason: str, message: str) -> None:
    invoice, ledger = march_invoice()
    with pytest.raises(CreditNoteError, match=message):
        credit_invoice(invoice, number="T-2", reason=reason, ledger=ledger, sites=sites)


def test_a_draft_invoice_cannot_be_credited() -> None:
    invoice, ledger = march_invoice()
    with pytest.raises(CreditNoteError, match="only an issued invoice"):
        credit_invoice(dataclasses.replace(invoice, status="draft"), number="T-2", reason="r", ledger=ledger)


def test_an_invoice_that_billed_nothing_cannot_be_credited() -> None:
    # Case C: the cap was already reached, so the March lines are cancelled by a cap credit.
    invoice, ledger = march_invoice(billed_so_far="60000.00")
    with pytest.raises(CreditNoteError, match="give back nothing"):
        credit_invoice(invoice, number="T-2", reason="r", ledger=ledger, sites=[SiteCredit(SITE)])


def test_reversing_a_cap_credit_returns_the_year_to_what_was_billed_before() -> None:
    invoice, ledger = march_invoice(billed_so_far="59800.00")  # case B for nyc-01
    note = credit_invoice(invoice, number="T-2", reason="r", ledger=ledger, sites=[SiteCredit(SITE)])
    assert amounts(note)[SITE][-1] == ("cap_credit", "300.00")
    assert note.total == D("-200.00")
    assert note.sites[0].billed_to_date == D("59800.00")
    assert record_credit_note(ledger, note).billed[(SITE, YEAR_START)] == D("59800.00")


def test_the_next_period_counts_the_credit_in_billed_to_date_and_cap() -> None:
    invoice, ledger = march_invoice(billed_so_far="59500.00")
    assert invoice.sites[0].billed_to_date == D("60000.00")  # nyc-01 billed its 500.00 in full
    contract = parse_contract(two_site_contract_data(), source="two-sites.yaml")
    april_usage = {MARCH: MARCH_USAGE, APRIL: usage(standard=500)}

    without_credit = rate_invoice(contract, APRIL, april_usage, ledger)
    assert without_credit.sites[0].total == D("0.00")  # the cap is reached

    part = credit_invoice(
        invoice, number="T-2", reason="r", ledger=ledger, sites=[SiteCredit(SITE, D("150.00"))]
    )
    assert part.sites[0].billed_to_date == D("59850.00")
    credited = record_credit_note(ledger, part)
    april = rate_invoice(contract, APRIL, april_usage, credited)
    nyc = april.sites[0]
    # 500 × 1.20 = 600.00, of which only the 150.00 freed by the credit is allowed under the cap.
    assert nyc.total == D("150.00")
    assert nyc.billed_to_date == D("60000.00")
    # The credited March usage is not billed again as a prior-period adjustment.
    assert all(line.kind != "prior_period_adjustment" for line in nyc.lines)


def test_late_usage_after_a_full_credit_bills_only_the_late_part() -> None:
    invoice, ledger = march_invoice()
    note = credit_invoice(invoice, number="T-2", reason="r", ledger=ledger)
    credited = record_credit_note(ledger, note)
    assert credited.billed[(SITE, YEAR_START)] == D("0.00")
    assert credited.billed[(BOS, YEAR_START)] == D("0.00")

    contract = parse_contract(two_site_contract_data(), source="two-sites.yaml")
    late = merged(MARCH_USAGE, usage(standard=350, expedited=40, review=100))  # case F: 50 standard late
    april = rate_invoice(contract, APRIL, {MARCH: late, APRIL: {}}, credited)
    nyc = april.sites[0]
    adjustments = [
        (line.category, str(line.amount)) for line in nyc.lines if line.kind == "prior_period_adjustment"
    ]
    assert adjustments == [("standard", "60.00"), (None, "-40.00")]
    # April's own minimum (500.00) plus the +20.00 adjustment, counted from the credited zero.
    assert nyc.billed_to_date == D("520.00")


def test_a_credit_note_of_another_invoice_is_not_an_earlier_credit() -> None:
    invoice, ledger = march_invoice()
    other = credit_invoice(invoice, number="T-2", reason="r", ledger=ledger)
    renamed = dataclasses.replace(invoice, number="T-2026-000009")
    with pytest.raises(CreditNoteError, match="credits T-2026-000001, not T-2026-000009"):
        credit_invoice(renamed, number="T-3", reason="r", ledger=ledger, earlier=[other])


def test_invoice_json_is_not_read_as_a_credit_note() -> None:
    invoice, _ = march_invoice()
    with pytest.raises(CreditNoteError, match="is not a credit note"):
        credit_note_from_data(invoice_to_data(invoice))
