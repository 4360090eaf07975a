"""Display formatting of invoice amounts: grouping and symbols only, digits never changed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_io.pdf_errors import InvoiceRenderError
from billing_io.pdf_money import format_money, format_quantity, format_signed_money


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("1234.56", "USD", "$1,234.56"),
        ("1234567.00", "USD", "$1,234,567.00"),
        ("0.00", "USD", "$0.00"),
        ("-300.00", "USD", "−$300.00"),
        ("-0.00", "USD", "$0.00"),
        ("58440.00", "GBP", "£58,440.00"),
        ("99.90", "EUR", "€99.90"),
        ("125000", "JPY", "¥125,000"),
        ("12.50", "CHF", "CHF 12.50"),
        ("0.000125", "USD", "$0.000125"),
        (1234, "USD", "$1,234"),
    ],
)
def test_format_money(value: object, currency: str, expected: str) -> None:
    assert format_money(value, currency, "x") == expected


def test_signed_money_marks_positive_adjustments() -> None:
    assert format_signed_money("60.00", "USD", "x") == "+$60.00"
    assert format_signed_money("-40.00", "USD", "x") == "−$40.00"
    assert format_signed_money("0.00", "USD", "x") == "$0.00"


def test_quantities_keep_their_fraction_digits() -> None:
    assert format_quantity("1000000.000001", "q") == "1,000,000.000001"
    assert format_quantity(Decimal("300"), "q") == "300"


@pytest.mark.parametrize("bad", [1.5, True, "abc", "NaN", "Infinity", None, [1]])
def test_non_decimal_amounts_are_refused_with_their_location(bad: object) -> None:
    with pytest.raises(InvoiceRenderError, match=r"^sites\[2\]\.total"):
        format_money(bad, "USD", "sites[2].total")
