"""Rounding, formatting and number limits."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from billing_core import (
    Period,
    UsageEvent,
    aggregate_events,
    currency_of,
    format_amount,
    format_quantity,
    format_unit_price,
    prorate,
    quantity_problem,
    round_amount,
    unit_price_problem,
)

USD = currency_of("USD")
JPY = currency_of("JPY")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.005", "0.01"), ("0.004999", "0.00"), ("2.675", "2.68"), ("1.005", "1.01"), ("-0.005", "-0.01")],
)
def test_half_up_at_the_half_cent(value: str, expected: str) -> None:
    assert format_amount(round_amount(D(value), USD), USD) == expected


@pytest.mark.parametrize(("value", "expected"), [("0.5", "1"), ("2.5", "3"), ("1234.49", "1234")])
def test_yen_has_no_minor_digits(value: str, expected: str) -> None:
    assert format_amount(round_amount(D(value), JPY), JPY) == expected


def test_format_amount_refuses_an_unrounded_amount() -> None:
    with pytest.raises(ValueError, match="not rounded"):
        format_amount(D("1.234"), USD)


def test_amounts_always_show_the_minor_digits() -> None:
    assert format_amount(D("0"), USD) == "0.00"
    assert format_amount(D("-0.00"), USD) == "0.00"
    assert format_amount(D("60000"), USD) == "60000.00"
    assert format_amount(D("1E+3"), USD) == "1000.00"


def test_prorate_rounds_once_half_up() -> None:
    assert prorate(D("500.00"), 16, 31, USD) == D("258.06")
    assert prorate(D("500.00"), 31, 31, USD) == D("500.00")
    assert prorate(D("0.01"), 1, 2, USD) == D("0.01")  # exactly half a cent rounds up
    assert prorate(D("0.01"), 1, 3, USD) == D("0.00")
    assert prorate(D("100000"), 1, 3, JPY) == D("33333")


def test_quantities_are_plain_decimal_strings() -> None:
    assert format_quantity(D("300")) == "300"
    assert format_quantity(D("1E+3")) == "1000"
    assert format_quantity(D("0.500000")) == "0.5"
    assert format_quantity(D("0.000001")) == "0.000001"


def test_unit_prices_keep_at_least_the_minor_digits() -> None:
    assert format_unit_price(D("1.2"), USD) == "1.20"
    assert format_unit_price(D("0.123456"), USD) == "0.123456"
    assert format_unit_price(D("10"), JPY) == "10"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0", "greater than 0"),
        ("-1", "greater than 0"),
        ("0.0000001", "6 fractional"),
        ("1000000000001", "10^12"),
    ],
)
def test_bad_quantities_are_explained(value: str, reason: str) -> None:
    problem = quantity_problem(D(value))
    assert problem is not None and reason in problem


def test_quantity_limits_are_inclusive() -> None:
    assert quantity_problem(D("1000000000000")) is None
    assert quantity_problem(D("0.000001")) is None
    assert quantity_problem(D("1.5000000")) is None  # trailing zeros are not precision


def test_unit_prices_may_be_zero_but_not_negative_or_over_precise() -> None:
    assert unit_price_problem(D("0")) is None
    assert "negative" in (unit_price_problem(D("-0.01")) or "")
    assert "6 fractional" in (unit_price_problem(D("0.0000001")) or "")


def test_tenths_summed_many_times_stay_exact() -> None:
    events = [
        UsageEvent("src", str(i), datetime(2026, 3, 1, tzinfo=UTC), "acme", "s1", "standard", D("0.1"))
        for i in range(10_000)
    ]
    aggregate = aggregate_events(events, "UTC")[Period(2026, 3)]
    (only,) = aggregate.values()
    assert only.quantity == D("1000.0")
    assert only.events == 10_000
    assert sum(0.1 for _ in range(10_000)) != 1000.0  # what a float would have produced


def test_unknown_currency_is_named() -> None:
    with pytest.raises(KeyError, match="XYZ"):
        currency_of("XYZ")
