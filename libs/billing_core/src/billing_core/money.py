"""Currencies, exact decimal arithmetic and the one rounding rule of the contract.

Every amount is rounded once, half-up, to the currency's minor unit at the line where
it arises; all later steps add already-rounded amounts, so totals are exact sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation, Overflow
from functools import cached_property, lru_cache, reduce

__all__ = [
    "CURRENCIES",
    "MAX_FRACTION_DIGITS",
    "MAX_QUANTITY",
    "Currency",
    "currency_of",
    "exact_add",
    "exact_mul",
    "exact_sum",
    "format_amount",
    "format_quantity",
    "format_unit_price",
    "line_amount",
    "prorate",
    "quantity_problem",
    "round_amount",
    "round_half_up",
    "unit_price_problem",
]

MAX_FRACTION_DIGITS = 6
"""Quantities and unit prices carry at most this many fractional digits."""

MAX_QUANTITY = Decimal(10) ** 12

# Arithmetic that must never round silently: an inexact result is a bug, not a value.
_EXACT = Context(prec=200, traps=[Inexact, InvalidOperation, Overflow])
# Wide enough that quantize and normalize never round a realistic value's integer digits.
_WIDE = Context(prec=200)
# _WIDE with the contract's rounding: its quantize is Decimal.quantize(q, ROUND_HALF_UP, _WIDE)
# without parsing a rounding argument and copying the context on every call.
_HALF_UP = Context(prec=200, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Currency:
    """An ISO 4217 currency with the number of minor-unit digits amounts are rounded to."""

    code: str
    minor_units: int
    symbol: str

    @cached_property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.minor_units)

    def zero(self) -> Decimal:
        return self._zero

    @cached_property
    def _zero(self) -> Decimal:
        return Decimal(0).quantize(self.quantum)


CURRENCIES: dict[str, Currency] = {
    c.code: c
    for c in (
        Currency("USD", 2, "$"),
        Currency("EUR", 2, "€"),
        Currency("GBP", 2, "£"),
        Currency("CHF", 2, "CHF "),
        Currency("CAD", 2, "CA$"),
        Currency("AUD", 2, "A$"),
        Currency("SEK", 2, "kr "),
        Currency("JPY", 0, "¥"),
        Currency("KRW", 0, "₩"),
    )
}


def currency_of(code: str) -> Currency:
    """Look a currency up by ISO code; KeyError names the unknown code."""
    try:
        return CURRENCIES[code]
    except KeyError:
        raise KeyError(f"unknown currency {code!r} (known: {', '.join(sorted(CURRENCIES))})") from None


_ZERO = Decimal(0)


exact_sum = _EXACT.add
"""exact_sum(a, b) = a + b, refusing to round: the context's own method, for hot loops."""


def exact_add(*values: Decimal) -> Decimal:
    """0 + values[0] + values[1] + ..., in order, refusing to round."""
    return reduce(exact_sum, values, _ZERO)


exact_mul = _EXACT.multiply
"""exact_mul(a, b) = a × b, refusing to round."""


round_half_up = _HALF_UP.quantize
"""round_half_up(value, quantum): ``value`` rounded half-up to the exponent of ``quantum``, for
hot loops that hold the quantum (``round_amount`` is this with the currency's minor unit)."""


def round_amount(value: Decimal, currency: Currency) -> Decimal:
    """Round half-up (away from zero at exactly half) to the currency's minor unit."""
    return round_half_up(value, currency.quantum)


def line_amount(quantity: Decimal, rate: Decimal, currency: Currency) -> Decimal:
    """quantity × rate, exact, then rounded once half-up to the currency's minor unit."""
    return round_half_up(exact_mul(quantity, rate), currency.quantum)


def prorate(amount: Decimal, numerator: int, denominator: int, currency: Currency) -> Decimal:
    """round(amount × numerator / denominator), half-up, computed on exact integers (no double rounding)."""
    if denominator <= 0:
        raise ValueError("proration denominator must be positive")
    if numerator == denominator:  # a whole period: the same half-up rounding, without the ratio
        return round_half_up(amount, currency.quantum)
    top, bottom = (
        _EXACT.multiply(amount, numerator).scaleb(currency.minor_units, context=_EXACT).as_integer_ratio()
    )
    bottom *= denominator
    units, remainder = divmod(abs(top), bottom)
    if 2 * remainder >= bottom:
        units += 1
    return Decimal(units if top >= 0 else -units).scaleb(-currency.minor_units)


def format_amount(amount: Decimal, currency: Currency) -> str:
    """The amount as a string with exactly the currency's minor-unit digits (e.g. "40.00", "258")."""
    rounded = round_amount(amount, currency)
    if rounded != amount:
        raise ValueError(f"amount {amount} is not rounded to {currency.code} minor units")
    text = format(rounded, "f")
    return "0" + text[2:] if text.startswith("-0") and rounded == 0 else text


def format_quantity(quantity: Decimal) -> str:
    """A plain decimal string without exponent or trailing zeros ("300", "0.5")."""
    text = str(quantity)
    # Without an exponent, str() of a non-negative number is already positional: only its
    # trailing fractional zeros (and then a bare point) need to go. This is a hot path: a
    # text that does not end in 0 has none to strip (and str() never ends in a point).
    if "E" not in text and text[0] != "-" and len(text) <= _PLAIN_LIMIT:
        return text.rstrip("0").rstrip(".") if text[-1] == "0" and "." in text else text
    if quantity == 0:
        return "0"
    return format(quantity.normalize(context=_WIDE), "f")


_PLAIN_LIMIT = 150
"""Longer texts take the normalising path, which is what rounds beyond _WIDE's precision."""


@lru_cache(maxsize=4096)
def format_unit_price(price: Decimal, currency: Currency) -> str:
    """A unit price with at least the currency's minor digits and no needless trailing zeros."""
    places = max(currency.minor_units, _fraction_digits(price.normalize(context=_WIDE)))
    return format(price.quantize(Decimal(1).scaleb(-places), context=_WIDE), "f")


def _fraction_digits(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        return 0
    return max(0, -exponent)


def _significant_fraction_digits(value: Decimal) -> int:
    return _fraction_digits(Decimal(format_quantity(value))) if value.is_finite() else 0


def quantity_problem(value: Decimal) -> str | None:
    """Why a usage quantity is unacceptable, or None when it is fine."""
    if not value.is_finite():
        return f"quantity {value} is not a finite number"
    if value <= 0:
        return f"quantity {value} must be greater than 0"
    if _significant_fraction_digits(value) > MAX_FRACTION_DIGITS:
        return f"quantity {value} has more than {MAX_FRACTION_DIGITS} fractional digits"
    if value > MAX_QUANTITY:
        return f"quantity {value} exceeds 10^12"
    return None


def unit_price_problem(value: Decimal) -> str | None:
    """Why a unit price is unacceptable, or None when it is fine."""
    if not value.is_finite():
        return f"price {value} is not a finite number"
    if value < 0:
        return f"price {value} must not be negative"
    if _significant_fraction_digits(value) > MAX_FRACTION_DIGITS:
        return f"price {value} has more than {MAX_FRACTION_DIGITS} fractional digits"
    return None
